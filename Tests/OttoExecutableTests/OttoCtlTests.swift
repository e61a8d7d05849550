import Foundation
import OttoContracts
import OttoCore
import OttoTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A live `otto serve` (subprocess) against the in-process stand-in OpenCode, and the real `ottoctl` binary.
struct LiveOtto: Sendable {
    let home: TemporaryHome
    let server: RunningStandIn
    let url: String
    /// The `otto serve` process (its log is on its stderr).
    let process: ChildProcess

    var token: String {
        (try? String(contentsOfFile: home.tokenPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            ?? ""
    }

    /// Without the heartbeat and watchdog, a fresh Otto has no jobs; tests of those jobs enable them.
    static let quietConfig = #"{"heartbeat": {"enabled": false}, "watchdog": {"enabled": false}}"#

    /// - Parameter config: the config file to start with; nil lets Otto create its default one.
    static func run(
        config: String? = quietConfig, protocolVersion: Int = 1, _ body: @Sendable (LiveOtto) async throws -> Void
    ) async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        if let config { try home.writeConfig(config) }
        try await withStandInOpenCode(fixtureStandIn(protocolVersion: protocolVersion)) { server in
            let otto = try ChildProcess(
                BuiltProducts.executable("otto"), environment: home.environment(openCode: server.baseURL))
            defer {
                otto.signal(SIGTERM)
            }
            #expect(await otto.waitForOutput("msg=\"otto is running\""), "\(otto.stderr)")
            let line = otto.stderr.split(separator: "\n").first { $0.contains("otto is running") } ?? ""
            let url =
                line.split(separator: " ").first { $0.hasPrefix("externalApi=") }.map { String($0.dropFirst(12)) } ?? ""
            try await body(LiveOtto(home: home, server: server, url: url, process: otto))
            otto.signal(SIGTERM)
            _ = await otto.waitForExit()
        }
    }

    /// This Otto's home (so `ottoctl` finds the token) and URL, plus the extra variables.
    private func ctlEnvironment(_ extra: [String: String]) -> [String: String] {
        var environment = home.environment(apiPort: nil)
        environment["OTTO_EXTERNAL_API_URL"] = url
        return environment.merging(extra) { _, new in new }
    }

    /// Runs `ottoctl` with this Otto's home and URL.
    func ctl(_ arguments: [String], extra: [String: String] = [:]) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        let result = try await ChildProcess.run(
            BuiltProducts.executable("ottoctl"), arguments: arguments, environment: ctlEnvironment(extra))
        #expect(!result.stdout.contains(token) && !result.stderr.contains(token), "ottoctl printed the token")
        return result
    }

    /// Runs `ottoctl` on a pseudo-terminal (util-linux `script`), as an operator at a terminal does; returns what
    /// the terminal showed, stdout and stderr together.
    func ctlOnTerminal(_ arguments: [String], extra: [String: String] = [:]) async throws -> String {
        let environment = ctlEnvironment(["TERM": "xterm"].merging(extra) { _, new in new })
        let command = ([BuiltProducts.executable("ottoctl")] + arguments)
            .map { "'" + $0.replacingOccurrences(of: "'", with: #"'\''"#) + "'" }
            .joined(separator: " ")
        let result = try await ChildProcess.run(
            "/usr/bin/script", arguments: ["-qec", command, "/dev/null"], environment: environment)
        return result.stdout
    }

    /// The API's own answer, for comparing with `--json`.
    func api(_ path: String, method: String = "GET", body: String? = nil) async throws -> Data {
        let result = try await ChildProcess.run(
            "/usr/bin/env",
            arguments: [
                "curl", "-s", "-X", method, "-H", "Authorization: Bearer \(token)", "-H",
                "Content-Type: application/json",
            ]
                + (body.map { ["-d", $0] } ?? []) + [url + path],
            environment: ProcessInfo.processInfo.environment
        )
        return Data(result.stdout.utf8)
    }
}

@Suite struct OttoCtlTests {
    @Test func modelListPrintsTheCatalogAndItsJSON() async throws {
        try await LiveOtto.run { otto in
            let list = try await otto.ctl(["model", "list"])
            #expect(list.status == 0, "\(list.stderr)")
            let lines = list.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("4803 models, from network, refreshed ") == true)
            #expect(lines.first?.hasSuffix("(just now)") == true)
            #expect(Array(lines.dropFirst()) == Fixtures.expectedRefs)

            let nano = try await otto.ctl(["model", "list", "--provider", "nano-gpt"])
            let nanoLines = nano.stdout.split(separator: "\n").dropFirst()
            #expect(nanoLines.count == 525)
            #expect(nanoLines.allSatisfy { $0.hasPrefix("nano-gpt/") })
            #expect(nanoLines.contains("nano-gpt/NousResearch 2/hermes-4-405b"))

            // A reader that stops early (`| head`) ends ottoctl quietly, not with a crash.
            var pipeEnvironment = otto.home.environment(apiPort: nil)
            pipeEnvironment["OTTO_EXTERNAL_API_URL"] = otto.url
            let piped = try await ChildProcess.run(
                "/bin/bash",
                arguments: [
                    "-o", "pipefail", "-c", "\"$0\" model list | head -n 2", BuiltProducts.executable("ottoctl"),
                ],
                environment: pipeEnvironment
            )
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(piped.stdout.split(separator: "\n").count == 2)
            #expect(!piped.stderr.contains("Fatal error"))

            let json = try await otto.ctl(["model", "list", "--json"])
            let parsed = try JSONDecoder().decode(CatalogResponse.self, from: Data(json.stdout.utf8))
            let direct = try JSONDecoder().decode(
                CatalogResponse.self, from: try await otto.api("/external/models/catalog"))
            #expect(parsed == direct)
        }
    }

    @Test func defaultsShowAndSetWithInheritAndJSON() async throws {
        try await LiveOtto.run { otto in
            let set = try await otto.ctl([
                "model", "defaults", "set", "heartbeat", "nano-gpt/NousResearch 2/hermes-4-405b",
            ])
            #expect(set.status == 0, "\(set.stderr)")
            #expect(set.stdout.contains("heartbeat             nano-gpt/NousResearch 2/hermes-4-405b"))
            let show = try await otto.ctl(["model", "defaults", "show"])
            let flowColumn: [String] = show.stdout.split(separator: "\n").map { line in
                String(line.prefix { $0 != " " })
            }
            #expect(flowColumn == ["interactiveAssistant", "scheduledTasks", "heartbeat", "watchdogFailures"])
            #expect(show.stdout.contains("interactiveAssistant  inherit"))
            #expect(try otto.home.readConfig().contains("\"heartbeat\": \"nano-gpt/NousResearch 2/hermes-4-405b\""))

            let back = try await otto.ctl(["model", "defaults", "set", "heartbeat", "inherit", "--json"])
            let body = try JSONDecoder().decode(FlowDefaultsBody.self, from: Data(back.stdout.utf8))
            #expect(body.flowDefaults == FlowDefaults())
            let json = try await otto.ctl(["model", "defaults", "show", "--json"])
            #expect(try JSONDecoder().decode(FlowDefaultsBody.self, from: Data(json.stdout.utf8)) == body)
        }
    }

    @Test func fourConcurrentSetsOnFourFlowsAllSurvive() async throws {
        try await LiveOtto.run { otto in
            let choices: [(String, String)] = [
                ("interactiveAssistant", "openai/gpt-5"), ("scheduledTasks", "openai/gpt-4o"),
                ("heartbeat", "anthropic/claude-opus-4-7"),
                ("watchdogFailures", "nano-gpt/NousResearch 2/hermes-4-405b"),
            ]
            let statuses = try await withThrowingTaskGroup(of: Int32.self) { group in
                for (flow, model) in choices {
                    group.addTask { try await otto.ctl(["model", "defaults", "set", flow, model]).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == [0, 0, 0, 0])
            let body = try JSONDecoder().decode(
                FlowDefaultsBody.self, from: try await otto.api("/external/models/defaults"))
            for (flow, model) in choices {
                #expect(body.flowDefaults[try RuntimeModelFlow(parsing: flow)]?.description == model)
            }
        }
    }

    @Test func invalidInputIsRejectedBeforeAnyRequestWithStatus64() async throws {
        try await LiveOtto.run { otto in
            let flow = try await otto.ctl(["model", "defaults", "set", "heartbeet", "openai/gpt-5"])
            #expect(flow.status == 64)
            #expect(
                flow.stderr.contains(
                    "unknown flow \"heartbeet\"; expected one of interactiveAssistant, scheduledTasks, heartbeat, watchdogFailures"
                ))
            let model = try await otto.ctl(["model", "defaults", "set", "heartbeat", "gpt-5"])
            #expect(model.status == 64)
            #expect(model.stderr.contains("expected \"provider/model\""))
            let taskModel = try await otto.ctl(["task", "set-model", "x", "/gpt"])
            #expect(taskModel.status == 64)
            let unknown = try await otto.ctl(["model", "defaults", "set", "heartbeat", "openai/gpt-6"])
            #expect(unknown.status == 64)
            #expect(unknown.stderr.contains("closest matches: openai/"))
            // Nothing was sent for the locally rejected ones: the audit holds only the server-side rejection.
            let audit = try JSONDecoder().decode(CommandAuditResponse.self, from: try await otto.api("/external/audit"))
            #expect(audit.entries.count == 1)
        }
    }

    @Test func taskCommandsShowAndChangeTheModel() async throws {
        try await LiveOtto.run { otto in
            _ = try await otto.api(
                "/external/jobs",
                method: "POST",
                body: #"{"id": "inbox", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 60}"#
            )
            let set = try await otto.ctl(["task", "set-model", "inbox", "openai/gpt-5"])
            #expect(set.status == 0, "\(set.stderr)")
            #expect(set.stdout == "inbox: modelRef openai/gpt-5\neffective model: openai/gpt-5 (job)\n")
            let job = try JSONDecoder().decode(JobResponse.self, from: try await otto.api("/external/jobs/inbox")).job
            #expect(job.modelRef == "openai/gpt-5")

            let inherit = try await otto.ctl(["task", "set-model", "inbox", "inherit"])
            #expect(inherit.stdout.contains("inbox: modelRef inherit"))
            #expect(inherit.stdout.contains("(global_default)"))

            let list = try await otto.ctl(["task", "list"])
            #expect(
                list.stdout.contains(
                    "inbox  report  idle  model inherit  runs on anthropic/claude-opus-4-7 (global_default)"))
            let listJSON = try await otto.ctl(["task", "list", "--json"])
            let direct = try JSONDecoder().decode(JobListResponse.self, from: try await otto.api("/external/jobs"))
            #expect(try JSONDecoder().decode(JobListResponse.self, from: Data(listJSON.stdout.utf8)) == direct)
            let auditJSON = try await otto.ctl(["audit", "--json", "--command", "external_models_refresh"])
            #expect(
                try JSONDecoder().decode(CommandAuditResponse.self, from: Data(auditJSON.stdout.utf8)).entries.isEmpty)
            let show = try await otto.ctl(["task", "show", "inbox", "--json"])
            #expect(try JSONDecoder().decode(JobResponse.self, from: Data(show.stdout.utf8)).job.id == "inbox")

            let missing = try await otto.ctl(["task", "set-model", "ghost", "openai/gpt-5"])
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("no job with id \"ghost\""))
        }
    }

    @Test func systemTasksAreRefused() async throws {
        try await LiveOtto.run { otto in
            // Otto's own jobs cannot be created through the API; put one in the state database as Otto would.
            let database = try AppDatabase.open(path: otto.home.stateDatabasePath)
            struct NoCatalog: CatalogSnapshotProviding, FlowDefaultsProviding {
                var snapshot: ModelCatalogSnapshot { .empty }
                func flowDefault(for flow: RuntimeModelFlow) -> ModelRef? { nil }
            }
            let jobs = JobsService(
                database: database,
                resolver: ModelResolver(
                    catalog: NoCatalog(), flowDefaults: NoCatalog(), logger: CapturedLogs().logger()),
                catalog: NoCatalog())
            try await jobs.ensureSystemJob(
                Job(
                    id: "system-heartbeat", type: "heartbeat", scheduleType: .recurring, cadenceMinutes: 5,
                    createdAt: 1, updatedAt: 1)
            )
            let set = try await otto.ctl(["task", "set-model", "system-heartbeat", "openai/gpt-5"])
            #expect(set.status == 1)
            #expect(set.stderr.contains("job \"system-heartbeat\" is managed by Otto itself and is read-only"))
            let show = try await otto.ctl(["task", "show", "system-heartbeat"])
            #expect(show.stdout.contains("managed by      system (read-only)"))
            #expect(try await database.job(id: "system-heartbeat")?.modelRef == nil)
        }
    }

    @Test func taskIdsWithURLCharactersAndFutureRunTimes() async throws {
        try await LiveOtto.run { otto in
            let id = "weekly/report ü&x=1?#%"
            let runAt = Int64(Date().timeIntervalSince1970 * 1000) + (2 * 3_600 + 300) * 1000
            _ = try await otto.api(
                "/external/jobs", method: "POST",
                body: #"{"id": \#(jsonQuoted(id)), "type": "report", "scheduleType": "oneshot", "runAt": \#(runAt)}"#)

            let show = try await otto.ctl(["task", "show", id])
            #expect(show.status == 0, "\(show.stderr)")
            #expect(show.stdout.contains("id              \(id)\n"))
            #expect(show.stdout.contains("(in 2 h)\n"), "a run still to come is not \"ago\": \(show.stdout)")
            let set = try await otto.ctl(["task", "set-model", id, "openai/gpt-5"])
            #expect(set.stdout.hasPrefix("\(id): modelRef openai/gpt-5\n"), "\(set.stderr)")
        }
    }

    @Test func colourOnlyOnATerminalAndNeverWithNoColor() async throws {
        try await LiveOtto.run { otto in
            let escape = "\u{1B}["
            let piped = try await otto.ctl(["model", "defaults", "show"])
            #expect(
                piped.stdout.contains(
                    "heartbeat             inherit (anthropic/claude-opus-4-7, OpenCode's global default)\n"))
            #expect(!piped.stdout.contains(escape))

            let terminal = try await otto.ctlOnTerminal(["model", "defaults", "show"])
            #expect(
                terminal.contains(
                    "heartbeat             \(escape)2minherit\(escape)0m\(escape)2m (anthropic/claude-opus-4-7, OpenCode's global default)\(escape)0m"
                ),
                "\(terminal)")
            let error = try await otto.ctlOnTerminal(["task", "show", "ghost"])
            #expect(error.contains("\(escape)31mottoctl:\(escape)0m no job with id \"ghost\""), "\(error)")

            for extra in [["NO_COLOR": "1"], ["TERM": "dumb"]] {
                let plain = try await otto.ctlOnTerminal(["model", "defaults", "show"], extra: extra)
                #expect(plain.contains("heartbeat             inherit"), "\(plain)")
                #expect(!plain.contains(escape), "\(extra)")
            }
        }
    }

    @Test func refreshWarnsAboutVanishedModels() async throws {
        try await LiveOtto.run { otto in
            _ = try await otto.ctl(["model", "defaults", "set", "heartbeat", "openai/gpt-5"])
            _ = try await otto.api(
                "/external/jobs",
                method: "POST",
                body:
                    #"{"id": "nightly", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 60, "modelRef": "openai/gpt-4o"}"#
            )
            otto.server.standIn.setProvidersBody(Fixtures.providersBody(["anthropic": ["claude-opus-4-7"]]))
            let refresh = try await otto.ctl(["model", "refresh"])
            #expect(refresh.status == 0, "\(refresh.stderr)")
            #expect(refresh.stdout.hasPrefix("refreshed: 1 models, "))
            #expect(
                refresh.stderr.contains(
                    "warning: flow heartbeat is set to openai/gpt-5, which is no longer in the catalog; it will run on anthropic/claude-opus-4-7"
                ))
            #expect(
                refresh.stderr.contains("warning: job nightly: its model openai/gpt-4o is no longer in the catalog"))

            otto.server.standIn.mode = .failing(status: 503)
            let down = try await otto.ctl(["model", "refresh"])
            #expect(down.status == 1)
            #expect(down.stderr.contains("answered HTTP 503"))
        }
    }

    @Test func connectionAndTokenErrorsSayWhatToDo() async throws {
        try await LiveOtto.run { otto in
            let unreachable = try await otto.ctl(["model", "list", "--url", "http://127.0.0.1:\(closedLoopbackPort())"])
            #expect(unreachable.status == 1)
            #expect(unreachable.stderr.contains("connection refused; is `otto serve` running there?"))

            let wrong = try await otto.ctl(["model", "list"], extra: ["OTTO_EXTERNAL_API_TOKEN": "wrong"])
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("rejected the token from environment variable OTTO_EXTERNAL_API_TOKEN"))

            let missing = try await otto.ctl(["model", "list", "--token-file", "/nonexistent/token"])
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("no API token file at /nonexistent/token"))

            let verbose = try await otto.ctl(["model", "defaults", "show", "--verbose"])
            #expect(verbose.stderr.contains("> GET \(otto.url)/external/models/defaults"))
            #expect(verbose.stderr.contains("< 200"))

            let audit = try await otto.ctl(["audit", "--limit", "5"])
            #expect(audit.status == 0)
            #expect(try await otto.ctl(["audit", "--limit", "0"]).status == 64)
        }
    }
}
