import IMAPCore
import Logging
import MailNet
import MailStore
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// The IMAP listeners: `imap` (STARTTLS) and `imaps` (implicit TLS), over MailNet's listener.
public struct IMAPServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String = "127.0.0.1"
        /// nil disables the listener.
        public var imapPort: Int? = 143
        public var imapsPort: Int? = 993
        public var maxConnections: Int = 10_000
        public var maxConnectionsPerIP: Int = 50
        public var maxSessionsPerMailbox: Int = 100
        /// A write that cannot complete this long (the client stopped reading) ends the connection.
        public var writeTimeout: Duration = .seconds(300)
        public var session = IMAPSessionConfiguration()
        public init() {}
    }

    public let configuration: Configuration
    let tls: NIOSSLContext
    let mailboxes: any MailboxService
    let authGate: (any IMAPAuthGate)?
    let sessionLimiter: SessionLimiter
    let logger: Logger

    public init(configuration: Configuration, tls: NIOSSLContext, mailboxes: any MailboxService,
                authGate: (any IMAPAuthGate)?, logger: Logger) {
        self.configuration = configuration; self.tls = tls; self.mailboxes = mailboxes
        self.authGate = authGate; self.logger = logger
        self.sessionLimiter = SessionLimiter(maxPerMailbox: configuration.maxSessionsPerMailbox)
    }

    /// One Service per enabled listener; `onBound(name, address)` reports each bound address.
    public func services(onBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in }) -> [any Service] {
        var result: [any Service] = []
        for (name, port, implicit) in [("imap", configuration.imapPort, false), ("imaps", configuration.imapsPort, true)] {
            guard let port else { continue }
            var refusal = ByteBuffer()
            IMAPResponseEncoder.encode(.untagged(.condition(status: .bye, code: .unavailable, text: "Too many connections")), into: &refusal)
            let listenerConfiguration = MailListener<IMAPFrame>.Configuration(
                name: name, host: configuration.host, port: port, implicitTLS: implicit ? tls : nil,
                maxConnections: configuration.maxConnections, maxConnectionsPerIP: configuration.maxConnectionsPerIP,
                refusal: refusal)
            let limits = configuration.session.limits
            let server = self
            result.append(MailListener<IMAPFrame>(
                configuration: listenerConfiguration, logger: logger,
                onBound: { address in onBound(name, address) },
                childChannelInitializer: { channel in
                    try channel.pipeline.syncOperations.addHandler(IMAPFrameHandler(limits: limits))
                },
                handler: { connection in
                    await server.serve(connection, implicitTLS: implicit)
                }))
        }
        return result
    }

    func serve(_ connection: MailConnection<IMAPFrame>, implicitTLS: Bool) async {
        let inbox = SessionInbox()
        let transport = ChannelIMAPTransport(connection: connection, tls: implicitTLS ? nil : tls)
        let writeTimeout = configuration.writeTimeout
        var logger = self.logger
        logger[metadataKey: "imap.session.id"] = "\(connection.id)"
        let ip = connection.remoteAddress?.ipAddress ?? "unknown"
        let session = IMAPSession(configuration: configuration.session, transport: transport, mailboxes: mailboxes,
                                  authGate: authGate, remoteIP: ip, isTLS: implicitTLS, inbox: inbox,
                                  sessionLimiter: sessionLimiter, logger: logger)
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
                    // A client that stops reading blocks our writes (back-pressure); give up on it.
                    if let since = transport.writePendingSince, ContinuousClock.now - since > writeTimeout {
                        try? await connection.channel.close()
                    }
                }
            }
            await withGracefulShutdownHandler {
                await session.run()
            } onGracefulShutdown: {
                inbox.pushShutdown()
            }
            group.cancelAll()
        }
    }
}

/// A session's connection: the NIOAsyncChannel writer, and STARTTLS done in one event-loop step.
final class ChannelIMAPTransport: IMAPTransport {
    let connection: MailConnection<IMAPFrame>
    let tls: NIOSSLContext?
    private let pending = Mutex<ContinuousClock.Instant?>(nil)

    init(connection: MailConnection<IMAPFrame>, tls: NIOSSLContext?) {
        self.connection = connection
        self.tls = tls
    }

    /// When the write in progress began (nil when none is).
    var writePendingSince: ContinuousClock.Instant? { pending.withLock { $0 } }

    func write(_ buffer: ByteBuffer) async throws {
        pending.withLock { $0 = .now }
        defer { pending.withLock { $0 = nil } }
        try await connection.outbound.write(buffer)
    }

    var canStartTLS: Bool { tls != nil }

    func startTLS(reply: ByteBuffer, framesConsumed: Int) async throws -> Bool {
        guard let tls else { return false }
        let channel = connection.channel
        return try await channel.eventLoop.submit {
            let framer = try channel.pipeline.syncOperations.handler(type: IMAPFrameHandler.self)
            if framer.hasInputBeyond(consumed: framesConsumed) { return false }
            channel.writeAndFlush(reply, promise: nil)
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
            return true
        }.get()
    }

    func close() async {
        connection.outbound.finish()
        try? await connection.channel.close()
    }
}
