import Foundation
import OttoContracts
import Synchronization

/// `GET /external/system/status`: the state of every part from what the services already keep (the outcome of the
/// last OpenCode call, the catalog, the scheduler's loop) and a few indexed queries. Never calls OpenCode.
public final class SystemStatusService: Sendable {
    let configurationPath: String
    let configuration: OttoConfiguration
    let paths: OttoPaths
    let catalog: ModelCatalogService
    let openCode: OpenCodeClient
    let scheduler: Scheduler
    let database: AppDatabase
    let startedAt: Int64
    let now: @Sendable () -> Int64
    private let listen = Mutex("")

    /// OpenCode unreachable this long: nothing can run, `failing`.
    static let unreachableFailingAfter: Int64 = 10 * 60 * 1000

    init(
        configurationPath: String, configuration: OttoConfiguration, paths: OttoPaths, catalog: ModelCatalogService,
        openCode: OpenCodeClient, scheduler: Scheduler, database: AppDatabase,
        now: @escaping @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
    ) {
        self.configurationPath = configurationPath
        self.configuration = configuration
        self.paths = paths
        self.catalog = catalog
        self.openCode = openCode
        self.scheduler = scheduler
        self.database = database
        self.now = now
        self.startedAt = now()
    }

    /// Where the API listens, once it does (`host:port`).
    public func listening(on address: String) { listen.withLock { $0 = address } }

    public func status() async -> SystemStatus {
        let now = now()
        var degraded: [String] = []
        var failing: [String] = []

        let server = openCode.dialect.current
        let last = openCode.dialect.lastCall
        let snapshot = catalog.snapshot
        if let failure = catalog.lastRefreshFailure {
            degraded.append("the last catalog refresh failed (\(SystemDigests.time(failure.at))): \(failure.message)")
        }
        if let last, let error = last.error {
            if let since = last.unreachableSince, now - since >= Self.unreachableFailingAfter {
                failing.append("OpenCode has been unreachable since \(SystemDigests.time(since)): \(error)")
            } else {
                degraded.append("the last call to OpenCode failed: \(error)")
            }
        }

        let facts: StatusFacts
        do {
            facts = try await database.statusFacts(now: now)
        } catch {
            facts = StatusFacts()
            failing.append("the state database cannot be read: \(error)")
        }
        // A write that needs no new page succeeds on a full disk, so the free space is looked at too.
        var space = statvfs()
        let free: Int64? =
            statvfs(paths.dataDirectory, &space) == 0 ? Int64(space.f_bavail) * Int64(space.f_frsize) : nil
        if await !database.canWrite() {
            failing.append("the state database \(paths.stateDatabase) cannot be written")
        } else if let free, free < 1_048_576 {
            failing.append(
                "the state database \(paths.stateDatabase) cannot be written: its file system is full (\(free / 1024) KiB free)"
            )
        } else if let free, free < 100 * 1_048_576 {
            degraded.append("only \(free / 1_048_576) MiB free for the state database")
        }
        if facts.pastLease > 0 {
            degraded.append("\(facts.pastLease) run\(facts.pastLease == 1 ? " is" : "s are") past its lease")
        }
        if facts.notificationFailures.lastHour > 0 {
            degraded.append("\(facts.notificationFailures.lastHour) notification(s) failed in the last hour")
        }

        let activity = scheduler.activity
        func systemJob(_ id: String, enabled: Bool) -> SystemStatus.SystemJob {
            let job = facts.systemJobs[id]
            return SystemStatus.SystemJob(
                enabled: enabled && (job?.enabled ?? false),
                lastRun: job?.lastRun.map { .init(at: $0.at, status: $0.status) },
                nextRunAt: job?.nextRunAt)
        }
        let files = FileManager.default
        func size(_ path: String) -> Int64 {
            ((try? files.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
        }
        let level: SystemStatus.Level = !failing.isEmpty ? .failing : degraded.isEmpty ? .ok : .degraded
        return SystemStatus(
            status: level, reasons: failing + degraded,
            otto: .init(
                version: OttoVersion.current, pid: getpid(), startedAt: startedAt,
                uptimeSeconds: max(0, (now - startedAt) / 1000), configPath: configurationPath, ottoHome: paths.home,
                listen: listen.withLock { $0 }),
            opencode: .init(
                url: openCode.baseURL, version: server?.version,
                protocol: server.flatMap { Int($0.protocolVersion.rawValue) },
                reachable: last?.reachable, checkedAt: last?.at, lastError: last?.error,
                catalog: .init(fetchedAt: snapshot.updatedAt, count: snapshot.count, source: snapshot.source)),
            scheduler: .init(
                runningRuns: activity.running, nextDue: facts.nextDue.map { .init(jobId: $0.jobId, at: $0.at) },
                lastPassAt: activity.lastPassAt, recoveredLeases: activity.recoveredLeases,
                pastLease: facts.pastLease,
                runsLast24h: .init(
                    success: facts.runsLast24h["success"] ?? 0, failed: facts.runsLast24h["failed"] ?? 0,
                    skipped: facts.runsLast24h["skipped"] ?? 0)),
            heartbeat: systemJob("system-heartbeat", enabled: configuration.heartbeat.enabled),
            watchdog: systemJob("system-watchdog-failures", enabled: configuration.watchdog.enabled),
            notifications: .init(
                webhook: configuration.notifications.webhookURL.flatMap(WebhookNotifier.origin),
                failedLast24h: facts.notificationFailures.lastDay),
            database: .init(
                path: paths.stateDatabase, sizeBytes: size(paths.stateDatabase),
                walBytes: size(paths.stateDatabase + "-wal"), schemaVersion: facts.schemaVersion,
                adopted: facts.adopted))
    }
}
