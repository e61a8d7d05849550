import Foundation
import OpenCodeStandIn
import OttoContracts
import OttoTestSupport
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@testable import OttoCore

@Suite struct ModelCatalogServiceTests {
    static func service(
        _ server: RunningStandIn,
        home: TemporaryHome,
        logs: CapturedLogs = CapturedLogs(),
        now: @escaping @Sendable () -> Date = Date.init
    ) -> ModelCatalogService {
        ModelCatalogService(
            source: OpenCodeClient(baseURL: server.baseURL),
            cache: CatalogCache(path: home.catalogCachePath),
            logger: logs.logger(),
            now: now
        )
    }

    @Test func aRefreshIsPersistedAndReloadedFromTheCache() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let fixedNow = Date(timeIntervalSince1970: 1_795_000_000.123)
        try await withStandInOpenCode { server in
            let catalog = Self.service(server, home: home, now: { fixedNow })
            #expect(catalog.snapshot.count == 0)
            let snapshot = try await catalog.refreshNow()
            #expect(snapshot.source == .network)
            #expect(snapshot.updatedAt == 1_795_000_000_123)
            #expect(snapshot.refs.map(\.description) == Fixtures.expectedRefs)
            #expect(catalog.snapshot.count == 4_803)
        }
        // The file has the original Otto's shape.
        let file = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: home.catalogCachePath)))
        let object = try #require(file as? [String: Any])
        #expect(Set(object.keys) == ["refs", "updatedAt"])
        #expect(object["refs"] as? [String] == Fixtures.expectedRefs)
        #expect((object["updatedAt"] as? NSNumber)?.int64Value == 1_795_000_000_123)

        // A new process (a new service) starts from the cache, with OpenCode down.
        let down = ModelCatalogService(
            source: OpenCodeClient(baseURL: "http://127.0.0.1:\(closedLoopbackPort())"),
            cache: CatalogCache(path: home.catalogCachePath),
            logger: CapturedLogs().logger()
        )
        let cached = try #require(down.loadCache())
        #expect(cached.source == .cache)
        #expect(cached.updatedAt == 1_795_000_000_123)
        #expect(down.snapshot.refs.map(\.description) == Fixtures.expectedRefs)
        #expect(down.snapshot.contains(try ModelRef(parsing: "nano-gpt/NousResearch 2/hermes-4-405b")))
    }

    @Test func concurrentRefreshesShareOneFetchAndEachGetsItsResult() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try await withStandInOpenCode { server in
            let catalog = Self.service(server, home: home)
            // The stand-in holds the first fetch until all 100 callers are waiting.
            server.standIn.mode = .hanging
            let before = server.standIn.providersRequestCount
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<100 { group.addTask { try await catalog.refreshNow().count } }
                try await Task.sleep(for: .milliseconds(300))
                server.standIn.mode = .normal
                var results: [Int] = []
                for try await count in group { results.append(count) }
                #expect(results == Array(repeating: 4_803, count: 100))
            }
            #expect(server.standIn.providersRequestCount - before == 1)
            // The next refresh, asked for after that one ended, fetches again.
            _ = try await catalog.refreshNow()
            #expect(server.standIn.providersRequestCount - before == 2)
        }
    }

    @Test func aCorruptCacheIsIgnoredWithAWarning() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try FileManager.default.createDirectory(atPath: home.ottoHome + "/data", withIntermediateDirectories: true)
        try Data(#"{"refs": ["a/b", "#.utf8).write(to: URL(fileURLWithPath: home.catalogCachePath))
        let logs = CapturedLogs()
        let catalog = ModelCatalogService(
            source: OpenCodeClient(baseURL: "http://127.0.0.1:1"),
            cache: CatalogCache(path: home.catalogCachePath),
            logger: logs.logger()
        )
        #expect(catalog.loadCache() == nil)
        #expect(catalog.snapshot.count == 0)
        let warning = try #require(logs.all.first { $0.level == .warning })
        #expect(warning.metadata["path"] == home.catalogCachePath)
    }

    @Test func aFailedRefreshKeepsThePreviousSnapshot() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try await withStandInOpenCode { server in
            let catalog = Self.service(server, home: home)
            let first = try await catalog.refreshNow()
            let cacheBefore = try Data(contentsOf: URL(fileURLWithPath: home.catalogCachePath))
            server.standIn.mode = .failing(status: 500)
            await #expect(throws: OpenCodeError.self) { try await catalog.refreshNow() }
            server.standIn.mode = .garbage
            await #expect(throws: OpenCodeError.self) { try await catalog.refreshNow() }
            #expect(catalog.snapshot.refs == first.refs)
            #expect(catalog.snapshot.updatedAt == first.updatedAt)
            #expect(try Data(contentsOf: URL(fileURLWithPath: home.catalogCachePath)) == cacheBefore)
        }
    }

    @Test func aCatalogOverTheLimitIsRefusedAndThePreviousOneStays() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try await withStandInOpenCode { server in
            let catalog = Self.service(server, home: home)
            let first = try await catalog.refreshNow()
            var body = #"{"providers": [{"id": "flood", "models": {"#
            body += (0...OpenCodePayloads.maxCatalogModels).map { #""m\#($0)": {}"# }.joined(separator: ",")
            body += "}}]}"
            server.standIn.setProvidersBody(Data(body.utf8))
            let error = await #expect(throws: OpenCodeError.self) { try await catalog.refreshNow() }
            #expect(error?.message.contains("lists 50001 models, more than the 50000 Otto accepts") == true)
            #expect(catalog.snapshot.refs == first.refs)
        }
    }

    @Test func thePeriodicRefreshPicksUpChangesAndSurvivesFailures() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try await withStandInOpenCode { server in
            let logs = CapturedLogs()
            let catalog = Self.service(server, home: home, logs: logs)
            try await catalog.refreshNow()
            server.standIn.setProvidersBody(Fixtures.providersBody(["small": ["one", "two"]]))
            let service = CatalogRefreshService(catalog: catalog, interval: .seconds(1), logger: logs.logger())
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await service.run() }
                    #expect(await eventually { catalog.snapshot.count == 2 })
                    #expect(catalog.snapshot.refs.map(\.description) == ["small/one", "small/two"])

                    server.standIn.mode = .failing(status: 502)
                    // Each failed refresh is one warning (the failure may come from any of its calls).
                    let failuresBefore = logs.all.filter { $0.level == .warning }.count
                    #expect(await eventually { logs.all.filter { $0.level == .warning }.count >= failuresBefore + 2 })
                    #expect(catalog.snapshot.refs.map(\.description) == ["small/one", "small/two"])
                    let warning = logs.all.last { $0.level == .warning }
                    #expect(warning?.metadata["reason"]?.contains("answered HTTP 502") == true)
                    #expect(warning?.metadata["keptCount"] == "2")

                    trigger.triggerGracefulShutdown()
                    try await group.waitForAll()
                }
            }
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(15), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(25))
    }
    return await condition()
}
