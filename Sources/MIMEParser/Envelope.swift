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
}
