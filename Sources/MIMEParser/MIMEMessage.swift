import Foundation

/// A parsed RFC 5322 / MIME message. Parsing never fails: any byte sequence yields a message.
public struct MIMEMessage: Sendable {
    /// The original bytes, untouched.
    public let bytes: [UInt8]
    /// The root entity (the message header and its body).
    public let root: MIMEPart
    public let limits: MIMELimits

    /// Bytes of the top-level header block including the blank line.
    public var headerLength: Int { root.headerRange.upperBound }

    public static func parse(_ bytes: [UInt8], limits: MIMELimits = .default) -> MIMEMessage {
        var builder = TreeBuilder(b: bytes, limits: limits)
        let (root, _) = builder.parseEntity(start: 0, depth: 0, number: [], isMultipartChild: false,
                                            inDigest: false, isEmbeddedRoot: false)
        return MIMEMessage(bytes: bytes, root: root, limits: limits)
    }

    init(bytes: [UInt8], root: MIMEPart, limits: MIMELimits) {
        self.bytes = bytes; self.root = root; self.limits = limits
    }

    /// All leaf parts in document order.
    public var leafParts: [MIMEPart] {
        var out = [MIMEPart]()
        root.collectLeaves(into: &out)
        return out
    }

    /// All parts (pre-order, encapsulated messages included).
    public var allParts: [MIMEPart] {
        var out = [MIMEPart]()
        func walk(_ p: MIMEPart) { out.append(p); for c in p.children { walk(c) } }
        walk(root)
        return out
    }

    // MARK: header access

    /// The raw (unfolded, CR/LF removed) values of the top-level header fields named `name`.
    public func headerValues(_ name: String) -> [[UInt8]] {
        MIMEMessage.fieldValues(root.headerFields, name: name, in: bytes)
    }

    static func fieldValues(_ fields: [HeaderField], name: String, in b: [UInt8]) -> [[UInt8]] {
        let lname = Array(name.lowercased().utf8)
        var out = [[UInt8]]()
        for f in fields where f.nameRange.count == lname.count {
            var eq = true
            var j = 0
            for i in f.nameRange { if lowerASCII(b[i]) != lname[j] { eq = false; break }; j += 1 }
            if eq { out.append(unfold(b[f.valueRange])) }
        }
        return out
    }

    public var subject: String? {
        guard let v = headerValues("subject").first else { return nil }
        return collapseWhitespace(RFC2047.decode(v))
    }

    public var date: Date? {
        guard let v = headerValues("date").first else { return nil }
        return DateParser.parse(v)
    }

    /// The Date: header's calendar day as written, in its own zone (days since 1970-01-01):
    /// what RFC 3501 SENTBEFORE/SENTON/SENTSINCE compare.
    public var sentDay: Int? {
        guard let v = headerValues("date").first else { return nil }
        return DateParser.parseZoned(v)?.writtenDay
    }

    public var messageID: String? { MIMEMessage.msgIDs(headerValues("message-id").first ?? []).first }
    public var inReplyTo: [String] { MIMEMessage.msgIDs(headerValues("in-reply-to").first ?? []) }
    public var references: [String] { MIMEMessage.msgIDs(headerValues("references").first ?? []) }

    public var from: [MailAddress] { mailAddresses("from") }
    public var sender: [MailAddress] { mailAddresses("sender") }
    public var replyTo: [MailAddress] { mailAddresses("reply-to") }
    public var to: [MailAddress] { mailAddresses("to") }
    public var cc: [MailAddress] { mailAddresses("cc") }
    public var bcc: [MailAddress] { mailAddresses("bcc") }

    /// An address field as SEARCH FROM/TO/CC/BCC match it: `Name <addr>, …`, with a group's
    /// display name before its members (`Friends: <a@x>, <b@y>`, RFC 5322 group syntax, so that
    /// FROM "Friends" matches); nil when empty.
    public func addressText(_ name: String) -> String? {
        var items: [String] = []
        var groupOpen = false   // the last item is a group's name, waiting for its first member
        for v in headerValues(name) {
            for a in AddressParser.parse(v, limits: limits) {
                if a.isGroupEnd { groupOpen = false; continue }
                if a.isGroupStart {
                    items.append(collapseWhitespace(RFC2047.decode(a.mailbox ?? [])) + ":")
                    groupOpen = true
                    continue
                }
                let mbox = a.mailbox.map { String(decoding: $0, as: UTF8.self) }
                let host = a.host.map { String(decoding: $0, as: UTF8.self) }
                let address = MailAddress(name: nil, mailbox: mbox == "MISSING_MAILBOX" ? nil : mbox,
                                          host: host == "MISSING_DOMAIN" ? nil : host).address
                let item = [a.name.map(collapseWhitespace), address.map { "<\($0)>" }].compactMap { $0 }.joined(separator: " ")
                guard !item.isEmpty else { continue }
                if groupOpen { items[items.count - 1] += " " + item; groupOpen = false } else { items.append(item) }
            }
        }
        return items.isEmpty ? nil : items.joined(separator: ", ")
    }

    func mailAddresses(_ name: String) -> [MailAddress] {
        var out = [MailAddress]()
        for v in headerValues(name) {
            for a in AddressParser.parse(v, limits: limits) where !a.isGroupStart && !a.isGroupEnd {
                let mbox = a.mailbox.map { String(decoding: $0, as: UTF8.self) }
                let host = a.host.map { String(decoding: $0, as: UTF8.self) }
                out.append(MailAddress(name: a.name.map(collapseWhitespace),
                                       mailbox: mbox == "MISSING_MAILBOX" ? nil : mbox,
                                       host: host == "MISSING_DOMAIN" ? nil : host))
            }
        }
        return out
    }

    /// The msg-ids of a header value (Message-ID, In-Reply-To, References), without brackets.
    public static func messageIDs(_ value: [UInt8]) -> [String] { msgIDs(value) }

    /// msg-ids from a header value: "<...>" tokens without brackets; a bare token is taken when there
    /// are no brackets at all.
    static func msgIDs(_ v: [UInt8]) -> [String] {
        var out = [String]()
        var lx = Lexer(v)
        while true {
            lx.skipCFWS()
            guard let c = lx.peek else { break }
            if c == 60 {
                lx.pos += 1
                var id = [UInt8]()
                while let d = lx.peek, d != 62 {
                    if d == 34 { id.append(contentsOf: [34] + lx.quotedString() + [34]); continue }
                    if !isWSP(d) { id.append(d) }
                    lx.pos += 1
                }
                if lx.peek == 62 { lx.pos += 1 }
                if !id.isEmpty { out.append(String(decoding: id, as: UTF8.self)) }
            } else if c == 34 {
                _ = lx.quotedString()
            } else {
                let s = lx.pos
                while let d = lx.peek, !isWSP(d), d != 60, d != 40, d != 44 { lx.pos += 1 }
                if lx.pos == s { lx.pos += 1; continue }
                if out.isEmpty && !v.contains(60) { out.append(String(decoding: v[s..<lx.pos], as: UTF8.self)) }
            }
        }
        return out
    }
}

/// Collapses runs of whitespace to one space and trims.
func collapseWhitespace(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    var pendingSpace = false
    for ch in s.unicodeScalars {
        if ch == " " || ch == "\t" || ch == "\r" || ch == "\n" {
            pendingSpace = !out.isEmpty
        } else {
            if pendingSpace { out.unicodeScalars.append(" "); pendingSpace = false }
            out.unicodeScalars.append(ch)
        }
    }
    return out
}
