import Foundation
import Logging
import OttoContracts

/// The operator's model controls: the catalog, its refresh, and the flow defaults, each change audited.
public struct ModelManagementService: Sendable {
    public static let refreshCommand = "external_models_refresh"
    public static let defaultsUpdateCommand = "external_models_defaults_update"

    public let catalog: ModelCatalogService
    public let flowDefaults: FlowDefaultsStore
    public let resolver: ModelResolver
    let database: AppDatabase
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        catalog: ModelCatalogService,
        flowDefaults: FlowDefaultsStore,
        resolver: ModelResolver,
        database: AppDatabase,
        logger: Logger,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.catalog = catalog
        self.flowDefaults = flowDefaults
        self.resolver = resolver
        self.database = database
        self.logger = logger
        self.now = now
    }

    /// Fetches the catalog from OpenCode now. On failure the previous catalog stays and the error says why.
    public func refresh(actor: String = "external_api") async throws(DomainError) -> ModelCatalogSnapshot {
        do {
            let snapshot = try await catalog.refreshNow()
            await audit(
                Self.refreshCommand,
                status: .success,
                error: nil,
                metadata: ["count": .number(Double(snapshot.count)), "actor": .string(actor)]
            )
            return snapshot
        } catch {
            let kept = catalog.snapshot
            await audit(
                Self.refreshCommand,
                status: .failed,
                error: error.message,
                metadata: ["keptCount": .number(Double(kept.count)), "actor": .string(actor)]
            )
            throw .upstreamUnavailable("catalog refresh failed, the previous catalog is kept: \(error.message)")
        }
    }

    /// Replaces all four flow defaults. A model must be in the current catalog unless the flow already has it.
    /// Sets the defaults of `flows` to `requested`'s; the other flows stay as they are.
    public func updateDefaults(
        _ requested: FlowDefaults,
        flows: Set<RuntimeModelFlow> = Set(RuntimeModelFlow.allCases),
        ifMatch: String?,
        actor: String = "external_api"
    ) async throws(DomainError) -> VersionedFlowDefaults {
        await flowDefaults.refresh()
        let before = flowDefaults.current()
        let snapshot = catalog.snapshot
        var issues: [FieldIssue] = []
        for flow in RuntimeModelFlow.allCases where flows.contains(flow) {
            guard let ref = requested[flow], ref != before.defaults[flow] else { continue }
            if let issue = Self.selectabilityIssue(ref, path: "flowDefaults.\(flow)", in: snapshot) {
                issues.append(issue)
            }
        }
        var metadata: [String: JSONValue] = [
            "before": Self.json(before.defaults),
            "requested": Self.json(requested),
            "actor": .string(actor),
        ]
        if let ifMatch { metadata["ifMatch"] = .string(ifMatch) }
        if !issues.isEmpty {
            let error = DomainError.invalid(issues)
            await audit(Self.defaultsUpdateCommand, status: .failed, error: error.message, metadata: metadata)
            throw error
        }
        do {
            let after = try await flowDefaults.update(ifMatch: ifMatch) { defaults in
                for flow in flows { defaults[flow] = requested[flow] }
            }
            metadata["after"] = Self.json(after.defaults)
            await audit(Self.defaultsUpdateCommand, status: .success, error: nil, metadata: metadata)
            return after
        } catch {
            let domainError: DomainError
            switch error {
            case .preconditionFailed:
                domainError = .preconditionFailed(
                    "the flow defaults changed since your If-Match version was read; read them again and retry"
                )
            case .configurationInvalid:
                domainError = .conflict(error.localizedDescription)
            case .writeFailed:
                domainError = .storageUnavailable(error.localizedDescription)
            }
            await audit(Self.defaultsUpdateCommand, status: .failed, error: domainError.message, metadata: metadata)
            throw domainError
        }
    }

    /// Why `ref` cannot be chosen now (it is not in the catalog), with the closest catalog entries; nil if it can.
    public static func selectabilityIssue(_ ref: ModelRef, path: String, in snapshot: ModelCatalogSnapshot)
        -> FieldIssue?
    {
        guard !snapshot.contains(ref) else { return nil }
        let suggestions = closestMatches(to: ref, in: snapshot)
        var message = "model \"\(ref)\" is not in the catalog"
        if !suggestions.isEmpty {
            message += "; closest matches: " + suggestions.joined(separator: ", ")
        }
        message += "; if it was added to OpenCode recently, refresh the catalog and retry"
        return FieldIssue(path: path, message: message)
    }

    /// Up to three catalog entries closest to `ref` by edit distance: among the models of its provider when the
    /// catalog has that provider, else among all. The work is bounded: both texts are cut to 128 bytes, a
    /// candidate whose length alone rules it out is skipped, and each distance stops once it cannot beat the
    /// third best found so far.
    static func closestMatches(to ref: ModelRef, in snapshot: ModelCatalogSnapshot, limit: Int = 3) -> [String] {
        let target = Array(ref.description.lowercased().utf8.prefix(128))
        let sameProvider = snapshot.refs.filter { $0.providerId == ref.providerId }
        var best: [(score: Int, ref: String)] = []
        for candidate in sameProvider.isEmpty ? snapshot.refs : sameProvider {
            let text = Array(candidate.description.lowercased().utf8.prefix(128))
            // Only suggestions closer than replacing the whole reference are worth showing.
            let bound = best.count < limit ? target.count - 1 : best[best.count - 1].score
            guard abs(text.count - target.count) <= bound,
                let distance = editDistance(target, text, atMost: bound)
            else { continue }
            best.append((distance, candidate.description))
            best.sort { $0.score != $1.score ? $0.score < $1.score : $0.ref < $1.ref }
            if best.count > limit { best.removeLast() }
        }
        return best.map(\.ref)
    }

    /// The edit distance of `a` and `b` if it is at most `bound`, else nil (computed only as far as needed).
    static func editDistance(_ a: [UInt8], _ b: [UInt8], atMost bound: Int) -> Int? {
        guard bound >= 0 else { return nil }
        if a.isEmpty { return b.count <= bound ? b.count : nil }
        if b.isEmpty { return a.count <= bound ? a.count : nil }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMinimum = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                rowMinimum = min(rowMinimum, current[j])
            }
            // Every later row is at least this row's minimum.
            if rowMinimum > bound { return nil }
            swap(&previous, &current)
        }
        return previous[b.count] <= bound ? previous[b.count] : nil
    }

    static func json(_ defaults: FlowDefaults) -> JSONValue {
        .object(
            Dictionary(
                uniqueKeysWithValues: RuntimeModelFlow.allCases.map { flow in
                    (flow.rawValue, defaults[flow].map { JSONValue.string($0.description) } ?? .null)
                }
            )
        )
    }

    func audit(_ command: String, status: CommandAuditEntry.Status, error: String?, metadata: [String: JSONValue]) async
    {
        let entry = CommandAuditEntry(
            command: command,
            status: status,
            errorMessage: error,
            metadata: JSONText(.object(metadata)),
            createdAt: Int64((now().timeIntervalSince1970 * 1000).rounded())
        )
        do {
            try await database.appendCommandAudit(entry)
        } catch {
            logger.error("cannot write the command audit", metadata: ["command": "\(command)", "reason": "\(error)"])
        }
        var logMetadata: Logger.Metadata = ["command": "\(command)", "status": "\(status.rawValue)"]
        if let error { logMetadata["error"] = "\(error)" }
        for (key, value) in metadata { logMetadata[key] = "\(value.jsonText)" }
        logger.notice("audit", metadata: logMetadata)
    }
}

extension ModelManagementService {
    /// Records a defaults update the transport rejected before it reached `updateDefaults` (a body of the wrong
    /// shape), so the audit shows every attempt.
    public func recordRejectedDefaultsUpdate(_ message: String, actor: String = "external_api") async {
        await audit(Self.defaultsUpdateCommand, status: .failed, error: message, metadata: ["actor": .string(actor)])
    }

    /// What each flow runs on now, and OpenCode's global default (the fallback).
    public func effectiveModels() -> EffectiveModelsResponse {
        let resolver = resolver.pinned()
        var flows: [String: EffectiveModel] = [:]
        for flow in RuntimeModelFlow.allCases {
            flows[flow.rawValue] = resolver.effectiveModel(flow: flow, jobModelRef: nil)
        }
        return EffectiveModelsResponse(flows: flows, globalDefault: catalog.snapshot.globalDefault?.description)
    }

    /// Command audit entries, newest first.
    public func auditEntries(limit: Int, command: String?) async throws -> [CommandAuditEntry] {
        try await database.commandAudit(limit: limit, command: command)
    }
}
