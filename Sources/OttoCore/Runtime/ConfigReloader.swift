import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `SIGHUP` (`systemctl --user reload otto`, `ottoctl reload`): the config file is read and checked again. An
/// invalid file changes nothing and is logged with the key path. Otherwise the scheduler's limits, the heartbeat and
/// watchdog (on/off, cadence, prompt), the notifications (webhook, Telegram on/off) and OpenCode's credentials (the
/// password file is read again) take effect at once, the flow defaults as always; what cannot change under a running
/// Otto (listen address, ottoHome, OpenCode's URL and protocol, the assistant, Telegram's bot) is named in one line
/// as needing a restart.
public final class ConfigReloader: Service, Sendable {
    let environment: [String: String]
    let running: Mutex<OttoConfiguration>
    let scheduler: Scheduler
    let jobs: JobsService
    /// The chat for notifications under a configuration (nil when Telegram is off or notifications.telegram false).
    let telegramChat: @Sendable (OttoConfiguration) -> Int64?
    /// Every OpenCode client of this Otto shares its credentials with this one.
    let openCode: OpenCodeClient
    let logger: Logger

    init(
        environment: [String: String], running: OttoConfiguration, scheduler: Scheduler, jobs: JobsService,
        openCode: OpenCodeClient, telegramChat: @escaping @Sendable (OttoConfiguration) -> Int64?, logger: Logger
    ) {
        self.environment = environment
        self.running = Mutex(running)
        self.scheduler = scheduler
        self.jobs = jobs
        self.openCode = openCode
        self.telegramChat = telegramChat
        self.logger = logger
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await reload()
        }
    }

    func reload() async {
        let environment = self.environment
        // The file is read on a thread of its own, never on the caller's executor.
        let loaded = await Task.detached { () -> Result<ConfigurationLoader.Loaded, ConfigurationError> in
            do {
                return .success(try ConfigurationLoader(environment: environment).load())
            } catch let error as ConfigurationError {
                return .failure(error)
            } catch {
                return .failure(
                    ConfigurationError(source: "config file", issues: [.init(path: "", message: "\(error)")]))
            }
        }.value
        switch loaded {
        case .failure(let error):
            logger.error("config reload refused, nothing changed: \(error.message)")
        case .success(let loaded):
            let new = loaded.configuration
            let old = running.withLock { $0 }
            var applied = Self.changedSections(from: old, to: new).filter(Self.live.contains)
            // The password file is read again even when the config names the same one: its content may be new.
            do {
                let credentials = try OpenCodeCredentials.resolve(new.openCode, environment: environment) { warning in
                    logger.warning("\(warning)")
                }
                if credentials != openCode.credentials {
                    openCode.replaceCredentials(credentials)
                    applied.append("opencode credentials")
                }
            } catch {
                logger.error("config reload: OpenCode's credentials were kept: \(error.description)")
            }
            scheduler.apply(new, telegramChat: telegramChat(new))
            do {
                try await jobs.syncSystemJob(
                    id: "system-heartbeat", type: "heartbeat", cadenceMinutes: new.heartbeat.cadenceMinutes,
                    enabled: new.heartbeat.enabled, firstRunFromNow: false)
                try await jobs.syncSystemJob(
                    id: "system-watchdog-failures", type: "watchdog_failures",
                    cadenceMinutes: new.watchdog.cadenceMinutes, enabled: new.watchdog.enabled, firstRunFromNow: false)
            } catch {
                logger.error(
                    "config reload: the heartbeat and watchdog jobs could not be updated",
                    metadata: ["error": "\(error)"])
                applied.removeAll { $0 == "heartbeat" || $0 == "watchdog" }
            }
            scheduler.wake()
            // Kept for the next comparison: the live parts as applied, the others as they still run.
            var kept = new
            kept.ottoHome = old.ottoHome
            kept.openCode = old.openCode
            kept.openCode.username = new.openCode.username
            kept.openCode.passwordFile = new.openCode.passwordFile
            kept.externalAPI = old.externalAPI
            kept.catalogRefreshIntervalSeconds = old.catalogRefreshIntervalSeconds
            kept.assistant = old.assistant
            kept.telegram = old.telegram
            running.withLock { $0 = kept }
            let restart = Self.changedSections(from: old, to: new).filter { !Self.live.contains($0) }
            var metadata: Logger.Metadata = ["path": "\(loaded.path)", "applied": "\(applied.joined(separator: ","))"]
            if restart.isEmpty {
                logger.notice("config reloaded", metadata: metadata)
            } else {
                metadata["restartFor"] = "\(restart.joined(separator: ","))"
                logger.warning("config reloaded; some changes take effect only after a restart", metadata: metadata)
            }
        }
    }

    /// The sections a reload applies at once.
    static let live: Set<String> = ["scheduler", "heartbeat", "watchdog", "notifications"]

    /// The settings that differ, by their config key, besides the flow defaults (which apply live).
    static func changedSections(from old: OttoConfiguration, to new: OttoConfiguration) -> [String] {
        var changed: [String] = []
        if old.ottoHome != new.ottoHome { changed.append("ottoHome") }
        var openCode = new.openCode
        openCode.username = old.openCode.username
        openCode.passwordFile = old.openCode.passwordFile
        if old.openCode != openCode { changed.append("opencode") }
        if old.externalAPI != new.externalAPI { changed.append("externalApi") }
        if old.catalogRefreshIntervalSeconds != new.catalogRefreshIntervalSeconds {
            changed.append("modelManagement.catalogRefreshIntervalSeconds")
        }
        if old.scheduler != new.scheduler { changed.append("scheduler") }
        if old.heartbeat != new.heartbeat { changed.append("heartbeat") }
        if old.watchdog != new.watchdog { changed.append("watchdog") }
        if old.notifications != new.notifications { changed.append("notifications") }
        if old.assistant != new.assistant { changed.append("assistant") }
        if old.telegram != new.telegram { changed.append("telegram") }
        return changed
    }
}
