import Foundation
import OttoContracts

#if canImport(Glibc)
    import Glibc
#endif

/// The user name and password Otto sends to a password-protected OpenCode (`OPENCODE_SERVER_PASSWORD` on the
/// server), as HTTP Basic auth on every call. The password is never printed: `description` masks it, and every
/// error text that passes through the client is redacted with `redacting(_:)`.
///
/// OpenCode 1.x checks it in `packages/opencode/src/server/middleware.ts` (`AuthMiddleware`, anomalyco/opencode):
/// user `OPENCODE_SERVER_USERNAME` or `opencode`, every method but OPTIONS, 401 `Unauthorized` with
/// `WWW-Authenticate: Basic realm="opencode"` otherwise.
public struct OpenCodeCredentials: Sendable, Equatable, CustomStringConvertible {
    public let username: String
    private let password: String
    /// Where the password came from, for the start-up log line: a variable's name or the file's path.
    public let source: String

    public init(username: String, password: String, source: String) {
        self.username = username
        self.password = password
        self.source = source
    }

    /// The `Authorization` header's value.
    var authorization: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }

    public var description: String { "\(username):*** (password from \(source))" }

    /// `text` with the password and the encoded header replaced by `***`, for anything a library might echo.
    public func redacting(_ text: String) -> String {
        var result = text
        for secret in [authorization.dropFirst(6).description, password] where !secret.isEmpty {
            result = result.replacingOccurrences(of: secret, with: "***")
        }
        return result
    }

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// The credentials the configuration and the environment give, or nil for an OpenCode without a password.
    /// The password: `OTTO_OPENCODE_PASSWORD`, else the first line of `opencode.passwordFile`, else
    /// `OPENCODE_SERVER_PASSWORD`. The user: `opencode.username`, else `OPENCODE_SERVER_USERNAME`, else `opencode`.
    /// `warn` is told when the password file can be read by group or others.
    public static func resolve(
        _ openCode: OttoConfiguration.OpenCode, environment: [String: String], warn: (String) -> Void
    ) throws(Problem) -> OpenCodeCredentials? {
        let username =
            openCode.username ?? OttoEnvironment.value(OttoEnvironment.openCodeServerUsername, in: environment)
            ?? "opencode"
        if let password = OttoEnvironment.value(OttoEnvironment.openCodePassword, in: environment) {
            return OpenCodeCredentials(username: username, password: password, source: OttoEnvironment.openCodePassword)
        }
        if let path = openCode.passwordFile {
            let password = try readPasswordFile(path, warn: warn)
            return OpenCodeCredentials(username: username, password: password, source: path)
        }
        if let password = OttoEnvironment.value(OttoEnvironment.openCodeServerPassword, in: environment) {
            return OpenCodeCredentials(
                username: username, password: password, source: OttoEnvironment.openCodeServerPassword)
        }
        return nil
    }

    /// The first line of `path` (at most 4 KiB are read), without its line ending.
    static func readPasswordFile(
        _ path: String, setting: String = "opencode.passwordFile", secret: String = "password",
        warn: (String) -> Void
    )
        throws(Problem) -> String
    {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Problem(description: "cannot read \(setting) \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw Problem(description: "\(setting) \(path) is not a regular file")
        }
        if info.st_mode & 0o077 != 0 {
            warn("\(setting) \(path) can be read by group or others: chmod 600 \(path)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Problem(description: "cannot read \(setting) \(path): permission denied")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: 4096)) ?? Data()
        // By bytes: as Characters, "\r\n" is one and would not split at "\n".
        var line = data.prefix { $0 != UInt8(ascii: "\n") }
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        let password = String(decoding: line, as: UTF8.self)
        guard !password.isEmpty else {
            throw Problem(description: "\(setting) \(path) is empty: its first line is the \(secret)")
        }
        return password
    }
}
