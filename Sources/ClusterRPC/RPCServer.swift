import ClusterRPCCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import MailboxAPI
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization
import WSCore

/// The storage node's RPC listener: WebSocket (`/cluster-rpc/v1`) over mutual TLS. A peer
/// without a certificate from the cluster CA fails the TLS handshake and gets nothing; a request
/// for any other path is refused before the upgrade. Each connection is served by an
/// `RPCServerConnection` over the `MailboxService` given (the node's `LocalMailboxService`).
public struct ClusterRPCServer: Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port = 7443
        public var tls: ClusterTLS
        public var limits = RPCLimits.default
        public init(host: String, port: Int, tls: ClusterTLS) { self.host = host; self.port = port; self.tls = tls }
    }

    public static let path = "/cluster-rpc/v1"

    public let configuration: Configuration
    public let service: any MailboxService
    /// The node's administration calls (mailbox creation, moves); nil: answered `unknownMethod`.
    public let admin: (any StorageNodeAdmin)?
    public let logger: Logger
    /// What the listener's connections have done (tests and measurements read it).
    public let counters: Counters

    public init(configuration: Configuration, service: any MailboxService, admin: (any StorageNodeAdmin)? = nil,
                counters: Counters = .init(), logger: Logger) {
        self.configuration = configuration
        self.service = service
        self.admin = admin
        self.counters = counters
        self.logger = logger
    }

    /// Counts over every connection of the listener, since it was made.
    public final class Counters: Sendable {
        let subscriptions = Atomic(0)
        let pushes = Atomic(0)
        /// Change subscriptions opened (`subscribe` calls answered).
        public var subscriptionsOpened: Int { subscriptions.load(ordering: .relaxed) }
        /// Push frames sent (one per change per subscription).
        public var pushFramesSent: Int { pushes.load(ordering: .relaxed) }
        let calls = Mutex<[UInt16: Int]>([:])
        /// Requests received for `method` (answered or not).
        public func requests(_ method: RPCMethod) -> Int { calls.withLock { $0[method.rawValue] ?? 0 } }
        func count(_ method: UInt16) { calls.withLock { $0[method, default: 0] += 1 } }
        public init() {}
    }

    /// The listener as a service (run it in the node's ServiceGroup); `onBound` gets the bound
    /// address (a port 0 becomes real).
    public func makeService(onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }) throws -> some Service {
        let limits = configuration.limits, service = self.service, admin = self.admin, logger = self.logger, counters = self.counters
        let ws = WebSocketServerConfiguration(maxFrameSize: limits.maxWebSocketMessage + 64,
                                              autoPing: .enabled(timePeriod: .seconds(30)), closeTimeout: .seconds(5))
        let server: HTTPServerBuilder = try .tls(
            .http1WebSocketUpgrade(configuration: .init(ws: ws)) { request, _, _ in
                guard request.path == Self.path else { return .dontUpgrade }
                return .upgrade([:]) { inbound, outbound, _ in
                    let connection = RPCServerConnection(service: service, admin: admin, outbound: outbound, limits: limits, counters: counters, logger: logger)
                    await connection.run(inbound: inbound)
                }
            },
            tlsConfiguration: configuration.tls.serverConfiguration)
        let router = Router()
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Sealbox cluster RPC"),
            onServerRunning: { channel in if let address = channel.localAddress { onBound(address) } },
            logger: logger)
    }
}

/// One frontend's connection on a storage node: its requests (each in a task of its own, at most
/// `maxInFlight`), its open sessions, readers and subscriptions, all closed when it ends.
actor RPCServerConnection {
    let service: any MailboxService
    /// Answers and pushes: the frames of calls finishing together go out in one message.
    let writer: RPCCombiningWriter
    let limits: RPCLimits
    let counters: ClusterRPCServer.Counters
    let logger: Logger
    var tasks: [UInt32: Task<Void, Never>] = [:]
    var sessions: [UInt64: any MailboxSession] = [:]
    var readers: [UInt64: (session: UInt64, reader: MessageReader)] = [:]
    /// Each change subscription's session: the one it was opened with, or, once that closed,
    /// another open session of the same mailbox (a subscription is the mailbox's, not the
    /// session's: the frontend shares one among its sessions of that mailbox).
    var subscriptionOwners: [UInt32: UInt64] = [:]
    static let maxSessions = 10_000
    static let maxReaders = 256

    let admin: (any StorageNodeAdmin)?

    init(service: any MailboxService, admin: (any StorageNodeAdmin)?, outbound: WebSocketOutboundWriter, limits: RPCLimits,
         counters: ClusterRPCServer.Counters, logger: Logger) {
        self.service = service; self.admin = admin; self.limits = limits; self.counters = counters; self.logger = logger
        self.writer = RPCCombiningWriter(outbound: outbound, limits: limits)
    }

    func run(inbound: WebSocketInboundStream) async {
        var assembler = RPCAssembler(limits: limits)
        do {
            for try await message in inbound.messages(maxSize: limits.maxWebSocketMessage) {
                guard case .binary(let buffer) = message else { throw RPCProtocolError("text message") }
                for frame in try RPCFrame.decodeBatch(buffer.readableBytesView, limits: limits) {
                    do {
                        if let whole = try assembler.add(frame) { handle(whole) }
                    } catch let error as RPCProtocolError {
                        // A message that broke a limit: say so for its id; the connection goes on.
                        await write([RPCFrame(kind: .error, id: frame.id, method: frame.method,
                                              payload: RPCErrorPayload(code: error.code, detail: error.detail).encoded())])
                    }
                }
            }
        } catch {
            logger.debug("cluster RPC connection ended", metadata: ["rpc.error": "\(type(of: error))"])
        }
        await shutDown()
        writer.close()
    }

    func handle(_ message: RPCMessage) {
        switch message.kind {
        case .cancel:
            tasks.removeValue(forKey: message.id)?.cancel()
        case .request:
            guard tasks[message.id] == nil else {
                let frame = errorFrame(message, .badRequest, "request id already in flight")
                Task { await write([frame]) }
                return
            }
            guard tasks.count < limits.maxInFlight else {
                let frame = errorFrame(message, .busy, "too many requests in flight")
                Task { await write([frame]) }
                return
            }
            tasks[message.id] = Task { await self.serve(message) }
        default:
            break  // a client sends requests and cancels only
        }
    }

    func errorFrame(_ message: RPCMessage, _ code: RPCErrorCode, _ detail: String) -> RPCFrame {
        RPCFrame(kind: .error, id: message.id, method: message.method, payload: RPCErrorPayload(code: code, detail: detail).encoded())
    }

    func serve(_ message: RPCMessage) async {
        counters.count(message.method)
        let frames: [RPCFrame]
        do {
            guard let method = RPCMethod(rawValue: message.method) else { throw RPCProtocolError("unknown method \(message.method)", code: .unknownMethod) }
            if method == .subscribe {
                try await subscribe(message)
                return
            }
            let payload = try await RPCDispatcher(connection: self).dispatch(method, message.payload)
            frames = RPCFrame.frames(kind: .response, id: message.id, method: message.method, payload: payload, chunkSize: limits.chunkSize)
        } catch is CancellationError {
            frames = [errorFrame(message, .cancelled, "cancelled")]
        } catch let error as MailStoreError {
            frames = [RPCFrame(kind: .error, id: message.id, method: message.method,
                               payload: RPCErrorPayload(code: RPCErrorCode(error.code), detail: error.detail).encoded())]
        } catch let error as RPCProtocolError {
            frames = [errorFrame(message, error.code, error.detail)]
        } catch {
            logger.error("cluster RPC call failed", metadata: ["rpc.method": "\(message.method)", "rpc.error": "\(type(of: error))"])
            frames = [errorFrame(message, .internalError, "internal error on the storage node")]
        }
        tasks[message.id] = nil
        await write(frames)
    }

    /// `changes(folder:)`: answers, then pushes each change until cancelled or the session closes.
    func subscribe(_ message: RPCMessage) async throws {
        var r = RPCReader(message.payload, limits: limits)
        let handle = try r.u64()
        let folder = try r.optionalString()
        try r.finish()
        let session = try self.session(handle)
        let stream = session.changes(folder: folder)
        subscriptionOwners[message.id] = handle
        counters.subscriptions.add(1, ordering: .relaxed)
        await write([RPCFrame(kind: .response, id: message.id, method: message.method)])
        for await change in stream {
            if Task.isCancelled { break }
            var w = RPCWriter()
            w.change(change)
            counters.pushes.add(1, ordering: .relaxed)
            await write([RPCFrame(kind: .push, id: message.id, method: message.method, payload: w.bytes)])
        }
        subscriptionOwners[message.id] = nil
        if tasks.removeValue(forKey: message.id) != nil, !Task.isCancelled {
            // The stream ended on its own (the session closed): tell the client.
            await write([RPCFrame(kind: .cancel, id: message.id, method: message.method)])
        }
    }

    /// Writes `frames` (with those of other calls finishing meanwhile) and returns once written.
    nonisolated func write(_ frames: [RPCFrame]) async {
        if !(await writer.write(frames)) {
            logger.debug("cluster RPC write failed or connection closed")
        }
    }

    func shutDown() async {
        for (_, task) in tasks { task.cancel() }
        tasks = [:]
        readers = [:]
        let open = sessions
        sessions = [:]
        for (_, session) in open { await session.close() }
    }

    // MARK: - Handles

    func add(_ session: any MailboxSession) throws -> UInt64 {
        guard sessions.count < Self.maxSessions else { throw RPCProtocolError("too many sessions on one connection", code: .busy) }
        var handle = UInt64.random(in: 1 ... .max)
        while sessions[handle] != nil { handle = UInt64.random(in: 1 ... .max) }
        sessions[handle] = session
        return handle
    }

    func session(_ handle: UInt64) throws -> any MailboxSession {
        guard let s = sessions[handle] else { throw RPCProtocolError("no such session", code: .noSuchHandle) }
        return s
    }

    func closeSession(_ handle: UInt64) async {
        guard let s = sessions.removeValue(forKey: handle) else { return }
        // Its subscriptions go on under another open session of the same mailbox, if any (the
        // changes are the mailbox's); else they end.
        let heir = sessions.first { $0.value.mailboxID == s.mailboxID }?.key
        for (id, owner) in subscriptionOwners where owner == handle {
            if let heir {
                subscriptionOwners[id] = heir
            } else {
                subscriptionOwners[id] = nil
                tasks.removeValue(forKey: id)?.cancel()
            }
        }
        readers = readers.filter { $0.value.session != handle }
        await s.close()
    }

    func addReader(_ reader: MessageReader, session: UInt64) -> UInt64 {
        if readers.count >= Self.maxReaders, let oldest = readers.keys.first { readers[oldest] = nil }
        var handle = UInt64.random(in: 1 ... .max)
        while readers[handle] != nil { handle = UInt64.random(in: 1 ... .max) }
        readers[handle] = (session, reader)
        return handle
    }

    func reader(_ handle: UInt64) throws -> MessageReader {
        guard let r = readers[handle] else { throw RPCProtocolError("no such reader", code: .noSuchHandle) }
        return r.reader
    }

    func closeReader(_ handle: UInt64) { readers[handle] = nil }
}
