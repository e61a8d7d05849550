#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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

    /// The text followed by spaces up to `width` characters, for aligned columns.
    static func padded(_ text: String, to width: Int) -> String {
        text + String(repeating: " ", count: max(width - text.count, 0))
    }

    /// `2026-11-25 07:30 (3 h ago)`, or `(in 20 min)` for a time still to come, in local time.
    static func when(_ epochMilliseconds: Int64?, now: Date = Date()) -> String {
        guard let epochMilliseconds else { return "never" }
        let date = Date(timeIntervalSince1970: Double(epochMilliseconds) / 1000)
        return "\(localTime(epochMilliseconds)) (\(age(of: date, now: now)))"
    }

    /// `yyyy-MM-dd HH:mm` in the machine's time zone (TZ, else /etc/localtime), from the C library.
    static func localTime(_ epochMilliseconds: Int64) -> String {
        var seconds = time_t(epochMilliseconds.dividedRoundingDown(by: 1000))
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return "\(epochMilliseconds) ms since 1970" }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min))"
    }

    static func age(of date: Date, now: Date) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        if seconds < 0 { return "in " + span(-seconds) }
        if seconds < 60 { return "just now" }
        return span(seconds) + " ago"
    }

    private static func span(_ seconds: Int) -> String {
        let (count, unit): (Int, String) =
            switch seconds {
            case ..<60: (seconds, "s")
            case ..<3_600: (seconds / 60, "min")
            case ..<172_800: (seconds / 3_600, "h")
            default: (seconds / 86_400, "d")
            }
        return "\(max(count, 1)) \(unit)"
    }
}

extension Int64 {
    fileprivate func dividedRoundingDown(by divisor: Int64) -> Int64 {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
