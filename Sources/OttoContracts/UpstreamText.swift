/// Text that came from outside Otto (OpenCode's error messages, an HTTP library's description of a failure) as
/// Otto repeats it in runs, 502 bodies and logs: cut to `limit` characters, with control and bidirectional
/// characters escaped and anything that looks like a credential masked. Otto's own words around it come on top.
public enum UpstreamText {
    public static let limit = 500
    /// The part of a text that is looked at: enough for the cut, bounded whatever an upstream sends.
    static let scanLimit = 4_096

    public static func scrubbed(_ text: some StringProtocol, limit: Int = limit) -> String {
        var scanned = String(text.prefix(scanLimit))
        let longer = text.count > scanLimit
        scanned = masked(scanned)
        var out = ""
        var count = 0
        var cut = longer
        for scalar in scanned.unicodeScalars {
            guard count < limit else {
                cut = true
                break
            }
            if isControlCharacter(scalar) {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return cut ? out + "…" : out
    }

    /// `sk-…`, `Bearer …`, and 32 or more base64 or hex characters in a row become `[masked]`.
    static func masked(_ text: String) -> String {
        var text = text.replacing(#/(?i)bearer\s+[^\s"',;]+/#, with: "Bearer [masked]")
        text = text.replacing(#/sk-[A-Za-z0-9_\-]{6,}/#, with: "sk-[masked]")
        text = text.replacing(#/[A-Za-z0-9+\/=_\-]{32,}/#, with: "[masked]")
        return text
    }
}
