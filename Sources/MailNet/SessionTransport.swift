import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// What a protocol session needs from its connection: write bytes, upgrade to TLS. The listener
/// provides one over a channel (`ChannelSessionTransport`); tests provide one in memory.
public protocol SessionTransport: Sendable {
    func write(_ buffer: ByteBuffer) async throws
    /// Whether STARTTLS / STLS can be offered on this connection (plaintext, TLS configured).
    var canStartTLS: Bool { get }
    /// Starts TLS unless the client sent anything after its STARTTLS command (RFC 3207 §4.2 class
    /// of attack): `framesConsumed` is how many frames the session has taken so far (STARTTLS being
    /// the last). In one step it checks that no other byte or frame is pending, writes `reply` in
    /// plaintext and installs TLS, so no byte sent after the reply is read as plaintext.
    /// Returns false (nothing written) when input was pipelined.
    func startTLS(reply: ByteBuffer, framesConsumed: Int) async throws -> Bool
    /// Whether COMPRESS=DEFLATE (RFC 4978) can be offered on this connection.
    var canCompress: Bool { get }
    /// Starts raw deflate in both directions, with the same rules as `startTLS`: `reply` goes out
    /// uncompressed, every byte after it compressed; false (nothing written) when input was pipelined.
    func startCompression(reply: ByteBuffer, framesConsumed: Int) async throws -> Bool
    /// Closes the connection.
    func close() async
}

/// A framing handler that can tell whether input arrived beyond the frames a session consumed.
public protocol FrameCountingHandler: ChannelInboundHandler, SendableMetatype {
    /// Whether anything arrived beyond the `consumed` frames (bytes still buffered or frames passed on).
    func hasInputBeyond(consumed: Int) -> Bool
}

/// A session's connection: the NIOAsyncChannel writer, STARTTLS done in one event-loop step, and
/// the start time of a write in progress (for the write-timeout watchdog).
public final class ChannelSessionTransport<Inbound: Sendable, Framer: FrameCountingHandler>: SessionTransport {
    public let connection: MailConnection<Inbound>
    let tls: NIOSSLContext?
    private let pending = Mutex<ContinuousClock.Instant?>(nil)

    /// `tls` is the context STARTTLS uses (nil on implicit-TLS connections).
    public init(connection: MailConnection<Inbound>, tls: NIOSSLContext?, framer: Framer.Type) {
        self.connection = connection
        self.tls = tls
    }

    /// When the write in progress began (nil when none is).
    public var writePendingSince: ContinuousClock.Instant? { pending.withLock { $0 } }

    public func write(_ buffer: ByteBuffer) async throws {
        pending.withLock { $0 = .now }
        defer { pending.withLock { $0 = nil } }
        try await connection.outbound.write(buffer)
    }

    public var canStartTLS: Bool { tls != nil }

    public func startTLS(reply: ByteBuffer, framesConsumed: Int) async throws -> Bool {
        guard let tls else { return false }
        let channel = connection.channel
        return try await channel.eventLoop.submit {
            let framer = try channel.pipeline.syncOperations.handler(type: Framer.self)
            if framer.hasInputBeyond(consumed: framesConsumed) { return false }
            channel.writeAndFlush(reply, promise: nil)
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
            return true
        }.get()
    }

    public var canCompress: Bool { true }

    public func startCompression(reply: ByteBuffer, framesConsumed: Int) async throws -> Bool {
        let channel = connection.channel
        return try await channel.eventLoop.submit {
            let framer = try channel.pipeline.syncOperations.handler(type: Framer.self)
            if framer.hasInputBeyond(consumed: framesConsumed) { return false }
            channel.writeAndFlush(reply, promise: nil)
            // Between TLS (first, when present) and the framer, so the framer sees inflated bytes.
            try channel.pipeline.syncOperations.addHandler(DeflateHandler(), position: .before(framer))
            return true
        }.get()
    }

    public func close() async {
        connection.outbound.finish()
        try? await connection.channel.close()
    }

    /// Runs a session over this connection: feeds `inbox` with the inbound frames, ticks it every
    /// 30 s, closes the connection when a write stays blocked longer than `writeTimeout` (the
    /// client stopped reading), and turns graceful shutdown into an inbox event.
    public func run(inbox: SessionInbox<Inbound>, writeTimeout: Duration, session: () async -> Void) async {
        let connection = self.connection
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await frame in connection.inbound { await inbox.push(frame: frame) }
                } catch {}
                inbox.pushClosed()
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(30))
                    inbox.pushTick()
                    if let since = self.writePendingSince, ContinuousClock.now - since > writeTimeout {
                        try? await connection.channel.close()
                    }
                }
            }
            await withGracefulShutdownHandler {
                await session()
            } onGracefulShutdown: {
                inbox.pushShutdown()
            }
            group.cancelAll()
        }
    }
}

extension SessionTransport {
    /// Transports without a channel (tests in memory) cannot compress.
    public var canCompress: Bool { false }
    public func startCompression(reply: ByteBuffer, framesConsumed: Int) async throws -> Bool { false }

    /// Writes the replies a session has gathered in `pending` (if any) and empties it.
    public func flush(_ pending: inout [UInt8]) async throws {
        guard !pending.isEmpty else { return }
        let buffer = ByteBuffer(bytes: pending)
        pending.removeAll(keepingCapacity: true)
        try await write(buffer)
    }
}
