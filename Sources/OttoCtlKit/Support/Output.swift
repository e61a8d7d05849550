import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Results go to stdout, messages to stderr. No colour: the output is the same on a terminal and in a pipe.
enum Output {
    static func line(_ text: String = "") {
        write(Array((text + "\n").utf8), to: STDOUT_FILENO)
    }

    static func raw(_ data: Data) {
        var bytes = Array(data)
        if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        write(bytes, to: STDOUT_FILENO)
    }

    static func error(_ text: String) {
        write(Array("ottoctl: \(text)\n".utf8), to: STDERR_FILENO)
    }

    static func warning(_ text: String) {
        write(Array("warning: \(text)\n".utf8), to: STDERR_FILENO)
    }

    static func trace(_ text: String) {
        write(Array((text + "\n").utf8), to: STDERR_FILENO)
    }

    /// Writes everything; when the reader has gone away (`ottoctl model list | head`), stops quietly, as
    /// command-line tools do, instead of crashing on the broken pipe.
    private static func write(_ bytes: [UInt8], to descriptor: Int32) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { exit(0) }
                return
            }
            offset += written
        }
    }

    /// `2026-11-25 07:30 (3 h ago)` in local time.
    static func when(_ epochMilliseconds: Int64?, now: Date = Date()) -> String {
        guard let epochMilliseconds else { return "never" }
        let date = Date(timeIntervalSince1970: Double(epochMilliseconds) / 1000)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return "\(formatter.string(from: date)) (\(age(of: date, now: now)))"
    }

    static func age(of date: Date, now: Date) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        switch seconds {
        case ..<60: return "just now"
        case ..<3_600: return "\(seconds / 60) min ago"
        case ..<172_800: return "\(seconds / 3_600) h ago"
        default: return "\(seconds / 86_400) d ago"
        }
    }
}
