import Foundation
import Logging
import OttoContracts

/// The outcome of sending one prompt: the answer or why there is none, the session, and how many attempts it took.
struct PromptExchange: Sendable {
    enum Failure: Error, Sendable {
        /// The time limit passed; the session was asked to abort.
        case timedOut(seconds: Int)
        /// The task was cancelled (Otto is stopping, or the run lost its lease).
        case cancelled
        case openCode(OpenCodeError)

        var code: String {
            switch self {
            case .timedOut: "timeout"
            case .cancelled: "interrupted"
            case .openCode(let error): error.code
            }
        }

        var message: String {
            switch self {
            case .timedOut(let seconds):
                "the model did not answer within \(seconds) s; the OpenCode session was aborted"
            case .cancelled: "the run was stopped before the model answered"
            case .openCode(let error): error.message
            }
        }
    }

    var answer: Result<OpenCodeAnswer, Failure>
    var sessionId: String?
    var attempts: Int
}

/// Sends a prompt to OpenCode the way every execution path should: in a session of its own (or a given one), within
/// a time limit for all of its calls, retrying transient failures with exponential back-off and jitter, and
/// aborting the session in OpenCode when time runs out.
struct PromptSender: Sendable {
    let openCode: any OpenCodePrompting
    /// Extra attempts after a transient failure.
    let retries: Int
    let timeout: Duration
    /// What the prompts may do in OpenCode.
    var safety = OpenCodeSafety()
    /// The first back-off; each retry waits about twice as long as the one before.
    var backoff: Duration = .milliseconds(500)
    let logger: Logger

    /// - Parameters:
    ///   - model: nil lets OpenCode choose.
    ///   - agent: the OpenCode agent; nil: `safety.agent`.
    ///   - session: an existing session to continue, or nil for a new one titled `title`.
    ///   - messageId, mayHaveBeenDelivered: the prompt's id, and whether an earlier process may have sent it
    ///     already (Telegram's recovery after a restart: its answer is looked for before it is sent again).
    ///   - sessionStarted: told the id of a new session as soon as OpenCode created it, before the prompt is
    ///     sent, so that a run killed mid-prompt leaves the id behind for the next start to abort.
    ///
    /// A transport failure of the prompt call keeps the prompt's message id, so the retry finds a prompt that
    /// OpenCode stored before the response was lost instead of sending it twice; a model failure that OpenCode
    /// marks retryable is a new turn with a new id, after the wait OpenCode asks for.
    func send(
        _ text: String, model: ModelRef?, agent: String? = nil, session: String?, title: String,
        files: [OpenCodeFile] = [], messageId: String? = nil, mayHaveBeenDelivered: Bool = false,
        sessionStarted: @Sendable (String) async -> Void = { _ in }
    ) async -> PromptExchange {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let seconds = Int(timeout.components.seconds)
        let agent = agent ?? safety.agent
        var exchange = PromptExchange(answer: .failure(.cancelled), sessionId: session, attempts: 0)
        var prompt = OpenCodePrompt(
            text: text, model: model, agent: agent, safety: safety,
            messageId: messageId ?? OpenCodeMessageID.ascending(),
            mayHaveBeenDelivered: mayHaveBeenDelivered)
        prompt.files = files
        while true {
            exchange.attempts += 1
            var prompting = false
            do {
                let sessionId: String
                if let existing = exchange.sessionId {
                    sessionId = existing
                } else {
                    sessionId = try await openCode.createSession(
                        OpenCodeSessionRequest(title: title, model: model, agent: agent, safety: safety),
                        timeout: deadline - clock.now)
                    exchange.sessionId = sessionId
                    prompt.sessionIsNew = true
                    await sessionStarted(sessionId)
                }
                prompting = true
                let answer = try await openCode.prompt(sessionId: sessionId, prompt, timeout: deadline - clock.now)
                exchange.answer = .success(answer)
                return exchange
            } catch {
                if Task.isCancelled {
                    await abort(exchange.sessionId)
                    exchange.answer = .failure(.cancelled)
                    return exchange
                }
                if case .timedOut = error.cause {
                    await abort(exchange.sessionId)
                    exchange.answer = .failure(.timedOut(seconds: seconds))
                    return exchange
                }
                var wait = delay(beforeRetry: exchange.attempts)
                if case .modelError(_, _, _, let retryAfterMs?) = error.cause {
                    wait = max(wait, .milliseconds(min(retryAfterMs, 3_600_000)))
                }
                guard error.isTransient, exchange.attempts <= retries, clock.now + wait < deadline else {
                    exchange.answer = .failure(.openCode(error))
                    return exchange
                }
                if prompting, error.mayHaveDelivered {
                    prompt.mayHaveBeenDelivered = true
                } else if case .modelError = error.cause {
                    // OpenCode ran the turn and it failed: the retry is a new turn.
                    prompt.messageId = OpenCodeMessageID.ascending()
                    prompt.mayHaveBeenDelivered = false
                }
                logger.notice(
                    "transient OpenCode failure; retrying",
                    metadata: [
                        "attempt": "\(exchange.attempts)", "retryIn": "\(wait)", "error": "\(error.message)",
                    ])
                do {
                    try await Task.sleep(for: wait)
                } catch {
                    exchange.answer = .failure(.cancelled)
                    return exchange
                }
            }
        }
    }

    /// Exponential back-off with full jitter between half and one and a half times the step.
    func delay(beforeRetry attempt: Int) -> Duration {
        let step = backoff * (1 << min(attempt - 1, 10))
        return step * Double.random(in: 0.5..<1.5)
    }

    /// Asks OpenCode to stop the session, even when the task that owns it is being cancelled.
    private func abort(_ sessionId: String?) async {
        guard let sessionId else { return }
        let openCode = self.openCode
        let logger = self.logger
        await Task {
            do {
                try await openCode.abort(sessionId: sessionId, timeout: .seconds(10))
            } catch {
                logger.warning(
                    "could not abort the OpenCode session", metadata: ["session": "\(sessionId)", "error": "\(error)"])
            }
        }.value
    }
}
