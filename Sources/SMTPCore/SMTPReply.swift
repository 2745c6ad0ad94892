/// One SMTP reply (RFC 5321 §4.2): a three-digit code, an optional enhanced status code
/// (RFC 3463, advertised as ENHANCEDSTATUSCODES) and one or more lines of text.
public struct SMTPReply: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var enhanced: String?
    public var lines: [String]

    public init(_ code: Int, _ enhanced: String?, _ lines: [String]) {
        self.code = code; self.enhanced = enhanced; self.lines = lines.isEmpty ? [""] : lines
    }

    public init(_ code: Int, _ enhanced: String?, _ text: String) {
        self.init(code, enhanced, [text])
    }

    /// Whether the reply is a 4xx (try again later).
    public var isTransient: Bool { (400..<500).contains(code) }
    /// Whether the reply is a 5xx (permanent failure).
    public var isPermanent: Bool { code >= 500 }

    /// The reply's wire form: `250-first line` … `250 last line`, each ending in CRLF. Text is
    /// sanitised: control characters (CR and LF above all) become spaces, and lines are cut at 500
    /// octets, so nothing a client sent can break the reply's framing.
    public func encode(into out: inout [UInt8]) {
        let codeBytes = Array(String(code).utf8)
        for (i, line) in lines.enumerated() {
            out += codeBytes
            out.append(i == lines.count - 1 ? 0x20 : 0x2D)  // ' ' or '-'
            // RFC 2034: the enhanced code starts every line's text (the greeting and the EHLO
            // reply carry none: their callers pass nil).
            if let enhanced { out += Array(enhanced.utf8); out.append(0x20) }
            var count = 0
            for byte in line.utf8 {
                if count >= 500 { break }
                out.append(byte < 0x20 || byte == 0x7F ? 0x20 : byte)
                count += 1
            }
            out += [0x0D, 0x0A]
        }
    }

    public var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    public var description: String { String(decoding: encoded, as: UTF8.self) }
}
