import Foundation
import OttoContracts
import OttoTestSupport
import Testing

/// The external API's connections against the real binary: slow and idle clients are closed after their bounds,
/// and a request the HTTP parser rejects gets the API's error shape.
@Suite struct ConnectionTests {
    static let config =
        #"{"externalApi": {"requestHeadTimeoutSeconds": 1, "idleTimeoutSeconds": 2}, "heartbeat": {"enabled": false}, "watchdog": {"enabled": false}}"#

    static func port(_ otto: RunningOtto) -> Int { Int(otto.url.split(separator: ":").last ?? "") ?? 0 }

    /// `otto serve` with 1 s and 2 s connection bounds.
    static func withOtto(_ body: @Sendable (RunningOtto) async throws -> Void) async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(Self.config)
        try await withStandInOpenCode { server in
            let otto = try await RunningOtto.start(home: home, openCode: server.baseURL)
            defer { otto.child.signal(SIGTERM) }
            try await body(otto)
        }
    }

    @Test func aSlowRequestHeadAndAnIdleKeepAliveConnectionAreClosed() async throws {
        try await Self.withOtto { otto in
            #expect(otto.child.stderr.contains("msg=\"file descriptor limit\""))

            // A slowloris: a head that never ends, a few bytes at a time.
            let slow = try RawConnection(port: Self.port(otto))
            slow.send("GET /external/health HTTP/1.1\r\nHost: x\r\n")
            let started = ContinuousClock.now
            var closed = false
            for _ in 0..<20 where !closed {
                slow.send("X-Drip: 1\r\n")
                closed = await slow.readUntilClosed(within: .milliseconds(250)).closed
            }
            #expect(closed, "the connection was still open after 5 s")
            #expect(ContinuousClock.now - started < .seconds(4))

            // One request on a keep-alive connection, then silence: closed after the idle bound.
            let idle = try RawConnection(port: Self.port(otto))
            idle.send("GET /external/health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(otto.token)\r\n\r\n")
            let answer = await idle.readUntilClosed(within: .seconds(5))
            #expect(answer.text.hasPrefix("HTTP/1.1 200"))
            #expect(answer.closed, "the idle keep-alive connection stayed open")

            // The API still answers.
            #expect(try await otto.api("/external/health").count > 0)
        }
    }

    @Test(arguments: [
        ("GET /external/health HTTP/1.1\r\nHost: x\r\nX-Bad: a\u{0}b\r\n\r\n", "a header holds a character"),
        (
            "GET /external/health HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 90_000))\r\n\r\n",
            "larger than 80 KiB"
        ),
        ("BREW /external/health HTTP/1.1\r\nHost: x\r\n\r\n", "not an HTTP method"),
    ])
    func aRequestTheParserRejectsGetsTheErrorShape(request: String, problem: String) async throws {
        try await Self.withOtto { otto in
            let connection = try RawConnection(port: Self.port(otto))
            connection.send(
                request.replacingOccurrences(of: "Host: x", with: "Host: x\r\nAuthorization: Bearer \(otto.token)"))
            let answer = await connection.readUntilClosed(within: .seconds(5))
            #expect(answer.text.hasPrefix("HTTP/1.1 400"), "\(answer.text.prefix(200))")
            #expect(answer.closed)
            #expect(!answer.text.contains(otto.token))
            let body = try #require(answer.text.components(separatedBy: "\r\n\r\n").last)
            let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(body.utf8))
            #expect(error.error == "invalid_request")
            #expect(error.message.contains(problem), "\(error.message)")
        }
    }
}
