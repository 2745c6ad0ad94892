/// The IMAP ENVELOPE facts of a message (RFC 3501 §7.4.2), raw as IMAP sends them.
public struct Envelope: Sendable, Hashable {
    /// Raw Date: value (unfolded), nil when absent.
    public var date: String? { rawDate.map { String(decoding: $0.filter { $0 != CR && $0 != LF }, as: UTF8.self) } }
    /// Raw Subject: value (unfolded, encoded-words kept), as IMAP sends it.
    public var subject: String? { rawSubject.map { String(decoding: $0.filter { $0 != CR && $0 != LF }, as: UTF8.self) } }
    /// Raw In-Reply-To: value (unfolded).
    public var inReplyTo: String? { rawInReplyTo.map { String(decoding: $0.filter { $0 != CR && $0 != LF }, as: UTF8.self) } }
    /// Raw Message-ID: value (unfolded), with its angle brackets.
    public var messageID: String? { rawMessageID.map { String(decoding: $0.filter { $0 != CR && $0 != LF }, as: UTF8.self) } }
    /// The header bytes as they are (folding included), for the wire form.
    public var rawDate: [UInt8]?
    public var rawSubject: [UInt8]?
    public var rawInReplyTo: [UInt8]?
    public var rawMessageID: [UInt8]?
    public var from: [EnvelopeAddress]?
    public var sender: [EnvelopeAddress]?
    public var replyTo: [EnvelopeAddress]?
    public var to: [EnvelopeAddress]?
    public var cc: [EnvelopeAddress]?
    public var bcc: [EnvelopeAddress]?

    public init() {}

    /// Builds the envelope from a header block (the last Date/Subject/ID wins; address fields that
    /// occur twice are concatenated, as Dovecot does).
    init(fields: [HeaderField], bytes b: [UInt8], limits: MIMELimits) {
        for f in fields {
            let name = b[f.nameRange]
            let raw = Array(b[f.valueRange])
            func addrs() -> [EnvelopeAddress] { AddressParser.parse(unfold(raw[...]), limits: limits) }
            switch name.count {
            case 4 where equalsLowercase(name, "date"): rawDate = raw
            case 7 where equalsLowercase(name, "subject"): rawSubject = raw
            case 10 where equalsLowercase(name, "message-id"): rawMessageID = raw
            case 11 where equalsLowercase(name, "in-reply-to"): rawInReplyTo = raw
            case 4 where equalsLowercase(name, "from"): from = (from ?? []) + addrs()
            case 6 where equalsLowercase(name, "sender"): sender = (sender ?? []) + addrs()
            case 8 where equalsLowercase(name, "reply-to"): replyTo = (replyTo ?? []) + addrs()
            case 2 where equalsLowercase(name, "to"): to = (to ?? []) + addrs()
            case 2 where equalsLowercase(name, "cc"): cc = (cc ?? []) + addrs()
            case 3 where equalsLowercase(name, "bcc"): bcc = (bcc ?? []) + addrs()
            default: break
            }
        }
    }

    /// The ENVELOPE list body (without the outer parentheses).
    func write(into out: inout [UInt8]) {
        IMAPString.nstringNoLF(rawDate, into: &out)
        out.append(SP)
        if let rawSubject { IMAPString.forHumans(rawSubject, into: &out) } else { out.append(contentsOf: IMAPString.nilBytes) }
        out.append(SP)
        Envelope.writeAddresses(from, into: &out); out.append(SP)
        Envelope.writeAddresses(nonEmpty(sender) ?? from, into: &out); out.append(SP)
        Envelope.writeAddresses(nonEmpty(replyTo) ?? from, into: &out); out.append(SP)
        Envelope.writeAddresses(to, into: &out); out.append(SP)
        Envelope.writeAddresses(cc, into: &out); out.append(SP)
        Envelope.writeAddresses(bcc, into: &out); out.append(SP)
        IMAPString.nstringNoLF(rawInReplyTo, into: &out); out.append(SP)
        IMAPString.nstringNoLF(rawMessageID, into: &out)
    }

    func nonEmpty(_ a: [EnvelopeAddress]?) -> [EnvelopeAddress]? {
        guard let a, !a.isEmpty else { return nil }
        return a
    }

    static func writeAddresses(_ list: [EnvelopeAddress]?, into out: inout [UInt8]) {
        guard let list, !list.isEmpty else { out.append(contentsOf: IMAPString.nilBytes); return }
        out.append(40)
        for a in list {
            out.append(40)
            if let n = a.rawName { IMAPString.forHumans(n, into: &out) } else { out.append(contentsOf: IMAPString.nilBytes) }
            out.append(SP)
            IMAPString.nstring(a.route.map { Array($0.utf8) }, into: &out)
            out.append(SP)
            IMAPString.nstring(a.mailbox, into: &out)
            out.append(SP)
            IMAPString.nstring(a.host, into: &out)
            out.append(41)
        }
        out.append(41)
    }
}
