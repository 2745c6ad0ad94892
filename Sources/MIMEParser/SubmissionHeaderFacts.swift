/// What message submission (RFC 6409 §8) reads in a message's header: the addresses of its
/// `From:` and `Sender:` fields (which the sender must be allowed to use) and whether it has
/// `Date:` and `Message-ID:` (added when missing). Only the header block is parsed, within `limits`.
public struct SubmissionHeaderFacts: Sendable, Hashable {
    /// The addresses of every `From:` and `Sender:` field, in order (a mailbox without a domain
    /// as written, without `@`).
    public var authors: [String]
    public var hasFrom: Bool
    public var hasDate: Bool
    public var hasMessageID: Bool

    public init(_ message: [UInt8], limits: MIMELimits = .default) {
        let header = MIMEMessage.parse(Self.headerBlock(message), limits: limits)
        hasFrom = !header.headerValues("from").isEmpty
        hasDate = !header.headerValues("date").isEmpty
        hasMessageID = !header.headerValues("message-id").isEmpty
        authors = (header.from + header.sender).map { $0.address ?? "" }
    }

    /// The header block up to and including its first line end, then CRLF for the blank line
    /// (the whole message when it has no blank line): the body is never parsed.
    public static func headerBlock(_ message: [UInt8]) -> [UInt8] {
        var i = 0
        while i + 1 < message.count {
            if message[i] == 0x0A && (message[i + 1] == 0x0A || (message[i + 1] == 0x0D && i + 2 < message.count && message[i + 2] == 0x0A)) {
                return Array(message[...i]) + [0x0D, 0x0A]
            }
            i += 1
        }
        return message
    }
}
