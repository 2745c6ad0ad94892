import Foundation
import IMAPCore
import MIMEParser
import MailboxAPI
import NIOCore

extension IMAPSession {
    func executeSelected(_ command: IMAPCommand, mailbox: any MailboxSession) async throws {
        let tag = command.tag
        switch command.kind {
        case .close:
            if let view = selected, !view.readOnly { _ = try await mailbox.expunge(in: view.path, uids: nil) }
            selected = nil; state = .authenticated
            ok(tag, "CLOSE completed")
        case .unselect:
            selected = nil; state = .authenticated
            ok(tag, "UNSELECT completed")
        case .expunge:
            try await expunge(tag, uids: nil, mailbox: mailbox)
        case .uidExpunge(let set):
            guard let view = selected, let seqs = resolve(set, byUID: true, tag: tag) else { return }
            try await expunge(tag, uids: view.uidSet(seqs), mailbox: mailbox)
        case .fetch(let set, let attributes, let byUID, let changedSince, let vanished):
            try await fetch(tag, set: set, attributes: attributes, byUID: byUID, changedSince: changedSince, vanished: vanished,
                            mailbox: mailbox)
        case .store(let set, let data, let byUID):
            try await store(tag, set: set, data: data, byUID: byUID, mailbox: mailbox)
        case .copy(let set, let target, let byUID):
            try await transfer(tag, set: set, target: target, byUID: byUID, move: false, mailbox: mailbox)
        case .move(let set, let target, let byUID):
            try await transfer(tag, set: set, target: target, byUID: byUID, move: true, mailbox: mailbox)
        case .search(let charset, let key, let byUID, let returnOptions, let partial):
            try await search(tag, charset: charset, key: key, byUID: byUID, returnOptions: returnOptions, partial: partial, mailbox: mailbox)
        case .cancelUpdate(let tags):
            cancelUpdate(tag, tags)
        case .sort(let command):
            try await sort(tag, command, mailbox: mailbox)
        case .thread(let command):
            try await thread(tag, command, mailbox: mailbox)
        default:
            bad(tag, "Command not valid in this state")
        }
    }

    /// Sequence numbers for a set, or nil after answering BAD (message numbers out of range).
    func resolve(_ set: SequenceSet, byUID: Bool, tag: String) -> [Int]? {
        guard let view = selected else { bad(tag, "No mailbox selected"); return nil }
        if set.lastSearchResult {
            return savedSearch.compactMap { view.sequenceNumber(of: $0) }
        }
        guard let seqs = view.select(set, byUID: byUID) else { bad(tag, "Invalid message sequence number"); return nil }
        return seqs
    }

    // MARK: EXPUNGE

    func expunge(_ tag: String, uids: UIDSet?, mailbox: any MailboxSession) async throws {
        guard let view = selected else { return }
        if view.readOnly { no(tag, "Mailbox is read-only", code: .readOnly); return }
        let (removed, modSeq) = try await mailbox.expunge(in: view.path, uids: uids)
        selected?.markExpunged(removed, knownBefore: view.knownModSeq)
        // As for STORE: an expunge whose MODSEQ follows the view's leaves it current (nothing else
        // changed the folder in between), so no catch-up read; otherwise one.
        if let modSeq, modSeq == view.knownModSeq + 1 { selected?.knownModSeq = modSeq } else { changesPending = true }
        try await sendUpdates(expungeAllowed: true)
        ok(tag, "EXPUNGE completed", code: highestModSeqAfterExpunge)
    }

    /// With QRESYNC, the tagged OK of EXPUNGE, UID EXPUNGE and MOVE carries the MODSEQ the
    /// client is now in step with (RFC 7162 §3.2.7, RFC 6851 §4.4), as Dovecot's does.
    var highestModSeqAfterExpunge: ResponseCode? {
        guard qresyncEnabled, let view = selected else { return nil }
        return .highestModSeq(UInt64(max(view.knownModSeq, 1)))
    }

    // MARK: STORE

    func store(_ tag: String, set: SequenceSet, data: StoreData, byUID: Bool, mailbox: any MailboxSession) async throws {
        guard let view = selected, let seqs = resolve(set, byUID: byUID, tag: tag) else { return }
        if view.readOnly { no(tag, "Mailbox is read-only", code: .readOnly); return }
        let (flags, keywords) = Self.storedFlags(data.flags)
        let targets = seqs.filter { !view.isExpunged(view.uids[$0 - 1]) }
        let operation: FlagOperation = switch data.operation { case .add: .add; case .remove: .remove; case .replace: .replace }
        let result = try await mailbox.storeFlags(in: view.path, uids: view.uidSet(targets), operation: operation, flags: flags,
                                                  keywords: keywords, unchangedSince: data.unchangedSince.map { Int64(clamping: $0) })
        selected?.noteContextChanges(result.updated)  // the catch-up below may read nothing (the view follows the STORE)
        var updated: [UID: MessageRecord] = [:]
        for record in result.updated {
            updated[record.uid] = record
            if let seq = selected?.sequenceNumber(of: record.uid) { selected?.setFlags(seq: seq, record.flags, record.keywords) }
        }
        // The STORE's MODSEQ follows the view's: nothing else changed the folder in between, and the
        // view, now holding the new flags, is at that MODSEQ: no catch-up read is needed (one that a
        // store which cannot tell whether the view is behind, a frontend's, would otherwise make).
        var viewCurrent = false
        if let modSeq = result.updated.map(\.modSeq).max(), let known = selected?.knownModSeq, modSeq == known + 1 {
            selected?.knownModSeq = modSeq
            viewCurrent = true
        }
        announceKeywords(of: result.updated)  // also when silent: the defined keywords changed (RFC 3501 §7.2.6)
        let modified = Set(result.modified)
        for seq in targets {
            guard let current = selected else { break }
            let uid = current.uids[seq - 1]
            if modified.contains(uid) { continue }
            let record = updated[uid]
            var items: [FetchResponseItem] = []
            if data.silent {
                // RFC 7162 §3.2: with CONDSTORE on, a changed message's new MODSEQ is still reported.
                guard current.condStore, let record else { continue }
                items = [.uid(uid), .modSeq(UInt64(record.modSeq))]
            } else {
                if byUID || current.condStore { items.append(.uid(uid)) }
                items.append(.flags(imapFlags(current.flags[seq - 1], current.keywords[seq - 1], recent: current.recent.contains(uid))))
                if current.condStore, let record { items.append(.modSeq(UInt64(record.modSeq))) }
            }
            untagged(.fetch(sequenceNumber: UInt32(seq), items: items))
        }
        if !viewCurrent { changesPending = true }  // else as it was: a change event since the last read still reads
        try await sendUpdates(expungeAllowed: byUID)
        if !result.modified.isEmpty {
            let set = byUID ? UIDSet(result.modified).description
                : UIDSet(result.modified.compactMap { selected?.sequenceNumber(of: $0) }.map { UID($0) }).description
            ok(tag, "Conditional STORE failed", code: .modified(set))
        } else {
            ok(tag, "STORE completed")
        }
    }

    // MARK: COPY / MOVE

    func transfer(_ tag: String, set: SequenceSet, target: String, byUID: Bool, move: Bool, mailbox: any MailboxSession) async throws {
        guard let view = selected, let seqs = resolve(set, byUID: byUID, tag: tag) else { return }
        if move && view.readOnly { no(tag, "Mailbox is read-only", code: .readOnly); return }
        guard try await mailbox.folder(target) != nil else { no(tag, "Mailbox does not exist", code: .tryCreate); return }
        let live = seqs.filter { !view.isExpunged(view.uids[$0 - 1]) }
        if live.isEmpty {
            if seqs.isEmpty || byUID { ok(tag, move ? "No messages moved" : "No messages copied") }
            else { no(tag, "Some of the requested messages no longer exist", code: .expungeIssued) }
            return
        }
        let uids = view.uidSet(live)
        let result = move ? try await mailbox.move(from: view.path, uids: uids, to: target)
                          : try await mailbox.copy(from: view.path, uids: uids, to: target)
        let code: ResponseCode? = result.mapping.isEmpty ? nil : .copyUID(
            uidValidity: result.uidValidity,
            source: wireSet(result.mapping.map(\.source)), destination: wireSet(result.mapping.map(\.destination)))
        if move {
            if let code { untagged(.condition(status: .ok, code: code, text: "Moved UIDs")) }
            selected?.markExpunged(result.mapping.map(\.source), knownBefore: view.knownModSeq)
            changesPending = true
            try await sendUpdates(expungeAllowed: true)
            ok(tag, "MOVE completed", code: highestModSeqAfterExpunge)
        } else {
            changesPending = true
            try await sendUpdates(expungeAllowed: true)  // only FETCH, STORE and SEARCH forbid EXPUNGE
            ok(tag, "COPY completed", code: code)
        }
    }

    /// Wire flags as stored: system flags and keywords (\\Recent, \\* and unknown \\Flags are not
    /// settable; the parser already refuses the first two).
    static func storedFlags(_ wire: [IMAPFlag]) -> (MessageFlags, [String]) {
        var flags = MessageFlags()
        var keywords: [String] = []
        for f in wire {
            switch f {
            case .seen: flags.insert(.seen)
            case .answered: flags.insert(.answered)
            case .flagged: flags.insert(.flagged)
            case .deleted: flags.insert(.deleted)
            case .draft: flags.insert(.draft)
            case .keyword(let k): if !keywords.contains(k) { keywords.append(k) }
            case .recent, .extensionFlag, .wildcard: break
            }
        }
        return (flags, keywords)
    }

    /// A UID list in wire form, keeping the order (COPYUID pairs source and destination by position).
    func wireSet(_ uids: [UID]) -> String {
        var parts: [String] = []
        var i = 0
        while i < uids.count {
            var j = i
            while j + 1 < uids.count, uids[j + 1] == uids[j] + 1 { j += 1 }
            parts.append(i == j ? "\(uids[i])" : "\(uids[i]):\(uids[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    // MARK: APPEND (streamed literal)

    func append(prefix: ByteBuffer, literalSize: Int) async throws {
        let limits = configuration.limits
        let header = IMAPCommandParser.parseAppendHeader(prefix, literalSize: literalSize, limits: limits, utf8Names: utf8Names)
        // Read every literal whatever happens: the client is sending them. A MULTIAPPEND (RFC 3502)
        // has one per message, each announced by `.appendNext`; all are kept until the command ends.
        var messages: [(header: AppendHeader, bytes: [UInt8])] = []
        var current = header
        var message = [UInt8]()
        var rest: ByteBuffer?
        // The literals' bytes are taken from the server's APPEND budget as they come (twice: the
        // literal and its canonical copy) and given back once stored, or on any way out.
        let budget = configuration.appendMemory
        var held = 0, overBudget = false
        defer { budget.release(held) }
        // However steadily the bytes come, they must all be here by this time (slowloris).
        let started = clock.now()
        var announced = literalSize
        func deadline() -> ContinuousClock.Instant {
            started + max(configuration.appendTimeout, .seconds(announced / max(configuration.minAppendRate, 1)))
        }
        func timedOut() -> Bool {
            let now = clock.now()
            guard now > deadline() || now - lastActivity > idleLimit else { return false }
            untagged(.condition(status: .bye, code: nil, text: now > deadline() ? "Timeout: the message data came too slowly"
                                                                                : "Autologout; idle for too long"))
            state = .logout
            return true
        }
        reading: while true {
            switch await context.inbox.next() {
            case .frame(.appendChunk(let chunk)):
                if timedOut() { try await flush(); return }
                lastActivity = clock.now()
                guard case .success = current, !overBudget else { continue }
                if budget.reserve(2 * chunk.readableBytes) {
                    held += 2 * chunk.readableBytes
                    message.append(contentsOf: chunk.readableBytesView)
                } else {
                    // Read and drop the rest of the command; it is refused once read.
                    overBudget = true
                    message = []; messages = []
                    budget.release(held); held = 0
                }
            case .frame(.appendNext(let text, let size)):
                if timedOut() { try await flush(); return }
                lastActivity = clock.now()
                announced += size
                if case .success(let h) = current { messages.append((h, message)) }
                message = []
                current = current.flatMap { IMAPCommandParser.parseAppendNext(text, after: $0, limits: limits) }
            case .frame(.appendEnd(let text)):
                if case .success(let h) = current { messages.append((h, message)) }
                rest = text
                break reading
            case .frame(.continuationRequest):
                send(.continuation("Ready for literal data")); try await flush()
            case .frame(.tooLarge(let tag, _, true)):
                // A later message of a MULTIAPPEND over a limit: the framer refused the rest of the
                // command, which is answered NO [TOOBIG] as a whole.
                no(tag ?? "*", "Message too large (the limits are \(limits.maxAppendSize) bytes a message, "
                   + "\(limits.maxMultiAppendSize) bytes and \(limits.maxMultiAppendMessages) messages an APPEND)", code: .tooBig)
                return
            case .frame(let other):
                // The framer never interleaves another command into an APPEND; treat as a broken stream.
                try await handle(other)
                break reading
            case .changes(let revoked):
                if revoked { try await revokedBye(); return }
                changesPending = true
            case .tick:
                if timedOut() { try await flush(); return }
            case .shutdown:
                untagged(.condition(status: .bye, code: nil, text: "Server shutting down"))
                try await flush(); state = .logout; return
            case .closed:
                state = .logout; return
            }
        }
        let first: AppendHeader
        switch header {
        case .failure(let error): bad(error.tag, error.message); return
        case .success(let h): first = h
        }
        let tag = first.tag
        guard let rest else { bad(tag, "Incomplete APPEND"); return }
        if overBudget {
            no(tag, "The server is receiving too many messages at once; try again later", code: .limit)
            return
        }
        if case .failure(let error) = current { bad(tag, error.message); return }
        // After a UTF8 data item (RFC 9755 §4) only its closing parenthesis.
        let closing: [UInt8] = messages.last?.header.utf8 == true ? [UInt8(ascii: ")")] : []
        guard Array(rest.readableBytesView) == closing else {
            bad(tag, closing.isEmpty ? "Unexpected text after the message literal" : "Expected the ) closing UTF8 (, and nothing after it")
            return
        }
        guard state == .authenticated || state == .selected, mailbox != nil else { bad(tag, "Log in first"); return }
        var requests: [AppendRequest] = []
        for (h, bytes) in messages {
            // A literal is CHAR8, no NUL (RFC 3501 §4.3, RFC 9051 §4.3): binary content comes in a
            // literal8 (RFC 3516), whose bytes are kept exactly; other mail is stored with CRLF.
            if !h.binary, bytes.contains(0) { bad(tag, "NUL in a literal (use ~{n} for binary data)"); return }
            if bytes.isEmpty { no(tag, "Empty message", code: .cannot); return }
            let (flags, keywords) = Self.storedFlags(h.flags)
            requests.append(AppendRequest(folder: first.mailbox, message: h.binary ? bytes : MIMEMessage.canonicalCRLF(bytes), flags: flags,
                                          keywords: keywords, internalDate: h.internalDate))
        }
        if let target = first.replacing {
            guard requests.count == 1 else { bad(tag, "REPLACE takes one message"); return }
            try await commitAppends()  // the APPENDs before it are answered first
            try await replace(tag, target: target, request: requests[0])
            return
        }
        if requests.count > 1 {
            try await commitAppends()  // the APPENDs before it are answered first
            try await multiAppend(tag, requests)
            return
        }
        pendingAppends.append((tag, requests[0]))
        pendingAppendBytes += held; held = 0  // given back by commitAppends
        // More is pipelined behind it: take it into the same transaction (its OK waits for the commit).
        if context.inbox.hasPendingFrame, pendingAppends.count < Self.maxAppendBatch,
           pendingAppends.reduce(0, { $0 + $1.request.message.count }) < Self.maxAppendBatchBytes { return }
        try await commitAppends()
    }

    /// MULTIAPPEND (RFC 3502): every message or none, one tagged OK with all their UIDs (RFC 4315).
    func multiAppend(_ tag: String, _ requests: [AppendRequest]) async throws {
        guard let mailbox else { bad(tag, "Log in first"); return }
        do {
            let results = try await mailbox.appendAll(requests)
            if let path = selected?.path, requests[0].folder == path {
                changesPending = true
                try await sendUpdates(expungeAllowed: true)
            }
            ok(tag, "APPEND completed", code: .appendUIDs(uidValidity: results[0].uidValidity, uids: wireSet(results.map(\.uid))))
        } catch let error as MailStoreError where error.code == .noSuchFolder {
            no(tag, "Mailbox does not exist", code: .tryCreate)
        } catch {
            reply(tag, error: error)
        }
    }

    /// Pipelined APPENDs committed together: at most this many, or this many bytes.
    static let maxAppendBatch = 64
    static let maxAppendBatchBytes = 16 << 20

    /// Commits the APPENDs read so far in one transaction, then answers each in order. Runs before
    /// any other command is handled and whenever no more input is waiting.
    func commitAppends() async throws {
        guard !pendingAppends.isEmpty else { return }
        let batch = pendingAppends
        pendingAppends = []
        defer { configuration.appendMemory.release(pendingAppendBytes); pendingAppendBytes = 0 }
        guard let mailbox else { for item in batch { bad(item.tag, "Log in first") }; return }
        do {
            let results = try await mailbox.append(batch.map(\.request))
            if let path = selected?.path, batch.contains(where: { $0.request.folder == path }) {
                changesPending = true
                try await sendUpdates(expungeAllowed: true)
            }
            for (item, result) in zip(batch, results) {
                switch result {
                case .success(let r): ok(item.tag, "APPEND completed", code: .appendUID(uidValidity: r.uidValidity, uid: r.uid))
                case .failure(let e) where e.code == .noSuchFolder: no(item.tag, "Mailbox does not exist", code: .tryCreate)
                case .failure(let e): reply(item.tag, error: e)
                }
            }
        } catch {
            for item in batch { reply(item.tag, error: error) }
        }
    }
}
