/// `GET /external/system/status` and `ottoctl status --json`: every part of a running Otto, from values the
/// services keep (no OpenCode call on the request path). Times are epoch milliseconds; every key is always
/// present, an unknown value is `null`.
public struct SystemStatus: Codable, Sendable, Equatable {
    public enum Level: String, Codable, Sendable {
        case ok, degraded, failing
    }

    public struct Otto: Codable, Sendable, Equatable {
        public var version: String
        public var pid: Int32
        public var startedAt: Int64
        public var uptimeSeconds: Int64
        public var configPath: String
        public var ottoHome: String
        public var listen: String

        public init(
            version: String, pid: Int32, startedAt: Int64, uptimeSeconds: Int64, configPath: String, ottoHome: String,
            listen: String
        ) {
            self.version = version
            self.pid = pid
            self.startedAt = startedAt
            self.uptimeSeconds = uptimeSeconds
            self.configPath = configPath
            self.ottoHome = ottoHome
            self.listen = listen
        }
    }

    public struct Catalog: Codable, Sendable, Equatable {
        public var fetchedAt: Int64?
        public var count: Int
        public var source: CatalogSource

        public init(fetchedAt: Int64?, count: Int, source: CatalogSource) {
            self.fetchedAt = fetchedAt
            self.count = count
            self.source = source
        }
    }

    public struct OpenCode: Codable, Sendable, Equatable {
        public var url: String
        public var version: String?
        public var `protocol`: Int?
        /// The outcome of the last call Otto made to OpenCode (nil before the first).
        public var reachable: Bool?
        public var checkedAt: Int64?
        public var lastError: String?
        public var catalog: Catalog

        public init(
            url: String, version: String?, `protocol`: Int?, reachable: Bool?, checkedAt: Int64?, lastError: String?,
            catalog: Catalog
        ) {
            self.url = url
            self.version = version
            self.`protocol` = `protocol`
            self.reachable = reachable
            self.checkedAt = checkedAt
            self.lastError = lastError
            self.catalog = catalog
        }
    }

    public struct Due: Codable, Sendable, Equatable {
        public var jobId: String
        public var at: Int64

        public init(jobId: String, at: Int64) {
            self.jobId = jobId
            self.at = at
        }
    }

    public struct RunCounts: Codable, Sendable, Equatable {
        public var success: Int
        public var failed: Int
        public var skipped: Int

        public init(success: Int, failed: Int, skipped: Int) {
            self.success = success
            self.failed = failed
            self.skipped = skipped
        }
    }

    public struct Scheduler: Codable, Sendable, Equatable {
        public var runningRuns: Int
        public var nextDue: Due?
        public var lastPassAt: Int64?
        /// Leases taken back since Otto started (runs of a process that died, or that outlived their lease).
        public var recoveredLeases: Int
        /// Runs whose lease has expired now, counted from the database when the status is asked for.
        public var pastLease: Int
        public var runsLast24h: RunCounts

        public init(
            runningRuns: Int, nextDue: Due?, lastPassAt: Int64?, recoveredLeases: Int, pastLease: Int,
            runsLast24h: RunCounts
        ) {
            self.runningRuns = runningRuns
            self.nextDue = nextDue
            self.lastPassAt = lastPassAt
            self.recoveredLeases = recoveredLeases
            self.pastLease = pastLease
            self.runsLast24h = runsLast24h
        }
    }

    public struct LastRun: Codable, Sendable, Equatable {
        public var at: Int64
        public var status: String

        public init(at: Int64, status: String) {
            self.at = at
            self.status = status
        }
    }

    public struct SystemJob: Codable, Sendable, Equatable {
        public var enabled: Bool
        public var lastRun: LastRun?
        public var nextRunAt: Int64?

        public init(enabled: Bool, lastRun: LastRun?, nextRunAt: Int64?) {
            self.enabled = enabled
            self.lastRun = lastRun
            self.nextRunAt = nextRunAt
        }
    }

    public struct Notifications: Codable, Sendable, Equatable {
        /// `scheme://host[:port]` of the webhook, never its path or query; nil: none.
        public var webhook: String?
        public var failedLast24h: Int

        public init(webhook: String?, failedLast24h: Int) {
            self.webhook = webhook
            self.failedLast24h = failedLast24h
        }
    }

    public struct Database: Codable, Sendable, Equatable {
        public var path: String
        public var sizeBytes: Int64
        public var walBytes: Int64
        public var schemaVersion: String?
        public var adopted: Bool

        public init(path: String, sizeBytes: Int64, walBytes: Int64, schemaVersion: String?, adopted: Bool) {
            self.path = path
            self.sizeBytes = sizeBytes
            self.walBytes = walBytes
            self.schemaVersion = schemaVersion
            self.adopted = adopted
        }
    }

    public var status: Level
    public var reasons: [String]
    public var otto: Otto
    public var opencode: OpenCode
    public var scheduler: Scheduler
    public var heartbeat: SystemJob
    public var watchdog: SystemJob
    public var notifications: Notifications
    public var database: Database

    public init(
        status: Level, reasons: [String], otto: Otto, opencode: OpenCode, scheduler: Scheduler, heartbeat: SystemJob,
        watchdog: SystemJob, notifications: Notifications, database: Database
    ) {
        self.status = status
        self.reasons = reasons
        self.otto = otto
        self.opencode = opencode
        self.scheduler = scheduler
        self.heartbeat = heartbeat
        self.watchdog = watchdog
        self.notifications = notifications
        self.database = database
    }
}

// `null` for what is unknown, rather than a missing key: a client reads every key the schema names.
extension SystemStatus.OpenCode {
    enum CodingKeys: String, CodingKey { case url, version, `protocol`, reachable, checkedAt, lastError, catalog }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(url, forKey: .url)
        try container.encode(version, forKey: .version)
        try container.encode(`protocol`, forKey: .protocol)
        try container.encode(reachable, forKey: .reachable)
        try container.encode(checkedAt, forKey: .checkedAt)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(catalog, forKey: .catalog)
    }
}

extension SystemStatus.Catalog {
    enum CodingKeys: String, CodingKey { case fetchedAt, count, source }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(fetchedAt, forKey: .fetchedAt)
        try container.encode(count, forKey: .count)
        try container.encode(source, forKey: .source)
    }
}

extension SystemStatus.Scheduler {
    enum CodingKeys: String, CodingKey {
        case runningRuns, nextDue, lastPassAt, recoveredLeases, pastLease, runsLast24h
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runningRuns, forKey: .runningRuns)
        try container.encode(nextDue, forKey: .nextDue)
        try container.encode(lastPassAt, forKey: .lastPassAt)
        try container.encode(recoveredLeases, forKey: .recoveredLeases)
        try container.encode(pastLease, forKey: .pastLease)
        try container.encode(runsLast24h, forKey: .runsLast24h)
    }
}

extension SystemStatus.SystemJob {
    enum CodingKeys: String, CodingKey { case enabled, lastRun, nextRunAt }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(lastRun, forKey: .lastRun)
        try container.encode(nextRunAt, forKey: .nextRunAt)
    }
}

extension SystemStatus.Notifications {
    enum CodingKeys: String, CodingKey { case webhook, failedLast24h }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(webhook, forKey: .webhook)
        try container.encode(failedLast24h, forKey: .failedLast24h)
    }
}

extension SystemStatus.Database {
    enum CodingKeys: String, CodingKey { case path, sizeBytes, walBytes, schemaVersion, adopted }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(sizeBytes, forKey: .sizeBytes)
        try container.encode(walBytes, forKey: .walBytes)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encode(adopted, forKey: .adopted)
    }
}
