import GRDB
import OttoContracts

/// Where each field of a record is in a row: the column index of every field name, worked out once per statement.
///
/// GRDB decodes `Decodable` records through a column-name strategy that converts every column name of every row;
/// for a listing of 10,000 jobs that was most of the listing's time. Here the names are converted once per
/// query, and each field is then read by its index.
struct ColumnLayout: Sendable {
    let fields: [String]
    let indexOfField: [String: Int]

    init(columnNames: some Sequence<String>) {
        fields = columnNames.map(ColumnNaming.field)
        var indexOfField: [String: Int] = [:]
        for (index, field) in fields.enumerated() where indexOfField[field] == nil { indexOfField[field] = index }
        self.indexOfField = indexOfField
    }

    /// The column of `field`. Records decode their fields in declaration order, which is the order of the table's
    /// columns, so the column after the previous one is tried first: a string compare instead of a hash lookup.
    func index(of field: String, after previous: inout Int) -> Int? {
        let guess = previous + 1
        if guess < fields.count, fields[guess] == field {
            previous = guess
            return guess
        }
        guard let index = indexOfField[field] else { return nil }
        previous = index
        return index
    }
}

/// Where the last field was found, for the next guess.
final class FieldCursor {
    @exclusivity(unchecked) var previous = -1
}

extension Database {
    /// Every record `request` selects, decoded field by field from its columns.
    func fetchRecords<Record: Decodable>(_ type: Record.Type, _ request: some FetchRequest) throws -> [Record] {
        let statement = try request.makePreparedRequest(self, forSingleResult: false).statement
        let layout = ColumnLayout(columnNames: statement.columnNames)
        let rows = try Row.fetchCursor(statement)
        var records: [Record] = []
        while let row = try rows.next() {
            records.append(try Record(from: RowFieldsDecoder(row: row, layout: layout)))
        }
        return records
    }
}

extension Database {
    /// Up to `limit` records of `request`, read one row at a time, ending early once the `size` of those read
    /// passes `budget` (always at least one): a page of large rows never sits in memory whole. `more` tells
    /// whether rows were left (`request` may ask for one more than `limit` to tell).
    func fetchRecords<Record>(
        _ request: some FetchRequest, limit: Int, budget: Int, size: (Record) -> Int,
        decode: (Row, ColumnLayout) throws -> Record
    ) throws -> (records: [Record], more: Bool) {
        let statement = try request.makePreparedRequest(self, forSingleResult: false).statement
        let layout = ColumnLayout(columnNames: statement.columnNames)
        let rows = try Row.fetchCursor(statement)
        var records: [Record] = []
        var bytes = 0
        while let row = try rows.next() {
            guard records.count < limit else { return (records, true) }
            let record = try decode(row, layout)
            bytes += size(record)
            if bytes > budget && !records.isEmpty { return (records, true) }
            records.append(record)
        }
        return (records, false)
    }
}

extension FetchableRecord where Self: Decodable {
    /// One record from one row (a single fetch; listings use `fetchRecords`, which lays the columns out once).
    init(fieldsOf row: Row) throws {
        try self.init(from: RowFieldsDecoder(row: row, layout: ColumnLayout(columnNames: row.columnNames)))
    }
}

/// A `Decoder` over one row: a keyed container whose keys are the record's fields.
struct RowFieldsDecoder: Decoder {
    let row: Row
    let layout: ColumnLayout
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Fields<Key>(row: row, layout: layout, cursor: FieldCursor()))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(
            [Any].self, .init(codingPath: [], debugDescription: "a row decodes as a keyed container only"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(
            Any.self, .init(codingPath: [], debugDescription: "a row decodes as a keyed container only"))
    }

    struct Fields<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: Row
        let layout: ColumnLayout
        let cursor: FieldCursor
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { layout.indexOfField.keys.compactMap(Key.init(stringValue:)) }

        func contains(_ key: Key) -> Bool { layout.indexOfField[key.stringValue] != nil }

        private func index(_ key: Key) throws -> Int {
            guard let index = layout.index(of: key.stringValue, after: &cursor.previous) else {
                throw DecodingError.keyNotFound(
                    key, .init(codingPath: [], debugDescription: "no column for field \(key.stringValue)"))
            }
            return index
        }

        func decodeNil(forKey key: Key) throws -> Bool { row.hasNull(atIndex: try index(key)) }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try row.decode(atIndex: index(key)) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try row.decode(atIndex: index(key)) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try row.decode(atIndex: index(key)) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try row.decode(atIndex: index(key)) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try row.decode(atIndex: index(key)) }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try value(T.self, at: try index(key), key)
        }

        private func value<T: Decodable>(_ type: T.Type, at index: Int, _ key: Key) throws -> T {
            // Straight from the statement where the type allows it (all of Otto's column types do).
            if let fast = T.self as? any (DatabaseValueConvertible & StatementColumnConvertible).Type {
                return try fastColumn(fast, at: index) as! T
            }
            guard let convertible = T.self as? any DatabaseValueConvertible.Type else {
                throw DecodingError.typeMismatch(
                    T.self, .init(codingPath: [key], debugDescription: "a column holds a plain value"))
            }
            return try decodeColumn(convertible, at: index) as! T
        }

        private func decodeColumn<V: DatabaseValueConvertible>(_ type: V.Type, at index: Int) throws -> V {
            try row.decode(V.self, atIndex: index)
        }

        private func fastColumn<V: DatabaseValueConvertible & StatementColumnConvertible>(_ type: V.Type, at index: Int)
            throws -> V
        {
            try row.decode(V.self, atIndex: index)
        }

        func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try optional(key) }
        func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try optional(key) }
        func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try optional(key) }
        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let index = layout.index(of: key.stringValue, after: &cursor.previous), !row.hasNull(atIndex: index)
            else { return nil }
            return try value(T.self, at: index, key)
        }

        private func optional<V: DatabaseValueConvertible>(_ key: Key) throws -> V? {
            guard let index = layout.index(of: key.stringValue, after: &cursor.previous) else { return nil }
            return row.hasNull(atIndex: index) ? nil : try row.decode(V.self, atIndex: index)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            throw DecodingError.typeMismatch(
                [String: Any].self, .init(codingPath: [key], debugDescription: "a column holds a plain value"))
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw DecodingError.typeMismatch(
                [Any].self, .init(codingPath: [key], debugDescription: "a column holds a plain value"))
        }

        func superDecoder() throws -> any Decoder { RowFieldsDecoder(row: row, layout: layout) }
        func superDecoder(forKey key: Key) throws -> any Decoder { RowFieldsDecoder(row: row, layout: layout) }
    }
}
