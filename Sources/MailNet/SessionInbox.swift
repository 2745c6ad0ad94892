import Synchronization

/// Everything a session waits for, in one place: the client's frames (with back-pressure: the
/// reader stops pulling from the socket while `frameCapacity` frames wait), mailbox changes
/// (coalesced: the session re-reads the mailbox state rather than replaying each change), a
/// periodic tick for timeouts, and graceful shutdown.
public final class SessionInbox<Frame: Sendable>: Sendable {
    public enum Event: Sendable {
        case frame(Frame)
        /// The mailbox changed (other sessions, deliveries); `revoked` when the session's password was revoked.
        case changes(revoked: Bool)
        case tick
        case shutdown
        /// The client closed the connection (or reading failed).
        case closed
    }

    private struct State {
        var frames: [Frame] = []
        var closed = false
        var shutdown = false
        var changed = false
        var revoked = false
        var tick = false
        var framesTaken = 0
        var consumer: CheckedContinuation<Event, Never>?
        var producers: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())
    public let frameCapacity: Int

    public init(frameCapacity: Int = 16) { self.frameCapacity = frameCapacity }

    /// Called by the reader task; suspends while the queue is full.
    public func push(frame: Frame) async {
        while true {
            let full: Bool = state.withLock { s in s.frames.count >= frameCapacity && !s.shutdown && !s.closed }
            if !full { break }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.frames.count < frameCapacity || s.shutdown || s.closed { return true }
                    s.producers.append(c); return false
                }
                if resumeNow { c.resume() }
            }
        }
        deliver { $0.frames.append(frame) }
    }

    public func pushClosed() { deliver { $0.closed = true } }
    public func pushShutdown() { deliver { $0.shutdown = true } }
    public func pushTick() { deliver { $0.tick = true } }
    public func pushChange(revoked: Bool) { deliver { $0.changed = true; if revoked { $0.revoked = true } } }

    private func deliver(_ change: (inout State) -> Void) {
        let (consumer, event, producers) = state.withLock { s -> (CheckedContinuation<Event, Never>?, Event?, [CheckedContinuation<Void, Never>]) in
            change(&s)
            // Once closed, a reader waiting for room must not wait forever.
            var producers: [CheckedContinuation<Void, Never>] = []
            if s.closed { producers = s.producers; s.producers = [] }
            guard let c = s.consumer, let e = Self.take(&s, framesOnly: false) else { return (nil, nil, producers) }
            s.consumer = nil
            return (c, e, producers)
        }
        producers.forEach { $0.resume() }
        if let consumer, let event { consumer.resume(returning: event) }
    }

    /// The next event. Shutdown and a revoked password come first; frames before changes, so a
    /// client's pipelined commands are answered before untagged updates pile up.
    public func next() async -> Event {
        await withCheckedContinuation { (c: CheckedContinuation<Event, Never>) in
            let (event, producers) = state.withLock { s -> (Event?, [CheckedContinuation<Void, Never>]) in
                if let e = Self.take(&s, framesOnly: false) {
                    let p = s.producers; s.producers = []
                    return (e, p)
                }
                s.consumer = c
                return (nil, [])
            }
            producers.forEach { $0.resume() }
            if let event { c.resume(returning: event) }
        }
    }

    /// Takes a pending mailbox change (not a revocation) now, ahead of the frames: a command that
    /// answers from the session's own view of the mailbox first learns whether that view is behind.
    public func takeChange() -> Bool {
        state.withLock { s in
            guard s.changed, !s.revoked else { return false }
            s.changed = false
            return true
        }
    }

    /// How many frames the session has taken (for the STARTTLS pipelining check).
    public var framesTaken: Int { state.withLock { $0.framesTaken } }

    /// Whether a frame is waiting (the client pipelined another command).
    public var hasPendingFrame: Bool { state.withLock { !$0.frames.isEmpty } }

    private static func take(_ s: inout State, framesOnly: Bool) -> Event? {
        if s.shutdown { s.shutdown = false; return .shutdown }
        if s.revoked { s.revoked = false; s.changed = false; return .changes(revoked: true) }
        if !s.frames.isEmpty { s.framesTaken += 1; return .frame(s.frames.removeFirst()) }
        if s.closed { return .closed }
        if s.changed { s.changed = false; return .changes(revoked: false) }
        if s.tick { s.tick = false; return .tick }
        return nil
    }
}
