import Foundation
import IMAPCore
import MIMEParser
import MailboxAPI

extension IMAPSession {
    func search(_ tag: String, charset: String?, key: SearchKey, byUID: Bool, returnOptions: [String]?, partial: PartialRange? = nil,
                mailbox: any MailboxSession) async throws {
        guard let view = selected else { return }
        if charsetRefused(tag, charset) { return }
        let opts = Set((returnOptions ?? []).map { $0.uppercased() })
        if opts.contains("UPDATE"), updateTagInUse(tag) { bad(tag, "Tag reuse: an update context has this tag"); return }
        let matches = try await matchingRecords(key, view: view, mailbox: mailbox, statesNeeded: key.mentionsModSeq)
        let numbers: [UInt32] = matches.compactMap { r in byUID ? r.uid : view.sequenceNumber(of: r.uid).map(UInt32.init) }
        // RFC 7162 §3.1.5: with a MODSEQ criterion the answer carries the highest MODSEQ of the
        // messages it returns.
        func highest(_ returned: some Sequence<MessageRecord>) -> UInt64? {
            key.mentionsModSeq ? returned.lazy.map { UInt64(max($0.modSeq, 1)) }.max() : nil
        }
        // RFC 9051 §6.4.4: IMAP4rev2 answers every SEARCH with ESEARCH.
        if returnOptions != nil || rev2 {
            let all = Self.resultOptions(opts)
            if opts.contains("SAVE") {
                // RFC 5182 §2.4: with MIN and/or MAX alone, $ is the message(s) they return; with
                // ALL, COUNT (or PARTIAL), every match.
                let alone = partial == nil && !all.contains("ALL") && !all.contains("COUNT")
                savedSearch = alone ? Array(Set([all.contains("MIN") ? matches.first : nil, all.contains("MAX") ? matches.last : nil]
                    .compactMap { $0?.uid })).sorted() : matches.map(\.uid)
            }
            // RFC 5267 §4.3: UPDATE keeps the result for the client (after this command's OK).
            if opts.contains("UPDATE") {
                startUpdateContext(tag, key: key, criteria: nil, uid: byUID, members: matches.map(\.uid), rows: [])
            }
            var items: [(String, String)] = []
            // RFC 7162 §3.1.10: with MIN and/or MAX alone, the MODSEQ is that of the message(s)
            // they return; with ALL or COUNT, that of every match; with PARTIAL, of those in its
            // range. (Matches are in UID order: the first has the lowest number either way.)
            let window = partial.map { $0.indices(count: matches.count) } ?? 0..<0
            let returned = all.contains("ALL") || all.contains("COUNT") ? matches
                : [all.contains("MIN") ? matches.first : nil, all.contains("MAX") ? matches.last : nil].compactMap { $0 } + matches[window]
            if all.contains("MIN"), let m = numbers.min() { items.append(("MIN", "\(m)")) }
            if all.contains("MAX"), let m = numbers.max() { items.append(("MAX", "\(m)")) }
            if all.contains("ALL"), !numbers.isEmpty { items.append(("ALL", wireSet(numbers.sorted()))) }
            // RFC 5267 §4.4: the range as asked, and the results in it (mailbox order), or NIL.
            if let partial { items.append(("PARTIAL", "(\(partial) \(window.isEmpty ? "NIL" : wireSet(Array(numbers[window]))))")) }
            if all.contains("COUNT") { items.append(("COUNT", "\(numbers.count)")) }
            if let highest = highest(returned) { items.append(("MODSEQ", "\(highest)")) }
            if !(opts == ["SAVE"]) { untagged(.esearch(tag: tag, uid: byUID, items: items)) }
        } else {
            untagged(.search(numbers, highestModSeq: highest(matches)))
        }
        try await sendUpdates(expungeAllowed: byUID)
        ok(tag, "SEARCH completed")
        selected?.startUpdates(tag)
    }

    /// The return options that give result data (RFC 4731, RFC 5267 PARTIAL), ALL added when none
    /// is asked for (`RETURN ()`, or only SAVE, CONTEXT or UPDATE).
    static func resultOptions(_ opts: Set<String>) -> Set<String> {
        opts.isSubset(of: ["SAVE", "CONTEXT", "UPDATE"]) ? opts.union(["ALL"]) : opts
    }

    /// The messages of the selected folder that `key` matches, in sequence order (SEARCH, SORT, THREAD).
    /// `statesNeeded` false: the caller uses only the records' UIDs (SEARCH without MODSEQ), and a
    /// key that looks at UIDs and header fields alone (`SUBJECT`, `FROM`, … beside `UID`, `NOT`,
    /// `OR`) is answered without reading the folder's message states: the messages it is matched
    /// against are those the view shows whose fields the store still has (the same set the states
    /// would give), as records that carry their UID and the view's flags and nothing else.
    func matchingRecords(_ key: SearchKey, view: SelectedMailbox, mailbox: any MailboxSession,
                         statesNeeded: Bool = true) async throws -> [MessageRecord] {
        // SEARCH TEXT/BODY of one word (what a mail client's search box sends): the index's answer
        // is the answer; only its messages' states are read, not the whole folder's.
        // The messages of the view (not those whose expunge it holds back).
        let shown = { (r: MessageRecord) in view.sequenceNumber(of: r.uid) != nil && !view.isExpunged(r.uid) }
        if let (field, text) = key.fullTextOnly, let uids = try await mailbox.fullTextSearch(in: view.path, text: text, field: field) {
            guard !uids.isEmpty else { return [] }
            // Many hits (a common word): the folder's states in one read beat a read of a scattered set.
            let records = uids.count * 8 < view.count
                ? try await mailbox.messageStates(in: view.path, uids: UIDSet(uids), changedSince: nil)
                : try await mailbox.messageStates(in: view.path, uids: nil, changedSince: nil).filter { [hits = Set(uids)] in hits.contains($0.uid) }
            return records.filter(shown)
        }
        let fromView = !statesNeeded && key.readsFields && key.matchesOnUIDAndFields
        var records = fromView ? [] : try await mailbox.messageStates(in: view.path, uids: nil, changedSince: nil).filter(shown)
        var context = SearchContext(view: view, savedSearch: savedSearch, now: configuration.now())
        // SENTBEFORE/ON/SINCE: the Date: header's own calendar day, kept apart from the message rows.
        if key.mentionsSentDate { context.sentDays = try await mailbox.sentDays(in: view.path) }
        var cache: SearchFieldCache? = searchFieldCache
        try await context.prepare(key, mailbox: mailbox, cache: &cache)
        searchFieldCache = cache ?? SearchFieldCache()
        if fromView {
            records = view.uids.indices.compactMap { i in
                let uid = view.uids[i]
                guard context.fields[uid] != nil, !view.isExpunged(uid) else { return nil }
                return MessageRecord(uid: uid, modSeq: 0, flags: view.flags[i], keywords: view.keywords[i], internalDate: .distantPast, size: 0)
            }
        }
        var matches: [MessageRecord] = []
        for record in records {
            if try await context.matches(key, record, mailbox: mailbox) { matches.append(record) }
        }
        return matches
    }
}

extension IMAPCommand.Kind {
    /// RFC 7162 §3.1 "CONDSTORE enabling commands", but for SELECT/EXAMINE (CONDSTORE) and ENABLE,
    /// which enable it where they run: STATUS (HIGHESTMODSEQ), FETCH of MODSEQ or CHANGEDSINCE,
    /// SEARCH MODSEQ, STORE UNCHANGEDSINCE.
    var enablesCondStore: Bool {
        switch self {
        case .status(_, let attributes): attributes.contains(.highestModSeq)
        case .fetch(_, let attributes, _, let changedSince, _): changedSince != nil || attributes.contains(.modSeq)
        case .search(_, let key, _, _, _): key.mentionsModSeq
        case .store(_, let data, _): data.unchangedSince != nil
        default: false
        }
    }
}

extension SearchKey {
    /// Whether `test` holds for this key or any key inside it (AND, OR, NOT).
    func contains(where test: (SearchKey) -> Bool) -> Bool {
        if test(self) { return true }
        switch self {
        case .and(let keys): return keys.contains { $0.contains(where: test) }
        case .or(let a, let b): return a.contains(where: test) || b.contains(where: test)
        case .not(let k): return k.contains(where: test)
        default: return false
        }
    }

    /// The key is one TEXT or BODY word and nothing else (ALL beside it changes nothing): the
    /// full-text field and needle to ask the index for.
    var fullTextOnly: (FullTextField, String)? {
        switch self {
        case .text(let s) where !s.isEmpty: return (.text, s)
        case .body(let s) where !s.isEmpty: return (.body, s)
        case .and(let keys):
            let rest = keys.filter { if case .all = $0 { false } else { true } }
            return rest.count == 1 ? rest[0].fullTextOnly : nil
        default: return nil
        }
    }

    /// The key needs the stored header fields (SUBJECT, FROM, TO, CC, BCC, HEADER somewhere).
    var readsFields: Bool {
        contains {
            switch $0 {
            case .subject, .from, .to, .cc, .bcc, .header: true
            default: false
            }
        }
    }

    /// Every part of the key looks only at a message's UID, its sequence number, the session's
    /// \Recent set, its header fields or its text: none at its stored flags, dates, size or MODSEQ.
    var matchesOnUIDAndFields: Bool {
        !contains {
            switch $0 {
            case .all, .and, .or, .not, .sequenceNumbers, .uid, .recent, .old,
                 .subject, .from, .to, .cc, .bcc, .header, .body, .text: false
            default: true
            }
        }
    }

    var mentionsModSeq: Bool {
        contains { if case .modSeq = $0 { true } else { false } }
    }

    /// SENTBEFORE, SENTON or SENTSINCE somewhere in the key (they read the Date: header's value).
    var mentionsSentDate: Bool {
        contains {
            switch $0 {
            case .sentBefore, .sentOn, .sentSince: true
            default: false
            }
        }
    }
}

/// The search fields (decoded subject and addresses) of one folder's messages, as a session last
/// read them: a message's fields never change, so a later SEARCH asks the store only for the new
/// messages' fields (through a frontend, an answer of a few UIDs, not every message's fields).
/// Kept for folders of at most `maxMessages` messages.
struct SearchFieldCache {
    var path = ""
    var uidValidity: UInt32 = 0
    var fields: [UID: MessageSearchFields] = [:]
    static let maxMessages = 20_000
}

/// Evaluates a SEARCH key over a folder's messages. Text keys go to the full-text index when its
/// answer is exact (needles of 3+ characters: the index narrows, each candidate is confirmed);
/// header keys use the decoded fields stored per message; the rest is scanned.
struct SearchContext {
    let view: SelectedMailbox
    let savedSearch: [UID]
    /// The time WITHIN's YOUNGER and OLDER count back from (one instant for the whole command).
    let now: Date
    /// Full-text results per (field, needle).
    var fullText: [String: Set<UID>] = [:]
    var fields: [UID: MessageSearchFields] = [:]
    /// The Date: header's day as written (days since 1970-01-01), by UID (`MailboxSession.sentDays`).
    var sentDays: [UID: Int] = [:]
    /// Messages parsed for a scan (needles too short for the index).
    var parsed: [UID: MIMEMessage] = [:]
    /// The command's strings, folded once for all the messages they are matched against.
    var needles: [String: CaseFoldedNeedle] = [:]

    mutating func folded(_ s: String) -> CaseFoldedNeedle {
        if let n = needles[s] { return n }
        let n = CaseFoldedNeedle(s)
        needles[s] = n
        return n
    }

    mutating func contains(_ haystack: String?, _ needle: String) -> Bool {
        if needle.isEmpty { return true }
        guard let haystack else { return false }
        return folded(needle).found(in: haystack)
    }

    init(view: SelectedMailbox, savedSearch: [UID], now: Date = Date()) {
        self.view = view; self.savedSearch = savedSearch; self.now = now
    }

    private static func keyFor(_ field: FullTextField, _ text: String) -> String { field.rawValue + "\u{0}" + text }

    /// Runs the index queries and loads the header fields the key needs, once.
    /// `uids`: the messages the key will be matched against, when not the whole folder (an update
    /// context's changed messages): the header fields are read for them only.
    mutating func prepare(_ key: SearchKey, mailbox: any MailboxSession, uids: UIDSet? = nil) async throws {
        var none: SearchFieldCache?
        try await prepare(key, mailbox: mailbox, uids: uids, cache: &none)
    }

    /// The same, with the fields kept from earlier commands (`cache`, for the whole folder and without
    /// the raw header): only new messages' fields are read, and with them which messages still have
    /// fields (an expunge another session made, not yet announced, leaves them out as before).
    mutating func prepare(_ key: SearchKey, mailbox: any MailboxSession, uids: UIDSet? = nil, cache: inout SearchFieldCache?) async throws {
        var needFields = false, needHeader = false
        var texts: [(FullTextField, String)] = []
        func walk(_ k: SearchKey) {
            switch k {
            case .and(let ks): ks.forEach(walk)
            case .or(let a, let b): walk(a); walk(b)
            case .not(let a): walk(a)
            case .from, .to, .cc, .bcc, .subject: needFields = true
            case .header: needFields = true; needHeader = true
            case .body(let s): texts.append((.body, s))
            case .text(let s): texts.append((.text, s))
            default: break
            }
        }
        walk(key)
        for (field, text) in texts where !text.isEmpty {
            if let uids = try await mailbox.fullTextSearch(in: view.path, text: text, field: field) {
                fullText[Self.keyFor(field, text)] = Set(uids)
            } else if field == .text {
                needFields = true; needHeader = true  // too short for the index: the headers are scanned
            }
        }
        guard needFields else { return }
        if !needHeader, uids == nil, var kept = cache {
            if kept.path != view.path || kept.uidValidity != view.uidValidity { kept = SearchFieldCache(path: view.path, uidValidity: view.uidValidity) }
            let (existing, new) = try await mailbox.searchFields(in: view.path, excluding: UIDSet(kept.fields.keys.sorted()))
            for f in new { kept.fields[f.uid] = f }
            fields.reserveCapacity(existing.count)
            for uid in existing { if let f = kept.fields[uid] { fields[uid] = f } }
            kept.fields = fields  // the expunged ones leave
            cache = fields.count <= SearchFieldCache.maxMessages ? kept : nil
        } else {
            for f in try await mailbox.searchFields(in: view.path, uids: uids, includeHeader: needHeader) { fields[f.uid] = f }
        }
    }

    mutating func matches(_ key: SearchKey, _ r: MessageRecord, mailbox: any MailboxSession) async throws -> Bool {
        switch key {
        case .all: return true
        case .and(let keys):
            for k in keys where !(try await matches(k, r, mailbox: mailbox)) { return false }
            return true
        case .or(let a, let b):
            if try await matches(a, r, mailbox: mailbox) { return true }
            return try await matches(b, r, mailbox: mailbox)
        case .not(let k): return !(try await matches(k, r, mailbox: mailbox))
        case .sequenceNumbers(let set):
            guard let seq = view.sequenceNumber(of: r.uid) else { return false }
            if set.lastSearchResult { return savedSearch.contains(r.uid) }
            return set.resolved(max: UInt32(view.count)).contains { $0.contains(UInt32(seq)) }
        case .uid(let set):
            if set.lastSearchResult { return savedSearch.contains(r.uid) }
            return set.resolved(max: view.maxUID).contains { $0.contains(r.uid) }
        case .answered: return r.flags.contains(.answered)
        case .deleted: return r.flags.contains(.deleted)
        case .draft: return r.flags.contains(.draft)
        case .flagged: return r.flags.contains(.flagged)
        case .seen: return r.flags.contains(.seen)
        case .unanswered: return !r.flags.contains(.answered)
        case .undeleted: return !r.flags.contains(.deleted)
        case .undraft: return !r.flags.contains(.draft)
        case .unflagged: return !r.flags.contains(.flagged)
        case .unseen: return !r.flags.contains(.seen)
        case .recent: return view.recent.contains(r.uid)
        case .old: return !view.recent.contains(r.uid)
        case .new: return view.recent.contains(r.uid) && !r.flags.contains(.seen)
        case .keyword(let k): return r.keywords.contains { $0.caseInsensitiveCompare(k) == .orderedSame }
        case .unkeyword(let k): return !r.keywords.contains { $0.caseInsensitiveCompare(k) == .orderedSame }
        case .before(let d): return Self.day(r.internalDate) < d
        case .on(let d): return Self.day(r.internalDate) == d
        case .since(let d): return Self.day(r.internalDate) >= d
        // RFC 3501 §6.4.4: the Date: header's date as written, in its own zone; without a valid
        // Date: header, the internal date's day (UTC).
        case .sentBefore(let d): return sentDay(r) < d
        case .sentOn(let d): return sentDay(r) == d
        case .sentSince(let d): return sentDay(r) >= d
        case .larger(let n): return r.size > n
        case .smaller(let n): return r.size < n
        // RFC 5032: YOUNGER n, at most n seconds old; OLDER n, more than n seconds old.
        case .younger(let s): return now.timeIntervalSince(r.internalDate) <= Double(s)
        case .older(let s): return now.timeIntervalSince(r.internalDate) > Double(s)
        case .modSeq(let m): return UInt64(r.modSeq) >= m
        // RFC 8514: the save date's day (UTC); a message stored before save dates were kept has
        // none, and its internal date stands in. Every folder keeps save dates.
        case .savedBefore(let d): return Self.day(r.saveDate ?? r.internalDate) < d
        case .savedOn(let d): return Self.day(r.saveDate ?? r.internalDate) == d
        case .savedSince(let d): return Self.day(r.saveDate ?? r.internalDate) >= d
        case .saveDateSupported: return true
        case .emailID(let id): return r.emailID.map(IMAPSession.emailObjectID) == id
        case .threadID(let id): return r.threadID.map(IMAPSession.threadObjectID) == id
        case .subject(let s): return contains(fields[r.uid]?.subject, s)
        case .from(let s): return contains(fields[r.uid]?.from, s)
        case .to(let s): return contains(fields[r.uid]?.to, s)
        case .cc(let s): return contains(fields[r.uid]?.cc, s)
        case .bcc(let s): return contains(fields[r.uid]?.bcc, s)
        case .header(let name, let value):
            guard let header = fields[r.uid]?.header else { return false }
            return Self.headerMatches(header, name: name, value: value)
        case .body(let s):
            if s.isEmpty { return true }
            if let hits = fullText[Self.keyFor(.body, s)] { return hits.contains(r.uid) }
            guard let m = try await message(r.uid, mailbox: mailbox) else { return false }
            return m.searchText().body.range(of: s, options: .caseInsensitive) != nil
        case .text(let s):
            if s.isEmpty { return true }
            // Header text (raw, and decoded subject/addresses) or body text: the index has all of it.
            if let hits = fullText[Self.keyFor(.text, s)] { return hits.contains(r.uid) }
            if let header = fields[r.uid]?.header, folded(s).found(in: String(decoding: header, as: UTF8.self)) { return true }
            guard let m = try await message(r.uid, mailbox: mailbox) else { return false }
            let t = m.searchText()
            return [t.subject, t.addresses, t.body, t.attachmentNames.joined(separator: "\n")].joined(separator: "\n")
                .range(of: s, options: .caseInsensitive) != nil
        }
    }

    func sentDay(_ r: MessageRecord) -> IMAPDate {
        guard let days = sentDays[r.uid] else { return Self.day(r.internalDate) }
        let c = CivilDate.date(daysSinceEpoch: days)
        return IMAPDate(year: c.year, month: c.month, day: c.day)
    }

    mutating func message(_ uid: UID, mailbox: any MailboxSession) async throws -> MIMEMessage? {
        if let m = parsed[uid] { return m }
        guard let bytes = try await mailbox.messageBytes(in: view.path, uid: uid) else { return nil }
        let m = MIMEMessage.parse(bytes)
        // A scan keeps only what it needs: short-needle scans of big folders parse one at a time.
        if parsed.count < 256 { parsed[uid] = m }
        return m
    }

    static let utc: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    /// The day of an instant, in UTC (dates are stored in UTC).
    static func day(_ date: Date) -> IMAPDate {
        let c = utc.dateComponents([.year, .month, .day], from: date)
        return IMAPDate(year: c.year ?? 1970, month: c.month ?? 1, day: c.day ?? 1)
    }

    /// RFC 3501 HEADER: a field with this name whose (decoded) value contains the string; an empty
    /// string matches any message that has the field.
    static func headerMatches(_ header: [UInt8], name: String, value: String) -> Bool {
        let wanted = name.lowercased()
        // Unfold into logical lines.
        var lines: [[UInt8]] = []
        var current: [UInt8] = []
        var i = 0
        while i < header.count {
            let b = header[i]
            if b == 10 {
                let next = i + 1 < header.count ? header[i + 1] : 0
                if next == 32 || next == 9 { i += 1; continue }  // continuation: keep going
                if !current.isEmpty { lines.append(current) }
                current = []
            } else if b != 13 {
                current.append(b)
            }
            i += 1
        }
        if !current.isEmpty { lines.append(current) }
        for line in lines {
            guard let colon = line.firstIndex(of: 58) else { continue }
            let fieldName = String(decoding: line[..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
            guard fieldName == wanted else { continue }
            if value.isEmpty { return true }
            let decoded = RFC2047.decode(line[(colon + 1)...])
            if decoded.lowercased().contains(value.lowercased()) { return true }
        }
        return false
    }
}
