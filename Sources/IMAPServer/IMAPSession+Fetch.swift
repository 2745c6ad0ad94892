import Foundation
import IMAPCore
import MIMEParser
import MailboxAPI

extension IMAPSession {
    func fetch(_ tag: String, set: SequenceSet, attributes: [FetchAttribute], byUID: Bool, changedSince: UInt64?,
               vanished: Bool = false, mailbox: any MailboxSession) async throws {
        // RFC 7162 §3.2.6: only once QRESYNC is enabled (the parser saw to UID FETCH and CHANGEDSINCE).
        if vanished && !qresyncEnabled { bad(tag, "QRESYNC is not enabled"); return }
        guard let view = selected, let seqs = resolve(set, byUID: byUID, tag: tag) else { return }
        if vanished, let changedSince { try await fetchVanished(set, since: changedSince, view: view, mailbox: mailbox) }
        var attrs = attributes
        if byUID && !attrs.contains(.uid) { attrs.insert(.uid, at: 0) }
        if changedSince != nil {
            // RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ (and enables CONDSTORE: `enablesCondStore`).
            if !attrs.contains(.modSeq) { attrs.append(.modSeq) }
        }
        if changedSince == nil, attrs.allSatisfy({ $0 == .uid || $0 == .flags }) {
            try await fetchFlagsFromView(tag, seqs: seqs, attributes: attrs, byUID: byUID)
            return
        }
        let live = seqs.filter { !view.isExpunged(view.uids[$0 - 1]) }
        let missing = live.count < seqs.count
        let plan = FetchPlan(attrs)
        var unknownEncoding = false, answered = 0
        // Without bytes to read, the states come in chunks, each with the chunk's kept
        // ENVELOPE/BODYSTRUCTURE in the same read (one visit of each message row), so memory stays
        // bounded however many messages the FETCH names. With bytes, the states of all come in one
        // read with the first batch's bytes: a one-message FETCH BODY[] (how mbsync and most
        // clients download) is one read.
        let chunkSize = plan.prefetch == nil ? FetchPlan.statesChunk : max(live.count, 1)
        for chunkStart in stride(from: 0, to: live.count, by: chunkSize) {
            let chunk = live[chunkStart..<min(chunkStart + chunkSize, live.count)]
            var records: [MessageRecord] = [], contents: [UID: [UInt8]] = [:]
            var kept: [String: [UID: [UInt8]]]?
            let uids = view.uidSet(Array(chunk)), since = changedSince.map { Int64(clamping: $0) }
            if let prefetch = plan.prefetch {
                (records, contents) = try await mailbox.messageStates(in: view.path, uids: uids, changedSince: since, prefetch: prefetch)
            } else if !plan.structureKinds.isEmpty {
                (records, kept) = try await mailbox.messageStates(in: view.path, uids: uids, changedSince: since, derived: plan.structureKinds)
            } else {
                records = try await mailbox.messageStates(in: view.path, uids: uids, changedSince: since)
            }
            answered += records.count
            // \Seen set implicitly by BODY[…] / RFC822 / RFC822.TEXT (not in EXAMINE).
            var newlySeen = Set<UID>()
            if !view.readOnly, attrs.contains(where: \.setsSeen) {
                let unseen = records.filter { !$0.flags.contains(.seen) }.map(\.uid)
                if !unseen.isEmpty {
                    let result = try await mailbox.storeFlags(in: view.path, uids: UIDSet(unseen), operation: .add, flags: .seen,
                                                              keywords: [], unchangedSince: nil)
                    let byUIDMap = Dictionary(result.updated.map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
                    for i in records.indices {
                        if let r = byUIDMap[records[i].uid] {
                            records[i] = r
                            newlySeen.insert(r.uid)
                            if let seq = selected?.sequenceNumber(of: r.uid) { selected?.setFlags(seq: seq, r.flags, r.keywords) }
                        }
                    }
                }
            }
            if attrs.contains(.flags) || !newlySeen.isEmpty { announceKeywords(of: records) }
            // In batches: the stored structures and headers of a batch come in one read each, and
            // memory stays bounded however many messages the FETCH names.
            for batch in stride(from: 0, to: records.count, by: FetchPlan.batchSize).map({ records[$0..<min($0 + FetchPlan.batchSize, records.count)] }) {
                let batchUIDs = UIDSet(batch.map { $0.uid ... $0.uid })
                let encoded = try await encodedStructures(plan.structureKinds, of: batch, mailbox: mailbox, path: view.path, kept: kept)
                let headers = plan.needsHeader ? try await mailbox.messageHeaders(in: view.path, uids: batchUIDs) : [:]
                var previews: [UID: String] = [:]
                if let lazy = plan.preview { previews = try await previewTexts(batch, lazy: lazy, mailbox: mailbox, path: view.path) }
                if let prefetch = plan.prefetch {
                    let unread = batch.filter { contents[$0.uid] == nil && $0.size < prefetch.below }
                    if unread.count > 1 {
                        contents.merge(try await mailbox.messageBytes(in: view.path, uids: UIDSet(unread.map { $0.uid ... $0.uid }), prefetch: prefetch),
                                       uniquingKeysWith: { a, _ in a })
                    }
                }
                for record in batch {
                    try await respond(record, attrs: attrs, plan: plan, path: view.path, encoded: encoded, headers: headers, previews: previews,
                                      contents: &contents, newlySeen: newlySeen, unknownEncoding: &unknownEncoding, mailbox: mailbox)
                }
            }
        }
        try await sendUpdates(expungeAllowed: byUID)
        if unknownEncoding {
            no(tag, "Unknown Content-Transfer-Encoding", code: .other("UNKNOWN-CTE"))
        } else if !byUID, missing || (changedSince == nil && answered < live.count) {
            no(tag, "Some of the requested messages no longer exist", code: .expungeIssued)
        } else {
            ok(tag, "FETCH completed")
        }
    }
}

extension IMAPSession {
    /// One message's FETCH response: reads what the batch did not bring (a large message's
    /// stream, bytes left out by the byte budget), builds the items and sends them. Nothing is sent
    /// for a message expunged meanwhile.
    private func respond(_ record: MessageRecord, attrs: [FetchAttribute], plan: FetchPlan, path: String,
                         encoded: [String: [UID: [UInt8]]], headers: [UID: [UInt8]], previews: [UID: String],
                         contents: inout [UID: [UInt8]], newlySeen: Set<UID>, unknownEncoding: inout Bool,
                         mailbox: any MailboxSession) async throws {
        guard let seq = selected?.sequenceNumber(of: record.uid) else { return }
        var message: MIMEMessage?
        var raw: [UInt8] = []
        // A large whole message goes out piece by piece, never whole in memory.
        var reader: MessageReader?
        if plan.streamable && record.size >= FetchPlan.streamThreshold {
            guard let r = try await mailbox.messageReader(in: path, uid: record.uid) else { return }
            reader = r
        } else if plan.needsBytes {
            // Read with the others unless the batch's byte budget left it out.
            var read = contents.removeValue(forKey: record.uid)
            if read == nil { read = try await mailbox.messageBytes(in: path, uid: record.uid) }
            guard let bytes = read else { return }
            raw = bytes
            if plan.needsParse { message = MIMEMessage.parse(bytes) }
        }
        if plan.structureKinds.contains(where: { encoded[$0]?[record.uid] == nil }) { return }  // expunged meanwhile
        // The header alone answers BODY[HEADER…] and RFC822.HEADER (a header-only parse).
        let header = plan.needsHeader ? headers[record.uid].map { MIMEMessage.parse($0) } : nil
        if plan.needsHeader && header == nil { return }
        var items: [FetchResponseItem] = []
        var streamed: (index: Int, name: String)?
        let recent = selected?.recent.contains(record.uid) ?? false
        for a in attrs {
            switch a {
            case .rfc822 where reader != nil: streamed = (items.count, "RFC822")
            case .bodySection where reader != nil && FetchPlan.wholeMessage(a): streamed = (items.count, a.responseName)
            case .uid: items.append(.uid(record.uid))
            case .flags: items.append(.flags(imapFlags(record.flags, record.keywords, recent: recent)))
            case .internalDate: items.append(.internalDate(record.internalDate))
            case .rfc822Size: items.append(.rfc822Size(record.size))
            case .modSeq: items.append(.modSeq(UInt64(max(record.modSeq, 1))))
            case .saveDate: items.append(.saveDate(record.saveDate))
            case .emailID: if let id = record.emailID { items.append(.emailID(Self.emailObjectID(id))) }
            case .threadID: items.append(.threadID(record.threadID.map(Self.threadObjectID)))
            case .preview(let lazy): items.append(.preview(previews[record.uid] ?? (lazy ? nil : "")))
            case .envelope: items.append(.envelope(encoded[FetchPlan.envelopeKind]![record.uid]!))
            case .body: items.append(.body(encoded[FetchPlan.bodyKind]![record.uid]!))
            case .bodyStructure: items.append(.bodyStructure(encoded[FetchPlan.bodyStructureKind]![record.uid]!))
            case .rfc822:
                items.append(.section(name: "RFC822", origin: nil, data: MIMEMessage.imapLiteralSafe(raw), literal8: false))
            case .rfc822Header:
                let data = header!.section(IMAPSection(part: [], kind: .header)) ?? []
                items.append(.section(name: "RFC822.HEADER", origin: nil, data: MIMEMessage.imapLiteralSafe(data), literal8: false))
            case .rfc822Text:
                let data = message!.section(IMAPSection(part: [], kind: .text)) ?? []
                items.append(.section(name: "RFC822.TEXT", origin: nil, data: MIMEMessage.imapLiteralSafe(data), literal8: false))
            case .bodySection(let section, let partial, _):
                var data = (FetchPlan.headerOnly(section) ? header : message).map { $0.section(section) ?? [] } ?? raw
                if let partial { data = MIMEMessage.partial(data, offset: partial.offset, count: partial.length) }
                items.append(.section(name: a.responseName, origin: partial?.offset, data: MIMEMessage.imapLiteralSafe(data), literal8: false))
            case .binary(let part, let partial, _):
                // A part BINARY cannot decode is left out of the response, which ends in
                // NO [UNKNOWN-CTE] (RFC 3516 §4.3), as Dovecot answers.
                if message!.hasUnknownTransferEncoding(part: part) { unknownEncoding = true; continue }
                guard var data = message!.binary(part: part) else {
                    items.append(.section(name: a.responseName, origin: partial?.offset, data: nil, literal8: false))
                    continue
                }
                if let partial { data = MIMEMessage.partial(data, offset: partial.offset, count: partial.length) }
                items.append(.section(name: a.responseName, origin: partial?.offset, data: data, literal8: data.contains(0)))
            case .binarySize(let part):
                if message!.hasUnknownTransferEncoding(part: part) { unknownEncoding = true; continue }
                // a part that does not exist has size 0, as in Dovecot
                items.append(.binarySize(part: part, size: message!.binarySize(part: part) ?? 0))
            }
        }
        if newlySeen.contains(record.uid) {
            // RFC 3501 §6.4.5: the \Seen just set is reported; with CONDSTORE its new MODSEQ
            // too (RFC 7162 §3.2), so the client's cache follows the change it caused.
            if !attrs.contains(.flags) { items.append(.flags(imapFlags(record.flags, record.keywords, recent: recent))) }
            if selected?.condStore == true && !attrs.contains(.modSeq) { items.append(.modSeq(UInt64(max(record.modSeq, 1)))) }
        }
        // Every item was refused (UNKNOWN-CTE): a FETCH response needs one, so it carries
        // the UID, as Dovecot's does.
        if items.isEmpty && streamed == nil { items.append(.uid(record.uid)) }
        if let reader, let streamed {
            try await stream(reader, sequenceNumber: UInt32(seq), items: items, at: streamed.index, name: streamed.name)
        } else {
            untagged(.fetch(sequenceNumber: UInt32(seq), items: items))
        }
        try await flushIfLarge()
    }

    /// FETCH of UID and FLAGS only (what clients resynchronise a folder with: `UID FETCH 1:*
    /// (FLAGS)`): answered from the selected view, which holds every message's flags as the client
    /// was last told them, after catching the view up with any change made meanwhile (by this
    /// session or another: a change committed before this command came is seen). No message row is
    /// read when nothing changed.
    func fetchFlagsFromView(_ tag: String, seqs: [Int], attributes: [FetchAttribute], byUID: Bool) async throws {
        switch selected.flatMap(isBehind) {
        case true?: changesPending = true
        case false?: break
        case nil: if context.inbox.takeChange() { changesPending = true }  // the store cannot tell: the change event
        }
        if changesPending { try await sendUpdates(expungeAllowed: false) }
        // The folder gone (deleted or renamed by another session): the catch-up said BYE.
        guard state == .selected, let view = selected else { return }
        var missing = false
        for seq in seqs {
            let uid = view.uids[seq - 1]
            if view.isExpunged(uid) { missing = true; continue }
            let items: [FetchResponseItem] = attributes.map { a in
                a == .uid ? .uid(uid) : .flags(imapFlags(view.flags[seq - 1], view.keywords[seq - 1], recent: view.recent.contains(uid)))
            }
            untagged(.fetch(sequenceNumber: UInt32(seq), items: items))
            try await flushIfLarge()
        }
        try await sendUpdates(expungeAllowed: byUID)
        if !byUID, missing {
            no(tag, "Some of the requested messages no longer exist", code: .expungeIssued)
        } else {
            ok(tag, "FETCH completed")
        }
    }

    /// The encoded ENVELOPE / BODY / BODYSTRUCTURE (`kinds`) of a batch: those the store keeps
    /// (`kept`, when they were read with the states), and the others encoded from the stored
    /// structures and given to the store to keep, so the next FETCH of them only reads. A message
    /// missing from the result was expunged meanwhile.
    func encodedStructures(_ kinds: [String], of batch: ArraySlice<MessageRecord>, mailbox: any MailboxSession,
                           path: String, kept: [String: [UID: [UInt8]]]? = nil) async throws -> [String: [UID: [UInt8]]] {
        guard !kinds.isEmpty, !batch.isEmpty else { return [:] }
        var encoded: [String: [UID: [UInt8]]]
        if let kept { encoded = kept } else { encoded = try await mailbox.derived(kinds, in: path, uids: UIDSet(batch.map { $0.uid ... $0.uid })) }
        let missing = batch.map(\.uid).filter { uid in kinds.contains { encoded[$0]?[uid] == nil } }
        guard !missing.isEmpty else { return encoded }
        var fresh: [String: [UID: [UInt8]]] = [:]
        for (uid, structure) in try await mailbox.structures(in: path, uids: UIDSet(missing)) {
            for kind in kinds where encoded[kind]?[uid] == nil {
                let bytes = FetchPlan.encode(kind, structure)
                encoded[kind, default: [:]][uid] = bytes
                fresh[kind, default: [:]][uid] = bytes
            }
        }
        // A cache, written after the answer rather than before it: failing to keep it (a read-only
        // file, the mailbox closing) only means encoding again next time.
        Task { [fresh] in
            for (kind, values) in fresh { try? await mailbox.keepDerived(kind, in: path, values: values) }
        }
        return encoded
    }

    /// Writes one FETCH response whose literal (`items[at]`) comes from `reader`, flushing as it
    /// goes. Once the literal is announced nothing else can be said on this connection if the
    /// bytes fail to come: the session ends (`FetchStreamAborted`).
    func stream(_ reader: MessageReader, sequenceNumber: UInt32, items: [FetchResponseItem], at index: Int, name: String) async throws {
        IMAPResponseEncoder.encodeFetchOpening(sequenceNumber: sequenceNumber, before: Array(items[..<index]), literalName: name,
                                               size: reader.size, into: &out)
        var sent = 0
        do {
            while let piece = try await reader.read() {
                guard sent + piece.count <= reader.size else { throw FetchStreamAborted() }
                out.writeBytes(MIMEMessage.imapLiteralSafe(piece))
                sent += piece.count
                try await flushIfLarge()
            }
        } catch {
            throw FetchStreamAborted()
        }
        guard sent == reader.size else { throw FetchStreamAborted() }
        IMAPResponseEncoder.encodeFetchClosing(after: Array(items[index...]), into: &out)
    }
}

/// A streamed literal could not be completed (the message vanished or its storage failed): the
/// connection cannot continue in step and is closed.
struct FetchStreamAborted: Error {}

/// What a FETCH needs read for each message: the stored structure (ENVELOPE, BODY,
/// BODYSTRUCTURE), the stored header (BODY[HEADER…], RFC822.HEADER), the bytes, and whether the
/// bytes must be parsed (sections inside the body, BINARY). Flags, dates and sizes come with the
/// message records and need none of these.
struct FetchPlan {
    static let batchSize = 256
    /// Without bytes to read, the states (and kept structures) of this many messages come in one
    /// read (ENVELOPE or BODYSTRUCTURE of 1,024 messages: some 1 MB); their headers, previews
    /// and missing structures a batch at a time.
    static let statesChunk = 1024
    /// Whole messages at least this large are streamed (when the FETCH needs nothing else of the bytes).
    static let streamThreshold = 1 << 20
    var needsHeader = false, needsBytes = false, needsParse = false
    /// The encoded structures the FETCH needs (kept by the store as derived bytes of these kinds).
    var structureKinds: [String] = []
    /// PREVIEW was asked for: whether LAZY (with PREVIEW and PREVIEW (LAZY) both asked, not lazy).
    var preview: Bool?
    static let envelopeKind = "imap.envelope.\(MessageStructure.version).1"
    static let bodyKind = "imap.body.\(MessageStructure.version).1"
    static let bodyStructureKind = "imap.bodystructure.\(MessageStructure.version).1"

    static func encode(_ kind: String, _ structure: MessageStructure) -> [UInt8] {
        switch kind {
        case envelopeKind: structure.imapEnvelopeBytes()
        case bodyKind: structure.imapBodyStructureBytes(extended: false)
        default: structure.imapBodyStructureBytes(extended: true)
        }
    }
    /// One whole-message item (BODY[], BODY.PEEK[], RFC822) and nothing else that reads the bytes.
    var streamable = false
    /// Whole messages are read in batches of at most this many bytes (one message may exceed it).
    static let batchBytes = 8 << 20

    /// Which messages' bytes a read brings along: all the FETCH needs the bytes of, but those that
    /// are streamed.
    var prefetch: BytesPrefetch? {
        guard needsBytes else { return nil }
        return BytesPrefetch(below: streamable ? Self.streamThreshold : Int.max, count: Self.batchSize, total: Self.batchBytes)
    }

    private mutating func needStructure(_ kind: String) {
        if !structureKinds.contains(kind) { structureKinds.append(kind) }
    }

    init(_ attrs: [FetchAttribute]) {
        streamable = attrs.filter(Self.wholeMessage).count == 1
        for a in attrs {
            switch a {
            case .flags, .internalDate, .rfc822Size, .uid, .modSeq, .saveDate, .emailID, .threadID: break
            case .preview(let lazy): preview = (preview ?? true) && lazy
            case .envelope: needStructure(Self.envelopeKind)
            case .body: needStructure(Self.bodyKind)
            case .bodyStructure: needStructure(Self.bodyStructureKind)
            case .rfc822Header: needsHeader = true
            case .rfc822: needsBytes = true
            case .bodySection(let section, _, _):
                if Self.headerOnly(section) { needsHeader = true }
                else { needsBytes = true; if !(section.part.isEmpty && section.kind == .full) { needsParse = true } }
            case .rfc822Text, .binary, .binarySize: needsBytes = true; needsParse = true
            }
        }
        if needsParse { streamable = false }
    }

    /// BODY[], BODY.PEEK[] or RFC822 without a partial range: the message as it is stored.
    static func wholeMessage(_ a: FetchAttribute) -> Bool {
        switch a {
        case .rfc822: true
        case .bodySection(let section, let partial, _): partial == nil && section.part.isEmpty && section.kind == .full
        default: false
        }
    }

    /// Sections of the top-level header: answered from the stored header block alone.
    static func headerOnly(_ section: IMAPSection) -> Bool {
        guard section.part.isEmpty else { return false }
        switch section.kind {
        case .header, .headerFields, .headerFieldsNot: return true
        case .full, .text, .mime: return false
        }
    }
}
