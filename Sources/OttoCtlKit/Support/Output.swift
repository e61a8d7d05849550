import Foundation

/// Results go to stdout, messages to stderr. No colour: the output is the same on a terminal and in a pipe.
enum Output {
    static func line(_ text: String = "") {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func raw(_ data: Data) {
        FileHandle.standardOutput.write(data)
        if data.last != UInt8(ascii: "\n") { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data("ottoctl: \(text)\n".utf8))
    }

    static func warning(_ text: String) {
        FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
    }

    static func trace(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
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
