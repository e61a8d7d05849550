import GRDB
import Synchronization

/// Commits concurrent job writes together ("group commit"). Each write still runs in its own savepoint, so one
/// refused change (a 403, a 409) rolls back alone, and a caller hears back only after the transaction holding
/// its write has committed. Under load this turns many small transactions, each a trip to the writer queue and
/// back, into a few larger ones; alone, a write costs what it did before.
final class WriteBatcher: Sendable {
    private struct Item: Sendable {
        let work: @Sendable (Database) throws -> any Sendable
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private struct State {
        var items: [Item] = []
        var draining = false
    }

    private let writer: any DatabaseWriter
    private let state = Mutex(State())

    init(writer: any DatabaseWriter) {
        self.writer = writer
    }

    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let value = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<any Sendable, any Error>) in
            let startDraining = state.withLock { state in
                state.items.append(Item(work: { db in try work(db) }, continuation: continuation))
                if state.draining { return false }
                state.draining = true
                return true
            }
            if startDraining {
                writer.asyncWriteWithoutTransaction { db in self.drain(db) }
            }
        }
        return value as! T
    }

    /// Runs on the writer queue until no write is waiting.
    private func drain(_ db: Database) {
        while true {
            let batch = state.withLock { state in
                let batch = state.items
                state.items.removeAll(keepingCapacity: true)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            var results: [Result<any Sendable, any Error>] = []
            results.reserveCapacity(batch.count)
            do {
                try db.inTransaction {
                    for item in batch {
                        var value: (any Sendable)?
                        do {
                            try db.inSavepoint {
                                value = try item.work(db)
                                return .commit
                            }
                            results.append(.success(value!))
                        } catch {
                            results.append(.failure(error))
                        }
                    }
                    return .commit
                }
            } catch {
                // The commit itself failed: nothing of this batch is stored.
                results = batch.map { _ in .failure(error) }
            }
            for (item, result) in zip(batch, results) {
                item.continuation.resume(with: result)
            }
        }
    }
}
