import DNSCore

/// A macro-string of RFC 7208 §7.1: literal text and macros (`%{d}`, `%{ir}`, `%{l1r-}`, `%%`, `%_`,
/// `%-`), as found in domain-specs, modifiers and explanation texts. Pure: parsed from bytes,
/// expanded over an `SPFMacroContext` (the evaluator looks up the `p` name first when `usesValidatedName`).
///
/// ```
/// macro-string     = *( macro-expand / macro-literal )
/// macro-expand     = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
/// macro-literal    = %x21-24 / %x26-7E          ; visible characters except "%"
/// macro-letter     = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v"
/// transformers     = *DIGIT [ "r" ]
/// delimiter        = "." / "-" / "+" / "," / "/" / "_" / "="
/// domain-spec      = macro-string domain-end
/// domain-end       = ( "." toplabel [ "." ] ) / macro-expand
/// explain-string   = *( macro-string / SP )
/// ```
public struct SPFMacroString: Sendable, Hashable, CustomStringConvertible {
    /// The macro letters (§7.3). `c`, `r` and `t` are allowed in explanation texts only.
    public enum Letter: UInt8, Sendable, CaseIterable {
        case sender = 0x73         // s: the <sender> address
        case localPart = 0x6C      // l: its local-part
        case senderDomain = 0x6F   // o: its domain
        case domain = 0x64         // d: the <domain> being checked
        case ip = 0x69             // i: the client address (dotted; IPv6 as 32 dotted nibbles)
        case validatedName = 0x70  // p: a validated reverse name of the client, or "unknown"
        case helo = 0x68           // h: the HELO/EHLO name
        case clientIP = 0x63       // c: the client address as people write it (exp only)
        case receivingHost = 0x72  // r: the receiving host's name (exp only)
        case timestamp = 0x74      // t: seconds since the epoch (exp only)
        case ipVersion = 0x76      // v: "in-addr" or "ip6"

        public var character: Character { Character(UnicodeScalar(rawValue)) }
        var isExplanationOnly: Bool { self == .clientIP || self == .receivingHost || self == .timestamp }
    }

    /// One `%{…}` macro.
    public struct Macro: Sendable, Hashable {
        public var letter: Letter
        /// Written in upper case: the value is URL-escaped (§7.3).
        public var urlEscaped: Bool
        /// The DIGIT transformer: how many right-hand parts to keep (1…255; a larger number is 255,
        /// which keeps every part). Nil: all.
        public var rightParts: Int?
        /// The `r` transformer: the parts reversed before `rightParts` is applied.
        public var reversed: Bool
        /// The delimiters to split on (empty: "."); the parts are joined with ".".
        public var delimiters: [UInt8]

        public init(letter: Letter, urlEscaped: Bool = false, rightParts: Int? = nil, reversed: Bool = false, delimiters: [UInt8] = []) {
            self.letter = letter; self.urlEscaped = urlEscaped; self.rightParts = rightParts; self.reversed = reversed
            self.delimiters = delimiters
        }
    }

    public enum Token: Sendable, Hashable {
        /// Literal bytes (visible ASCII; in an explanation also spaces).
        case literal([UInt8])
        case macro(Macro)
        /// `%%`: a percent sign.
        case percent
        /// `%_`: a space.
        case space
        /// `%-`: "%20", a URL-encoded space.
        case encodedSpace
    }

    /// Where a macro-string stands, which decides what it may hold.
    public enum Kind: Sendable, Hashable {
        /// A domain-spec (mechanism targets, `redirect=`, `exp=`): no `c`/`r`/`t`, no spaces, and
        /// it must end in a macro or in "." and a top label.
        case domainSpec
        /// An unknown modifier's value: any macro, no spaces. Checked, never expanded.
        case modifierValue
        /// The text of an explanation record (§6.2): any macro, and spaces.
        case explanation
    }

    public let tokens: [Token]

    public init(tokens: [Token]) { self.tokens = tokens }

    /// The largest DIGIT transformer kept (a name has at most 127 labels, so this keeps them all).
    static let maxRightParts = 255

    // MARK: - Parsing

    /// Parses `bytes` as a macro-string of `kind`; throws naming the problem (a `permerror`).
    public static func parse(_ bytes: some Collection<UInt8>, as kind: Kind) throws(SPFRecord.ParseError) -> SPFMacroString {
        let bytes = Array(bytes)
        var tokens: [Token] = []
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { tokens.append(.literal(literal)); literal = [] }
        }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b == UInt8(ascii: "%") else {
                let allowed = (0x21...0x7E).contains(b) || (kind == .explanation && b == 0x20)
                guard allowed else {
                    throw SPFRecord.ParseError("\(Self.describe(byte: b)) in \(Self.quoted(bytes))")
                }
                literal.append(b)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else { throw SPFRecord.ParseError("a \"%\" ends \(Self.quoted(bytes))") }
            switch bytes[i + 1] {
            case UInt8(ascii: "%"): flush(); tokens.append(.percent); i += 2
            case UInt8(ascii: "_"): flush(); tokens.append(.space); i += 2
            case UInt8(ascii: "-"): flush(); tokens.append(.encodedSpace); i += 2
            case UInt8(ascii: "{"):
                flush()
                i += 2
                tokens.append(.macro(try parseMacro(bytes, &i, kind: kind)))
            default:
                throw SPFRecord.ParseError("\"%\" followed by \(Self.describe(byte: bytes[i + 1])) in \(Self.quoted(bytes)) (macros are %{x}, %%, %_, %-)")
            }
        }
        flush()
        let string = SPFMacroString(tokens: tokens)
        if kind == .domainSpec { try string.checkDomainEnd(bytes) }
        return string
    }

    /// After "%{": letter, transformers, delimiters, "}".
    private static func parseMacro(_ bytes: [UInt8], _ i: inout Int, kind: Kind) throws(SPFRecord.ParseError) -> Macro {
        guard i < bytes.count else { throw SPFRecord.ParseError("unterminated macro in \(quoted(bytes))") }
        let raw = bytes[i]
        let lower = raw | 0x20
        guard (0x41...0x5A).contains(raw) || (0x61...0x7A).contains(raw), let letter = Letter(rawValue: lower) else {
            throw SPFRecord.ParseError("unknown macro letter \(describe(byte: raw)) in \(quoted(bytes))")
        }
        if letter.isExplanationOnly && kind == .domainSpec {
            throw SPFRecord.ParseError("macro %{\(letter.character)} is allowed in explanation texts only (\(quoted(bytes)))")
        }
        var macro = Macro(letter: letter, urlEscaped: raw != lower)
        i += 1
        var digits = 0, sawDigit = false
        while i < bytes.count, (0x30...0x39).contains(bytes[i]) {
            digits = min(digits * 10 + Int(bytes[i] - 0x30), 100_000)
            sawDigit = true
            i += 1
        }
        if sawDigit {
            guard digits > 0 else { throw SPFRecord.ParseError("a macro keeps 0 parts in \(quoted(bytes))") }
            macro.rightParts = min(digits, maxRightParts)
        }
        if i < bytes.count, bytes[i] | 0x20 == UInt8(ascii: "r") {
            macro.reversed = true
            i += 1
        }
        while i < bytes.count, isDelimiter(bytes[i]) {
            macro.delimiters.append(bytes[i])
            i += 1
        }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "}") else {
            throw SPFRecord.ParseError("malformed macro in \(quoted(bytes)) (expected %{letter digits r delimiters})")
        }
        i += 1
        return macro
    }

    static func isDelimiter(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: "/"), UInt8(ascii: "_"),
             UInt8(ascii: "="): true
        default: false
        }
    }

    /// domain-end = ( "." toplabel [ "." ] ) / macro-expand
    private func checkDomainEnd(_ bytes: [UInt8]) throws(SPFRecord.ParseError) {
        guard let last = tokens.last else { throw SPFRecord.ParseError("empty domain-spec") }
        guard case .literal(var tail) = last else { return }
        if tail.last == UInt8(ascii: ".") { tail.removeLast() }
        guard let dot = tail.lastIndex(of: UInt8(ascii: ".")) else {
            throw SPFRecord.ParseError("domain-spec \(Self.quoted(bytes)) does not end in \".\" and a top label, nor in a macro")
        }
        guard Self.isTopLabel(tail[(dot + 1)...]) else {
            throw SPFRecord.ParseError("domain-spec \(Self.quoted(bytes)) does not end in a valid top label")
        }
    }

    /// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
    static func isTopLabel(_ label: ArraySlice<UInt8>) -> Bool {
        guard let first = label.first, let last = label.last else { return false }
        func isAlpha(_ b: UInt8) -> Bool { (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
        func isAlnum(_ b: UInt8) -> Bool { isAlpha(b) || (0x30...0x39).contains(b) }
        guard label.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") }) else { return false }
        if label.contains(UInt8(ascii: "-")) { return isAlnum(first) && isAlnum(last) }
        return label.contains(where: isAlpha)
    }

    // MARK: - Reading

    /// Whether a `%{p}` needs the client's validated name (a DNS lookup) before expanding.
    public var usesValidatedName: Bool {
        tokens.contains { if case .macro(let m) = $0 { m.letter == .validatedName } else { false } }
    }

    /// The string as written in a record (`%{d2r}`, `%%`, literal text).
    public var description: String {
        var out = ""
        for token in tokens {
            switch token {
            case .literal(let bytes): out += String(decoding: bytes, as: UTF8.self)
            case .percent: out += "%%"
            case .space: out += "%_"
            case .encodedSpace: out += "%-"
            case .macro(let m):
                out += "%{"
                out.unicodeScalars.append(UnicodeScalar(m.urlEscaped ? m.letter.rawValue - 0x20 : m.letter.rawValue))
                if let n = m.rightParts { out += String(n) }
                if m.reversed { out += "r" }
                out += String(decoding: m.delimiters, as: UTF8.self)
                out += "}"
            }
        }
        return out
    }

    // MARK: - Expansion

    /// Expands the macros (§7.3, §7.4). Nil when the expansion would pass `maxLength` bytes.
    public func expand(_ context: SPFMacroContext, maxLength: Int) -> [UInt8]? {
        var out: [UInt8] = []
        for token in tokens {
            switch token {
            case .literal(let bytes): out += bytes
            case .percent: out.append(UInt8(ascii: "%"))
            case .space: out.append(0x20)
            case .encodedSpace: out += Array("%20".utf8)
            case .macro(let m): out += Self.transform(context.value(of: m.letter), m)
            }
            guard out.count <= maxLength else { return nil }
        }
        return out
    }

    /// Split on the delimiters, reverse, keep the right-hand parts, join with ".", URL-escape.
    static func transform(_ value: [UInt8], _ macro: Macro) -> [UInt8] {
        var result = value
        if macro.reversed || macro.rightParts != nil || !macro.delimiters.isEmpty {
            let delimiters = macro.delimiters.isEmpty ? [UInt8(ascii: ".")] : macro.delimiters
            var parts = value.split(omittingEmptySubsequences: false, whereSeparator: { delimiters.contains($0) })
            if macro.reversed { parts.reverse() }
            if let n = macro.rightParts, n < parts.count { parts.removeFirst(parts.count - n) }
            result = Array(parts.joined(separator: [UInt8(ascii: ".")]))
        }
        return macro.urlEscaped ? urlEscape(result) : result
    }

    /// Percent-encodes every byte outside RFC 3986's unreserved set (ALPHA DIGIT - . _ ~).
    static func urlEscape(_ bytes: [UInt8]) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for b in bytes {
            switch b {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0x0F)]]
            }
        }
        return out
    }

    /// The DNS name an expanded domain-spec stands for (§4.8, §7.3): one final dot removed, labels
    /// cut from the left while it is longer than 253 bytes, then each label taken as bytes (no
    /// escapes: "%_" may have put a space in it). Nil when that is not a DNS name (an empty label,
    /// a label over 63 bytes): such a target does not exist.
    public static func targetName(_ expanded: [UInt8]) -> DNSName? {
        var bytes = ArraySlice(expanded)
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        while bytes.count > 253, let dot = bytes.firstIndex(of: UInt8(ascii: ".")) {
            bytes = bytes[(dot + 1)...]
        }
        guard !bytes.isEmpty, bytes.count <= 253 else { return nil }
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map(Array.init)
        return try? DNSName(labels: labels)
    }

    // MARK: - Messages

    static func describe(byte b: UInt8) -> String {
        switch b {
        case 0x20: "a space"
        case 0x21...0x7E: "\"\(Character(UnicodeScalar(b)))\""
        case 0x80...: "a non-ASCII byte"
        default: "a control character"
        }
    }

    /// Record text quoted in an error: printable ASCII kept, other bytes as \xNN, at most 80 bytes.
    static func quoted(_ bytes: some Collection<UInt8>) -> String {
        let hex = Array("0123456789abcdef".unicodeScalars)
        var out = "\""
        for b in bytes.prefix(80) {
            if (0x20...0x7E).contains(b) && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                out.unicodeScalars.append(UnicodeScalar(b))
            } else {
                out += "\\x"
                out.unicodeScalars.append(hex[Int(b >> 4)])
                out.unicodeScalars.append(hex[Int(b & 0x0F)])
            }
        }
        return out + (bytes.count > 80 ? "…\"" : "\"")
    }
}

/// The values macros expand to (RFC 7208 §7.3) during one check of one domain.
public struct SPFMacroContext: Sendable {
    /// `s`: the sender address, `postmaster@…` when it had no local-part.
    public var sender: [UInt8]
    /// `d`: the domain whose record is being evaluated.
    public var domain: [UInt8]
    /// `i`, `c`, `v`: the client address (an IPv4-mapped address already made IPv4).
    public var ip: IPAddress
    /// `h`: the HELO/EHLO name.
    public var helo: [UInt8]
    /// `p`: the validated name ("unknown" when none, or not looked up).
    public var validatedName: [UInt8]
    /// `r`: this host's name.
    public var receivingHost: [UInt8]
    /// `t`: seconds since 1970.
    public var timestamp: Int64

    public init(sender: String, domain: String, ip: IPAddress, helo: String, validatedName: String = "unknown",
                receivingHost: String = "unknown", timestamp: Int64 = 0) {
        self.sender = Array(sender.utf8); self.domain = Array(domain.utf8); self.ip = ip; self.helo = Array(helo.utf8)
        self.validatedName = Array(validatedName.utf8); self.receivingHost = Array(receivingHost.utf8); self.timestamp = timestamp
    }

    /// `l`: the sender's local-part (before the last "@"; "postmaster" when empty).
    public var localPart: [UInt8] {
        guard let at = sender.lastIndex(of: UInt8(ascii: "@")) else { return Array("postmaster".utf8) }
        return at == sender.startIndex ? Array("postmaster".utf8) : Array(sender[..<at])
    }

    /// `o`: the sender's domain (after the last "@"; the whole sender when it has none).
    public var senderDomain: [UInt8] {
        guard let at = sender.lastIndex(of: UInt8(ascii: "@")) else { return sender }
        return Array(sender[(at + 1)...])
    }

    public func value(of letter: SPFMacroString.Letter) -> [UInt8] {
        switch letter {
        case .sender: sender
        case .localPart: localPart
        case .senderDomain: senderDomain
        case .domain: domain
        case .ip: Self.dotted(ip)
        case .validatedName: validatedName
        case .helo: helo
        case .clientIP: Array(ip.description.utf8)
        case .receivingHost: receivingHost
        case .timestamp: Array(String(timestamp).utf8)
        case .ipVersion: Array((ip.isIPv4 ? "in-addr" : "ip6").utf8)
        }
    }

    /// `192.0.2.1`, or an IPv6 address as its 32 nibbles with dots (`2.0.0.1.0.d.b.8…`, §7.3).
    static func dotted(_ ip: IPAddress) -> [UInt8] {
        if ip.isIPv4 { return Array(ip.bytes.map(String.init).joined(separator: ".").utf8) }
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(63)
        for byte in ip.bytes {
            if !out.isEmpty { out.append(UInt8(ascii: ".")) }
            out.append(hex[Int(byte >> 4)])
            out.append(UInt8(ascii: "."))
            out.append(hex[Int(byte & 0x0F)])
        }
        return out
    }
}
