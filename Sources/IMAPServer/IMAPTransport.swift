import NIOCore

/// What a session needs from its connection: write bytes, upgrade to TLS. The NIO listener provides
/// one over a channel; tests provide one in memory.
public protocol IMAPTransport: Sendable {
    func write(_ buffer: ByteBuffer) async throws
    /// Whether STARTTLS can be offered on this connection (plaintext, TLS configured).
    var canStartTLS: Bool { get }
    /// Starts TLS unless the client sent anything after its STARTTLS command (RFC 3207 §4.2 class
    /// of attack): `framesConsumed` is how many frames the session has taken so far (STARTTLS being
    /// the last). In one step it checks that no other byte or frame is pending, writes `reply` in
    /// plaintext and installs TLS, so no byte sent after the reply is read as plaintext.
    /// Returns false (nothing written) when input was pipelined.
    func startTLS(reply: ByteBuffer, framesConsumed: Int) async throws -> Bool
    /// Closes the connection.
    func close() async
}

/// Failed-login throttling as the session sees it (MailNet's AuthThrottle in the server).
public protocol IMAPAuthGate: Sendable {
    /// nil when the attempt may go ahead; otherwise how long until it may.
    func refusal(ip: String, account: String) async -> Duration?
    /// Records a failure; returns how long after the attempt began the answer should go out.
    func failed(ip: String, account: String) async -> Duration
    func succeeded(ip: String, account: String) async
}
