import Foundation
import Hummingbird
import OpenCodeStandIn
import OttoContracts
import OttoCore
import OttoTestSupport
import Testing

/// What a real OpenCode does that an idealised one does not, against the stand-in in both protocols: no default
/// model, substituted models, permission requests and questions mid-prompt, lost responses, model errors inside a
/// successful response, a password; and Otto's own safety rules, checked in what OpenCode received.
@Suite struct RealOpenCodeTests {
    static func config(_ extra: String = "", scheduler: String = "") -> String {
        ExecutionTests.config(scheduler: scheduler, extra: extra)
    }

    static func job(_ id: String, prompt: String, modelRef: String? = nil, agent: String? = nil) -> String {
        var payload: [String: JSONValue] = ["prompt": .string(prompt)]
        if let agent { payload["agent"] = .string(agent) }
        let model = modelRef.map { #", "modelRef": "\#($0)""# } ?? ""
        return #"{"id": "\#(id)", "type": "report", "scheduleType": "oneshot", "runAt": \#(ExecutionTests.now), "#
            + #""payload": \#(JSONValue.object(payload).jsonText)\#(model)}"#
    }

    /// A stock install: no flow default and no global default. The prompt goes without a model, OpenCode chooses,
    /// and the run, the effective models and the assistant say so.
    @Test(arguments: openCodeProtocols) func withNoDefaultAnywhereOpenCodeChoosesAndOttoRecordsWhichModelAnswered(
        protocolVersion: Int
    ) async throws {
        let standIn = fixtureStandIn(protocolVersion: protocolVersion, noDefaultModel: true)
        try await APIHarness.run(openCode: standIn, config: Self.config(), runningServices: true) { api in
            #expect(api.runtime.catalog.snapshot.globalDefault == nil)
            try await api.createJob(Self.job("stock", prompt: "what is new"))
            let run = try await api.finishedRuns("stock", count: 1)[0]
            #expect(run.status == .success, "\(run.errorMessage ?? "")")
            #expect(run.modelRef == nil)
            #expect(run.modelSource == .openCodeDefault)
            let prompt = try #require(api.server.standIn.receivedPrompts.last)
            #expect(prompt.providerID == nil && prompt.modelID == nil, "no model was sent")
            let chosen = try #require(run.answeredBy)
            #expect(run.result?["text"] == .string("stand-in reply from \(chosen)\nprompt: what is new"))

            let effective = try await api.call(.get, "/external/models/effective").decode(EffectiveModelsResponse.self)
            #expect(effective.flows["scheduledTasks"] == EffectiveModel(ref: nil, source: .openCodeDefault))
            #expect(effective.globalDefault == nil)
            let raw = try await api.call(.get, "/external/jobs/stock/runs").text
            #expect(raw.contains(#""modelSource":"opencode_default""#) && raw.contains(#""answeredBy":"\#(chosen)""#))

            let answer = try await api.call(.post, "/external/assistant/messages", json: #"{"message": "hi"}"#)
            #expect(answer.status == .ok, "\(answer.text)")
            let reply = try answer.decode(AssistantMessageResponse.self)
            #expect(reply.model == .init(ref: nil, source: .openCodeDefault, answeredBy: chosen))
            #expect(answer.text.contains(#""ref":null"#))
        }
    }

    /// OpenCode answered with another model than the one asked for: the run keeps both and a warning names the
    /// flow, the requested and the answering model.
    @Test(arguments: openCodeProtocols) func aSubstitutedModelIsRecordedBesideTheRequestedOne(protocolVersion: Int)
        async throws
    {
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: Self.config(), runningServices: true
        ) { api in
            try await api.createJob(
                Self.job("swap", prompt: "[[substitute:anthropic/claude-opus-4-7]] go", modelRef: "openai/gpt-5"))
            let run = try await api.finishedRuns("swap", count: 1)[0]
            #expect(run.status == .success)
            #expect(run.modelRef == "openai/gpt-5")
            #expect(run.answeredBy == "anthropic/claude-opus-4-7")
            let warning = api.logs.all.first { $0.message.contains("another model than the one Otto asked for") }
            #expect(warning?.level == .warning)
            #expect(warning?.metadata["flow"] == "scheduledTasks")
            #expect(warning?.metadata["requested"] == "openai/gpt-5")
            #expect(warning?.metadata["answeredBy"] == "anthropic/claude-opus-4-7")
        }
    }

    /// By default no prompt can edit, write, patch or run a shell: what OpenCode received says so, in each
    /// protocol's form. An operator who allows bash and names an agent gets exactly that.
    @Test(arguments: openCodeProtocols) func theDefaultToolRestrictionsAreWhatOpenCodeReceives(protocolVersion: Int)
        async throws
    {
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: Self.config(), runningServices: true
        ) { api in
            try await api.createJob(Self.job("safe", prompt: "tidy up"))
            _ = try await api.finishedRuns("safe", count: 1)
            let prompt = try #require(api.server.standIn.receivedPrompts.last)
            #expect(prompt.agent == nil)
            if protocolVersion == 1 {
                #expect(prompt.tools == ["bash": false, "edit": false, "write": false, "patch": false])
            } else {
                #expect(prompt.permissions == ["edit:*:deny", "bash:*:deny"])
            }
            let answer = try await api.call(.post, "/external/assistant/messages", json: #"{"message": "hi"}"#)
            #expect(answer.status == .ok)
            let assistant = try #require(api.server.standIn.receivedPrompts.last)
            #expect(assistant.tools == prompt.tools && assistant.permissions == prompt.permissions)
        }
        let loosened = Self.config(#", "opencode": {"agent": "plan", "allowTools": ["bash"]}"#)
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: loosened, runningServices: true
        ) { api in
            try await api.createJob(Self.job("loose", prompt: "tidy up"))
            _ = try await api.finishedRuns("loose", count: 1)
            let prompt = try #require(api.server.standIn.receivedPrompts.last)
            #expect(prompt.agent == "plan")
            if protocolVersion == 1 {
                #expect(prompt.tools == ["edit": false, "write": false, "patch": false])
            } else {
                #expect(prompt.permissions == ["edit:*:deny"])
            }
        }
    }

    /// A job's own agent must be one the operator allowed; otherwise nothing is sent.
    @Test(arguments: openCodeProtocols) func aJobsAgentIsUsedOnlyWhenAllowed(protocolVersion: Int) async throws {
        let config = Self.config(#", "opencode": {"allowedAgents": ["reviewer"]}"#)
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: config, runningServices: true
        ) { api in
            try await api.createJob(Self.job("rogue", prompt: "rewrite everything", agent: "build"))
            let refused = try await api.finishedRuns("rogue", count: 1)[0]
            #expect(refused.status == .failed)
            #expect(refused.errorCode == "agent_not_allowed")
            #expect(refused.errorMessage?.contains(#"agent "build""#) == true)
            #expect(refused.errorMessage?.contains("opencode.allowedAgents") == true)
            #expect(api.server.standIn.receivedPrompts.isEmpty, "nothing was sent")

            try await api.createJob(Self.job("review", prompt: "review it", agent: "reviewer"))
            let run = try await api.finishedRuns("review", count: 1)[0]
            #expect(run.status == .success)
            #expect(api.server.standIn.receivedPrompts.last?.agent == "reviewer")
        }
    }

    /// A permission request and a question mid-prompt are refused, each with Otto's message, and the run goes on
    /// to its answer long before its time limit; the run lists what it refused.
    @Test(arguments: openCodeProtocols) func permissionRequestsAndQuestionsAreRefusedAndTheRunCompletes(
        protocolVersion: Int
    ) async throws {
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: Self.config(), runningServices: true
        ) { api in
            try await api.createJob(Self.job("ask", prompt: "[[permission]] [[question]] change notes.txt"))
            let run = try await api.finishedRuns("ask", count: 1, within: .seconds(15))[0]
            #expect(run.status == .success, "\(run.errorMessage ?? "")")
            #expect(run.attempts == 1)
            // The run's limit is 20 s: it did not sit waiting for an answer.
            #expect((run.finishedAt ?? .max) - run.startedAt < 10_000)
            let answers = api.server.standIn.receivedAnswers
            #expect(answers.count == 2)
            #expect(answers.first?.hasPrefix("permission per_") == true && answers.first?.hasSuffix(" reject") == true)
            #expect(answers.last?.hasPrefix("question que_") == true && answers.last?.hasSuffix(" rejected") == true)
            #expect(api.server.standIn.pendingRequestCount == 0)
            #expect(
                run.result?["refused"]
                    == .array([
                        .object(["kind": .string("permission"), "what": .string("edit notes.txt")]),
                        .object(["kind": .string("question"), "what": .string("Which file should I change?")]),
                    ]))
            guard case .string(let text)? = run.result?["text"] else {
                Issue.record("no answer text")
                return
            }
            #expect(text.contains("permission reject") && text.contains("question rejected"))
        }
    }

    /// The response to the prompt is lost after OpenCode stored it: the retry finds it and waits for its answer;
    /// the prompt reaches OpenCode once.
    @Test(arguments: openCodeProtocols) func aLostResponseIsRetriedWithoutASecondPrompt(protocolVersion: Int)
        async throws
    {
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: Self.config(), runningServices: true
        ) { api in
            try await api.createJob(Self.job("lost", prompt: "[[drop]] once only", modelRef: "openai/gpt-5"))
            let run = try await api.finishedRuns("lost", count: 1)[0]
            #expect(run.status == .success, "\(run.errorCode ?? ""): \(run.errorMessage ?? "")")
            #expect(run.attempts == 2)
            #expect(run.result?["text"] == .string("stand-in reply from openai/gpt-5\nprompt: [[drop]] once only"))
            let prompts = api.server.standIn.receivedPrompts.filter { $0.sessionId == run.sessionId }
            #expect(prompts.count == 1, "the prompt reached OpenCode once")
            #expect(prompts.first?.messageID?.hasPrefix("msg_") == true)
        }
    }

    /// A model error inside a successful response: its words are the run's error; a retryable one is a new turn
    /// after the wait OpenCode asked for, and the run counts it.
    @Test(arguments: openCodeProtocols) func modelErrorsReachTheRunAndRetryableOnesAreRetried(protocolVersion: Int)
        async throws
    {
        try await APIHarness.run(
            openCode: fixtureStandIn(protocolVersion: protocolVersion), config: Self.config(), runningServices: true
        ) { api in
            try await api.createJob(Self.job("broken", prompt: "[[model-error]] go"))
            let failed = try await api.finishedRuns("broken", count: 1)[0]
            #expect(failed.status == .failed)
            #expect(failed.errorCode == "model_error")
            #expect(failed.errorMessage?.contains("APIError: stand-in provider error: the model is overloaded") == true)
            #expect(failed.attempts == 1, "not retryable")

            try await api.createJob(Self.job("flaky", prompt: "[[model-error-once]] go"))
            let run = try await api.finishedRuns("flaky", count: 1)[0]
            #expect(run.status == .success, "\(run.errorMessage ?? "")")
            #expect(run.attempts == 2)
            let prompts = api.server.standIn.receivedPrompts.filter { $0.sessionId == run.sessionId }
            #expect(prompts.count == 2)
            #expect(prompts.first?.messageID != prompts.last?.messageID, "a new turn has a new message id")
        }
    }

    /// The assistant's `sessionId` is checked before it reaches OpenCode: malformed is 400, unknown is 404.
    @Test(arguments: openCodeProtocols) func aClientsSessionIdIsCheckedBeforeOpenCode(protocolVersion: Int)
        async throws
    {
        try await APIHarness.run(openCode: fixtureStandIn(protocolVersion: protocolVersion)) { api in
            let malformed = try await api.call(
                .post, "/external/assistant/messages", json: #"{"message": "hi", "sessionId": "../../config"}"#)
            #expect(malformed.status == .badRequest)
            let unknown = try await api.call(
                .post, "/external/assistant/messages", json: #"{"message": "hi", "sessionId": "ses_nobody"}"#)
            #expect(unknown.status == .notFound)
            #expect(unknown.text.contains("ses_nobody"))
            #expect(api.server.standIn.receivedPrompts.isEmpty)
        }
    }

    /// A password-protected OpenCode in either protocol: every call carries it, and no log line holds it.
    @Test(arguments: openCodeProtocols) func thePasswordGoesOnEveryCallAndIntoNoLog(protocolVersion: Int)
        async throws
    {
        let password = "pw-\(UUID().uuidString)"
        let standIn = fixtureStandIn(protocolVersion: protocolVersion)
        standIn.requirePassword(password)
        try await APIHarness.run(
            openCode: standIn, config: Self.config(), runningServices: true,
            environment: ["OTTO_OPENCODE_PASSWORD": password]
        ) { api in
            try await api.createJob(Self.job("secret", prompt: "[[permission]] hi"))
            let run = try await api.finishedRuns("secret", count: 1, within: .seconds(15))[0]
            #expect(run.status == .success)
            let expected = "Basic " + Data("opencode:\(password)".utf8).base64EncodedString()
            #expect(api.server.standIn.receivedAuthorizations.allSatisfy { $0 == expected })
            #expect(api.server.standIn.receivedAnswers.count == 1, "the refusal carried the password too")
            let logged = api.logs.all.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
            #expect(!logged.contains(password) && !logged.contains(expected.dropFirst(6)))
        }
    }
}
