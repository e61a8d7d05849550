import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a command's output goes. Results go to stdout, messages to stderr. Colour only where a person reads it:
/// on a terminal, unless `NO_COLOR` is set or `TERM` is `dumb`; in a pipe or a file the text is plain.
/// `standard` writes to the process's stdout and stderr; tests capture both with `Output.Captured`.
struct Output: Sendable {
    enum Style: String, CaseIterable {
        case dim = "2"
        case red = "31"
        case green = "32"
        case yellow = "33"
    }

    enum Stream: Sendable { case stdout, stderr }

    let write: @Sendable (Stream, [UInt8]) -> Void
    let colourOnStdout: Bool
    let colourOnStderr: Bool

    /// Writes nothing (for calls whose failure is expected, such as waiting for Otto to come up).
    static let silent = Output(write: { _, _ in }, colourOnStdout: false, colourOnStderr: false)

    static let standard = Output(
        write: { stream, bytes in
            writeAll(bytes, to: stream == .stdout ? STDOUT_FILENO : STDERR_FILENO)
        },
        colourOnStdout: colourAllowed(on: STDOUT_FILENO),
        colourOnStderr: colourAllowed(on: STDERR_FILENO)
    )

    private static func colourAllowed(on descriptor: Int32) -> Bool {
        guard isatty(descriptor) == 1 else { return false }
        let environment = ProcessInfo.processInfo.environment
        if let noColour = environment["NO_COLOR"], !noColour.isEmpty { return false }
        return environment["TERM"] != "dumb"
    }

    /// The text in the style when stdout shows colour, else as it is.
    func styled(_ text: String, _ style: Style) -> String {
        Self.styled(text, style, colour: colourOnStdout)
    }

    static func styled(_ text: String, _ style: Style, colour: Bool) -> String {
        colour ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text
    }

    func line(_ text: String = "") {
        write(.stdout, Array((Self.escapingControls(text, keepingStyles: colourOnStdout) + "\n").utf8))
    }

    /// The lines in one write, or `none` when there are none.
    func lines(_ lines: [String], none: String) {
        line(lines.isEmpty ? none : lines.joined(separator: "\n"))
    }

    /// Bytes as they are (an API body for `--json`), ending in a line break.
    func raw(_ data: some Collection<UInt8>) {
        var bytes = Array(data)
        if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        write(.stdout, bytes)
    }

    func error(_ text: String) {
        let text = Self.escapingControls(text, keepingStyles: false)
        write(.stderr, Array("\(Self.styled("ottoctl:", .red, colour: colourOnStderr)) \(text)\n".utf8))
    }

    func warning(_ text: String) {
        let text = Self.escapingControls(text, keepingStyles: false)
        write(.stderr, Array("\(Self.styled("warning:", .yellow, colour: colourOnStderr)) \(text)\n".utf8))
    }

    func trace(_ text: String) {
        write(.stderr, Array((Self.escapingControls(text, keepingStyles: false) + "\n").utf8))
    }

    /// Human text with every control character but line breaks and tabs shown as an escape (`\u001b`), so a job
    /// id, a server message or a model's answer can never clear the screen, retitle the terminal or move the
    /// cursor. With `keepingStyles`, the colour sequences `styled` writes (and only those) pass.
    static func escapingControls(_ text: String, keepingStyles: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { isControlCharacter($0) && $0 != "\n" && $0 != "\t" }) else {
            return text
        }
        let scalars = Array(text.unicodeScalars)
        let styles = (["\u{1B}[0m"] + Style.allCases.map { "\u{1B}[\($0.rawValue)m" }).map { Array($0.unicodeScalars) }
        var out = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if keepingStyles, scalar == "\u{1B}",
                let style = styles.first(where: { scalars[index...].starts(with: $0) })
            {
                out.append(contentsOf: style)
                index += style.count
                continue
            }
            index += 1
            if isControlCharacter(scalar) && scalar != "\n" && scalar != "\t" {
                let hex = String(scalar.value, radix: 16)
                out.append(
                    contentsOf: ("\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex).unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Writes everything; when the reader has gone away (`ottoctl model list | head`), stops quietly, as
    /// command-line tools do, instead of crashing on the broken pipe.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                systemWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { exit(0) }
                return
            }
            offset += written
        }
    }

    /// `provider/model`, or `inherit` (dimmed) for none.
    func modelRef(_ ref: ModelRef?) -> String {
        ref?.description ?? styled("inherit", .dim)
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
        var seconds = time_t(epochMilliseconds / 1000)
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return "\(epochMilliseconds) ms since 1970" }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min))"
    }

    static func age(of date: Date, now: Date) -> String {
        // A time from the server is any number: out of any sensible range it is shown as such, never converted.
        let interval = now.timeIntervalSince(date)
        guard interval.isFinite, interval.magnitude < 1e15 else { return "at an unreadable time" }
        let seconds = Int(interval)
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
