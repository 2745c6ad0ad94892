import MailNet
import NIOCore
import Synchronization

/// The in-memory connection of a protocol-session test: what the session wrote, whether it
/// closed, and a STARTTLS that succeeds unless input was pipelined (no real TLS: the session's
/// logic is what is tested). Shared by the POP3 and ManageSieve session tests.
public final class MemorySessionTransport: SessionTransport {
    private let state = Mutex<(output: [UInt8], closed: Bool, tlsStarted: Bool)>(([], false, false))
    /// Frames the client has framed so far (what the real frame handler counts).
    public let framesSent = Mutex(0)
    public let tlsAvailable: Bool

    public init(tlsAvailable: Bool) { self.tlsAvailable = tlsAvailable }

    public func write(_ buffer: ByteBuffer) async throws {
        state.withLock { $0.output.append(contentsOf: buffer.readableBytesView) }
    }
    public var canStartTLS: Bool { tlsAvailable }
    public func startTLS(reply: ByteBuffer, framesConsumed: Int) async throws -> Bool {
        guard framesSent.withLock({ $0 }) == framesConsumed else { return false }
        state.withLock { $0.output.append(contentsOf: reply.readableBytesView); $0.tlsStarted = true }
        return true
    }
    public func close() async { state.withLock { $0.closed = true } }
    public var output: [UInt8] { state.withLock { $0.output } }
    public var closed: Bool { state.withLock { $0.closed } }
    public var tlsStarted: Bool { state.withLock { $0.tlsStarted } }
}
