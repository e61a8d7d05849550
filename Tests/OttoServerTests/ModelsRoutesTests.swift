import CompressNIO
import Foundation
import Hummingbird
import OpenCodeStandIn
import OttoContracts
import OttoTestSupport
import Testing

@Suite struct ModelsRoutesTests {
    static func defaultsJSON(_ values: [String: String?]) -> String {
        let flows = ["interactiveAssistant", "scheduledTasks", "heartbeat", "watchdogFailures"]
        let members = flows.map { flow in
            let value = values[flow] ?? nil
            return "\"\(flow)\": " + (value.map { "\"\($0)\"" } ?? "null")
        }
        return "{\"flowDefaults\": {" + members.joined(separator: ", ") + "}}"
    }

    @Test func theCatalogListsTheWholeFixture() async throws {
        try await APIHarness.run { api in
            let catalog = try await api.call(.get, "/external/models/catalog").decode(CatalogResponse.self)
            #expect(catalog.models == Fixtures.expectedRefs)
            #expect(catalog.source == .network)
            #expect(catalog.updatedAt == api.runtime.catalog.snapshot.updatedAt)
        }
    }

    @Test func aRefreshWithOpenCodeDownIs502AndTheOldCatalogIsStillServed() async throws {
        try await APIHarness.run { api in
            api.server.standIn.setProvidersBody(Fixtures.providersBody(["small": ["a", "b"]]))
            let refreshed = try await api.call(.post, "/external/models/refresh").decode(RefreshResponse.self)
            #expect(refreshed.status == "ok")
            #expect(refreshed.count == 2)
            #expect(
                try await api.call(.get, "/external/models/catalog").decode(CatalogResponse.self).models == [
                    "small/a", "small/b",
                ])

            api.server.standIn.mode = .failing(status: 503)
            let failed = try await api.call(.post, "/external/models/refresh")
            #expect(failed.status == .badGateway)
            #expect(failed.error?.error == "upstream_unavailable")
            #expect(failed.error?.message.contains("answered HTTP 503") == true)
            #expect(failed.error?.message.contains(api.server.baseURL) == true)
            let still = try await api.call(.get, "/external/models/catalog").decode(CatalogResponse.self)
            #expect(still.models == ["small/a", "small/b"])
            #expect(still.updatedAt == refreshed.updatedAt)

            let audit = try await api.call(.get, "/external/audit?command=external_models_refresh")
                .decode(CommandAuditResponse.self).entries
            #expect(audit.map(\.status) == [.failed, .success])
            #expect(audit[0].errorMessage?.contains("answered HTTP 503") == true)
        }
    }

    @Test func defaultsRoundTripWithAnETagAndAreWrittenToTheConfigFile() async throws {
        try await APIHarness.run { api in
            let first = try await api.call(.get, "/external/models/defaults")
            #expect(try first.decode(FlowDefaultsBody.self).flowDefaults == FlowDefaults())
            let etag = try #require(first.headers[.eTag])

            let body = Self.defaultsJSON([
                "interactiveAssistant": "openai/gpt-5", "heartbeat": "nano-gpt/NousResearch 2/hermes-4-405b",
            ])
            let put = try await api.call(.put, "/external/models/defaults", json: body, headers: [.ifMatch: etag])
            #expect(put.status == .ok)
            let stored = try put.decode(FlowDefaultsBody.self).flowDefaults
            #expect(stored.interactiveAssistant?.description == "openai/gpt-5")
            #expect(stored.heartbeat?.description == "nano-gpt/NousResearch 2/hermes-4-405b")
            let newETag = try #require(put.headers[.eTag])
            #expect(newETag != etag)
            #expect(try await api.call(.get, "/external/models/defaults").headers[.eTag] == newETag)
            // Applied at once: the resolver uses it, and the operator's file holds it.
            let resolved = try api.runtime.resolver.resolve(flow: .heartbeat, jobModelRef: nil)
            #expect(resolved.ref?.description == "nano-gpt/NousResearch 2/hermes-4-405b")
            #expect(resolved.source == .flowDefault)
            #expect(try api.home.readConfig().contains("\"heartbeat\": \"nano-gpt/NousResearch 2/hermes-4-405b\""))

            // A stale ETag changes nothing.
            let stale = try await api.call(
                .put,
                "/external/models/defaults",
                json: Self.defaultsJSON(["scheduledTasks": "openai/gpt-5"]),
                headers: [.ifMatch: etag]
            )
            #expect(stale.status == .preconditionFailed)
            #expect(stale.error?.error == "precondition_failed")
            // The current ETag made weak does not match either: If-Match compares strongly.
            let weak = try await api.call(
                .put, "/external/models/defaults", json: Self.defaultsJSON(["scheduledTasks": "openai/gpt-5"]),
                headers: [.ifMatch: "W/" + newETag])
            #expect(weak.status == .preconditionFailed)
            #expect(
                try await api.call(.get, "/external/models/defaults").decode(FlowDefaultsBody.self).flowDefaults
                    == stored)

            let audit = try await api.call(.get, "/external/audit?command=external_models_defaults_update&limit=5")
                .decode(CommandAuditResponse.self).entries
            #expect(audit.map(\.status) == [.failed, .failed, .success])
            #expect(audit[2].metadata?["before"]?["heartbeat"] == .null)
            #expect(audit[2].metadata?["after"]?["heartbeat"] == .string("nano-gpt/NousResearch 2/hermes-4-405b"))
        }
    }

    @Test func invalidDefaultsAre400WithTheFieldPathAndChangeNothing() async throws {
        try await APIHarness.run { api in
            let cases: [(String, String, String)] = [
                (#"{"flowDefaults": {"heartbeat": null}}"#, "flowDefaults.interactiveAssistant", "missing"),
                (
                    #"{"flowDefaults": {"interactiveAssistant": null, "scheduledTasks": null, "heartbeat": null, "watchdogFailures": null, "heartbeet": null}}"#,
                    "flowDefaults.heartbeet", "unknown flow \"heartbeet\""
                ),
                (
                    Self.defaultsJSON(["heartbeat": "gpt-5"]), "flowDefaults.heartbeat",
                    "invalid model reference \"gpt-5\""
                ),
                (
                    #"{"flowDefaults": {"interactiveAssistant": 5, "scheduledTasks": null, "heartbeat": null, "watchdogFailures": null}}"#,
                    "flowDefaults.interactiveAssistant", "got a number"
                ),
                (#"{"flowDefaults": []}"#, "flowDefaults", "expected an object"),
                (#"{}"#, "flowDefaults", "missing"),
                (#"{"flowDefaults": {}, "extra": 1}"#, "extra", "unknown field"),
            ]
            let before = try api.home.readConfig()
            for (body, path, text) in cases {
                let reply = try await api.call(.put, "/external/models/defaults", json: body)
                #expect(reply.status == .badRequest, "\(body)")
                let detail = reply.error?.details?.first { $0.path == path }
                #expect(detail?.message.contains(text) == true, "\(body): \(reply.text)")
            }
            let unknown = try await api.call(
                .put,
                "/external/models/defaults",
                json: Self.defaultsJSON(["scheduledTasks": "openai/gpt-6"])
            )
            #expect(unknown.status == .badRequest)
            let detail = try #require(unknown.error?.details?.first)
            #expect(detail.path == "flowDefaults.scheduledTasks")
            #expect(detail.message.contains("\"openai/gpt-6\" is not in the catalog"))
            #expect(detail.message.contains("closest matches: openai/"))
            #expect(detail.message.contains("refresh the catalog"))

            // An over-long reference is refused by its length, before any catalog search; nothing changes.
            let hugeRef = "openai/" + String(repeating: "q", count: 30_000)
            let tooLong = try await api.call(
                .put, "/external/models/defaults", json: Self.defaultsJSON(["interactiveAssistant": hugeRef]))
            #expect(tooLong.status == .badRequest)
            let long = try #require(tooLong.error?.details?.first)
            #expect(long.path == "flowDefaults.interactiveAssistant")
            #expect(long.message.contains("30007 bytes long; at most 512 are allowed"))
            #expect(tooLong.text.count < 1_000, "the reference is not echoed whole")
            // Just under the cap, unknown: still answered, with suggestions from a bounded search.
            let nearCap = "openai/gpt-5" + String(repeating: "x", count: 500)
            let unknownLong = try await api.call(
                .put, "/external/models/defaults", json: Self.defaultsJSON(["scheduledTasks": nearCap]))
            #expect(unknownLong.status == .badRequest)
            #expect(unknownLong.error?.details?.first?.message.contains("is not in the catalog") == true)
            #expect(try api.home.readConfig() == before)

            for malformed in ["{\"flowDefaults\": ", "not json", "[1, 2]", "{\"flowDefaults\": {},}"] {
                let reply = try await api.call(.put, "/external/models/defaults", json: malformed)
                #expect(reply.status == .badRequest, "\(malformed)")
                #expect(reply.error?.error == "invalid_request")
            }
            let wrongType = try await api.call(
                .put,
                "/external/models/defaults",
                json: "{}",
                headers: [.contentType: "text/plain"]
            )
            #expect(wrongType.status == .unsupportedMediaType)
            let huge = "{\"flowDefaults\": \"" + String(repeating: "x", count: 1_100_000) + "\"}"
            #expect(try await api.call(.put, "/external/models/defaults", json: huge).status == .contentTooLarge)

            #expect(try api.home.readConfig() == before)
            let audit = try await api.call(.get, "/external/audit?command=external_models_defaults_update&limit=200")
                .decode(CommandAuditResponse.self).entries
            #expect(audit.count >= cases.count + 1)
            #expect(audit.allSatisfy { $0.status == .failed && $0.errorMessage?.isEmpty == false })
        }
    }

    @Test func aValueLeftUnchangedIsAcceptedAfterItLeftTheCatalog() async throws {
        try await APIHarness.run { api in
            let chosen = Self.defaultsJSON(["heartbeat": "openai/gpt-5"])
            #expect(try await api.call(.put, "/external/models/defaults", json: chosen).status == .ok)
            api.server.standIn.setProvidersBody(Fixtures.providersBody(["anthropic": ["claude-opus-4-7"]]))
            #expect(try await api.call(.post, "/external/models/refresh").status == .ok)

            let again = Self.defaultsJSON(["heartbeat": "openai/gpt-5", "scheduledTasks": "anthropic/claude-opus-4-7"])
            let reply = try await api.call(.put, "/external/models/defaults", json: again)
            #expect(reply.status == .ok, "\(reply.text)")
            // The runtime falls back, visibly, while the operator's choice is kept.
            let resolved = try api.runtime.resolver.resolve(flow: .heartbeat, jobModelRef: nil, logFallback: false)
            #expect(resolved.source == .fallbackGlobalDefault)
            #expect(resolved.ref?.description == "anthropic/claude-opus-4-7")
        }
    }

    @Test func effectiveModelsShowFallbacksAndTheGlobalDefault() async throws {
        try await APIHarness.run { api in
            let chosen = Self.defaultsJSON(["heartbeat": "openai/gpt-5", "scheduledTasks": "openai/gpt-4o"])
            #expect(try await api.call(.put, "/external/models/defaults", json: chosen).status == .ok)
            api.server.standIn.setProvidersBody(
                Fixtures.providersBody(["anthropic": ["claude-opus-4-7"], "openai": ["gpt-4o"]]))
            #expect(try await api.call(.post, "/external/models/refresh").status == .ok)
            let effective = try await api.call(.get, "/external/models/effective").decode(EffectiveModelsResponse.self)
            #expect(effective.globalDefault == "anthropic/claude-opus-4-7")
            #expect(
                effective.flows["heartbeat"]
                    == EffectiveModel(ref: "anthropic/claude-opus-4-7", source: .fallbackGlobalDefault))
            #expect(effective.flows["scheduledTasks"] == EffectiveModel(ref: "openai/gpt-4o", source: .flowDefault))
            #expect(
                effective.flows["interactiveAssistant"]
                    == EffectiveModel(ref: "anthropic/claude-opus-4-7", source: .globalDefault))
            #expect(effective.flows.count == 4)
        }
    }

    @Test func healthShowsTheCatalog() async throws {
        try await APIHarness.run { api in
            let health = try await api.call(.get, "/external/health").decode(HealthResponse.self)
            #expect(health.status == "ok")
            #expect(health.catalog.count == 4_803)
            #expect(health.catalog.source == .network)
            #expect(health.catalog.updatedAt != nil)
        }
    }

    @Test func auditQueryParametersAreValidated() async throws {
        try await APIHarness.run { api in
            for query in ["limit=0", "limit=201", "limit=abc", "limit=-1"] {
                let reply = try await api.call(.get, "/external/audit?\(query)")
                #expect(reply.status == .badRequest, "\(query)")
                #expect(reply.error?.details?.first?.path == "limit")
            }
            #expect(try await api.call(.get, "/external/audit?limit=200").status == .ok)
        }
    }
}

@Suite struct CatalogCompressionTests {
    @Test func aClientThatAcceptsGzipGetsTheSameCatalogCompressed() async throws {
        try await APIHarness.run { api in
            let plain = try await api.call(.get, "/external/models/catalog")
            #expect(plain.headers[.contentEncoding] == nil)
            #expect(plain.headers[.vary] == "Accept-Encoding")
            for accept in ["gzip", "deflate, gzip;q=0.5", "*"] {
                let zipped = try await api.call(.get, "/external/models/catalog", headers: [.acceptEncoding: accept])
                #expect(zipped.headers[.contentEncoding] == "gzip", "\(accept)")
                #expect(zipped.body.readableBytes * 4 < plain.body.readableBytes, "\(accept)")
                var compressed = zipped.body
                var inflated = try compressed.decompress(with: .gzip())
                #expect(inflated.readString(length: inflated.readableBytes) == plain.text)
            }
            for accept in ["identity", "gzip;q=0", "br"] {
                let reply = try await api.call(.get, "/external/models/catalog", headers: [.acceptEncoding: accept])
                #expect(reply.headers[.contentEncoding] == nil, "\(accept)")
                #expect(reply.text == plain.text)
            }
        }
    }
}
