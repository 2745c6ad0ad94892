import DNSCore

/// An SPF record (RFC 7208 §4.5, §4.6, §5, §6), parsed whole before it is evaluated: a syntax
/// error anywhere is a `permerror` even when an earlier mechanism would have matched (§4.6).
/// Pure: no DNS, no Foundation; fuzzed with the macro expander (Fuzz/SPFFuzz).
///
/// ```
/// record           = version terms *SP
/// version          = "v=spf1"
/// terms            = *( 1*SP ( directive / modifier ) )
/// directive        = [ qualifier ] mechanism
/// qualifier        = "+" / "-" / "?" / "~"
/// mechanism        = ( all / include / a / mx / ptr / ip4 / ip6 / exists )
/// modifier         = redirect / explanation / unknown-modifier
/// unknown-modifier = name "=" macro-string     ; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
/// ```
/// Names are case-insensitive. Terms are separated by spaces only (a tab or line break is an error).
public struct SPFRecord: Sendable, Hashable, CustomStringConvertible {
    public enum Qualifier: UInt8, Sendable, Hashable {
        case pass = 0x2B      // +
        case fail = 0x2D      // -
        case softfail = 0x7E  // ~
        case neutral = 0x3F   // ?

        /// The result when a mechanism with this qualifier matches.
        public var result: SPFResult {
            switch self {
            case .pass: .pass
            case .fail: .fail
            case .softfail: .softfail
            case .neutral: .neutral
            }
        }
    }

    /// `a` and `mx` prefix lengths: `/24//64` (§5.3, §5.4); 32 and 128 when absent.
    public struct DualCIDR: Sendable, Hashable {
        public var ip4: Int
        public var ip6: Int
        public init(ip4: Int = 32, ip6: Int = 128) { self.ip4 = ip4; self.ip6 = ip6 }
    }

    public enum Mechanism: Sendable, Hashable {
        case all
        case include(SPFMacroString)
        /// Nil domain: the current domain.
        case a(SPFMacroString?, DualCIDR)
        case mx(SPFMacroString?, DualCIDR)
        case ptr(SPFMacroString?)
        case ip4(IPAddress, prefixLength: Int)
        case ip6(IPAddress, prefixLength: Int)
        case exists(SPFMacroString)

        /// Counts against the limit of 10 DNS-querying terms (§4.6.4).
        public var causesDNSLookup: Bool {
            switch self {
            case .all, .ip4, .ip6: false
            case .include, .a, .mx, .ptr, .exists: true
            }
        }
    }

    public struct Directive: Sendable, Hashable, CustomStringConvertible {
        public var qualifier: Qualifier
        public var mechanism: Mechanism
        public init(_ qualifier: Qualifier = .pass, _ mechanism: Mechanism) { self.qualifier = qualifier; self.mechanism = mechanism }

        /// As written in a record, the `+` left out (`-all`, `a:mail.example.com/24`, `ip6:2001:db8::/32`).
        public var description: String {
            let q = qualifier == .pass ? "" : String(UnicodeScalar(qualifier.rawValue))
            func cidr(_ c: DualCIDR) -> String { (c.ip4 == 32 ? "" : "/\(c.ip4)") + (c.ip6 == 128 ? "" : "//\(c.ip6)") }
            switch mechanism {
            case .all: return q + "all"
            case .include(let d): return q + "include:\(d)"
            case .a(let d, let c): return q + "a" + (d.map { ":\($0)" } ?? "") + cidr(c)
            case .mx(let d, let c): return q + "mx" + (d.map { ":\($0)" } ?? "") + cidr(c)
            case .ptr(let d): return q + "ptr" + (d.map { ":\($0)" } ?? "")
            case .ip4(let ip, let n): return q + "ip4:\(ip)" + (n == 32 ? "" : "/\(n)")
            case .ip6(let ip, let n): return q + "ip6:\(ip)" + (n == 128 ? "" : "/\(n)")
            case .exists(let d): return q + "exists:\(d)"
            }
        }
    }

    public enum Modifier: Sendable, Hashable, CustomStringConvertible {
        case redirect(SPFMacroString)
        case explanation(SPFMacroString)
        /// Any other name (kept, checked for macro syntax, otherwise ignored: §6).
        case unknown(name: String, value: SPFMacroString)

        public var description: String {
            switch self {
            case .redirect(let d): "redirect=\(d)"
            case .explanation(let d): "exp=\(d)"
            case .unknown(let name, let value): "\(name)=\(value)"
            }
        }
    }

    public enum Term: Sendable, Hashable {
        case directive(Directive)
        case modifier(Modifier)
    }

    /// Why a record does not parse; check_host() turns it into `permerror`.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// Every term in order.
    public let terms: [Term]
    /// The mechanisms in order: what check_host() evaluates.
    public let directives: [Directive]
    /// `redirect=`, used when no mechanism matches (§6.1).
    public let redirect: SPFMacroString?
    /// `exp=`, the domain of the explanation for `fail` (§6.2).
    public let explanation: SPFMacroString?

    public init(terms: [Term]) throws(ParseError) {
        var directives: [Directive] = []
        var redirect: SPFMacroString?, explanation: SPFMacroString?
        for term in terms {
            switch term {
            case .directive(let d): directives.append(d)
            case .modifier(.redirect(let d)):
                guard redirect == nil else { throw ParseError("redirect= appears twice") }
                redirect = d
            case .modifier(.explanation(let d)):
                guard explanation == nil else { throw ParseError("exp= appears twice") }
                explanation = d
            case .modifier(.unknown): break
            }
        }
        self.terms = terms; self.directives = directives; self.redirect = redirect; self.explanation = explanation
    }

    /// The record in canonical form (`v=spf1` and the terms separated by one space); it parses
    /// back to the same record.
    public var description: String {
        (["v=spf1"] + terms.map { term in
            switch term {
            case .directive(let d): d.description
            case .modifier(let m): m.description
            }
        }).joined(separator: " ")
    }

    // MARK: - Parsing

    /// Whether a TXT record (its strings joined) is an SPF record: "v=spf1" (any case) followed by
    /// a space or the end (§4.5). Other TXT records are ignored.
    public static func isSPF(_ bytes: some Collection<UInt8>) -> Bool {
        let version = Array("v=spf1".utf8)
        var i = bytes.startIndex
        for expected in version {
            guard i != bytes.endIndex, bytes[i] | (bytes[i] >= 0x41 && bytes[i] <= 0x5A ? 0x20 : 0) == expected else { return false }
            i = bytes.index(after: i)
        }
        return i == bytes.endIndex || bytes[i] == 0x20
    }

    /// Parses a record's text (`v=spf1 …`), at most `SPFLimits().maxRecordLength` bytes.
    public static func parse(_ text: String) throws(ParseError) -> SPFRecord {
        try parse(bytes: Array(text.utf8), maxLength: SPFLimits().maxRecordLength)
    }

    /// Parses a record's bytes (the TXT strings joined): non-ASCII bytes and control characters
    /// are errors, as is a record longer than `maxLength`.
    public static func parse(bytes: [UInt8], maxLength: Int) throws(ParseError) -> SPFRecord {
        guard bytes.count <= maxLength else { throw ParseError("record longer than \(maxLength) bytes (\(bytes.count))") }
        guard isSPF(bytes) else { throw ParseError("not an SPF record: it does not start with \"v=spf1\"") }
        var terms: [Term] = []
        for term in bytes.dropFirst(6).split(separator: 0x20) {
            terms.append(try parseTerm(term))
        }
        return try SPFRecord(terms: terms)
    }

    static func parseTerm(_ term: ArraySlice<UInt8>) throws(ParseError) -> Term {
        var i = term.startIndex
        var qualifier: Qualifier?
        if let q = Qualifier(rawValue: term[i]) {
            qualifier = q
            i += 1
        }
        var end = i
        while end < term.endIndex, isNameByte(term[end]) { end += 1 }
        let name = term[i..<end]
        let rest = term[end...]
        let lowerName = String(decoding: name.map { $0 | ($0 >= 0x41 && $0 <= 0x5A ? 0x20 : 0) }, as: UTF8.self)

        if rest.first == UInt8(ascii: "=") {
            guard qualifier == nil else { throw ParseError("a qualifier before the modifier \(SPFMacroString.quoted(term))") }
            guard let first = name.first, (0x41...0x5A).contains(first) || (0x61...0x7A).contains(first) else {
                throw ParseError("invalid modifier name in \(SPFMacroString.quoted(term)) (it must start with a letter)")
            }
            let value = rest.dropFirst()
            switch lowerName {
            case "redirect": return .modifier(.redirect(try SPFMacroString.parse(value, as: .domainSpec)))
            case "exp": return .modifier(.explanation(try SPFMacroString.parse(value, as: .domainSpec)))
            default:
                return .modifier(.unknown(name: String(decoding: name, as: UTF8.self),
                                          value: try SPFMacroString.parse(value, as: .modifierValue)))
            }
        }

        let mechanism: Mechanism
        switch lowerName {
        case "all":
            guard rest.isEmpty else { throw ParseError("\"all\" takes no argument: \(SPFMacroString.quoted(term))") }
            mechanism = .all
        case "include":
            mechanism = .include(try requiredDomain(rest, term))
        case "exists":
            mechanism = .exists(try requiredDomain(rest, term))
        case "ptr":
            if rest.isEmpty {
                mechanism = .ptr(nil)
            } else {
                guard rest.first == UInt8(ascii: ":") else { throw ParseError("\"ptr\" takes \":domain\" only: \(SPFMacroString.quoted(term))") }
                mechanism = .ptr(try SPFMacroString.parse(rest.dropFirst(), as: .domainSpec))
            }
        case "a", "mx":
            let (domain, cidr) = try domainAndCIDR(rest, term)
            mechanism = lowerName == "a" ? .a(domain, cidr) : .mx(domain, cidr)
        case "ip4", "ip6":
            guard rest.first == UInt8(ascii: ":") else { throw ParseError("\(lowerName) needs \":address\": \(SPFMacroString.quoted(term))") }
            let argument = rest.dropFirst()
            let slash = argument.firstIndex(of: UInt8(ascii: "/")) ?? argument.endIndex
            let isV4 = lowerName == "ip4"
            var prefix = isV4 ? 32 : 128
            if slash < argument.endIndex {
                prefix = try cidrLength(argument[(slash + 1)...], max: prefix, term)
            }
            guard let address = isV4 ? parseIPv4(argument[..<slash]) : parseIPv6(argument[..<slash]) else {
                throw ParseError("invalid \(isV4 ? "IPv4" : "IPv6") network in \(SPFMacroString.quoted(term))")
            }
            mechanism = isV4 ? .ip4(address, prefixLength: prefix) : .ip6(address, prefixLength: prefix)
        default:
            if name.isEmpty { throw ParseError("a term without a mechanism name: \(SPFMacroString.quoted(term))") }
            throw ParseError("unknown mechanism \(SPFMacroString.quoted(name))")
        }
        return .directive(Directive(qualifier ?? .pass, mechanism))
    }

    /// Mechanism and modifier names: ALPHA / DIGIT / "-" / "_" / ".".
    static func isNameByte(_ b: UInt8) -> Bool {
        (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || (0x30...0x39).contains(b)
            || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
    }

    /// ":" domain-spec (include, exists).
    static func requiredDomain(_ rest: ArraySlice<UInt8>, _ term: ArraySlice<UInt8>) throws(ParseError) -> SPFMacroString {
        guard rest.first == UInt8(ascii: ":") else { throw ParseError("\":domain\" required: \(SPFMacroString.quoted(term))") }
        return try SPFMacroString.parse(rest.dropFirst(), as: .domainSpec)
    }

    /// [ ":" domain-spec ] [ dual-cidr-length ] (a, mx). A domain-spec may itself hold "/" and ":",
    /// so the prefix lengths are taken from the end: "//" DIGITS, then "/" DIGITS.
    static func domainAndCIDR(_ rest: ArraySlice<UInt8>, _ term: ArraySlice<UInt8>) throws(ParseError) -> (SPFMacroString?, DualCIDR) {
        var cidr = DualCIDR()
        guard let first = rest.first else { return (nil, cidr) }
        var end = rest.endIndex
        var k = end
        while k > rest.startIndex, isDigit(rest[k - 1]) { k -= 1 }
        if k < end, k - 2 >= rest.startIndex, rest[k - 1] == UInt8(ascii: "/"), rest[k - 2] == UInt8(ascii: "/") {
            cidr.ip6 = try cidrLength(rest[k..<end], max: 128, term)
            end = k - 2
        }
        k = end
        while k > rest.startIndex, isDigit(rest[k - 1]) { k -= 1 }
        if k < end, k - 1 >= rest.startIndex, rest[k - 1] == UInt8(ascii: "/") {
            cidr.ip4 = try cidrLength(rest[k..<end], max: 32, term)
            end = k - 1
        }
        let head = rest[rest.startIndex..<end]
        if first == UInt8(ascii: ":") {
            return (try SPFMacroString.parse(head.dropFirst(), as: .domainSpec), cidr)
        }
        guard head.isEmpty else { throw ParseError("invalid argument in \(SPFMacroString.quoted(term))") }
        return (nil, cidr)
    }

    /// 1*DIGIT without leading zeros, at most `max`.
    static func cidrLength(_ digits: ArraySlice<UInt8>, max: Int, _ term: ArraySlice<UInt8>) throws(ParseError) -> Int {
        guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy(isDigit), digits.count == 1 || digits.first != UInt8(ascii: "0") else {
            throw ParseError("invalid prefix length in \(SPFMacroString.quoted(term))")
        }
        let value = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard value <= max else { throw ParseError("prefix length \(value) over \(max) in \(SPFMacroString.quoted(term))") }
        return value
    }

    static func isDigit(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) }

    /// ip4-network: four decimal numbers 0…255 without leading zeros (§5.6).
    static func parseIPv4(_ text: ArraySlice<UInt8>) -> IPAddress? {
        let parts = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(isDigit), part.count == 1 || part.first != UInt8(ascii: "0") else { return nil }
            let value = part.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard value <= 255 else { return nil }
            bytes.append(UInt8(value))
        }
        return IPAddress(bytes: bytes)
    }

    /// ip6-network: RFC 4291 §2.2 text (hex digits, colons, an IPv4 tail).
    static func parseIPv6(_ text: ArraySlice<UInt8>) -> IPAddress? {
        guard !text.isEmpty, text.count <= 45, text.contains(UInt8(ascii: ":")),
              text.allSatisfy({ isDigit($0) || (0x41...0x46).contains($0) || (0x61...0x66).contains($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
        else { return nil }
        guard let address = IPAddress(String(decoding: text, as: UTF8.self)), !address.isIPv4 else { return nil }
        return address
    }
}
