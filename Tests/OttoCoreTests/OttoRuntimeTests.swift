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
                try runtime.resolver.resolve(flow: .heartbeat, jobModelRef: nil).ref?.description
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
                == "cannot start: the first model catalog fetch failed: cannot reach OpenCode at \(url): connection refused (is `opencode serve` running there?)"
        )
    }

    @Test func temporaryFilesOfAnInterruptedWriteAreRemovedAtStartUp() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig("{}")
        let directory = (home.configPath as NSString).deletingLastPathComponent
        // A writer that was killed: its pid is gone. Another that is still running is left alone.
        let deadPid = try ChildProcess("/bin/true", environment: [:])
        _ = await deadPid.waitForExit()
        let running = try ChildProcess("/bin/sleep", arguments: ["30"], environment: [:])
        defer { running.signal(SIGKILL) }
        let leftover = directory + "/.config.jsonc.tmp-\(deadPid.pid)-123"
        let live = directory + "/.config.jsonc.tmp-\(running.pid)-456"
        for path in [leftover, live] { try "half a config".write(toFile: path, atomically: false, encoding: .utf8) }
        try await withStandInOpenCode { server in
            let logs = CapturedLogs()
            _ = try await OttoRuntime.bootstrap(
                environment: home.environment(openCode: server.baseURL), logger: logs.logger())
            #expect(!FileManager.default.fileExists(atPath: leftover))
            #expect(FileManager.default.fileExists(atPath: live))
            #expect(logs.all.contains { $0.metadata["path"] == leftover })
        }
    }

    @Test func aTokenPathThatIsADirectoryIsNamedInTheError() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try FileManager.default.createDirectory(atPath: home.tokenPath, withIntermediateDirectories: true)
        await #expect {
            try await withStandInOpenCode { server in
                _ = try await OttoRuntime.bootstrap(
                    environment: home.environment(openCode: server.baseURL), logger: CapturedLogs().logger())
            }
        } throws: { error in
            let message = "\(error)"
            return message.contains(home.tokenPath) && message.contains("is a directory, not a file")
                && !message.contains("NSCocoaErrorDomain")
        }
    }
}
