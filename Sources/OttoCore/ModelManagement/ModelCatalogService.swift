import Foundation
import Logging
import NIOPosix
import OttoContracts
import Synchronization

/// Reads the current catalog snapshot. The resolver depends on this, not on the whole catalog service.
public protocol CatalogSnapshotProviding: Sendable {
    var snapshot: ModelCatalogSnapshot { get }
}

/// Holds the model catalog: loaded from the cache at start-up, replaced by every successful fetch from OpenCode,
/// and never emptied by a failed one.
public final class ModelCatalogService: CatalogSnapshotProviding {
    private struct State {
        var snapshot: ModelCatalogSnapshot = .empty
        /// Orders concurrent refreshes: a fetch that started earlier never overwrites one that started later.
        var nextGeneration = 0
        var appliedGeneration = -1
    }

    private let state = Mutex(State())
    private let source: any OpenCodeCatalogSource
    private let cache: CatalogCache
    private let now: @Sendable () -> Date
    private let logger: Logger

    public init(
        source: any OpenCodeCatalogSource,
        cache: CatalogCache,
        logger: Logger,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.source = source
        self.cache = cache
        self.logger = logger
        self.now = now
    }

    public var snapshot: ModelCatalogSnapshot { state.withLock { $0.snapshot } }

    /// The URL catalog fetches go to, for messages and logs.
    public var sourceURL: String { source.providersURL }

    /// Loads the cache file, if any, as the current snapshot. A corrupt cache is ignored with a warning.
    @discardableResult
    public func loadCache() -> ModelCatalogSnapshot? {
        do {
            guard let cached = try cache.load() else { return nil }
            state.withLock { state in
                if state.snapshot.updatedAt == nil { state.snapshot = cached }
            }
            logger.info(
                "loaded model catalog from cache",
                metadata: [
                    "path": "\(cache.path)", "count": "\(cached.count)", "updatedAt": "\(cached.updatedAt ?? 0)",
                ]
            )
            return cached
        } catch {
            logger.warning(
                "ignoring the model catalog cache", metadata: ["path": "\(cache.path)", "reason": "\(error.reason)"])
            return nil
        }
    }

    /// Fetches the catalog from OpenCode, persists it and makes it current. On failure the previous snapshot stays.
    @discardableResult
    public func refreshNow() async throws(OpenCodeError) -> ModelCatalogSnapshot {
        let generation = state.withLock { state in
            defer { state.nextGeneration += 1 }
            return state.nextGeneration
        }
        let fetched = try await source.fetchCatalog()
        let updatedAt = Int64((now().timeIntervalSince1970 * 1000).rounded())
        let fresh = ModelCatalogSnapshot(
            refs: fetched.refs,
            updatedAt: updatedAt,
            source: .network,
            globalDefault: fetched.globalDefault
        )
        let applied = state.withLock { state in
            guard generation > state.appliedGeneration else { return false }
            state.appliedGeneration = generation
            state.snapshot = fresh
            return true
        }
        guard applied else { return snapshot }
        do {
            // The write ends in two fsyncs: a pool thread waits for them, not the caller's.
            let cache = self.cache
            try await NIOThreadPool.singleton.runIfActive { try cache.save(refs: fresh.refs, updatedAt: updatedAt) }
        } catch {
            // The fresh catalog is still served; only the copy for the next start-up is stale.
            logger.error(
                "cannot write the model catalog cache",
                metadata: ["path": "\(cache.path)", "reason": "\(error.localizedDescription)"]
            )
        }
        return fresh
    }
}
