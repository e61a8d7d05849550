import Foundation
import OttoContracts
import OttoTestSupport
import Synchronization
import Testing

@testable import OttoCore

/// A catalog fixed for a test; the resolver sees only `CatalogSnapshotProviding`.
final class FixedCatalog: CatalogSnapshotProviding {
    private let current: Mutex<ModelCatalogSnapshot>
    init(_ refs: [String], globalDefault: String?) {
        current = Mutex(Self.snapshot(refs, globalDefault: globalDefault))
    }
    var snapshot: ModelCatalogSnapshot { current.withLock { $0 } }
    func replace(_ refs: [String], globalDefault: String?) {
        current.withLock { $0 = Self.snapshot(refs, globalDefault: globalDefault) }
    }
    static func snapshot(_ refs: [String], globalDefault: String?) -> ModelCatalogSnapshot {
        ModelCatalogSnapshot(
            refs: refs.map { try! ModelRef(parsing: $0) }.sorted(),
            updatedAt: 1,
            source: .network,
            globalDefault: globalDefault.map { try! ModelRef(parsing: $0) }
        )
    }
}

@Suite struct ModelResolverTests {
    static let catalog = ["global/default", "job/model", "flow/model", "other/model"]

    func resolver(
        catalog: FixedCatalog = FixedCatalog(Self.catalog, globalDefault: "global/default"),
        defaults: FlowDefaultsStore,
        logs: CapturedLogs = CapturedLogs()
    ) -> ModelResolver {
        ModelResolver(catalog: catalog, flowDefaults: defaults, logger: logs.logger())
    }

    func store(_ home: TemporaryHome, _ defaults: FlowDefaults = FlowDefaults()) async throws -> FlowDefaultsStore {
        let store = FlowDefaultsStore(path: home.configPath, initial: FlowDefaults(), logger: CapturedLogs().logger())
        _ = try ConfigurationLoader(environment: home.environment()).load()
        try await store.update { $0 = defaults }
        return store
    }

    static func ref(_ text: String) -> ModelRef { try! ModelRef(parsing: text) }

    @Test(arguments: RuntimeModelFlow.allCases)
    func theJobWinsThenTheFlowDefaultThenTheGlobalDefault(flow: RuntimeModelFlow) async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        var defaults = FlowDefaults()
        defaults[flow] = Self.ref("flow/model")
        let resolver = resolver(defaults: try await store(home, defaults))

        let byJob = try resolver.resolve(flow: flow, jobModelRef: Self.ref("job/model"))
        #expect(byJob == ResolvedModel(ref: Self.ref("job/model"), source: .job, requested: nil))
        #expect(byJob.ref?.providerId == "job" && byJob.ref?.modelId == "model")

        let byFlow = try resolver.resolve(flow: flow, jobModelRef: nil)
        #expect(byFlow == ResolvedModel(ref: Self.ref("flow/model"), source: .flowDefault, requested: nil))

        // Another flow without a default inherits OpenCode's global default.
        let otherFlow = RuntimeModelFlow.allCases.first { $0 != flow }!
        let byGlobal = try resolver.resolve(flow: otherFlow, jobModelRef: nil)
        #expect(byGlobal == ResolvedModel(ref: Self.ref("global/default"), source: .globalDefault, requested: nil))
    }

    @Test(arguments: RuntimeModelFlow.allCases)
    func anUnavailableModelFallsBackToTheGlobalDefaultWithAWarning(flow: RuntimeModelFlow) async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        var defaults = FlowDefaults()
        defaults[flow] = Self.ref("gone/flow-model")
        let logs = CapturedLogs()
        let resolver = resolver(defaults: try await store(home, defaults), logs: logs)

        let fromJob = try resolver.resolve(flow: flow, jobModelRef: Self.ref("gone/job-model"))
        #expect(
            fromJob
                == ResolvedModel(
                    ref: Self.ref("global/default"),
                    source: .fallbackGlobalDefault,
                    requested: Self.ref("gone/job-model")
                )
        )
        let fromFlow = try resolver.resolve(flow: flow, jobModelRef: nil)
        #expect(fromFlow.source == .fallbackGlobalDefault)
        #expect(fromFlow.requested == Self.ref("gone/flow-model"))

        let warnings = logs.all.filter { $0.level == .warning }
        #expect(warnings.count == 2)
        #expect(warnings[0].metadata["flow"] == flow.rawValue)
        #expect(warnings[0].metadata["requested"] == "gone/job-model")
        #expect(warnings[0].metadata["requestedBy"] == "job")
        #expect(warnings[0].metadata["fallback"] == "global/default")
        #expect(warnings[1].metadata["requested"] == "gone/flow-model")
        #expect(warnings[1].metadata["requestedBy"] == "flow_default")

        // A preview (the API showing what a job would run on) does not log.
        _ = try resolver.resolve(flow: flow, jobModelRef: Self.ref("gone/job-model"), logFallback: false)
        #expect(logs.all.filter { $0.level == .warning }.count == 2)
    }

    /// A chosen model that is gone, with no usable global default, is an error; with nothing chosen and no global
    /// default (a stock OpenCode install), OpenCode chooses.
    @Test func withoutAnAvailableGlobalDefaultAChosenModelFailsAndNoChoiceLetsOpenCodeChoose() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let catalog = FixedCatalog(Self.catalog, globalDefault: "gone/global")
        let resolver = resolver(catalog: catalog, defaults: try await store(home))
        let error = #expect(throws: ModelResolutionError.self) {
            try resolver.resolve(flow: .heartbeat, jobModelRef: Self.ref("gone/job"))
        }
        #expect(
            error?.message
                == "no model available for flow heartbeat: gone/job is not in the catalog and OpenCode's global default gone/global is not in the catalog either"
        )
        catalog.replace(Self.catalog, globalDefault: nil)
        let gone = #expect(throws: ModelResolutionError.self) {
            try resolver.resolve(flow: .heartbeat, jobModelRef: Self.ref("gone/job"))
        }
        #expect(gone?.message.contains("OpenCode names no global default model") == true)
        let none = try resolver.resolve(flow: .heartbeat, jobModelRef: nil)
        #expect(none == ResolvedModel(ref: nil, source: .openCodeDefault, requested: nil))
        #expect(
            resolver.effectiveModel(flow: .heartbeat, jobModelRef: nil)
                == EffectiveModel(ref: nil, source: .openCodeDefault))
    }

    @Test func defaultAndCatalogChangesApplyToTheNextResolution() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let catalog = FixedCatalog(Self.catalog, globalDefault: "global/default")
        let defaults = try await store(home)
        let resolver = resolver(catalog: catalog, defaults: defaults)
        #expect(try resolver.resolve(flow: .scheduledTasks, jobModelRef: nil).source == .globalDefault)

        try await defaults.update { $0[.scheduledTasks] = Self.ref("other/model") }
        #expect(try resolver.resolve(flow: .scheduledTasks, jobModelRef: nil).ref == Self.ref("other/model"))

        catalog.replace(["global/default"], globalDefault: "global/default")
        #expect(try resolver.resolve(flow: .scheduledTasks, jobModelRef: nil).source == .fallbackGlobalDefault)
    }
}
