import Synchronization

/// Caps the number of concurrent sessions per mailbox (a client opening connections in a loop
/// cannot exhaust the server for the others). Shared by every listener of a node.
public final class SessionLimiter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    public let maxPerMailbox: Int

    public init(maxPerMailbox: Int = 100) { self.maxPerMailbox = maxPerMailbox }

    /// Takes a slot; false when the mailbox already has `maxPerMailbox` sessions.
    public func acquire(_ mailboxID: String) -> Bool {
        counts.withLock { c in
            let n = c[mailboxID, default: 0]
            guard n < maxPerMailbox else { return false }
            c[mailboxID] = n + 1
            return true
        }
    }

    public func release(_ mailboxID: String) {
        counts.withLock { c in
            let n = c[mailboxID, default: 0] - 1
            c[mailboxID] = n > 0 ? n : nil
        }
    }

    public func count(_ mailboxID: String) -> Int { counts.withLock { $0[mailboxID, default: 0] } }
    /// Every mailbox's sessions together (a cluster node's heartbeat).
    public var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}
