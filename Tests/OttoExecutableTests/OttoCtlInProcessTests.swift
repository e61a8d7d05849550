import Foundation
import OttoContracts
import OttoCore
import OttoTestSupport
import Synchronization
import Testing

@testable import OttoCtlKit

/// Output captured in memory, for commands run in-process.
final class CapturedOutput: Sendable {
    private let streams = Mutex<(stdout: [UInt8], stderr: [UInt8])>(([], []))

    var output: Output {
        Output(
            write: { stream, bytes in
                self.streams.withLock { streams in
                    switch stream {
                    case .stdout: streams.stdout += bytes
                    case .stderr: streams.stderr += bytes
                    }
                }
            },
            colourOnStdout: false,
            colourOnStderr: false
        )
    }

    var stdout: String { streams.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    var stderr: String { streams.withLock { String(decoding: $0.stderr, as: UTF8.self) } }
}

/// ottoctl's commands run in this process, against a live `otto serve`, with their output captured.
@Suite struct OttoCtlInProcessTests {
    static func run(_ otto: LiveOtto, _ arguments: [String]) async throws -> (status: Int32, out: CapturedOutput) {
        let command = try #require(try OttoCtl.parseAsRoot(arguments) as? any APICommand)
        let captured = CapturedOutput()
        var environment = otto.home.environment(apiPort: nil)
        environment["OTTO_EXTERNAL_API_URL"] = otto.url
        let status = await command.execute(environment: environment, output: captured.output)
        #expect(!captured.stdout.contains(otto.token) && !captured.stderr.contains(otto.token))
        return (status, captured)
    }

    @Test func commandsRunOnOneContextAndTheTaskListIsFetchedPageByPage() async throws {
        try await LiveOtto.run { otto in
            for id in ["c", "a", "b"] {
                _ = try await otto.api(
                    "/external/jobs", method: "POST",
                    body: #"{"id": "\#(id)", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 5}"#)
            }
            let set = try await Self.run(otto, ["task", "set-model", "b", "openai/gpt-5"])
            #expect(set.status == 0, "\(set.out.stderr)")
            #expect(set.out.stdout.contains("b: modelRef openai/gpt-5"))

            let list = try await Self.run(otto, ["task", "list"])
            #expect(list.status == 0)
            #expect(list.out.stdout.split(separator: "\n").map { $0.split(separator: " ")[0] } == ["c", "a", "b"])
            #expect(list.out.stdout.contains("b  report  idle  model openai/gpt-5  runs on openai/gpt-5 (job)"))

            // The typed client walks the pages with the cursor the server hands out.
            var environment = otto.home.environment(apiPort: nil)
            environment["OTTO_EXTERNAL_API_URL"] = otto.url
            let captured = CapturedOutput()
            let paged = try await APIClient.with(
                try ConnectionOptions.parse(["--verbose"]), environment: environment, output: captured.output
            ) { client in try await client.allJobs(pageSize: 2) }
            #expect(paged.map(\.id) == ["c", "a", "b"])
            #expect(captured.stderr.contains("limit=2&cursor="))

            // The catalog travels gzip-compressed and is printed as the API's plain JSON.
            let models = try await Self.run(otto, ["model", "list", "--json", "--verbose"])
            #expect(models.status == 0)
            #expect(models.out.stderr.contains("< 200 OK ("))
            #expect(models.out.stderr.contains(" ms, gzip)"))
            let catalog = try JSONDecoder().decode(CatalogResponse.self, from: Data(models.out.stdout.utf8))
            #expect(catalog.models.count == 4_803)

            let missing = try await Self.run(otto, ["task", "show", "ghost"])
            #expect(missing.status == 1)
            #expect(missing.out.stderr == "ottoctl: no job with id \"ghost\"\n")
            let invalid = try await Self.run(otto, ["model", "defaults", "set", "heartbeat", "nobody/nothing"])
            #expect(invalid.status == 64)
            #expect(invalid.out.stderr.contains("model \"nobody/nothing\" is not in the catalog"))
            #expect(invalid.out.stdout.isEmpty)
        }
    }

    @Test func aHandEditOfTheConfigFileReachesTheRunningOttoWithinSeconds() async throws {
        try await LiveOtto.run(config: nil) { otto in
            let file = try otto.home.readConfig()
            let edited = file.replacingOccurrences(
                of: #""heartbeat": null"#, with: #""heartbeat": /* by hand */ "openai/gpt-5""#)
            #expect(edited != file)
            try otto.home.writeConfig(edited)
            var shown = ""
            for _ in 0..<50 {
                shown = try await Self.run(otto, ["model", "defaults", "show"]).out.stdout
                if shown.contains("heartbeat             openai/gpt-5") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(shown.contains("heartbeat             openai/gpt-5"), "\(shown)")
        }
    }
}

/// `otto` and `ottoctl` find the token in the same place, because both ask `OttoLocations`.
@Suite struct SharedLocationsTests {
    @Test func ottoctlFindsTheTokenUnderTheConfiguredOttoHome() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let custom = home.path + "/elsewhere"
        try home.writeConfig(#"{"ottoHome": "~/elsewhere"}"#)
        let environment = home.environment(apiPort: nil)
        let serverPaths = OttoPaths(
            home: try ConfigurationLoader(environment: environment).load().configuration.ottoHome)
        #expect(serverPaths.home == custom)
        try FileManager.default.createDirectory(atPath: serverPaths.secretsDirectory, withIntermediateDirectories: true)
        try "tok-123\n".write(toFile: serverPaths.apiToken, atomically: true, encoding: .utf8)

        let resolved = try Connection.resolveToken(try ConnectionOptions.parse([]), environment: environment)
        #expect(resolved.token == "tok-123")
        #expect(resolved.origin == "file \(serverPaths.apiToken)")
        // OTTO_HOME wins over the config file, for both.
        var overridden = environment
        overridden["OTTO_HOME"] = home.path + "/other"
        #expect(
            try ConfigurationLoader(environment: overridden).load().configuration.ottoHome == home.path + "/other")
        #expect(throws: CLIError.self) {
            try Connection.resolveToken(try ConnectionOptions.parse([]), environment: overridden)
        }
    }
}

/// A token file or variable holding more than a token is refused before any request, and no message shows it.
@Suite struct TokenReadingTests {
    struct Echo: Error, CustomStringConvertible {
        let description: String
    }

    @Test func aTokenWithAnotherLineANulOrAHugeFileIsRefusedWithoutShowingIt() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let secret = "s3cr3t-token-value"
        let cases: [(String, [UInt8])] = [
            ("second-line", Array("\(secret)\nx\n".utf8)),
            ("nul", Array(secret.utf8) + [0]),
            ("inner-space", Array("\(secret) more".utf8)),
            ("huge", Array(secret.utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 5_000)),
        ]
        for (name, bytes) in cases {
            let path = home.path + "/" + name
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            let captured = CapturedOutput()
            let command = try #require(
                try OttoCtl.parseAsRoot(["model", "list", "--token-file", path, "--url", "http://127.0.0.1:1"])
                    as? any APICommand)
            let status = await command.execute(environment: home.environment(apiPort: nil), output: captured.output)
            #expect(status == 1, "\(name)")
            #expect(captured.stderr.contains("file \(path)"), "\(name): \(captured.stderr)")
            #expect(!captured.stderr.contains(secret) && !captured.stdout.contains(secret), "\(name)")
        }
        var environment = home.environment(apiPort: nil)
        environment["OTTO_EXTERNAL_API_TOKEN"] = "\(secret)\r\nInjected: yes"
        #expect(throws: CLIError.self) {
            try Connection.resolveToken(try ConnectionOptions.parse([]), environment: environment)
        }
        environment["OTTO_EXTERNAL_API_TOKEN"] = "  \(secret)\n"
        #expect(try Connection.resolveToken(try ConnectionOptions.parse([]), environment: environment).token == secret)
        // A library error that quotes what it was given never carries the token out.
        let described = APIClient.describe(Echo(description: "bad header [\"Bearer \(secret)\"]"), token: secret)
        #expect(!described.contains(secret))
        #expect(described.contains("Bearer <token>"))
    }
}
