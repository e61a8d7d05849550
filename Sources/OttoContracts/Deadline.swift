/// Runs `operation` for at most `timeout`; nil when the time ran out first (the operation is then cancelled).
///
/// HTTP clients bound the wait for a response's head, not for its body: a peer that sends a head and then stalls
/// would hold a caller for ever. Every outgoing exchange (OpenCode, webhooks, ottoctl's calls) runs inside this,
/// from the first byte sent to the last byte received.
public func withDeadline<T: Sendable>(
    _ timeout: Duration,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T? {
    guard timeout > .zero else { return nil }
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { return nil }
        return first
    }
}
