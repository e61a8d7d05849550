import Foundation
import GRDB
import OttoContracts
import OttoTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `ottoctl doctor` (which runs `otto doctor` beside it) on a healthy Otto and on each broken state, for real.
@Suite struct DoctorTests {
    static func doctor(_ home: TemporaryHome, extra: [String: String] = [:]) async throws -> (
        status: Int32, report: DoctorReport, text: String
    ) {
        let environment = home.environment(apiPort: nil, extra: extra)
        let json = try await ChildProcess.run(
            BuiltProducts.executable("ottoctl"), arguments: ["doctor", "--json"], environment: environment)
        let text = try await ChildProcess.run(
            BuiltProducts.executable("ottoctl"), arguments: ["doctor"], environment: environment)
        #expect(json.status == text.status)
        let report = try JSONDecoder().decode(DoctorReport.self, from: Data(json.stdout.utf8))
        return (json.status, report, text.stdout)
    }

    static func check(_ report: DoctorReport, _ name: String) -> DoctorReport.Check? {
        report.checks.first { $0.name == name }
    }

    @Test func aHealthyRunningOttoPassesEveryCheckButTheMissingServiceUnit() async throws {
        try await LiveOtto.run { otto in
            let port = String(otto.url.split(separator: ":").last ?? "")
            try otto.home.writeConfig(
                #"{"heartbeat": {"enabled": false}, "watchdog": {"enabled": false}, "externalApi": {"port": \#(port)}}"#
            )
            let (status, report, text) = try await Self.doctor(
                otto.home, extra: ["OTTO_OPENCODE_BASE_URL": otto.server.baseURL])
            #expect(status == 1, "\(text)")
            #expect(Self.check(report, "config")?.result == .ok)
            #expect(Self.check(report, "API token")?.result == .ok)
            #expect(
                Self.check(report, "OpenCode")?.evidence
                    == "OpenCode 1.1.53 at \(otto.server.baseURL) (protocol 1), 4803 models")
            #expect(Self.check(report, "models")?.result == .ok)
            #expect(Self.check(report, "database")?.result == .ok, "\(text)")
            #expect(
                Self.check(report, "Otto")?.evidence.hasPrefix("running, version \(OttoVersion.current), pid ") == true)
            #expect(Self.check(report, "service")?.result == .warn)
            #expect(Self.check(report, "service")?.fix == "ottoctl service install --now")
            #expect(report.incident == nil)
            #expect(
                text.contains("ok    OpenCode: OpenCode 1.1.53 at \(otto.server.baseURL) (protocol 1), 4803 models\n"))
        }
    }

    @Test func eachBrokenStateFailsWithItsFixAndAnIncidentFile() async throws {
        try await LiveOtto.run { otto in
            let home = otto.home
            let environment = ["OTTO_OPENCODE_BASE_URL": otto.server.baseURL]
            // A token others can read.
            chmod(home.tokenPath, 0o644)
            var (status, report, _) = try await Self.doctor(home, extra: environment)
            #expect(status == 2)
            #expect(Self.check(report, "API token")?.fix == "chmod 600 \(home.tokenPath)")
            let incident = try #require(report.incident)
            #expect(incident.hasPrefix(home.ottoHome + "/logs/doctor/doctor-"))
            let written = try JSONDecoder().decode(
                DoctorReport.self, from: Data(contentsOf: URL(fileURLWithPath: incident)))
            #expect(written.checks == report.checks)
            chmod(home.tokenPath, 0o600)

            // A flow default that is not in the catalog: a warning with what the runs do instead.
            try home.writeConfig(
                #"{"heartbeat": {"enabled": false}, "watchdog": {"enabled": false}, "modelManagement": {"flowDefaults": {"heartbeat": "openai/gpt-99"}}}"#
            )
            (status, report, _) = try await Self.doctor(home, extra: environment)
            #expect(Self.check(report, "models")?.result == .warn)
            #expect(Self.check(report, "models")?.evidence.contains("flow heartbeat → openai/gpt-99") == true)

            // A misspelt key is silently a default: named.
            try home.writeConfig(
                #"{"heartbeat": {"enabled": false}, "watchdog": {"enabled": false}, "scheduler": {"maxConcurentRuns": 2}, "telegarm": {}}"#
            )
            (status, report, _) = try await Self.doctor(home, extra: environment)
            #expect(Self.check(report, "config")?.result == .warn)
            #expect(
                Self.check(report, "config")?.evidence.hasSuffix(
                    "keys Otto does not know: scheduler.maxConcurentRuns, telegarm") == true)

            // A config that does not validate: named by its key path, as otto serve would.
            try home.writeConfig(#"{"scheduler": {"maxConcurrentRuns": 0}}"#)
            (status, report, _) = try await Self.doctor(home, extra: environment)
            #expect(status == 2)
            #expect(Self.check(report, "config")?.result == .fail)
            #expect(
                Self.check(report, "config")?.evidence.contains("scheduler.maxConcurrentRuns: 0 is out of range")
                    == true)
            try home.writeConfig(LiveOtto.quietConfig)

            // OpenCode down, and OpenCode refusing the password.
            (status, report, _) = try await Self.doctor(
                home, extra: ["OTTO_OPENCODE_BASE_URL": "http://127.0.0.1:\(closedLoopbackPort())"])
            #expect(Self.check(report, "OpenCode")?.result == .fail)
            #expect(Self.check(report, "OpenCode")?.evidence.contains("connection refused") == true)
            otto.server.standIn.requirePassword("right")
            (status, report, _) = try await Self.doctor(
                home, extra: environment.merging(["OTTO_OPENCODE_PASSWORD": "wrong"]) { $1 })
            #expect(
                Self.check(report, "OpenCode")?.fix
                    == "set opencode.passwordFile or OTTO_OPENCODE_PASSWORD to OpenCode's password")
            otto.server.standIn.requirePassword(nil)
        }
    }

    @Test func aCorruptedDatabaseFailsAndIsLeftAsItWas() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try FileManager.default.createDirectory(atPath: home.ottoHome + "/data", withIntermediateDirectories: true)
        let garbage = Data("SQLite format 3\u{0}".utf8) + Data(repeating: 0xAB, count: 8192)
        try garbage.write(to: URL(fileURLWithPath: home.stateDatabasePath))
        let (status, report, text) = try await Self.doctor(
            home, extra: ["OTTO_OPENCODE_BASE_URL": "http://127.0.0.1:\(closedLoopbackPort())"])
        #expect(status == 2)
        #expect(Self.check(report, "database")?.result == .fail, "\(text)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: home.stateDatabasePath)) == garbage, "doctor changed nothing")
        #expect(!FileManager.default.fileExists(atPath: home.configPath), "doctor created no config")
    }

    @Test func deepPromptsEachFlowAndSendsATestNotificationToEachChannel() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try await withStandInOpenCode { openCode in
            try await withWebhookReceiver { webhook in
                try await withTelegramStandIn { telegram in
                    telegram.standIn.inject(.init(from: 4242, text: "/start"))
                    try home.writeConfig(
                        #"{"notifications": {"webhookUrl": "\#(webhook.url)"}, "telegram": {"apiBaseUrl": "\#(telegram.baseURL)", "allowedUserId": 4242}, "modelManagement": {"flowDefaults": {"heartbeat": "openai/gpt-5"}}}"#
                    )
                    let environment = home.environment(
                        apiPort: nil,
                        extra: ["OTTO_OPENCODE_BASE_URL": openCode.baseURL, "TELEGRAM_BOT_TOKEN": TelegramOtto.token])
                    let result = try await ChildProcess.run(
                        BuiltProducts.executable("ottoctl"), arguments: ["doctor", "--deep", "--json"],
                        environment: environment)
                    let report = try JSONDecoder().decode(DoctorReport.self, from: Data(result.stdout.utf8))
                    #expect(Self.check(report, "flow heartbeat")?.evidence == "answered by openai/gpt-5")
                    #expect(
                        Self.check(report, "flow scheduledTasks")?.evidence == "answered by anthropic/claude-opus-4-7")
                    #expect(Self.check(report, "flow interactiveAssistant")?.result == .ok)
                    #expect(Self.check(report, "flow watchdogFailures")?.result == .ok)
                    #expect(Self.check(report, "webhook")?.result == .ok)
                    let delivered = await webhook.next()
                    #expect(delivered?["kind"] == .string("test"))
                    #expect(Self.check(report, "telegram")?.result == .ok)
                    #expect(telegram.sent(to: 4242).first?.text.hasPrefix("Test from Otto") == true)
                    #expect(
                        !result.stdout.contains(TelegramOtto.secret) && !result.stderr.contains(TelegramOtto.secret))
                    #expect(openCode.standIn.receivedPrompts.count == 4)
                }
            }
        }
    }

    @Test func aRunPastItsLeaseWhileOttoIsDownIsAWarningTheNextStartMends() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try await withStandInOpenCode { openCode in
            try home.writeConfig(LiveOtto.quietConfig)
            let otto = try ChildProcess(
                BuiltProducts.executable("otto"), arguments: ["serve"],
                environment: home.environment(openCode: openCode.baseURL))
            #expect(await otto.waitForOutput("msg=\"otto is running\""), "\(otto.stderr)")
            otto.signal(SIGTERM)
            #expect(await otto.waitForExit() == 0)
            // A job left running by a process that died, its lease long gone.
            let database = try DatabaseQueue(path: home.stateDatabasePath)
            try await database.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO jobs (id, type, status, schedule_type, cadence_minutes, next_run_at, lock_token,
                          lock_expires_at, created_at, updated_at)
                        VALUES ('stuck', 'report', 'running', 'recurring', 60, 1, 'gone', 1, 1, 1)
                        """)
            }
            try database.close()
            let (_, report, text) = try await Self.doctor(home, extra: ["OTTO_OPENCODE_BASE_URL": openCode.baseURL])
            let check = try #require(Self.check(report, "database"), "\(text)")
            #expect(check.result == .warn)
            #expect(check.evidence.contains("1 run(s) past their lease (the next start takes them back)"))
        }
    }

    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
    func aNearlyFullDiskUnderOttoHomeFails() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try FileManager.default.createDirectory(atPath: home.ottoHome, withIntermediateDirectories: true)
        let mounted = try await ChildProcess.run(
            "/usr/bin/env", arguments: ["mount", "-t", "tmpfs", "-o", "size=50m", "tmpfs", home.ottoHome],
            environment: ProcessInfo.processInfo.environment)
        try #require(mounted.status == 0, "\(mounted.stderr)")
        defer {
            _ = try? Process.run(URL(fileURLWithPath: "/usr/bin/umount"), arguments: [home.ottoHome]).waitUntilExit()
        }
        let (status, report, _) = try await Self.doctor(
            home, extra: ["OTTO_OPENCODE_BASE_URL": "http://127.0.0.1:\(closedLoopbackPort())"])
        #expect(status == 2)
        let check = try #require(Self.check(report, "database"))
        #expect(check.result == .fail)
        #expect(check.evidence.hasPrefix("only ") && check.evidence.contains("MiB free for \(home.ottoHome)"))
        #expect(check.fix == "free space on that file system")
    }
}
