import GRDB
import OttoContracts
import Synchronization

// The entities are defined once, in the contracts (`Job`, `JobRun`, `TaskAuditEntry`, `CommandAuditEntry`); here
// they become GRDB records of their tables. Columns are the fields in snake_case, and JSON-valued fields live in
// `<name>_json` columns (the names the TypeScript Otto's schema uses).

/// Field name ↔ column name: `scheduleType` ↔ `schedule_type`, and `result` ↔ `result_json` for JSON fields.
enum ColumnNaming {
    static let jsonFields: Set<String> = ["result", "before", "after", "metadata"]

    static let encoding = DatabaseColumnEncodingStrategy.custom { key in column(key.stringValue) }

    /// Field names seen so far and their columns: a handful, converted once each.
    private static let columns = Mutex<[String: String]>([:])

    static func column(_ field: String) -> String {
        if let known = columns.withLock({ $0[field] }) { return known }
        let column = convert(field)
        columns.withLock { $0[field] = column }
        return column
    }

    private static func convert(_ field: String) -> String {
        var out = ""
        for character in field {
            if character.isUppercase {
                out.append("_")
                out.append(contentsOf: character.lowercased())
            } else {
                out.append(character)
            }
        }
        return jsonFields.contains(field) ? out + "_json" : out
    }

    /// Column names seen so far and their fields.
    private static let fields = Mutex<[String: String]>([:])

    static func field(_ column: String) -> String {
        if let known = fields.withLock({ $0[column] }) { return known }
        let field = convertToField(column)
        fields.withLock { $0[column] = field }
        return field
    }

    private static func convertToField(_ column: String) -> String {
        var column = Substring(column)
        if column.hasSuffix("_json"), jsonFields.contains(String(column.dropLast(5))) { column = column.dropLast(5) }
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

extension Job: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "jobs"
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { ColumnNaming.encoding }

    public init(row: Row) throws { self = Job.reading(row, layout: ColumnLayout(columnNames: row.columnNames)) }

    public enum Columns {
        public static let id = Column("id")
        public static let type = Column("type")
        public static let createdAt = Column("created_at")
    }
}

extension JobRun: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job_runs"
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { ColumnNaming.encoding }

    public init(row: Row) throws { try self.init(fieldsOf: row) }

    public enum Columns {
        public static let id = Column("id")
        public static let jobId = Column("job_id")
        public static let createdAt = Column("created_at")
    }
}

extension TaskAuditEntry: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "task_audit"
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { ColumnNaming.encoding }

    public init(row: Row) throws { try self.init(fieldsOf: row) }

    public enum Columns {
        public static let id = Column("id")
        public static let taskId = Column("task_id")
    }
}

extension CommandAuditEntry: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "command_audit"
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { ColumnNaming.encoding }

    public init(row: Row) throws { try self.init(fieldsOf: row) }

    public enum Columns {
        public static let id = Column("id")
        public static let command = Column("command")
    }
}

// Column values: text columns hold a model reference, validated JSON, or an enum's raw value. Each is also read
// straight from the SQLite statement (`StatementColumnConvertible`), without an intermediate `DatabaseValue`.

extension ModelRef: DatabaseValueConvertible, StatementColumnConvertible {
    public var databaseValue: DatabaseValue { description.databaseValue }
    // Every reference was parsed before it was stored.
    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> ModelRef? {
        String.fromDatabaseValue(dbValue).flatMap(ModelRef.init(storedText:))
    }
    public init?(sqliteStatement: SQLiteStatement, index: CInt) {
        self.init(storedText: String(sqliteStatement: sqliteStatement, index: index))
    }
}

extension JSONText: DatabaseValueConvertible, StatementColumnConvertible {
    public var databaseValue: DatabaseValue { text.databaseValue }
    /// The schema checks `json_valid` on every JSON column, so the text is taken as it is.
    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> JSONText? {
        String.fromDatabaseValue(dbValue).map(JSONText.init(validated:))
    }
    public init(sqliteStatement: SQLiteStatement, index: CInt) {
        self.init(validated: String(sqliteStatement: sqliteStatement, index: index))
    }
}

/// An enum stored as its raw text.
protocol TextColumn: DatabaseValueConvertible, StatementColumnConvertible, RawRepresentable<String> {}

extension TextColumn {
    public init?(sqliteStatement: SQLiteStatement, index: CInt) {
        self.init(rawValue: String(sqliteStatement: sqliteStatement, index: index))
    }
}

extension Job.Status: TextColumn {}
extension Job.ScheduleType: TextColumn {}
extension Job.TerminalState: TextColumn {}
extension JobRun.Status: TextColumn {}
extension ModelSource: TextColumn {}
extension TaskAuditEntry.Action: TextColumn {}
extension CommandAuditEntry.Status: TextColumn {}
