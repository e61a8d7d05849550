import AsyncAlgorithms
import Logging
import ServiceLifecycle

/// Refreshes the catalog from OpenCode on a fixed interval until graceful shutdown. A failed refresh keeps the
/// previous snapshot and logs a warning with the cause.
public struct CatalogRefreshService: Service {
    let catalog: ModelCatalogService
    let interval: Duration
    let logger: Logger

    public init(catalog: ModelCatalogService, interval: Duration, logger: Logger) {
        self.catalog = catalog
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let ticks = AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown()
        for await _ in ticks {
            do {
                let snapshot = try await catalog.refreshNow()
                logger.info(
                    "model catalog refreshed",
                    metadata: ["count": "\(snapshot.count)", "updatedAt": "\(snapshot.updatedAt ?? 0)"]
                )
            } catch {
                let kept = catalog.snapshot
                logger.warning(
                    "model catalog refresh failed; keeping the previous catalog",
                    metadata: ["reason": "\(error.message)", "keptCount": "\(kept.count)"]
                )
            }
        }
    }
}
