import Logging
import Metrics
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// One accepted connection, as a protocol session sees it.
public struct MailConnection<Inbound: Sendable>: Sendable {
    public let channel: Channel
    public let inbound: NIOAsyncChannelInboundStream<Inbound>
    public let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    public let remoteAddress: SocketAddress?
    /// Implicit TLS (the listener's TLS port).
    public let isTLS: Bool
    /// Per-process connection number, for logs.
    public let id: UInt64
    /// What the session did, for the line logged when it ends.
    public let meter: SessionMeter

    public init(channel: Channel, inbound: NIOAsyncChannelInboundStream<Inbound>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
                remoteAddress: SocketAddress?, isTLS: Bool, id: UInt64, meter: SessionMeter = SessionMeter()) {
        self.channel = channel; self.inbound = inbound; self.outbound = outbound; self.remoteAddress = remoteAddress
        self.isTLS = isTLS; self.id = id; self.meter = meter
    }
}

/// A TCP listener Service (swift-service-lifecycle): accepts connections, applies connection
/// limits, runs each session as a child task, and on graceful shutdown stops accepting, lets the
/// sessions say goodbye (they see the graceful shutdown themselves) and closes what is left after
/// a grace period.
public struct MailListener<Inbound: Sendable>: Service {
    public struct Configuration: Sendable {
        /// "imap", "imaps", … for logs.
        public var name: String
        /// The protocol of the listener ("imap" for imap and imaps): the metrics' `protocol` label
        /// and the session summary's `session.protocol`.
        public var protocolName: String
        public var host: String
        /// 0 = any free port.
        public var port: Int
        /// TLS from the first byte (imaps, pop3s).
        public var implicitTLS: NIOSSLContext?
        public var maxConnections: Int
        public var maxConnectionsPerIP: Int
        /// Written before closing a refused connection (e.g. `* BYE Too many connections\r\n`).
        public var refusal: ByteBuffer?
        /// How long sessions get after graceful shutdown before their connections are closed.
        public var shutdownGracePeriod: Duration

        public init(name: String, host: String, port: Int, implicitTLS: NIOSSLContext? = nil, maxConnections: Int = 10_000,
                    maxConnectionsPerIP: Int = 50, refusal: ByteBuffer? = nil, shutdownGracePeriod: Duration = .seconds(10)) {
            self.name = name; self.protocolName = name; self.host = host; self.port = port; self.implicitTLS = implicitTLS
            self.maxConnections = maxConnections; self.maxConnectionsPerIP = maxConnectionsPerIP
            self.refusal = refusal; self.shutdownGracePeriod = shutdownGracePeriod
        }
    }

    let configuration: Configuration
    let logger: Logger
    let onBound: @Sendable (SocketAddress) -> Void
    let childChannelInitializer: @Sendable (Channel) throws -> Void
    let handler: @Sendable (MailConnection<Inbound>) async throws -> Void
    let metrics: ListenerMetrics

    public init(configuration: Configuration, logger: Logger,
                onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in },
                childChannelInitializer: @escaping @Sendable (Channel) throws -> Void,
                handler: @escaping @Sendable (MailConnection<Inbound>) async throws -> Void) {
        self.configuration = configuration; self.logger = logger; self.onBound = onBound
        self.childChannelInitializer = childChannelInitializer; self.handler = handler
        metrics = ListenerMetrics(protocolName: configuration.protocolName)
    }

    /// A connection as accepted: its channel and the meter counting its bytes.
    struct Accepted: Sendable {
        let channel: NIOAsyncChannel<Inbound, ByteBuffer>
        let meter: SessionMeter
    }

    public func run() async throws {
        let tls = configuration.implicitTLS
        let initializer = childChannelInitializer
        let server: NIOAsyncChannel<Accepted, Never>
        do {
            server = try await bind(tls: tls, initializer: initializer)
        } catch let error as IOError {
            throw BindFailure(name: configuration.name, host: configuration.host, port: configuration.port, errno: error.errnoCode)
        }
        if let address = server.channel.localAddress { onBound(address) }
        logger.info("listening", metadata: ["net.listener": "\(configuration.name)", "net.address": "\(server.channel.localAddress?.description ?? "?")"])

        let registry = ConnectionRegistry()
        let serverChannel = server.channel
        try await withThrowingDiscardingTaskGroup { group in
            try await withGracefulShutdownHandler {
                try await server.executeThenClose { inbound in
                    for try await accepted in inbound {
                        let child = accepted.channel
                        let remote = child.channel.remoteAddress
                        let ip = remote?.ipAddress ?? "unknown"
                        guard let id = registry.admit(child.channel, ip: ip, max: configuration.maxConnections,
                                                      maxPerIP: configuration.maxConnectionsPerIP) else {
                            metrics.refused.increment()
                            group.addTask { await refuse(child) }
                            continue
                        }
                        group.addTask {
                            defer { registry.remove(id, ip: ip) }
                            await serve(child, id: id, remote: remote, meter: accepted.meter)
                        }
                    }
                }
            } onGracefulShutdown: {
                serverChannel.close(promise: nil)
            }
            // Accepting has stopped (graceful shutdown or the server channel closed): give the
            // sessions their grace period, then close what is left.
            let deadline = ContinuousClock.now + configuration.shutdownGracePeriod
            while registry.count > 0, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            registry.closeAll()
        }
        logger.info("stopped", metadata: ["net.listener": "\(configuration.name)"])
    }

    private func bind(tls: NIOSSLContext?, initializer: @escaping @Sendable (Channel) throws -> Void) async throws
        -> NIOAsyncChannel<Accepted, Never> {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    let meter = SessionMeter()
                    try channel.pipeline.syncOperations.addHandler(ByteCountingHandler(meter: meter))
                    try initializer(channel)
                    return Accepted(channel: try NIOAsyncChannel<Inbound, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(inboundType: Inbound.self, outboundType: ByteBuffer.self)), meter: meter)
                }
            }
    }

    /// The listener's address cannot be bound: one clear line naming the service, the address and the setting.
    public struct BindFailure: Error, CustomStringConvertible, Sendable {
        public let name: String, host: String, port: Int, errno: Int32
        public var description: String {
            let reason = String(cString: strerror(errno)).lowercased()
            let hint = errno == EADDRINUSE ? "; another server is using it: change \(name).port" + (name.hasPrefix("pop3") ? " or set pop3.enabled to false" : name == "managesieve" ? " or set managesieve.enabled to false" : "")
                : errno == EACCES ? "; ports below 1024 need root or CAP_NET_BIND_SERVICE: change \(name).port" : ""
            return "cannot listen for \(name) on \(host):\(port): \(reason)\(hint)"
        }
    }

    private func serve(_ child: NIOAsyncChannel<Inbound, ByteBuffer>, id: UInt64, remote: SocketAddress?, meter: SessionMeter) async {
        var logger = self.logger
        logger[metadataKey: "net.connection.id"] = "\(id)"
        metrics.total.increment()
        metrics.active.increment()
        defer { metrics.active.decrement() }
        do {
            try await child.executeThenClose { inbound, outbound in
                let connection = MailConnection(channel: child.channel, inbound: inbound, outbound: outbound,
                                                remoteAddress: remote, isTLS: configuration.implicitTLS != nil, id: id, meter: meter)
                try await handler(connection)
            }
        } catch {
            meter.ended(.error)
            logger.debug("connection ended with an error", metadata: ["net.error": "\(type(of: error))"])
        }
        // One line per session (docs/observability.md): who, how long, how much, how it ended.
        logger.notice("session end", metadata: meter.summary(protocolName: configuration.protocolName, listener: configuration.name,
                                                             ip: remote?.ipAddress ?? "unknown"))
    }

    private func refuse(_ child: NIOAsyncChannel<Inbound, ByteBuffer>) async {
        try? await child.executeThenClose { _, outbound in
            if let refusal = configuration.refusal { try await outbound.write(refusal) }
        }
    }
}

/// Live connections of one listener: counts per IP, and the channels to close at shutdown.
final class ConnectionRegistry: Sendable {
    private struct State {
        var nextID: UInt64 = 1
        var channels: [UInt64: Channel] = [:]
        var perIP: [String: Int] = [:]
    }
    private let state = Mutex(State())

    var count: Int { state.withLock { $0.channels.count } }

    func admit(_ channel: Channel, ip: String, max: Int, maxPerIP: Int) -> UInt64? {
        state.withLock { s in
            guard s.channels.count < max, s.perIP[ip, default: 0] < maxPerIP else { return nil }
            let id = s.nextID
            s.nextID += 1
            s.channels[id] = channel
            s.perIP[ip, default: 0] += 1
            return id
        }
    }

    func remove(_ id: UInt64, ip: String) {
        state.withLock { s in
            s.channels[id] = nil
            let n = s.perIP[ip, default: 0] - 1
            s.perIP[ip] = n > 0 ? n : nil
        }
    }

    func closeAll() {
        let channels = state.withLock { Array($0.channels.values) }
        for channel in channels { channel.close(promise: nil) }
    }
}

/// Where and how the two listeners of a protocol (plaintext with STARTTLS, and implicit TLS)
/// accept connections: IMAP 143/993, POP3 110/995, submission 587/465.
public struct ListenerPairSettings: Sendable {
    public var host: String = "127.0.0.1"
    /// nil disables that listener.
    public var plainPort: Int?
    public var implicitTLSPort: Int?
    public var maxConnections: Int = 10_000
    public var maxConnectionsPerIP: Int = 50
    /// A write that cannot complete this long (the client stopped reading) ends the connection.
    public var writeTimeout: Duration = .seconds(300)

    public init(plainPort: Int?, implicitTLSPort: Int?) { self.plainPort = plainPort; self.implicitTLSPort = implicitTLSPort }
}

extension MailListener {
    /// `pair(…)` from a protocol's listener settings; `names` are the plain and implicit-TLS names.
    public static func pair(
        _ settings: ListenerPairSettings, names: (plain: String, implicit: String), tls: NIOSSLContext, refusal: ByteBuffer, logger: Logger,
        onBound: @escaping @Sendable (String, SocketAddress) -> Void,
        childChannelInitializer: @escaping @Sendable (Channel) throws -> Void,
        serve: @escaping @Sendable (MailConnection<Inbound>, _ implicitTLS: Bool) async -> Void
    ) -> [any Service] {
        pair(plain: (names.plain, settings.plainPort), implicit: (names.implicit, settings.implicitTLSPort), host: settings.host, tls: tls,
             maxConnections: settings.maxConnections, maxConnectionsPerIP: settings.maxConnectionsPerIP, refusal: refusal, logger: logger,
             onBound: onBound, childChannelInitializer: childChannelInitializer, serve: serve)
    }

    /// The listeners of a protocol with a plaintext port (STARTTLS) and an implicit-TLS port:
    /// IMAP 143/993, POP3 110/995, submission 587/465. A nil port is no listener. `serve` gets
    /// each connection and whether it is on the implicit-TLS port.
    public static func pair(
        plain: (name: String, port: Int?), implicit: (name: String, port: Int?), host: String, tls: NIOSSLContext,
        maxConnections: Int, maxConnectionsPerIP: Int, refusal: ByteBuffer, logger: Logger,
        onBound: @escaping @Sendable (String, SocketAddress) -> Void,
        childChannelInitializer: @escaping @Sendable (Channel) throws -> Void,
        serve: @escaping @Sendable (MailConnection<Inbound>, _ implicitTLS: Bool) async -> Void
    ) -> [any Service] {
        [(plain.name, plain.port, false), (implicit.name, implicit.port, true)].compactMap { name, port, isImplicit in
            guard let port else { return nil }
            return MailListener(
                configuration: {
                    var configuration = Configuration(name: name, host: host, port: port, implicitTLS: isImplicit ? tls : nil,
                                                      maxConnections: maxConnections, maxConnectionsPerIP: maxConnectionsPerIP, refusal: refusal)
                    configuration.protocolName = plain.name
                    return configuration
                }(),
                logger: logger, onBound: { address in onBound(name, address) },
                childChannelInitializer: childChannelInitializer,
                handler: { connection in await serve(connection, isImplicit) })
        }
    }
}
