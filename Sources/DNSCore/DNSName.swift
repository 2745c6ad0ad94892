#if canImport(Glibc)
import Glibc
#endif

/// A domain name: its labels as bytes, ASCII letters lower-cased (names compare without regard to
/// case, RFC 4343). Made from presentation text (`mx.example.com`, `\.` and `\DDD` escapes, one
/// trailing dot allowed) or read from RDATA; always within RFC 1035's limits (labels of 1…63
/// bytes, at most 255 bytes on the wire). Internationalised names must be given as A-labels
/// (punycode): a non-ASCII character is refused, not guessed at.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// The labels, from the leftmost; the root has none.
    public let labels: [[UInt8]]

    public static let root = DNSName(checkedLabels: [])

    init(checkedLabels: [[UInt8]]) { labels = checkedLabels }

    /// Labels given as bytes (lower-cased here); throws `.invalidName` past the limits.
    public init(labels: [[UInt8]]) throws {
        var wire = 1
        for label in labels {
            guard (1...DNSLimits.maxLabelLength).contains(label.count) else {
                throw DNSError(.invalidName, reason: label.isEmpty ? "empty label" : "label longer than 63 bytes")
            }
            wire += label.count + 1
        }
        guard wire <= DNSLimits.maxNameWireLength else { throw DNSError(.invalidName, reason: "name longer than 255 bytes") }
        self.labels = labels.map { $0.map(Self.lower) }
    }

    /// Parses presentation text: `example.com`, `example.com.`, `.` (the root); `\.` and `\\` escape
    /// one character, `\DDD` one byte (decimal). Refuses empty labels, spaces and control characters,
    /// non-ASCII text (give A-labels) and anything past the limits, naming the problem.
    public init(_ text: String) throws {
        if text == "." { self = .root; return }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw DNSError(.invalidName, reason: "empty name") }
        guard bytes.count <= 4 * DNSLimits.maxNameWireLength else { throw DNSError(.invalidName, reason: "name longer than 255 bytes") }
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        var i = 0
        var endedWithDot = false
        while i < bytes.count {
            let b = bytes[i]
            endedWithDot = false
            switch b {
            case UInt8(ascii: "."):
                guard !label.isEmpty else { throw DNSError(.invalidName, reason: "empty label in \"\(Self.printable(text))\"") }
                labels.append(label)
                label = []
                endedWithDot = true
                i += 1
            case UInt8(ascii: "\\"):
                guard i + 1 < bytes.count else { throw DNSError(.invalidName, reason: "a backslash ends \"\(Self.printable(text))\"") }
                let next = bytes[i + 1]
                if Self.isDigit(next) {
                    guard i + 3 < bytes.count, Self.isDigit(bytes[i + 2]), Self.isDigit(bytes[i + 3]) else {
                        throw DNSError(.invalidName, reason: "\\DDD needs three digits in \"\(Self.printable(text))\"")
                    }
                    let value = Int(next - 48) * 100 + Int(bytes[i + 2] - 48) * 10 + Int(bytes[i + 3] - 48)
                    guard value <= 255 else { throw DNSError(.invalidName, reason: "\\\(value) is not a byte") }
                    label.append(UInt8(value))
                    i += 4
                } else {
                    guard next >= 0x20, next < 0x7F else { throw DNSError(.invalidName, reason: "invalid escape in \"\(Self.printable(text))\"") }
                    label.append(next)
                    i += 2
                }
            default:
                guard b < 0x80 else {
                    throw DNSError(.invalidName, reason: "\"\(Self.printable(text))\" is not ASCII: give an internationalised name as A-labels (xn--…)")
                }
                guard b > 0x20, b != 0x7F else { throw DNSError(.invalidName, reason: "space or control character in \"\(Self.printable(text))\"") }
                label.append(b)
                i += 1
            }
            guard label.count <= DNSLimits.maxLabelLength else { throw DNSError(.invalidName, reason: "label longer than 63 bytes") }
        }
        if !endedWithDot {
            guard !label.isEmpty else { throw DNSError(.invalidName, reason: "empty label in \"\(Self.printable(text))\"") }
            labels.append(label)
        }
        try self.init(labels: labels)
    }

    public var isRoot: Bool { labels.isEmpty }

    /// Presentation text without the final dot (`mx.example.com`; the root is `.`), bytes outside
    /// printable ASCII as `\DDD`, dots and backslashes inside labels escaped.
    public var description: String {
        isRoot ? "." : labels.map(Self.presentation).joined(separator: ".")
    }

    /// Presentation text with the final dot, as in zone files and `dig` (`mx.example.com.`).
    public var absoluteText: String { isRoot ? "." : description + "." }

    /// The name on the wire: each label with its length, then the root's zero.
    public var wire: [UInt8] {
        var out: [UInt8] = []
        for label in labels { out.append(UInt8(label.count)); out += label }
        out.append(0)
        return out
    }

    /// The name with `labels` in front (`_25._tcp` before `mx.example.com`); throws past the limits.
    public func prepending(_ text: String) throws -> DNSName {
        try DNSName(labels: try DNSName(text).labels + labels)
    }

    /// Whether this name is `other` or below it.
    public func isSubdomain(of other: DNSName) -> Bool {
        labels.count >= other.labels.count && Array(labels.suffix(other.labels.count)) == other.labels
    }

    /// The name one label up (nil for the root).
    public var parent: DNSName? { isRoot ? nil : DNSName(checkedLabels: Array(labels.dropFirst())) }

    /// Where PTR records of `address` live: `d.c.b.a.in-addr.arpa` or the 32 nibbles under `ip6.arpa`.
    public static func reverse(_ address: IPAddress) -> DNSName {
        var labels: [[UInt8]]
        if address.isIPv4 {
            labels = address.bytes.reversed().map { Array(String($0).utf8) } + [Array("in-addr".utf8), Array("arpa".utf8)]
        } else {
            let hex = Array("0123456789abcdef".utf8)
            labels = []
            for byte in address.bytes.reversed() {
                labels.append([hex[Int(byte & 0x0F)]])
                labels.append([hex[Int(byte >> 4)]])
            }
            labels += [Array("ip6".utf8), Array("arpa".utf8)]
        }
        return DNSName(checkedLabels: labels)
    }

    // MARK: - Wire format

    /// Reads an uncompressed name at `offset` of RDATA, advancing `offset` past it. Resolvers hand
    /// RDATA over with names expanded (libunbound does), so a compression pointer is an error here,
    /// as are reserved label types, a label running past the end and a name over 255 bytes.
    public static func read(from bytes: [UInt8], at offset: inout Int) throws -> DNSName {
        var labels: [[UInt8]] = []
        var wire = 1
        while true {
            guard offset < bytes.count else { throw DNSError(.malformedAnswer, reason: "name runs past the end of the record") }
            let length = Int(bytes[offset])
            offset += 1
            if length == 0 { break }
            guard length & 0xC0 == 0 else {
                throw DNSError(.malformedAnswer, reason: length & 0xC0 == 0xC0 ? "compressed name in RDATA" : "reserved label type")
            }
            wire += length + 1
            guard wire <= DNSLimits.maxNameWireLength else { throw DNSError(.malformedAnswer, reason: "name longer than 255 bytes") }
            guard offset + length <= bytes.count else { throw DNSError(.malformedAnswer, reason: "label runs past the end of the record") }
            labels.append(bytes[offset..<offset + length].map(lower))
            offset += length
        }
        return DNSName(checkedLabels: labels)
    }

    // MARK: - Helpers

    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 0x20 : b }
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    static func presentation(_ label: [UInt8]) -> String {
        var out = ""
        for b in label {
            switch b {
            case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: ";"), UInt8(ascii: "("), UInt8(ascii: ")"),
                 UInt8(ascii: "@"), UInt8(ascii: "$"):
                out += "\\" + String(UnicodeScalar(b))
            case 0x21...0x7E: out.unicodeScalars.append(UnicodeScalar(b))
            default: out += "\\" + Self.threeDigits(b)
            }
        }
        return out
    }

    static func threeDigits(_ b: UInt8) -> String {
        let s = String(b)
        return String(repeating: "0", count: 3 - s.count) + s
    }

    /// User text quoted in an error: printable ASCII kept, the rest escaped, at most 300 characters.
    static func printable(_ text: String) -> String {
        var out = ""
        for b in text.utf8.prefix(300) {
            if b >= 0x20 && b < 0x7F { out.unicodeScalars.append(UnicodeScalar(b)) } else { out += "\\" + threeDigits(b) }
        }
        return out
    }
}
