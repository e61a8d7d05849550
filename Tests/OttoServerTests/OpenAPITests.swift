import Foundation
import Hummingbird
import OttoContracts
import Testing

@testable import OttoCore

/// The served OpenAPI document against the real server: every documented operation exists, and what the server
/// really answers validates against the documented schema, for successes and errors.
@Suite struct OpenAPITests {
    /// A valid request for each documented operation.
    static func sampleBody(_ operationId: String) -> String? {
        switch operationId {
        case "putFlowDefaults":
            ModelsRoutesTests.defaultsJSON(["heartbeat": "openai/gpt-5"])
        case "createJob":
            #"{"id": "second", "type": "digest", "scheduleType": "oneshot", "runAt": 1900000000000, "modelRef": null}"#
        case "updateJob":
            #"{"modelRef": "openai/gpt-5"}"#
        case "sendAssistantMessage":
            #"{"message": "How is my week looking?"}"#
        default:
            nil
        }
    }

    @Test func everyDocumentedOperationExistsAndAnswersAsDocumented() async throws {
        try await APIHarness.run { api in
            let document = try #require(try await api.call(.get, "/external/openapi.json", authorization: nil).json)
            let validator = SchemaValidator(document: document)
            try await api.createJob(JobsRoutesTests.recurring)
            try await api.runtime.database.insertRun(
                JobRun(
                    id: "run-1", jobId: "inbox", scheduledFor: 1, startedAt: 1, finishedAt: nil, status: .failed,
                    errorCode: "model_unavailable", errorMessage: "no model", result: nil, modelRef: nil,
                    modelSource: nil, createdAt: 1
                )
            )
            guard case .object(let paths) = document["paths"] else {
                Issue.record("no paths")
                return
            }
            // Delete last, so the other operations still see the job.
            let order: [String] = ["get", "put", "post", "patch", "delete"]
            var operations: [(path: String, method: String, operation: JSONValue)] = []
            for (path, item) in paths {
                guard case .object(let methods) = item else { continue }
                for (method, operation) in methods where order.contains(method) {
                    operations.append((path, method, operation))
                }
            }
            operations.sort { order.firstIndex(of: $0.method)! < order.firstIndex(of: $1.method)! }
            #expect(operations.count == 20)

            for (path, method, operation) in operations {
                guard case .string(let operationId) = operation["operationId"] else {
                    Issue.record("\(method) \(path) has no operationId")
                    continue
                }
                let uri = path.replacingOccurrences(of: "{id}", with: "inbox")
                    .replacingOccurrences(of: "{runId}", with: "run-1")
                let reply = try await api.call(
                    HTTPRequest.Method(rawValue: method.uppercased())!,
                    uri,
                    json: Self.sampleBody(operationId)
                )
                let status = String(reply.status.code)
                #expect(reply.status.code < 400, "\(operationId) answered \(status): \(reply.text)")
                guard let schema = validator.responseSchema(operation, status: status) else {
                    Issue.record("\(operationId): status \(status) is not documented")
                    continue
                }
                let body = try #require(reply.json, "\(operationId) did not answer JSON")
                let problems = validator.validate(body, against: schema)
                #expect(problems.isEmpty, "\(operationId): \(problems.joined(separator: "; "))")
            }
        }
    }

    @Test func errorResponsesMatchTheDocumentedErrorSchema() async throws {
        try await APIHarness.run { api in
            let document = try #require(try await api.call(.get, "/external/openapi.json", authorization: nil).json)
            let validator = SchemaValidator(document: document)
            let schema = JSONValue.object(["$ref": .string("#/components/schemas/Error")])
            let replies = [
                try await api.call(.get, "/external/models/catalog", authorization: nil),
                try await api.call(.put, "/external/models/defaults", json: #"{"flowDefaults": {"heartbeat": "x"}}"#),
                try await api.call(.get, "/external/jobs/ghost"),
                try await api.call(.delete, "/external/health"),
            ]
            for reply in replies {
                let problems = validator.validate(try #require(reply.json), against: schema)
                #expect(problems.isEmpty, "\(reply.text): \(problems)")
            }
            // The validator itself rejects what the schema forbids.
            #expect(
                !validator.validate(.object(["error": .string("nope"), "message": .string("m")]), against: schema)
                    .isEmpty)
            #expect(!validator.validate(.object(["message": .string("m")]), against: schema).isEmpty)
        }
    }
}

/// A small JSON Schema checker for the keywords the document uses: $ref, type (also as a list), properties,
/// required, additionalProperties: false, items, enum, minimum, maximum, minLength, pattern.
struct SchemaValidator {
    let document: JSONValue

    func resolve(_ schema: JSONValue) -> JSONValue {
        guard case .string(let reference) = schema["$ref"] else { return schema }
        var node = document
        for part in reference.dropFirst(2).split(separator: "/") {
            node = node[String(part)] ?? .null
        }
        return resolve(node)
    }

    func responseSchema(_ operation: JSONValue, status: String) -> JSONValue? {
        guard let response = operation["responses"]?[status] else { return nil }
        return resolve(response)["content"]?["application/json"]?["schema"]
    }

    func validate(_ value: JSONValue, against schema: JSONValue, at path: String = "$") -> [String] {
        let schema = resolve(schema)
        var problems: [String] = []
        if let type = schema["type"] {
            let allowed: [String] =
                switch type {
                case .string(let name): [name]
                case .array(let names): names.compactMap { if case .string(let name) = $0 { name } else { nil } }
                default: []
                }
            if !allowed.contains(where: { Self.matches(value, type: $0) }) {
                return ["\(path): expected \(allowed.joined(separator: " or ")), got \(value.jsonText.prefix(60))"]
            }
        }
        if case .array(let options) = schema["enum"], !options.contains(value) {
            problems.append("\(path): \(value.jsonText) is not one of \(JSONValue.array(options).jsonText)")
        }
        if case .number(let number) = value {
            if case .number(let minimum) = schema["minimum"], number < minimum {
                problems.append("\(path): below minimum")
            }
            if case .number(let maximum) = schema["maximum"], number > maximum {
                problems.append("\(path): above maximum")
            }
        }
        if case .string(let text) = value {
            if case .number(let minimum) = schema["minLength"], Double(text.count) < minimum {
                problems.append("\(path): shorter than \(minimum)")
            }
            if case .string(let pattern) = schema["pattern"],
                text.range(of: pattern, options: .regularExpression) == nil
            {
                problems.append("\(path): \"\(text)\" does not match \(pattern)")
            }
        }
        if case .object(let object) = value {
            let properties: [String: JSONValue] =
                if case .object(let properties) = schema["properties"] { properties } else { [:] }
            if case .array(let required) = schema["required"] {
                for case .string(let name) in required where object[name] == nil {
                    problems.append("\(path): missing required \(name)")
                }
            }
            for (key, member) in object {
                if let propertySchema = properties[key] {
                    problems += validate(member, against: propertySchema, at: "\(path).\(key)")
                } else if schema["additionalProperties"] == .bool(false) {
                    problems.append("\(path): undocumented property \(key)")
                }
            }
        }
        if case .array(let elements) = value, let items = schema["items"] {
            for (index, element) in elements.enumerated().prefix(50) {
                problems += validate(element, against: items, at: "\(path)[\(index)]")
            }
        }
        return problems
    }

    static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object),
            ("number", .number):
            true
        case ("integer", .number(let number)): number.rounded() == number
        default: false
        }
    }
}
