/// The IMAP wire forms of a stored structure (RFC 3501 §7.4.2 ENVELOPE, BODY, BODYSTRUCTURE),
/// byte-compatible with Dovecot's answers.
extension MessageStructure {
    public static func imapEnvelopeBytes(_ envelope: Envelope) -> [UInt8] {
        var out: [UInt8] = [40]
        envelope.write(into: &out)
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
            out.append(SP)
            IMAPString.string(p.rawSubtype ?? "", into: &out)
            if !extended { return }
            out.append(SP)
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
            out.append(SP)
            IMAPString.string(p.rawSubtype ?? "", into: &out)
        } else {
            text = true
            out.append(contentsOf: Array("\"text\" \"plain\"".utf8))
        }
        out.append(SP)
        writeParams(p.parameters, defaultCharset: text, into: &out)
        out.append(SP)
        IMAPString.nstringNoLF(p.contentID, into: &out)
        out.append(SP)
        IMAPString.nstringNoLF(p.contentDescription, into: &out)
        out.append(SP)
        if let cte = p.rawTransferEncoding { IMAPString.string(cte, into: &out) } else { out.append(contentsOf: Array("\"7bit\"".utf8)) }
        out.append(SP)
        out.append(contentsOf: Array(String(p.size).utf8))
        if text {
            out.append(SP)
            out.append(contentsOf: Array(String(p.lines).utf8))
        } else if p.isEncapsulatedMessage, let emb = p.children.first {
            out.append(contentsOf: [SP, 40])
            (p.encapsulatedEnvelope ?? Envelope()).write(into: &out)
            out.append(contentsOf: [41, SP])
            writeBody(emb, extended: extended, into: &out)
            out.append(SP)
            out.append(contentsOf: Array(String(p.lines).utf8))
        }
        if !extended { return }
        out.append(SP)
        IMAPString.nstringNoLF(p.contentMD5, into: &out)
        writeCommonExtension(p, into: &out)
    }

    static func writeParams(_ params: [BodyNode.Parameter], defaultCharset: Bool, into out: inout [UInt8]) {
        if !defaultCharset && params.isEmpty { out.append(contentsOf: IMAPString.nilBytes); return }
        out.append(40)
        var seenCharset = false
        for (i, p) in params.enumerated() {
            if i > 0 { out.append(SP) }
            if p.name.lowercased() == "charset" { seenCharset = true }
            IMAPString.string(p.name, into: &out)
            out.append(SP)
            IMAPString.string(p.value, into: &out)
        }
        if defaultCharset && !seenCharset {
            if !params.isEmpty { out.append(SP) }
            out.append(contentsOf: Array("\"charset\" \"us-ascii\"".utf8))
        }
        out.append(41)
    }

    static func writeCommonExtension(_ p: BodyNode, into out: inout [UInt8]) {
        out.append(SP)
        if let d = p.disposition {
            out.append(40)
            IMAPString.string(d, into: &out)
            out.append(SP)
            writeParams(p.dispositionParameters, defaultCharset: false, into: &out)
            out.append(41)
        } else { out.append(contentsOf: IMAPString.nilBytes) }
        out.append(SP)
        if let langs = p.languages, !langs.isEmpty {
            out.append(40)
            for (i, l) in langs.enumerated() { if i > 0 { out.append(SP) }; IMAPString.string(l, into: &out) }
            out.append(41)
        } else { out.append(contentsOf: IMAPString.nilBytes) }
        out.append(SP)
        IMAPString.nstringNoLF(p.location, into: &out)
    }
}
