import Foundation
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
        #expect(error == OpenCodeError(url: url + "/config/providers", cause: .connectionRefused))
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
            #expect(error?.message == "OpenCode at \(server.baseURL)/config/providers did not answer within 1 s")
            // Generous bound: the point is that it does not hang, not how fast it gives up.
            #expect(ContinuousClock.now - started < .seconds(20))
            server.standIn.mode = .normal
        }
    }

    @Test(arguments: [
        (StandInOpenCode.Mode.failing(status: 503), OpenCodeError.Cause.httpStatus(503)),
        (.failing(status: 404), .httpStatus(404)),
        (.garbage, .badPayload("not JSON")),
        (.wrongShape, .badPayload("expected an object with a \"providers\" array")),
    ])
    func failuresNameTheURLAndTheCause(mode: StandInOpenCode.Mode, cause: OpenCodeError.Cause) async throws {
        try await withStandInOpenCode { server in
            server.standIn.mode = mode
            let error = await #expect(throws: OpenCodeError.self) {
                try await OpenCodeClient(baseURL: server.baseURL).fetchCatalog()
            }
            #expect(error?.url == server.baseURL + "/config/providers")
            #expect(error?.cause == cause)
            #expect(error?.message.contains(server.baseURL + "/config/providers") == true)
        }
    }
}
