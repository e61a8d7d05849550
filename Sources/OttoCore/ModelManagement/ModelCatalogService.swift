import CMallocTuning
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
        /// The fetch in flight, shared by every refresh asked for while it runs.
        var inFlight: Task<ModelCatalogSnapshot, any Error>?
        /// The last refresh's failure, cleared by a success.
        var lastFailure: (at: Int64, message: String)?
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
    /// When the last refresh failed and why, if it did (the snapshot is then the one before).
    public var lastRefreshFailure: (at: Int64, message: String)? { state.withLock { $0.lastFailure } }

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
    /// Refreshes asked for while one is in flight share it (a burst of 100 makes one fetch of the 3 MB body, not
    /// 100), and each caller gets its result.
    @discardableResult
    public func refreshNow() async throws(OpenCodeError) -> ModelCatalogSnapshot {
        let task = state.withLock { state in
            if let running = state.inFlight { return running }
            // Unstructured, so a caller that gives up does not cancel the fetch the others wait for.
            let task = Task { try await self.fetchAndApply() }
            state.inFlight = task
            return task
        }
        do {
            return try await task.value
        } catch let error as OpenCodeError {
            throw error
        } catch {
            throw OpenCodeError(url: sourceURL, cause: .unreachable("\(error)"))
        }
    }

    private func fetchAndApply() async throws(OpenCodeError) -> ModelCatalogSnapshot {
        defer {
            state.withLock { $0.inFlight = nil }
            // The body and its parse were several MB that the next refresh (a day later) does not reuse.
            _ = otto_trim_free_memory()
        }
        let fetched: OpenCodeCatalog
        do {
            fetched = try await source.fetchCatalog()
        } catch {
            let at = Int64((now().timeIntervalSince1970 * 1000).rounded())
            state.withLock { $0.lastFailure = (at, error.message) }
            throw error
        }
        if fetched.serverChanged, let server = fetched.server {
            // At start-up, and whenever OpenCode was upgraded (or replaced) under a running Otto.
            logger.notice("\(server.logLine(baseURL: source.baseURL))")
        }
        let updatedAt = Int64((now().timeIntervalSince1970 * 1000).rounded())
        let fresh = ModelCatalogSnapshot(
            refs: fetched.refs,
            updatedAt: updatedAt,
            source: .network,
            globalDefault: fetched.globalDefault
        )
        state.withLock {
            $0.snapshot = fresh
            $0.lastFailure = nil
        }
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
