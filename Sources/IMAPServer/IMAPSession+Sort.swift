import Foundation
import IMAPCore
import MIMEParser
import MailboxAPI

/// SORT (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO, RFC 5267 ESORT) and THREAD (RFC 5256).
///
/// What they read: the search's message states (the index rows: UID, flags, internal date, size),
/// then, only when a key needs the header, each matching message's `MessageSortFacts` from the
/// store's derived bytes (one narrow row per message, some 100 to 300 bytes). A message without
/// them yet has its header block read (not its body) and parsed once; the facts are kept for next
/// time. ARRIVAL and SIZE read nothing more than the index rows.
extension IMAPSession {
    static let searchCharsets = ["UTF-8", "US-ASCII"]

    func sort(_ tag: String, _ command: SortCommand, mailbox: any MailboxSession) async throws {
        guard let view = selected else { return }
        if charsetRefused(tag, command.charset) { return }
        let opts = Set(command.returnOptions ?? [])
        if opts.contains("UPDATE"), updateTagInUse(tag) { bad(tag, "Tag reuse: an update context has this tag"); return }
        let matches = try await matchingRecords(command.key, view: view, mailbox: mailbox)
        let facts = command.criteria.contains(where: \.key.readsHeader)
            ? try await sortFacts(of: matches, path: view.path, mailbox: mailbox) : [:]
        let rows = matches.map { SortRow(record: $0, seq: view.sequenceNumber(of: $0.uid) ?? 0, facts: facts[$0.uid]) }
        let sorted = rows.sorted { Self.precedes($0, $1, by: command.criteria) }
        let numbers = sorted.map { command.uid ? $0.record.uid : UInt32($0.seq) }
        let highest = command.key.mentionsModSeq ? matches.map { UInt64($0.modSeq) }.max() : nil
        if command.returnOptions != nil {
            // RFC 5267 §3.2: MIN and MAX are the first and last in sort order; ALL keeps the order.
            if opts.contains("SAVE") { savedSearch = matches.map(\.uid) }
            if opts.contains("UPDATE") {
                // The context compares by UID where the sort compared by sequence number: the same order.
                let kept = sorted.map { SortRow(record: $0.record, seq: Int($0.record.uid), facts: $0.facts) }
                startUpdateContext(tag, key: command.key, criteria: command.criteria, uid: command.uid, members: matches.map(\.uid), rows: kept)
            }
            let wanted = Self.resultOptions(opts)
            var items: [(String, String)] = []
            if wanted.contains("MIN"), let m = numbers.first { items.append(("MIN", "\(m)")) }
            if wanted.contains("MAX"), let m = numbers.last { items.append(("MAX", "\(m)")) }
            if wanted.contains("ALL"), !numbers.isEmpty { items.append(("ALL", IMAPResponseEncoder.sortedSet(numbers))) }
            // RFC 5267 §4.4: the range of the sorted result.
            if let partial = command.partial {
                let window = partial.indices(count: numbers.count)
                items.append(("PARTIAL", "(\(partial) \(window.isEmpty ? "NIL" : IMAPResponseEncoder.sortedSet(Array(numbers[window]))))"))
            }
            if wanted.contains("COUNT") { items.append(("COUNT", "\(numbers.count)")) }
            if let highest { items.append(("MODSEQ", "\(highest)")) }
            if opts != ["SAVE"] { untagged(.esearch(tag: tag, uid: command.uid, items: items)) }
        } else {
            untagged(.sort(numbers, highestModSeq: highest))
        }
        try await sendUpdates(expungeAllowed: command.uid)
        ok(tag, "SORT completed")
        selected?.startUpdates(tag)
    }

    func thread(_ tag: String, _ command: ThreadCommand, mailbox: any MailboxSession) async throws {
        guard let view = selected else { return }
        if charsetRefused(tag, command.charset) { return }
        let matches = try await matchingRecords(command.key, view: view, mailbox: mailbox)
        let facts = try await sortFacts(of: matches, path: view.path, mailbox: mailbox)
        let messages = matches.map { r in
            let f = facts[r.uid] ?? .unknown
            return ThreadMessage(number: command.uid ? r.uid : UInt32(view.sequenceNumber(of: r.uid) ?? 0),
                                 sentDate: f.sentDate ?? Self.seconds(r.internalDate), subject: f.subject,
                                 isReplyOrForward: f.isReplyOrForward, messageID: f.messageID, references: f.references)
        }
        switch command.algorithm {
        case .orderedSubject: untagged(.thread(MessageThreading.orderedSubject(messages)))
        case .references: untagged(.thread(MessageThreading.references(messages)))
        }
        try await sendUpdates(expungeAllowed: command.uid)
        ok(tag, "THREAD completed")
    }

    /// One message being sorted.
    struct SortRow {
        var record: MessageRecord
        var seq: Int
        var facts: MessageSortFacts?
    }

    static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }

    /// Criteria in order, each possibly reversed; messages equal in all of them stay in sequence order.
    static func precedes(_ a: SortRow, _ b: SortRow, by criteria: [SortCriterion]) -> Bool {
        for c in criteria {
            let order = compare(a, b, c.key)
            if order != 0 { return c.reverse ? order > 0 : order < 0 }
        }
        return a.seq < b.seq
    }

    static func compare(_ a: SortRow, _ b: SortRow, _ key: SortKey) -> Int {
        func cmp<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : x > y ? 1 : 0 }
        func bytes(_ x: [UInt8], _ y: [UInt8]) -> Int { x == y ? 0 : x.lexicographicallyPrecedes(y) ? -1 : 1 }
        let fa = a.facts ?? .unknown, fb = b.facts ?? .unknown
        switch key {
        case .arrival: return cmp(seconds(a.record.internalDate), seconds(b.record.internalDate))
        // RFC 5256 §2.2: the Date: header, else the internal date.
        case .date: return cmp(fa.sentDate ?? seconds(a.record.internalDate), fb.sentDate ?? seconds(b.record.internalDate))
        case .size: return cmp(a.record.size, b.record.size)
        case .subject: return bytes(fa.subject, fb.subject)
        case .from: return bytes(fa.from, fb.from)
        case .to: return bytes(fa.to, fb.to)
        case .cc: return bytes(fa.cc, fb.cc)
        case .displayFrom: return bytes(fa.displayFrom, fb.displayFrom)
        case .displayTo: return bytes(fa.displayTo, fb.displayTo)
        }
    }

    /// The sort facts of `records`: the stored ones, and for the others their header read, parsed
    /// and the facts kept (a failure to keep them only means deriving them again next time).
    func sortFacts(of records: [MessageRecord], path: String, mailbox: any MailboxSession) async throws -> [UID: MessageSortFacts] {
        guard !records.isEmpty else { return [:] }
        let kind = MessageSortFacts.kind
        let stored = try await mailbox.derived([kind], in: path, uids: UIDSet(records.map(\.uid)))[kind] ?? [:]
        var facts: [UID: MessageSortFacts] = [:]
        var missing: [UID] = []
        for r in records {
            if let bytes = stored[r.uid], let f = MessageSortFacts(encoded: bytes) { facts[r.uid] = f } else { missing.append(r.uid) }
        }
        // Headers in batches, so that a first SORT of a large folder holds a bounded number of them.
        var start = 0
        while start < missing.count {
            let batch = Array(missing[start..<min(start + 1000, missing.count)])
            start += batch.count
            var fresh: [UID: [UInt8]] = [:]
            for (uid, header) in try await mailbox.messageHeaders(in: path, uids: UIDSet(batch)) {
                let f = MessageSortFacts(header: header)
                facts[uid] = f
                fresh[uid] = f.encoded()
            }
            try? await mailbox.keepDerived(kind, in: path, values: fresh)
        }
        return facts
    }
}

extension MessageSortFacts {
    /// A message whose header could not be read: no date, empty strings.
    static let unknown = MessageSortFacts(sentDate: nil, subject: [], isReplyOrForward: false, from: [], to: [], cc: [],
                                       displayFrom: [], displayTo: [], messageID: nil, references: [])
}
