import Foundation
import OttoTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A datagram socket standing in for systemd's notify socket (a path, or an abstract name starting with `@`),
/// collecting what it receives. systemd itself does not run here; the datagrams are its whole protocol.
final class NotifySocket: Sendable {
    let name: String
    private let fd: Int32
    private let received = Mutex<[(at: ContinuousClock.Instant, text: String)]>([])
    private let stopped = Mutex(false)

    init(name: String) throws {
        self.name = name
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in bytes.enumerated() { path[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // A thread of its own: a blocking receive must not hold a thread of Swift concurrency's pool.
        Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !self.stopped.withLock({ $0 }) {
                let count = recv(self.fd, &buffer, buffer.count, 0)
                if count > 0 {
                    let text = String(decoding: buffer.prefix(count), as: UTF8.self)
                    self.received.withLock { $0.append((ContinuousClock.now, text)) }
                }
            }
        }.start()
    }

    var messages: [(at: ContinuousClock.Instant, text: String)] { received.withLock { $0 } }

    func wait(for text: String, timeout: Duration = .seconds(30)) async -> ContinuousClock.Instant? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let message = messages.first(where: { $0.text.contains(text) }) { return message.at }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    func close() {
        stopped.withLock { $0 = true }
        usleep(150_000)
        _ = Glibc.close(fd)
        if !name.hasPrefix("@") { unlink(name) }
    }
}

@Suite struct SystemdNotifyTests {
    @Test(arguments: ["path", "abstract"]) func ottoServeTellsSystemdItIsReadyAliveAndStopping(kind: String)
        async throws
    {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(#"{"heartbeat": {"enabled": false}, "watchdog": {"enabled": false}}"#)
        let name = kind == "path" ? home.path + "/notify.sock" : "@otto-notify-\(UUID().uuidString.prefix(8))"
        let socket = try NotifySocket(name: name)
        defer { socket.close() }
        try await withStandInOpenCode { openCode in
            let otto = try ChildProcess(
                BuiltProducts.executable("otto"), arguments: ["serve"],
                environment: home.environment(
                    openCode: openCode.baseURL,
                    // WatchdogSec=2: a ping at least every second.
                    extra: ["NOTIFY_SOCKET": name, "WATCHDOG_USEC": "2000000"]))
            defer { otto.signal(SIGKILL) }
            let ready = await socket.wait(for: "READY=1")
            #expect(ready != nil, "\(otto.stderr)")
            // READY=1 only once the API answers: the log line that names its URL comes before it.
            #expect(otto.stderr.contains("msg=\"otto is running\""))
            let line = otto.stderr.split(separator: "\n").first { $0.contains("otto is running") } ?? ""
            let url = line.split(separator: " ").first { $0.hasPrefix("externalApi=") }.map { String($0.dropFirst(12)) }
            let answer = try await ChildProcess.run(
                "/usr/bin/env",
                arguments: [
                    "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", (url ?? "") + "/external/openapi.json",
                ],
                environment: ProcessInfo.processInfo.environment)
            #expect(answer.stdout == "200")
            #expect(socket.messages.first { $0.text.contains("READY=1") }?.text.contains("STATUS=serving on ") == true)

            try await Task.sleep(for: .seconds(4))
            let pings = socket.messages.filter { $0.text == "WATCHDOG=1" }.map(\.at)
            #expect(pings.count >= 3, "\(pings.count) pings in 4 s")
            let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }
            #expect(gaps.allSatisfy { $0 < .seconds(2) }, "every ping within WatchdogSec: \(gaps)")

            otto.signal(SIGTERM)
            #expect(await socket.wait(for: "STOPPING=1", timeout: .seconds(10)) != nil)
            #expect(await otto.waitForExit() == 0)
        }
    }

    @Test func withoutANotifySocketNothingIsSent() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(#"{"heartbeat": {"enabled": false}, "watchdog": {"enabled": false}}"#)
        try await withStandInOpenCode { openCode in
            // WATCHDOG_USEC alone (no socket) changes nothing: Otto starts, serves and stops as always.
            let otto = try ChildProcess(
                BuiltProducts.executable("otto"), arguments: ["serve"],
                environment: home.environment(openCode: openCode.baseURL, extra: ["WATCHDOG_USEC": "1000000"]))
            #expect(await otto.waitForOutput("msg=\"otto is running\""), "\(otto.stderr)")
            otto.signal(SIGTERM)
            #expect(await otto.waitForExit() == 0)
        }
    }
}
