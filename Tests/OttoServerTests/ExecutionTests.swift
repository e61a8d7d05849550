import Foundation
import Hummingbird
import OpenCodeStandIn
import OttoContracts
import OttoCore
import OttoTestSupport
import Testing

/// The scheduler, heartbeat, watchdog and assistant against a real runtime: a real SQLite file, the stand-in
/// OpenCode over loopback, the services running as in `otto serve`, and changes made through the API.
@Suite struct ExecutionTests {
    /// Small values, so runs happen within a test; no heartbeat or watchdog unless a test asks.
    static func config(scheduler: String = "", extra: String = "") -> String {
        """
        {"scheduler": {"tickSeconds": 1, "leaseSeconds": 10, "runTimeoutSeconds": 20\(scheduler)},
         "heartbeat": {"enabled": false}, "watchdog": {"enabled": false}\(extra)}
        """
    }

    static var now: Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    static func job(
        _ id: String, _ schedule: String = #""scheduleType": "oneshot""#, prompt: String? = "summarise my inbox",
        runAt: Int64 = now, modelRef: String? = nil
    ) -> String {
        let payload = prompt.map { #", "payload": {"prompt": \#(jsonQuoted($0))}"# } ?? ""
        let model = modelRef.map { #", "modelRef": "\#($0)""# } ?? ""
        return #"{"id": "\#(id)", "type": "report", \#(schedule), "runAt": \#(runAt)\#(payload)\#(model)}"#
    }

    static func jsonQuoted(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    @Test(arguments: openCodeProtocols) func eachRunUsesTheModelThatJobFlowDefaultAndGlobalDefaultChooseAtThatMoment(
        protocolVersion: Int
    ) async throws {
        let config = Self.config(
            extra: #", "modelManagement": {"flowDefaults": {"scheduledTasks": "openai/gpt-5"}}"#)
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: config, runningServices: true
        ) { api in
            try await api.createJob(Self.job("digest", #""scheduleType": "recurring", "cadenceMinutes": 60"#))
            var run = try await api.finishedRuns("digest", count: 1)[0]
            #expect(run.status == .success)
            #expect(run.modelRef == "openai/gpt-5")
            #expect(run.modelSource == .flowDefault)
            #expect(run.attempts == 1)
            let prompt = try #require(api.server.standIn.receivedPrompts.last)
            #expect(prompt.providerID == "openai" && prompt.modelID == "gpt-5")
            #expect(prompt.text == "summarise my inbox")
            #expect(prompt.sessionTitle.contains("digest"))
            #expect(run.sessionId == prompt.sessionId)
            #expect(run.result?["text"] == .string("stand-in reply from openai/gpt-5\nprompt: summarise my inbox"))
            // The next slot is one cadence after the one that ran.
            let job = try await api.job("digest")
            #expect(job.nextRunAt == run.scheduledFor + 60 * 60_000)
            #expect(job.status == .idle)

            // The job's own model, with a space in its id, set through the API: used by the very next run.
            try await api.call(
                .patch, "/external/jobs/digest", json: #"{"modelRef": "nano-gpt/NousResearch 2/hermes-4-405b"}"#)
            try await api.call(.post, "/external/jobs/digest/run-now")
            run = try await api.finishedRuns("digest", count: 2)[0]
            #expect(run.modelRef == "nano-gpt/NousResearch 2/hermes-4-405b")
            #expect(run.modelSource == .job)
            #expect(api.server.standIn.receivedPrompts.last?.modelID == "NousResearch 2/hermes-4-405b")

            // Inherit again, and no flow default either: OpenCode's global default.
            try await api.call(.patch, "/external/jobs/digest", json: #"{"modelRef": null}"#)
            let defaults = try await api.call(.get, "/external/models/defaults")
            let cleared = ModelsRoutesTests.defaultsJSON([:])
            try await api.call(
                .put, "/external/models/defaults", json: cleared,
                headers: [.ifMatch: defaults.headers[.eTag] ?? ""])
            try await api.call(.post, "/external/jobs/digest/run-now")
            run = try await api.finishedRuns("digest", count: 3)[0]
            #expect(run.modelRef == "anthropic/claude-opus-4-7")
            #expect(run.modelSource == .globalDefault)

            // The job's model leaves the catalog: the run falls back to the global default and says so.
            try await api.call(.patch, "/external/jobs/digest", json: #"{"modelRef": "openai/gpt-5"}"#)
            api.server.standIn.setProvidersBody(Fixtures.providersBody(["anthropic": ["claude-opus-4-7"]]))
            try await api.call(.post, "/external/models/refresh")
            try await api.call(.post, "/external/jobs/digest/run-now")
            run = try await api.finishedRuns("digest", count: 4)[0]
            #expect(run.modelRef == "anthropic/claude-opus-4-7")
            #expect(run.modelSource == .fallbackGlobalDefault)
            #expect(api.server.standIn.receivedPrompts.last?.modelID == "claude-opus-4-7")
            let warning = api.logs.all.first { $0.level == .warning && $0.metadata["requested"] == "openai/gpt-5" }
            #expect(warning?.metadata["flow"] == "scheduledTasks")
            #expect(warning?.metadata["fallback"] == "anthropic/claude-opus-4-7")
        }
    }

    @Test(arguments: openCodeProtocols) func aJobDueInTwoSecondsStartsWithinASecondOfItsTime(protocolVersion: Int)
        async throws
    {
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion),
            config: Self.config(scheduler: #", "tickSeconds": 30"#), runningServices: true
        ) {
            api in
            let due = Self.now + 2_000
            try await api.createJob(Self.job("soon", runAt: due))
            let run = try await api.finishedRuns("soon", count: 1)[0]
            let received = try #require(api.server.standIn.receivedPrompts.last).receivedAt
            // The tick is 30 s: only sleeping until the job's time makes this prompt.
            #expect(run.startedAt >= due)
            #expect(received - due < 1_000, "started \(received - due) ms after its time")
        }
    }

    @Test(arguments: openCodeProtocols) func aOneShotEndsCompletedOrFailedAndRunNowRunsItAgain(protocolVersion: Int)
        async throws
    {
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: Self.config(), runningServices: true
        ) { api in
            try await api.createJob(Self.job("once"))
            try await api.createJob(Self.job("mute", prompt: nil))
            #expect(try await api.finishedRuns("once", count: 1)[0].status == .success)
            let done = try await api.job("once")
            #expect(done.terminalState == .completed)
            #expect(done.nextRunAt == nil)

            let failed = try await api.finishedRuns("mute", count: 1)[0]
            #expect(failed.status == .failed)
            #expect(failed.errorCode == "no_prompt")
            #expect(failed.errorMessage?.contains("payload.prompt") == true)
            #expect(failed.attempts == 0)
            let mute = try await api.job("mute")
            #expect(mute.terminalState == .failed)
            #expect(mute.terminalReason?.hasPrefix("no_prompt") == true)

            // The operator adds the prompt and runs it again; the terminal state clears until that run ends.
            try await api.call(.patch, "/external/jobs/mute", json: #"{"payload": {"prompt": "now with words"}}"#)
            let again = try await api.call(.post, "/external/jobs/mute/run-now")
            #expect(again.status == .ok)
            #expect(try await api.finishedRuns("mute", count: 2)[0].status == .success)
            #expect(try await api.job("mute").terminalState == .completed)

            try await api.call(.delete, "/external/jobs/once")
            let cancelled = try await api.call(.post, "/external/jobs/once/run-now")
            #expect(cancelled.status == .conflict)
            #expect(try await api.job("once").terminalState == .cancelled)
        }
    }

    /// OpenCode restarted with a password under a running Otto: the run fails at once with opencode_unauthorized,
    /// saying what to set, and is not retried (a refused password does not get better by asking again).
    @Test(arguments: openCodeProtocols) func aRunRefusedByOpenCodesPasswordIsOpencodeUnauthorizedAndNotRetried(
        protocolVersion: Int
    ) async throws {
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion),
            config: Self.config(scheduler: #", "retries": 2"#), runningServices: true
        ) { api in
            api.server.standIn.requirePassword("set-after-start")
            try await api.createJob(Self.job("locked"))
            let run = try await api.finishedRuns("locked", count: 1)[0]
            #expect(run.status == .failed)
            #expect(run.errorCode == "opencode_unauthorized")
            #expect(run.attempts == 1)
            #expect(run.errorMessage?.contains("asks for a password and Otto sent none (HTTP 401)") == true)
            #expect(api.server.standIn.receivedPrompts.isEmpty)
        }
    }

    @Test(arguments: openCodeProtocols) func missedSlotsAreSkippedWithOneRunAndNoDrift(protocolVersion: Int)
        async throws
    {
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: Self.config(), runningServices: true
        ) { api in
            // Ten and a half one-minute slots have passed since the first one.
            let first = Self.now - 10 * 60_000 - 30_000
            try await api.createJob(
                Self.job("late", #""scheduleType": "recurring", "cadenceMinutes": 1"#, runAt: first))
            let run = try await api.finishedRuns("late", count: 1)[0]
            #expect(run.scheduledFor == first)
            let job = try await api.job("late")
            #expect(job.nextRunAt == first + 11 * 60_000)
            try await Task.sleep(for: .milliseconds(1_500))
            let runs = try await api.call(.get, "/external/jobs/late/runs").decode(JobRunsResponse.self)
            #expect(runs.total == 1, "missed slots must not run in a burst")
        }
    }

    @Test(arguments: openCodeProtocols) func aRunPastItsTimeLimitIsAbortedInOpenCodeAndRecordedAsATimeout(
        protocolVersion: Int
    ) async throws {
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion),
            config: Self.config(scheduler: #", "runTimeoutSeconds": 1"#), runningServices: true
        ) {
            api in
            try await api.createJob(Self.job("stuck", prompt: "think forever [[hang]]"))
            let run = try await api.finishedRuns("stuck", count: 1)[0]
            #expect(run.status == .failed)
            #expect(run.errorCode == "timeout")
            #expect(run.errorMessage?.contains("1 s") == true)
            let session = try #require(run.sessionId)
            #expect(api.server.standIn.abortedSessions.contains(session))
            #expect(try await api.job("stuck").terminalState == .failed)
        }
    }

    @Test(arguments: openCodeProtocols) func aTransientFailureIsRetriedAndAPermanentOneIsNot(protocolVersion: Int)
        async throws
    {
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: Self.config(), runningServices: true
        ) { api in
            try await api.createJob(Self.job("flaky", prompt: "busy day [[fail:503:2]]"))
            try await api.createJob(Self.job("broken", prompt: "bad request [[fail:400:5]]"))
            let flaky = try await api.finishedRuns("flaky", count: 1, within: .seconds(20))[0]
            #expect(flaky.status == .success)
            #expect(flaky.attempts == 3)
            let broken = try await api.finishedRuns("broken", count: 1)[0]
            #expect(broken.status == .failed)
            #expect(broken.attempts == 1)
            #expect(broken.errorCode == "opencode_http_error")
            #expect(broken.errorMessage?.contains("HTTP 400") == true)
        }
    }

    @Test(arguments: openCodeProtocols) func aHungRunDoesNotHoldUpOtherJobsAndKeepsItsLease(protocolVersion: Int)
        async throws
    {
        let config = Self.config(scheduler: #", "runTimeoutSeconds": 120, "leaseSeconds": 2"#)
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: config, runningServices: true
        ) {
            api in
            try await api.createJob(Self.job("hung", prompt: "never answers [[hang]]"))
            try await api.waitUntilRunning("hung")
            try await api.createJob(Self.job("quick"))
            #expect(try await api.finishedRuns("quick", count: 1)[0].status == .success)
            // Renewed every third of the 2 s lease: still the one run, still ours, after three lease lengths.
            try await Task.sleep(for: .seconds(6))
            #expect(try await api.job("hung").status == .running)
            let runs = try await api.call(.get, "/external/jobs/hung/runs").decode(JobRunsResponse.self)
            #expect(runs.total == 1)
            #expect(runs.runs.first?.status == .running)
        }
    }

    @Test(arguments: openCodeProtocols) func tenHungRunsNeitherHoldBackEachOtherNorACatalogRefreshOrTheAssistant(
        protocolVersion: Int
    ) async throws {
        let config = Self.config(scheduler: #", "runTimeoutSeconds": 120, "maxConcurrentRuns": 10"#)
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: config, runningServices: true
        ) { api in
            for index in 0..<10 { try await api.createJob(Self.job("hung-\(index)", prompt: "[[hang]] \(index)")) }
            for _ in 0..<200 where api.server.standIn.receivedPrompts.count < 10 {
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(api.server.standIn.receivedPrompts.count == 10, "all ten runs reached OpenCode at once")
            let refresh = try await api.call(.post, "/external/models/refresh")
            #expect(refresh.status == .ok)
            let ask = try await api.call(.post, "/external/assistant/messages", json: #"{"message": "still there?"}"#)
            #expect(ask.status == .ok)
        }
    }

    @Test(arguments: openCodeProtocols) func aGracefulStopRecordsTheRunAsInterruptedAndTheOneShotRunsAgainLater(
        protocolVersion: Int
    ) async throws {
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion),
            config: Self.config(scheduler: #", "runTimeoutSeconds": 120"#), runningServices: true
        ) {
            api in
            try await api.createJob(Self.job("hung", prompt: "never answers [[hang]]"))
            try await api.waitUntilRunning("hung")
            await api.stopServices()
            let run = try await api.finishedRuns("hung", count: 1)[0]
            #expect(run.status == .failed)
            #expect(run.errorCode == "interrupted")
            #expect(run.errorMessage == "Otto was stopped during this run")
            let job = try await api.job("hung")
            #expect(job.status == .idle)
            #expect(job.terminalState == nil)
            #expect(job.nextRunAt == run.scheduledFor, "due again at the next start")
            #expect(api.server.standIn.abortedSessions == [run.sessionId!])
        }
    }

    @Test(arguments: openCodeProtocols) func theWatchdogReportsEachFailureOnceAndSkipsWhenThereIsNone(
        protocolVersion: Int
    ) async throws {
        try await withWebhookReceiver { receiver in
            let config = Self.config(
                extra: #", "notifications": {"webhookUrl": "\#(receiver.url)?token=secret"}"#
                    + #", "modelManagement": {"flowDefaults": {"watchdogFailures": "openai/gpt-5"}}"#
            )
            try await APIHarness.run(
                openCode: fixtureStandIn(protocolVersion: protocolVersion),
                config: config.replacingOccurrences(of: #""watchdog": {"enabled": false}"#, with: #""watchdog": {}"#),
                runningServices: true
            ) { api in
                let watchdog = try await api.job("system-watchdog-failures")
                #expect(watchdog.managedBy == .system)
                #expect(watchdog.cadenceMinutes == 30)
                #expect(watchdog.nextRunAt! > Self.now + 29 * 60_000)

                try await api.call(.post, "/external/jobs/system-watchdog-failures/run-now")
                let quiet = try await api.finishedRuns("system-watchdog-failures", count: 1)[0]
                #expect(quiet.status == .skipped)
                #expect(quiet.modelRef == nil)
                #expect(api.server.standIn.receivedPrompts.isEmpty, "no model is called when nothing failed")

                try await api.createJob(Self.job("mute", prompt: nil))
                let failure = try await api.finishedRuns("mute", count: 1)[0]
                try await api.call(.post, "/external/jobs/system-watchdog-failures/run-now")
                let alert = try await api.finishedRuns("system-watchdog-failures", count: 2)[0]
                #expect(alert.status == .success)
                #expect(alert.modelRef == "openai/gpt-5")
                #expect(alert.modelSource == .flowDefault)
                #expect(alert.result?["failures"] == .array([.string(failure.id)]))
                let prompt = try #require(api.server.standIn.receivedPrompts.last)
                #expect(prompt.modelID == "gpt-5")
                #expect(prompt.text.contains("job mute (type report)"))
                #expect(prompt.text.contains("no_prompt"))
                let delivered = try #require(await receiver.next())
                #expect(delivered["kind"] == .string("watchdog"))
                #expect(delivered["jobId"] == .string("system-watchdog-failures"))
                #expect(delivered["runId"] == .string(alert.id))
                #expect(delivered["text"] == alert.result?["text"])
                #expect(alert.result?["notification"]?["delivered"] == .bool(true))

                // Reported once: the next run finds nothing new.
                try await api.call(.post, "/external/jobs/system-watchdog-failures/run-now")
                let again = try await api.finishedRuns("system-watchdog-failures", count: 3)[0]
                #expect(again.status == .skipped)

                // PATCH and DELETE stay forbidden on Otto's own jobs.
                let patch = try await api.call(
                    .patch, "/external/jobs/system-watchdog-failures", json: #"{"modelRef": null}"#)
                #expect(patch.status == .forbidden)
            }
        }
    }

    @Test(arguments: openCodeProtocols) func aWebhookThatFailsIsNotedOnTheRunAndNeverFailsIt(protocolVersion: Int)
        async throws
    {
        let config = Self.config(
            extra:
                #", "notifications": {"webhookUrl": "http://127.0.0.1:\#(closedLoopbackPort())/hooks/secret-path?token=secret"}"#
        )
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion),
            config: config.replacingOccurrences(of: #""heartbeat": {"enabled": false}"#, with: #""heartbeat": {}"#),
            runningServices: true
        ) { api in
            try await api.call(.post, "/external/jobs/system-heartbeat/run-now")
            let run = try await api.finishedRuns("system-heartbeat", count: 1, within: .seconds(20))[0]
            #expect(run.status == .success)
            let note = try #require(run.result?["notification"])
            #expect(note["delivered"] == .bool(false))
            #expect(note["attempts"] == .number(3))
            guard case .string(let error)? = note["error"] else {
                Issue.record("no error noted")
                return
            }
            #expect(error.contains("connection refused"))
            #expect(!error.contains("secret"), "the webhook URL's path and query are not repeated")
            // (The webhook's secrets, not the word: a log line may name ~/.local/share/otto/secrets/telegram.env.)
            #expect(
                !api.logs.all.contains {
                    let line = "\($0.message) \($0.metadata)"
                    return line.contains("secret-path") || line.contains("token=secret")
                })
        }
    }

    @Test(arguments: openCodeProtocols) func theHeartbeatPromptsItsFlowsModelWithADigest(protocolVersion: Int)
        async throws
    {
        try await withWebhookReceiver { receiver in
            let config = Self.config(
                extra: #", "notifications": {"webhookUrl": "\#(receiver.url)"}"#
                    + #", "modelManagement": {"flowDefaults": {"heartbeat": "nano-gpt/NousResearch 2/hermes-4-405b"}}"#
            )
            try await APIHarness.run(
                openCode: fixtureStandIn(protocolVersion: protocolVersion),
                config: config.replacingOccurrences(
                    of: #""heartbeat": {"enabled": false}"#,
                    with: #""heartbeat": {"cadenceMinutes": 15, "prompt": "Tell me how Otto is doing."}"#),
                runningServices: true
            ) { api in
                let heartbeat = try await api.job("system-heartbeat")
                #expect(heartbeat.type == "heartbeat")
                #expect(heartbeat.cadenceMinutes == 15)
                try await api.createJob(Self.job("mute", prompt: nil))
                try await api.createJob(
                    Self.job(
                        "later", #""scheduleType": "recurring", "cadenceMinutes": 60"#, runAt: Self.now + 3_600_000))
                _ = try await api.finishedRuns("mute", count: 1)
                try await api.call(.post, "/external/jobs/system-heartbeat/run-now")
                let run = try await api.finishedRuns("system-heartbeat", count: 1)[0]
                #expect(run.status == .success)
                #expect(run.modelRef == "nano-gpt/NousResearch 2/hermes-4-405b")
                #expect(run.modelSource == .flowDefault)
                let prompt = try #require(api.server.standIn.receivedPrompts.last)
                #expect(prompt.text.hasPrefix("Tell me how Otto is doing."))
                #expect(prompt.text.contains("failed 1"))
                #expect(prompt.text.contains("job mute (type report)"))
                #expect(prompt.text.contains("job later (type report)"))
                let delivered = try #require(await receiver.next())
                #expect(delivered["kind"] == .string("heartbeat"))
                #expect(delivered["runId"] == .string(run.id))
            }
        }
    }

    @Test(arguments: openCodeProtocols) func theAssistantAnswersInANewOrAContinuedSessionOnItsFlowsModel(
        protocolVersion: Int
    ) async throws {
        let config = Self.config(
            extra: #", "modelManagement": {"flowDefaults": {"interactiveAssistant": "openai/gpt-5"}}"#)
        try await APIHarness.run(openCode: fixtureStandIn(protocolVersion: protocolVersion), config: config) { api in
            let first = try await api.call(
                .post, "/external/assistant/messages", json: #"{"message": "What is on today?"}"#)
            #expect(first.status == .ok)
            let reply = try first.decode(AssistantMessageResponse.self)
            #expect(reply.model.ref == "openai/gpt-5")
            #expect(reply.model.source == .flowDefault)
            #expect(reply.reply.contains("stand-in reply from openai/gpt-5"))

            let second = try await api.call(
                .post, "/external/assistant/messages",
                json: #"{"message": "And tomorrow?", "sessionId": "\#(reply.sessionId)"}"#)
            #expect(try second.decode(AssistantMessageResponse.self).sessionId == reply.sessionId)
            let prompts = api.server.standIn.receivedPrompts.filter { $0.sessionId == reply.sessionId }
            #expect(prompts.map(\.text) == ["What is on today?", "And tomorrow?"])

            let unknown = try await api.call(
                .post, "/external/assistant/messages", json: #"{"message": "hi", "sessionId": "ses_nobody"}"#)
            #expect(unknown.status == .notFound)
            let sneaky = try await api.call(
                .post, "/external/assistant/messages", json: #"{"message": "hi", "sessionId": "../config"}"#)
            #expect(sneaky.status == .badRequest)
            #expect(sneaky.error?.details?.first?.path == "sessionId")
            let empty = try await api.call(.post, "/external/assistant/messages", json: #"{"message": "  "}"#)
            #expect(empty.status == .badRequest)
            #expect(empty.error?.details?.first?.path == "message")

            api.server.standIn.mode = .failing(status: 500)
            let down = try await api.call(.post, "/external/assistant/messages", json: #"{"message": "hello?"}"#)
            #expect(down.status == .badGateway)
            #expect(down.error?.error == "upstream_unavailable")
            #expect(down.error?.message.contains("HTTP 500") == true)
            #expect(!api.logs.all.contains { $0.message.contains("hello?") || $0.metadata.values.contains("hello?") })
        }
    }
}

extension APIHarness {
    func waitUntilRunning(_ id: String) async throws {
        for _ in 0..<200 {
            if try await job(id).status == .running, !server.standIn.receivedPrompts.isEmpty { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("job \(id) never started")
    }

    /// Waits until the job has at least `count` finished runs and returns its runs, newest first.
    func finishedRuns(_ id: String, count: Int, within limit: Duration = .seconds(10)) async throws -> [JobRun] {
        let deadline = ContinuousClock.now + limit
        var runs: [JobRun] = []
        while ContinuousClock.now < deadline {
            runs = try await call(.get, "/external/jobs/\(id)/runs?limit=200").decode(JobRunsResponse.self).runs
            if runs.filter({ $0.finishedAt != nil }).count >= count, runs.first?.finishedAt != nil { return runs }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("job \(id) has \(runs.count) runs, not \(count) finished, after \(limit)")
        throw CancellationError()
    }
}
