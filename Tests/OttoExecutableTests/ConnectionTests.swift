import Foundation
import OttoContracts
import OttoTestSupport
import Testing

/// The external API's connections against the real binary: slow and idle clients are closed after their bounds,
/// and a request the HTTP parser rejects gets the API's error shape.
@Suite struct ConnectionTests {
    static let config =
        #"{"externalApi": {"requestHeadTimeoutSeconds": 1, "requestTimeoutSeconds": 2, "idleTimeoutSeconds": 3}, "heartbeat": {"enabled": false}, "watchdog": {"enabled": false}}"#

    static func port(_ otto: RunningOtto) -> Int { Int(otto.url.split(separator: ":").last ?? "") ?? 0 }

    /// `otto serve` with 1 s (head), 2 s (whole request) and 3 s (idle) connection bounds.
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

    @Test func aSlowBodyIsCutOffAtTheRequestBoundAndTheHeadBoundHoldsForEveryRequest() async throws {
        try await Self.withOtto { otto in
            let port = Self.port(otto)
            // A body declared as 1 MB that arrives a byte at a time: the whole request has 2 s.
            let slow = try RawConnection(port: port)
            slow.send(
                "POST /external/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(otto.token)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{")
            let started = ContinuousClock.now
            var closed = false
            for _ in 0..<40 where !closed {
                slow.send(" ")
                closed = await slow.readUntilClosed(within: .milliseconds(250)).closed
            }
            #expect(closed, "the slow body's connection was still open after 10 s")
            #expect(ContinuousClock.now - started < .seconds(6))

            // A second request on a keep-alive connection whose head never ends is closed like a first one.
            let keepAlive = try RawConnection(port: port)
            keepAlive.send("GET /external/health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(otto.token)\r\n\r\n")
            try await Task.sleep(for: .milliseconds(300))
            keepAlive.send("GET /external/health HTTP/1.1\r\nHost: x\r\n")
            let second = ContinuousClock.now
            var secondClosed = false
            for _ in 0..<40 where !secondClosed {
                keepAlive.send("X-Drip: 1\r\n")
                secondClosed = await keepAlive.readUntilClosed(within: .milliseconds(100)).closed
            }
            #expect(secondClosed)
            #expect(ContinuousClock.now - second < .milliseconds(2_500), "closed by the head bound, not the idle one")
        }
    }

    @Test func anUnauthenticatedRequestWithABodyIsAnsweredAndClosedWithoutReadingIt() async throws {
        try await Self.withOtto { otto in
            let connection = try RawConnection(port: Self.port(otto))
            connection.send(
                "POST /external/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 1000000\r\n\r\n{\"a\":")
            let answer = await connection.readUntilClosed(within: .milliseconds(1_500))
            #expect(answer.text.hasPrefix("HTTP/1.1 401"), "\(answer.text.prefix(200))")
            #expect(answer.text.lowercased().contains("connection: close"))
            #expect(answer.closed, "the connection waited for a body nobody reads")
        }
    }

    /// Otto under a hard limit of 256 descriptors, flooded with 300 connections that never finish their head:
    /// it holds at most its connection limit (the rest wait in the listen backlog), so accepting never fails with
    /// EMFILE (which NIO retries in a busy loop) and a request that must open a file still can.
    @Test func aFloodOfConnectionsLeavesDescriptorsForOttosOwnWork() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(
            #"{"externalApi": {"requestHeadTimeoutSeconds": 30, "requestTimeoutSeconds": 30, "idleTimeoutSeconds": 60}, "heartbeat": {"enabled": false}, "watchdog": {"enabled": false}}"#
        )
        try await withStandInOpenCode { server in
            let otto = try await RunningOtto.start(home: home, openCode: server.baseURL, descriptorLimit: 256)
            defer { otto.child.signal(SIGTERM) }
            #expect(otto.child.stderr.contains("maxConnections=128"), "\(otto.child.stderr)")
            let (port, token) = (Self.port(otto), otto.token)

            // A keep-alive connection opened before the flood.
            let kept = try RawConnection(port: port)
            kept.send("GET /external/health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n")
            #expect(await kept.readUntilClosed(within: .milliseconds(500)).text.hasPrefix("HTTP/1.1 200"))

            var flood: [RawConnection] = []
            for _ in 0..<300 {
                let connection = try RawConnection(port: port)
                connection.send("GET /external/health HTTP/1.1\r\nHost: x\r\n")
                flood.append(connection)
            }
            try await Task.sleep(for: .seconds(1))
            let held = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(otto.child.pid)/fd").count
            #expect(held < 256 - 64, "otto holds \(held) of its 256 descriptors")

            // Writing config.jsonc opens a temporary file: possible only with descriptors to spare.
            let body =
                #"{"flowDefaults": {"interactiveAssistant": null, "scheduledTasks": "openai/gpt-5", "heartbeat": null, "watchdogFailures": null}}"#
            kept.send(
                "PUT /external/models/defaults HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let answer = await kept.readUntilClosed(within: .seconds(2)).text
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(300))")
            let config = try String(contentsOfFile: home.configPath, encoding: .utf8)
            #expect(config.contains("openai/gpt-5"))

            // Once the flood goes away, the connections that waited in the backlog and new ones are served.
            flood.removeAll()
            try await Task.sleep(for: .milliseconds(500))
            let fresh = try RawConnection(port: port)
            fresh.send("GET /external/health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n")
            #expect(await fresh.readUntilClosed(within: .seconds(3)).text.hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test func httpDetails() async throws {
        try await Self.withOtto { otto in
            let port = Self.port(otto)
            let auth = "Authorization: Bearer \(otto.token)\r\n"
            // HTTP/1.0 without keep-alive: answered, then closed.
            let old = try RawConnection(port: port)
            old.send("GET /external/health HTTP/1.0\r\nHost: x\r\n\(auth)\r\n")
            let oldAnswer = await old.readUntilClosed(within: .milliseconds(1_500))
            #expect(oldAnswer.text.contains(" 200 "), "\(oldAnswer.text.prefix(200))")
            #expect(oldAnswer.closed, "an HTTP/1.0 connection without keep-alive stayed open")

            // A malformed chunked body is 400 in the error shape, not 500.
            let chunked = try RawConnection(port: port)
            chunked.send(
                "POST /external/jobs HTTP/1.1\r\nHost: x\r\n\(auth)Content-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n")
            let chunkedAnswer = await chunked.readUntilClosed(within: .seconds(3))
            #expect(chunkedAnswer.text.hasPrefix("HTTP/1.1 400"), "\(chunkedAnswer.text.prefix(300))")
            #expect(chunkedAnswer.text.contains("invalid_request"))

            // HEAD answers like GET, without the body.
            let head = try RawConnection(port: port)
            head.send("HEAD /external/health HTTP/1.1\r\nHost: x\r\n\(auth)Connection: close\r\n\r\n")
            let headAnswer = await head.readUntilClosed(within: .seconds(3))
            #expect(headAnswer.text.hasPrefix("HTTP/1.1 200"), "\(headAnswer.text.prefix(300))")
            #expect(headAnswer.text.lowercased().contains("content-type: application/json"))
            #expect(headAnswer.text.hasSuffix("\r\n\r\n"), "no body after the head")

            // More than one space between Bearer and the token (RFC 7235: 1*SP).
            let spaced = try RawConnection(port: port)
            spaced.send(
                "GET /external/health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer    \(otto.token)\r\n"
                    + "Connection: close\r\n\r\n")
            let spacedAnswer = await spaced.readUntilClosed(within: .seconds(3))
            #expect(spacedAnswer.text.hasPrefix("HTTP/1.1 200"), "\(spacedAnswer.text.prefix(200))")
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
