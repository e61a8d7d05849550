import Foundation
import Logging
import OttoContracts
import Synchronization

/// The interactive assistant: a message to the `interactiveAssistant` flow's model, in a new OpenCode session or a
/// given one. The message text is never logged.
public struct AssistantService: Sendable {
    let resolver: ModelResolver
    let openCode: any OpenCodePrompting
    let sender: PromptSender
    let logger: Logger
    /// Messages in flight, at most `maxConcurrent`.
    private let inFlight: Slots

    public init(
        resolver: ModelResolver, openCode: any OpenCodePrompting, timeout: Duration, retries: Int,
        maxConcurrent: Int = 8, safety: OpenCodeSafety = .init(), logger: Logger
    ) {
        self.resolver = resolver
        self.openCode = openCode
        self.sender = PromptSender(
            openCode: openCode, retries: retries, timeout: timeout, safety: safety, logger: logger)
        self.logger = logger
        self.inFlight = Slots(maxConcurrent)
    }

    /// Answers one message. Cancelling the calling task (the API client went away) stops the prompt and aborts
    /// its OpenCode session. Beyond `maxConcurrent` messages in flight a new one is refused as `busy`.
    public func send(_ request: AssistantMessageRequest) async throws -> AssistantMessageResponse {
        guard inFlight.take() else {
            throw DomainError.busy(
                "\(inFlight.capacity) assistant messages are in flight, the most assistant.maxConcurrent allows; "
                    + "try again shortly",
                retryAfterSeconds: 5)
        }
        defer { inFlight.give() }
        return try await answer(request)
    }

    private func answer(_ request: AssistantMessageRequest) async throws -> AssistantMessageResponse {
        var issues: [FieldIssue] = []
        if request.message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            issues.append(FieldIssue(path: "message", message: "must not be empty"))
        } else if request.message.utf8.count > AssistantMessageRequest.maxMessageBytes {
            issues.append(
                FieldIssue(
                    path: "message",
                    message: "is longer than \(AssistantMessageRequest.maxMessageBytes) bytes"))
        }
        if let session = request.sessionId, let issue = Self.sessionIdIssue(session) {
            issues.append(FieldIssue(path: "sessionId", message: issue))
        }
        if !issues.isEmpty { throw DomainError.invalid(issues) }

        let model: ResolvedModel
        do {
            model = try resolver.resolve(flow: .interactiveAssistant, jobModelRef: nil)
        } catch {
            throw DomainError.upstreamUnavailable(error.message)
        }
        if let session = request.sessionId {
            let known: Bool
            do {
                known = try await openCode.sessionExists(session, timeout: .seconds(10))
            } catch {
                throw DomainError.upstreamUnavailable(error.message)
            }
            guard known else { throw DomainError.notFound("OpenCode has no session \"\(session)\"") }
        }
        let exchange = await sender.send(
            request.message, model: model.ref, session: request.sessionId, title: "otto assistant")
        switch exchange.answer {
        case .success(let answer):
            logger.info(
                "assistant answered",
                metadata: [
                    "session": "\(exchange.sessionId ?? "")",
                    "model": "\(model.ref?.description ?? "chosen by OpenCode")",
                    "source": "\(model.source.rawValue)",
                    "answeredBy": "\(answer.answeredBy?.description ?? "unknown")",
                    "attempts": "\(exchange.attempts)", "refused": "\(answer.refused.count)",
                ])
            if let requested = model.ref, let answeredBy = answer.answeredBy, requested != answeredBy {
                logger.warning(
                    "OpenCode answered with another model than the one Otto asked for",
                    metadata: [
                        "flow": "\(RuntimeModelFlow.interactiveAssistant)", "requested": "\(requested)",
                        "answeredBy": "\(answeredBy)",
                    ])
            }
            return AssistantMessageResponse(
                sessionId: exchange.sessionId ?? "", reply: answer.text,
                model: .init(ref: model.ref, source: model.source, answeredBy: answer.answeredBy))
        case .failure(.cancelled):
            logger.notice(
                "assistant message abandoned by its client; the prompt was stopped",
                metadata: ["session": "\(exchange.sessionId ?? "")"])
            throw CancellationError()
        case .failure(.openCode(let error)) where error.cause == .httpStatus(404):
            throw DomainError.notFound("OpenCode has no session \"\(exchange.sessionId ?? "")\"")
        case .failure(let failure):
            logger.warning("assistant message failed", metadata: ["error": "\(failure.message)"])
            throw DomainError.upstreamUnavailable(failure.message)
        }
    }

    /// OpenCode's session ids are letters, digits and `_`/`-`; anything else is refused before it reaches a URL.
    static func sessionIdIssue(_ id: String) -> String? {
        if id.isEmpty { return "must not be empty; leave it out to start a new session" }
        if id.count > AssistantMessageRequest.maxSessionIdLength {
            return "is longer than \(AssistantMessageRequest.maxSessionIdLength) characters"
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        if !id.allSatisfy(allowed.contains) {
            return "may contain only letters, digits, \"_\" and \"-\""
        }
        return nil
    }
}

/// A counter of slots taken, never above its capacity.
final class Slots: Sendable {
    let capacity: Int
    private let taken = Mutex(0)

    init(_ capacity: Int) { self.capacity = max(1, capacity) }

    func take() -> Bool {
        taken.withLock { count in
            guard count < capacity else { return false }
            count += 1
            return true
        }
    }

    func give() { taken.withLock { $0 = max(0, $0 - 1) } }
}
