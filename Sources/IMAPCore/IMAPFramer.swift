import NIOCore

/// Literal-aware framing of the client's byte stream (RFC 3501 §4.3, RFC 7888 `{n+}`, RFC 3516 `~{n}`).
/// Pure: bytes in, `IMAPFrame`s out. Never holds more than one line plus `maxCommandSize`; an APPEND
/// message literal is handed on in chunks as it arrives.
public struct IMAPFramer: Sendable {
    public let limits: IMAPLimits
    public init(limits: IMAPLimits = IMAPLimits()) {
        self.limits = limits
        fatalError("IMAPFramer: implemented by the codec work")
    }
    /// Adds received bytes.
    public mutating func append(_ bytes: inout ByteBuffer) { fatalError("stub") }
    /// The next frame, or nil when more bytes are needed. Throws only when the stream cannot be
    /// resynchronised (the connection should then be closed).
    public mutating func next() throws(IMAPFramingError) -> IMAPFrame? { fatalError("stub") }
    /// Bytes received but not yet handed on (STARTTLS: anything here was pipelined in plaintext).
    public var bufferedByteCount: Int { fatalError("stub") }
}
