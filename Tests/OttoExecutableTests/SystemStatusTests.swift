import Foundation
import OttoContracts
import OttoTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `GET /external/system/status` and `ottoctl status` from a real `otto serve` in known states.
@Suite struct SystemStatusTests {
    static func status(_ otto: LiveOtto) async throws -> SystemStatus {
        let json = try await otto.ctl(["status", "--json"])
        return try JSONDecoder().decode(SystemStatus.self, from: Data(json.stdout.utf8))
    }

    @Test func aHealthyOttoReportsEveryPartAndOttoctlSaysOk() async throws {
        try await LiveOtto.run(config: #"{"scheduler": {"tickSeconds": 1}, "heartbeat": {"enabled": false}}"#) {
            otto in
            // One run that fails (no prompt): counted, not a problem of Otto's.
            _ = try await otto.api(
                "/external/jobs", method: "POST",
                body: #"{"id": "mute", "type": "report", "scheduleType": "oneshot", "runAt": 0}"#)
            var status = try await Self.status(otto)
            let deadline = ContinuousClock.now + .seconds(20)
            while status.scheduler.runsLast24h.failed == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                status = try await Self.status(otto)
            }
            #expect(status.status == .ok, "\(status.reasons)")
            #expect(status.reasons.isEmpty)
            #expect(status.otto.version == OttoVersion.current)
            #expect(otto.url.hasSuffix(status.otto.listen))
            #expect(status.otto.ottoHome == otto.home.ottoHome)
            #expect(status.otto.configPath == otto.home.configPath)
            #expect(status.opencode.url == otto.server.baseURL)
            #expect(status.opencode.version == "1.1.53")
            #expect(status.opencode.protocol == 1)
            #expect(status.opencode.reachable == true)
            #expect(status.opencode.lastError == nil)
            #expect(status.opencode.catalog.count == 4803)
            #expect(status.opencode.catalog.source == .network)
            #expect(status.scheduler.runsLast24h == .init(success: 0, failed: 1, skipped: 0))
            #expect(status.scheduler.runningRuns == 0)
            #expect(status.scheduler.lastPassAt != nil)
            #expect(status.scheduler.nextDue?.jobId == "system-watchdog-failures")
            #expect(status.heartbeat.enabled == false)
            #expect(status.watchdog.enabled)
            #expect(status.watchdog.nextRunAt == status.scheduler.nextDue?.at)
            #expect(status.notifications.webhook == nil)
            #expect(status.database.path == otto.home.stateDatabasePath)
            #expect(status.database.sizeBytes > 0)
            #expect(status.database.schemaVersion == "v6-telegram")
            #expect(!status.database.adopted)

            let shown = try await otto.ctl(["status"])
            #expect(shown.status == 0, "\(shown.stderr)")
            #expect(shown.stdout.hasPrefix("Otto \(OttoVersion.current): ok, up "), "\(shown.stdout)")
            #expect(shown.stdout.contains("OpenCode 1.1.53 at \(otto.server.baseURL) (protocol 1): reachable"))
            #expect(shown.stdout.contains("Runs (24 h): 0 success, 1 failed, 0 skipped"))
        }
    }

    @Test func openCodeDownAndAFailedNotificationMakeItDegradedWithReasons() async throws {
        let config =
            #"{"heartbeat": {"enabled": true}, "watchdog": {"enabled": false}, "notifications": {"webhookUrl": "http://127.0.0.1:\#(closedLoopbackPort())/hook?token=abc"}}"#
        try await LiveOtto.run(config: config) { otto in
            _ = try await otto.ctl(["task", "run-now", "system-heartbeat"])
            var status = try await Self.status(otto)
            let deadline = ContinuousClock.now + .seconds(30)
            while status.notifications.failedLast24h == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                status = try await Self.status(otto)
            }
            #expect(status.notifications.failedLast24h == 1)
            #expect(status.notifications.webhook?.hasPrefix("http://127.0.0.1:") == true)
            #expect(status.notifications.webhook?.contains("token") == false)
            #expect(status.status == .degraded)
            #expect(status.reasons == ["1 notification(s) failed in the last hour"])
            #expect(status.heartbeat.lastRun?.status == "success")

            // OpenCode goes away; a refresh finds out.
            otto.server.standIn.mode = .failing(status: 503)
            let refresh = try await otto.ctl(["model", "refresh"])
            #expect(refresh.status == 1)
            status = try await Self.status(otto)
            #expect(status.status == .degraded)
            #expect(status.opencode.reachable == true, "OpenCode answered, with an error")
            #expect(status.opencode.lastError?.contains("HTTP 503") == true)
            #expect(status.reasons.contains { $0.hasPrefix("the last catalog refresh failed") })
            #expect(status.reasons.contains { $0.hasPrefix("the last call to OpenCode failed") })
            #expect(status.opencode.catalog.count == 4803, "the old catalog stays")
            let shown = try await otto.ctl(["status"])
            #expect(shown.status == 1)
            #expect(shown.stdout.contains(": degraded, up "))
            #expect(shown.stdout.contains("  - the last catalog refresh failed"))
        }
    }

    @Test func anOttoThatIsNotRunningIsExitTwoWithHowToStartIt() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        var environment = home.environment(apiPort: nil)
        environment["OTTO_EXTERNAL_API_URL"] = "http://127.0.0.1:\(closedLoopbackPort())"
        environment["OTTO_EXTERNAL_API_TOKEN"] = String(repeating: "a", count: 64)
        let result = try await ChildProcess.run(
            BuiltProducts.executable("ottoctl"), arguments: ["status"], environment: environment)
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot reach the Otto API at http://127.0.0.1:"))
        #expect(
            result.stderr.contains("Start it with `ottoctl start` (the user service) or `otto serve` in a terminal."))
    }

    @Test func anAdoptedDatabaseIsReportedAsAdopted() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.installOriginalOttoDatabase()
        try home.writeConfig(LiveOtto.quietConfig)
        try await withStandInOpenCode { server in
            let otto = try ChildProcess(
                BuiltProducts.executable("otto"), arguments: ["serve"],
                environment: home.environment(openCode: server.baseURL))
            defer { otto.signal(SIGTERM) }
            #expect(await otto.waitForOutput("msg=\"otto is running\""), "\(otto.stderr)")
            let line = otto.stderr.split(separator: "\n").first { $0.contains("otto is running") } ?? ""
            var environment = home.environment(apiPort: nil)
            environment["OTTO_EXTERNAL_API_URL"] =
                line.split(separator: " ").first { $0.hasPrefix("externalApi=") }.map { String($0.dropFirst(12)) }
            let json = try await ChildProcess.run(
                BuiltProducts.executable("ottoctl"), arguments: ["status", "--json"], environment: environment)
            let status = try JSONDecoder().decode(SystemStatus.self, from: Data(json.stdout.utf8))
            #expect(status.database.adopted)
            #expect(status.database.schemaVersion == "v6-telegram")
        }
    }

    @Test func aRunningJobIsCountedWhileItRuns() async throws {
        try await LiveOtto.run(
            config:
                #"{"scheduler": {"tickSeconds": 1}, "heartbeat": {"enabled": false}, "watchdog": {"enabled": false}}"#
        ) {
            otto in
            _ = try await otto.api(
                "/external/jobs", method: "POST",
                body:
                    #"{"id": "slow", "type": "report", "scheduleType": "oneshot", "runAt": 0, "payload": {"prompt": "[[sleep:3000]] take your time"}}"#
            )
            var status = try await Self.status(otto)
            let deadline = ContinuousClock.now + .seconds(10)
            while status.scheduler.runningRuns == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                status = try await Self.status(otto)
            }
            #expect(status.scheduler.runningRuns == 1)
            #expect(status.scheduler.pastLease == 0, "a run that renews its lease is not stuck")
            #expect(status.status == .ok)
            _ = try await otto.runs("slow", count: 1)
            #expect(try await Self.status(otto).scheduler.runningRuns == 0)
        }
    }

    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
    func aStateDatabaseThatCannotBeWrittenIsFailing() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(LiveOtto.quietConfig)
        try FileManager.default.createDirectory(atPath: home.ottoHome, withIntermediateDirectories: true)
        let mounted = try await ChildProcess.run(
            "/usr/bin/env", arguments: ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", home.ottoHome],
            environment: ProcessInfo.processInfo.environment)
        try #require(mounted.status == 0, "\(mounted.stderr)")
        defer {
            _ = try? Process.run(URL(fileURLWithPath: "/usr/bin/umount"), arguments: ["-l", home.ottoHome])
                .waitUntilExit()
        }
        try await withStandInOpenCode { server in
            let otto = try ChildProcess(
                BuiltProducts.executable("otto"), arguments: ["serve"],
                environment: home.environment(openCode: server.baseURL))
            defer { otto.signal(SIGKILL) }
            #expect(await otto.waitForOutput("msg=\"otto is running\""), "\(otto.stderr)")
            let line = otto.stderr.split(separator: "\n").first { $0.contains("otto is running") } ?? ""
            var environment = home.environment(apiPort: nil)
            environment["OTTO_EXTERNAL_API_URL"] =
                line.split(separator: " ").first { $0.hasPrefix("externalApi=") }.map { String($0.dropFirst(12)) }
            // The file system fills up.
            _ = try await ChildProcess.run(
                "/usr/bin/env", arguments: ["dd", "if=/dev/zero", "of=\(home.ottoHome)/filler", "bs=64k"],
                environment: ProcessInfo.processInfo.environment)
            let json = try await ChildProcess.run(
                BuiltProducts.executable("ottoctl"), arguments: ["status", "--json"], environment: environment)
            let status = try JSONDecoder().decode(SystemStatus.self, from: Data(json.stdout.utf8))
            #expect(status.status == .failing, "\(status.reasons)")
            #expect(
                status.reasons.contains {
                    $0.hasPrefix("the state database \(home.stateDatabasePath) cannot be written")
                }, "\(status.reasons)")
            let shown = try await ChildProcess.run(
                BuiltProducts.executable("ottoctl"), arguments: ["status"], environment: environment)
            #expect(shown.status == 1)
            #expect(shown.stdout.contains(": failing, up "))
        }
    }
}
