import Foundation
import OttoContracts
import OttoCore
import OttoTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The real `otto` binary, run as a subprocess against the stand-in OpenCode server.
@Suite struct OttoServeTests {
    static var otto: String { BuiltProducts.executable("otto") }

    @Test(arguments: [SIGTERM, SIGINT])
    func serveStartsAndStopsCleanlyOnASignal(signal: Int32) async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try await withStandInOpenCode { server in
            let child = try ChildProcess(
                Self.otto, arguments: ["serve"], environment: home.environment(openCode: server.baseURL))
            #expect(await child.waitForOutput("msg=\"otto is running\""), "\(child.stderr)")
            #expect(child.stderr.contains("catalogCount=4803"))
            child.signal(signal)
            #expect(await child.waitForExit() == 0, "\(child.stderr)")
            #expect(child.stderr.contains("msg=\"otto stopped\""))
            // Every line on stderr is a structured log line.
            for line in child.stderr.split(separator: "\n") {
                #expect(line.hasPrefix("ts="), "\(line)")
                #expect(line.contains(" level="), "\(line)")
            }
            #expect(FileManager.default.fileExists(atPath: home.catalogCachePath))
        }
    }

    @Test func ottoWithoutArgumentsServes() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try await withStandInOpenCode { server in
            let child = try ChildProcess(Self.otto, environment: home.environment(openCode: server.baseURL))
            #expect(await child.waitForOutput("msg=\"otto is running\""), "\(child.stderr)")
            child.signal(SIGTERM)
            #expect(await child.waitForExit() == 0)
        }
    }

    @Test func serveRefusesToStartWhenOpenCodeIsDown() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let url = "http://127.0.0.1:\(closedLoopbackPort())"
        let result = try await ChildProcess.run(
            Self.otto, arguments: ["serve"], environment: home.environment(openCode: url))
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(
            lines.last
                == "otto: cannot start: the first model catalog fetch failed: cannot reach OpenCode at \(url): connection refused (is `opencode serve` running there?)"
        )
        #expect(!result.stderr.contains("otto is running"))
    }

    /// A password-protected OpenCode: none configured and a wrong one are each one clear line and exit 1; the
    /// right one from opencode.passwordFile serves, with Basic auth on every call and the password in no output.
    @Test func aPasswordProtectedOpenCodeGetsOttosCredentialsOrAClearRefusal() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let password = "pw-0penCode-\(UUID().uuidString.prefix(8))"
        try await withStandInOpenCode { server in
            server.standIn.requirePassword(password)
            let providers = server.baseURL
            let none = try await ChildProcess.run(
                Self.otto, arguments: ["serve"], environment: home.environment(openCode: server.baseURL))
            #expect(none.status == 1)
            #expect(
                none.stderr.split(separator: "\n").last
                    == "otto: cannot start: the first model catalog fetch failed: OpenCode at \(providers) asks for a password and Otto sent none (HTTP 401): set opencode.passwordFile or OTTO_OPENCODE_PASSWORD to the value of OPENCODE_SERVER_PASSWORD"
            )

            let wrongPassword = "wrong-\(password)"
            let wrong = try await ChildProcess.run(
                Self.otto, arguments: ["serve", "--log-level", "trace"],
                environment: home.environment(
                    openCode: server.baseURL, extra: ["OTTO_OPENCODE_PASSWORD": wrongPassword]))
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("refused Otto's credentials (HTTP 401)"), "\(wrong.stderr)")
            #expect(!wrong.stderr.contains(wrongPassword))
            #expect(wrong.stderr.contains("msg=\"OpenCode credentials\" from=OTTO_OPENCODE_PASSWORD username=opencode"))

            let file = home.ottoHome + "/secrets/opencode.password"
            try FileManager.default.createDirectory(
                atPath: home.ottoHome + "/secrets", withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: file, contents: Data((password + "\n").utf8))
            chmod(file, 0o600)
            try home.writeConfig(#"{"opencode": {"passwordFile": "~/.otto/secrets/opencode.password"}}"#)
            let child = try ChildProcess(
                Self.otto, arguments: ["serve", "--log-level", "trace"],
                environment: home.environment(openCode: server.baseURL))
            #expect(await child.waitForOutput("msg=\"otto is running\""), "\(child.stderr)")
            #expect(child.stderr.contains("catalogCount=4803"))
            #expect(!child.stderr.contains("can be read by group or others"))
            child.signal(SIGTERM)
            #expect(await child.waitForExit() == 0)
            #expect(!child.stderr.contains(password), "the password reached a log line")
            let expected = "Basic " + Data("opencode:\(password)".utf8).base64EncodedString()
            #expect(server.standIn.receivedAuthorizations.last == expected)
        }
    }

    @Test func serveRefusesToStartWhenOpenCodeAnswersGarbage() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try await withStandInOpenCode { server in
            server.standIn.mode = .garbage
            let result = try await ChildProcess.run(
                Self.otto,
                environment: home.environment(openCode: server.baseURL)
            )
            #expect(result.status == 1)
            #expect(
                result.stderr.split(separator: "\n").last
                    == "otto: cannot start: the first model catalog fetch failed: OpenCode at \(server.baseURL)/config/providers returned an unexpected body: not JSON"
            )
        }
    }

    @Test func anInvalidConfigStopsStartUpAndIsLeftUntouched() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let text = """
            {
              // operator's file
              "modelManagement": { "flowDefaults": { "heartbeat": "not-a-model-ref" } }
            }
            """
        try home.writeConfig(text)
        let result = try await ChildProcess.run(
            Self.otto, environment: home.environment(openCode: "http://127.0.0.1:1"))
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(
            result.stderr.hasPrefix(
                "otto: invalid config file \(home.configPath): modelManagement.flowDefaults.heartbeat: "))
        #expect(result.stderr.contains("invalid model reference \"not-a-model-ref\""))
        #expect(try home.readConfig() == text)
        #expect(!FileManager.default.fileExists(atPath: home.stateDatabasePath))
    }

    @Test func aModelManagementValueOfTheWrongTypeIsReportedOnce() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(#"{"modelManagement": ["not", "an", "object"]}"#)
        let result = try await ChildProcess.run(
            Self.otto, environment: home.environment(openCode: "http://127.0.0.1:1"))
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "otto: invalid config file \(home.configPath): modelManagement: expected an object, got an array\n")
    }

    @Test func thePeriodicRefreshRunsInTheRealProcess() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(#"{"modelManagement": {"catalogRefreshIntervalSeconds": 1}}"#)
        try await withStandInOpenCode { server in
            let child = try ChildProcess(Self.otto, environment: home.environment(openCode: server.baseURL))
            #expect(await child.waitForOutput("msg=\"otto is running\""), "\(child.stderr)")
            server.standIn.setProvidersBody(Fixtures.providersBody(["tiny": ["only-model"]]))
            #expect(await child.waitForOutput("msg=\"model catalog refreshed\" count=1"), "\(child.stderr)")
            let cache = try CatalogCache(path: home.catalogCachePath).load()
            #expect(cache?.count == 1)
            #expect(cache?.refs.first?.description == "tiny/only-model")

            server.standIn.mode = .failing(status: 500)
            #expect(await child.waitForOutput("keeping the previous catalog"), "\(child.stderr)")
            #expect(
                try CatalogCache(path: home.catalogCachePath).load()?.refs.map(\.description) == ["tiny/only-model"])
            child.signal(SIGTERM)
            #expect(await child.waitForExit() == 0)
        }
    }

    @Test func helpExplainsEveryEnvironmentVariableAndFile() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        for arguments in [["--help"], ["serve", "--help"]] {
            let result = try await ChildProcess.run(Self.otto, arguments: arguments, environment: home.environment())
            #expect(result.status == 0)
            let help = result.stdout
            if arguments == ["--help"] {
                for name in [
                    OttoEnvironment.configPath, OttoEnvironment.home, OttoEnvironment.openCodeBaseURL,
                    OttoEnvironment.externalAPIHost, OttoEnvironment.externalAPIPort, OttoEnvironment.openCodePassword,
                    OttoEnvironment.openCodeServerPassword, OttoEnvironment.openCodeServerUsername,
                ] {
                    #expect(help.contains(name), "\(name) missing from otto --help")
                }
                for file in ["config.jsonc", "otto-state.db", "model-catalog-cache.json", "internal-api.token"] {
                    #expect(help.contains(file), "\(file) missing from otto --help")
                }
            } else {
                #expect(help.contains("--config"))
                #expect(help.contains("--log-level"))
            }
        }
        // --help does no work: no config file is created.
        #expect(!FileManager.default.fileExists(atPath: home.configPath))
    }
}

@Suite struct StandInExecutableTests {
    @Test func theStandInExecutableServesTheFixture() async throws {
        let child = try ChildProcess(
            BuiltProducts.executable("opencode-standin"),
            arguments: ["--port", "0", "--fixture", Fixtures.openCodeDirectory],
            environment: ProcessInfo.processInfo.environment
        )
        defer { child.signal(SIGTERM) }
        #expect(await child.waitForOutput("listening on http://127.0.0.1:"), "\(child.stderr)")
        let line = child.stdout.split(separator: "\n").first { $0.contains("listening on") } ?? ""
        let url = String(line.split(separator: " ").last ?? "")
        let catalog = try await OpenCodeClient(baseURL: url).fetchCatalog()
        #expect(catalog.refs.count == 4_803)

        // The control endpoint switches it into a failure mode.
        var request = URLRequest(url: URL(string: url + "/__standin/mode")!)
        request.httpMethod = "PUT"
        request.httpBody = Data("fail:503".utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let error = await #expect(throws: OpenCodeError.self) { try await OpenCodeClient(baseURL: url).fetchCatalog() }
        #expect(error?.cause == .httpStatus(503))
    }

    @Test func ottoctlExplainsItself() async throws {
        let result = try await ChildProcess.run(
            BuiltProducts.executable("ottoctl"),
            arguments: ["--help"],
            environment: ProcessInfo.processInfo.environment
        )
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: ottoctl"))
    }
}
