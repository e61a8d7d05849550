import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import OttoContracts

#if canImport(Glibc)
    import Glibc
#endif

/// `otto doctor` (and `ottoctl doctor`, which runs it): checks each part with Otto's own code, read-only, whether
/// or not Otto is running, and says how to fix what is not ok. The only file it writes is the incident report when
/// a check fails.
public enum Doctor {
    static let topLevelKeys: Set<String> = [
        "version", "ottoHome", "opencode", "externalApi", "modelManagement", "scheduler", "heartbeat", "watchdog",
        "assistant", "notifications", "telegram",
    ]
    /// The keys each section takes (the TypeScript Otto's `opencode.hostname` and `port` included).
    static let sectionKeys: [String: Set<String>] = [
        "opencode": [
            "baseUrl", "hostname", "port", "requestTimeoutSeconds", "username", "passwordFile", "protocol", "agent",
            "allowTools", "allowedAgents",
        ],
        "externalApi": ["host", "port", "requestHeadTimeoutSeconds", "requestTimeoutSeconds", "idleTimeoutSeconds"],
        "modelManagement": ["flowDefaults", "catalogRefreshIntervalSeconds"],
        "scheduler": ["tickSeconds", "leaseSeconds", "maxConcurrentRuns", "runTimeoutSeconds", "retries"],
        "heartbeat": ["enabled", "cadenceMinutes", "prompt"],
        "watchdog": ["enabled", "cadenceMinutes"],
        "assistant": ["maxConcurrent"],
        "notifications": ["webhookUrl", "telegram"],
        "telegram": ["enabled", "botTokenFile", "allowedUserId", "apiBaseUrl", "promptTimeoutMs", "parseMode"],
    ]

    /// - Parameter deep: also a one-line prompt to each flow's model and a test notification (webhook body
    ///   `"kind": "test"`; in Telegram a message starting "Test from Otto").
    public static func run(environment: [String: String], deep: Bool = false) async -> DoctorReport {
        var checks: [DoctorReport.Check] = []
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let configPath = OttoLocations.configPath(environment)

        // Config.
        var configuration: OttoConfiguration?
        if !FileManager.default.fileExists(atPath: configPath) {
            checks.append(
                .init(
                    name: "config", result: .warn, evidence: "no config file at \(configPath)",
                    fix: "otto serve creates it with defaults and comments on its first start"))
            // The rest is checked as otto serve would run: on the defaults and the environment.
            let home = OttoLocations.homeDirectory(environment)
            configuration = try? OttoConfiguration.parse(
                Array(ConfigurationLoader.defaultFileText(homeDirectory: home).utf8), file: configPath,
                homeDirectory: home
            ).applyingEnvironment(environment)
        } else {
            do {
                let loaded = try ConfigurationLoader(environment: environment).load()
                configuration = loaded.configuration
                let unknown = unknownKeys(configPath)
                checks.append(
                    unknown.isEmpty
                        ? .init(name: "config", result: .ok, evidence: "\(configPath) parses and is valid")
                        : .init(
                            name: "config", result: .warn,
                            evidence: "\(configPath) is valid but has keys Otto does not know: "
                                + unknown.joined(separator: ", "),
                            fix: "remove or correct them (a misspelt key is silently a default)"))
            } catch {
                checks.append(
                    .init(
                        name: "config", result: .fail, evidence: error.message,
                        fix:
                            "edit \(configPath): \(error.issues.first.map { $0.path.isEmpty ? $0.message : "\($0.path): \($0.message)" } ?? "")"
                    ))
            }
        }
        let ottoHome = configuration?.ottoHome ?? OttoLocations.ottoHome(configured: nil, environment: environment)
        let paths = OttoPaths(home: ottoHome)

        // API token.
        var info = stat()
        if stat(paths.apiToken, &info) != 0 {
            checks.append(
                .init(
                    name: "API token", result: .fail, evidence: "\(paths.apiToken) is missing",
                    fix: "start otto serve once: it creates the token"))
        } else if info.st_mode & 0o077 != 0 {
            checks.append(
                .init(
                    name: "API token", result: .fail,
                    evidence:
                        "\(paths.apiToken) can be read by group or others (mode \(String(info.st_mode & 0o777, radix: 8)))",
                    fix: "chmod 600 \(paths.apiToken)"))
        } else if access(paths.apiToken, R_OK) != 0 {
            checks.append(
                .init(
                    name: "API token", result: .fail, evidence: "\(paths.apiToken) cannot be read by this user",
                    fix: "run as the user that runs otto serve"))
        } else {
            checks.append(.init(name: "API token", result: .ok, evidence: "\(paths.apiToken), mode 600"))
        }

        // OpenCode and the models.
        var snapshot: Set<ModelRef>?
        if let configuration {
            do {
                let credentials = try OpenCodeCredentials.resolve(configuration.openCode, environment: environment) {
                    _ in
                }
                let client = OpenCodeClient(
                    baseURL: configuration.openCode.baseURL, timeout: .seconds(2), credentials: credentials,
                    dialect: OpenCodeDialect(pinned: configuration.openCode.pinnedProtocol))
                let catalog = try await client.fetchCatalog()
                let line =
                    catalog.server?.logLine(baseURL: configuration.openCode.baseURL) ?? configuration.openCode.baseURL
                if catalog.refs.isEmpty {
                    checks.append(
                        .init(
                            name: "OpenCode", result: .fail, evidence: "\(line): the catalog is empty",
                            fix: "configure a provider in OpenCode (opencode auth login)"))
                } else {
                    checks.append(
                        .init(name: "OpenCode", result: .ok, evidence: "\(line), \(catalog.refs.count) models"))
                    snapshot = Set(catalog.refs)
                }
            } catch let problem as OpenCodeCredentials.Problem {
                checks.append(
                    .init(name: "OpenCode", result: .fail, evidence: problem.description, fix: "fix the password file"))
            } catch let error as OpenCodeError {
                let fix: String =
                    if case .unauthorized = error.cause {
                        "set opencode.passwordFile or OTTO_OPENCODE_PASSWORD to OpenCode's password"
                    } else {
                        "start OpenCode (opencode serve) or set opencode.baseUrl to where it listens"
                    }
                checks.append(.init(name: "OpenCode", result: .fail, evidence: error.message, fix: fix))
            } catch {
                checks.append(.init(name: "OpenCode", result: .fail, evidence: "\(error)"))
            }
        }

        // The database.
        let inspection = DatabaseInspection.inspect(path: paths.stateDatabase, now: now)
        let running = await runningOtto(configuration: configuration, tokenPath: paths.apiToken)
        switch inspection {
        case .failure(let error):
            checks.append(
                .init(
                    name: "database", result: .fail, evidence: "\(paths.stateDatabase): \(error.description)",
                    fix: "move the file away (otto serve starts a new one) or restore a backup beside it"))
        case .success(let database):
            checks.append(
                databaseCheck(database, path: paths.stateDatabase, home: ottoHome, ottoRunning: running != nil))
            if let snapshot, let configuration {
                var missing: [String] = []
                for flow in RuntimeModelFlow.allCases {
                    if let ref = configuration.flowDefaults[flow], !snapshot.contains(ref) {
                        missing.append("flow \(flow) → \(ref)")
                    }
                }
                for (job, text) in database.jobModelRefs {
                    if let ref = try? ModelRef(parsing: text), !snapshot.contains(ref) {
                        missing.append("job \(job) → \(ref)")
                    }
                }
                checks.append(
                    missing.isEmpty
                        ? .init(
                            name: "models", result: .ok, evidence: "every flow default and job model is in the catalog")
                        : .init(
                            name: "models", result: .warn,
                            evidence: "not in the catalog (runs fall back to OpenCode's default): "
                                + missing.prefix(10).joined(separator: "; ") + (missing.count > 10 ? "; …" : ""),
                            fix:
                                "ottoctl model defaults set <flow> <provider/model>, ottoctl task set-model <id> <provider/model>"
                        ))
            }
        }

        // Otto itself.
        if let running {
            checks.append(
                running.version == OttoVersion.current
                    ? .init(
                        name: "Otto", result: .ok, evidence: "running, version \(running.version), pid \(running.pid)")
                    : .init(
                        name: "Otto", result: .warn,
                        evidence: "running version \(running.version), but this is \(OttoVersion.current)",
                        fix: "ottoctl restart (after installing the same version of otto and ottoctl)"))
        } else {
            checks.append(
                .init(
                    name: "Otto", result: .warn, evidence: "not running (its API does not answer)",
                    fix: "ottoctl start, or otto serve"))
        }
        let unit =
            (OttoEnvironment.value("XDG_CONFIG_HOME", in: environment) ?? OttoLocations.homeDirectory(environment)
                + "/.config")
            + "/systemd/user/otto.service"
        if !FileManager.default.fileExists(atPath: unit) {
            checks.append(
                .init(
                    name: "service", result: .warn, evidence: "no systemd user unit at \(unit)",
                    fix: "ottoctl service install --now"))
        } else if let user = environment["USER"], !user.isEmpty,
            FileManager.default.fileExists(atPath: "/var/lib/systemd/linger"),
            !FileManager.default.fileExists(atPath: "/var/lib/systemd/linger/\(user)")
        {
            checks.append(
                .init(
                    name: "service", result: .warn, evidence: "\(unit) is installed, but lingering is off for \(user)",
                    fix: "sudo loginctl enable-linger \(user) (else Otto stops when you log out)"))
        } else {
            checks.append(.init(name: "service", result: .ok, evidence: "\(unit) is installed"))
        }

        // Notifications.
        if let configuration {
            let webhook = configuration.notifications.webhookURL.flatMap(WebhookNotifier.origin)
            checks.append(
                .init(
                    name: "notifications", result: .ok,
                    evidence: webhook.map { "webhook \($0)/… (valid)" } ?? "no webhook configured"))
            if deep {
                checks += await deepChecks(configuration, environment: environment, catalog: snapshot)
            }
        }

        var report = DoctorReport(checks: checks)
        if checks.contains(where: { $0.result == .fail }) {
            report.incident = writeIncident(report, home: ottoHome)
        }
        return report
    }

    /// A one-line prompt to each flow's model (as the resolver would choose it: the flow default, else OpenCode's
    /// global default, else OpenCode's own choice), and a test message to each notification channel.
    static func deepChecks(_ configuration: OttoConfiguration, environment: [String: String], catalog: Set<ModelRef>?)
        async -> [DoctorReport.Check]
    {
        var checks: [DoctorReport.Check] = []
        var logger = Logger(label: "otto-doctor")
        logger.logLevel = .critical
        // Only when OpenCode answered (and took the credentials, which the OpenCode check reported otherwise).
        if catalog != nil {
            let credentials =
                (try? OpenCodeCredentials.resolve(configuration.openCode, environment: environment, warn: { _ in }))
                ?? nil
            let client = OpenCodeClient(
                baseURL: configuration.openCode.baseURL, timeout: .seconds(10), credentials: credentials,
                dialect: OpenCodeDialect(pinned: configuration.openCode.pinnedProtocol))
            let global = (try? await client.fetchCatalog())?.globalDefault
            let sender = PromptSender(
                openCode: client, retries: 0, timeout: .seconds(60), safety: configuration.openCode.safety,
                logger: logger)
            for flow in RuntimeModelFlow.allCases {
                let model = configuration.flowDefaults[flow] ?? global
                let exchange = await sender.send(
                    "This is Otto's doctor checking that you answer. Reply with the single word OK.", model: model,
                    session: nil, title: "otto doctor \(flow)")
                if let sessionId = exchange.sessionId {
                    try? await client.abort(sessionId: sessionId, timeout: .seconds(5))
                }
                switch exchange.answer {
                case .success(let answer):
                    checks.append(
                        .init(
                            name: "flow \(flow)", result: .ok,
                            evidence:
                                "answered by \(answer.answeredBy?.description ?? model?.description ?? "OpenCode's choice")"
                        ))
                case .failure(let failure):
                    checks.append(
                        .init(
                            name: "flow \(flow)", result: .fail,
                            evidence: "\(model?.description ?? "OpenCode's choice"): \(failure.message)",
                            fix: "ottoctl model defaults set \(flow) <provider/model> (a model that answers)"))
                }
            }
        }
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        if let url = configuration.notifications.webhookURL {
            let notifier = WebhookNotifier(
                url: url, attempts: 1, httpClient: OpenCodeClient.sharedHTTPClient, logger: logger)
            let delivery = await notifier.deliver(
                .init(
                    kind: "test", jobId: "doctor", runId: "doctor-\(now)",
                    text: "Test from Otto's doctor: notifications reach you.", createdAt: now),
                within: .seconds(10))
            checks.append(
                delivery.delivered
                    ? .init(
                        name: "webhook", result: .ok,
                        evidence: "a test notification was delivered to \(notifier.redactedURL)")
                    : .init(
                        name: "webhook", result: .fail, evidence: delivery.error ?? "not delivered",
                        fix: "check notifications.webhookUrl and that its receiver is up"))
        }
        if case .on(let telegram) = TelegramSettings.resolve(configuration, environment: environment, warn: { _ in }),
            telegram.notify
        {
            let api = TelegramBotAPI(baseURL: telegram.apiBaseURL, token: telegram.token)
            do {
                _ = try await api.sendMessage(
                    chatId: telegram.allowedUserId, text: "Test from Otto: the doctor checks that alerts reach you.",
                    parseMode: nil)
                checks.append(
                    .init(
                        name: "telegram", result: .ok,
                        evidence: "a test message was sent to user \(telegram.allowedUserId)"))
            } catch {
                checks.append(
                    .init(
                        name: "telegram", result: .fail, evidence: error.message,
                        fix: error.kind == .unauthorized
                            ? "ottoctl telegram setup (the token was refused)"
                            : "write /start to the bot from the allowed user, and check telegram.allowedUserId"))
            }
        }
        return checks
    }

    static func databaseCheck(_ database: DatabaseInspection, path: String, home: String, ottoRunning: Bool)
        -> DoctorReport.Check
    {
        var space = statvfs()
        let free: Int64? =
            statvfs(FileManager.default.fileExists(atPath: home) ? home : "/", &space) == 0
            ? Int64(space.f_bavail) * Int64(space.f_frsize) : nil
        let mib = free.map { $0 / 1_048_576 }
        if database.quickCheck != "ok" {
            return .init(
                name: "database", result: .fail, evidence: "\(path): quick_check says \(database.quickCheck)",
                fix:
                    "stop Otto, move the file away and restore the newest otto-state.db.before-swift-* backup, or let otto serve start a new one"
            )
        }
        if !database.unknownMigrations.isEmpty {
            return .init(
                name: "database", result: .fail,
                evidence:
                    "\(path) was written by a newer Otto (migrations \(database.unknownMigrations.joined(separator: ", ")))",
                fix: "install that newer otto again")
        }
        if let mib, mib < 100 {
            return .init(
                name: "database", result: .fail, evidence: "only \(mib) MiB free for \(home)",
                fix: "free space on that file system")
        }
        if database.pastLease > 0, ottoRunning {
            return .init(
                name: "database", result: .fail,
                evidence: "\(database.pastLease) run(s) past their lease while Otto runs",
                fix: "ottoctl restart (the scheduler is stuck; the next start takes the runs back)")
        }
        var warnings: [String] = []
        if let mib, mib < 1024 { warnings.append("only \(mib) MiB free for \(home)") }
        if database.walBytes > 100 * 1_048_576 { warnings.append("the WAL is \(database.walBytes / 1_048_576) MiB") }
        if database.pastLease > 0 {
            warnings.append("\(database.pastLease) run(s) past their lease (the next start takes them back)")
        }
        if !warnings.isEmpty {
            return .init(
                name: "database", result: .warn, evidence: "\(path): " + warnings.joined(separator: "; "),
                fix: "free space on that file system, or start Otto")
        }
        return .init(
            name: "database", result: .ok,
            evidence: database.exists
                ? "\(path) passes quick_check, \(mib.map { "\($0) MiB free" } ?? "")"
                : "\(path) does not exist yet (otto serve creates it)")
    }

    /// The running Otto's version and pid, from its status API (nil when it does not answer within 2 s).
    static func runningOtto(configuration: OttoConfiguration?, tokenPath: String) async -> (
        version: String, pid: Int32
    )? {
        guard let configuration,
            let token = (try? String(contentsOfFile: tokenPath, encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines)
        else { return nil }
        let host = configuration.externalAPI.host == "0.0.0.0" ? "127.0.0.1" : configuration.externalAPI.host
        let url =
            "http://\(host.contains(":") ? "[\(host)]" : host):\(configuration.externalAPI.port)/external/system/status"
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            let response = try await OpenCodeClient.sharedHTTPClient.execute(request, timeout: .seconds(2))
            let body = try await response.body.collect(upTo: 1_048_576)
            guard response.status == .ok else { return nil }
            let status = try JSONDecoder().decode(SystemStatus.self, from: Data(body.readableBytesView))
            return (status.otto.version, status.otto.pid)
        } catch {
            return nil
        }
    }

    static func unknownKeys(_ path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path), let root = try? JSONC.parse(Array(data)),
            case .object(let members) = root.kind
        else { return [] }
        var unknown: [String] = []
        for member in members {
            let key = member.key
            guard topLevelKeys.contains(key) else {
                unknown.append(key)
                continue
            }
            if let known = sectionKeys[key], case .object(let inner) = member.value.kind {
                unknown += inner.map(\.key).filter { !known.contains($0) }.map { "\(key).\($0)" }
            }
        }
        return unknown.sorted()
    }

    /// `<ottoHome>/logs/doctor/doctor-<UTC time>.json`; nil when it cannot be written.
    static func writeIncident(_ report: DoctorReport, home: String) -> String? {
        let directory = home + "/logs/doctor"
        let stamp = Date().formatted(
            .iso8601.year().month().day().dateSeparator(.omitted).time(includingFractionalSeconds: false).timeSeparator(
                .omitted))
        let path = directory + "/doctor-\(stamp).json"
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            var withPath = report
            withPath.incident = path
            let data = try JSONEncoder().encode(withPath)
            guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600])
            else { return nil }
            return path
        } catch {
            return nil
        }
    }
}
