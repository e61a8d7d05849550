import Foundation
import OttoContracts
import OttoTestSupport
import Testing

/// Assistant messages whose clients go away, against the real binary and a hung OpenCode: their prompts are
/// stopped and their sessions aborted, the messages in flight are bounded, and nothing else loses its connections.
@Suite struct AssistantLoadTests {
    static let config =
        #"{"assistant": {"maxConcurrent": 3}, "heartbeat": {"enabled": false}, "watchdog": {"enabled": false}}"#

    static func port(_ otto: RunningOtto) -> Int { Int(otto.url.split(separator: ":").last ?? "") ?? 0 }

    static func message(_ otto: RunningOtto, _ text: String) -> String {
        let body = #"{"message": "\#(text)"}"#
        return "POST /external/assistant/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(otto.token)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    @Test(arguments: openCodeProtocols) func abandonedMessagesAreAbortedAndTheInFlightBoundIsA429(protocolVersion: Int)
        async throws
    {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(Self.config)
        try await withStandInOpenCode(fixtureStandIn(protocolVersion: protocolVersion)) { server in
            let otto = try await RunningOtto.start(home: home, openCode: server.baseURL)
            defer { otto.child.signal(SIGTERM) }
            // Three hung prompts fill the bound.
            var clients: [RawConnection] = []
            for index in 0..<3 {
                let client = try RawConnection(port: Self.port(otto))
                client.send(Self.message(otto, "[[hang]] \(index)"))
                clients.append(client)
            }
            for _ in 0..<200 where server.standIn.receivedPrompts.count < 3 {
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(server.standIn.receivedPrompts.count == 3)

            // A fourth is refused at once, with when to try again.
            let fourth = try RawConnection(port: Self.port(otto))
            fourth.send(Self.message(otto, "one more"))
            let refused = await fourth.readUntilClosed(within: .seconds(2))
            #expect(refused.text.hasPrefix("HTTP/1.1 429"), "\(refused.text.prefix(300))")
            #expect(refused.text.lowercased().contains("retry-after: 5"))
            #expect(refused.text.contains("too_many_requests") && refused.text.contains("assistant.maxConcurrent"))

            // The three clients hang up: their sessions are aborted and their slots come back.
            clients.removeAll()
            for _ in 0..<200 where server.standIn.abortedSessions.count < 3 {
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(server.standIn.abortedSessions.count == 3, "\(server.standIn.abortedSessions)")
            #expect(otto.child.stderr.contains("assistant message abandoned by its client"))

            // A new message is answered, and a catalog refresh still works.
            let answer = try await otto.api(
                "/external/assistant/messages", method: "POST", body: #"{"message": "hello again"}"#)
            let reply = try JSONDecoder().decode(AssistantMessageResponse.self, from: answer)
            #expect(!reply.reply.isEmpty)
            let refreshed = try await otto.api("/external/models/refresh", method: "POST")
            #expect(String(decoding: refreshed, as: UTF8.self).contains("\"count\""))
        }
    }
}
