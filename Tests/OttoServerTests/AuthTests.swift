import Foundation
import Hummingbird
import OttoContracts
import Testing

@testable import OttoServer

@Suite struct AuthTests {
    static let routes: [(HTTPRequest.Method, String)] = [
        (.get, "/external/health"), (.get, "/external/models/catalog"), (.post, "/external/models/refresh"),
        (.get, "/external/models/defaults"), (.put, "/external/models/defaults"), (.get, "/external/models/effective"),
        (.get, "/external/jobs"),
        (.post, "/external/jobs"), (.get, "/external/jobs/some-job"), (.patch, "/external/jobs/some-job"),
        (.delete, "/external/jobs/some-job"), (.post, "/external/jobs/some-job/run-now"),
        (.get, "/external/jobs/some-job/audit"), (.get, "/external/jobs/some-job/runs"),
        (.get, "/external/jobs/some-job/runs/r1"), (.get, "/external/audit"),
        // Unknown routes answer 401 too, so they cannot be probed without the token.
        (.get, "/external/secret-admin"), (.delete, "/external/models/catalog"), (.get, "/"),
    ]

    @Test func everyRouteRequiresTheToken() async throws {
        try await APIHarness.run { api in
            let wrong = String(repeating: "0", count: api.token.count)
            for (method, path) in Self.routes {
                for authorization in [
                    nil, "Bearer", "Bearer ", "Basic \(api.token)", "Bearer \(wrong)", "Bearer \(api.token)x",
                    "\(api.token)",
                ] {
                    let reply = try await api.call(method, path, json: "{}", authorization: authorization)
                    #expect(reply.status == .unauthorized, "\(method) \(path) with \(authorization ?? "no header")")
                    #expect(reply.error?.error == "unauthorized")
                    #expect(reply.headers[.wwwAuthenticate] == "Bearer")
                }
            }
            // Nothing changed behind the 401s.
            #expect(try await api.services.jobs.list().isEmpty)
            #expect(try await api.services.models.auditEntries(limit: 10, command: nil).isEmpty)
        }
    }

    @Test func theOpenAPIDocumentIsPublic() async throws {
        try await APIHarness.run { api in
            let reply = try await api.call(.get, "/external/openapi.json", authorization: nil)
            #expect(reply.status == .ok)
            #expect(reply.json?["openapi"] == .string("3.1.0"))
        }
    }

    @Test func theRightTokenIsAcceptedInAnyCaseOfTheScheme() async throws {
        try await APIHarness.run { api in
            let standard = try await api.call(.get, "/external/health")
            let lowercase = try await api.call(.get, "/external/health", authorization: "bearer \(api.token)")
            #expect(standard.status == .ok)
            #expect(lowercase.status == .ok)
        }
    }

    @Test func aTokenWithBytesAddedOrMissingIsRejected() async throws {
        try await APIHarness.run { api in
            for extra in [1, 255, 256, 512] {
                let longer = api.token + String(repeating: "Z", count: extra)
                let reply = try await api.call(.get, "/external/health", authorization: "Bearer \(longer)")
                #expect(reply.status == .unauthorized, "token + \(extra) bytes")
                let zeros = api.token + String(repeating: "0", count: extra)
                #expect(
                    try await api.call(.get, "/external/health", authorization: "Bearer \(zeros)").status
                        == .unauthorized)
            }
            for missing in [1, 32, api.token.count - 1] {
                let shorter = String(api.token.dropLast(missing))
                let reply = try await api.call(.get, "/external/health", authorization: "Bearer \(shorter)")
                #expect(reply.status == .unauthorized, "token - \(missing) bytes")
            }
            #expect(try await api.call(.get, "/external/health").status == .ok)
        }
    }

    @Test(arguments: [1, 255, 256, 512])
    func lengthsDifferingByAnyAmountNeverCompareEqual(difference: Int) {
        let token = Array("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".utf8)
        #expect(BearerAuthMiddleware<BasicRequestContext>.constantTimeEquals(token, token))
        #expect(
            !BearerAuthMiddleware<BasicRequestContext>.constantTimeEquals(
                token + Array(repeating: 0, count: difference), token))
        #expect(
            !BearerAuthMiddleware<BasicRequestContext>.constantTimeEquals(
                token + Array(repeating: 90, count: difference), token))
        #expect(
            !BearerAuthMiddleware<BasicRequestContext>.constantTimeEquals(
                token, token + Array(repeating: 0, count: difference)))
        if difference < token.count {
            #expect(!BearerAuthMiddleware<BasicRequestContext>.constantTimeEquals(token.dropLast(difference), token))
        }
    }

    @Test func unknownRoutesAre404AndWrongMethods405WithTheToken() async throws {
        try await APIHarness.run { api in
            let missing = try await api.call(.get, "/external/secret-admin")
            #expect(missing.status == .notFound)
            #expect(missing.error?.error == "not_found")
            let wrongMethod = try await api.call(.delete, "/external/models/catalog")
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow] == "GET")
            let jobMethod = try await api.call(.put, "/external/jobs/x")
            #expect(jobMethod.status == .methodNotAllowed)
            #expect(jobMethod.headers[.allow] == "GET, PATCH, DELETE")
        }
    }

    @Test func theLiveServerAnswersOverARealSocket() async throws {
        try await APIHarness.run(.live) { api in
            #expect(try await api.call(.get, "/external/health", authorization: nil).status == .unauthorized)
            let health = try await api.call(.get, "/external/health").decode(HealthResponse.self)
            #expect(health.catalog.count == 4_803)
            #expect(health.catalog.source == .network)
        }
    }
}
