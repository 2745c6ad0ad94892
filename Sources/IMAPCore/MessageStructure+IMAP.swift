import MIMEParser

/// The IMAP wire forms of a stored structure (RFC 3501 §7.4.2 ENVELOPE, BODY, BODYSTRUCTURE),
/// byte-compatible with Dovecot's answers. MIMEParser gives the values; this is their one encoder.
/// (Free of NIO and of the rest of IMAPCore: the MIME fuzz target compiles it with MIMEParser.)
extension MessageStructure {
    public static func imapEnvelopeBytes(_ envelope: Envelope) -> [UInt8] {
        var out: [UInt8] = [40]
        envelope.writeIMAP(into: &out)
        out.append(41)
        return out
    }

    public func imapEnvelopeBytes() -> [UInt8] { Self.imapEnvelopeBytes(envelope) }

    public func imapBodyStructureBytes(extended: Bool) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(256)
        Self.writeBody(root, extended: extended, into: &out)
        return out
    }

    static let emptyBody = Array("(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)".utf8)
    static let emptyBodyStructure = Array("(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)".utf8)

    static func writeBody(_ p: BodyNode, extended: Bool, into out: inout [UInt8]) {
        out.append(40)
        defer { out.append(41) }
        if p.isMultipart {
            if p.children.isEmpty {
                out.append(contentsOf: extended ? emptyBodyStructure : emptyBody)
            } else {
                for c in p.children { writeBody(c, extended: extended, into: &out) }
            }
            out.append(WireByte.sp)
            IMAPString.string(p.rawSubtype ?? "", into: &out)
            if !extended { return }
            out.append(WireByte.sp)
            writeParams(p.parameters, defaultCharset: false, into: &out)
            writeCommonExtension(p, into: &out)
            return
        }
        let text: Bool
        if p.isEncapsulatedMessage {
            text = false
            out.append(contentsOf: Array("\"message\" ".utf8))
            IMAPString.string(p.isGlobal ? "global" : "rfc822", into: &out)
        } else if let t = p.rawType {
            text = t.lowercased() == "text"
            IMAPString.string(t, into: &out)
            out.append(WireByte.sp)
            IMAPString.string(p.rawSubtype ?? "", into: &out)
        } else {
            text = true
            out.append(contentsOf: Array("\"text\" \"plain\"".utf8))
        }
        out.append(WireByte.sp)
        writeParams(p.parameters, defaultCharset: text, into: &out)
        out.append(WireByte.sp)
        IMAPString.nstringNoLF(p.contentID, into: &out)
        out.append(WireByte.sp)
        IMAPString.nstringNoLF(p.contentDescription, into: &out)
        out.append(WireByte.sp)
        if let cte = p.rawTransferEncoding { IMAPString.string(cte, into: &out) } else { out.append(contentsOf: Array("\"7bit\"".utf8)) }
        out.append(WireByte.sp)
        out.append(contentsOf: Array(String(p.size).utf8))
        if text {
            out.append(WireByte.sp)
            out.append(contentsOf: Array(String(p.lines).utf8))
        } else if p.isEncapsulatedMessage, let emb = p.children.first {
            out.append(contentsOf: [WireByte.sp, 40])
            (p.encapsulatedEnvelope ?? Envelope()).writeIMAP(into: &out)
            out.append(contentsOf: [41, WireByte.sp])
            writeBody(emb, extended: extended, into: &out)
            out.append(WireByte.sp)
            out.append(contentsOf: Array(String(p.lines).utf8))
        }
        if !extended { return }
        out.append(WireByte.sp)
        IMAPString.nstringNoLF(p.contentMD5, into: &out)
        writeCommonExtension(p, into: &out)
    }

    static func writeParams(_ params: [BodyNode.Parameter], defaultCharset: Bool, into out: inout [UInt8]) {
        if !defaultCharset && params.isEmpty { out.append(contentsOf: IMAPString.nilBytes); return }
        out.append(40)
        var seenCharset = false
        for (i, p) in params.enumerated() {
            if i > 0 { out.append(WireByte.sp) }
            if p.name.lowercased() == "charset" { seenCharset = true }
            IMAPString.string(p.name, into: &out)
            out.append(WireByte.sp)
            IMAPString.string(p.value, into: &out)
        }
        if defaultCharset && !seenCharset {
            if !params.isEmpty { out.append(WireByte.sp) }
            out.append(contentsOf: Array("\"charset\" \"us-ascii\"".utf8))
        }
        out.append(41)
    }

    static func writeCommonExtension(_ p: BodyNode, into out: inout [UInt8]) {
        out.append(WireByte.sp)
        if let d = p.disposition {
            out.append(40)
            IMAPString.string(d, into: &out)
            out.append(WireByte.sp)
            writeParams(p.dispositionParameters, defaultCharset: false, into: &out)
            out.append(41)
        } else { out.append(contentsOf: IMAPString.nilBytes) }
        out.append(WireByte.sp)
        if let langs = p.languages, !langs.isEmpty {
            out.append(40)
            for (i, l) in langs.enumerated() { if i > 0 { out.append(WireByte.sp) }; IMAPString.string(l, into: &out) }
            out.append(41)
        } else { out.append(contentsOf: IMAPString.nilBytes) }
        out.append(WireByte.sp)
        IMAPString.nstringNoLF(p.location, into: &out)
    }
}

extension Envelope {
    /// The ENVELOPE list body (without the outer parentheses).
    func writeIMAP(into out: inout [UInt8]) {
        let sp = WireByte.sp
        IMAPString.nstringNoLF(rawDate, into: &out)
        out.append(sp)
        if let rawSubject { IMAPString.forHumans(rawSubject, into: &out) } else { out.append(contentsOf: IMAPString.nilBytes) }
        out.append(sp)
        Self.writeAddresses(from, into: &out); out.append(sp)
        Self.writeAddresses(nonEmpty(sender) ?? from, into: &out); out.append(sp)
        Self.writeAddresses(nonEmpty(replyTo) ?? from, into: &out); out.append(sp)
        Self.writeAddresses(to, into: &out); out.append(sp)
        Self.writeAddresses(cc, into: &out); out.append(sp)
        Self.writeAddresses(bcc, into: &out); out.append(sp)
        IMAPString.nstringNoLF(rawInReplyTo, into: &out); out.append(sp)
        IMAPString.nstringNoLF(rawMessageID, into: &out)
    }

    private func nonEmpty(_ a: [EnvelopeAddress]?) -> [EnvelopeAddress]? {
        guard let a, !a.isEmpty else { return nil }
        return a
    }

    static func writeAddresses(_ list: [EnvelopeAddress]?, into out: inout [UInt8]) {
        guard let list, !list.isEmpty else { out.append(contentsOf: IMAPString.nilBytes); return }
        out.append(WireByte.open)
        for a in list {
            out.append(WireByte.open)
            if let n = a.rawName { IMAPString.forHumans(n, into: &out) } else { out.append(contentsOf: IMAPString.nilBytes) }
            out.append(WireByte.sp)
            IMAPString.nstring(a.route.map { Array($0.utf8) }, into: &out)
            out.append(WireByte.sp)
            IMAPString.nstring(a.mailbox, into: &out)
            out.append(WireByte.sp)
            IMAPString.nstring(a.host, into: &out)
            out.append(WireByte.close)
        }
        out.append(WireByte.close)
    }
}

extension MIMEMessage {
    /// The ENVELOPE value as sent on the wire, with its parentheses: `(date subject from …)`.
    /// Literal lengths count bytes: when a header holds invalid UTF-8 the String form cannot carry
    /// those bytes, so the IMAP server writes the bytes form to the wire.
    public func imapEnvelope() -> String { String(decoding: imapEnvelopeBytes(), as: UTF8.self) }
    public func imapEnvelopeBytes() -> [UInt8] { MessageStructure.imapEnvelopeBytes(envelope) }

    /// BODY (`extended == false`) or BODYSTRUCTURE value as sent on the wire, with its parentheses,
    /// encoded from the same stored value FETCH uses (`structure`).
    public func imapBodyStructure(extended: Bool) -> String {
        String(decoding: imapBodyStructureBytes(extended: extended), as: UTF8.self)
    }
    public func imapBodyStructureBytes(extended: Bool) -> [UInt8] { structure.imapBodyStructureBytes(extended: extended) }
}
