/// Percent-encoding of text placed in a URL (RFC 3986): task ids as one path segment, filter values as one query
/// value. Every byte of the UTF-8 text outside the kept set becomes `%XX`.
enum PercentEncoding {
    /// A path segment: unreserved characters, sub-delimiters, `:` and `@` stay; `/`, `?`, `#`, `%`, space and
    /// everything else is encoded.
    static func pathSegment(_ text: String) -> String {
        encode(text, keeping: "!$&'()*+,;=:@")
    }

    /// A query value: only unreserved characters stay, so `&`, `=` and `+` cannot end or change the value.
    static func queryValue(_ text: String) -> String {
        encode(text, keeping: "")
    }

    private static let hexDigits = Array("0123456789ABCDEF".unicodeScalars)

    private static func encode(_ text: String, keeping extra: String) -> String {
        let kept = Set(extra.utf8)
        var encoded = ""
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            case _ where kept.contains(byte):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                encoded.unicodeScalars.append("%")
                encoded.unicodeScalars.append(hexDigits[Int(byte >> 4)])
                encoded.unicodeScalars.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return encoded
    }
}
