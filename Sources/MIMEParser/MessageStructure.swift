/// What FETCH needs of a message's structure, computed once when the message is stored and kept
/// with it (inside the encrypted mailbox): the top-level ENVELOPE facts and a tree of body parts
/// with their raw MIME fields, sizes, line counts and byte ranges. ENVELOPE, BODY and
/// BODYSTRUCTURE are encoded from it without reading or parsing the message again.
public struct MessageStructure: Sendable, Hashable {
    /// Bumped whenever the parser's answers change: stored structures of another version are
    /// recomputed from the message (lazily, the next time they are read).
    /// 2: a type without a subtype is kept, an empty parameter value (`charset=`) is kept, an
    /// encoded message/rfc822 is parsed as a message.
    public static let version: UInt8 = 2

    public var envelope: Envelope
    public var root: BodyNode

    public init(envelope: Envelope, root: BodyNode) { self.envelope = envelope; self.root = root }
}

/// One MIME entity as BODYSTRUCTURE describes it (raw values, as Dovecot sends them).
public struct BodyNode: Sendable, Hashable {
    /// A multipart (with a boundary): `children` are its parts (none: an empty multipart).
    public var isMultipart: Bool
    /// message/rfc822 or message/global parsed as a message: `children` is its root entity,
    /// `encapsulatedEnvelope` its envelope.
    public var isEncapsulatedMessage: Bool
    /// message/global rather than message/rfc822.
    public var isGlobal: Bool
    public var rawType: String?
    public var rawSubtype: String?
    public var parameters: [Parameter]
    public var contentID: [UInt8]?
    public var contentDescription: [UInt8]?
    public var rawTransferEncoding: String?
    /// Lower-cased transfer encoding, nil when absent (what BINARY decodes by).
    public var transferEncoding: String?
    public var contentMD5: [UInt8]?
    public var disposition: String?
    public var dispositionParameters: [Parameter]
    public var languages: [String]?
    public var location: [UInt8]?
    /// Body size with every line end counted as CRLF, and its number of lines.
    public var size: Int
    public var lines: Int
    /// This entity's header and body as byte ranges of the message (for BODY[n], BODY[n.MIME]).
    public var headerRange: Range<Int>
    public var bodyRange: Range<Int>
    public var encapsulatedEnvelope: Envelope?
    public var children: [BodyNode]

    public struct Parameter: Sendable, Hashable {
        public var name: String
        public var value: [UInt8]
        public init(name: String, value: [UInt8]) { self.name = name; self.value = value }
    }
}

extension MIMEMessage {
    /// The structure FETCH answers from (see `MessageStructure`).
    public var structure: MessageStructure { MessageStructure(envelope: envelope, root: node(root)) }

    func node(_ p: MIMEPart) -> BodyNode {
        BodyNode(
            isMultipart: p.isMultipartContainer, isEncapsulatedMessage: p.isEncapsulatedMessage, isGlobal: p.subtype == "global",
            rawType: p.rawType, rawSubtype: p.rawSubtype,
            parameters: p.rawParameters.map { BodyNode.Parameter(name: $0.name, value: $0.value) },
            contentID: p.rawContentID, contentDescription: p.rawDescription, rawTransferEncoding: p.rawTransferEncoding,
            transferEncoding: p.transferEncoding, contentMD5: p.rawMD5, disposition: p.rawDisposition,
            dispositionParameters: p.rawDispositionParameters.map { BodyNode.Parameter(name: $0.name, value: $0.value) },
            languages: p.rawLanguages, location: p.rawLocation,
            size: virtualSize(p.bodyRange), lines: lineCount(p.bodyRange),
            headerRange: p.headerRange, bodyRange: p.bodyRange,
            encapsulatedEnvelope: p.isEncapsulatedMessage ? p.children.first.map { Envelope(fields: $0.headerFields, bytes: bytes, limits: limits) } : nil,
            children: p.children.map(node))
    }
}
