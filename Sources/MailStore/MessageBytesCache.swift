import Foundation
import Synchronization

/// The whole bytes of recently read messages of the open mailboxes, so that a message fetched
/// again (a second client of the same account, a message opened twice, a client re-reading what
/// it just listed) is not read and decrypted page by page again: what the operating system's page
/// cache does for a server that keeps plaintext files, kept here in memory only.
///
/// One per process, bounded as a whole (`capacity` bytes, least recently used first out); only
/// messages below `maxEntryBytes` enter. Keyed by mailbox and content id (content ids are taken
/// from a counter and never reused, and a content never changes). A mailbox's entries leave with
/// its key: `MailboxDatabase.close` removes them when the mailbox locks.
final class MessageBytesCache: Sendable {
    static let shared = MessageBytesCache()

    struct Key: Hashable, Sendable {
        var mailboxID: String
        var contentID: Int64
    }

    private struct State {
        var entries: [Key: (bytes: [UInt8], tick: UInt64)] = [:]
        var total = 0
        var tick: UInt64 = 0
        var hits = 0, misses = 0
    }
    private let state = Mutex(State())
    let capacity: Int
    let maxEntryBytes: Int

    init(capacity: Int = 64 << 20, maxEntryBytes: Int = 1 << 20) {
        self.capacity = capacity
        self.maxEntryBytes = min(maxEntryBytes, capacity / 8)
    }

    func bytes(mailboxID: String, contentID: Int64) -> [UInt8]? {
        state.withLock { s in
            let key = Key(mailboxID: mailboxID, contentID: contentID)
            guard var entry = s.entries[key] else { s.misses += 1; return nil }
            s.hits += 1
            s.tick += 1
            entry.tick = s.tick
            s.entries[key] = entry
            return entry.bytes
        }
    }

    func insert(_ bytes: [UInt8], mailboxID: String, contentID: Int64) {
        guard bytes.count <= maxEntryBytes else { return }
        state.withLock { s in
            let key = Key(mailboxID: mailboxID, contentID: contentID)
            guard s.entries[key] == nil else { return }
            s.tick += 1
            s.entries[key] = (bytes, s.tick)
            s.total += bytes.count
            guard s.total > capacity else { return }
            // Evict the least recently used eighth at once: one sort per many inserts, not one scan each.
            let sorted = s.entries.sorted { $0.value.tick < $1.value.tick }
            var index = 0
            while index < sorted.count, s.total > capacity - capacity / 8 {
                s.total -= sorted[index].value.bytes.count
                s.entries.removeValue(forKey: sorted[index].key)
                index += 1
            }
        }
    }

    func removeAll(mailboxID: String) {
        state.withLock { s in
            for key in s.entries.keys where key.mailboxID == mailboxID {
                s.total -= s.entries.removeValue(forKey: key)?.bytes.count ?? 0
            }
        }
    }

    /// Bytes held, entries, hits and misses (tests, metrics).
    var statistics: (bytes: Int, entries: Int, hits: Int, misses: Int) {
        state.withLock { ($0.total, $0.entries.count, $0.hits, $0.misses) }
    }
}
