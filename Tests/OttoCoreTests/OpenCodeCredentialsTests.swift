import Foundation
import NIOCore
import OpenCodeStandIn
import OttoContracts
import OttoTestSupport
import Testing

@testable import OttoCore

/// OpenCode's password: where Otto finds it, that it is sent as Basic auth on every call, that a refusal is its
/// own clear error, and that the password never shows.
@Suite struct OpenCodeCredentialsTests {
    static let password = "s3cret-Pa55word-for-opencode"
    static var plain: OttoConfiguration.OpenCode {
        OttoConfiguration.OpenCode(baseURL: "http://127.0.0.1:4096", requestTimeoutSeconds: 10)
    }

    static func passwordFile(_ text: String, mode: mode_t) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("oc-pw-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    @Test func thePasswordComesFromOttosVariableThenTheFileThenOpenCodesOwnVariable() throws {
        let file = try Self.passwordFile("from-file\nsecond line\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: file) }
        var openCode = Self.plain
        openCode.passwordFile = file
        let all = ["OTTO_OPENCODE_PASSWORD": "from-otto", "OPENCODE_SERVER_PASSWORD": "from-server"]
        var warnings: [String] = []
        let first = try OpenCodeCredentials.resolve(openCode, environment: all) { warnings.append($0) }
        #expect(
            first == OpenCodeCredentials(username: "opencode", password: "from-otto", source: "OTTO_OPENCODE_PASSWORD"))
        let second = try OpenCodeCredentials.resolve(openCode, environment: ["OPENCODE_SERVER_PASSWORD": "x"]) {
            warnings.append($0)
        }
        #expect(second == OpenCodeCredentials(username: "opencode", password: "from-file", source: file))
        let third = try OpenCodeCredentials.resolve(
            Self.plain, environment: ["OPENCODE_SERVER_PASSWORD": "from-server", "OPENCODE_SERVER_USERNAME": "ops"]
        ) { warnings.append($0) }
        #expect(
            third == OpenCodeCredentials(username: "ops", password: "from-server", source: "OPENCODE_SERVER_PASSWORD"))
        var named = Self.plain
        named.username = "otto"
        let fourth = try OpenCodeCredentials.resolve(
            named, environment: ["OPENCODE_SERVER_PASSWORD": "p", "OPENCODE_SERVER_USERNAME": "ops"]
        ) { warnings.append($0) }
        #expect(fourth?.username == "otto")
        #expect(try OpenCodeCredentials.resolve(Self.plain, environment: [:]) { warnings.append($0) } == nil)
        #expect(warnings.isEmpty, "\(warnings)")
        // Shown as the user and where the password came from, never the password.
        #expect(first.map(String.init(describing:)) == "opencode:*** (password from OTTO_OPENCODE_PASSWORD)")
    }

    @Test func aPasswordFileOthersCanReadIsUsedWithAWarningAndABadOneIsAClearError() throws {
        let open = try Self.passwordFile("pw\r\n", mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: open) }
        var openCode = Self.plain
        openCode.passwordFile = open
        var warnings: [String] = []
        let credentials = try OpenCodeCredentials.resolve(openCode, environment: [:]) { warnings.append($0) }
        #expect(credentials == OpenCodeCredentials(username: "opencode", password: "pw", source: open))
        #expect(warnings == ["opencode.passwordFile \(open) can be read by group or others: chmod 600 \(open)"])

        let empty = try Self.passwordFile("\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        openCode.passwordFile = empty
        let emptyError = #expect(throws: OpenCodeCredentials.Problem.self) {
            try OpenCodeCredentials.resolve(openCode, environment: [:]) { _ in }
        }
        #expect(emptyError?.description == "opencode.passwordFile \(empty) is empty: its first line is the password")
        openCode.passwordFile = "/nonexistent/otto-password"
        let missing = #expect(throws: OpenCodeCredentials.Problem.self) {
            try OpenCodeCredentials.resolve(openCode, environment: [:]) { _ in }
        }
        #expect(missing?.description.hasPrefix("cannot read opencode.passwordFile /nonexistent/otto-password") == true)
    }

    @Test func theConfigFileNamesTheUserAndThePasswordFile() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(
            #"{"opencode": {"username": "otto", "passwordFile": "~/.otto/secrets/opencode.password"}}"#)
        let loaded = try ConfigurationLoader(environment: home.environment(openCode: "http://127.0.0.1:1")).load()
        #expect(loaded.configuration.openCode.username == "otto")
        #expect(loaded.configuration.openCode.passwordFile == home.path + "/.otto/secrets/opencode.password")
        try home.writeConfig(#"{"opencode": {"username": "a:b", "passwordFile": "relative"}}"#)
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(environment: home.environment(openCode: "http://127.0.0.1:1")).load()
        }
        #expect(error?.issues.map(\.path) == ["opencode.username", "opencode.passwordFile"])
    }

    @Test func everyCallCarriesBasicAuthAndARefusalIsItsOwnError() async throws {
        try await withStandInOpenCode { server in
            server.standIn.requirePassword(Self.password)
            let right = OpenCodeCredentials(username: "opencode", password: Self.password, source: "test")
            let client = OpenCodeClient(baseURL: server.baseURL, credentials: right)
            #expect(try await client.fetchCatalog().refs.count == 4_803)
            let session = try await client.createSession(OpenCodeSessionRequest(title: "t"), timeout: .seconds(5))
            _ = try await client.prompt(
                sessionId: session, OpenCodePrompt(text: "hi", model: try ModelRef(parsing: "openai/gpt-5")),
                timeout: .seconds(5))
            let expected = "Basic " + Data("opencode:\(Self.password)".utf8).base64EncodedString()
            #expect(server.standIn.receivedAuthorizations.count >= 4)
            #expect(server.standIn.receivedAuthorizations.allSatisfy { $0 == expected })

            let none = await #expect(throws: OpenCodeError.self) {
                try await OpenCodeClient(baseURL: server.baseURL).fetchCatalog()
            }
            #expect(none?.cause == .unauthorized(status: 401, sentCredentials: false))
            #expect(none?.code == "opencode_unauthorized")
            #expect(none?.isTransient == false)
            #expect(none?.message.contains("asks for a password and Otto sent none (HTTP 401)") == true)

            let wrongPassword = "not-the-password-at-all"
            let wrong = OpenCodeCredentials(username: "opencode", password: wrongPassword, source: "test")
            let refused = await #expect(throws: OpenCodeError.self) {
                try await OpenCodeClient(baseURL: server.baseURL, credentials: wrong)
                    .createSession(OpenCodeSessionRequest(title: "t"), timeout: .seconds(5))
            }
            #expect(refused?.cause == .unauthorized(status: 401, sentCredentials: true))
            let message = refused?.message ?? ""
            #expect(
                message.contains(
                    "refused Otto's credentials (HTTP 401): set opencode.passwordFile or OTTO_OPENCODE_PASSWORD"))
            #expect(!message.contains(wrongPassword) && !message.contains(Self.password))
        }
    }

    @Test func openCodesOwnWordsArePartOfTheError() async throws {
        try await withStandInOpenCode { server in
            server.standIn.mode = .failing(status: 400)
            let error = await #expect(throws: OpenCodeError.self) {
                try await OpenCodeClient(baseURL: server.baseURL).fetchCatalog()
            }
            #expect(
                error?.message == "OpenCode at \(server.baseURL)/global/health answered HTTP 400: stand-in failure")
        }
        // 1.x NamedErrors with and without a message, 2.x structured errors, and plain text.
        let bodies: [(String, String?)] = [
            (
                #"{"name":"UnknownError","data":{"message":"Model not found: openai/gpt-9"}}"#,
                "Model not found: openai/gpt-9"
            ),
            (
                #"{"name":"ProviderModelNotFoundError","data":{"modelID":"gpt-9","providerID":"openai"}}"#,
                "ProviderModelNotFoundError modelID=gpt-9 providerID=openai"
            ),
            (#"{"type":"invalid_request","message":"bad\u0007 model","status":400}"#, #"bad\u0007 model"#),
            ("Bad Gateway", "Bad Gateway"),
            ("", nil),
        ]
        for (body, detail) in bodies {
            #expect(OpenCodeError.detail(of: ByteBuffer(string: body)) == detail, "\(body)")
        }
    }
}
