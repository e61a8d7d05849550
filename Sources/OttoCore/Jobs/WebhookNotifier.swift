import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OttoContracts

/// Posts the heartbeat's digest and the watchdog's alerts to `notifications.webhookUrl` as
/// `{"kind", "jobId", "runId", "text", "createdAt"}`, which ntfy, Gotify, Home Assistant and most chat bridges
/// accept. A failed delivery is retried, then logged and noted on the run; it never fails the run.
struct WebhookNotifier: Sendable {
    struct Message: Encodable, Sendable {
        let kind: String
        let jobId: String
        let runId: String
        let text: String
        let createdAt: Int64
    }

    /// What happened to one message, as noted on the run's result.
    struct Delivery: Encodable, Sendable, Equatable {
        let delivered: Bool
        let attempts: Int
        let error: String?
    }

    let url: String
    var attempts = 3
    var backoff: Duration = .seconds(1)
    var timeout: Duration = .seconds(10)
    let httpClient: HTTPClient
    let logger: Logger

    /// The URL's scheme, host and port only, for logs and notes: webhook URLs carry their secret in the path
    /// (Slack, Discord) or the query (ntfy, Gotify).
    var redactedURL: String {
        guard let origin = Self.origin(url) else { return "the webhook URL" }
        return origin + "/…"
    }

    /// `scheme://host[:port]` of a webhook URL, without the path and query that hold its secret.
    static func origin(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host
        else { return nil }
        return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")"
    }

    /// Delivers `message` within `budget` (what is left of the run's own time limit): each attempt is bounded by
    /// `timeout` from the first byte sent to the last byte received, so a receiver that sends a head and then
    /// stalls is a failed attempt, and retries stop when the budget is spent.
    func deliver(_ message: Message, within budget: Duration) async -> Delivery {
        let clock = ContinuousClock()
        let deadline = clock.now + budget
        let body = ByteBuffer(bytes: (try? JSONEncoder().encode(message)) ?? Data())
        var lastError = "the run's time limit was reached before the notification could be sent"
        var made = 0
        for attempt in 1...attempts {
            let remaining = deadline - clock.now
            guard remaining > .zero else { break }
            made = attempt
            let limit = min(timeout, remaining)
            do {
                let url = self.url
                let httpClient = self.httpClient
                let status = try await withDeadline(limit) { () async throws -> UInt in
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.headers.add(name: "User-Agent", value: "otto")
                    request.body = .bytes(body)
                    let response = try await httpClient.execute(request, timeout: .nanoseconds(Self.nanoseconds(limit)))
                    // The body is read to its end (a stalled one fails the attempt at the deadline) and dropped.
                    for try await _ in response.body {}
                    return response.status.code
                }
                if let status, (200..<300).contains(status) {
                    return Delivery(delivered: true, attempts: attempt, error: nil)
                }
                lastError =
                    status.map { "\(redactedURL) answered HTTP \($0)" }
                    ?? "\(redactedURL) did not complete its answer within \(Self.seconds(limit)) s"
            } catch {
                if Task.isCancelled {
                    lastError = "the run was stopped while the notification was being sent"
                    break
                }
                lastError = "cannot reach \(redactedURL): \(UpstreamText.scrubbed(Self.describe(error)))"
            }
            if attempt < attempts {
                let pause = backoff * (1 << (attempt - 1))
                guard clock.now + pause < deadline else { break }
                do {
                    try await Task.sleep(for: pause)
                } catch {
                    break
                }
            }
        }
        logger.warning(
            "notification not delivered",
            metadata: ["kind": "\(message.kind)", "job": "\(message.jobId)", "error": "\(lastError)"])
        return Delivery(delivered: false, attempts: made, error: lastError)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 { OpenCodeClient.nanoseconds(duration) }

    private static func seconds(_ duration: Duration) -> String {
        let milliseconds = Scheduler.milliseconds(duration)
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)" : String(format: "%.1f", Double(milliseconds) / 1000)
    }

    private static func describe(_ error: any Error) -> String {
        OpenCodeClient.transportFailure(error, timedOut: "timed out")
    }
}

extension OpenCodeClient {
    /// Why a request to a server that is not OpenCode (a webhook receiver, Telegram) failed, in the words the
    /// OpenCode client uses for the same failures.
    static func transportFailure(_ error: any Error, timedOut: String, timeoutSeconds: Int = 10) -> String {
        switch cause(of: error, timeoutSeconds: timeoutSeconds) {
        case .connectionRefused: "connection refused"
        case .timedOut: timedOut
        case .unreachable(let reason), .connectionLost(let reason), .badPayload(let reason): reason
        case .httpStatus(let status), .unauthorized(let status, _): "HTTP \(status)"
        case .modelError(let name, _, _, _): name
        case .notOpenCode, .protocolMismatch: "an unexpected answer"
        }
    }
}
