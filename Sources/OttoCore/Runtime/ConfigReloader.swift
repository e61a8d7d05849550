import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `SIGHUP` (`systemctl --user reload otto`, `ottoctl reload`): the config file is read and checked again. The flow
/// defaults apply live, as they always do; an invalid file changes nothing and is logged with the key path; every
/// other changed section is named in one line as needing a restart, so an operator knows where they stand.
public struct ConfigReloader: Service {
    let environment: [String: String]
    let running: OttoConfiguration
    let logger: Logger

    public init(environment: [String: String], running: OttoConfiguration, logger: Logger) {
        self.environment = environment
        self.running = running
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
            let restart = Self.changedSections(from: running, to: loaded.configuration)
            if restart.isEmpty {
                logger.notice(
                    "config reloaded: the file is valid; flow defaults apply live", metadata: ["path": "\(loaded.path)"]
                )
            } else {
                logger.warning(
                    "config reloaded: the file is valid and flow defaults apply live, but these changes take effect only after a restart",
                    metadata: ["path": "\(loaded.path)", "restartFor": "\(restart.joined(separator: ","))"])
            }
        }
    }

    /// The settings that differ, by their config key, besides the flow defaults (which apply live).
    static func changedSections(from old: OttoConfiguration, to new: OttoConfiguration) -> [String] {
        var changed: [String] = []
        if old.ottoHome != new.ottoHome { changed.append("ottoHome") }
        if old.openCode != new.openCode { changed.append("opencode") }
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
