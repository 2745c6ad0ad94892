/// One entry of an IMAP ENVELOPE address list: an address, or a group start marker
/// (name, route and host nil, mailbox = group name) or a group end marker (all nil).
public struct EnvelopeAddress: Sendable, Hashable {
    /// The display name as written (quoted-strings unquoted, words joined by one space), undecoded.
    public var rawName: [UInt8]?
    public var route: String?
    public var mailbox: [UInt8]?
    public var host: [UInt8]?

    public var isGroupStart: Bool { rawName == nil && route == nil && host == nil && mailbox != nil }
    public var isGroupEnd: Bool { rawName == nil && route == nil && host == nil && mailbox == nil }

    /// The display name decoded (RFC 2047, RFC 6532 UTF-8).
    public var name: String? { rawName.map { RFC2047.decode($0) } }
    /// Local part (or group name for a group start marker) as text.
    public var mailboxString: String? { mailbox.map { String(decoding: $0, as: UTF8.self) } }
    public var hostString: String? { host.map { String(decoding: $0, as: UTF8.self) } }
}

/// A mailbox address with its decoded display name.
public struct MailAddress: Sendable, Hashable {
    public var name: String?
    public var mailbox: String?
    public var host: String?

    public init(name: String? = nil, mailbox: String?, host: String?) {
        self.name = name; self.mailbox = mailbox; self.host = host
    }

    /// "mailbox@host", or just the mailbox when there is no host.
    public var address: String? {
        guard let mailbox else { return nil }
        guard let host, !host.isEmpty else { return mailbox }
        return mailbox + "@" + host
    }
}

enum AddressParser {
    static let missingMailbox = Array("MISSING_MAILBOX".utf8)
    static let missingDomain = Array("MISSING_DOMAIN".utf8)

    /// Parses an address list the way IMAP ENVELOPE needs it (groups as markers, missing parts
    /// filled in with MISSING_MAILBOX / MISSING_DOMAIN like Dovecot).
    static func parse(_ value: [UInt8], limits: MIMELimits) -> [EnvelopeAddress] {
        var lx = Lexer(value)
        var out = [EnvelopeAddress]()
        var inGroup = false
        while !lx.atEnd && out.count < limits.maxAddresses {
            lx.skipCFWS()
            guard let c = lx.peek else { break }
            if c == 44 { lx.pos += 1; continue }   // ','
            if c == 59 {                           // ';' ends a group
                lx.pos += 1
                if inGroup { out.append(EnvelopeAddress()); inGroup = false }
                continue
            }
            let before = lx.pos
            parseOne(&lx, into: &out, inGroup: &inGroup)
            if lx.pos == before { lx.pos += 1 }   // guarantee progress
        }
        if inGroup { out.append(EnvelopeAddress()) }
        return out
    }

    /// Collects a phrase: words (atoms, quoted strings, dots) separated by single spaces.
    static func phrase(_ lx: inout Lexer) -> (words: [UInt8], count: Int, endedWithComment: [UInt8]?) {
        var out = [UInt8]()
        var n = 0
        lx.lastComment = nil
        while true {
            lx.skipCFWS()
            guard let c = lx.peek else { break }
            var word: [UInt8]
            if c == 34 {
                word = lx.quotedString()
            } else if c == 46 {   // obs-phrase allows "."
                lx.pos += 1
                word = [46]
            } else if let a = lx.atom() {
                word = Array(a)
            } else { break }
            if n > 0 && !(word == [46]) && !(out.last == 46 && false) { out.append(SP) }
            if word == [46] && n > 0 { if out.last == SP { out.removeLast() } }
            out.append(contentsOf: word)
            n += 1
        }
        return (out, n, lx.lastComment)
    }

    static func parseOne(_ lx: inout Lexer, into out: inout [EnvelopeAddress], inGroup: inout Bool) {
        let start = lx.pos
        let ph = phrase(&lx)
        lx.skipCFWS()
        let c = lx.peek
        if c == 58 && !inGroup {   // ':' group
            lx.pos += 1
            out.append(EnvelopeAddress(rawName: nil, route: nil, mailbox: ph.words, host: nil))
            inGroup = true
            return
        }
        if c == 60 {   // '<' name-addr
            lx.pos += 1
            var addr = angleAddr(&lx)
            if ph.count > 0 { addr.rawName = ph.words }
            out.append(addr)
            skipToSeparator(&lx)   // text after the address up to the next ',' is garbage
            return
        }
        // addr-spec: re-lex from start as local-part "@" domain
        lx.pos = start
        lx.lastComment = nil
        let local = localPart(&lx)
        lx.skipCFWS()
        var host: [UInt8]? = nil
        if lx.peek == 64 {
            lx.pos += 1
            host = domain(&lx)
        }
        let comment = lx.lastComment
        lx.skipCFWS()
        let trailingComment = lx.lastComment ?? comment
        // anything else up to ',' is garbage
        while let d = lx.peek, d != 44, d != 59 {
            if d == 34 { _ = lx.quotedString() } else if d == 40 { lx.skipComment() } else { lx.pos += 1 }
        }
        if local.isEmpty && (host == nil || host!.isEmpty) && trailingComment == nil { return }
        var a = EnvelopeAddress()
        a.mailbox = local.isEmpty ? missingMailbox : local
        a.host = (host == nil || host!.isEmpty) ? missingDomain : host
        if let tc = trailingComment, !tc.isEmpty { a.rawName = tc }
        out.append(a)
    }

    static func skipToSeparator(_ lx: inout Lexer) {
        while let d = lx.peek, d != 44, d != 59 {
            if d == 34 { _ = lx.quotedString() } else if d == 40 { lx.skipComment() } else { lx.pos += 1 }
        }
    }

    static func localPart(_ lx: inout Lexer) -> [UInt8] {
        var out = [UInt8]()
        while true {
            lx.skipCFWS()
            guard let c = lx.peek else { break }
            if c == 34 {
                let q = lx.quotedString()
                out.append(contentsOf: q)
            } else if c == 46 {
                out.append(46); lx.pos += 1
            } else if let a = lx.atom() {
                out.append(contentsOf: a)
            } else { break }
        }
        return out
    }

    static func domain(_ lx: inout Lexer) -> [UInt8] {
        var out = [UInt8]()
        while true {
            lx.skipCFWS()
            guard let c = lx.peek else { break }
            if c == 91 {
                out.append(contentsOf: lx.domainLiteral())
            } else if c == 46 {
                out.append(46); lx.pos += 1
            } else if let a = lx.atom() {
                out.append(contentsOf: a)
            } else { break }
        }
        return out
    }

    /// After '<': [route ":"] addr-spec ">"
    static func angleAddr(_ lx: inout Lexer) -> EnvelopeAddress {
        var a = EnvelopeAddress()
        lx.skipCFWS()
        // obs-route: "@a,@b:"
        if lx.peek == 64 {
            var route = [UInt8]()
            while lx.peek == 64 || lx.peek == 44 {
                let c = lx.peek!
                lx.pos += 1
                if c == 64 { if !route.isEmpty { route.append(44) }; route.append(64); route.append(contentsOf: domain(&lx)) }
                lx.skipCFWS()
            }
            if lx.peek == 58 { lx.pos += 1 }
            a.route = String(decoding: route, as: UTF8.self)
        }
        let local = localPart(&lx)
        lx.skipCFWS()
        var host: [UInt8]? = nil
        if lx.peek == 64 { lx.pos += 1; host = domain(&lx) }
        lx.skipCFWS()
        while let d = lx.peek, d != 62 {
            if d == 44 || d == 59 { break }
            if d == 34 { _ = lx.quotedString() } else { lx.pos += 1 }
        }
        if lx.peek == 62 { lx.pos += 1 }
        a.mailbox = local.isEmpty ? missingMailbox : local
        a.host = (host == nil || host!.isEmpty) ? missingDomain : host
        return a
    }
}
