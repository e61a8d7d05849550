import Foundation
import Logging
import OttoContracts
import OttoCore

/// Measures the catalog refresh's own work on the full fixture (4,803 refs): parsing OpenCode's
/// `/config/providers` body and persisting the cache atomically, without the HTTP wait. Also the cache reload
/// that start-up does. Prints one line per figure; `scripts/bench-catalog.sh` runs it and writes the README.
@main
struct OttoBench {
    static func main() async throws {
        let arguments = CommandLine.arguments
        switch arguments.dropFirst().first {
        case "catalog" where arguments.count >= 3:
            try CatalogBenchmark.run(
                fixture: arguments[2], iterations: arguments.count > 3 ? Int(arguments[3]) ?? 50 : 50)
        case "list-jobs" where arguments.count >= 3:
            try await listJobs(
                databasePath: arguments[2], iterations: arguments.count > 3 ? Int(arguments[3]) ?? 20 : 20)
        case "seed-jobs" where arguments.count == 4:
            try await seedJobs(databasePath: arguments[2], count: Int(arguments[3]) ?? 10_000)
        default:
            FileHandle.standardError.write(
                Data("usage: otto-bench catalog <fixture-dir> [iterations] | otto-bench seed-jobs <db> <count>\n".utf8)
            )
            exit(64)
        }
    }

    /// Times the job listing's own work without HTTP: reading every job a page at a time, resolving each one's
    /// effective model, and encoding the bodies (what `GET /external/jobs` does), separately and together.
    static func listJobs(databasePath: String, iterations: Int) async throws {
        let database = try AppDatabase.open(path: databasePath)
        let jobs = JobsService(
            database: database,
            resolver: ModelResolver(catalog: BenchCatalog(), flowDefaults: NoDefaults(), logger: Logger(label: "b")),
            catalog: BenchCatalog())
        func median(_ body: () async throws -> Void) async rethrows -> Double {
            var times: [Double] = []
            for _ in 0..<iterations {
                let start = ContinuousClock.now
                try await body()
                let elapsed = ContinuousClock.now - start
                times.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
            }
            return times.sorted()[times.count / 2]
        }
        var cursor: JobCursor?
        let read = try await median {
            var count = 0
            cursor = nil
            repeat {
                let page = try await database.jobsPage(type: nil, after: cursor, limit: 1_000)
                count += page.jobs.count
                cursor = page.more ? page.jobs.last.map(JobCursor.init(after:)) : nil
            } while cursor != nil
        }
        var bytes = 0
        let all = try await median {
            var out: [UInt8] = []
            out.reserveCapacity(5_000_000)
            _ = try await jobs.list(type: nil, after: JobCursor?.none, limit: Int?.none) { (page: [JobBody]) in
                for body in page { try CompactJSONEncoder().encode(body, appendingTo: &out) }
            }
            bytes = out.count
        }
        let bodies = try await jobs.list()
        let encode = try await median {
            var out: [UInt8] = []
            out.reserveCapacity(5_000_000)
            for body in bodies { try CompactJSONEncoder().encode(body, appendingTo: &out) }
        }
        print(
            "list-jobs \(bodies.count) jobs, \(bytes) bytes, median of \(iterations): read \(read) ms, encode \(encode) ms, all \(all) ms"
        )
    }

    /// Creates `count` operator jobs (`bench-0` ...), half with a model of their own, for the API benchmark,
    /// through the same service (rules and audit trail) the API uses.
    static func seedJobs(databasePath: String, count: Int) async throws {
        let logger = Logger(label: "otto-bench")
        let jobs = JobsService(
            database: try AppDatabase.open(path: databasePath),
            resolver: ModelResolver(catalog: BenchCatalog(), flowDefaults: NoDefaults(), logger: logger),
            catalog: BenchCatalog()
        )
        let model = try ModelRef(parsing: "openai/gpt-5")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for index in 0..<count {
            _ = try await jobs.create(
                Job(
                    id: "bench-\(index)",
                    type: index % 2 == 0 ? "report" : "digest",
                    scheduleType: .recurring,
                    modelRef: index % 2 == 0 ? model : nil,
                    runAt: now,
                    cadenceMinutes: 60,
                    payload: JSONText(validated: #"{"prompt":"benchmark job \#(index)"}"#),
                    createdAt: 0,
                    updatedAt: 0
                ),
                actor: "otto-bench"
            )
        }
        print("seeded \(count) jobs into \(databasePath)")
    }
}

enum CatalogBenchmark {
    static func run(fixture: String, iterations: Int) throws {
        let arguments = ["", fixture, String(iterations)]
        let body = try Data(contentsOf: URL(fileURLWithPath: arguments[1] + "/config-providers.json"))
        let iterations = arguments.count > 2 ? Int(arguments[2]) ?? 50 : 50
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("otto-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = CatalogCache(path: directory.appendingPathComponent("model-catalog-cache.json").path)

        var parse: [Double] = []
        var persist: [Double] = []
        var total: [Double] = []
        var reload: [Double] = []
        var count = 0
        for iteration in 0..<(iterations + 3) {
            let start = ContinuousClock.now
            let refs = try OpenCodePayloads.catalogRefs(fromProvidersBody: body)
            let snapshot = ModelCatalogSnapshot(refs: refs, updatedAt: 1, source: .network, globalDefault: nil)
            let parsed = ContinuousClock.now
            try cache.save(refs: snapshot.refs, updatedAt: 1)
            let saved = ContinuousClock.now
            let loaded = try cache.load()
            let reloaded = ContinuousClock.now
            count = loaded?.count ?? 0
            guard iteration >= 3 else { continue }  // warm-up
            parse.append(milliseconds(parsed - start))
            persist.append(milliseconds(saved - parsed))
            total.append(milliseconds(saved - start))
            reload.append(milliseconds(reloaded - saved))
        }
        print("catalog refs: \(count) (fixture body \(body.count / 1024) KiB), \(iterations) iterations")
        report("refresh work (parse + persist)", total)
        report("  parse /config/providers", parse)
        report("  persist cache (atomic + fsync)", persist)
        report("cache reload at start-up", reload)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func report(_ name: String, _ samples: [Double]) {
        let sorted = samples.sorted()
        let median = sorted[sorted.count / 2]
        let p95 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.95))]
        print(
            String(
                format: "%@: median %.1f ms, p95 %.1f ms, min %.1f ms, max %.1f ms",
                name.padding(toLength: 34, withPad: " ", startingAt: 0), median, p95, sorted.first!, sorted.last!
            )
        )
    }
}

struct BenchCatalog: CatalogSnapshotProviding {
    let snapshot = ModelCatalogSnapshot(
        refs: [try! ModelRef(parsing: "openai/gpt-5")], updatedAt: 1, source: .cache, globalDefault: nil)
}

struct NoDefaults: FlowDefaultsProviding {
    func flowDefault(for flow: RuntimeModelFlow) -> ModelRef? { nil }
}
