import Foundation
import IMAPCore
import MailboxAPI

/// One RFC 5267 update context: a UID SEARCH or UID SORT with RETURN (UPDATE) whose result the
/// client keeps, told of its changes with ADDTO and REMOVEFROM (§4.3) until CANCELUPDATE or the
/// end of the selection (it lives in the `SelectedMailbox`).
///
/// What a change costs: the key is matched against the messages that changed (new, flags or
/// keywords changed), never against the folder; an expunged message only leaves the result.
/// SORT keys do not depend on flags, so a message keeps its place while it matches, and a new
/// member is placed by binary search among the kept rows.
struct SearchUpdateContext {
    let tag: String
    let key: SearchKey
    /// SORT criteria; nil for a SEARCH (result in UID order, updates at context position 0).
    let criteria: [SortCriterion]?
    /// `$` as it was when the search ran (RFC 5182): the key keeps meaning what it meant.
    let savedSearch: [UID]
    /// The result as the client holds it: its UIDs, and for SORT their order (`seq` is the UID,
    /// which orders ties as sequence numbers do).
    var members: Set<UID>
    var rows: [IMAPSession.SortRow]
    /// The tagged reply of its command went out: updates may follow it (never before).
    var live = false
    /// Changes not yet told: latest states of messages added or changed, and expunged messages.
    var changed: [UID: MessageRecord] = [:]
    var expunged: Set<UID> = []

    var hasPending: Bool { !changed.isEmpty || !expunged.isEmpty }
}

extension SelectedMailbox {
    /// Takes note of new states of messages (a catch-up, this session's STORE) for the update contexts.
    mutating func noteContextChanges(_ records: [MessageRecord]) {
        guard !updateContexts.isEmpty, !records.isEmpty else { return }
        for i in updateContexts.indices {
            for r in records { updateContexts[i].changed[r.uid] = r }
        }
    }

    mutating func noteContextExpunges(_ uids: Set<UID>) {
        guard !updateContexts.isEmpty, !uids.isEmpty else { return }
        for i in updateContexts.indices { updateContexts[i].expunged.formUnion(uids) }
    }

    /// The command that made the context `tag` has answered: its updates may go out.
    mutating func startUpdates(_ tag: String) {
        if let i = updateContexts.firstIndex(where: { $0.tag == tag }) { updateContexts[i].live = true }
    }
}

/// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4): update contexts, CANCELUPDATE.
extension IMAPSession {
    /// RFC 5267 §4.3: UPDATE with the tag of a context still kept is BAD.
    func updateTagInUse(_ tag: String) -> Bool {
        selected?.updateContexts.contains { $0.tag == tag } ?? false
    }

    /// Keeps the context of a search with RETURN (UPDATE), or says why it is not kept (§4.3.1:
    /// `* NO [NOUPDATE "tag"]`, the command's other return options still answered). Updates are
    /// kept for UID SEARCH and UID SORT only: their UIDs stay valid as the mailbox changes, where
    /// message numbers would have to be sent in step with EXISTS and EXPUNGE. Nor for a key that
    /// names message numbers: which messages those are changes with every expunge.
    func startUpdateContext(_ tag: String, key: SearchKey, criteria: [SortCriterion]?, uid: Bool, members: [UID],
                            rows: [SortRow]) {
        guard let view = selected else { return }
        let refusal: String? =
            if !uid { "Updates are kept for UID SEARCH and UID SORT only" }
            else if key.mentionsMessageNumbers { "Updates are not kept for a search by message number" }
            else if view.updateContexts.count >= configuration.limits.maxUpdateContexts { "Too many update contexts" }
            else { nil }
        if let refusal {
            untagged(.condition(status: .no, code: .other("NOUPDATE \"\(tag)\""), text: refusal))
            return
        }
        selected?.updateContexts.append(SearchUpdateContext(tag: tag, key: key, criteria: criteria, savedSearch: savedSearch,
                                                            members: Set(members), rows: rows))
    }

    /// RFC 5267 §4.3.5: ends the named contexts; a tag without one is BAD (and nothing ends).
    func cancelUpdate(_ tag: String, _ tags: [String]) {
        let kept = Set(selected?.updateContexts.map(\.tag) ?? [])
        if let unknown = tags.first(where: { !kept.contains($0) }) {
            bad(tag, "No update context has the tag \(unknown)"); return
        }
        selected?.updateContexts.removeAll { tags.contains($0.tag) }
        ok(tag, "CANCELUPDATE completed")
    }

    /// Tells the live contexts what changed since they last told (`sendUpdates`, at its end:
    /// between commands, in IDLE, before a command's tagged reply, never inside its results).
    func sendContextUpdates() async throws {
        guard let mailbox, let view = selected, view.updateContexts.contains(where: { $0.live && $0.hasPending }) else { return }
        var contexts = view.updateContexts
        for i in contexts.indices where contexts[i].live && contexts[i].hasPending {
            let items = try await applyChanges(to: &contexts[i], view: view, mailbox: mailbox)
            if !items.isEmpty { untagged(.esearch(tag: contexts[i].tag, uid: true, items: items)) }
        }
        selected?.updateContexts = contexts
    }

    /// Brings one context's result up to date: REMOVEFROM for the members expunged or no longer
    /// matching (first), then ADDTO for the messages that now match (§4.3.3, §4.3.4). SEARCH at
    /// position 0, in UID order; SORT at the positions of the sort order, pair by pair.
    func applyChanges(to c: inout SearchUpdateContext, view: SelectedMailbox, mailbox: any MailboxSession) async throws
        -> [(String, String)] {
        let changed = c.changed.values
            .filter { view.sequenceNumber(of: $0.uid) != nil && !view.isExpunged($0.uid) && !c.expunged.contains($0.uid) }
            .sorted { $0.uid < $1.uid }
        var matching = Set<UID>()
        if !changed.isEmpty {
            var search = SearchContext(view: view, savedSearch: c.savedSearch, now: configuration.now())
            if c.key.mentionsSentDate { search.sentDays = try await mailbox.sentDays(in: view.path) }
            try await search.prepare(c.key, mailbox: mailbox, uids: UIDSet(changed.map(\.uid)))
            for r in changed { if try await search.matches(c.key, r, mailbox: mailbox) { matching.insert(r.uid) } }
        }
        let gone = c.members.filter { c.expunged.contains($0) || (c.changed[$0] != nil && !matching.contains($0)) }
        let added = changed.filter { matching.contains($0.uid) && !c.members.contains($0.uid) }
        c.changed = [:]; c.expunged = []
        c.members.subtract(gone)
        c.members.formUnion(added.lazy.map(\.uid))
        guard let criteria = c.criteria else {
            var items: [(String, String)] = []
            if !gone.isEmpty { items.append(("REMOVEFROM", "(0 \(wireSet(gone.sorted())))")) }
            if !added.isEmpty { items.append(("ADDTO", "(0 \(wireSet(added.map(\.uid))))")) }
            return items
        }
        var items: [(String, String)] = []
        // Removed in order, each at its position once the ones before it are gone: a run of
        // neighbours shares one position.
        var removals: [(position: Int, uids: [UID])] = []
        var i = 0
        while i < c.rows.count, !gone.isEmpty {
            let uid = c.rows[i].record.uid
            guard gone.contains(uid) else { i += 1; continue }
            if let last = removals.last, last.position == i + 1 { removals[removals.count - 1].uids.append(uid) }
            else { removals.append((i + 1, [uid])) }
            c.rows.remove(at: i)
        }
        if !removals.isEmpty { items.append(("REMOVEFROM", Self.contextPairs(removals))) }
        if !added.isEmpty {
            let facts = criteria.contains(where: \.key.readsHeader) ? try await sortFacts(of: added, path: view.path, mailbox: mailbox) : [:]
            let fresh = added.map { SortRow(record: $0, seq: Int($0.uid), facts: facts[$0.uid]) }
                .sorted { Self.precedes($0, $1, by: criteria) }
            // Inserted in sort order, each where it belongs: one that lands right after the one
            // before it extends that pair.
            var additions: [(position: Int, uids: [UID])] = []
            for row in fresh {
                var lo = 0, hi = c.rows.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if Self.precedes(c.rows[mid], row, by: criteria) { lo = mid + 1 } else { hi = mid }
                }
                c.rows.insert(row, at: lo)
                if let last = additions.last, last.position + last.uids.count == lo + 1 { additions[additions.count - 1].uids.append(row.record.uid) }
                else { additions.append((lo + 1, [row.record.uid])) }
            }
            items.append(("ADDTO", Self.contextPairs(additions)))
        }
        return items
    }

    /// `(position set position set …)`, each set in the order given (RFC 5267 §3.2 ranges).
    static func contextPairs(_ pairs: [(position: Int, uids: [UID])]) -> String {
        "(" + pairs.map { "\($0.position) \(IMAPResponseEncoder.sortedSet($0.uids))" }.joined(separator: " ") + ")"
    }
}

extension SearchKey {
    /// Message sequence numbers somewhere in the key (`$` is the saved UIDs, not numbers).
    var mentionsMessageNumbers: Bool {
        contains { if case .sequenceNumbers(let set) = $0 { !set.lastSearchResult } else { false } }
    }
}
