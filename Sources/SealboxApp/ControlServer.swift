import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The node's control socket, `<data-dir>/control.sock` (mode 0600): while `serve` holds the data
/// directory, the CLI sends its command line here and the command runs inside the node, on the
/// node's open directory, queue and mailboxes, so that its effect is seen at once (a revoked
/// password ends its sessions, a `deliver` wakes IDLE) and no second process opens the files.
/// Only root and the node's own user may connect (checked with SO_PEERCRED, besides the mode).
public struct ControlServer: Service {
    /// Runs one request; returns its exit status. The session carries its output and questions.
    public typealias Handler = @Sendable (ControlRequest, ControlSession) async -> Int32

    public let socketPath: String
    let handler: Handler
    let logger: Logger
    let onReady: @Sendable (String) -> Void
    /// At most this many commands run at once; more wait in the kernel's backlog.
    static let maxConnections = 16

    /// `onReady(path)` once the socket listens.
    public init(socketPath: String, logger: Logger, onReady: @escaping @Sendable (String) -> Void = { _ in }, handler: @escaping Handler) {
        self.socketPath = socketPath
        self.logger = logger
        self.onReady = onReady
        self.handler = handler
    }

    public static func socketPath(dataDirectory: String) -> String { dataDirectory + "/control.sock" }

    public func run() async throws {
        // The node holds the data directory's lock: a socket file left here is stale.
        unlink(socketPath)
        // No umask games (the mask is the whole process's): the data directory is 0700, so only
        // its owner reaches the socket until it is 0600 a moment later, and the peer is checked anyway.
        let server: NIOAsyncChannel<NIOAsyncChannel<ControlFrame, ByteBuffer>, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 64)
                .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ControlFrameDecoder()))
                        return try NIOAsyncChannel<ControlFrame, ByteBuffer>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(inboundType: ControlFrame.self, outboundType: ByteBuffer.self))
                    }
                }
        } catch {
            // The node serves without it (a path too long for a Unix socket, a read-only
            // directory): the CLI then finds the data directory locked, as before there was one.
            logger.error("cannot open the control socket: the CLI's commands cannot run beside this node",
                         metadata: ["control.path": "\(socketPath)", "control.error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        chmod(socketPath, 0o600)
        defer { unlink(socketPath) }
        onReady(socketPath)
        let serverChannel = server.channel
        let running = ConnectionCount()
        try await withThrowingDiscardingTaskGroup { group in
            try await withGracefulShutdownHandler {
                try await server.executeThenClose { inbound in
                    for try await child in inbound {
                        guard running.enter(max: Self.maxConnections) else {
                            group.addTask { try? await child.executeThenClose { _, _ in } }
                            continue
                        }
                        group.addTask {
                            defer { running.leave() }
                            await serve(child)
                        }
                    }
                }
            } onGracefulShutdown: {
                serverChannel.close(promise: nil)
            }
        }
    }

    /// Whether the peer is root or the node's own user.
    static func peerAllowed(_ channel: any Channel) async -> Bool {
        guard let provider = channel as? SocketOptionProvider else { return false }
        do {
            let credentials: PeerCredentials = try await provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).get()
            return credentials.uid == 0 || credentials.uid == geteuid()
        } catch {
            return false
        }
    }

    private func serve(_ child: NIOAsyncChannel<ControlFrame, ByteBuffer>) async {
        guard await Self.peerAllowed(child.channel) else {
            logger.warning("control socket: a connection from another user was refused")
            try? await child.executeThenClose { _, _ in }
            return
        }
        do {
            try await child.executeThenClose { inbound, outbound in
                var frames = inbound.makeAsyncIterator()
                guard let first = try await frames.next(), first.kind == .request,
                      let request = try? JSONDecoder().decode(ControlRequest.self, from: Data(first.payload)) else {
                    try await outbound.write(ByteBuffer(bytes: ControlFrame(.stderr, Array("sealbox: not a control request\n".utf8)).encoded))
                    try await outbound.write(ByteBuffer(bytes: ControlFrame.exit(70).encoded))
                    return
                }
                let session = ControlSession(request: request)
                let channel = child.channel
                await withTaskGroup(of: Void.self) { tasks in
                    // Output and questions, in order, until the exit frame; then the connection closes.
                    tasks.addTask {
                        for await frame in session.outgoing {
                            do { try await outbound.write(ByteBuffer(bytes: frame.encoded)) } catch { break }
                            if frame.kind == .exit { break }
                        }
                        try? await channel.close()
                    }
                    tasks.addTask {
                        let status = await handler(request, session)
                        session.finish(status: status)
                    }
                    // Answers, until the connection closes; a client that goes away cancels the command.
                    do {
                        while let frame = try await frames.next() { session.receive(frame) }
                    } catch {}
                    if session.clientGone() { tasks.cancelAll() }
                }
            }
        } catch {
            logger.debug("control socket: a connection ended with an error", metadata: ["control.error": "\(type(of: error))"])
        }
    }
}

/// Commands running at once.
final class ConnectionCount: Sendable {
    private let count = Mutex(0)
    func enter(max: Int) -> Bool { count.withLock { n in guard n < max else { return false }; n += 1; return true } }
    func leave() { count.withLock { $0 -= 1 } }
}

/// Linux's `struct ucred` (SO_PEERCRED), which Glibc's module does not export: the same layout.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = .max
    var gid: UInt32 = .max
}

/// One command running for a control client: what it writes, what it asks. Writes never block
/// (they queue for the connection's writer); questions wait for the client's answer.
public final class ControlSession: Sendable {
    public let request: ControlRequest
    let outgoing: AsyncStream<ControlFrame>
    private let continuation: AsyncStream<ControlFrame>.Continuation

    private struct State {
        var waiting: CheckedContinuation<ControlFrame?, Never>?
        var stdin: [UInt8] = []
        var stdinLimit = 0
        var gone = false
        var finished = false
    }
    private let state = Mutex(State())

    init(request: ControlRequest) {
        self.request = request
        (outgoing, continuation) = AsyncStream.makeStream(of: ControlFrame.self)
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public func write(stdout bytes: [UInt8]) { send(.stdout, bytes) }
    public func write(stderr bytes: [UInt8]) { send(.stderr, bytes) }

    private func send(_ kind: ControlFrame.Kind, _ bytes: [UInt8]) {
        var start = 0
        repeat {
            let end = min(bytes.count, start + ControlFrame.maxPayload)
            continuation.yield(ControlFrame(kind, Array(bytes[start..<end])))
            start = end
        } while start < bytes.count
    }

    /// A secret from the client (its environment variable, else its terminal); nil when it has none.
    public func secret(prompt: String, environment: String) async throws -> String? {
        let question = try JSONEncoder().encode(ControlSecretQuestion(prompt: prompt, environment: environment))
        guard let answer = await ask(ControlFrame(.askSecret, Array(question))), answer.kind == .secret, let flag = answer.payload.first else {
            throw Failure(description: "the client went away")
        }
        return flag == 1 ? String(decoding: answer.payload.dropFirst(), as: UTF8.self) : nil
    }

    /// The client's standard input, whole; at most `limit` bytes (`tooLarge` past it).
    public func standardInput(limit: Int) async throws -> [UInt8] {
        state.withLock { $0.stdin = []; $0.stdinLimit = limit }
        guard let end = await ask(.askStdin(limit: limit)), end.kind == .stdinEnd else {
            throw Failure(description: "the client went away")
        }
        let data = state.withLock { s -> [UInt8] in defer { s.stdin = [] }; return s.stdin }
        switch end.payload.first {
        case 0: return data
        case 1: throw StandardInputTooLarge(limit: limit)
        default: throw Failure(description: "cannot read standard input")
        }
    }

    public struct StandardInputTooLarge: Error, Sendable { public let limit: Int }

    /// Sends a question and waits for the frame that answers it (nil: the client is gone).
    private func ask(_ frame: ControlFrame) async -> ControlFrame? {
        await withCheckedContinuation { (c: CheckedContinuation<ControlFrame?, Never>) in
            let gone = state.withLock { s -> Bool in
                if s.gone { return true }
                s.waiting = c
                return false
            }
            if gone { c.resume(returning: nil) } else { continuation.yield(frame) }
        }
    }

    func receive(_ frame: ControlFrame) {
        let waiter = state.withLock { s -> CheckedContinuation<ControlFrame?, Never>? in
            switch frame.kind {
            case .stdin:
                // Bounded by what the node asked for (the client says when it had more).
                if s.stdin.count + frame.payload.count <= s.stdinLimit { s.stdin += frame.payload }
                return nil
            case .secret, .stdinEnd:
                defer { s.waiting = nil }
                return s.waiting
            default:
                return nil
            }
        }
        waiter?.resume(returning: frame)
    }

    /// The connection has closed; whether that was before the command ended (then it is cancelled).
    func clientGone() -> Bool {
        let (waiter, early) = state.withLock { s -> (CheckedContinuation<ControlFrame?, Never>?, Bool) in
            s.gone = true
            defer { s.waiting = nil }
            return (s.waiting, !s.finished)
        }
        waiter?.resume(returning: nil)
        continuation.finish()
        return early
    }

    func finish(status: Int32) {
        state.withLock { $0.finished = true }
        continuation.yield(.exit(status))
        continuation.finish()
    }
}

/// Frames from the byte stream (`ControlFrame.decode`), each at most `ControlFrame.maxPayload`.
struct ControlFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ControlFrame

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let view = buffer.readableBytesView.first.map({ _ in buffer.readableBytesView }),
              let (frame, length) = try ControlFrame.decode(view) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: length)
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}
