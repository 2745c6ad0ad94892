/// Every limit of an SMTP session, in one place.
public struct SMTPLimits: Sendable, Hashable {
    /// A command line (RFC 5321 §4.5.3.1.4 says 512 octets; extensions add parameters, so more is
    /// accepted). A longer line is refused with 500 and skipped without being buffered.
    public var maxCommandLineLength = 2048
    /// The largest message accepted (advertised as SIZE), counted as received.
    public var maxMessageSize = 50 * 1024 * 1024
    /// Recipients per transaction (RFC 5321 §4.5.3.1.8 requires at least 100).
    public var maxRecipients = 100
    /// The largest single BDAT chunk accepted (a chunk is held in memory until it is complete).
    public var maxChunkSize = 50 * 1024 * 1024
    /// Commands that change nothing (NOOP, RSET, VRFY, HELP, unknown and malformed ones) allowed in
    /// one session before it is closed (a client that only wastes the connection).
    public var maxIdleCommands = 100
    /// Pieces of message content are handed to the session in pieces of at most this size.
    public var dataPieceSize = 64 * 1024

    public init() {}
}
