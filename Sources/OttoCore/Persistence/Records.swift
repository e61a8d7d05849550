import GRDB
import OttoContracts

// The entities are defined once, in the contracts (`Job`, `JobRun`, `TaskAuditEntry`, `CommandAuditEntry`); here
// they become GRDB records of their tables. Columns are the fields in snake_case, and JSON-valued fields live in
// `<name>_json` columns (the names the TypeScript Otto's schema uses).

/// Field name ↔ column name, for the record types below.
enum ColumnNaming {
    static let jsonFields: Set<String> = ["result", "before", "after", "metadata"]
    static let jsonColumns: Set<String> = Set(jsonFields.map { snakeCased($0) + "_json" })

    static let encoding = DatabaseColumnEncodingStrategy.custom { key in
        let column = snakeCased(key.stringValue)
        return jsonFields.contains(key.stringValue) ? column + "_json" : column
    }

    static let decoding = DatabaseColumnDecodingStrategy.custom { column in
        var column = column
        if jsonColumns.contains(column) { column.removeLast(5) }
        return AnyCodingKey(camelCased(column))
    }

    static func snakeCased(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase {
                out.append("_")
                out.append(contentsOf: character.lowercased())
            } else {
                out.append(character)
            }
        }
        return out
    }

    static func camelCased(_ column: String) -> String {
        var out = ""
        var upperNext = false
        for character in column {
            if character == "_" {
                upperNext = true
            } else {
                out.append(upperNext ? Character(character.uppercased()) : character)
                upperNext = false
            }
        }
        return out
    }
}

struct AnyCodingKey: CodingKey {
    let stringValue: String
    init(_ stringValue: String) { self.stringValue = stringValue }
    init?(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}

extension Job: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "jobs"
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { ColumnNaming.encoding }
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { ColumnNaming.decoding }

    public enum Columns {
        public static let id = Column("id")
        public static let type = Column("type")
        public static let createdAt = Column("created_at")
    }
}

extension JobRun: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job_runs"
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { ColumnNaming.encoding }
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { ColumnNaming.decoding }

    public enum Columns {
        public static let id = Column("id")
        public static let jobId = Column("job_id")
        public static let createdAt = Column("created_at")
    }
}

extension TaskAuditEntry: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "task_audit"
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { ColumnNaming.encoding }
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { ColumnNaming.decoding }

    public enum Columns {
        public static let id = Column("id")
        public static let taskId = Column("task_id")
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension CommandAuditEntry: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "command_audit"
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { ColumnNaming.encoding }
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { ColumnNaming.decoding }

    public enum Columns {
        public static let id = Column("id")
        public static let command = Column("command")
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

// Column values: text columns hold a model reference, validated JSON, or an enum's raw value.

extension ModelRef: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { description.databaseValue }
    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> ModelRef? {
        String.fromDatabaseValue(dbValue).flatMap { try? ModelRef(parsing: $0) }
    }
}

extension JSONText: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { text.databaseValue }
    /// The schema checks `json_valid` on every JSON column, so the text is taken as it is.
    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> JSONText? {
        String.fromDatabaseValue(dbValue).map(JSONText.init(validated:))
    }
}

extension Job.Status: DatabaseValueConvertible {}
extension Job.ScheduleType: DatabaseValueConvertible {}
extension Job.TerminalState: DatabaseValueConvertible {}
extension JobRun.Status: DatabaseValueConvertible {}
extension ModelSource: DatabaseValueConvertible {}
extension TaskAuditEntry.Action: DatabaseValueConvertible {}
extension CommandAuditEntry.Status: DatabaseValueConvertible {}
