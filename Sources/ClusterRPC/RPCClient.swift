import ClusterRPCCore
import Foundation
import Logging
import MailboxAPI
import NIOCore
import NIOPosix
import NIOSSL
import WSClient
import WSCore

/// Where a storage node's RPC listens, and the name its certificate must carry (checked by the
/// client; sent as TLS SNI).
public struct StorageEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The node's name (`sealbox cluster add-node NAME`), as in its certificate.
    public var name: String
    /// The address or host name to connect to.
    public var host: String
    public var port: Int
    public init(name: String, host: String, port: Int) { self.name = name; self.host = host; self.port = port }
    public var description: String { "\(name) (\(host):\(port))" }
}

/// The client side of one storage node's RPC: one WebSocket over mutual TLS, connected when first
/// needed and again after it drops (with backoff), many requests in flight on it.
///
/// - Request ids: 32-bit, unique among the requests in flight.
/// - Timeouts: each call has one (`Configuration.requestTimeout`); a call that times out is
///   cancelled on the server (cancel frame) and fails with `MailStoreError(.unavailable)`.
/// - Back-pressure: at most `maxOutstandingBytes` of request payloads and `limits.maxInFlight`
///   requests in flight; further calls wait for room. Frames are written as the socket takes them.
/// - Cancellation: a cancelled calling task sends a cancel frame and throws `CancellationError`.
/// - Reconnect: after a failed connect, calls fail at once (`.unavailable`) until the backoff
///   (doubling from `initialBackoff` to `maxBackoff`) has passed; then the next call tries again.
/// - A dropped connection fails its calls in flight (`.unavailable`) and ends its subscriptions;
///   sessions opened on it are gone (`generation` changes).
public actor RPCClient {
    public struct Configuration: Sendable {
        public var limits = RPCLimits.default
        public var requestTimeout: Duration = .seconds(60)
        public var connectTimeout: Duration = .seconds(10)
        public var maxOutstandingBytes = 256 << 20
        public var initialBackoff: Duration = .milliseconds(100)
        public var maxBackoff: Duration = .seconds(10)
        public init() {}
    }

    public nonisolated let endpoint: StorageEndpoint
    public nonisolated let configuration: Configuration
    let tlsConfiguration: TLSConfiguration
    let logger: Logger

    enum State {
        case idle
        case connecting([CheckedContinuation<Connection, any Error>])
        case connected(Connection)
    }
    /// A connection up: its generation and the outbox its writer task empties into the socket (in
    /// order, frames queued meanwhile packed into one message; NIO's writability is the
    /// back-pressure, the client's outstanding-bytes bound keeps the queue bounded).
    final class Connection: Sendable {
        let generation: Int
        let outbox: RPCOutbox
        init(generation: Int, outbox: RPCOutbox) { self.generation = generation; self.outbox = outbox }
        func send(_ frames: [RPCFrame]) { outbox.send(frames) }
    }
    /// One change subscription on the storage node shared by every session of this connection
    /// watching the same mailbox and folder: the first watcher subscribes (with its session), the
    /// others attach, the last one leaving cancels it. Each push is read once and given to every
    /// watcher, in order.
    struct HubKey: Hashable {
        var generation: Int
        var mailboxID: String
        var folder: String?
    }
    struct ChangeHub {
        /// The id of the `subscribe` request (its pushes carry it).
        var id: UInt32
        /// The session it was subscribed with.
        var handle: UInt64
        var watchers: [UInt64: (handle: UInt64, continuation: AsyncStream<MailboxChange>.Continuation)]
    }
    struct Pending {
        var continuation: CheckedContinuation<RPCMessage, any Error>
        var bytes: Int
        var generation: Int
        var deadline: ContinuousClock.Instant
    }

    var state = State.idle
    var connectTask: Task<Void, Never>?
    var generationCounter = 0
    var pending: [UInt32: Pending] = [:]
    var subscriptions: [UInt32: (generation: Int, continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation)] = [:]
    var hubs: [HubKey: ChangeHub] = [:]
    var hubByID: [UInt32: HubKey] = [:]
    var nextID: UInt32 = 1
    var outstandingBytes = 0
    var roomWaiters: [CheckedContinuation<Void, Never>] = []
    var backoff: Duration = .zero
    var retryAfter: ContinuousClock.Instant?
    var closed = false
    /// Round trips of answered calls, for the benchmark (bounded ring).
    var roundTrips: [Duration] = []

    public init(endpoint: StorageEndpoint, tls: ClusterTLS, configuration: Configuration = .init(), logger: Logger) {
        self.endpoint = endpoint
        self.configuration = configuration
        self.tlsConfiguration = tls.clientConfiguration
        self.logger = logger
    }

    /// The current connection's generation (0 before the first); a session opened on one
    /// generation is gone once it changes.
    public var generation: Int {
        if case .connected(let c) = state { return c.generation }
        return -1
    }

    /// Whether a connection is up now.
    public var isConnected: Bool { if case .connected = state { true } else { false } }

    /// Calls `method` and returns the response payload. Throws the storage node's error as the
    /// local service would have (`MailStoreError`), `.unavailable` when the node cannot be
    /// reached or does not answer in time.
    public func call(_ method: RPCMethod, _ payload: [UInt8], timeout: Duration? = nil) async throws -> [UInt8] {
        let (message, _) = try await exchange(method, payload, timeout: timeout ?? configuration.requestTimeout)
        return message.payload
    }

    /// `call`, also returning the generation of the connection it went over.
    public func callWithGeneration(_ method: RPCMethod, _ payload: [UInt8], timeout: Duration? = nil) async throws -> ([UInt8], Int) {
        let (message, generation) = try await exchange(method, payload, timeout: timeout ?? configuration.requestTimeout)
        return (message.payload, generation)
    }

    func exchange(_ method: RPCMethod, _ payload: [UInt8], timeout: Duration) async throws -> (RPCMessage, Int) {
        try Task.checkCancellation()
        await waitForRoom(payload.count)
        defer { release(payload.count) }
        let connection = try await connected()
        let id = allocateID()
        let started = ContinuousClock.now
        let message: RPCMessage = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RPCMessage, any Error>) in
                pending[id] = Pending(continuation: continuation, bytes: payload.count, generation: connection.generation, deadline: .now + timeout)
                startSweeper()
                connection.send(RPCFrame.frames(kind: .request, id: id, method: method.rawValue, payload: payload, chunkSize: configuration.limits.chunkSize))
            }
        } onCancel: {
            Task { await self.fail(id, CancellationError(), cancel: true) }
        }
        record(ContinuousClock.now - started)
        switch message.kind {
        case .response:
            return (message, connection.generation)
        case .error:
            let e = (try? RPCErrorPayload.decode(message.payload, limits: configuration.limits)) ?? RPCErrorPayload(code: .badRequest, detail: "unreadable error")
            throw e.code.error(detail: e.detail)
        default:
            throw MailStoreError(.unavailable, "storage node \(endpoint.name) answered with a \(message.kind) frame")
        }
    }

    /// Opens a subscription (`subscribe`): the pushes that follow the response, as payloads, until
    /// the stream is dropped (the subscription is then cancelled) or the connection ends.
    public func subscribe(_ method: RPCMethod, _ payload: [UInt8]) async throws -> (stream: AsyncThrowingStream<[UInt8], any Error>, generation: Int) {
        let connection = try await connected()
        let id = allocateID()
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        subscriptions[id] = (connection.generation, continuation)
        continuation.onTermination = { [weak self] _ in Task { await self?.endSubscription(id) } }
        let reply: RPCMessage = try await withCheckedThrowingContinuation { (c: CheckedContinuation<RPCMessage, any Error>) in
            pending[id] = Pending(continuation: c, bytes: 0, generation: connection.generation, deadline: .now + configuration.requestTimeout)
            startSweeper()
            connection.send([RPCFrame(kind: .request, id: id, method: method.rawValue, payload: payload)])
        }
        if reply.kind == .error {
            subscriptions[id] = nil
            continuation.finish()
            let e = (try? RPCErrorPayload.decode(reply.payload, limits: configuration.limits)) ?? RPCErrorPayload(code: .badRequest, detail: "unreadable error")
            throw e.code.error(detail: e.detail)
        }
        return (stream, connection.generation)
    }

    func endSubscription(_ id: UInt32) async {
        guard let sub = subscriptions.removeValue(forKey: id) else { return }
        if case .connected(let c) = state, c.generation == sub.generation {
            c.send([RPCFrame(kind: .cancel, id: id)])
        }
    }

    /// Round trips of the calls answered so far (the latest 100 000), then forgets them.
    public func takeRoundTrips() -> [Duration] {
        defer { roundTrips = [] }
        return roundTrips
    }

    func record(_ d: Duration) {
        if roundTrips.count < 100_000 { roundTrips.append(d) }
    }

    /// Closes the connection; later calls connect again.
    public func close() async {
        closed = true
        connectTask?.cancel()
        connectTask = nil
        if case .connected(let c) = state { c.outbox.finish() }
        dropped(MailStoreError(.unavailable, "connection to storage node \(endpoint.name) closed"))
        closed = false
    }

    // MARK: - Flow

    func waitForRoom(_ bytes: Int) async {
        while (outstandingBytes > 0 && outstandingBytes + bytes > configuration.maxOutstandingBytes) || pending.count >= configuration.limits.maxInFlight {
            await withCheckedContinuation { roomWaiters.append($0) }
        }
        outstandingBytes += bytes
    }

    func release(_ bytes: Int) {
        outstandingBytes -= bytes
        let waiters = roomWaiters
        roomWaiters = []
        for w in waiters { w.resume() }
    }

    func allocateID() -> UInt32 {
        while true {
            let id = nextID
            nextID = nextID == .max ? 1 : nextID + 1
            if pending[id] == nil && subscriptions[id] == nil && hubByID[id] == nil { return id }
        }
    }

    var sweeper: Task<Void, Never>?

    /// One task per client fails the calls past their deadline (not one timer per call).
    func startSweeper() {
        guard sweeper == nil else { return }
        sweeper = Task { [weak self] in
            while let self, await self.sweep() {
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// Fails expired calls; false (the sweeper stops) when nothing is pending.
    func sweep() -> Bool {
        let now = ContinuousClock.now
        for (id, p) in pending where p.deadline <= now {
            fail(id, MailStoreError(.unavailable, "storage node \(endpoint.name) did not answer in time"), cancel: true)
        }
        if pending.isEmpty { sweeper = nil; return false }
        return true
    }

    func fail(_ id: UInt32, _ error: any Error, cancel: Bool) {
        guard let p = pending.removeValue(forKey: id) else { return }
        p.continuation.resume(throwing: error)
        if cancel, case .connected(let c) = state, c.generation == p.generation {
            c.send([RPCFrame(kind: .cancel, id: id)])
        }
        if let sub = subscriptions.removeValue(forKey: id) { sub.continuation.finish(throwing: error) }
        release(0)
    }

    // MARK: - Connection

    func connected() async throws -> Connection {
        switch state {
        case .connected(let c):
            return c
        case .connecting:
            return try await withCheckedThrowingContinuation { c in
                if case .connecting(var waiters) = state { waiters.append(c); state = .connecting(waiters) } else { c.resume(throwing: MailStoreError(.unavailable, "storage node \(endpoint.name) is unreachable")) }
            }
        case .idle:
            if let retryAfter, ContinuousClock.now < retryAfter {
                throw MailStoreError(.unavailable, "storage node \(endpoint.name) is unreachable (retrying later)")
            }
            return try await withCheckedThrowingContinuation { c in
                state = .connecting([c])
                startConnecting()
            }
        }
    }

    func startConnecting() {
        generationCounter += 1
        let generation = generationCounter
        let url = "wss://\(endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host):\(endpoint.port)/cluster-rpc/v1"
        var wsConfiguration = WebSocketClientConfiguration(maxFrameSize: configuration.limits.maxWebSocketMessage + 64,
                                                           autoPing: .enabled(timePeriod: .seconds(15)), sniHostname: endpoint.name)
        wsConfiguration.closeTimeout = .seconds(5)
        let tls = tlsConfiguration, logger = self.logger, maxSize = configuration.limits.maxWebSocketMessage
        let connectTimeout = configuration.connectTimeout
        connectTask = Task {
            let timer = Task {
                try await Task.sleep(for: connectTimeout)
                self.connectFailed(generation, MailStoreError(.unavailable, "connecting to storage node timed out"))
            }
            let limits = configuration.limits
            do {
                try await WebSocketClient.connect(url: url, configuration: wsConfiguration, tlsConfiguration: tls, logger: logger) { inbound, outbound, _ in
                    timer.cancel()
                    let outbox = RPCOutbox(limits: limits)
                    guard await self.attach(Connection(generation: generation, outbox: outbox)) else { return }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            try await outbox.run(writingTo: outbound)
                            throw CancellationError()  // closed from this side: end the connection
                        }
                        var assembler = RPCAssembler(limits: limits)
                        for try await message in inbound.messages(maxSize: maxSize) {
                            guard case .binary(let buffer) = message else { throw RPCProtocolError("text message") }
                            var whole: [RPCMessage] = []
                            for frame in try RPCFrame.decodeBatch(buffer.readableBytesView, limits: limits) {
                                if let m = try assembler.add(frame) { whole.append(m) }
                            }
                            if !whole.isEmpty { await self.received(whole) }
                        }
                        outbox.finish()
                        group.cancelAll()
                    }
                }
                timer.cancel()
                self.connectFailed(generation, MailStoreError(.unavailable, "storage node closed the connection"))
            } catch {
                timer.cancel()
                logger.debug("cluster RPC connection ended", metadata: ["rpc.node": "\(self.endpoint.name)", "rpc.error": "\(type(of: error))"])
                self.connectFailed(generation, MailStoreError(.unavailable, "storage node \(self.endpoint.name) is unreachable"))
            }
        }
    }

    func attach(_ connection: Connection) -> Bool {
        guard case .connecting(let waiters) = state, connection.generation == generationCounter else { return false }
        state = .connected(connection)
        backoff = .zero
        retryAfter = nil
        logger.debug("cluster RPC connected", metadata: ["rpc.node": "\(endpoint.name)"])
        for w in waiters { w.resume(returning: connection) }
        return true
    }

    func connectFailed(_ generation: Int, _ error: MailStoreError) {
        guard generation == generationCounter else { return }
        switch state {
        case .connecting(let waiters):
            backoff = backoff == .zero ? configuration.initialBackoff : min(backoff * 2, configuration.maxBackoff)
            retryAfter = .now + backoff
            state = .idle
            connectTask?.cancel()
            connectTask = nil
            for w in waiters { w.resume(throwing: error) }
        case .connected:
            dropped(error)
        case .idle:
            break
        }
    }

    /// The connection is gone: its calls fail, its subscriptions end.
    func dropped(_ error: MailStoreError) {
        state = .idle
        connectTask = nil
        let calls = pending
        pending = [:]
        for (_, p) in calls { p.continuation.resume(throwing: error) }
        let subs = subscriptions
        subscriptions = [:]
        for (_, s) in subs { s.continuation.finish() }
        let shared = hubs
        hubs = [:]
        hubByID = [:]
        for (_, hub) in shared { for (_, w) in hub.watchers { w.continuation.finish() } }
        release(0)
    }

    func received(_ messages: [RPCMessage]) {
        for message in messages { received(message) }
    }

    func received(_ message: RPCMessage) {
        if let key = hubByID[message.id] {
            hubReceived(message, key)
            return
        }
        switch message.kind {
        case .response, .error:
            guard let p = pending.removeValue(forKey: message.id) else { return }  // late: timed out or cancelled
            p.continuation.resume(returning: message)
            release(0)
        case .push:
            subscriptions[message.id]?.continuation.yield(message.payload)
        case .cancel:
            // The server ended a subscription (its session closed).
            subscriptions.removeValue(forKey: message.id)?.continuation.finish()
        case .request, .streamChunk, .streamEnd:
            break
        }
    }
}

// MARK: - Shared change subscriptions

extension RPCClient {
    /// Adds a watcher of `folder`'s changes (nil: every folder) in mailbox `mailboxID` for session
    /// `handle`, opened on connection `generation`: it attaches to this connection's subscription
    /// of that mailbox and folder, or opens it. The stream ends when the connection drops, the
    /// storage node ends the subscription (the mailbox closed), or the subscribe call fails.
    /// `token` names the watcher for `unwatch`; a watcher whose task is already cancelled (its
    /// stream ended before it got here) is not added.
    func watch(handle: UInt64, generation: Int, mailboxID: String, folder: String?, token: UInt64,
               continuation: AsyncStream<MailboxChange>.Continuation) {
        guard case .connected(let c) = state, c.generation == generation, !Task.isCancelled else {
            continuation.finish()
            return
        }
        let key = HubKey(generation: generation, mailboxID: mailboxID, folder: folder)
        if hubs[key] != nil {
            hubs[key]?.watchers[token] = (handle, continuation)
            return
        }
        let id = allocateID()
        hubs[key] = ChangeHub(id: id, handle: handle, watchers: [token: (handle, continuation)])
        hubByID[id] = key
        c.send([subscribeFrame(id: id, handle: handle, folder: folder)])
    }

    /// How many watchers share this connection's subscriptions of mailbox `mailboxID` (nil: of
    /// every mailbox; tests).
    func watcherCount(mailboxID: String? = nil) -> Int {
        hubs.filter { mailboxID == nil || $0.key.mailboxID == mailboxID }.reduce(0) { $0 + $1.value.watchers.count }
    }

    /// How many subscriptions this connection has open for mailbox `mailboxID` (nil: in all; tests).
    func hubCount(mailboxID: String? = nil) -> Int { hubs.keys.filter { mailboxID == nil || $0.mailboxID == mailboxID }.count }

    func subscribeFrame(id: UInt32, handle: UInt64, folder: String?) -> RPCFrame {
        var w = RPCWriter()
        w.u64(handle); w.optionalString(folder)
        return RPCFrame(kind: .request, id: id, method: RPCMethod.subscribe.rawValue, payload: w.bytes)
    }

    /// Removes a watcher; the last one of a subscription cancels it on the storage node.
    func unwatch(generation: Int, mailboxID: String, folder: String?, token: UInt64) {
        let key = HubKey(generation: generation, mailboxID: mailboxID, folder: folder)
        guard var hub = hubs[key], hub.watchers.removeValue(forKey: token) != nil else { return }
        if hub.watchers.isEmpty {
            endHub(key, cancel: true)
        } else {
            hubs[key] = hub
        }
    }

    /// Ends the watchers of session `handle` (it closed).
    func unwatchSession(_ handle: UInt64, generation: Int) {
        for (key, hub) in hubs where key.generation == generation {
            let mine = hub.watchers.filter { $0.value.handle == handle }
            guard !mine.isEmpty else { continue }
            for (token, w) in mine {
                hubs[key]?.watchers[token] = nil
                w.continuation.finish()
            }
            if hubs[key]?.watchers.isEmpty == true { endHub(key, cancel: true) }
        }
    }

    func endHub(_ key: HubKey, cancel: Bool) {
        guard let hub = hubs.removeValue(forKey: key) else { return }
        hubByID[hub.id] = nil
        if cancel, case .connected(let c) = state, c.generation == key.generation {
            c.send([RPCFrame(kind: .cancel, id: hub.id)])
        }
        for (_, w) in hub.watchers { w.continuation.finish() }
    }

    func hubReceived(_ message: RPCMessage, _ key: HubKey) {
        guard var hub = hubs[key] else { return }
        switch message.kind {
        case .response, .request, .streamChunk, .streamEnd:
            break
        case .push:
            var r = RPCReader(message.payload, limits: configuration.limits)
            guard let change = try? r.change(), (try? r.finish()) != nil else { return }
            var gone: [UInt64] = []
            for (token, w) in hub.watchers {
                if case .terminated = w.continuation.yield(change) { gone.append(token) }
            }
            guard !gone.isEmpty else { return }
            for token in gone { hub.watchers[token] = nil }
            if hub.watchers.isEmpty { endHub(key, cancel: true) } else { hubs[key] = hub }
        case .cancel:
            // The storage node ended it (the mailbox closed): every watcher's stream ends.
            endHub(key, cancel: false)
        case .error:
            // The subscribe call failed (as it would have for that session alone): that session's
            // watchers end; the others subscribe again with one of theirs.
            hubByID[hub.id] = nil
            for (token, w) in hub.watchers where w.handle == hub.handle {
                hub.watchers[token] = nil
                w.continuation.finish()
            }
            guard let next = hub.watchers.first?.value.handle, case .connected(let c) = state, c.generation == key.generation else {
                hubs[key] = nil
                for (_, w) in hub.watchers { w.continuation.finish() }
                return
            }
            hub.id = allocateID()
            hub.handle = next
            hubs[key] = hub
            hubByID[hub.id] = key
            c.send([subscribeFrame(id: hub.id, handle: next, folder: key.folder)])
        }
    }
}
