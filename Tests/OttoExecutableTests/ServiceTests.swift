import Foundation
import OttoTestSupport
import Testing

@testable import OttoCtlKit

#if canImport(Glibc)
    import Glibc
#endif

/// `ottoctl service install|uninstall`, the lifecycle verbs and `reload`. No systemd user manager runs in this
/// environment (`systemctl --user` answers "offline"), so: the real `systemctl` is used to show what an operator
/// without one is told; `systemd-analyze verify --user` checks the unit for real; and a stand-in `systemctl` and
/// `loginctl` on PATH (shell scripts that record their arguments and answer as the real ones do) check which
/// commands ottoctl runs.
@Suite struct ServiceTests {
    static func ctl(_ arguments: [String], environment: [String: String]) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        try await ChildProcess.run(BuiltProducts.executable("ottoctl"), arguments: arguments, environment: environment)
    }

    /// A directory with stand-in `systemctl` and `loginctl` that append their arguments to `calls.log`.
    static func standInSystemd(in home: TemporaryHome, linger: Bool) throws -> String {
        let bin = home.path + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let log = home.path + "/calls.log"
        let systemctl = """
            #!/bin/sh
            echo "systemctl $*" >> \(log)
            case "$*" in
              "--user is-system-running") echo running ;;
              "--user is-active otto.service") echo inactive ;;
            esac
            exit 0
            """
        let loginctl = """
            #!/bin/sh
            echo "loginctl $*" >> \(log)
            case "$1" in
              show-user) echo "Linger=\(linger ? "yes" : "no")" ;;
              enable-linger) echo "Access denied" >&2; exit 1 ;;
            esac
            """
        let journalctl = """
            #!/bin/sh
            echo "journalctl $*" >> \(log)
            echo "Dec 03 08:00:00 host otto[42]: msg=\\"otto is running\\""
            """
        for (name, text) in [("systemctl", systemctl), ("loginctl", loginctl), ("journalctl", journalctl)] {
            try text.write(toFile: bin + "/" + name, atomically: true, encoding: .utf8)
            chmod(bin + "/" + name, 0o755)
        }
        return bin
    }

    @Test func withoutAUserSystemdTheUnitIsWrittenAndVerifiedAndTheOperatorToldWhatToRun() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let environment = home.environment(apiPort: nil)
        let install = try await Self.ctl(["service", "install", "--now"], environment: environment)
        let unitPath = home.path + "/.config/systemd/user/otto.service"
        #expect(install.status == 1)
        #expect(install.stdout.hasPrefix("wrote \(unitPath) (runs \(BuiltProducts.executable("otto")) serve)"))
        #expect(
            install.stderr.contains(
                "the unit is written. Once it is, run: systemctl --user daemon-reload && systemctl --user enable --now otto"
            ), "\(install.stderr)")
        let unit = try String(contentsOfFile: unitPath, encoding: .utf8)
        for line in [
            "Type=notify", "ExecStart=\(BuiltProducts.executable("otto")) serve", "ExecReload=/bin/kill -HUP $MAINPID",
            "Restart=on-failure", "WatchdogSec=60", "TimeoutStopSec=45", "NoNewPrivileges=yes", "PrivateTmp=yes",
            "ProtectSystem=strict",
            "ReadWritePaths=-\(home.ottoHome) -\(home.path)/.config/otto -\(home.path)/.local/share/otto",
            "UMask=0077", "WantedBy=default.target",
        ] {
            #expect(unit.split(separator: "\n").contains(Substring(line)), "missing \(line)")
        }
        // systemd's own check of the unit, as the user manager would load it.
        let runtime = home.path + "/run"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        let verify = try await ChildProcess.run(
            "/usr/bin/env", arguments: ["systemd-analyze", "verify", "--user", unitPath],
            environment: ProcessInfo.processInfo.environment.merging(["XDG_RUNTIME_DIR": runtime, "HOME": home.path]) {
                $1
            })
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stderr.isEmpty && verify.stdout.isEmpty, "systemd-analyze found: \(verify.stderr)")
    }

    @Test func installEnablesAndStartsWithSystemdAndReplacesADifferentUnitOnlyWithForce() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let bin = try Self.standInSystemd(in: home, linger: false)
        var environment = home.environment(apiPort: nil)
        environment["PATH"] = bin + ":" + (environment["PATH"] ?? "")
        environment["USER"] = "operator"
        let install = try await Self.ctl(["service", "install", "--now"], environment: environment)
        #expect(install.status == 0, "\(install.stderr)")
        #expect(install.stdout.contains("enabled and started otto.service"))
        #expect(install.stderr.contains("Turn it on with: sudo loginctl enable-linger operator"))
        let calls = try String(contentsOfFile: home.path + "/calls.log", encoding: .utf8)
        #expect(
            calls
                == """
                systemctl --user is-system-running
                systemctl --user daemon-reload
                systemctl --user enable --now otto.service
                loginctl show-user operator --property=Linger
                loginctl enable-linger operator

                """, "\(calls)")

        let unitPath = home.path + "/.config/systemd/user/otto.service"
        let before = try String(contentsOfFile: unitPath, encoding: .utf8)
        let other = try await Self.ctl(
            ["service", "install", "--otto", "/opt/otto/bin/otto"], environment: environment)
        #expect(other.status == 1)
        #expect(other.stdout.contains("- ExecStart=\(BuiltProducts.executable("otto")) serve"))
        #expect(other.stdout.contains("+ ExecStart=/opt/otto/bin/otto serve"))
        #expect(other.stderr.contains("not replaced; run again with --force to replace it"))
        #expect(try String(contentsOfFile: unitPath, encoding: .utf8) == before)
        let forced = try await Self.ctl(
            ["service", "install", "--otto", "/opt/otto/bin/otto", "--force"], environment: environment)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try String(contentsOfFile: unitPath, encoding: .utf8).contains("ExecStart=/opt/otto/bin/otto serve"))

        let removed = try await Self.ctl(["service", "uninstall"], environment: environment)
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: unitPath))
        #expect(
            try String(contentsOfFile: home.path + "/calls.log", encoding: .utf8).contains(
                "systemctl --user disable --now otto.service"))
    }

    @Test func startWaitsForTheAPIAndReloadSignalsTheRunningOtto() async throws {
        try await LiveOtto.run { otto in
            let bin = try Self.standInSystemd(in: otto.home, linger: true)
            var environment = otto.home.environment(apiPort: nil)
            environment["PATH"] = bin + ":" + (environment["PATH"] ?? "")
            environment["OTTO_EXTERNAL_API_URL"] = otto.url
            let start = try await Self.ctl(["start"], environment: environment)
            #expect(start.status == 0, "\(start.stderr)")
            #expect(start.stdout.contains("is running (pid "))
            #expect(
                try String(contentsOfFile: otto.home.path + "/calls.log", encoding: .utf8).contains(
                    "systemctl --user start otto.service"))
            let logs = try await Self.ctl(["logs", "-n", "5"], environment: environment)
            #expect(logs.status == 0, "\(logs.stderr)")
            #expect(logs.stdout.contains("otto is running"))
            #expect(
                try String(contentsOfFile: otto.home.path + "/calls.log", encoding: .utf8).contains(
                    "journalctl --user -u otto.service -n 5"))
            let stop = try await Self.ctl(["stop"], environment: environment)
            #expect(stop.status == 0, "\(stop.stderr)")
            #expect(stop.stdout == "otto.service: inactive\n")
            #expect(
                try String(contentsOfFile: otto.home.path + "/calls.log", encoding: .utf8).contains(
                    "systemctl --user stop otto.service\nsystemctl --user is-active otto.service"))
        }
    }

    @Test func sighupAppliesANewMaxConcurrentRunsNamesWhatNeedsARestartAndRefusesAnInvalidFile() async throws {
        let quiet = #""heartbeat": {"enabled": false}, "watchdog": {"enabled": false}"#
        try await LiveOtto.run(config: #"{\#(quiet), "scheduler": {"tickSeconds": 1, "maxConcurrentRuns": 1}}"#) {
            otto in
            for id in ["a", "b"] {
                _ = try await otto.api(
                    "/external/jobs", method: "POST",
                    body:
                        #"{"id": "\#(id)", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 600, "runAt": 0, "payload": {"prompt": "[[sleep:1500]] \#(id)"}}"#
                )
            }
            _ = try await otto.runs("a", count: 1)
            _ = try await otto.runs("b", count: 1)
            var prompts = otto.server.standIn.receivedPrompts
            try #require(prompts.count == 2)
            #expect(abs(prompts[1].receivedAt - prompts[0].receivedAt) >= 1_500, "one at a time")

            try otto.home.writeConfig(#"{\#(quiet), "scheduler": {"tickSeconds": 1, "maxConcurrentRuns": 2}}"#)
            var environment = otto.home.environment(apiPort: nil)
            environment["OTTO_EXTERNAL_API_URL"] = otto.url
            // No unit installed: `ottoctl reload` signals the Otto the API names.
            let reload = try await Self.ctl(["reload"], environment: environment)
            #expect(reload.status == 0, "\(reload.stderr)")
            #expect(reload.stdout.contains("asked Otto to read its config file again"))
            #expect(
                await otto.process.waitForOutput("msg=\"config reloaded\" applied=scheduler"), "\(otto.process.stderr)")
            _ = try await otto.ctl(["task", "run-now", "a"])
            _ = try await otto.ctl(["task", "run-now", "b"])
            _ = try await otto.runs("a", count: 2)
            _ = try await otto.runs("b", count: 2)
            prompts = otto.server.standIn.receivedPrompts
            try #require(prompts.count == 4)
            #expect(abs(prompts[3].receivedAt - prompts[2].receivedAt) < 1_000, "two at once after the reload")

            // A change that needs a restart is named; an invalid file changes nothing.
            try otto.home.writeConfig(
                #"{\#(quiet), "scheduler": {"tickSeconds": 1, "maxConcurrentRuns": 2}, "assistant": {"maxConcurrent": 3}}"#
            )
            _ = try await Self.ctl(["reload"], environment: environment)
            #expect(await otto.process.waitForOutput("restartFor=assistant"), "\(otto.process.stderr)")
            try otto.home.writeConfig(#"{"scheduler": {"maxConcurrentRuns": 0}}"#)
            _ = try await Self.ctl(["reload"], environment: environment)
            #expect(await otto.process.waitForOutput("config reload refused, nothing changed"))
            #expect(otto.process.stderr.contains("scheduler.maxConcurrentRuns: 0 is out of range"))
            let status = try await otto.ctl(["status"])
            #expect(status.status == 0, "Otto still runs: \(status.stdout)")
        }
    }

    @Test func theMacOSLaunchAgentRunsOttoServeAndParsesAsAPropertyList() throws {
        let environment = ["HOME": "/Users/me", "OTTO_HOME": "/Users/me/otto & co"]
        let text = ServiceUnit.launchdPlist(executable: "/usr/local/bin/otto", environment: environment)
        #expect(ServiceUnit.launchdPath(environment) == "/Users/me/Library/LaunchAgents/dev.otto.otto.plist")
        let plist = try #require(
            try PropertyListSerialization.propertyList(from: Data(text.utf8), format: nil) as? [String: Any])
        #expect(plist["Label"] as? String == "dev.otto.otto")
        #expect(plist["ProgramArguments"] as? [String] == ["/usr/local/bin/otto", "serve"])
        #expect(plist["RunAtLoad"] as? Bool == true)
        #expect((plist["KeepAlive"] as? [String: Any])?["SuccessfulExit"] as? Bool == false)
        #expect(plist["StandardErrorPath"] as? String == "/Users/me/otto & co/logs/otto.log")
        #expect((plist["EnvironmentVariables"] as? [String: String])?["OTTO_HOME"] == "/Users/me/otto & co")
        #expect(plist["Umask"] as? Int == 0o077)
    }

    @Test func aStopIsBoundedEvenWithAnAssistantMessageThatHangs() async throws {
        try await LiveOtto.run { otto in
            let message = try ChildProcess(
                "/usr/bin/env",
                arguments: [
                    "curl", "-s", "-m", "120", "-X", "POST", "-H", "Authorization: Bearer \(otto.token)", "-H",
                    "Content-Type: application/json", "-d", #"{"message": "[[hang]] think forever"}"#,
                    otto.url + "/external/assistant/messages",
                ], environment: ProcessInfo.processInfo.environment)
            defer { message.signal(SIGTERM) }
            let deadline = ContinuousClock.now + .seconds(10)
            while otto.server.standIn.receivedPrompts.isEmpty, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let started = ContinuousClock.now
            otto.process.signal(SIGTERM)
            let status = await otto.process.waitForExit(timeout: .seconds(60))
            let took = ContinuousClock.now - started
            #expect(status == 0, "\(otto.process.stderr)")
            #expect(took < .seconds(40), "stopped after \(took), within the unit's TimeoutStopSec=45")
            #expect(otto.process.stderr.contains("the prompt was stopped"))
            #expect(otto.server.standIn.abortedSessions.count == 1, "its OpenCode session was aborted")
        }
    }

    @Test func sighupReadsOpenCodesPasswordFileAgain() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let passwordFile = home.path + "/opencode.password"
        try "first-password\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        chmod(passwordFile, 0o600)
        try home.writeConfig(
            #"{"heartbeat": {"enabled": false}, "watchdog": {"enabled": false}, "opencode": {"passwordFile": "\#(passwordFile)"}}"#
        )
        try await withStandInOpenCode { server in
            server.standIn.requirePassword("first-password")
            let otto = try ChildProcess(
                BuiltProducts.executable("otto"), arguments: ["serve"],
                environment: home.environment(openCode: server.baseURL))
            defer { otto.signal(SIGKILL) }
            #expect(await otto.waitForOutput("msg=\"otto is running\""), "\(otto.stderr)")
            let line = otto.stderr.split(separator: "\n").first { $0.contains("otto is running") } ?? ""
            var environment = home.environment(apiPort: nil)
            environment["OTTO_EXTERNAL_API_URL"] =
                line.split(separator: " ").first { $0.hasPrefix("externalApi=") }.map { String($0.dropFirst(12)) }

            // OpenCode's password changes, and the file with it.
            server.standIn.requirePassword("second-password")
            try "second-password\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
            chmod(passwordFile, 0o600)
            let refused = try await Self.ctl(["model", "refresh"], environment: environment)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("refused Otto's credentials"), "\(refused.stderr)")
            otto.signal(SIGHUP)
            #expect(await otto.waitForOutput("applied=\"opencode credentials\""), "\(otto.stderr)")
            let refreshed = try await Self.ctl(["model", "refresh"], environment: environment)
            #expect(refreshed.status == 0, "\(refreshed.stderr)")
            #expect(!otto.stderr.contains("second-password") && !otto.stderr.contains("first-password"))
        }
    }
}
