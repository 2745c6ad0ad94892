import Foundation
import IMAPCore
import MailboxAPI
import NIOCore

extension IMAPSession {
    func executeAuthenticated(_ command: IMAPCommand) async throws {
        guard let mailbox else { bad(command.tag, "Log in first"); return }
        let tag = command.tag
        do {
            switch command.kind {
            case .enable(let names):
                untagged(.enabled(enable(names)))
                ok(tag, "ENABLE completed")
            case .select(let name, let condStore, let qresync):
                try await select(tag, name: name, readOnly: false, condStore: condStore, qresync: qresync, mailbox: mailbox)
            case .examine(let name, let condStore, let qresync):
                try await select(tag, name: name, readOnly: true, condStore: condStore, qresync: qresync, mailbox: mailbox)
            case .create(let name, let uses):
                try await create(tag, name: name, uses: uses, mailbox: mailbox)
            case .delete(let name):
                if name == "INBOX" { no(tag, "INBOX cannot be deleted", code: .cannot); return }
                try await mailbox.deleteFolder(name)
                if selected?.path == name { selected = nil; state = .authenticated }
                ok(tag, "DELETE completed")
            case .rename(let from, let to):
                let target = to.hasSuffix("/") ? String(to.dropLast()) : to
                if try await mailbox.folder(from) == nil { no(tag, "Mailbox does not exist", code: .nonExistent); return }
                if try await mailbox.folder(target) != nil { no(tag, "Mailbox already exists", code: .alreadyExists); return }
                try await createParents(of: target, mailbox: mailbox)
                try await mailbox.renameFolder(from, to: target)
                if let s = selected, s.path == from || s.path.hasPrefix(from + "/") { selected = nil; state = .authenticated }
                ok(tag, "RENAME completed")
            case .subscribe(let name):
                guard try await mailbox.folder(name) != nil else { no(tag, "Mailbox does not exist", code: .nonExistent); return }
                try await mailbox.setSubscribed(name, true)
                ok(tag, "SUBSCRIBE completed")
            case .unsubscribe(let name):
                // The folder may be gone: its subscription stays until unsubscribed (RFC 3501 §6.3.4).
                try await mailbox.setSubscribed(name, false)
                ok(tag, "UNSUBSCRIBE completed")
            case .list(let list):
                try await self.list(list, mailbox: mailbox)
                ok(tag, "LIST completed")
            case .lsub(let reference, let pattern):
                try await lsub(reference: reference, pattern: pattern, mailbox: mailbox)
                ok(tag, "LSUB completed")
            case .namespace:
                untagged(.namespace(personalPrefix: "", delimiter: "/"))
                ok(tag, "NAMESPACE completed")
            case .status(let name, let attributes):
                if command.kind.enablesCondStore { enableCondStore() }
                guard try await mailbox.folder(name) != nil else { no(tag, "Mailbox does not exist", code: .nonExistent); return }
                untagged(.status(mailbox: name, items: try await statusItems(name, attributes, mailbox: mailbox)))
                ok(tag, "STATUS completed")
            case .getQuotaRoot(let name):
                guard try await mailbox.folder(name) != nil else { no(tag, "Mailbox does not exist", code: .nonExistent); return }
                let (used, limit) = try await mailbox.quota()
                untagged(.quotaRoot(mailbox: name, roots: limit == nil ? [] : [""]))
                if let limit { untagged(.quota(root: "", resources: [quotaResource(used: used, limit: limit)])) }
                ok(tag, "GETQUOTAROOT completed")
            case .getQuota(let root):
                let (used, limit) = try await mailbox.quota()
                guard root.isEmpty, let limit else { no(tag, "No such quota root", code: .nonExistent); return }
                untagged(.quota(root: "", resources: [quotaResource(used: used, limit: limit)]))
                ok(tag, "GETQUOTA completed")
            case .setQuota:
                no(tag, "Quotas are set by the administrator", code: .noPerm)
            case .idle:
                try await idle(tag)
            case .notify(let command):
                try await setNotify(tag, command, mailbox: mailbox)
            default:
                guard state == .selected, selected != nil else { bad(tag, "No mailbox selected"); return }
                if command.kind.enablesCondStore { enableCondStore() }
                try await executeSelected(command, mailbox: mailbox)
            }
        } catch {
            reply(tag, error: error)
        }
    }

    func quotaResource(used: Int64, limit: Int64) -> QuotaResource {
        // RFC 9208: STORAGE is in units of 1024 octets.
        QuotaResource(name: "STORAGE", usage: UInt64((used + 1023) / 1024), limit: UInt64(limit / 1024))
    }

    // MARK: SELECT / EXAMINE

    func select(_ tag: String, name: String, readOnly: Bool, condStore: Bool, qresync: QResyncParameters? = nil,
                mailbox: any MailboxSession) async throws {
        // RFC 7162 §3.2.5: QRESYNC before ENABLE QRESYNC is BAD (and closes nothing).
        if qresync != nil && !qresyncEnabled { bad(tag, "QRESYNC is not enabled"); return }
        let previous = selected
        if selected != nil {
            selected = nil
            state = .authenticated
            if enabled.contains("CONDSTORE") || rev2 { untagged(.condition(status: .ok, code: .closed, text: "Previous mailbox closed")) }
        }
        guard let info = try await mailbox.folder(name) else { no(tag, "Mailbox does not exist", code: .nonExistent); return }
        if condStore || qresync != nil { enabled.insert("CONDSTORE") }
        // SELECT claims \Recent before it reads the messages, so every claimed message is in the
        // read (one arriving in between stays \Recent in the store for the next claim); EXAMINE
        // claims nothing and counts the messages not yet claimed (RFC 3501 §6.3.2). Either way
        // RECENT counts messages of the EXISTS that goes with it.
        // (Nothing arrived since the last claim, as the folder just read says: no claim to make.)
        let claimed = readOnly || info.recentUID >= info.uidNext ? [] : try await mailbox.claimRecent(in: info.path)
        // The same folder again (a client switching back): the session's view brought up to date
        // with what changed since it, when the store still knows every expunge since then.
        var reselected: SelectedMailbox?
        if let previous, qresync == nil, previous.path == info.path, previous.uidValidity == info.uidValidity {
            // Every change and expunge raises the folder's MODSEQ: none since the view, nothing to
            // read (nor to ask about the expunge history: a call less through a cluster frontend).
            var changes: FolderChanges?
            if info.highestModSeq <= previous.knownModSeq {
                changes = FolderChanges(folder: info, changed: [], expunged: [])
            } else if try await mailbox.expungeHistoryStart(in: info.path) <= previous.knownModSeq {
                changes = try await mailbox.changes(in: info.path, since: previous.knownModSeq)
            }
            if let changes {
                reselected = SelectedMailbox(reselecting: previous, changes: changes, info: changes.folder ?? info, readOnly: readOnly, recent: [],
                                             condStore: enabled.contains("CONDSTORE"))
            }
        }
        let records = reselected == nil ? try await mailbox.messageStates(in: info.path, uids: nil, changedSince: nil) : []
        var view: SelectedMailbox
        if var reselected {
            reselected.recent = Set(readOnly ? (reselected.uidsFrom(info.recentUID)) : claimed)
            view = reselected
        } else {
            let recent = readOnly ? records.filter { $0.uid >= info.recentUID }.map(\.uid) : claimed
            view = SelectedMailbox(path: info.path, readOnly: readOnly, info: info, records: records, recent: Set(recent),
                                   condStore: enabled.contains("CONDSTORE"))
        }
        sendFlags(keywords: view.knownKeywords.sorted(), readOnly: readOnly)
        untagged(.exists(view.count))
        if rev2 {
            // RFC 9051 §6.3.2: no RECENT or UNSEEN; the mailbox's LIST response instead.
            untagged(.list(attributes: try await listAttributes(of: info, mailbox: mailbox), delimiter: "/", mailbox: info.path, lsub: false))
        } else {
            untagged(.recent(view.recentCount))
            if let firstUnseen = view.firstUnseen {
                untagged(.condition(status: .ok, code: .unseen(UInt32(firstUnseen)), text: "First unseen"))
            }
        }
        let uidNext = max(info.uidNext, view.maxUID + 1)
        untagged(.condition(status: .ok, code: .uidValidity(info.uidValidity), text: "UIDs valid"))
        untagged(.condition(status: .ok, code: .uidNext(uidNext), text: "Predicted next UID"))
        untagged(.condition(status: .ok, code: .mailboxID(info.objectID), text: "Mailbox ID"))
        if view.condStore { untagged(.condition(status: .ok, code: .highestModSeq(UInt64(max(view.knownModSeq, 1))), text: "Highest")) }
        if let qresync { try await resynchronize(qresync, view: view, records: records, uidNext: uidNext, mailbox: mailbox) }
        selected = view
        state = .selected
        changesPending = false
        ok(tag, readOnly ? "EXAMINE completed" : "SELECT completed", code: readOnly ? .readOnly : .readWrite)
    }

    /// The attributes LIST shows for an existing folder (without \Subscribed).
    func listAttributes(of folder: FolderInfo, mailbox: any MailboxSession) async throws -> [String] {
        let hasChildren = try await mailbox.folders().contains { $0.path.hasPrefix(folder.path + "/") }
        return [hasChildren ? "\\HasChildren" : "\\HasNoChildren"] + (folder.specialUse.map { [$0.rawValue] } ?? [])
    }

    /// FLAGS and PERMANENTFLAGS: at SELECT, and again when a keyword new to the client is about
    /// to show in a FETCH response (RFC 3501 §7.2.6).
    func sendFlags(keywords: [String], readOnly: Bool) {
        let systemFlags: [IMAPFlag] = [.answered, .flagged, .deleted, .seen, .draft]
        let keywords = keywords.map(IMAPFlag.keyword)
        untagged(.flags(systemFlags + keywords))
        untagged(.condition(status: .ok, code: .permanentFlags(readOnly ? [] : systemFlags + keywords + [.wildcard]),
                            text: readOnly ? "No permanent flags permitted" : "Flags permitted"))
    }

    /// Announces the keywords of `records` the client has not been told about, before a FETCH
    /// response shows them.
    func announceKeywords(of records: some Sequence<MessageRecord>) {
        guard let all = selected?.learnKeywords(records.lazy.flatMap(\.keywords)), let view = selected else { return }
        sendFlags(keywords: all, readOnly: view.readOnly)
    }

    // MARK: CREATE

    func create(_ tag: String, name: String, uses: [String], mailbox: any MailboxSession) async throws {
        let path = name.hasSuffix("/") ? String(name.dropLast()) : name
        if path.uppercased() == "INBOX" { no(tag, "Mailbox already exists", code: .alreadyExists); return }
        var specialUse: SpecialUse?
        for use in uses {
            guard let u = SpecialUse.allCases.first(where: { $0.rawValue.lowercased() == use.lowercased() }) else {
                no(tag, "Unsupported special-use attribute \(use)", code: .other("USEATTR")); return
            }
            specialUse = u
        }
        if try await mailbox.folder(path) != nil { no(tag, "Mailbox already exists", code: .alreadyExists); return }
        try await createParents(of: path, mailbox: mailbox)
        let created = try await mailbox.createFolder(path, specialUse: specialUse)
        ok(tag, "CREATE completed", code: .mailboxID(created.objectID))
    }

    /// RFC 3501 §6.3.3: superior names are created as needed.
    func createParents(of path: String, mailbox: any MailboxSession) async throws {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count > 1 else { return }
        for i in 1..<parts.count {
            let parent = parts[0..<i].joined(separator: "/")
            if parent.isEmpty { continue }
            if try await mailbox.folder(parent) == nil {
                do { _ = try await mailbox.createFolder(parent, specialUse: nil) }
                catch let e as MailStoreError where e.code == .folderExists {}
            }
        }
    }

    // MARK: LIST / LSUB / STATUS

    func list(_ command: ListCommand, mailbox: any MailboxSession) async throws {
        let folders = try await mailbox.folders()
        let patterns = command.patterns.map { command.reference + $0 }
        if patterns.count == 1, patterns[0].isEmpty || command.patterns == [""] {
            // RFC 3501: an empty pattern asks for the hierarchy delimiter and root.
            untagged(.list(attributes: ["\\Noselect"], delimiter: "/", mailbox: "", lsub: false))
            return
        }
        let select = Set(command.selectOptions)
        let returns = Set(command.returnOptions)
        let subscribedOnly = select.contains("SUBSCRIBED")
        let specialOnly = select.contains("SPECIAL-USE")
        let byPath = Dictionary(folders.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        // Every name to consider: the folders and their implied (non-existent) parents.
        var names = Set(folders.map(\.path))
        for f in folders {
            var parts = f.path.split(separator: "/").map(String.init)
            while parts.count > 1 { parts.removeLast(); names.insert(parts.joined(separator: "/")) }
        }
        let existing = names
        // RFC 5258 §3.1: (SUBSCRIBED) also lists subscribed names whose folder is gone.
        let subscribed = subscribedOnly || returns.contains("SUBSCRIBED") ? Set(try await mailbox.subscriptions()) : []
        if subscribedOnly { names.formUnion(subscribed) }
        let matchers = patterns.map(ListPattern.init)
        // RFC 5258 §3.5, (SUBSCRIBED RECURSIVEMATCH): a name with a subscribed name below it
        // carries CHILDINFO ("SUBSCRIBED"); one not subscribed itself is listed for that alone,
        // when some subscribed name below it is not listed on its own (the pattern misses it).
        let recursive = subscribedOnly && select.contains("RECURSIVEMATCH")
        var aboveSubscribed = Set<String>(), aboveUnlisted = Set<String>()
        if recursive {
            for name in subscribed {
                let listed = matchers.contains { $0.matches(name) }
                var parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
                while parts.count > 1 {
                    parts.removeLast()
                    let parent = parts.joined(separator: "/")
                    aboveSubscribed.insert(parent)
                    if !listed { aboveUnlisted.insert(parent) }
                }
            }
            names.formUnion(aboveUnlisted)
        }
        for name in names.sorted(by: Self.folderOrder) where matchers.contains(where: { $0.matches(name) }) {
            let folder = byPath[name]
            let isSubscribed = subscribed.contains(name)
            let childInfo = aboveSubscribed.contains(name)
            // Listed only for its CHILDINFO: not a match itself (and no STATUS, RFC 5819 §3).
            let forChildInfo = subscribedOnly && !isSubscribed
            if forChildInfo && !aboveUnlisted.contains(name) { continue }
            if !existing.contains(name) {
                // No such folder: subscribed, its folder gone (as Dovecot answers, RFC 5258
                // §3.1), or a gone parent of one.
                untagged(.list(attributes: (isSubscribed ? ["\\Subscribed"] : []) + ["\\NonExistent"], delimiter: "/", mailbox: name,
                               lsub: false, childInfoSubscribed: childInfo))
                continue
            }
            let hasChildren = existing.contains { $0.hasPrefix(name + "/") }
            var attributes: [String] = []
            // A parent only implied by its children: RFC 9051 §7.3.1 calls it \NonExistent (which
            // implies \Noselect) in IMAP4rev2.
            if folder == nil { attributes.append(rev2 ? "\\NonExistent" : "\\Noselect") }
            attributes.append(hasChildren ? "\\HasChildren" : "\\HasNoChildren")
            if let use = folder?.specialUse { attributes.append(use.rawValue) }
            if isSubscribed { attributes.append("\\Subscribed") }
            if specialOnly && folder?.specialUse == nil { continue }
            untagged(.list(attributes: attributes, delimiter: "/", mailbox: name, lsub: false, childInfoSubscribed: childInfo))
            if let statusAttributes = command.returnStatus, folder != nil, !forChildInfo {
                untagged(.status(mailbox: name, items: try await statusItems(name, statusAttributes, mailbox: mailbox)))
            }
        }
    }

    func lsub(reference: String, pattern: String, mailbox: any MailboxSession) async throws {
        let full = reference + pattern
        if full.isEmpty { untagged(.list(attributes: ["\\Noselect"], delimiter: "/", mailbox: "", lsub: true)); return }
        let matcher = ListPattern(full)
        let subscribed = Set(try await mailbox.subscriptions())
        // name → \Noselect: an unsubscribed parent where a `%` stops short of a subscribed name
        // below it (RFC 3501 §6.3.9). A subscribed name whose folder is gone is listed as any
        // other (RFC 3501 §6.3.4), as Dovecot does.
        var listed: [String: Bool] = [:]
        for name in subscribed {
            if matcher.matches(name) {
                listed[name] = false
                continue
            }
            var parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            while parts.count > 1 {
                parts.removeLast()
                let parent = parts.joined(separator: "/")
                if matcher.matches(parent), listed[parent] == nil, !subscribed.contains(parent) { listed[parent] = true }
            }
        }
        for name in listed.keys.sorted(by: Self.folderOrder) {
            untagged(.list(attributes: listed[name]! ? ["\\Noselect"] : [], delimiter: "/", mailbox: name, lsub: true))
        }
    }

    /// INBOX first, then by name.
    static func folderOrder(_ a: String, _ b: String) -> Bool {
        if a == "INBOX" { return b != "INBOX" }
        if b == "INBOX" { return false }
        return a < b
    }

    func statusItems(_ name: String, _ attributes: [StatusAttribute], mailbox: any MailboxSession) async throws -> [StatusItem] {
        let s = try await mailbox.status(of: name)
        return attributes.map { a in
            switch a {
            case .messages: StatusItem(a, UInt64(s.messages))
            case .recent: StatusItem(a, UInt64(s.recent))
            case .uidNext: StatusItem(a, UInt64(s.uidNext))
            case .uidValidity: StatusItem(a, UInt64(s.uidValidity))
            case .unseen: StatusItem(a, UInt64(s.unseen))
            case .deleted: StatusItem(a, UInt64(s.deleted))
            case .size: StatusItem(a, UInt64(s.sizeBytes))
            case .highestModSeq: StatusItem(a, UInt64(max(s.highestModSeq, 1)))
            case .mailboxID: StatusItem(a, text: "(\(s.objectID))")
            }
        }
    }

    // MARK: IDLE (RFC 2177)

    func idle(_ tag: String) async throws {
        send(.continuation("idling"))
        if state == .selected { try await sendUpdates(expungeAllowed: true) }  // whatever is already pending
        try await flush()
        let started = clock.now()
        var lastKeepalive = started
        while true {
            switch await context.inbox.next() {
            case .frame(.command(let bytes)):
                lastActivity = clock.now()
                if String(buffer: bytes).trimmingCharacters(in: .whitespaces).uppercased() == "DONE" {
                    if state == .selected { try await sendUpdates(expungeAllowed: true) }
                    ok(tag, "IDLE terminated")
                } else {
                    bad(tag, "Expected DONE")
                }
                return
            case .frame(let other):
                bad(tag, "Expected DONE")
                try await handle(other)
                return
            case .changes(let revoked):
                if revoked { try await revokedBye(); return }
                if state == .selected { changesPending = true; try await sendUpdates(expungeAllowed: true) }
                try await deliverNotifications()
                try await flush()
            case .tick:
                if let mailbox, await !mailbox.isStillAuthorized() { try await revokedBye(); return }
                let now = clock.now()
                if now - started > configuration.idleCommandTimeout {
                    untagged(.condition(status: .bye, code: nil, text: "Autologout; idle for too long"))
                    try await flush(); state = .logout; return
                }
                if now - lastKeepalive >= configuration.idleKeepalive {
                    lastKeepalive = now
                    untagged(.condition(status: .ok, code: nil, text: "Still here"))
                    try await flush()
                }
            case .shutdown:
                untagged(.condition(status: .bye, code: nil, text: "Server shutting down"))
                try await flush(); state = .logout; return
            case .closed:
                state = .logout; return
            }
        }
    }

    // MARK: Untagged updates

    /// Brings the selected view up to date and tells the client: EXPUNGE (only when allowed: not
    /// during FETCH, STORE or SEARCH, RFC 3501 §7.4.1), EXISTS, RECENT and FETCH FLAGS.
    func sendUpdates(expungeAllowed: Bool) async throws {
        guard state == .selected, var view = selected, let mailbox else { return }
        // The store says whether anything was committed to the folder beyond what the view knows:
        // no read when nothing was (its own STORE, an event that came after the view caught up),
        // and a read when something was even if its event has not reached this session yet (a
        // NOOP right after another session's tagged OK must see the change).
        if let behind = isBehind(view) { changesPending = behind }
        if changesPending {
            changesPending = false
            let catchUp = try await mailbox.changes(in: view.path, since: view.knownModSeq)
            guard let info = catchUp.folder else {
                // The folder was deleted or renamed by another session.
                untagged(.condition(status: .bye, code: nil, text: "The selected mailbox was deleted or renamed"))
                state = .logout
                return
            }
            let changed = catchUp.changed
            view.markExpunged(catchUp.expunged, knownBefore: view.knownModSeq)
            view.noteContextChanges(changed)
            let newOnes = changed.filter { $0.uid > view.maxUID }
            if let all = view.learnKeywords(changed.lazy.flatMap(\.keywords)) { sendFlags(keywords: all, readOnly: view.readOnly) }
            if !newOnes.isEmpty {
                view.appendNew(newOnes)
                // The claim may take messages that arrived after the read above: they stay in
                // `recent` and count once the view holds them. A read-only view claims nothing
                // and sees as \Recent what nobody has claimed.
                if view.readOnly { view.recent.formUnion(newOnes.lazy.filter { $0.uid >= info.recentUID }.map(\.uid)) }
                else { view.recent.formUnion(try await mailbox.claimRecent(in: view.path)) }
            }
            for record in changed where record.uid <= view.maxUID && !newOnes.contains(where: { $0.uid == record.uid }) {
                guard let seq = view.sequenceNumber(of: record.uid), !view.isExpunged(record.uid) else { continue }
                if view.flags[seq - 1] != record.flags || view.keywords[seq - 1] != record.keywords {
                    view.setFlags(seq: seq, record.flags, record.keywords)
                    var items: [FetchResponseItem] = [.uid(record.uid), .flags(imapFlags(record.flags, record.keywords, recent: view.recent.contains(record.uid)))]
                    if view.condStore { items.append(.modSeq(UInt64(record.modSeq))) }
                    untagged(.fetch(sequenceNumber: UInt32(seq), items: items))
                }
            }
            view.knownModSeq = max(view.knownModSeq, info.highestModSeq)
        }
        view.noteContextExpunges(view.pendingExpunges)  // this session's EXPUNGE and MOVE too
        if expungeAllowed {
            let gone = view.flushExpunges()
            if qresyncEnabled {
                // RFC 7162 §3.2.10: the UIDs, in one response.
                if !gone.isEmpty { untagged(.vanished(earlier: false, uids: UIDSet(gone.map(\.uid)).description)) }
            } else {
                for g in gone { untagged(.expunge(g.sequenceNumber)) }
            }
        }
        // EXISTS, then RECENT counted among the messages of that EXISTS.
        if let count = view.takeExistsUpdate() {
            untagged(.exists(count))
            if !rev2 { untagged(.recent(view.recentCount)) }
        }
        selected = view
        try await sendContextUpdates()  // ADDTO after the EXISTS that announced the messages
    }

    /// Whether something was committed to the view's folder beyond what the view knows (the
    /// store's `publishedModSeq`); nil when the store cannot tell.
    func isBehind(_ view: SelectedMailbox) -> Bool? {
        mailbox?.publishedModSeq(in: view.path).map { $0 > view.knownModSeq }
    }

    func imapFlags(_ flags: MessageFlags, _ keywords: [String], recent: Bool) -> [IMAPFlag] {
        var result: [IMAPFlag] = []
        if flags.contains(.seen) { result.append(.seen) }
        if flags.contains(.answered) { result.append(.answered) }
        if flags.contains(.flagged) { result.append(.flagged) }
        if flags.contains(.deleted) { result.append(.deleted) }
        if flags.contains(.draft) { result.append(.draft) }
        if recent && !rev2 { result.append(.recent) }
        result += keywords.map(IMAPFlag.keyword)
        return result
    }
}

/// A LIST pattern (RFC 3501 §6.3.8): `*` matches anything, `%` anything but the delimiter.
/// INBOX matches case-insensitively.
struct ListPattern {
    let pattern: [Character]
    init(_ pattern: String) { self.pattern = Array(pattern) }

    func matches(_ name: String) -> Bool {
        let n = Array(name)
        if Self.match(pattern[...], n[...]) { return true }
        if name == "INBOX" || name.hasPrefix("INBOX/") {
            // Let "inbox", "Inbox/%" etc. match.
            let upper = Array(String(pattern).uppercased())
            return Self.match(upper[...], Array(name.uppercased())[...]) && String(pattern).uppercased().hasPrefix("INBOX")
        }
        return false
    }

    /// Dynamic programming, O(pattern × name): no backtracking blow-up on patterns like `*a*a*a*b`.
    private static func match(_ p: ArraySlice<Character>, _ s: ArraySlice<Character>) -> Bool {
        let s = Array(s)
        var dp = [Bool](repeating: false, count: s.count + 1)
        dp[0] = true
        for pc in p {
            var next = [Bool](repeating: false, count: s.count + 1)
            switch pc {
            case "*":
                var any = false
                for j in 0...s.count { any = any || dp[j]; next[j] = any }
            case "%":
                for j in 0...s.count { next[j] = dp[j] || (j > 0 && next[j - 1] && s[j - 1] != "/") }
            default:
                if !s.isEmpty { for j in 1...s.count { next[j] = dp[j - 1] && s[j - 1] == pc } }
            }
            dp = next
        }
        return dp[s.count]
    }
}
