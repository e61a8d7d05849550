import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The external API's bearer token. Its description is redacted, so interpolating it into a log line or an error
/// message can never leak it; only `value` gives the secret, for the comparison itself.
public struct APIToken: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String

    public init(value: String) { self.value = value }

    public var description: String { "<redacted API token>" }
    public var debugDescription: String { description }

    public struct LoadError: Error, LocalizedError, Sendable {
        public let path: String
        public let reason: String
        public var errorDescription: String? { "cannot use the API token file \(path): \(reason)" }
    }

    /// Reads the token file, creating it once (32 random bytes as hex, mode 0600, directory 0700) if it does not
    /// exist, so the token stays the same across restarts.
    public static func loadOrCreate(path: String) throws(LoadError) -> APIToken {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try AtomicFile.createDirectory(directory, permissions: 0o700)
            _ = chmod(directory, 0o700)
            if let bytes = try AtomicFile.readIfPresent(path) {
                let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if !text.isEmpty {
                    _ = chmod(path, 0o600)
                    return APIToken(value: text)
                }
            }
            var generator = SystemRandomNumberGenerator()
            let token = (0..<32).map { _ in
                let byte = UInt8.random(in: 0...255, using: &generator)
                return (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }.joined()
            try AtomicFile.write(Array((token + "\n").utf8), to: path, permissions: 0o600)
            return APIToken(value: token)
        } catch {
            throw LoadError(path: path, reason: error.localizedDescription)
        }
    }
}
