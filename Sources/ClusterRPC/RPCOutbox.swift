import ClusterRPCCore
import NIOCore
import Synchronization
import WSCore

/// The frontend's frames of one connection waiting for the socket. One writer task empties it:
/// every frame queued while the previous write was under way goes out in the next one, packed into
/// as few WebSocket messages as fit (`RPCFrame.encodeBatch`), so a burst of answers and pushes
/// costs one TLS record and one write(2) instead of one per frame. Order is kept. Sending never
/// waits (the client's outstanding-bytes and in-flight bounds keep the queue bounded).
final class RPCOutbox: Sendable {
    struct State {
        var frames: [RPCFrame] = []
        var writer: CheckedContinuation<Bool, Never>?
        var finished = false
    }
    let state = Mutex(State())
    /// The largest WebSocket message the peer reads.
    let maxMessage: Int

    init(limits: RPCLimits) { maxMessage = limits.maxWebSocketMessage }

    /// Queues `frames` (dropped once the outbox is finished).
    func send(_ frames: [RPCFrame]) {
        guard !frames.isEmpty else { return }
        let writer: CheckedContinuation<Bool, Never>? = state.withLock { s in
            guard !s.finished else { return nil }
            s.frames.append(contentsOf: frames)
            defer { s.writer = nil }
            return s.writer
        }
        writer?.resume(returning: true)
    }

    /// Ends the outbox: the writer stops once what is queued is written; later frames are dropped.
    func finish() {
        let writer: CheckedContinuation<Bool, Never>? = state.withLock { s in
            s.finished = true
            defer { s.writer = nil }
            return s.writer
        }
        writer?.resume(returning: false)
    }

    /// Takes what is queued, waiting for something; nil once finished and empty.
    func next() async -> [RPCFrame]? {
        while true {
            let taken: [RPCFrame]?? = state.withLock { s in
                if !s.frames.isEmpty {
                    defer { s.frames = [] }
                    return s.frames
                }
                if s.finished { return .some(nil) }
                return nil
            }
            if let taken { return taken }
            let more = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                let resumeNow: Bool? = state.withLock { s in
                    if !s.frames.isEmpty { return true }
                    if s.finished { return false }
                    s.writer = c
                    return nil
                }
                if let resumeNow { c.resume(returning: resumeNow) }
            }
            if !more && state.withLock({ $0.frames.isEmpty }) { return nil }
        }
    }

    /// Writes everything queued to `outbound` until finished or a write fails (then the outbox is
    /// finished and later frames are dropped). Throws the write error.
    func run(writingTo outbound: WebSocketOutboundWriter) async throws {
        defer {
            state.withLock { $0.frames = [] }
            finish()
        }
        while let frames = await next() { try await outbound.write(frames, maxMessage: maxMessage) }
    }
}

/// The storage node's writer of one connection: no writer task (no extra hop per answer). A call
/// task that writes while nobody else is writing becomes the writer: it writes its frames and, in
/// the same turn, every frame the others queued meanwhile (packed into as few WebSocket messages as
/// fit); the others wait until theirs are written. After `maxRounds` messages' worth of turns the
/// writer hands the role to the next waiting task (so one task is not kept writing for others
/// indefinitely). Order is kept: frames go out in the order they were queued.
final class RPCCombiningWriter: Sendable {
    struct State {
        var queue: [RPCFrame] = []
        /// Tasks whose frames are in `queue`: resumed with false once written (or dropped), with
        /// true when handed the writer role.
        var waiting: [CheckedContinuation<Bool, Never>] = []
        var writing = false
        var closed = false
    }
    enum Turn { case wait, write, dropped }
    let state = Mutex(State())
    let outbound: WebSocketOutboundWriter
    let maxMessage: Int
    static let maxRounds = 16

    init(outbound: WebSocketOutboundWriter, limits: RPCLimits) {
        self.outbound = outbound
        maxMessage = limits.maxWebSocketMessage
    }

    /// Writes `frames` (with whatever else is queued) and returns once they are written, or
    /// dropped because the connection failed or closed. Throws nothing: a failed write closes the
    /// writer and is returned as false.
    @discardableResult
    func write(_ frames: [RPCFrame]) async -> Bool {
        guard !frames.isEmpty else { return true }
        let mustWrite = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let turn: Turn = state.withLock { s in
                if s.closed { return .dropped }
                s.queue.append(contentsOf: frames)
                if s.writing { s.waiting.append(c); return .wait }
                s.writing = true
                return .write
            }
            switch turn {
            case .wait: break
            case .write: c.resume(returning: true)
            case .dropped: c.resume(returning: false)
            }
        }
        guard mustWrite else { return !state.withLock { $0.closed } }
        return await writeQueued()
    }

    /// The writer's turn: empties the queue, hands over or stops.
    private func writeQueued() async -> Bool {
        var rounds = 0
        while true {
            let (batch, written): ([RPCFrame], [CheckedContinuation<Bool, Never>]) = state.withLock { s in
                defer { s.queue = []; s.waiting = [] }
                return (s.queue, s.waiting)
            }
            do {
                try await outbound.write(batch, maxMessage: maxMessage)
            } catch {
                let stranded: [CheckedContinuation<Bool, Never>] = state.withLock { s in
                    s.closed = true
                    s.writing = false
                    defer { s.queue = []; s.waiting = [] }
                    return s.waiting
                }
                for c in written + stranded { c.resume(returning: false) }
                return false
            }
            for c in written { c.resume(returning: false) }
            rounds += 1
            let next: (done: Bool, heir: CheckedContinuation<Bool, Never>?) = state.withLock { s in
                if s.queue.isEmpty {
                    s.writing = false
                    return (true, nil)
                }
                if rounds >= Self.maxRounds, !s.waiting.isEmpty { return (true, s.waiting.removeFirst()) }
                return (false, nil)
            }
            if let heir = next.heir { heir.resume(returning: true) }
            if next.done { return true }
        }
    }

    /// The connection ended: later writes return at once; the tasks waiting are let go.
    func close() {
        let stranded: [CheckedContinuation<Bool, Never>] = state.withLock { s in
            s.closed = true
            if s.writing { return [] }  // the writer lets its waiters go when its write fails or ends
            defer { s.queue = []; s.waiting = [] }
            return s.waiting
        }
        for c in stranded { c.resume(returning: false) }
    }
}

extension WebSocketOutboundWriter {
    /// Writes `frames` in order, packed into as few binary messages of at most `maxMessage` bytes as fit.
    func write(_ frames: [RPCFrame], maxMessage: Int) async throws {
        for message in RPCFrame.encodeBatch(frames, maxMessage: maxMessage) { try await write(.binary(ByteBuffer(bytes: message))) }
    }
}
