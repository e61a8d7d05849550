import Foundation
import GRDB
import OttoContracts

/// A row of `jobs` may hold anything: the TypeScript Otto's schema has no checks, and anyone can edit the file
/// with `sqlite3`. A row Otto cannot read, or whose schedule is out of range, is a problem of that one job, never
/// of the process or of a listing: it is read as the job it can be, paused, with `terminalReason` naming the field
/// by its API name and its value, so the API and `ottoctl` show it like any job and the scheduler never runs it.
extension Job {
    /// Marks the reasons this reading writes, so a PATCH that mends the job can resume it.
    static let unreadablePrefix = "Otto paused this job: its stored "

    /// The job a row holds; never throws. A row that decodes and is in range is read as it is (the fast path);
    /// anything else is salvaged field by field and comes back paused, with the problems in `terminalReason`.
    static func reading(_ row: Row, layout: ColumnLayout) -> Job {
        var problems: [String] = []
        for field in integerFields {
            guard let index = layout.indexOfField[field.name] else { continue }
            let value: DatabaseValue = row[index]
            switch value.storage {
            case .null: continue
            case .int64(let number) where field.range.contains(number): continue
            case .int64: problems.append(problem(field.name, value, expected: field.expected))
            default: problems.append(problem(field.name, value, expected: field.expected))
            }
        }
        if problems.isEmpty, var job = try? Job(from: RowFieldsDecoder(row: row, layout: layout)) {
            if job.scheduleType == .recurring, job.cadenceMinutes == nil, job.terminalState == nil,
                job.status != .running
            {
                job.pauseUnreadable(["cadenceMinutes is null, and a recurring job needs one"])
            }
            return job
        }
        return salvaged(row, layout: layout, problems: problems)
    }

    /// The integer columns, with the range a stored value must be in.
    private static let integerFields: [(name: String, range: ClosedRange<Int64>, expected: String)] = {
        let time = "epoch milliseconds from \(timeRange.lowerBound) to \(timeRange.upperBound)"
        let cadence = cadenceMinutesRange
        return [
            ("runAt", timeRange, time),
            (
                "cadenceMinutes", Int64(cadence.lowerBound)...Int64(cadence.upperBound),
                "a whole number of minutes from \(cadence.lowerBound) to \(cadence.upperBound)"
            ),
            ("lastRunAt", timeRange, time), ("nextRunAt", timeRange, time),
            ("createdAt", timeRange, time), ("updatedAt", timeRange, time),
        ]
    }()

    /// `cadenceMinutes is "abc", expected ...`: the value escaped and cut at 200 characters.
    private static func problem(_ field: String, _ value: DatabaseValue, expected: String) -> String {
        let shown: String
        switch value.storage {
        case .null: shown = "null"
        case .int64(let number): shown = String(number)
        case .double(let number): shown = String(number)
        case .string(let text): shown = jsonQuoted(String(text.prefix(200)))
        case .blob(let data): shown = "a blob of \(data.count) bytes"
        }
        return "\(field) is \(shown); expected \(expected)"
    }

    private mutating func pauseUnreadable(_ problems: [String]) {
        status = .paused
        terminalReason = Self.unreadablePrefix + problems.joined(separator: "; ")
    }

    /// Every field that can be read, the others empty (required ones get a neutral value), and the job paused.
    private static func salvaged(_ row: Row, layout: ColumnLayout, problems known: [String]) -> Job {
        var problems = known
        func value(_ field: String) -> DatabaseValue {
            guard let index = layout.indexOfField[field] else { return .null }
            return row[index]
        }
        func text(_ field: String) -> String? {
            let stored = value(field)
            switch stored.storage {
            case .null: return nil
            case .string(let text): return text
            case .int64(let number): return String(number)
            default:
                problems.append(problem(field, stored, expected: "text"))
                return nil
            }
        }
        func integer(_ field: String) -> Int64? {
            guard let spec = integerFields.first(where: { $0.name == field }),
                case .int64(let number) = value(field).storage, spec.range.contains(number)
            else { return nil }
            return number
        }
        func enumeration<T: RawRepresentable & CaseIterable>(_ field: String, _ type: T.Type) -> T?
        where T.RawValue == String {
            guard let raw = text(field) else { return nil }
            guard let parsed = T(rawValue: raw) else {
                let expected = T.allCases.map(\.rawValue).joined(separator: ", ")
                problems.append(problem(field, value(field), expected: "one of \(expected)"))
                return nil
            }
            return parsed
        }
        let cadence = integer("cadenceMinutes").map { Int($0) }
        var modelRef: ModelRef?
        if let stored = text("modelRef") {
            modelRef = ModelRef(storedText: stored)
            if modelRef == nil {
                problems.append(
                    problem("modelRef", value("modelRef"), expected: "a model reference \"provider/model\""))
            }
        }
        var payload: JSONText?
        if let stored = text("payload") {
            if JSONValue(jsonText: stored) != nil {
                payload = JSONText(validated: stored)
            } else {
                problems.append(problem("payload", value("payload"), expected: "JSON"))
            }
        }
        let now = Job.clampedTime(Int64(Date().timeIntervalSince1970 * 1000))
        let status = enumeration("status", Status.self)
        var job = Job(
            id: text("id") ?? "",
            type: text("type") ?? "",
            status: status ?? .paused,
            scheduleType: enumeration("scheduleType", ScheduleType.self) ?? (cadence == nil ? .oneshot : .recurring),
            profileId: text("profileId"),
            modelRef: modelRef,
            runAt: integer("runAt"),
            cadenceMinutes: cadence,
            payload: payload,
            lastRunAt: integer("lastRunAt"),
            nextRunAt: integer("nextRunAt"),
            terminalState: enumeration("terminalState", TerminalState.self),
            terminalReason: nil,
            createdAt: integer("createdAt") ?? now,
            updatedAt: integer("updatedAt") ?? now)
        if problems.isEmpty { problems.append("row could not be read") }
        // A running row stays running so that its lease is taken back as usual; the recovered job is paused then.
        job.pauseUnreadable(problems)
        if status == .running { job.status = .running }
        return job
    }

    /// Whether this job was paused by `reading` because a stored field was unreadable.
    var isPausedAsUnreadable: Bool { status == .paused && terminalReason?.hasPrefix(Self.unreadablePrefix) == true }
}

extension Database {
    /// Every job `request` selects, each read as `Job.reading` reads it: one unreadable row never fails the rest.
    func fetchRecords(_ type: Job.Type, _ request: some FetchRequest) throws -> [Job] {
        let statement = try request.makePreparedRequest(self, forSingleResult: false).statement
        let layout = ColumnLayout(columnNames: statement.columnNames)
        let rows = try Row.fetchCursor(statement)
        var jobs: [Job] = []
        while let row = try rows.next() { jobs.append(Job.reading(row, layout: layout)) }
        return jobs
    }

    /// The job whose id is `id`, if any, read as `Job.reading` reads it.
    func fetchRecord(_ type: Job.Type, equals id: String) throws -> Job? {
        let statement = try cachedStatement(sql: "SELECT * FROM jobs WHERE id = ?")
        let layout = ColumnLayout(columnNames: statement.columnNames)
        let rows = try Row.fetchCursor(statement, arguments: [id])
        guard let row = try rows.next() else { return nil }
        return Job.reading(row, layout: layout)
    }
}

extension Database {
    /// Stores that Otto paused `job` because its row cannot be read: only the status and the reason are written,
    /// so the stored values stay as they were for the operator to see and mend.
    func storePausedAsUnreadable(_ job: Job) throws {
        try execute(
            sql: "UPDATE jobs SET status = 'paused', terminal_reason = ? WHERE id = ?",
            arguments: [job.terminalReason, job.id])
    }
}
