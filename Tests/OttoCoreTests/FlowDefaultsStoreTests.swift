import Foundation
import OttoContracts
import OttoTestSupport
import Testing

@testable import OttoCore

@Suite struct FlowDefaultsStoreTests {
    static let operatorFile = """
        // My Otto. Do not lose this comment.
        {
          "version": 1,
          "myPlugin": { "enabled": true },   // a key Otto does not know
          "modelManagement": {
            "flowDefaults": {
              "interactiveAssistant": "anthropic/claude-sonnet-4-5",
              "scheduledTasks": null,
              /* heartbeat: keep it cheap */
              "heartbeat": null,
              "watchdogFailures": null,
            },
          },
        }

        """

    static func store(_ home: TemporaryHome, logs: CapturedLogs = CapturedLogs()) throws -> FlowDefaultsStore {
        let configuration = try ConfigurationLoader(environment: home.environment()).load().configuration
        return FlowDefaultsStore(path: home.configPath, initial: configuration.flowDefaults, logger: logs.logger())
    }

    @Test func anUpdateChangesOnlyTheValueAndKeepsCommentsAndUnknownKeys() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(Self.operatorFile)
        let store = try Self.store(home)
        let result = try await store.update {
            $0[.heartbeat] = try! ModelRef(parsing: "nano-gpt/NousResearch 2/hermes-4-405b")
        }
        #expect(result.defaults.heartbeat?.description == "nano-gpt/NousResearch 2/hermes-4-405b")
        let expected = Self.operatorFile.replacingOccurrences(
            of: "\"heartbeat\": null",
            with: "\"heartbeat\": \"nano-gpt/NousResearch 2/hermes-4-405b\""
        )
        #expect(try home.readConfig() == expected)
        // And back to inherit.
        try await store.update { $0[.heartbeat] = nil }
        #expect(try home.readConfig() == Self.operatorFile)
    }

    @Test func anUpdateKeepsTheFilePermissions() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(Self.operatorFile)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: home.configPath)
        let store = try Self.store(home)
        try await store.update { $0[.scheduledTasks] = try! ModelRef(parsing: "openai/gpt-5") }
        let mode = try FileManager.default.attributesOfItem(atPath: home.configPath)[.posixPermissions] as? Int
        #expect(mode == 0o640)
    }

    @Test func aFileWithoutFlowDefaultsGetsThemAdded() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig("{\n  \"version\": 1 // only this\n}\n")
        let store = try Self.store(home)
        try await store.update { $0[.watchdogFailures] = try! ModelRef(parsing: "openai/gpt-5") }
        let reloaded = try ConfigurationLoader(environment: home.environment()).load().configuration
        #expect(reloaded.flowDefaults == FlowDefaults(watchdogFailures: try ModelRef(parsing: "openai/gpt-5")))
        #expect(try home.readConfig().contains("// only this"))
    }

    @Test func aHandEditIsSeenWithoutARestartAndTheFileIsNotReparsedWhenUnchanged() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(Self.operatorFile)
        let logs = CapturedLogs()
        let store = try Self.store(home, logs: logs)
        for _ in 0..<20 { await store.refresh() }
        #expect(store.reloadCount == 0)
        #expect(store.flowDefault(for: .interactiveAssistant)?.description == "anthropic/claude-sonnet-4-5")

        try home.writeConfig(
            Self.operatorFile.replacingOccurrences(of: "anthropic/claude-sonnet-4-5", with: "openai/gpt-5"))
        // Readers see the published snapshot until the store looks at the file again.
        #expect(store.flowDefault(for: .interactiveAssistant)?.description == "anthropic/claude-sonnet-4-5")
        await store.refresh()
        #expect(store.flowDefault(for: .interactiveAssistant)?.description == "openai/gpt-5")
        for _ in 0..<20 { await store.refresh() }
        #expect(store.reloadCount == 1)
        #expect(logs.all.contains { $0.message == "flow defaults changed in the config file" })
    }

    @Test func aBrokenHandEditKeepsTheLastValidDefaults() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(Self.operatorFile)
        let logs = CapturedLogs()
        let store = try Self.store(home, logs: logs)
        try home.writeConfig(Self.operatorFile.replacingOccurrences(of: "anthropic/claude-sonnet-4-5", with: "nope"))
        await store.refresh()
        #expect(store.flowDefault(for: .interactiveAssistant)?.description == "anthropic/claude-sonnet-4-5")
        #expect(logs.all.contains { $0.level == .warning && $0.metadata["reason"]?.contains("\"nope\"") == true })
        // An update refuses to write over the broken file.
        let error = await #expect(throws: FlowDefaultsUpdateError.self) {
            try await store.update { $0[.heartbeat] = nil }
        }
        guard case .configurationInvalid = error else {
            Issue.record("expected configurationInvalid, got \(String(describing: error))")
            return
        }
        #expect(try home.readConfig().contains("\"nope\""))
    }

    @Test func aStaleETagIsRefusedAndChangesNothing() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(Self.operatorFile)
        let store = try Self.store(home)
        let read = store.current()
        #expect(read.matches(ifMatch: read.etag))
        let afterFirst = try await store.update(ifMatch: read.etag) { $0[.heartbeat] = try! ModelRef(parsing: "a/b") }
        #expect(afterFirst.etag != read.etag)
        let fileAfterFirst = try home.readConfig()

        let error = await #expect(throws: FlowDefaultsUpdateError.self) {
            try await store.update(ifMatch: read.etag) { $0[.scheduledTasks] = try! ModelRef(parsing: "c/d") }
        }
        guard case .preconditionFailed(let current) = error else {
            Issue.record("expected preconditionFailed, got \(String(describing: error))")
            return
        }
        #expect(current == afterFirst)
        #expect(try home.readConfig() == fileAfterFirst)
        // Weak and wildcard forms.
        #expect(
            !afterFirst.matches(ifMatch: "W/\(afterFirst.etag)"), "If-Match compares strongly: a weak tag never matches"
        )
        #expect(afterFirst.matches(ifMatch: "*"))
        #expect(!afterFirst.matches(ifMatch: "\"something-else\""))
    }

    @Test func theETagFollowsTheValuesNotTheFileBytes() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(Self.operatorFile)
        let store = try Self.store(home)
        let before = store.current().etag
        try home.writeConfig("// a new comment only\n" + Self.operatorFile)
        await store.refresh()
        #expect(store.current().etag == before)
    }

    @Test func readersNeverWaitForAWriteInProgress() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(Self.operatorFile)
        let store = try Self.store(home)
        let release = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        let writing = Task {
            try await store.update { defaults in
                // Holds the file-work lock, as a slow disk would, until the readers below are done.
                entered.signal()
                release.wait()
                defaults[.heartbeat] = try! ModelRef(parsing: "openai/gpt-5")
            }
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                entered.wait()
                continuation.resume()
            }
        }
        for _ in 0..<1_000 { #expect(store.current().defaults.heartbeat == nil) }
        release.signal()
        let after = try await writing.value
        #expect(after.defaults.heartbeat?.description == "openai/gpt-5")
        #expect(store.current() == after)
    }

    @Test func concurrentUpdatesToDifferentFlowsAllSurvive() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(Self.operatorFile)
        let store = try Self.store(home)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, flow) in RuntimeModelFlow.allCases.enumerated() {
                group.addTask {
                    for round in 0..<10 {
                        try await store.update { $0[flow] = try! ModelRef(parsing: "p\(index)/model \(round)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        let reloaded = try ConfigurationLoader(environment: home.environment()).load().configuration.flowDefaults
        for (index, flow) in RuntimeModelFlow.allCases.enumerated() {
            #expect(reloaded[flow]?.description == "p\(index)/model 9")
        }
        #expect(try home.readConfig().contains("Do not lose this comment."))
    }
}
