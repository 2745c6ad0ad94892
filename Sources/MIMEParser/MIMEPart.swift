/// A decoded Content-Type / Content-Disposition parameter.
public struct MIMEParameter: Sendable, Hashable {
    /// Lower-cased name, RFC 2231 continuations merged and the "*" suffix removed.
    public var name: String
    /// Unicode value (RFC 2231 charset / RFC 2047 decoded).
    public var value: String
}

/// One MIME entity (a header block and its body) of a message, as ranges into `MIMEMessage.bytes`.
public struct MIMEPart: Sendable {
    /// IMAP part number ([] = the whole message). The body of a non-multipart message is IMAP part
    /// "1" and is this root part; an encapsulated message's root has the number of its message part
    /// when it is multipart, and that number + [1] otherwise (RFC 3501 §6.4.5).
    public var partNumber: [Int]
    /// Lower-cased media type and subtype ("text"/"plain" when absent or invalid).
    public var contentType: String
    public var subtype: String
    /// Decoded parameters in header order.
    public var parameters: [MIMEParameter]
    /// The header block of this entity including its blank line (for BODY[n.MIME]).
    public var headerRange: Range<Int>
    /// The encoded body bytes (what the store de-duplicates; re-assembly is byte-exact).
    public var bodyRange: Range<Int>
    /// Lower-cased Content-Transfer-Encoding token, nil when absent.
    public var transferEncoding: String?
    /// Lower-cased disposition type ("attachment", "inline"), nil when absent.
    public var disposition: String?
    public var dispositionParameters: [MIMEParameter]
    /// True for a disposition of attachment, a part with a file name, or a non-text leaf.
    public var isAttachment: Bool
    /// Decoded file name (Content-Disposition filename, else Content-Type name).
    public var filename: String?
    public var contentID: String?
    public var contentDescription: String?
    public var contentMD5: String?
    public var contentLocation: String?
    public var contentLanguage: [String]
    /// Multipart children, or for message/rfc822 and message/global the encapsulated message's
    /// root entity as the only child.
    public var children: [MIMEPart]
    /// True for message/rfc822 and message/global parts whose content was parsed as a message.
    public var isEncapsulatedMessage: Bool
    /// The header fields of this entity.
    public var headerFields: [HeaderField]

    // IMAP-facing raw values (as Dovecot sends them)
    var hasContentType: Bool
    var rawType: String?
    var rawSubtype: String?
    var rawParameters: [RawParameter]
    var rawTransferEncoding: String?
    var rawDisposition: String?
    var rawDispositionParameters: [RawParameter]
    var rawContentID: [UInt8]?
    var rawDescription: [UInt8]?
    var rawMD5: [UInt8]?
    var rawLocation: [UInt8]?
    var rawLanguages: [String]?

    /// True when the entity was parsed as a multipart (a multipart type with a boundary).
    public var isMultipart: Bool { isMultipartContainer }
    var isMultipartContainer: Bool

    /// The encapsulated message's root entity, for message/rfc822 and message/global.
    public var encapsulated: MIMEPart? { isEncapsulatedMessage ? children.first : nil }

    /// A parameter value by (lower-case) name.
    public func parameter(_ name: String) -> String? {
        parameters.first { $0.name == name.lowercased() }?.value
    }

    init(partNumber: [Int], headerRange: Range<Int>, bodyRange: Range<Int>, headerFields: [HeaderField]) {
        self.partNumber = partNumber
        self.contentType = "text"; self.subtype = "plain"
        self.parameters = []
        self.headerRange = headerRange; self.bodyRange = bodyRange
        self.transferEncoding = nil
        self.disposition = nil; self.dispositionParameters = []
        self.isAttachment = false; self.filename = nil
        self.contentID = nil; self.contentDescription = nil; self.contentMD5 = nil; self.contentLocation = nil
        self.contentLanguage = []
        self.children = []
        self.isEncapsulatedMessage = false
        self.headerFields = headerFields
        self.hasContentType = false
        self.rawType = nil; self.rawSubtype = nil; self.rawParameters = []
        self.rawTransferEncoding = nil; self.rawDisposition = nil; self.rawDispositionParameters = []
        self.rawContentID = nil; self.rawDescription = nil; self.rawMD5 = nil; self.rawLocation = nil
        self.rawLanguages = nil
        self.isMultipartContainer = false
    }

    /// All leaf parts below and including this one, in document order (encapsulated messages are
    /// descended into).
    func collectLeaves(into out: inout [MIMEPart]) {
        if children.isEmpty { out.append(self); return }
        for c in children { c.collectLeaves(into: &out) }
    }
}
