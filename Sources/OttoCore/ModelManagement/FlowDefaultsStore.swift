import Foundation
import Logging
import OttoContracts
import Synchronization

#if canImport(Glibc)
    import Glibc
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

    /// Whether an `If-Match` value names this version (`*` names any; weak tags compare by their opaque part).
    public func matches(ifMatch: String) -> Bool {
        ifMatch.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag || "\"\(tag)\"" == etag
        }
    }
}

public enum FlowDefaultsUpdateError: Error, LocalizedError, Sendable {
    /// The caller's version is stale; nothing was changed. Carries what is current now.
    case preconditionFailed(current: VersionedFlowDefaults)
    /// The config file cannot be read or does not parse; it is left untouched.
    case configurationInvalid(ConfigurationError)
    /// The new file could not be written; the old one is still in place.
    case writeFailed(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .preconditionFailed:
            "the flow defaults changed since they were read; read them again and retry"
        case .configurationInvalid(let error):
            error.message + "; fix the file before changing flow defaults"
        case .writeFailed(let path, let reason):
            "cannot write \(path): \(reason)"
        }
    }
}

/// The flow defaults, kept in the operator's config file under `modelManagement.flowDefaults`.
///
/// Reads are live: a hand edit of the file is seen on the next read, and the file is parsed again only when it
/// changed on disk. Updates are serialised, edit only the changed values in place (comments, formatting and
/// unknown keys stay as the operator wrote them) and replace the file atomically.
public final class FlowDefaultsStore: FlowDefaultsProviding {
    private struct Cache {
        var stamp: AtomicFile.Stamp?
        var current: VersionedFlowDefaults
        var reloads = 0
    }

    public let path: String
    private let logger: Logger
    private let cache: Mutex<Cache>

    /// - Parameter initial: the defaults read at start-up with the rest of the configuration.
    public init(path: String, initial: FlowDefaults, logger: Logger) {
        self.path = path
        self.logger = logger
        self.cache = Mutex(Cache(stamp: AtomicFile.stamp(path), current: VersionedFlowDefaults(initial)))
    }

    /// How many times the file was parsed again after start-up (for tests of the change detection).
    var reloadCount: Int { cache.withLock { $0.reloads } }

    public func current() -> VersionedFlowDefaults {
        cache.withLock { cache in
            refreshIfChanged(&cache)
            return cache.current
        }
    }

    public func flowDefault(for flow: RuntimeModelFlow) -> ModelRef? {
        current().defaults[flow]
    }

    /// Applies `change` to the defaults as they are in the file now and writes the result.
    /// - Parameter ifMatch: when given, the update happens only if the current ETag matches it.
    @discardableResult
    public func update(
        ifMatch: String? = nil,
        _ change: (inout FlowDefaults) -> Void
    ) throws(FlowDefaultsUpdateError) -> VersionedFlowDefaults {
        try cache.withLock { (cache) throws(FlowDefaultsUpdateError) -> VersionedFlowDefaults in
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
                cache.stamp = stamp
                cache.current = before
                throw .preconditionFailed(current: before)
            }
            var updated = onDisk
            change(&updated)
            guard updated != onDisk else {
                cache.stamp = stamp
                cache.current = before
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
                                    path: "", message: (editError as? JSONCEditor.EditError)?.message ?? "\(editError)")
                            ]
                        )
                    )
                }
            }
            var mode: mode_t = 0o600
            var info = stat()
            if stat(path, &info) == 0 { mode = info.st_mode & 0o7777 }
            do {
                try AtomicFile.write(edited, to: path, permissions: mode)
            } catch {
                throw .writeFailed(path: path, reason: error.localizedDescription)
            }
            let after = VersionedFlowDefaults(updated)
            cache.stamp = AtomicFile.stamp(path)
            cache.current = after
            return after
        }
    }

    private func refreshIfChanged(_ cache: inout Cache) {
        let stamp = AtomicFile.stamp(path)
        guard stamp != cache.stamp else { return }
        cache.stamp = stamp
        cache.reloads += 1
        do {
            guard let bytes = try AtomicFile.readIfPresent(path) else {
                logger.warning("config file is gone; keeping the last flow defaults", metadata: ["path": "\(path)"])
                return
            }
            let defaults = try OttoConfiguration.parseFlowDefaults(bytes, file: path)
            let next = VersionedFlowDefaults(defaults)
            if next != cache.current {
                logger.info(
                    "flow defaults changed in the config file",
                    metadata: RuntimeModelFlow.allCases.reduce(into: ["path": "\(path)"]) { metadata, flow in
                        metadata[flow.rawValue] = "\(defaults[flow]?.description ?? "inherit")"
                    }
                )
            }
            cache.current = next
        } catch let error as ConfigurationError {
            logger.warning("keeping the last valid flow defaults", metadata: ["reason": "\(error.message)"])
        } catch {
            logger.warning(
                "cannot read the config file; keeping the last flow defaults",
                metadata: ["path": "\(path)", "reason": "\(error.localizedDescription)"]
            )
        }
    }
}
