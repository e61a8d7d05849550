import AsyncAlgorithms
import CMallocTuning
import ServiceLifecycle

/// Gives memory that Otto has freed back to the system. A burst of large requests (200 jobs of 1 MiB created
/// at once, pages of megabyte answers) leaves tens of MiB free inside glibc's arenas, in chunks too small for their
/// own mappings; glibc keeps them for reuse, so the resident size would stay at the burst's peak for months. Every
/// `interval`, when more than `threshold` bytes lie free, `malloc_trim` hands their pages back (a few milliseconds,
/// off the event loops).
public struct MemoryReclaimer: Service {
    let interval: Duration
    let threshold: Int

    public init(interval: Duration = .seconds(5), threshold: Int = 8 * 1024 * 1024) {
        self.interval = interval
        self.threshold = threshold
    }

    /// Trims when more than `threshold` bytes lie free; tells whether it did.
    @discardableResult
    public func reclaimIfWorthIt() -> Bool {
        guard Int(clamping: otto_free_arena_bytes()) > threshold else { return false }
        _ = otto_trim_free_memory()
        return true
    }

    public func run() async throws {
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            reclaimIfWorthIt()
        }
    }
}
