import Foundation
import Synchronization

/// Decoded search text of recently searched messages, so that confirming full-text candidates does
/// not re-assemble and re-parse the same messages search after search. Keyed by the content's
/// SHA-256 (content ids can be reused after a delete; a hash cannot go stale). In memory only, and
/// owned by the open mailbox: it goes away with the key when the mailbox locks.
final class SearchTextCache: Sendable {
    private struct State {
        var entries: [Data: (text: [String], cost: Int)] = [:]
        var order: [Data] = []
        var bytes = 0
    }
    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 32 * 1024 * 1024) { self.capacity = capacity }

    /// The searchable columns of a message (subject, addresses, body, attachment names).
    func text(for sha256: Data) -> [String]? { state.withLock { $0.entries[sha256]?.text } }

    func insert(_ text: [String], for sha256: Data) {
        let cost = text.reduce(64) { $0 + $1.utf8.count }
        guard cost <= capacity / 4 else { return }
        state.withLock { s in
            guard s.entries[sha256] == nil else { return }
            s.entries[sha256] = (text, cost)
            s.order.append(sha256)
            s.bytes += cost
            var drop = 0
            while s.bytes > capacity, drop < s.order.count {
                if let old = s.entries.removeValue(forKey: s.order[drop]) { s.bytes -= old.cost }
                drop += 1
            }
            if drop > 0 { s.order.removeFirst(drop) }
        }
    }

    func removeAll() { state.withLock { $0 = State() } }
}
