/// One record's data, parsed. Types Sealbox reads have their own case; any other keeps its bytes.
public enum DNSRecord: Hashable, Sendable, CustomStringConvertible {
    case a(IPAddress)
    case aaaa(IPAddress)
    case mx(MXRecord)
    case txt(TXTRecord)
    case tlsa(TLSARecord)
    case ptr(DNSName)
    case cname(DNSName)
    case ns(DNSName)
    case srv(SRVRecord)
    /// Any other type: its RDATA as received.
    case other(DNSRecordType, [UInt8])

    public var type: DNSRecordType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .mx: .mx
        case .txt: .txt
        case .tlsa: .tlsa
        case .ptr: .ptr
        case .cname: .cname
        case .ns: .ns
        case .srv: .srv
        case .other(let type, _): type
        }
    }

    /// The data in zone-file presentation (`10 mx.example.com.`, `"v=spf1 " "-all"`, `3 1 1 ab…`;
    /// another type as RFC 3597's `\# LENGTH HEX`).
    public var description: String {
        switch self {
        case .a(let ip), .aaaa(let ip): ip.description
        case .mx(let mx): "\(mx.preference) \(mx.exchange.absoluteText)"
        case .txt(let txt): txt.strings.map(TXTRecord.quoted).joined(separator: " ")
        case .tlsa(let t): "\(t.usage) \(t.selector) \(t.matchingType) \(t.data.isEmpty ? "-" : hex(t.data))"
        case .ptr(let name), .cname(let name), .ns(let name): name.absoluteText
        case .srv(let s): "\(s.priority) \(s.weight) \(s.port) \(s.target.absoluteText)"
        case .other(_, let bytes): "\\# \(bytes.count)" + (bytes.isEmpty ? "" : " " + hex(bytes))
        }
    }

    /// Parses one record's RDATA (names uncompressed, as resolvers hand them over). Strict: the
    /// data must have exactly the type's layout (an A record 4 bytes, a name that ends where the
    /// record ends…), else `DNSError` `.malformedAnswer` saying what is wrong.
    public static func parse(type: DNSRecordType, rdata: [UInt8]) throws -> DNSRecord {
        guard rdata.count <= DNSLimits.maxRDataLength else { throw malformed(type, "longer than 65535 bytes") }
        switch type {
        case .a:
            guard rdata.count == 4, let ip = IPAddress(bytes: rdata) else { throw malformed(type, "\(rdata.count) bytes, not 4") }
            return .a(ip)
        case .aaaa:
            guard rdata.count == 16, let ip = IPAddress(bytes: rdata) else { throw malformed(type, "\(rdata.count) bytes, not 16") }
            return .aaaa(ip)
        case .mx:
            guard rdata.count >= 3 else { throw malformed(type, "shorter than 3 bytes") }
            var offset = 2
            let exchange = try name(type, rdata, &offset)
            try end(type, rdata, offset)
            return .mx(MXRecord(preference: UInt16(rdata[0]) << 8 | UInt16(rdata[1]), exchange: exchange))
        case .txt:
            guard !rdata.isEmpty else { throw malformed(type, "no character-string") }
            var strings: [[UInt8]] = []
            var offset = 0
            while offset < rdata.count {
                let length = Int(rdata[offset])
                offset += 1
                guard offset + length <= rdata.count else { throw malformed(type, "a character-string runs past the end") }
                strings.append(Array(rdata[offset..<offset + length]))
                offset += length
            }
            return .txt(TXTRecord(strings: strings))
        case .tlsa:
            guard rdata.count >= 3 else { throw malformed(type, "shorter than 3 bytes") }
            return .tlsa(TLSARecord(usage: rdata[0], selector: rdata[1], matchingType: rdata[2], data: Array(rdata[3...])))
        case .ptr, .cname, .ns:
            var offset = 0
            let target = try name(type, rdata, &offset)
            try end(type, rdata, offset)
            return type == .ptr ? .ptr(target) : type == .cname ? .cname(target) : .ns(target)
        case .srv:
            guard rdata.count >= 7 else { throw malformed(type, "shorter than 7 bytes") }
            var offset = 6
            let target = try name(type, rdata, &offset)
            try end(type, rdata, offset)
            func u16(_ i: Int) -> UInt16 { UInt16(rdata[i]) << 8 | UInt16(rdata[i + 1]) }
            return .srv(SRVRecord(priority: u16(0), weight: u16(2), port: u16(4), target: target))
        default:
            return .other(type, rdata)
        }
    }

    private static func malformed(_ type: DNSRecordType, _ what: String) -> DNSError {
        DNSError(.malformedAnswer, reason: "\(type) record: \(what)")
    }

    private static func name(_ type: DNSRecordType, _ rdata: [UInt8], _ offset: inout Int) throws -> DNSName {
        do { return try DNSName.read(from: rdata, at: &offset) } catch let error as DNSError {
            throw malformed(type, error.reason ?? "bad name")
        }
    }

    private static func end(_ type: DNSRecordType, _ rdata: [UInt8], _ offset: Int) throws {
        guard offset == rdata.count else { throw malformed(type, "\(rdata.count - offset) bytes after the name") }
    }
}

/// An MX record (RFC 1035 §3.3.9): lower preference first.
public struct MXRecord: Hashable, Sendable {
    public var preference: UInt16
    public var exchange: DNSName

    public init(preference: UInt16, exchange: DNSName) { self.preference = preference; self.exchange = exchange }

    /// RFC 7505's null MX (`0 .`): the domain accepts no mail.
    public var isNullMX: Bool { exchange.isRoot }
}

/// A TXT record (RFC 1035 §3.3.14): its character-strings, each up to 255 bytes. SPF, DKIM,
/// DMARC, MTA-STS and TLS-RPT read the strings of one record joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
public struct TXTRecord: Hashable, Sendable {
    public var strings: [[UInt8]]

    public init(strings: [[UInt8]]) { self.strings = strings }

    /// `text` as one record: its UTF-8 bytes in character-strings of at most 255 bytes (an empty
    /// text is one empty string), as a zone file or a DNS server splits a long value.
    public init(text: String) {
        var strings: [[UInt8]] = []
        var rest = Array(text.utf8)[...]
        repeat {
            strings.append(Array(rest.prefix(255)))
            rest = rest.dropFirst(255)
        } while !rest.isEmpty
        self.strings = strings
    }

    /// The character-strings joined, as bytes.
    public var bytes: [UInt8] { strings.flatMap { $0 } }

    /// The character-strings joined, as text (UTF-8; invalid sequences become U+FFFD). The records
    /// mail reads are ASCII; a parser that must refuse other bytes reads `bytes`.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    static func quoted(_ string: [UInt8]) -> String {
        var out = "\""
        for b in string {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += "\\" + String(UnicodeScalar(b))
            case 0x20...0x7E: out.unicodeScalars.append(UnicodeScalar(b))
            default: out += "\\" + DNSName.threeDigits(b)
            }
        }
        return out + "\""
    }
}

/// A TLSA record (RFC 6698 §2.1). The fields are kept as published: which combinations DANE can
/// use (RFC 7672 §3.1: usages 2 and 3; unknown values make a record unusable, not an error) is
/// the DANE code's decision.
public struct TLSARecord: Hashable, Sendable {
    /// 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE.
    public var usage: UInt8
    /// 0 the full certificate, 1 the SubjectPublicKeyInfo.
    public var selector: UInt8
    /// 0 exact match, 1 SHA-256, 2 SHA-512.
    public var matchingType: UInt8
    /// The certificate association data.
    public var data: [UInt8]

    public init(usage: UInt8, selector: UInt8, matchingType: UInt8, data: [UInt8]) {
        self.usage = usage; self.selector = selector; self.matchingType = matchingType; self.data = data
    }
}

/// An SRV record (RFC 2782), as RFC 6186 publishes submission, IMAP and POP3.
public struct SRVRecord: Hashable, Sendable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    /// `.` means the service is not offered.
    public var target: DNSName

    public init(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName) {
        self.priority = priority; self.weight = weight; self.port = port; self.target = target
    }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".unicodeScalars)
    var out = ""
    out.unicodeScalars.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.unicodeScalars.append(digits[Int(b >> 4)])
        out.unicodeScalars.append(digits[Int(b & 0x0F)])
    }
    return out
}
