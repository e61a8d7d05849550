import Foundation
import Logging
import OttoContracts
import ServiceLifecycle

/// Why `otto serve` cannot start, as one line an operator can act on.
public struct StartupError: Error, LocalizedError, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var errorDescription: String? { message }
    public var description: String { message }
}

/// Everything `otto serve` runs, built in dependency order. Nothing here starts serving until the first catalog
/// fetch from OpenCode has succeeded.
public struct OttoRuntime: Sendable {
    public let configurationPath: String
    public let configuration: OttoConfiguration
    public let paths: OttoPaths
    public let database: AppDatabase
    public let apiToken: APIToken
    public let catalog: ModelCatalogService
    public let flowDefaults: FlowDefaultsStore
    public let resolver: ModelResolver
    public let jobs: JobsService
    public let scheduler: Scheduler
    public let assistant: AssistantService
    public let telegram: TelegramSurface
    /// systemd's notify socket, when Otto runs as a `Type=notify` unit.
    public let systemd: SystemdNotifier
    /// `GET /external/system/status`.
    public let systemStatus: SystemStatusService
    /// Long-running work, dependencies first; `otto serve` runs them in one service group.
    public let services: [any Service]

    /// - Parameter openCode: where the catalog comes from; by default the OpenCode server the configuration names.
    public static func bootstrap(
        environment: [String: String],
        logger: Logger,
        openCode: (any OpenCodeCatalogSource)? = nil
    ) async throws(StartupError) -> OttoRuntime {
        let loaded: ConfigurationLoader.Loaded
        do {
            loaded = try ConfigurationLoader(environment: environment).load()
        } catch {
            throw StartupError(error.message)
        }
        if loaded.created {
            logger.notice("created the config file with defaults", metadata: ["path": "\(loaded.path)"])
        }
        let configuration = loaded.configuration
        let paths = OttoPaths(home: configuration.ottoHome)
        // Temporary files of writes that a kill -9 interrupted: never read, so removed.
        for path in [loaded.path, paths.catalogCache, paths.apiToken] {
            for leftover in AtomicFile.removeLeftovers(of: path) {
                logger.notice(
                    "removed a temporary file left by an interrupted write", metadata: ["path": "\(leftover)"])
            }
        }

        let database: AppDatabase
        do {
            // Test hook: holds the adoption transaction open, so a test can kill the process in the middle of it.
            let hold = environment["OTTO_TEST_HOLD_ADOPTION_MS"].flatMap(Int.init)
            database = try AppDatabase.open(
                path: paths.stateDatabase,
                duringAdoption: hold.map { milliseconds in { usleep(useconds_t(milliseconds) * 1000) } })
        } catch let refusal as LegacyAdoption.Refusal {
            throw StartupError(refusal.description)
        } catch {
            throw StartupError("cannot open the state database \(paths.stateDatabase): \(error)")
        }
        if let adoption = database.adoption {
            logger.notice(
                "adopted the TypeScript Otto's state database",
                metadata: [
                    "path": "\(paths.stateDatabase)", "jobs": "\(adoption.jobs)", "runs": "\(adoption.runs)",
                    "taskAudit": "\(adoption.taskAuditEntries)", "commandAudit": "\(adoption.commandAuditEntries)",
                    "backup": "\(adoption.backupPath)",
                ])
            for id in adoption.pausedJobs {
                logger.warning(
                    "paused an adopted job whose stored row cannot be read; its terminalReason says which field",
                    metadata: ["job": "\(id)"])
            }
        }
        let apiToken: APIToken
        do {
            apiToken = try APIToken.loadOrCreate(path: paths.apiToken)
        } catch {
            throw StartupError(error.localizedDescription)
        }

        let credentials: OpenCodeCredentials?
        do {
            credentials = try OpenCodeCredentials.resolve(configuration.openCode, environment: environment) { warning in
                logger.warning("\(warning)")
            }
        } catch {
            throw StartupError("cannot start: \(error.description)")
        }
        if let credentials {
            logger.info(
                "OpenCode credentials",
                metadata: ["username": "\(credentials.username)", "from": "\(credentials.source)"])
        }
        // One client and one dialect for the catalog, the scheduler and the assistant: a refresh that finds an
        // upgraded OpenCode switches all of them.
        let client = OpenCodeClient(
            baseURL: configuration.openCode.baseURL,
            timeout: .seconds(configuration.openCode.requestTimeoutSeconds),
            credentials: credentials,
            dialect: OpenCodeDialect(pinned: configuration.openCode.pinnedProtocol)
        )
        let source = openCode ?? client
        let catalog = ModelCatalogService(
            source: source,
            cache: CatalogCache(path: paths.catalogCache),
            logger: logger
        )
        catalog.loadCache()
        let snapshot: ModelCatalogSnapshot
        do {
            snapshot = try await catalog.refreshNow()
        } catch {
            throw StartupError("cannot start: the first model catalog fetch failed: \(error.message)")
        }
        logger.info(
            "model catalog fetched from OpenCode",
            metadata: [
                "url": "\(source.providersURL)",
                "count": "\(snapshot.count)",
                "globalDefault": "\(snapshot.globalDefault?.description ?? "none")",
            ]
        )

        let flowDefaults = FlowDefaultsStore(
            path: loaded.path,
            initial: configuration.flowDefaults,
            logger: logger
        )
        let resolver = ModelResolver(catalog: catalog, flowDefaults: flowDefaults, logger: logger)
        let refresh = CatalogRefreshService(
            catalog: catalog,
            interval: .seconds(configuration.catalogRefreshIntervalSeconds),
            logger: logger
        )
        let telegramSettings = TelegramSettings.resolve(configuration, environment: environment) { warning in
            logger.warning("\(warning)")
        }
        var telegramChat: Int64?
        if case .on(let settings) = telegramSettings, settings.notify { telegramChat = settings.allowedUserId }
        let systemd = SystemdNotifier(environment: environment)
        let scheduler = Scheduler(
            database: database, resolver: resolver, openCode: client, configuration: configuration,
            telegramChat: telegramChat, systemd: systemd, logger: logger)
        let jobs = JobsService(
            database: database, resolver: resolver, catalog: catalog, jobsChanged: { scheduler.wake() })
        do {
            let adopted = database.adoption != nil
            try await jobs.syncSystemJob(
                id: "system-heartbeat", type: "heartbeat", cadenceMinutes: configuration.heartbeat.cadenceMinutes,
                enabled: configuration.heartbeat.enabled, firstRunFromNow: adopted)
            try await jobs.syncSystemJob(
                id: "system-watchdog-failures", type: "watchdog_failures",
                cadenceMinutes: configuration.watchdog.cadenceMinutes, enabled: configuration.watchdog.enabled,
                firstRunFromNow: adopted)
            for job in try await jobs.pauseUnsupportedSystemJobs(supported: ["heartbeat", "watchdog_failures"]) {
                logger.warning(
                    "paused one of Otto's own jobs: this Otto has no runner for its type, and it is never run as a prompt",
                    metadata: ["job": "\(job.id)", "type": "\(job.type)"])
            }
            try await scheduler.recoverExpiredClaims()
        } catch {
            throw StartupError("cannot prepare the scheduler in \(paths.stateDatabase): \(error)")
        }
        // The assistant has connections of its own: however many of its prompts hang, the scheduler, catalog
        // refreshes and aborts keep theirs.
        let assistant = AssistantService(
            resolver: resolver,
            openCode: client.using(
                httpClient: OpenCodeClient.assistantHTTPClient(maxConcurrent: configuration.assistant.maxConcurrent)),
            timeout: .seconds(configuration.scheduler.runTimeoutSeconds), retries: configuration.scheduler.retries,
            maxConcurrent: configuration.assistant.maxConcurrent, safety: configuration.openCode.safety, logger: logger)
        let telegram: TelegramSurface
        var services: [any Service] = [
            refresh, FlowDefaultsWatcher(store: flowDefaults), scheduler, MemoryReclaimer(),
            ConfigReloader(
                environment: environment, running: configuration, scheduler: scheduler, jobs: jobs, openCode: client,
                telegramChat: { [telegramSettings] configuration in
                    guard case .on(let settings) = telegramSettings, configuration.notifications.telegram ?? true
                    else { return nil }
                    return settings.allowedUserId
                }, logger: logger),
        ]
        switch telegramSettings {
        case .off(let reason):
            logger.info("Telegram is off", metadata: ["reason": "\(reason)"])
            telegram = TelegramSurface(mode: .off(reason: reason), database: database)
        case .unusable(let reason):
            logger.error("Telegram is off: \(reason)")
            telegram = TelegramSurface(
                mode: .unusable(reason: reason, at: Int64((Date().timeIntervalSince1970 * 1000).rounded())),
                database: database)
        case .on(let settings):
            let pollSeconds = environment["OTTO_TEST_TELEGRAM_POLL_SECONDS"].flatMap(Int.init) ?? 30
            let service = TelegramService(
                settings: settings, database: database, resolver: resolver,
                openCode: client.using(
                    httpClient: OpenCodeClient.assistantHTTPClient(
                        maxConcurrent: configuration.assistant.maxConcurrent)),
                safety: configuration.openCode.safety, retries: configuration.scheduler.retries, logger: logger,
                pollSeconds: max(1, min(pollSeconds, 50)),
                statusText: { [database, client] in
                    await TelegramService.statusText(database: database, openCode: client)
                })
            telegram = TelegramSurface(mode: .on(service), database: database)
            services.append(service)
        }
        return OttoRuntime(
            configurationPath: loaded.path,
            configuration: configuration,
            paths: paths,
            database: database,
            apiToken: apiToken,
            catalog: catalog,
            flowDefaults: flowDefaults,
            resolver: resolver,
            jobs: jobs,
            scheduler: scheduler,
            assistant: assistant,
            telegram: telegram,
            systemd: systemd,
            systemStatus: SystemStatusService(
                configurationPath: loaded.path, configuration: configuration, paths: paths, catalog: catalog,
                openCode: client, scheduler: scheduler, database: database),
            services: services
        )
    }
}
