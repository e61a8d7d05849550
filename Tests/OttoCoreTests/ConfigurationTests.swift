import Foundation
import OttoContracts
import OttoTestSupport
import Testing

@testable import OttoCore

@Suite struct ConfigurationTests {
    @Test func aMissingConfigIsCreatedWithDefaultsAndReadBack() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let loaded = try ConfigurationLoader(environment: home.environment(apiPort: nil)).load()
        #expect(loaded.created)
        #expect(loaded.path == home.configPath)
        #expect(loaded.configuration.ottoHome == home.ottoHome)
        #expect(loaded.configuration.openCode.baseURL == "http://127.0.0.1:4096")
        #expect(loaded.configuration.openCode.requestTimeoutSeconds == 10)
        #expect(loaded.configuration.externalAPI == .init(host: "127.0.0.1", port: 4190))
        #expect(loaded.configuration.flowDefaults == FlowDefaults())
        #expect(loaded.configuration.catalogRefreshIntervalSeconds == 86_400)
        let text = try home.readConfig()
        #expect(text.contains("\"flowDefaults\""))
        let mode = try FileManager.default.attributesOfItem(atPath: home.configPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let second = try ConfigurationLoader(environment: home.environment(apiPort: nil)).load()
        #expect(!second.created)
        #expect(second.configuration == loaded.configuration)
    }

    @Test func commentsTrailingCommasAndTheOriginalOpenCodeFormAreAccepted() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(
            """
            // operator's notes
            {
              "ottoHome": "~/otto-data",
              "opencode": { "hostname": "10.0.0.5", "port": 4097, }, /* the TS Otto wrote this form */
              "externalApi": { "host": "0.0.0.0", "port": 8080, },
              "modelManagement": {
                "flowDefaults": {
                  "heartbeat": "nano-gpt/NousResearch 2/hermes-4-405b",
                  "scheduledTasks": null,
                },
                "catalogRefreshIntervalSeconds": 2,
              },
              "somethingFromAFutureVersion": true,
            }
            """
        )
        let configuration = try ConfigurationLoader(environment: home.environment(apiPort: nil)).load().configuration
        #expect(configuration.ottoHome == home.path + "/otto-data")
        #expect(configuration.openCode.baseURL == "http://10.0.0.5:4097")
        #expect(configuration.externalAPI == .init(host: "0.0.0.0", port: 8080))
        #expect(configuration.flowDefaults.heartbeat?.description == "nano-gpt/NousResearch 2/hermes-4-405b")
        #expect(configuration.flowDefaults.scheduledTasks == nil)
        #expect(configuration.catalogRefreshIntervalSeconds == 2)
    }

    @Test func environmentOverridesWinAndEmptyVariablesCountAsUnset() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let environment = home.environment(
            apiPort: nil,
            extra: [
                "OTTO_HOME": home.path + "/elsewhere",
                "OTTO_OPENCODE_BASE_URL": "http://127.0.0.1:9999/",
                "OTTO_EXTERNAL_API_HOST": "",
                "OTTO_EXTERNAL_API_PORT": "5000",
            ])
        let configuration = try ConfigurationLoader(environment: environment).load().configuration
        #expect(configuration.ottoHome == home.path + "/elsewhere")
        #expect(configuration.openCode.baseURL == "http://127.0.0.1:9999")
        #expect(configuration.externalAPI.host == "127.0.0.1")
        #expect(configuration.externalAPI.port == 5000)
    }

    @Test func otto_config_pathChoosesTheFile() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let path = home.path + "/custom/otto.jsonc"
        let loaded = try ConfigurationLoader(
            environment: home.environment(apiPort: nil, extra: ["OTTO_CONFIG_PATH": path])
        ).load()
        #expect(loaded.path == path)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: home.configPath))
    }

    @Test(arguments: [
        ("{ \"version\": 1,, }", "", "not valid JSON with comments: line 1, column 16"),
        (
            #"{"modelManagement": {"flowDefaults": {"heartbeat": "gpt-5"}}}"#,
            "modelManagement.flowDefaults.heartbeat", "invalid model reference \"gpt-5\""
        ),
        (
            #"{"modelManagement": {"flowDefaults": {"heartbeet": null}}}"#,
            "modelManagement.flowDefaults.heartbeet", "unknown flow \"heartbeet\"; expected one of"
        ),
        (
            #"{"modelManagement": {"flowDefaults": {"heartbeat": 5}}}"#,
            "modelManagement.flowDefaults.heartbeat", "got a number"
        ),
        (#"{"externalApi": {"port": 70000}}"#, "externalApi.port", "70000 is out of range"),
        (#"{"externalApi": {"port": "4190"}}"#, "externalApi.port", "expected a whole number"),
        (#"{"opencode": {"port": 0}}"#, "opencode.port", "0 is out of range"),
        (#"{"opencode": {"baseUrl": "localhost:4096"}}"#, "opencode.baseUrl", "expected an http:// or https:// URL"),
        (
            #"{"modelManagement": {"catalogRefreshIntervalSeconds": 0}}"#,
            "modelManagement.catalogRefreshIntervalSeconds", "0 is out of range"
        ),
        (
            #"{"modelManagement": {"catalogRefreshIntervalSeconds": 1.5}}"#,
            "modelManagement.catalogRefreshIntervalSeconds", "expected a whole number"
        ),
        (#"{"ottoHome": "relative/path"}"#, "ottoHome", "expected an absolute path"),
        (#"{"version": 2}"#, "version", "config version 1 only"),
        (#"[1, 2]"#, "", "the top level must be an object"),
    ])
    func invalidConfigsStopWithTheFileThePathAndTheProblem(text: String, path: String, problem: String) throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(text)
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(environment: home.environment(apiPort: nil)).load()
        }
        let message = error?.message ?? ""
        #expect(message.hasPrefix("invalid config file \(home.configPath): "), "\(message)")
        if !path.isEmpty { #expect(message.contains("\(path): "), "\(message)") }
        #expect(message.contains(problem), "\(message)")
        #expect(!message.contains("\n"))
        // The operator's file is never rewritten when it is invalid.
        #expect(try home.readConfig() == text)
    }

    @Test func everyProblemInAFileIsReportedAtOnce() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(#"{"externalApi": {"port": 0}, "modelManagement": {"flowDefaults": {"heartbeat": "x"}}}"#)
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(environment: home.environment(apiPort: nil)).load()
        }
        #expect(error?.issues.map(\.path) == ["externalApi.port", "modelManagement.flowDefaults.heartbeat"])
    }

    @Test(arguments: [
        (
            "OTTO_EXTERNAL_API_PORT", "http",
            "expected a port number from 1 to 65535 (or 0 for any free port), got \"http\""
        ),
        ("OTTO_EXTERNAL_API_PORT", "65536", "expected a port number"),
        ("OTTO_OPENCODE_BASE_URL", "127.0.0.1:4096", "expected an http:// or https:// URL"),
        ("OTTO_HOME", "relative", "expected an absolute path"),
    ])
    func invalidEnvironmentValuesNameTheVariable(name: String, value: String, problem: String) throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(environment: home.environment(apiPort: nil, extra: [name: value])).load()
        }
        #expect(error?.message.hasPrefix("invalid environment variable \(name): ") == true)
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "")")
    }

    @Test func theExecutionKeysHaveDefaultsAndAcceptSmallValues() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let created = try ConfigurationLoader(environment: home.environment(apiPort: nil)).load().configuration
        #expect(created.scheduler == OttoConfiguration.Scheduler())
        #expect(created.scheduler.tickSeconds == 30)
        #expect(created.scheduler.leaseSeconds == 30)
        #expect(created.scheduler.maxConcurrentRuns == 4)
        #expect(created.scheduler.runTimeoutSeconds == 600)
        #expect(created.scheduler.retries == 2)
        #expect(created.heartbeat.enabled && created.heartbeat.cadenceMinutes == 240)
        #expect(created.watchdog.enabled && created.watchdog.cadenceMinutes == 30)
        #expect(created.notifications.webhookURL == nil)

        try home.writeConfig(
            """
            {"scheduler": {"tickSeconds": 1, "leaseSeconds": 1, "maxConcurrentRuns": 1, "runTimeoutSeconds": 1,
                           "retries": 0},
             "heartbeat": {"enabled": false, "cadenceMinutes": 1, "prompt": "How are we?"},
             "watchdog": {"cadenceMinutes": 1},
             "notifications": {"webhookUrl": "https://ntfy.example/otto?auth=abc"}}
            """)
        let small = try ConfigurationLoader(environment: home.environment(apiPort: nil)).load().configuration
        #expect(
            small.scheduler
                == .init(tickSeconds: 1, leaseSeconds: 1, maxConcurrentRuns: 1, runTimeoutSeconds: 1, retries: 0))
        #expect(small.heartbeat == .init(enabled: false, cadenceMinutes: 1, prompt: "How are we?"))
        #expect(small.watchdog.cadenceMinutes == 1)
        #expect(small.notifications.webhookURL == "https://ntfy.example/otto?auth=abc")
    }

    @Test func invalidExecutionKeysAreReportedWithTheirPathsAndNeverEchoAWebhookURL() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(
            """
            {"scheduler": {"tickSeconds": 0, "leaseSeconds": 1.5, "retries": -1},
             "heartbeat": {"enabled": "yes", "cadenceMinutes": 0},
             "watchdog": {"cadenceMinutes": "30"},
             "notifications": {"webhookUrl": "ftp://secret-token@host/x"}}
            """)
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(environment: home.environment(apiPort: nil)).load()
        }
        #expect(
            error?.issues.map(\.path) == [
                "scheduler.tickSeconds", "scheduler.leaseSeconds", "scheduler.retries", "heartbeat.enabled",
                "heartbeat.cadenceMinutes", "watchdog.cadenceMinutes", "notifications.webhookUrl",
            ])
        #expect(error?.message.contains("secret-token") == false)
    }

    @Test(arguments: ["https://me:hunter2@ntfy.example/otto", "https://token@ntfy.example/otto"])
    func aWebhookURLWithCredentialsIsRefusedNamingTheKeyNotTheSecret(url: String) throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(#"{"notifications": {"webhookUrl": "\#(url)"}}"#)
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(environment: home.environment(apiPort: nil)).load()
        }
        #expect(error?.issues.map(\.path) == ["notifications.webhookUrl"])
        #expect(error?.message.contains("user name or password") == true)
        #expect(error?.message.contains("hunter2") == false && error?.message.contains("token@") == false)
    }
}

@Suite struct LogfmtTests {
    @Test func everyRecordIsOneLineAndNoValueDrivesTheTerminal() {
        #expect(LogfmtLogHandler.quoted("plain") == "plain")
        #expect(LogfmtLogHandler.quoted("") == #""""#)
        let hostile = "a\r\nb\u{1B}[2J\u{1B}]0;pwned\u{7}\"c\\d\te\u{2028}f\u{85}"
        let quoted = LogfmtLogHandler.quoted(hostile)
        #expect(quoted == #""a\r\nb\u001b[2J\u001b]0;pwned\u0007\"c\\d\te\u2028f\u0085""#)
        #expect(!quoted.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        #expect(LogfmtLogHandler.quoted("carriage\rreturn").hasPrefix("\""))
    }
}
