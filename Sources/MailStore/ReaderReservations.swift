import Synchronization

/// How many of a pool's readers are in use or asked for, so that a read can run on the calling
/// thread only when it will not wait for one (`MailboxDatabase.read(small:_:)`). Every read of
/// the pool reserves first: async reads with `reserve()` (they may wait, on GRDB's own queue),
/// a read on the calling thread with `reserveIfFree()`.
final class ReaderReservations: Sendable {
    private let count = Mutex(0)
    let limit: Int

    init(limit: Int) { self.limit = max(1, limit) }

    /// Counts a read that may wait for a reader.
    func reserve() { count.withLock { $0 += 1 } }

    /// Counts a read only if a reader is free now (fewer reads than readers): then the pool
    /// gives it one without waiting.
    func reserveIfFree() -> Bool {
        count.withLock { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    func release() { count.withLock { $0 -= 1 } }

    /// Reads in use or asked for (tests).
    var inUse: Int { count.withLock { $0 } }
}
