import Crypto
import Foundation

/// The sealed queue entries a mailbox took last, by a digest of their sealed bytes (kept in its
/// `meta` as `queue_recent`, written in the transaction that delivers them).
///
/// The queue's sequence number (`queue_seq`) is what keeps a delivery from happening twice on one
/// node. It does not survive a move to another node or a restore from a backup, where the entries
/// are numbered again: an entry already in the mailbox whose removal from the old node's queue had
/// not happened yet (the node died between the mailbox's commit and the queue's, or a move closed
/// the file under a drain) would be delivered again there. Such an entry is always among the last
/// page a drain took (`SealedQueue.drainBatchEntries`), so the last `capacity` digests are enough.
struct DeliveredSeals {
    static let capacity = 128
    static let digestBytes = 16
    static let metaKey = "queue_recent"

    private(set) var digests: [Data]

    init(_ stored: Data?) {
        var digests: [Data] = []
        if let stored {
            var start = stored.startIndex
            while start + Self.digestBytes <= stored.endIndex {
                digests.append(stored[start ..< start + Self.digestBytes])
                start += Self.digestBytes
            }
        }
        self.digests = digests
    }

    static func digest(_ blob: [UInt8]) -> Data { Data(SHA256.hash(data: blob).prefix(digestBytes)) }

    func contains(_ digest: Data) -> Bool { digests.contains(digest) }

    mutating func append(_ digest: Data) {
        digests.append(digest)
        if digests.count > Self.capacity { digests.removeFirst(digests.count - Self.capacity) }
    }

    var stored: Data { digests.reduce(into: Data()) { $0.append($1) } }
}
