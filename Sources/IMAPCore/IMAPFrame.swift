import NIOCore

/// What the literal-aware framer (`IMAPFramer`) hands on: whole commands (small literals inline),
/// or an APPEND message streamed in chunks so that a large literal is never held by the framer.
public enum IMAPFrame: Sendable, Hashable {
    /// A complete command without its final CRLF; literals inline as `{n}\r\n<n bytes>` exactly as sent
    /// (the parser reads them). Also a bare line while the session waits for one (IDLE's `DONE`, a
    /// SASL response): the session decides what the line means.
    case command(ByteBuffer)
    /// The framer accepted a synchronizing literal `{n}`: the channel handler must send
    /// `+ Ready for literal data\r\n` now (the framer itself writes nothing).
    case continuationRequest
    /// Text of an APPEND command up to and including the message literal's `{n}` / `{n+}` / `~{n}`
    /// marker (no CRLF), and the literal's size; parse it with `IMAPCommandParser.parseAppendHeader`.
    case appendBegin(ByteBuffer, literalSize: Int)
    /// Next bytes of the APPEND message literal (at most `IMAPLimits.appendChunkSize`).
    case appendChunk(ByteBuffer)
    /// MULTIAPPEND (RFC 3502): the text after a message literal announces the next message,
    /// `SP [flags SP] [date-time SP] {n}` (no CRLF; parse it with `IMAPCommandParser.parseAppendNext`),
    /// and the literal's size; its `.appendChunk`s follow (after `.continuationRequest` for `{n}`).
    /// The framer checks the size against `maxAppendSize` and the command's total against
    /// `maxMultiAppendSize` and `maxMultiAppendMessages` (else `.tooLarge`, isAppend).
    case appendNext(ByteBuffer, literalSize: Int)
    /// The rest of the APPEND command after the last literal, up to its CRLF (normally empty).
    case appendEnd(ByteBuffer)
    /// A literal over its limit (`maxAppendSize` for APPEND, `maxInlineLiteral` otherwise) or a command
    /// over `maxCommandSize`. For `{n}` no continuation was sent and the command is dropped; for `{n+}`
    /// the framer has skipped the literal's bytes and the rest of the command line (a `{n+}` over
    /// `maxSkippedLiteral` is not skipped: `next()` throws, `isTooBig`, and the connection closes). The session
    /// answers `tag NO [TOOBIG]` (APPEND) or `tag BAD`.
    case tooLarge(tag: String?, literalSize: Int, isAppend: Bool)
    /// A line over `maxLineLength`: the framer skipped to the next CRLF. Answer `tag BAD` (or untagged).
    case lineTooLong(tag: String?)
}

public struct IMAPFramingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    /// A non-synchronizing literal too large to skip: the closing BYE says `[TOOBIG]`.
    public var isTooBig = false
    public init(_ description: String) { self.description = description }

    static func tooBig(_ size: Int) -> IMAPFramingError {
        var error = IMAPFramingError("literal of \(size) bytes is too large")
        error.isTooBig = true
        return error
    }
}
