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
            var info = stat()
            if stat(path, &info) == 0 {
                if (info.st_mode & S_IFMT) == S_IFDIR {
                    throw LoadError(
                        path: path, reason: "it is a directory, not a file; remove it and Otto creates the token there")
                }
                if (info.st_mode & S_IFMT) != S_IFREG {
                    throw LoadError(path: path, reason: "it is not a regular file")
                }
                if info.st_size > 4_096 {
                    throw LoadError(path: path, reason: "it is larger than 4 KiB, which no token is")
                }
            }
            if let bytes = try AtomicFile.readIfPresent(path) {
                let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if !text.isEmpty {
                    // What ottoctl and curl can send in a header: printable ASCII without spaces.
                    guard text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                        throw LoadError(
                            path: path,
                            reason: "it holds something other than one token of printable ASCII without spaces; "
                                + "remove the file and Otto creates a new token")
                    }
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
        } catch let error as LoadError {
            throw error
        } catch {
            throw LoadError(path: path, reason: error.localizedDescription)
        }
    }
}
