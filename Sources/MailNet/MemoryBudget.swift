import Synchronization

/// Message bytes held in memory by all sessions of a server at once (the MX's messages until they
/// are sealed and committed, IMAP APPEND literals until they are stored): a message's plaintext
/// never touches the disk, so without a bound many large messages at once could exhaust memory.
/// Past the budget, a message's bytes are dropped as they arrive and it is refused once read
/// (SMTP 452 4.3.1, IMAP `NO [LIMIT]`): the client tries again later.
public final class MemoryBudget: Sendable {
    public let limit: Int
    private let used = Mutex(0)

    public init(limit: Int) { self.limit = limit }

    /// Takes `bytes` from the budget; false (nothing taken) when they do not fit.
    public func reserve(_ bytes: Int) -> Bool {
        used.withLock { used in
            guard used + bytes <= limit else { return false }
            used += bytes
            return true
        }
    }

    public func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.withLock { $0 = max(0, $0 - bytes) }
    }

    public var inUse: Int { used.withLock { $0 } }
}
