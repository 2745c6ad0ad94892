import NIOCore

/// A command that could not be parsed: answer `tag BAD message` (untagged `* BAD` without a tag).
public struct IMAPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var tag: String?
    public var message: String
    public init(tag: String?, message: String) { self.tag = tag; self.message = message }
    public var description: String { message }
}

/// Parses one framed command (RFC 3501 §9 grammar and the announced extensions). Pure.
public enum IMAPCommandParser {
    /// Parses a `.command` frame's bytes.
    public static func parse(_ command: ByteBuffer, limits: IMAPLimits = IMAPLimits()) -> Result<IMAPCommand, IMAPParseError> {
        fatalError("stub")
    }
    /// Parses an `.appendBegin` frame's bytes (`tag APPEND mailbox [flags] [date] {n}`).
    public static func parseAppendHeader(_ prefix: ByteBuffer, literalSize: Int, limits: IMAPLimits = IMAPLimits()) -> Result<AppendHeader, IMAPParseError> {
        fatalError("stub")
    }
    /// The tag at the start of a line, if it is a valid tag (for BAD replies to unparsable lines).
    public static func tag(of line: ByteBuffer) -> String? { fatalError("stub") }
}
