import MIMEParser

/// A FETCH data item (RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ). The macros ALL, FAST
/// and FULL are expanded by the parser.
public enum FetchAttribute: Sendable, Hashable {
    case envelope
    case flags
    case internalDate
    case rfc822Size
    case uid
    /// `BODY` (non-extensible BODYSTRUCTURE).
    case body
    case bodyStructure
    /// `RFC822` (= BODY[], sets \Seen), `RFC822.HEADER` (= BODY.PEEK[HEADER]), `RFC822.TEXT` (= BODY[TEXT], sets \Seen).
    case rfc822, rfc822Header, rfc822Text
    /// `BODY[section]<partial>` / `BODY.PEEK[...]`.
    case bodySection(section: IMAPSection, partial: Partial?, peek: Bool)
    /// `BINARY[part]<partial>` / `BINARY.PEEK[...]` (RFC 3516): decoded content of a leaf part.
    case binary(part: [Int], partial: Partial?, peek: Bool)
    case binarySize(part: [Int])
    case modSeq
    /// RFC 8514 `SAVEDATE`.
    case saveDate
    /// RFC 8474 `EMAILID` and `THREADID`.
    case emailID, threadID
    /// RFC 8970 `PREVIEW` / `PREVIEW (LAZY)`.
    case preview(lazy: Bool)

    /// `<offset.length>`.
    public struct Partial: Sendable, Hashable {
        public var offset: Int
        public var length: Int
        public init(offset: Int, length: Int) { self.offset = offset; self.length = length }
    }

    /// Whether fetching this item sets \Seen (RFC 3501: BODY[…] and RFC822/RFC822.TEXT do).
    public var setsSeen: Bool {
        switch self {
        case .rfc822, .rfc822Text: true
        case .bodySection(_, _, let peek), .binary(_, _, let peek): !peek
        default: false
        }
    }
}
