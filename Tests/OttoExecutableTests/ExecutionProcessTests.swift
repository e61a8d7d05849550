import Foundation
import GRDB
import OttoContracts
import OttoTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `otto serve` as a process: a job created through the API runs on the model `ottoctl` chooses, `kill -9` in the
/// middle of a run is recovered at the next start, and two processes on one database run each slot once.
@Suite struct ExecutionProcessTests {
    static let fastScheduler = #""scheduler": {"tickSeconds": 1, "leaseSeconds": 1, "runTimeoutSeconds": 60}"#

    static var now: Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    @Test(arguments: openCodeProtocols) func aJobRunsOnTheModelOttoctlChoosesAndTheRunsShowIt(protocolVersion: Int)
        async throws
    {
        try await LiveOtto.run(config: "{\(Self.fastScheduler)}", protocolVersion: protocolVersion) { otto in
            _ = try await otto.api(
                "/external/jobs", method: "POST",
                body:
                    #"{"id": "inbox", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 60, "payload": {"prompt": "summarise"}}"#
            )
            var runs = try await otto.runs("inbox", count: 1)
            #expect(runs[0].modelRef == "anthropic/claude-opus-4-7")
            #expect(runs[0].modelSource == .globalDefault)

            let set = try await otto.ctl(["model", "defaults", "set", "scheduledTasks", "openai/gpt-5"])
            #expect(set.status == 0, "\(set.stderr)")
            let runNow = try await otto.ctl(["task", "run-now", "inbox"])
            #expect(runNow.status == 0, "\(runNow.stderr)")
            #expect(runNow.stdout.contains("inbox: due now"))
            runs = try await otto.runs("inbox", count: 2)
            #expect(runs[0].modelRef == "openai/gpt-5")
            #expect(runs[0].modelSource == .flowDefault)
            #expect(otto.server.standIn.receivedPrompts.last?.modelID == "gpt-5")

            #expect(
                try await otto.ctl(["task", "set-model", "inbox", "nano-gpt/NousResearch 2/hermes-4-405b"]).status == 0)
            _ = try await otto.ctl(["task", "run-now", "inbox"])
            runs = try await otto.runs("inbox", count: 3)
            #expect(runs[0].modelRef == "nano-gpt/NousResearch 2/hermes-4-405b")
            #expect(runs[0].modelSource == .job)

            let shown = try await otto.ctl(["task", "runs", "inbox"])
            #expect(shown.status == 0, "\(shown.stderr)")
            let lines = shown.stdout.split(separator: "\n")
            #expect(lines.count == 3)
            #expect(lines[0].contains("success  nano-gpt/NousResearch 2/hermes-4-405b (job)"))
            #expect(lines[1].contains("success  openai/gpt-5 (flow_default)"))
            #expect(lines[2].contains("success  anthropic/claude-opus-4-7 (global_default)"))
            let json = try await otto.ctl(["task", "runs", "inbox", "--limit", "1", "--json"])
            let page = try JSONDecoder().decode(JobRunsResponse.self, from: Data(json.stdout.utf8))
            #expect(page.runs.map(\.id) == [runs[0].id])
            #expect(page.total == 3)
            let missing = try await otto.ctl(["task", "runs", "ghost"])
            #expect(missing.status == 1)
            #expect(missing.stderr == "ottoctl: no job with id \"ghost\"\n")
        }
    }

    @Test(arguments: openCodeProtocols) func theHeartbeatAndWatchdogRunOnTheirFlowsModels(protocolVersion: Int)
        async throws
    {
        try await LiveOtto.run(config: "{\(Self.fastScheduler)}", protocolVersion: protocolVersion) { otto in
            #expect(try await otto.ctl(["model", "defaults", "set", "heartbeat", "openai/gpt-5"]).status == 0)
            #expect(
                try await otto.ctl([
                    "model", "defaults", "set", "watchdogFailures", "nano-gpt/NousResearch 2/hermes-4-405b",
                ]).status == 0)
            _ = try await otto.api(
                "/external/jobs", method: "POST",
                body: #"{"id": "mute", "type": "report", "scheduleType": "oneshot", "runAt": 0}"#)
            #expect(try await otto.runs("mute", count: 1)[0].errorCode == "no_prompt")

            _ = try await otto.ctl(["task", "run-now", "system-heartbeat"])
            let heartbeat = try await otto.runs("system-heartbeat", count: 1)[0]
            #expect(heartbeat.status == .success)
            #expect(heartbeat.modelRef == "openai/gpt-5")
            #expect(heartbeat.modelSource == .flowDefault)

            _ = try await otto.ctl(["task", "run-now", "system-watchdog-failures"])
            let watchdog = try await otto.runs("system-watchdog-failures", count: 1)[0]
            #expect(watchdog.status == .success)
            #expect(watchdog.modelRef == "nano-gpt/NousResearch 2/hermes-4-405b")
            #expect(otto.server.standIn.receivedPrompts.last?.text.contains("job mute") == true)

            // Still read-only otherwise.
            let patch = try await otto.ctl(["task", "set-model", "system-heartbeat", "inherit"])
            #expect(patch.status == 1)
            #expect(patch.stderr.contains("managed by Otto itself"))
        }
    }

    @Test(arguments: openCodeProtocols) func ottoctlAskAnswersOnTheAssistantsModel(protocolVersion: Int) async throws {
        try await LiveOtto.run(protocolVersion: protocolVersion) { otto in
            #expect(
                try await otto.ctl(["model", "defaults", "set", "interactiveAssistant", "openai/gpt-5"]).status == 0)
            let first = try await otto.ctl(["ask", "What is on today?"])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout == "stand-in reply from openai/gpt-5\nprompt: What is on today?\n")
            let note = try #require(first.stderr.split(separator: "\n").last.map(String.init))
            #expect(note.hasPrefix("model openai/gpt-5 (flow_default), answered by openai/gpt-5, session "))
            let session = String(note.split(separator: " ").last ?? "")

            let json = try await otto.ctl(["ask", "--session", session, "--json", "And tomorrow?"])
            let reply = try JSONDecoder().decode(AssistantMessageResponse.self, from: Data(json.stdout.utf8))
            #expect(reply.sessionId == session)
            #expect(reply.model.ref == "openai/gpt-5")

            var environment = otto.home.environment(apiPort: nil)
            environment["OTTO_EXTERNAL_API_URL"] = otto.url
            let piped = try await ChildProcess.run(
                "/bin/bash",
                arguments: ["-c", "printf 'from a pipe' | \"$0\" ask -", BuiltProducts.executable("ottoctl")],
                environment: environment)
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(piped.stdout.contains("prompt: from a pipe"))

            let empty = try await otto.ctl(["ask", " "])
            #expect(empty.status == 64)
            let unknown = try await otto.ctl(["ask", "--session", "ses_nobody", "hello"])
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("OpenCode has no session \"ses_nobody\""))
        }
    }

    @Test(arguments: openCodeProtocols) func killDashNineMidRunIsRecoveredAtTheNextStart(protocolVersion: Int)
        async throws
    {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig("{\(Self.fastScheduler)}")
        try await withStandInOpenCode(fixtureStandIn(protocolVersion: protocolVersion)) { server in
            let first = try await RunningOtto.start(home: home, openCode: server.baseURL)
            _ = try await first.api(
                "/external/jobs", method: "POST",
                body:
                    #"{"id": "daily", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 60, "payload": {"prompt": "[[hang]]"}}"#
            )
            _ = try await first.api(
                "/external/jobs", method: "POST",
                body:
                    #"{"id": "once", "type": "report", "scheduleType": "oneshot", "runAt": 0, "payload": {"prompt": "[[hang]]"}}"#
            )
            for _ in 0..<200 where server.standIn.receivedPrompts.count < 2 {
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(server.standIn.receivedPrompts.count == 2)
            first.child.signal(SIGKILL)
            _ = await first.child.waitForExit()
            // The 1 s leases lapse; the next start takes them back.
            try await Task.sleep(for: .milliseconds(1_200))

            let second = try await RunningOtto.start(home: home, openCode: server.baseURL)
            defer { second.child.signal(SIGTERM) }
            for id in ["daily", "once"] {
                let runs = try await second.runs(id)
                #expect(runs.count == 1)
                #expect(runs.first?.status == .failed)
                #expect(runs.first?.errorCode == "interrupted")
                #expect(runs.first?.finishedAt != nil)
            }
            let daily = try await second.job("daily")
            #expect(daily.status == .idle)
            #expect(daily.nextRunAt! > Self.now, "the interrupted slot is not retried at once")
            let once = try await second.job("once")
            #expect(once.status == .idle)
            #expect(once.terminalState == .failed)
            #expect(once.terminalReason?.contains("interrupted") == true)
            #expect(second.child.stderr.contains("took back an interrupted run"))
            #expect(server.standIn.receivedPrompts.count == 2, "neither ran again")
            // The prompts the dead process left running in OpenCode are aborted, by the sessions the runs recorded.
            let sessions = Set(
                [try await second.runs("daily"), try await second.runs("once")].compactMap {
                    $0.first?.sessionId
                })
            #expect(sessions.count == 2)
            for _ in 0..<200 where !sessions.isSubset(of: Set(server.standIn.abortedSessions)) {
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(
                sessions.isSubset(of: Set(server.standIn.abortedSessions)),
                "\(server.standIn.abortedSessions) \(second.child.stderr)")
        }
    }

    @Test func twoOttoProcessesOnOneDatabaseRunEachSlotOnce() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(
            #"{"scheduler": {"tickSeconds": 1, "leaseSeconds": 2, "maxConcurrentRuns": 2}, "heartbeat": {"enabled": false}, "watchdog": {"enabled": false}}"#
        )
        try await withStandInOpenCode { server in
            let a = try await RunningOtto.start(home: home, openCode: server.baseURL)
            defer { a.child.signal(SIGTERM) }
            let b = try await RunningOtto.start(home: home, openCode: server.baseURL)
            defer { b.child.signal(SIGTERM) }
            let due = Self.now + 1_500
            let ids = (0..<12).map { "job-\($0)" }
            for (index, id) in ids.enumerated() {
                let schedule =
                    index % 2 == 0
                    ? #""scheduleType": "oneshot""# : #""scheduleType": "recurring", "cadenceMinutes": 60"#
                _ = try await (index % 2 == 0 ? a : b).api(
                    "/external/jobs", method: "POST",
                    body:
                        #"{"id": "\#(id)", "type": "report", \#(schedule), "runAt": \#(due), "payload": {"prompt": "[[sleep:200]] \#(id)"}}"#
                )
            }
            for id in ids { _ = try await a.runs(id, count: 1) }
            try await Task.sleep(for: .seconds(1))
            var total = 0
            for id in ids {
                let runs = try await b.runs(id)
                #expect(runs.count == 1, "\(id) ran \(runs.count) times")
                #expect(runs.allSatisfy { $0.status == .success })
                total += runs.count
            }
            #expect(total == 12)
            let prompts = server.standIn.receivedPrompts
            #expect(prompts.count == 12)
            #expect(Set(prompts.map(\.text)).count == 12, "every slot was prompted exactly once")
            let started = [a, b].map { $0.child.stderr.components(separatedBy: "msg=\"run started\"").count - 1 }
            #expect(started.reduce(0, +) == 12, "runs started per process: \(started)")
        }
    }
}

/// An `otto serve` child process and its API.
struct RunningOtto: Sendable {
    let child: ChildProcess
    let home: TemporaryHome
    let url: String

    /// `otto serve`, under a hard and soft limit of `descriptorLimit` open files when one is given (prlimit sets
    /// it and execs otto, so the child's pid is otto's).
    static func start(home: TemporaryHome, openCode: String, descriptorLimit: Int? = nil) async throws -> RunningOtto {
        let otto = BuiltProducts.executable("otto")
        let environment = home.environment(openCode: openCode)
        let child =
            if let descriptorLimit {
                try ChildProcess(
                    "/usr/bin/prlimit", arguments: ["--nofile=\(descriptorLimit):\(descriptorLimit)", otto, "serve"],
                    environment: environment)
            } else {
                try ChildProcess(otto, arguments: ["serve"], environment: environment)
            }
        #expect(await child.waitForOutput("msg=\"otto is running\""), "\(child.stderr)")
        let line = child.stderr.split(separator: "\n").first { $0.contains("otto is running") } ?? ""
        let url = line.split(separator: " ").first { $0.hasPrefix("externalApi=") }.map { String($0.dropFirst(12)) }
        return RunningOtto(child: child, home: home, url: url ?? "")
    }

    var token: String {
        (try? String(contentsOfFile: home.tokenPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            ?? ""
    }

    func api(_ path: String, method: String = "GET", body: String? = nil) async throws -> Data {
        try await curl(url: url, token: token, path, method: method, body: body)
    }

    func runs(_ id: String, count: Int = 0) async throws -> [JobRun] {
        try await waitForRuns(count: count) {
            try JSONDecoder().decode(JobRunsResponse.self, from: try await api("/external/jobs/\(id)/runs?limit=200"))
                .runs
        }
    }

    func job(_ id: String) async throws -> JobBody {
        try JSONDecoder().decode(JobResponse.self, from: try await api("/external/jobs/\(id)")).job
    }
}

extension LiveOtto {
    /// The job's runs, newest first, once at least `count` of them have finished.
    func runs(_ id: String, count: Int) async throws -> [JobRun] {
        try await waitForRuns(count: count) {
            try JSONDecoder().decode(JobRunsResponse.self, from: try await api("/external/jobs/\(id)/runs?limit=200"))
                .runs
        }
    }
}

/// Polls `fetch` until at least `count` runs have finished (and the newest has), for up to 15 s.
func waitForRuns(count: Int, _ fetch: () async throws -> [JobRun]) async throws -> [JobRun] {
    let deadline = ContinuousClock.now + .seconds(15)
    var runs: [JobRun] = []
    repeat {
        runs = try await fetch()
        if runs.filter({ $0.finishedAt != nil }).count >= count, runs.first?.finishedAt != nil || count == 0 {
            return runs
        }
        try await Task.sleep(for: .milliseconds(50))
    } while ContinuousClock.now < deadline
    Issue.record("\(runs.filter { $0.finishedAt != nil }.count) finished runs, not \(count), after 15 s")
    return runs
}

/// One API request with curl, as an operator's script would make it.
func curl(url: String, token: String, _ path: String, method: String, body: String?) async throws -> Data {
    let result = try await ChildProcess.run(
        "/usr/bin/env",
        arguments: [
            "curl", "-s", "-X", method, "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json",
        ] + (body.map { ["-d", $0] } ?? []) + [url + path],
        environment: ProcessInfo.processInfo.environment)
    return Data(result.stdout.utf8)
}

/// Config files kept elsewhere and linked into place.
@Suite struct ConfigFileTests {
    @Test func aSymlinkedConfigStaysALinkAndItsTargetGetsTheChange() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let dotfiles = home.path + "/dotfiles"
        try FileManager.default.createDirectory(atPath: dotfiles, withIntermediateDirectories: true)
        let target = dotfiles + "/otto.jsonc"
        try #"{"heartbeat": {"enabled": false}, "watchdog": {"enabled": false}} // mine"#.write(
            toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(
            atPath: (home.configPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: home.configPath, withDestinationPath: target)
        try await withStandInOpenCode { server in
            let otto = try await RunningOtto.start(home: home, openCode: server.baseURL)
            defer { otto.child.signal(SIGTERM) }
            var environment = home.environment(apiPort: nil)
            environment["OTTO_EXTERNAL_API_URL"] = otto.url
            let set = try await ChildProcess.run(
                BuiltProducts.executable("ottoctl"),
                arguments: ["model", "defaults", "set", "heartbeat", "openai/gpt-5"],
                environment: environment)
            #expect(set.status == 0, "\(set.stderr)")
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: home.configPath)
            #expect(link == target, "the link is still a link to the dotfile")
            let text = try String(contentsOfFile: target, encoding: .utf8)
            #expect(text.contains(#""heartbeat": "openai/gpt-5""#))
            #expect(text.contains("// mine"))
            let strays = try FileManager.default.contentsOfDirectory(atPath: dotfiles).filter { $0.contains(".tmp-") }
            #expect(strays.isEmpty)
        }
    }
}

/// Switching from the TypeScript Otto with the real binaries.
@Suite struct AdoptionProcessTests {
    /// Which of our tables exist in the database, and the columns of its job_runs.
    static func inspect(_ path: String) throws -> (Set<String>, Set<String>) {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        return try queue.read { db in
            let tables = try Set(String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
            let ours = tables.intersection(["grdb_migrations", "task_audit", "command_audit", "otto_adoption"])
            return (ours, Set(try db.columns(in: "job_runs").map(\.name)))
        }
    }

    @Test func killDashNineDuringAdoptionLeavesTheOriginalAndTheNextStartAdopts() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.installOriginalOttoDatabase()
        try await withStandInOpenCode { server in
            // The test hook holds the adoption transaction open, with all of its writes made.
            let first = try ChildProcess(
                BuiltProducts.executable("otto"), arguments: ["serve"],
                environment: home.environment(openCode: server.baseURL, extra: ["OTTO_TEST_HOLD_ADOPTION_MS": "60000"]))
            let data = home.ottoHome + "/data"
            var backup: String?
            for _ in 0..<200 where backup == nil {
                backup = try FileManager.default.contentsOfDirectory(atPath: data).first {
                    $0.contains(".before-swift-") && !$0.contains(".partial")
                }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(backup != nil, "\(first.stderr)")
            try await Task.sleep(for: .seconds(1))
            first.signal(SIGKILL)
            _ = await first.waitForExit()

            // The original is as it was, byte for byte (the adoption ran in its own journal mode, so nothing of
            // the unfinished transaction reached the file, and the journal mode was not switched to WAL).
            let original = try Data(contentsOf: URL(fileURLWithPath: Fixtures.originalOttoDatabase))
            #expect(try Data(contentsOf: URL(fileURLWithPath: home.stateDatabasePath)) == original)
            let (ours, runColumns) = try Self.inspect(home.stateDatabasePath)
            #expect(ours.isEmpty, "committed: \(ours)")
            #expect(!runColumns.contains("model_ref"))

            let second = try await RunningOtto.start(home: home, openCode: server.baseURL)
            defer { second.child.signal(SIGTERM) }
            #expect(second.child.stderr.contains("msg=\"adopted the TypeScript Otto's state database\""))
            // The first start's backup, already verified, is the one backup of this original.
            let backups = try FileManager.default.contentsOfDirectory(atPath: data).filter {
                $0.contains(".before-swift-")
            }
            #expect(backups == [backup], "\(backups)")
            let list = try await ChildProcess.run(
                BuiltProducts.executable("ottoctl"), arguments: ["task", "list"],
                environment: home.environment(apiPort: nil, extra: ["OTTO_EXTERNAL_API_URL": second.url]))
            #expect(list.status == 0, "\(list.stderr)")
            #expect(list.stdout.contains("b9d179e0-6c0f-44f5-b813-0c4237730edf  reminder"))
            #expect(list.stdout.contains("model nano-gpt/NousResearch 2/hermes-4-405b"))
            #expect(list.stdout.contains("system-daily-eod-learning  eod_learning  paused"))
            let audit = try await ChildProcess.run(
                BuiltProducts.executable("ottoctl"), arguments: ["audit"],
                environment: home.environment(apiPort: nil, extra: ["OTTO_EXTERNAL_API_URL": second.url]))
            #expect(audit.stdout.contains("external_models_refresh  failed  boom"))
        }
    }
}
