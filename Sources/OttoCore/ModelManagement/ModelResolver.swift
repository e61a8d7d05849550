import Logging
import OttoContracts

/// The model a piece of work runs on, and which rule chose it.
public struct ResolvedModel: Sendable, Equatable {
    /// nil when nothing chooses a model: OpenCode picks one itself (`source` is `opencode_default`).
    public let ref: ModelRef?
    public let source: ModelSource
    /// The model the job or flow asked for when the runtime fell back to the global default.
    public let requested: ModelRef?
}

public struct ModelResolutionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let flow: RuntimeModelFlow
    /// The job's or flow's model that was not available, if one was chosen.
    public let requested: ModelRef?
    /// OpenCode's global default, if OpenCode named one.
    public let globalDefault: ModelRef?

    public var message: String {
        let fallback =
            globalDefault.map { "OpenCode's global default \($0) is not in the catalog either" }
            ?? "OpenCode names no global default model"
        if let requested {
            return "no model available for flow \(flow): \(requested) is not in the catalog and \(fallback)"
        }
        return "no model available for flow \(flow): neither the job nor the flow chooses one and \(fallback)"
    }
    public var description: String { message }
}

/// Decides which model a piece of work runs on. Every execution path asks this one component.
///
/// Precedence: the job's `modelRef`, then the flow's default, then OpenCode's global default, then OpenCode's own
/// choice (no model is sent; the model that answered is recorded). A chosen model that is not in the current
/// catalog falls back to the global default, with a warning that names what happened; with no usable global
/// default either, that is an error (the operator chose a model, and it is gone).
public struct ModelResolver: Sendable {
    private let catalog: any CatalogSnapshotProviding
    private let flowDefaults: any FlowDefaultsProviding
    private let logger: Logger

    public init(catalog: any CatalogSnapshotProviding, flowDefaults: any FlowDefaultsProviding, logger: Logger) {
        self.catalog = catalog
        self.flowDefaults = flowDefaults
        self.logger = logger
    }

    /// A resolver over the catalog and flow defaults as they are now, for resolving many jobs at once (a job
    /// listing) without re-reading either for every job.
    public func pinned() -> ModelResolver {
        ModelResolver(
            catalog: PinnedCatalog(snapshot: catalog.snapshot),
            flowDefaults: PinnedDefaults(
                defaults: RuntimeModelFlow.allCases.reduce(into: FlowDefaults()) {
                    $0[$1] = flowDefaults.flowDefault(for: $1)
                }),
            logger: logger
        )
    }

    /// - Parameter logFallback: false for previews (an API listing what jobs would run on), which must not log a
    ///   warning per job on every read.
    public func resolve(
        flow: RuntimeModelFlow,
        jobModelRef: ModelRef?,
        logFallback: Bool = true
    ) throws(ModelResolutionError) -> ResolvedModel {
        let snapshot = catalog.snapshot
        let chosen: (ref: ModelRef, source: ModelSource)?
        if let jobModelRef {
            chosen = (jobModelRef, .job)
        } else if let flowDefault = flowDefaults.flowDefault(for: flow) {
            chosen = (flowDefault, .flowDefault)
        } else {
            chosen = nil
        }
        if let chosen, snapshot.contains(chosen.ref) {
            return ResolvedModel(ref: chosen.ref, source: chosen.source, requested: nil)
        }
        guard let global = snapshot.globalDefault, snapshot.contains(global) else {
            guard let chosen else { return ResolvedModel(ref: nil, source: .openCodeDefault, requested: nil) }
            throw ModelResolutionError(flow: flow, requested: chosen.ref, globalDefault: snapshot.globalDefault)
        }
        guard let chosen else {
            return ResolvedModel(ref: global, source: .globalDefault, requested: nil)
        }
        if logFallback {
            logger.warning(
                "model not in the catalog; falling back to OpenCode's global default",
                metadata: [
                    "flow": "\(flow)",
                    "requested": "\(chosen.ref)",
                    "requestedBy": "\(chosen.source.rawValue)",
                    "fallback": "\(global)",
                ]
            )
        }
        return ResolvedModel(ref: global, source: .fallbackGlobalDefault, requested: chosen.ref)
    }
}

private struct PinnedCatalog: CatalogSnapshotProviding {
    let snapshot: ModelCatalogSnapshot
}

private struct PinnedDefaults: FlowDefaultsProviding {
    let defaults: FlowDefaults
    func flowDefault(for flow: RuntimeModelFlow) -> ModelRef? { defaults[flow] }
}

extension ModelResolver {
    /// What `flow` (or a job of it with `jobModelRef`) would run on now, for showing, not running: a fallback is
    /// not logged, and no model at all is `unresolved` rather than an error.
    public func effectiveModel(flow: RuntimeModelFlow, jobModelRef: ModelRef?) -> EffectiveModel {
        guard let resolved = try? resolve(flow: flow, jobModelRef: jobModelRef, logFallback: false) else {
            return .unresolved
        }
        return EffectiveModel(ref: resolved.ref, source: EffectiveModel.Source(resolved.source))
    }

    public func effectiveModel(for job: Job) -> EffectiveModel {
        effectiveModel(flow: job.flow, jobModelRef: job.modelRef)
    }
}
