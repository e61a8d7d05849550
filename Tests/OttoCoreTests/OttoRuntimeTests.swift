import Foundation
import OttoContracts
import OttoTestSupport
import Testing

@testable import OttoCore

@Suite struct OttoRuntimeTests {
    @Test func startUpCreatesItsFilesAndServesTheFetchedCatalog() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try await withStandInOpenCode { server in
            let runtime = try await OttoRuntime.bootstrap(
                environment: home.environment(openCode: server.baseURL),
                logger: CapturedLogs().logger()
            )
            #expect(runtime.catalog.snapshot.count == 4_803)
            #expect(runtime.catalog.snapshot.source == .network)
            #expect(runtime.paths.home == home.ottoHome)
            #expect(FileManager.default.fileExists(atPath: home.stateDatabasePath))
            #expect(FileManager.default.fileExists(atPath: home.catalogCachePath))
            #expect(
                try runtime.resolver.resolve(flow: .heartbeat, jobModelRef: nil).ref.description
                    == "anthropic/claude-opus-4-7")

            let token = try String(contentsOfFile: home.tokenPath, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(token.count == 64)
            #expect(token.allSatisfy { $0.isHexDigit })
            #expect(runtime.apiToken.value == token)
            #expect(!"\(runtime.apiToken)".contains(token))
            let fileMode = try FileManager.default.attributesOfItem(atPath: home.tokenPath)[.posixPermissions] as? Int
            let directoryMode =
                try FileManager.default.attributesOfItem(atPath: home.ottoHome + "/secrets")[.posixPermissions] as? Int
            #expect(fileMode == 0o600)
            #expect(directoryMode == 0o700)

            // A restart reuses the token.
            let again = try await OttoRuntime.bootstrap(
                environment: home.environment(openCode: server.baseURL),
                logger: CapturedLogs().logger()
            )
            #expect(again.apiToken.value == token)
        }
    }

    @Test func startUpFailsClearlyWhenOpenCodeIsDownEvenWithACache() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try await withStandInOpenCode { server in
            _ = try await OttoRuntime.bootstrap(
                environment: home.environment(openCode: server.baseURL),
                logger: CapturedLogs().logger()
            )
        }
        #expect(FileManager.default.fileExists(atPath: home.catalogCachePath))
        let url = "http://127.0.0.1:\(closedLoopbackPort())"
        let error = await #expect(throws: StartupError.self) {
            try await OttoRuntime.bootstrap(
                environment: home.environment(openCode: url), logger: CapturedLogs().logger())
        }
        #expect(
            error?.message
                == "cannot start: the first model catalog fetch failed: cannot reach OpenCode at \(url)/config/providers: connection refused (is `opencode serve` running there?)"
        )
    }
}
