import Hummingbird
import OttoContracts
import OttoCore

/// `/external/assistant/messages`: the interactive assistant.
struct AssistantController<Context: RequestContext>: Sendable {
    let assistant: AssistantService
    static var fields: [String] { ["message", "sessionId"] }

    func register(on routes: RouteRegistrar<Context>) {
        routes.on(.post, "/external/assistant/messages") { request, _ in try await self.send(request) }
    }

    func send(_ request: Request) async throws -> Response {
        var reader = ObjectReader(try await RequestReading.jsonObject(request), allowed: Self.fields)
        var message = ""
        switch reader.string("message") {
        case .value(let text): message = text
        case .absent: reader.fail("message", "missing; give the text to send to the assistant")
        case .null: reader.fail("message", "must not be null")
        }
        var sessionId: String?
        if case .value(let id) = reader.string("sessionId") { sessionId = id }
        guard reader.issues.isEmpty else { throw APIError.invalid(reader.issues) }
        return try JSONResponse.make(
            try await assistant.send(AssistantMessageRequest(message: message, sessionId: sessionId)))
    }
}
