import GRDB

// Writes a record through a statement prepared once per table and column set. GRDB's `insert` and `update` build
// their SQL and prepare it (with its authorizer) on every call; on the job-change path, which runs for every
// PATCH, that was most of the writer's time.
extension Database {
    /// Inserts `record` with every column it encodes; returns the new row id.
    @discardableResult
    func insertRecord<Record: EncodableRecord & TableRecord>(_ record: Record) throws -> Int64 {
        let values = try record.databaseDictionary
        let columns = values.keys.sorted()
        let sql =
            "INSERT INTO \(Record.databaseTableName.quotedDatabaseIdentifier) "
            + "(\(columns.map(\.quotedDatabaseIdentifier).joined(separator: ", "))) "
            + "VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
        try cachedStatement(sql: sql).execute(arguments: StatementArguments(columns.map { values[$0]! }))
        return lastInsertedRowID
    }

    /// Sets every column `record` encodes on the row whose `key` column equals the record's; returns whether a
    /// row changed.
    @discardableResult
    func updateRecord<Record: EncodableRecord & TableRecord>(_ record: Record, key: String = "id") throws -> Bool {
        let values = try record.databaseDictionary
        guard let keyValue = values[key] else { throw DatabaseError(message: "\(key) is not a column of the record") }
        let columns = values.keys.filter { $0 != key }.sorted()
        let sql =
            "UPDATE \(Record.databaseTableName.quotedDatabaseIdentifier) SET "
            + columns.map { "\($0.quotedDatabaseIdentifier) = ?" }.joined(separator: ", ")
            + " WHERE \(key.quotedDatabaseIdentifier) = ?"
        try cachedStatement(sql: sql).execute(arguments: StatementArguments(columns.map { values[$0]! } + [keyValue]))
        return changesCount > 0
    }

    /// The record whose `key` column equals `value`, if any.
    func fetchRecord<Record: FetchableRecord & TableRecord & Decodable>(
        _ type: Record.Type, key: String = "id", equals value: some DatabaseValueConvertible
    ) throws -> Record? {
        let statement = try cachedStatement(
            sql: "SELECT * FROM \(Record.databaseTableName.quotedDatabaseIdentifier) "
                + "WHERE \(key.quotedDatabaseIdentifier) = ?")
        let layout = ColumnLayout(columnNames: statement.columnNames)
        // The row reads from the statement, so it is decoded while the cursor is alive.
        let rows = try Row.fetchCursor(statement, arguments: [value])
        guard let row = try rows.next() else { return nil }
        return try Record(from: RowFieldsDecoder(row: row, layout: layout))
    }
}
