import Foundation
import OttoContracts
import OttoTestSupport
import Testing

/// Issue 16's "done when", with every part a real process: the `opencode-standin` binary in either protocol, with a
/// password and with or without a default model; `otto serve`; `ottoctl`.
@Suite struct RealOpenCodeProcessTests {
    static let config =
        #"{"scheduler": {"tickSeconds": 1, "leaseSeconds": 5, "runTimeoutSeconds": 30}, "heartbeat": {"enabled": false}, "watchdog": {"enabled": false}}"#

    @Test(arguments: [(1, false), (1, true), (2, false), (2, true)])
    func ottoServesEitherProtocolWithAPasswordAndWithOrWithoutADefaultModel(protocolVersion: Int, stock: Bool)
        async throws
    {
        let password = "pw-\(UUID().uuidString.prefix(12))"
        let standIn = try ChildProcess(
            BuiltProducts.executable("opencode-standin"),
            arguments: [
                "--port", "0", "--fixture", Fixtures.openCodeDirectory, "--protocol", "\(protocolVersion)",
                "--password", password,
            ] + (stock ? ["--no-default-model"] : []),
            environment: ProcessInfo.processInfo.environment)
        defer { standIn.signal(SIGTERM) }
        #expect(await standIn.waitForOutput("listening on http://127.0.0.1:"), "\(standIn.stderr)")
        let line = standIn.stdout.split(separator: "\n").first { $0.contains("listening on") } ?? ""
        let openCode = String(line.split(separator: " ").last ?? "")
        let version = protocolVersion == 2 ? "2.1.2" : "1.1.53"

        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(Self.config)

        // A wrong password: one clear line, exit 1, the password nowhere.
        let wrongPassword = "wrong-\(password)"
        let wrong = try await ChildProcess.run(
            BuiltProducts.executable("otto"), arguments: ["serve"],
            environment: home.environment(openCode: openCode, extra: ["OTTO_OPENCODE_PASSWORD": wrongPassword]))
        #expect(wrong.status == 1)
        #expect(
            wrong.stderr.split(separator: "\n").last?.contains(
                "OpenCode at \(openCode) refused Otto's credentials (HTTP 401): set opencode.passwordFile or OTTO_OPENCODE_PASSWORD"
            ) == true, "\(wrong.stderr)")
        #expect(!wrong.stderr.contains(wrongPassword))

        let otto = try ChildProcess(
            BuiltProducts.executable("otto"), arguments: ["serve"],
            environment: home.environment(openCode: openCode, extra: ["OTTO_OPENCODE_PASSWORD": password]))
        defer { otto.signal(SIGTERM) }
        #expect(await otto.waitForOutput("msg=\"otto is running\""), "\(otto.stderr)")
        #expect(otto.stderr.contains("OpenCode \(version) at \(openCode) (protocol \(protocolVersion))"))
        let running = otto.stderr.split(separator: "\n").first { $0.contains("otto is running") } ?? ""
        let url = running.split(separator: " ").first { $0.hasPrefix("externalApi=") }.map { String($0.dropFirst(12)) }
        var environment = home.environment(apiPort: nil)
        environment["OTTO_EXTERNAL_API_URL"] = url ?? ""
        func ctl(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await ChildProcess.run(
                BuiltProducts.executable("ottoctl"), arguments: arguments, environment: environment)
        }

        let list = try await ctl(["model", "list"])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("openai/gpt-5\n"))
        let defaults = try await ctl(["model", "defaults", "show"])
        #expect(
            defaults.stdout.contains(
                stock
                    ? "scheduledTasks        inherit (chosen by OpenCode)"
                    : "(anthropic/claude-opus-4-7, OpenCode's global default)"),
            "\(defaults.stdout)")

        // A job that hits a permission request mid-run: refused, recorded, and the run answers.
        let token = try String(contentsOfFile: home.tokenPath, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        let job =
            #"{"id": "check", "type": "report", "scheduleType": "oneshot", "runAt": 0, "payload": {"prompt": "[[permission]] check my notes"}}"#
        let created = try await ChildProcess.run(
            "/usr/bin/env",
            arguments: [
                "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H",
                "Authorization: Bearer \(token)",
                "-H", "Content-Type: application/json", "-d", job, (url ?? "") + "/external/jobs",
            ], environment: ProcessInfo.processInfo.environment)
        #expect(created.stdout == "201", "\(created.stdout) \(created.stderr)")
        var run: JobRun?
        for _ in 0..<150 {
            let runs = try await ctl(["task", "runs", "check", "--json"])
            struct Runs: Decodable { let runs: [JobRun] }
            run = (try? JSONDecoder().decode(Runs.self, from: Data(runs.stdout.utf8)))?.runs.first {
                $0.finishedAt != nil
            }
            if run != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let finished = try #require(run, "the run did not finish")
        #expect(finished.status == .success, "\(finished.errorMessage ?? "")")
        #expect(finished.modelRef == (stock ? nil : "anthropic/claude-opus-4-7"))
        #expect(finished.modelSource == (stock ? .openCodeDefault : .globalDefault))
        #expect(finished.answeredBy != nil)
        #expect(
            finished.result?["refused"]
                == .array([.object(["kind": .string("permission"), "what": .string("edit notes.txt")])]))
        let runs = try await ctl(["task", "runs", "check"])
        #expect(
            runs.stdout.contains(
                stock ? "chosen by OpenCode (opencode_default)" : "anthropic/claude-opus-4-7 (global_default)"))
        if stock { #expect(runs.stdout.contains("answered by \(finished.answeredBy?.description ?? "?")")) }

        let ask = try await ctl(["ask", "What is on today?"])
        #expect(ask.status == 0, "\(ask.stderr)")
        #expect(ask.stdout.hasPrefix("stand-in reply from "))
        #expect(ask.stderr.contains("answered by "))

        otto.signal(SIGTERM)
        #expect(await otto.waitForExit() == 0)
        for output in [otto.stderr, otto.stdout, list.stdout, defaults.stdout, runs.stdout, ask.stdout, ask.stderr] {
            #expect(!output.contains(password), "the password reached an output")
        }
    }
}
