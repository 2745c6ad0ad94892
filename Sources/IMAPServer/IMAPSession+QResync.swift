import IMAPCore
import MailboxAPI

/// ENABLE (RFC 5161) and what it turns on: CONDSTORE and QRESYNC (RFC 7162), IMAP4rev2
/// (RFC 9051). QRESYNC's resynchronisation at SELECT and its VANISHED responses live here too.
extension IMAPSession {
    /// QRESYNC enabled: expunges are reported as `* VANISHED uids` (RFC 7162 §3.2.10).
    var qresyncEnabled: Bool { enabled.contains("QRESYNC") }
    /// IMAP4rev2 enabled (RFC 9051): no \Recent, SEARCH answered with ESEARCH, LIST at SELECT.
    var rev2: Bool { enabled.contains("IMAP4REV2") }
    /// Mailbox names are UTF-8 on the wire both ways (RFC 9755 UTF8=ACCEPT, RFC 9051 §5.1 IMAP4rev2),
    /// not modified UTF-7.
    var utf8Names: Bool { rev2 || enabled.contains("UTF8=ACCEPT") }

    /// A SEARCH, SORT or THREAD charset other than the ones strings are searched in: `NO
    /// [BADCHARSET]`; once UTF8=ACCEPT is on, `BAD` (RFC 6855 §3 with erratum 4029: the label
    /// conflicts with the UTF-8 the session speaks). True when the command was answered.
    func charsetRefused(_ tag: String, _ charset: String?) -> Bool {
        guard let charset, !Self.searchCharsets.contains(charset.uppercased()) else { return false }
        if enabled.contains("UTF8=ACCEPT") {
            bad(tag, "Charset \(charset) conflicts with UTF8=ACCEPT: send UTF-8 without a charset")
        } else {
            no(tag, "Unsupported charset", code: .badCharset(Self.searchCharsets))
        }
        return true
    }

    /// Enables what it can of `names` and returns those newly enabled, as ENABLED lists them.
    /// QRESYNC implies CONDSTORE (RFC 7162 §3.2.3).
    func enable(_ names: [String]) -> [String] {
        var now: [String] = []
        for name in names {
            switch name.uppercased() {
            case "CONDSTORE" where !enabled.contains("CONDSTORE"):
                enableCondStore(); now.append("CONDSTORE")
            case "QRESYNC" where !qresyncEnabled:
                enableCondStore(); enabled.insert("QRESYNC"); now.append("QRESYNC")
            case "IMAP4REV2" where !rev2:
                enabled.insert("IMAP4REV2"); now.append("IMAP4rev2")
            case "UTF8=ACCEPT" where !enabled.contains("UTF8=ACCEPT"):
                enabled.insert("UTF8=ACCEPT"); now.append("UTF8=ACCEPT")
            default:
                break
            }
        }
        if enabled.contains("CONDSTORE") { selected?.condStore = true }
        return now
    }

    /// RFC 7162 §3.2.5.2: after SELECT/EXAMINE's usual responses, the known UIDs that vanished
    /// since the client's MODSEQ, then UID, FLAGS and MODSEQ of every known message changed since.
    /// Nothing when the client's UIDVALIDITY is not the folder's: it must resynchronise in full.
    func resynchronize(_ p: QResyncParameters, view: SelectedMailbox, records: [MessageRecord], uidNext: UID,
                       mailbox: any MailboxSession) async throws {
        guard p.uidValidity == view.uidValidity else { return }
        let since = Int64(clamping: p.modSeq)
        let tombstones = try await mailbox.expunged(in: view.path, since: since)
        let historyStart = try await mailbox.expungeHistoryStart(in: view.path)
        var pairs: [(UInt32, UID)] = []
        if let numbers = p.knownSequenceNumbers, let uids = p.knownSequenceUIDs {
            // Only the pairs up to the first that no longer matches count: no need to read further.
            for (n, uid) in zip(numbers.numbers(), uids.numbers()) {
                pairs.append((n, uid))
                guard Int(n) <= view.count, view.uids[Int(n) - 1] == uid else { break }
            }
        }
        let known = p.knownUIDs.map { $0.resolved(max: .max) } ?? [1 ... max(1, uidNext &- 1)]
        let vanished = QResyncVanished.earlier(tombstones: tombstones, historyComplete: since >= historyStart,
                                               current: view.uids, known: known, sequenceMatch: pairs)
        if !vanished.isEmpty { untagged(.vanished(earlier: true, uids: vanished.description)) }
        // Known-uids bound the FETCH responses too (as in Dovecot): a message above them is new to
        // the client, which learns of it from EXISTS and UIDNEXT.
        let knownSet = p.knownUIDs.map { UIDSet($0.resolved(max: .max)) }
        for (index, record) in records.enumerated() where record.modSeq > since && knownSet?.contains(record.uid) != false {
            untagged(.fetch(sequenceNumber: UInt32(index + 1), items: [
                .uid(record.uid), .flags(imapFlags(record.flags, record.keywords, recent: view.recent.contains(record.uid))),
                .modSeq(UInt64(max(record.modSeq, 1))),
            ]))
        }
    }

    /// `UID FETCH set … (CHANGEDSINCE n VANISHED)` (RFC 7162 §3.2.6): the UIDs of `set` expunged
    /// since `n`. `*` stands for every UID above the others (what a client asking `1:*` means).
    func fetchVanished(_ set: SequenceSet, since: UInt64, view: SelectedMailbox, mailbox: any MailboxSession) async throws {
        let asked = set.lastSearchResult ? UIDSet(savedSearch) : UIDSet(set.resolved(max: .max))
        let gone = try await mailbox.expunged(in: view.path, since: Int64(clamping: since)).filter(asked.contains)
        if !gone.isEmpty { untagged(.vanished(earlier: true, uids: UIDSet(gone).description)) }
    }
}

/// The UIDs a QRESYNC SELECT reports in `VANISHED (EARLIER)` (RFC 7162 §3.2.5.2). Pure.
enum QResyncVanished {
    /// With the expunge history complete since the client's MODSEQ (`historyComplete`), exactly
    /// the `tombstones` among the `known` UIDs. Without it, a superset, as the RFC allows: every
    /// known UID that no longer exists, but those at or below the last `sequenceMatch` pair (in
    /// order, up to the first mismatch) whose number still names its UID: no message below it can
    /// have gone (UIDs only grow, so nothing can have come in below it either).
    /// `current` is the folder's UIDs, ascending; `known` ranges are ascending and disjoint.
    /// A tombstone of a message still in `current` (expunged between the two reads) is left for
    /// the VANISHED that will announce it.
    static func earlier(tombstones: [UID], historyComplete: Bool, current: [UID], known: [ClosedRange<UID>],
                        sequenceMatch: [(number: UInt32, uid: UID)]) -> UIDSet {
        let knownSet = UIDSet(known)
        let currentSet = UIDSet(current)
        let gone = tombstones.filter { knownSet.contains($0) && !currentSet.contains($0) }
        if historyComplete { return UIDSet(gone) }
        var floor: UID = 0
        for pair in sequenceMatch {
            guard pair.number >= 1, Int(pair.number) <= current.count, current[Int(pair.number) - 1] == pair.uid else { break }
            floor = max(floor, pair.uid)
        }
        var gaps: [ClosedRange<UID>] = []
        for range in knownSet.ranges where range.upperBound > floor {
            var low = max(range.lowerBound, floor &+ 1)
            // the first current UID >= low
            var lo = 0, hi = current.count
            while lo < hi { let mid = (lo + hi) / 2; if current[mid] < low { lo = mid + 1 } else { hi = mid } }
            var i = lo
            while low <= range.upperBound {
                guard i < current.count, current[i] <= range.upperBound else { gaps.append(low ... range.upperBound); break }
                if current[i] > low { gaps.append(low ... current[i] - 1) }
                if current[i] == UID.max { break }
                low = current[i] + 1
                i += 1
            }
        }
        return UIDSet(gaps + gone.map { $0 ... $0 })
    }
}
