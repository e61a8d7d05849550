import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

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
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host
        else { return "the webhook URL" }
        return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")/…"
    }

    func deliver(_ message: Message) async -> Delivery {
        let body = ByteBuffer(bytes: (try? JSONEncoder().encode(message)) ?? Data())
        var lastError = ""
        for attempt in 1...attempts {
            do {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.headers.add(name: "User-Agent", value: "otto")
                request.body = .bytes(body)
                let response = try await httpClient.execute(request, timeout: .seconds(timeout.components.seconds))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if (200..<300).contains(response.status.code) {
                    return Delivery(delivered: true, attempts: attempt, error: nil)
                }
                lastError = "\(redactedURL) answered HTTP \(response.status.code)"
            } catch {
                lastError = "cannot reach \(redactedURL): \(Self.describe(error))"
            }
            if attempt < attempts {
                do {
                    try await Task.sleep(for: backoff * (1 << (attempt - 1)))
                } catch {
                    break
                }
            }
        }
        logger.warning(
            "notification not delivered",
            metadata: ["kind": "\(message.kind)", "job": "\(message.jobId)", "error": "\(lastError)"])
        return Delivery(delivered: false, attempts: attempts, error: lastError)
    }

    /// Why the request failed, in the words the OpenCode client uses for the same failures.
    private static func describe(_ error: any Error) -> String {
        switch OpenCodeClient.cause(of: error, timeoutSeconds: 10) {
        case .connectionRefused: "connection refused"
        case .timedOut: "timed out"
        case .unreachable(let reason), .connectionLost(let reason), .badPayload(let reason): reason
        case .httpStatus(let status): "HTTP \(status)"
        case .modelError(let name, _, _): name
        }
    }
}
