import Foundation
import OttoContracts
import OttoTestSupport
import Testing

@testable import OttoCore

/// ottoctl against hostile or careless input: ports out of range, over-long arguments, ids that hold terminal
/// escape sequences.
@Suite struct OttoCtlHardeningTests {
    @Test(arguments: ["http://127.0.0.1:99999", "http://127.0.0.1:0", "http://127.0.0.1:123456789012345678901234"])
    func aPortOutOfRangeIsInvalidInputNotACrash(url: String) async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let viaOption = try await ChildProcess.run(
            BuiltProducts.executable("ottoctl"), arguments: ["model", "list", "--url", url],
            environment: home.environment(apiPort: nil))
        #expect(viaOption.status == 64, "\(viaOption.stderr)")
        #expect(viaOption.stderr.contains("invalid API URL"))
        #expect(viaOption.stderr.contains("65535"))
        let viaEnvironment = try await ChildProcess.run(
            BuiltProducts.executable("ottoctl"), arguments: ["model", "list"],
            environment: home.environment(apiPort: nil, extra: ["OTTO_EXTERNAL_API_URL": url]))
        #expect(viaEnvironment.status == 64, "\(viaEnvironment.stderr)")
        #expect(viaEnvironment.stderr.contains("from OTTO_EXTERNAL_API_URL"))
    }

    @Test(arguments: ["99999999999999999999", "1e300", "65535.5", "-1", "0", "\"4190x\""])
    func aPortInTheConfigThatIsNoPortIsInvalidInputNotACrash(port: String) async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        // This crashed ottoctl with SIGILL ("Double value cannot be converted to Int").
        try home.writeConfig(#"{"externalApi": {"port": \#(port)}}"#)
        let result = try await ChildProcess.run(
            BuiltProducts.executable("ottoctl"), arguments: ["model", "list"],
            environment: home.environment(apiPort: nil))
        #expect(result.status == 64, "\(port): \(result.stderr)")
        #expect(result.stderr.contains("invalid API port"))
        #expect(result.stderr.contains("externalApi.port in \(home.configPath)"))
    }

    @Test func overLongArgumentsAreInvalidInput() async throws {
        try await LiveOtto.run { otto in
            let long = String(repeating: "x", count: 100_000)
            for arguments in [
                ["task", "show", long], ["task", "runs", long], ["task", "run-now", long],
                ["task", "set-model", long, "inherit"], ["audit", "--command", long],
                ["ask", "--session", String(repeating: "s", count: 200), "hello"],
            ] {
                let result = try await otto.ctl(arguments)
                #expect(result.status == 64, "\(arguments.prefix(2)): \(result.stderr.prefix(200))")
                #expect(result.stderr.contains("bytes long; at most"))
                #expect(result.stderr.count < 1_000, "the argument is not echoed")
            }
        }
    }

    @Test func controlCharactersInIdsAreShownEscapedAndRefusedInNewJobs() async throws {
        try await LiveOtto.run { otto in
            // A row the API would refuse today, as an adopted or older database may hold.
            let hostile = "esc\u{1B}[2J\u{1B}]0;pwned\u{07}"
            let database = try AppDatabase.open(path: otto.home.stateDatabasePath)
            try await database.createJob(
                Job(
                    id: hostile, type: "re\u{1B}[31mport", scheduleType: .recurring, cadenceMinutes: 60,
                    nextRunAt: 4_102_444_800_000, createdAt: 1, updatedAt: 1),
                lane: "test", actor: nil)

            let list = try await otto.ctl(["task", "list"])
            #expect(list.status == 0, "\(list.stderr)")
            #expect(!list.stdout.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{07}" })
            #expect(list.stdout.contains(#"esc\u001b[2J\u001b]0;pwned\u0007"#))
            #expect(list.stdout.contains(#"re\u001b[31mport"#))

            let onTerminal = try await otto.ctlOnTerminal(["task", "list"])
            #expect(onTerminal.contains(#"esc\u001b[2J\u001b]0;pwned\u0007"#))
            #expect(!onTerminal.contains("\u{1B}[2J"))
            #expect(!onTerminal.contains("\u{1B}]0;"))

            // --json stays exact: the id decodes to what is stored.
            let json = try await otto.ctl(["task", "list", "--json"])
            let jobs = try JSONDecoder().decode(JobListResponse.self, from: Data(json.stdout.utf8)).jobs
            #expect(jobs.contains { $0.job.id == hostile })

            // New ids and types with control characters are refused.
            let created = try await otto.api(
                "/external/jobs", method: "POST",
                body: #"{"id": "bell\u0007", "type": "re\u001bport", "scheduleType": "oneshot", "runAt": 1}"#)
            let error = try JSONDecoder().decode(ErrorResponse.self, from: created)
            #expect(error.error == "invalid_request")
            #expect(error.details?.map(\.path) == ["id", "type"])
        }
    }

    @Test func setModelWithJSONPrintsTheJob() async throws {
        try await LiveOtto.run { otto in
            _ = try await otto.api(
                "/external/jobs", method: "POST",
                body:
                    #"{"id": "inbox", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 60, "runAt": 4102444800000}"#
            )
            let set = try await otto.ctl(["task", "set-model", "inbox", "openai/gpt-5", "--json"])
            #expect(set.status == 0, "\(set.stderr)")
            let job = try JSONDecoder().decode(JobResponse.self, from: Data(set.stdout.utf8)).job
            #expect(job.id == "inbox")
            #expect(job.modelRef == "openai/gpt-5")
            #expect(job.effectiveModel.source == .job)
            #expect(Data(set.stdout.utf8) == (try await otto.api("/external/jobs/inbox")) + Data("\n".utf8))
        }
    }
}
