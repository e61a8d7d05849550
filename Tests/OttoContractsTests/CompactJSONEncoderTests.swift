import Foundation
import OttoContracts
import OttoTestSupport
import Testing

@Suite struct CompactJSONEncoderTests {
    static let full = Job(
        id: "q\"uote\\d ü", type: "re\"port\n\u{07}x", status: .paused, scheduleType: .oneshot, profileId: "été",
        modelRef: "nano-gpt/NousResearch 2/hermes-4-405b", runAt: 5, cadenceMinutes: 7,
        payload: #"{"prompt": "a", "n": [1, 2.5, -3e2, null, true], "o": {"k": "\u00e9"}}"#, lastRunAt: 3,
        nextRunAt: 9, terminalState: .expired, terminalReason: "late", createdAt: 11, updatedAt: 13)
    static let sparse = Job(
        id: "j", type: "report", scheduleType: .recurring, cadenceMinutes: 60, createdAt: 1, updatedAt: 2)

    static func parsed(_ bytes: some Sequence<UInt8>) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// JSONEncoder leaves absent optionals out where CompactJSONEncoder writes null; otherwise the two agree.
    static func withoutNulls(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members): .object(members.filter { $0.value != .null }.mapValues(withoutNulls))
        case .array(let items): .array(items.map(withoutNulls))
        default: value
        }
    }

    static func agreeWithJSONEncoder(_ value: some Codable & Equatable) throws {
        let compact = try CompactJSONEncoder().encode(value)
        let foundation = try JSONEncoder().encode(value)
        #expect(withoutNulls(try parsed(compact)) == withoutNulls(try parsed(foundation)))
        // And a client decodes the compact form back to the same value (JSON text compares by its meaning).
        let decoded = try JSONDecoder().decode(type(of: value), from: Data(compact))
        #expect(try parsed(try CompactJSONEncoder().encode(decoded)) == (try parsed(compact)))
    }

    @Test func theAPITypesEncodeToWhatJSONEncoderWritesAndDecodeBack() throws {
        let body = JobBody(job: Self.full, effectiveModel: EffectiveModel(ref: "openai/gpt-5", source: .job))
        try Self.agreeWithJSONEncoder(body)
        try Self.agreeWithJSONEncoder(
            JobListResponse(jobs: [body, JobBody(job: Self.sparse, effectiveModel: .unresolved)], nextCursor: "1-6a"))
        try Self.agreeWithJSONEncoder(
            JobRunsResponse(
                taskId: "j", total: 1, limit: 20, offset: 0,
                runs: [
                    JobRun(
                        id: "r", jobId: "j", scheduledFor: 1, startedAt: 2, status: .failed, errorCode: "x",
                        result: #"{"ok": false}"#, modelRef: "openai/gpt-5", modelSource: .fallbackGlobalDefault,
                        createdAt: 3)
                ]))
        try Self.agreeWithJSONEncoder(
            TaskAuditResponse(
                taskId: "j",
                entries: [
                    TaskAuditEntry(
                        id: 4, taskId: "j", action: .runNow, lane: "l", actor: nil, before: nil, after: "[1]",
                        metadata: nil, createdAt: 5)
                ]))
        try Self.agreeWithJSONEncoder(
            FlowDefaultsBody(flowDefaults: FlowDefaults(heartbeat: "openai/gpt-5")))
        try Self.agreeWithJSONEncoder(
            EffectiveModelsResponse(flows: ["heartbeat": .unresolved], globalDefault: nil))
    }

    @Test func absentOptionalsAreNullAndTheJobComesFirstInDeclarationOrder() throws {
        let text = String(
            decoding: try CompactJSONEncoder().encode(JobBody(job: Self.sparse, effectiveModel: .unresolved)),
            as: UTF8.self)
        #expect(
            text == #"{"id":"j","type":"report","status":"idle","scheduleType":"recurring","profileId":null,"#
                + #""modelRef":null,"runAt":null,"cadenceMinutes":60,"payload":null,"lastRunAt":null,"#
                + #""nextRunAt":null,"terminalState":null,"terminalReason":null,"createdAt":1,"updatedAt":2,"#
                + #""managedBy":"operator","isMutable":true,"effectiveModel":{"ref":null,"source":"unresolved"}}"#)
    }

    @Test func jsonTextIsCopiedVerbatimAndStringsAreEscaped() throws {
        let payload: JSONText = #"{ "b": 1,   "a": [ 2 ] }"#
        var job = Self.sparse
        job.payload = payload
        job.terminalReason = "tab\tquote\" back\\ nul\u{0} del\u{7F}"
        let text = String(decoding: try CompactJSONEncoder().encode(job), as: UTF8.self)
        #expect(text.contains(#""payload":{ "b": 1,   "a": [ 2 ] }"#))
        let decoded = try JSONDecoder().decode(Job.self, from: Data(text.utf8))
        #expect(decoded.terminalReason == job.terminalReason)
    }

    @Test func numbersNestedContainersAndFailures() throws {
        struct Nested: Encodable {
            func encode(to encoder: any Encoder) throws {
                var outer = encoder.container(keyedBy: AnyKey.self)
                var inner = outer.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("a"))
                try inner.encode(1.5, forKey: AnyKey("x"))
                var list = outer.nestedUnkeyedContainer(forKey: AnyKey("b"))
                try list.encode(Int8(-3))
                try list.encode(UInt64.max)
                try list.encode(2.0)
                try outer.encode(true, forKey: AnyKey("c"))
            }
        }
        #expect(
            String(decoding: try CompactJSONEncoder().encode(Nested()), as: UTF8.self)
                == #"{"a":{"x":1.5},"b":[-3,18446744073709551615,2],"c":true}"#)
        var bytes = Array("kept".utf8)
        #expect(throws: EncodingError.self) { try CompactJSONEncoder().encode([1.0, .nan], appendingTo: &bytes) }
        #expect(bytes == Array("kept".utf8))
    }
}

struct AnyKey: CodingKey {
    let stringValue: String
    init(_ text: String) { stringValue = text }
    init?(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}
