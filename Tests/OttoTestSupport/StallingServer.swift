import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback TCP server that answers every connection with a fixed response head, then sends nothing more and
/// keeps the connection open: a peer whose body never arrives (`Content-Length: 100` and then silence), as a
/// broken or hostile webhook receiver or OpenCode behaves. Counts the connections it accepted.
public final class StallingServer: @unchecked Sendable {
    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var open: [Int32] = []
    private var stopped = false
    private var acceptedCount = 0

    public var url: String { "http://127.0.0.1:\(port)/hook" }
    public var accepted: Int { lock.withLock { acceptedCount } }

    public init(head: String = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n") throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        let listener = fd
        let bytes = Array(head.utf8)
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                let keep = lock.withLock { () -> Bool in
                    acceptedCount += 1
                    if stopped { return false }
                    open.append(connection)
                    return true
                }
                guard keep else {
                    close(connection)
                    return
                }
                // Read the request head (whatever arrives first), then answer the head and go silent.
                var buffer = [UInt8](repeating: 0, count: 65_536)
                _ = recv(connection, &buffer, buffer.count, 0)
                _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        }
    }

    /// Closes every connection and the listener.
    public func stop() {
        let connections = lock.withLock { () -> [Int32]? in
            if stopped { return nil }
            stopped = true
            defer { open = [] }
            return open
        }
        guard let connections else { return }
        for connection in connections { close(connection) }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }
}
