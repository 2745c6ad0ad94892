import NIOCore

/// Encodes responses to their exact wire bytes (RFC 3501 §7 and §9), CRLF included. Strings become
/// atoms, quoted strings or literals as their content requires; mailbox names are modified UTF-7.
public enum IMAPResponseEncoder {
    public static func encode(_ response: IMAPResponse, into buffer: inout ByteBuffer) { fatalError("stub") }
    public static func encode(_ response: IMAPResponse) -> ByteBuffer {
        var b = ByteBuffer()
        encode(response, into: &b)
        return b
    }
}

/// Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).
public enum ModifiedUTF7 {
    public static func encode(_ name: String) -> String { fatalError("stub") }
    /// nil when `wire` is not valid modified UTF-7.
    public static func decode(_ wire: String) -> String? { fatalError("stub") }
}

extension FetchAttribute {
    /// The name a FETCH response uses for this item's data: `BODY[HEADER.FIELDS (FROM TO)]`
    /// (no `<partial>`: the origin goes in `FetchResponseItem.section`), `BINARY[1.2]`, `RFC822.HEADER`.
    public var responseName: String { fatalError("stub") }
}
