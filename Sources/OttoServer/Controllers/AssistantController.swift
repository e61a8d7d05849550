import Hummingbird
import NIOCore
import OttoContracts
import OttoCore

/// `/external/assistant/messages`: the interactive assistant.
struct AssistantController: Sendable {
    typealias Context = OttoRequestContext
    let assistant: AssistantService
    static var fields: [String] { ["message", "sessionId"] }

    func register(on routes: RouteRegistrar<Context>) {
        routes.on(.post, "/external/assistant/messages") { request, context in
            try await self.send(request, channel: context.channel)
        }
    }

    /// Answers the message, unless the client goes away first: then the prompt is cancelled (and its OpenCode
    /// session aborted) instead of holding a connection to OpenCode until the run's time limit.
    func send(_ request: Request, channel: (any Channel)?) async throws -> Response {
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
        let assistant = self.assistant
        let assistantRequest = AssistantMessageRequest(message: message, sessionId: sessionId)
        let answer = try await withThrowingTaskGroup(of: AssistantMessageResponse?.self) { group in
            group.addTask { try await assistant.send(assistantRequest) }
            group.addTask {
                await ClientPresence.untilGone(channel)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let answer else { throw CancellationError() }
        return try JSONResponse.make(answer)
    }
}
