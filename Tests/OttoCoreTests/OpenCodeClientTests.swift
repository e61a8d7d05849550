import Foundation
import Hummingbird
import Logging
import NIOCore
import OpenCodeStandIn
import OttoContracts
import OttoTestSupport
import Testing

@testable import OttoCore

/// The catalog client against the stand-in OpenCode server over real HTTP on loopback.
@Suite struct OpenCodeClientTests {
    @Test func theWholeFixtureCatalogIsFetchedSortedAndDeduplicated() async throws {
        try await withStandInOpenCode { server in
            let catalog = try await OpenCodeClient(baseURL: server.baseURL).fetchCatalog()
            #expect(catalog.refs.count == 4_803)
            #expect(catalog.refs.map(\.description) == Fixtures.expectedRefs)
            #expect(catalog.globalDefault?.description == "anthropic/claude-opus-4-7")
        }
    }

    @Test func malformedEntriesAreSkippedAndExtraFieldsIgnored() async throws {
        let body = #"""
            {"providers": [
              {"id": "good", "extra": {"deep": [1, 2]}, "models": {
                 "b model": {"id": "b model", "cost": {"tiers": []}},
                 "a/nested:1": {},
                 "not-an-object": "x",
                 "": {}}},
              {"id": "good", "models": {"a/nested:1": {}}},
              {"name": "no id", "models": {"m": {}}},
              {"id": "bad provider", "models": {"m": {}}},
              {"id": "no-models"},
              {"id": "models-not-object", "models": ["m"]},
              "not even an object",
              {"id": "ctl", "models": {"bad\u0007id": {}}}
            ], "default": {}, "somethingNew": true}
            """#
        let standIn = StandInOpenCode(providersBody: Data(body.utf8), configBody: Data(#"{"theme": "x"}"#.utf8))
        try await withStandInOpenCode(standIn) { server in
            let catalog = try await OpenCodeClient(baseURL: server.baseURL).fetchCatalog()
            #expect(catalog.refs.map(\.description) == ["good/a/nested:1", "good/b model"])
            #expect(catalog.globalDefault == nil)
        }
    }

    @Test func connectionRefusedIsReportedAsSuch() async throws {
        let url = "http://127.0.0.1:\(closedLoopbackPort())"
        let error = await #expect(throws: OpenCodeError.self) {
            try await OpenCodeClient(baseURL: url).fetchCatalog()
        }
        // Nothing answers at all: the error is about the server, not one of its routes.
        #expect(error == OpenCodeError(url: url, cause: .connectionRefused))
        #expect(error?.message.contains("connection refused") == true)
    }

    @Test func aHangingServerTimesOut() async throws {
        try await withStandInOpenCode { server in
            server.standIn.mode = .hanging
            let started = ContinuousClock.now
            let error = await #expect(throws: OpenCodeError.self) {
                try await OpenCodeClient(baseURL: server.baseURL, timeout: .seconds(1)).fetchCatalog()
            }
            #expect(error?.cause == .timedOut(seconds: 1))
            #expect(error?.message == "OpenCode at \(server.baseURL) did not answer within 1 s")
            // Generous bound: the point is that it does not hang, not how fast it gives up.
            #expect(ContinuousClock.now - started < .seconds(20))
            server.standIn.mode = .normal
        }
    }

    /// A failing OpenCode is reported as one, with the route and its words; a server of another kind as that.
    @Test(arguments: openCodeProtocols) func failuresNameTheURLAndTheCause(protocolVersion: Int) async throws {
        try await withStandInOpenCode(fixtureStandIn(protocolVersion: protocolVersion)) { server in
            let client = OpenCodeClient(baseURL: server.baseURL)
            server.standIn.mode = .failing(status: 503)
            let failing = await #expect(throws: OpenCodeError.self) { try await client.fetchCatalog() }
            let route = protocolVersion == 2 ? "/api/info" : "/global/health"
            #expect(failing?.url == server.baseURL + route)
            #expect(failing?.cause == .httpStatus(503))
            #expect(failing?.isTransient == true)
            #expect(failing?.message == "OpenCode at \(server.baseURL)\(route) answered HTTP 503: stand-in failure")

            // An OpenCode whose catalog route answers garbage: named as that route's unexpected body.
            let catalogRoute = protocolVersion == 2 ? "/api/model" : "/config/providers"
            for mode in [StandInOpenCode.Mode.garbage, .wrongShape] {
                server.standIn.mode = mode
                let error = await #expect(throws: OpenCodeError.self) { try await client.fetchCatalog() }
                #expect(error?.code == "opencode_bad_response")
                #expect(error?.url == server.baseURL + catalogRoute)
                if mode == .garbage {
                    #expect(
                        error?.cause
                            == .badPayload(
                                protocolVersion == 2
                                    ? "expected {\"data\": [ModelInfo]} from GET /api/model" : "not JSON"))
                }
            }
        }
    }

    /// A web server that is not OpenCode: one error naming the URL, what answered (status, content type, the first
    /// 200 bytes with control characters escaped) and the versions Otto speaks.
    @Test func aServerThatIsNeitherProtocolGetsOneClearError() async throws {
        try await withLoopbackServer(
            { onRunning in
                let router = Router()
                router.get("**") { _, _ in
                    Response(
                        status: .ok, headers: [.contentType: "text/html"],
                        body: .init(
                            byteBuffer: ByteBuffer(string: "<html>\n\u{1B}[31m" + String(repeating: "a", count: 400))))
                }
                return Application(
                    router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                    onServerRunning: { await onRunning($0.localAddress?.port ?? 0) })
            }, logger: Logger(label: "web")
        ) { port in
            let url = "http://127.0.0.1:\(port)"
            let error = await #expect(throws: OpenCodeError.self) {
                try await OpenCodeClient(baseURL: url).fetchCatalog()
            }
            let message = error?.message ?? ""
            #expect(
                message.hasPrefix(
                    "the server at \(url) is not an OpenCode that this Otto speaks: GET \(url)/api/info "
                        + #"answered HTTP 200 text/html "<html>\n\x1b[31maaa"#), "\(message)")
            #expect(message.contains(String(repeating: "a", count: 188) + "\"…; this Otto supports OpenCode 1.x"))
            #expect(!message.contains(String(repeating: "a", count: 200)))
            #expect(message.hasSuffix("and 2.x (the 2.1 API under /api/)"))

            let pinned = await #expect(throws: OpenCodeError.self) {
                try await OpenCodeClient(baseURL: url, dialect: OpenCodeDialect(pinned: .v2)).fetchCatalog()
            }
            #expect(
                pinned?.message.hasPrefix(#"opencode.protocol is "2", but the server at \#(url) does not speak"#)
                    == true)
        }
    }

    /// Detection: each protocol found, its version logged once in the exact form, and a pinned protocol that the
    /// server does not speak is an error naming the URL.
    @Test(arguments: openCodeProtocols) func theProtocolAndVersionAreDetected(protocolVersion: Int) async throws {
        try await withStandInOpenCode(fixtureStandIn(protocolVersion: protocolVersion)) { server in
            let dialect = OpenCodeDialect()
            let client = OpenCodeClient(baseURL: server.baseURL, dialect: dialect)
            let catalog = try await client.fetchCatalog()
            let expected = protocolVersion == 2 ? OpenCodeProtocolVersion.v2 : .v1
            #expect(
                catalog.server == OpenCodeServerIdentity(version: server.standIn.version, protocolVersion: expected))
            #expect(catalog.serverChanged)
            #expect(dialect.protocolVersion == expected)
            #expect(
                catalog.server?.logLine(baseURL: server.baseURL)
                    == "OpenCode \(server.standIn.version) at \(server.baseURL) (protocol \(protocolVersion))")
            // 2.x lists its deprecated models as disabled: those are not in the catalog.
            #expect(catalog.refs.count == (protocolVersion == 2 ? 4_803 - 64 : 4_803))
            #expect(catalog.globalDefault?.description == "anthropic/claude-opus-4-7")
            #expect(try await client.fetchCatalog().serverChanged == false, "logged once, not at every refresh")

            let other: OpenCodeProtocolVersion = expected == .v1 ? .v2 : .v1
            let mismatch = await #expect(throws: OpenCodeError.self) {
                try await OpenCodeClient(baseURL: server.baseURL, dialect: OpenCodeDialect(pinned: other))
                    .fetchCatalog()
            }
            #expect(mismatch?.code == "opencode_unsupported")
            #expect(mismatch?.message.contains("does not speak OpenCode's protocol \(other.rawValue)") == true)
            #expect(mismatch?.message.contains(server.baseURL) == true)
            let pinned = try await OpenCodeClient(baseURL: server.baseURL, dialect: OpenCodeDialect(pinned: expected))
                .fetchCatalog()
            #expect(pinned.server?.protocolVersion == expected)
        }
    }

    /// A 1.x too old for `/global/health` is found by its catalog route, its version unknown.
    @Test func anOld1xWithoutHealthIsFoundByItsCatalog() async throws {
        try await withLoopbackServer(
            { onRunning in
                let router = Router()
                router.get("/config/providers") { _, _ in
                    Response(status: .ok, body: .init(byteBuffer: ByteBuffer(data: Fixtures.providersBody)))
                }
                router.get("/config") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "{}")))
                }
                return Application(
                    router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                    onServerRunning: { await onRunning($0.localAddress?.port ?? 0) })
            }, logger: Logger(label: "old")
        ) { port in
            let url = "http://127.0.0.1:\(port)"
            let catalog = try await OpenCodeClient(baseURL: url).fetchCatalog()
            #expect(catalog.server?.logLine(baseURL: url) == "OpenCode (version unknown) at \(url) (protocol 1)")
            #expect(catalog.refs.count == 4_803)
            #expect(catalog.globalDefault == nil)
        }
    }
}
