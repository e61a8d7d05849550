import Foundation
import OttoContracts
import OttoTestSupport
import Testing

@Suite struct ModelRefTests {
    @Test func everyFixtureReferenceParsesAndRoundTrips() throws {
        let refs = Fixtures.expectedRefs
        #expect(refs.count == 4_803)
        for text in refs {
            let ref = try ModelRef(parsing: text)
            #expect(ref.description == text)
            let slash = text.firstIndex(of: "/")!
            #expect(ref.providerId == String(text[..<slash]))
            #expect(ref.modelId == String(text[text.index(after: slash)...]))
            #expect(try ModelRef(providerId: ref.providerId, modelId: ref.modelId) == ref)
        }
    }

    @Test(arguments: [
        ("openrouter/anthropic/claude-sonnet-4.5", "openrouter", "anthropic/claude-sonnet-4.5"),
        ("nano-gpt/NousResearch 2/hermes-4-405b", "nano-gpt", "NousResearch 2/hermes-4-405b"),
        (
            "amazon-bedrock/anthropic.claude-opus-4-1-20250805-v1:0", "amazon-bedrock",
            "anthropic.claude-opus-4-1-20250805-v1:0"
        ),
        ("cloudflare-ai-gateway/workers-ai/@cf/baai/bge-m3", "cloudflare-ai-gateway", "workers-ai/@cf/baai/bge-m3"),
        ("openrouter/~anthropic/claude-sonnet-latest", "openrouter", "~anthropic/claude-sonnet-latest"),
        ("nano-gpt/Llama-3.3+(3.1v3.3)-70B-Hanami-x1", "nano-gpt", "Llama-3.3+(3.1v3.3)-70B-Hanami-x1"),
        ("wafer.ai/some-model", "wafer.ai", "some-model"),
    ])
    func realWorldIdsSplitAtTheFirstSlash(text: String, provider: String, model: String) throws {
        let ref = try ModelRef(parsing: text)
        #expect(ref.providerId == provider)
        #expect(ref.modelId == model)
    }

    @Test func whiteSpaceAroundTheWholeReferenceIsTrimmed() throws {
        let ref = try ModelRef(parsing: "  \topenai/gpt-5 \n")
        #expect(ref.description == "openai/gpt-5")
    }

    @Test func textWithoutASlashIsRejectedWithTheExpectedFormat() {
        #expect(throws: ModelRefError(given: "gpt-5", problem: .missingSlash)) { try ModelRef(parsing: "gpt-5") }
        let error = #expect(throws: ModelRefError.self) { try ModelRef(parsing: "gpt-5") }
        #expect(error?.message.contains("\"gpt-5\"") == true)
        #expect(error?.message.contains("provider/model") == true)
    }

    @Test(arguments: [
        ("", ModelRefError.Problem.empty),
        ("   ", .empty),
        ("/gpt-5", .emptyProvider),
        ("openai/", .emptyModel),
        ("open ai/gpt-5", .whitespaceInProvider),
        ("openai/gpt\u{0}5", .controlCharacter),
        ("openai/gpt-5\u{7}", .controlCharacter),
        ("openai/gpt\n5", .controlCharacter),
    ])
    func invalidReferencesAreRejected(text: String, problem: ModelRefError.Problem) {
        let error = #expect(throws: ModelRefError.self) { try ModelRef(parsing: text) }
        #expect(error?.problem == problem)
        // The message stays one printable line even when the input holds control characters.
        #expect(error?.message.contains(where: { $0.isNewline || $0 == "\u{0}" || $0 == "\u{7}" }) == false)
        #expect(error?.message.contains("expected \"provider/model\"") == true)
    }

    @Test func partsAreValidatedWhenBuiltFromComponents() {
        #expect(throws: ModelRefError.self) { try ModelRef(providerId: "a/b", modelId: "c") }
        #expect(throws: ModelRefError.self) { try ModelRef(providerId: "", modelId: "c") }
        #expect(throws: ModelRefError.self) { try ModelRef(providerId: "a", modelId: "") }
    }

    @Test func sortingIsPlainCodePointOrder() throws {
        let texts = ["b/x", "a/a", "a/B", "a/é", "a/z", "A/z", "a/_"]
        let sorted = try texts.map { try ModelRef(parsing: $0) }.sorted().map(\.description)
        // Upper case before "_" before lower case, and non-ASCII last, as code points order them.
        #expect(sorted == ["A/z", "a/B", "a/_", "a/a", "a/z", "a/é", "b/x"])
    }

    @Test func codableUsesTheTextForm() throws {
        let ref = try ModelRef(parsing: "nano-gpt/NousResearch 2/hermes-4-405b")
        let data = try JSONEncoder().encode([ref])
        #expect(try JSONDecoder().decode([ModelRef].self, from: data) == [ref])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([ModelRef].self, from: Data(#"["nope"]"#.utf8)) }
    }
}

@Suite struct RuntimeModelFlowTests {
    @Test func theFourFlowsParseByTheirExactNames() throws {
        #expect(
            RuntimeModelFlow.allCases.map(\.rawValue) == [
                "interactiveAssistant", "scheduledTasks", "heartbeat", "watchdogFailures",
            ])
        for flow in RuntimeModelFlow.allCases {
            #expect(try RuntimeModelFlow(parsing: flow.rawValue) == flow)
        }
        #expect(try RuntimeModelFlow(parsing: " heartbeat\n") == .heartbeat)
        #expect(throws: UnknownFlowError.self) { try RuntimeModelFlow(parsing: " \t\n") }
        #expect(throws: UnknownFlowError.self) { try RuntimeModelFlow(parsing: "heart beat") }
    }

    @Test func anUnknownFlowNamesTheAcceptedOnes() {
        let error = #expect(throws: UnknownFlowError.self) { try RuntimeModelFlow(parsing: "heartbeet") }
        #expect(
            error?.message
                == "unknown flow \"heartbeet\"; expected one of interactiveAssistant, scheduledTasks, heartbeat, watchdogFailures"
        )
        #expect(throws: UnknownFlowError.self) { try RuntimeModelFlow(parsing: "Heartbeat") }
    }
}

@Suite struct FlowDefaultsTests {
    @Test func encodingAlwaysWritesAllFourFlowsWithNullForInherit() throws {
        var defaults = FlowDefaults()
        defaults[.heartbeat] = try ModelRef(parsing: "openai/gpt-5")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(defaults), as: UTF8.self)
        #expect(
            text
                == #"{"heartbeat":"openai/gpt-5","interactiveAssistant":null,"scheduledTasks":null,"watchdogFailures":null}"#
        )
        #expect(try JSONDecoder().decode(FlowDefaults.self, from: Data(text.utf8)) == defaults)
    }

    @Test func validationReportsEveryProblemWithItsPath() {
        let result = FlowDefaults.validate(
            [("heartbeet", .null), ("heartbeat", .string("nope")), ("scheduledTasks", .other(typeName: "a number"))],
            requireAll: true,
            pathPrefix: "flowDefaults"
        )
        guard case .failure(let failure) = result else {
            Issue.record("expected a failure")
            return
        }
        let paths = failure.issues.map(\.path)
        #expect(
            paths == [
                "flowDefaults.heartbeet", "flowDefaults.heartbeat", "flowDefaults.scheduledTasks",
                "flowDefaults.interactiveAssistant", "flowDefaults.watchdogFailures",
            ]
        )
        #expect(failure.issues[0].message.contains("expected one of interactiveAssistant"))
        #expect(failure.issues[1].message.contains("invalid model reference \"nope\""))
        #expect(failure.issues[2].message.contains("got a number"))
        #expect(failure.issues[3].message.contains("missing"))
    }

    @Test func missingFlowsInheritWhenNotAllAreRequired() throws {
        let result = FlowDefaults.validate([("heartbeat", .string("a/b"))], requireAll: false, pathPrefix: "")
        #expect(try result.get() == FlowDefaults(heartbeat: try ModelRef(parsing: "a/b")))
    }

    @Test func strictDecodingRejectsUnknownAndMissingFlows() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(FlowDefaults.self, from: Data(#"{"heartbeat": null}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(
                FlowDefaults.self,
                from: Data(
                    #"{"interactiveAssistant":null,"scheduledTasks":null,"heartbeat":null,"watchdogFailures":null,"x":null}"#
                        .utf8
                )
            )
        }
    }
}
