import Foundation
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// systemd's notify protocol (sd_notify(3)): one datagram of `KEY=value` lines to the socket in `$NOTIFY_SOCKET`,
/// a path or, starting with `@`, an abstract-namespace name. Without `NOTIFY_SOCKET` every call does nothing. The
/// send never blocks (`MSG_DONTWAIT`): a datagram to a local socket either goes or is dropped.
public struct SystemdNotifier: Sendable {
    let socketPath: String?
    /// How often the watchdog wants `WATCHDOG=1`: half of `WATCHDOG_USEC`, when it is meant for this process.
    public let watchdogInterval: Duration?

    public init(environment: [String: String]) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        var interval: Duration?
        if path != nil, let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0,
            environment["WATCHDOG_PID"].map({ Int32($0) == getpid() }) ?? true
        {
            interval = .microseconds(microseconds / 2)
        }
        watchdogInterval = interval
    }

    public var isActive: Bool { socketPath != nil }

    /// Sends `state` (e.g. `READY=1\nSTATUS=serving`); false when it could not be sent.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let socketPath else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(socketPath.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in bytes.enumerated() { path[index] = byte }
        }
        // An abstract name is exactly its bytes; a path ends at its NUL.
        let length = MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes { buffer in
                    sendto(
                        fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL), socketAddress,
                        socklen_t(length))
                }
            }
        }
        return sent == message.count
    }
}

/// Tells systemd `STOPPING=1` as soon as a graceful shutdown begins (run it as the last service of the group, so
/// its shutdown comes first).
public struct SystemdStoppingNotifier: Service {
    let notifier: SystemdNotifier

    public init(notifier: SystemdNotifier) { self.notifier = notifier }

    public func run() async throws {
        try? await gracefulShutdown()
        notifier.notify("STOPPING=1\nSTATUS=stopping: finishing what is in flight")
    }
}
