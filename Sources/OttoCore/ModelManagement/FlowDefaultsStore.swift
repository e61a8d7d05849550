import AsyncAlgorithms
import Foundation
import Logging
import NIOPosix
import OttoContracts
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads one flow's default. The resolver depends on this, not on the whole configuration.
public protocol FlowDefaultsProviding: Sendable {
    func flowDefault(for flow: RuntimeModelFlow) -> ModelRef?
}

/// The flow defaults together with a version tag (an HTTP ETag) that changes whenever any of them changes.
public struct VersionedFlowDefaults: Sendable, Equatable {
    public let defaults: FlowDefaults
    /// A strong entity tag, quotes included: `"fd-…"`.
    public let etag: String

    init(_ defaults: FlowDefaults) {
        self.defaults = defaults
        self.etag = Self.etag(for: defaults)
    }

    /// FNV-1a over the four values in their fixed order: equal defaults always give the same tag.
    static func etag(for defaults: FlowDefaults) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for flow in RuntimeModelFlow.allCases {
            let text = defaults[flow].map { "=" + $0.description } ?? "~"
            for byte in Array(flow.rawValue.utf8) + Array(text.utf8) + [0] {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
        }
        let hex = String(hash, radix: 16)
        return "\"fd-" + String(repeating: "0", count: 16 - hex.count) + hex + "\""
    }

    /// Whether an `If-Match` value names this version (`*` names any). `If-Match` compares strongly (RFC 9110,
    /// 13.1.1): a weak tag (`W/"..."`) never matches.
    public func matches(ifMatch: String) -> Bool {
        ifMatch.split(separator: ",").contains { candidate in
            let tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { return false }
            return tag == etag || "\"\(tag)\"" == etag
        }
    }
}

public enum FlowDefaultsUpdateError: Error, LocalizedError, Sendable {
    /// The caller's version is stale; nothing was changed. Carries what is current now.
    case preconditionFailed(current: VersionedFlowDefaults)
    /// The config file cannot be read or does not parse; it is left untouched.
    case configurationInvalid(ConfigurationError)
    /// The new file could not be written (a full disk, a read-only file system); the old one is still in place.
    case writeFailed(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .preconditionFailed:
            "the flow defaults changed since they were read; read them again and retry"
        case .configurationInvalid(let error):
            error.message + "; fix the file before changing flow defaults"
        case .writeFailed(let path, let reason):
            "the config file \(path) could not be written (\(reason)); nothing was changed"
        }
    }
}

/// The flow defaults, kept in the operator's config file under `modelManagement.flowDefaults`.
///
/// Readers (every job listing, every resolution) get the last published snapshot and never wait for the file:
/// the lock they take is held only to copy a value. File work happens on a thread-pool thread, never on the
/// caller's: `refresh()` re-reads the file when it changed on disk (a hand edit; `FlowDefaultsWatcher` calls it
/// every second while Otto runs), and `update` reads the file as it is now, edits only the changed values in place
/// (comments, formatting and unknown keys stay as the operator wrote them), replaces the file atomically and then
/// publishes the result. File work is serialised by a second lock that readers never take.
public final class FlowDefaultsStore: FlowDefaultsProviding {
    private struct Published {
        var stamp: AtomicFile.Stamp?
        var current: VersionedFlowDefaults
        var reloads = 0
    }

    public let path: String
    private let logger: Logger
    private let published: Mutex<Published>
    private let fileWork = Mutex<Void>(())
    private let threadPool: NIOThreadPool
    /// Replaces the file; `AtomicFile.write` except in tests of storage failures (a full disk cannot be had here).
    private let writeFile: @Sendable ([UInt8], String, mode_t) throws(AtomicFile.WriteError) -> Void

    /// - Parameter initial: the defaults read at start-up with the rest of the configuration.
    public init(
        path: String,
        initial: FlowDefaults,
        logger: Logger,
        threadPool: NIOThreadPool = .singleton,
        writeFile: @escaping @Sendable ([UInt8], String, mode_t) throws(AtomicFile.WriteError) -> Void = {
            bytes, path, mode throws(AtomicFile.WriteError) in try AtomicFile.write(bytes, to: path, permissions: mode)
        }
    ) {
        self.path = path
        self.logger = logger
        self.threadPool = threadPool
        self.writeFile = writeFile
        self.published = Mutex(Published(stamp: AtomicFile.stamp(path), current: VersionedFlowDefaults(initial)))
    }

    /// How many times the file was parsed again after start-up (for tests of the change detection).
    var reloadCount: Int { published.withLock { $0.reloads } }

    /// The last published defaults. Never touches the file.
    public func current() -> VersionedFlowDefaults {
        published.withLock { $0.current }
    }

    public func flowDefault(for flow: RuntimeModelFlow) -> ModelRef? {
        current().defaults[flow]
    }

    /// Publishes a hand edit of the file, if there was one since the last look; the file is parsed again only
    /// when its size, time or inode changed.
    public func refresh() async {
        _ = try? await threadPool.runIfActive { self.fileWork.withLock { _ in self.reloadIfChanged() } }
    }

    /// Applies `change` to the defaults as they are in the file now and writes the result.
    /// - Parameter ifMatch: when given, the update happens only if the current ETag matches it.
    @discardableResult
    public func update(
        ifMatch: String? = nil,
        _ change: @escaping @Sendable (inout FlowDefaults) -> Void
    ) async throws(FlowDefaultsUpdateError) -> VersionedFlowDefaults {
        let outcome: Result<VersionedFlowDefaults, FlowDefaultsUpdateError>
        do {
            outcome = try await threadPool.runIfActive {
                self.fileWork.withLock { _ in
                    Result { () throws(FlowDefaultsUpdateError) in
                        try self.updateFile(ifMatch: ifMatch, change)
                    }
                }
            }
        } catch {
            throw .writeFailed(path: path, reason: "Otto is shutting down")
        }
        return try outcome.get()
    }

    /// The blocking part of `update`, on a pool thread, under `fileWork`.
    private func updateFile(
        ifMatch: String?,
        _ change: (inout FlowDefaults) -> Void
    ) throws(FlowDefaultsUpdateError) -> VersionedFlowDefaults {
        // Always start from the file as it is now, so a hand edit made a moment ago is never lost.
        let stamp = AtomicFile.stamp(path)
        let bytes: [UInt8]
        let onDisk: FlowDefaults
        do {
            guard let read = try AtomicFile.readIfPresent(path) else {
                throw ConfigurationError(
                    source: "config file \(path)",
                    issues: [FieldIssue(path: "", message: "the file no longer exists")]
                )
            }
            bytes = read
            onDisk = try OttoConfiguration.parseFlowDefaults(bytes, file: path)
        } catch let error as ConfigurationError {
            throw .configurationInvalid(error)
        } catch {
            throw .configurationInvalid(
                ConfigurationError(
                    source: "config file \(path)",
                    issues: [FieldIssue(path: "", message: error.localizedDescription)]
                )
            )
        }
        let before = VersionedFlowDefaults(onDisk)
        if let ifMatch, !before.matches(ifMatch: ifMatch) {
            publish(before, stamp: stamp)
            throw .preconditionFailed(current: before)
        }
        var updated = onDisk
        change(&updated)
        guard updated != onDisk else {
            publish(before, stamp: stamp)
            return before
        }
        var edited = bytes
        for flow in RuntimeModelFlow.allCases where updated[flow] != onDisk[flow] {
            let literal = updated[flow].map { JSONC.quote($0.description) } ?? "null"
            do {
                edited = try JSONCEditor.setting(
                    OttoConfiguration.flowDefaultsPath + [flow.rawValue],
                    to: literal,
                    in: edited
                )
            } catch let editError {
                throw .configurationInvalid(
                    ConfigurationError(
                        source: "config file \(path)",
                        issues: [
                            FieldIssue(
                                path: "", message: editError.message)
                        ]
                    )
                )
            }
        }
        var mode: mode_t = 0o600
        var info = stat()
        if stat(path, &info) == 0 { mode = info.st_mode & 0o7777 }
        do {
            try writeFile(Array(edited), path, mode)
        } catch {
            // The cause only (no space left, read-only file system): the temporary file's name means nothing to
            // an operator, and it is gone.
            throw .writeFailed(path: path, reason: String(cString: strerror(error.errnoCode)))
        }
        let after = VersionedFlowDefaults(updated)
        publish(after, stamp: AtomicFile.stamp(path))
        return after
    }

    private func publish(_ defaults: VersionedFlowDefaults, stamp: AtomicFile.Stamp?, reloaded: Bool = false) {
        published.withLock { published in
            published.stamp = stamp
            published.current = defaults
            if reloaded { published.reloads += 1 }
        }
    }

    /// The blocking part of `refresh`, on a pool thread, under `fileWork`.
    private func reloadIfChanged() {
        let stamp = AtomicFile.stamp(path)
        let (known, current) = published.withLock { ($0.stamp, $0.current) }
        guard stamp != known else { return }
        do {
            guard let bytes = try AtomicFile.readIfPresent(path) else {
                logger.warning("config file is gone; keeping the last flow defaults", metadata: ["path": "\(path)"])
                publish(current, stamp: stamp, reloaded: true)
                return
            }
            let defaults = try OttoConfiguration.parseFlowDefaults(bytes, file: path)
            let next = VersionedFlowDefaults(defaults)
            if next != current {
                logger.info(
                    "flow defaults changed in the config file",
                    metadata: RuntimeModelFlow.allCases.reduce(into: ["path": "\(path)"]) { metadata, flow in
                        metadata[flow.rawValue] = "\(defaults[flow]?.description ?? "inherit")"
                    }
                )
            }
            publish(next, stamp: stamp, reloaded: true)
        } catch let error as ConfigurationError {
            logger.warning("keeping the last valid flow defaults", metadata: ["reason": "\(error.message)"])
            publish(current, stamp: stamp, reloaded: true)
        } catch {
            logger.warning(
                "cannot read the config file; keeping the last flow defaults",
                metadata: ["path": "\(path)", "reason": "\(error.localizedDescription)"]
            )
            publish(current, stamp: stamp, reloaded: true)
        }
    }
}

/// Notices hand edits of the flow defaults while Otto runs: asks the store to look at the file every `interval`.
public struct FlowDefaultsWatcher: Service {
    let store: FlowDefaultsStore
    let interval: Duration

    public init(store: FlowDefaultsStore, interval: Duration = .seconds(1)) {
        self.store = store
        self.interval = interval
    }

    public func run() async throws {
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            await store.refresh()
        }
    }
}
