import IMAPCore
import MailboxAPI

/// The selected folder as this session's client sees it: message sequence numbers map to UIDs,
/// flags as last told to the client, and what has changed since (RFC 3501 §5.2, §7.4.1).
struct SelectedMailbox {
    let path: String
    let readOnly: Bool
    let uidValidity: UInt32
    /// UIDs in sequence order (sequence number n is `uids[n-1]`), including expunged messages the
    /// client has not been told about yet.
    private(set) var uids: [UID]
    /// Flags and keywords as last told to the client, parallel to `uids`.
    private(set) var flags: [MessageFlags]
    private(set) var keywords: [[String]]
    /// Messages that are \Recent for this session. May hold UIDs claimed from the store before the
    /// view holds their messages (a claim can see a message that arrived after the view's read):
    /// they count once the view holds them (`recentCount`).
    var recent: Set<UID>
    /// Expunged by someone, not yet announced (an EXPUNGE may not be sent during FETCH/STORE/SEARCH).
    private(set) var pendingExpunges: Set<UID> = []
    /// The folder's MODSEQ this view reflects.
    var knownModSeq: Int64
    /// While expunges are held back (`pendingExpunges`): a MODSEQ below the lowest of theirs (the
    /// view's MODSEQ before it learnt of the first). RFC 7162 §3.2.10: the client's HIGHESTMODSEQ
    /// must not pass an expunge it has not been told about.
    private(set) var expungeFloor: Int64?
    /// The number of messages the client was last told (`* n EXISTS`).
    private(set) var announcedCount: Int
    /// CONDSTORE enabled for this selection (FETCH responses carry MODSEQ).
    var condStore: Bool
    /// Keywords the client was told about in FLAGS (at SELECT, then by `learnKeywords`).
    private(set) var knownKeywords: Set<String>
    /// RFC 5267 update contexts (SEARCH/SORT RETURN (UPDATE)): they end with the selection.
    var updateContexts: [SearchUpdateContext] = []

    init(path: String, readOnly: Bool, info: FolderInfo, records: [MessageRecord], recent: Set<UID>, condStore: Bool) {
        self.path = path
        self.readOnly = readOnly
        self.uidValidity = info.uidValidity
        self.uids = records.map(\.uid)
        self.flags = records.map(\.flags)
        self.keywords = records.map(\.keywords)
        self.recent = recent
        self.knownModSeq = max(info.highestModSeq, records.map(\.modSeq).max() ?? 0)
        self.announcedCount = records.count
        self.condStore = condStore
        self.knownKeywords = Set(records.flatMap(\.keywords))
    }

    /// The same folder selected again in this session: `previous` brought up to date with what
    /// changed after the MODSEQ it reflects (`changes`), instead of reading every message again.
    /// nil when that is not sound (another folder or UIDVALIDITY): read it all.
    init?(reselecting previous: SelectedMailbox, changes: FolderChanges, info: FolderInfo, readOnly: Bool, recent: Set<UID>, condStore: Bool) {
        guard previous.path == info.path, previous.uidValidity == info.uidValidity, let folder = changes.folder,
              folder.uidValidity == info.uidValidity else { return nil }
        let gone = previous.pendingExpunges.union(changes.expunged)
        // The previous arrays as they are when nothing changed (a client switching back and
        // forth); else walked once, the changed states put in place and the new UIDs (all above
        // the previous ones: UIDs only grow) added at the end.
        var uids = previous.uids, flags = previous.flags, keywords = previous.keywords
        if !gone.isEmpty || !changes.changed.isEmpty {
            var changed: [UID: MessageRecord] = [:]
            for record in changes.changed where !gone.contains(record.uid) { changed[record.uid] = record }
            let added = changed.keys.filter { previous.sequenceNumber(of: $0) == nil }.sorted()
            if let first = added.first, first <= previous.maxUID { return nil }  // not a view this can bring up to date
            uids = []; flags = []; keywords = []
            uids.reserveCapacity(previous.uids.count + added.count)
            flags.reserveCapacity(previous.uids.count + added.count)
            keywords.reserveCapacity(previous.uids.count + added.count)
            for (i, uid) in previous.uids.enumerated() where !gone.contains(uid) {
                uids.append(uid)
                if let r = changed[uid] { flags.append(r.flags); keywords.append(r.keywords) }
                else { flags.append(previous.flags[i]); keywords.append(previous.keywords[i]) }
            }
            for uid in added { uids.append(uid); flags.append(changed[uid]!.flags); keywords.append(changed[uid]!.keywords) }
        }
        self.path = info.path
        self.readOnly = readOnly
        self.uidValidity = info.uidValidity
        self.uids = uids
        self.flags = flags
        self.keywords = keywords
        self.recent = recent
        self.knownModSeq = max(info.highestModSeq, folder.highestModSeq, previous.knownModSeq, changes.changed.reduce(0) { max($0, $1.modSeq) })
        self.announcedCount = uids.count
        self.condStore = condStore
        self.knownKeywords = keywords.allSatisfy({ $0.isEmpty }) ? [] : Set(keywords.joined())
    }

    /// The UIDs at or above `uid` (EXAMINE's \\Recent: those not claimed yet).
    func uidsFrom(_ uid: UID) -> [UID] { uids.filter { $0 >= uid } }

    /// Sequence number of the first message without \Seen (SELECT's `[UNSEEN n]`).
    var firstUnseen: Int? { flags.firstIndex { !$0.contains(.seen) }.map { $0 + 1 } }

    var count: Int { uids.count }
    /// RECENT: the \Recent messages the view holds, so never more than EXISTS (`count`).
    var recentCount: Int { recent.reduce(0) { $0 + (sequenceNumber(of: $1) == nil ? 0 : 1) } }
    var maxUID: UID { uids.last ?? 0 }

    func sequenceNumber(of uid: UID) -> Int? {
        // uids are ascending: binary search.
        var lo = 0, hi = uids.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if uids[mid] == uid { return mid + 1 }
            if uids[mid] < uid { lo = mid + 1 } else { hi = mid - 1 }
        }
        return nil
    }

    func isExpunged(_ uid: UID) -> Bool { pendingExpunges.contains(uid) }

    /// Sequence numbers (1-based) selected by `set`: as message sequence numbers, or as UIDs.
    /// nil when a message sequence number is out of range (the command is then BAD).
    func select(_ set: SequenceSet, byUID: Bool) -> [Int]? {
        if byUID {
            let ranges = set.resolved(max: maxUID)
            var result: [Int] = []
            for r in ranges {
                // first index with uid >= lower bound
                var lo = 0, hi = uids.count
                while lo < hi { let mid = (lo + hi) / 2; if uids[mid] < r.lowerBound { lo = mid + 1 } else { hi = mid } }
                var i = lo
                while i < uids.count, uids[i] <= r.upperBound { result.append(i + 1); i += 1 }
            }
            return result
        }
        let ranges = set.resolved(max: UInt32(uids.count))
        var result: [Int] = []
        for r in ranges {
            guard r.lowerBound >= 1, r.upperBound <= UInt32(uids.count) else { return nil }
            result.append(contentsOf: (Int(r.lowerBound)...Int(r.upperBound)))
        }
        return result
    }

    /// The UIDs of `sequenceNumbers` (ascending) as ranges: a run of consecutive sequence numbers
    /// becomes one UID range, gaps left by expunged messages included (no message the view does
    /// not know can sit between two UIDs it knows: UIDs only grow). So `1:*` is one range however
    /// scattered the UIDs are, and the store scans each range once.
    func uidSet(_ sequenceNumbers: [Int]) -> UIDSet {
        var ranges: [ClosedRange<UID>] = []
        var start = 0, previous = 0
        for seq in sequenceNumbers {
            if start != 0, seq == previous + 1 { previous = seq; continue }
            if start != 0 { ranges.append(uids[start - 1] ... uids[previous - 1]) }
            start = seq; previous = seq
        }
        if start != 0 { ranges.append(uids[start - 1] ... uids[previous - 1]) }
        return UIDSet(ranges)
    }

    mutating func setFlags(seq: Int, _ f: MessageFlags, _ k: [String]) {
        flags[seq - 1] = f
        keywords[seq - 1] = k
    }

    /// Takes note of keywords about to be shown; returns every known keyword, sorted, when some
    /// were new (the client must then get FLAGS and PERMANENTFLAGS first, RFC 3501 §7.2.6).
    mutating func learnKeywords(_ k: some Sequence<String>) -> [String]? {
        var added = false
        for keyword in k where !knownKeywords.contains(keyword) { knownKeywords.insert(keyword); added = true }
        return added ? knownKeywords.sorted() : nil
    }

    /// New messages (UIDs above the current maximum), in UID order.
    mutating func appendNew(_ records: [MessageRecord]) {
        for r in records where r.uid > maxUID {
            uids.append(r.uid); flags.append(r.flags); keywords.append(r.keywords)
        }
    }

    /// `knownBefore`: the view's MODSEQ before the read that found them (below their MODSEQ).
    mutating func markExpunged(_ expunged: [UID], knownBefore: Int64) {
        for uid in expunged where sequenceNumber(of: uid) != nil {
            if pendingExpunges.isEmpty { expungeFloor = knownBefore }
            pendingExpunges.insert(uid)
        }
    }

    /// The HIGHESTMODSEQ the client may be told now: the view's, or below the held-back expunges.
    var reportableModSeq: Int64 { max(expungeFloor ?? knownModSeq, 1) }

    /// Removes the pending expunged messages and returns those to announce (sequence number and
    /// UID), in the order EXPUNGE responses must be sent (each number valid after the previous
    /// ones were applied).
    mutating func flushExpunges() -> [(sequenceNumber: UInt32, uid: UID)] {
        guard !pendingExpunges.isEmpty else { return [] }
        // Highest first: every announced number stays valid as the list shrinks.
        // A message the client was never told about (not yet in an EXISTS) goes silently.
        var result: [(sequenceNumber: UInt32, uid: UID)] = []
        var announcedGone = 0
        for index in stride(from: uids.count - 1, through: 0, by: -1) where pendingExpunges.contains(uids[index]) {
            if index < announcedCount { result.append((UInt32(index + 1), uids[index])); announcedGone += 1 }
            recent.remove(uids[index])
        }
        // One pass to rebuild the arrays (not one removal per message).
        var keptUIDs: [UID] = [], keptFlags: [MessageFlags] = [], keptKeywords: [[String]] = []
        keptUIDs.reserveCapacity(uids.count)
        for i in uids.indices where !pendingExpunges.contains(uids[i]) {
            keptUIDs.append(uids[i]); keptFlags.append(flags[i]); keptKeywords.append(keywords[i])
        }
        uids = keptUIDs; flags = keptFlags; keywords = keptKeywords
        pendingExpunges = []
        expungeFloor = nil
        announcedCount -= announcedGone
        return result
    }

    /// Whether the client must be told `* n EXISTS`.
    mutating func takeExistsUpdate() -> Int? {
        guard uids.count != announcedCount else { return nil }
        announcedCount = uids.count
        return uids.count
    }
}

extension FetchResponseItem {
    var isModSeq: Bool { if case .modSeq = self { true } else { false } }
}
