import ClusterRPCCore
import Foundation
import MailboxAPI
import MailCore

/// The storage side of each method: decodes the request, calls the node's `MailboxService` (or
/// one of the connection's sessions), encodes the answer. Errors propagate to the connection,
/// which turns them into error frames (a `MailStoreError` keeps its kind).
struct RPCDispatcher {
    let connection: RPCServerConnection
    var service: any MailboxService { connection.service }
    var limits: RPCLimits { connection.limits }

    func dispatch(_ method: RPCMethod, _ payload: [UInt8]) async throws -> [UInt8] {
        var r = RPCReader(payload, limits: limits)
        var w = RPCWriter()
        switch method {
        case .ping:
            try r.finish()
        case .unlock:
            let address = try r.address(), password = try r.string()
            try r.finish()
            let session = try await service.unlock(address: address, password: password)
            let handle: UInt64
            do { handle = try await connection.add(session) } catch { await session.close(); throw error }
            w.u64(handle); w.uuid(session.id); w.address(session.address); w.string(session.mailboxID); w.string(session.passwordID)
        case .deliver:
            let to = try r.address(), message = try r.bytes(), date = try r.date()
            try r.finish()
            w.deliveryOutcome(try await service.deliver(to: to, message: message, internalDate: date))
        case .acceptInbound:
            let message = try r.bytes(), prefix = try r.bytes(), date = try r.date()
            let mailboxes = try r.array(minSize: 16) { try $0.inboundMailbox() }
            let jobs = try r.array(minSize: 64) { try $0.outboundJob() }
            try r.finish()
            w.array(try await service.acceptInbound(message: message, prefix: prefix, internalDate: date, mailboxes: mailboxes, jobs: jobs)) { $0.i64($1) }
        case .storedBytes:
            let id = try r.string()
            try r.finish()
            w.i64(try await service.storedBytes(mailboxID: id))
        case .storageIsLow:
            try r.finish()
            w.bool(await service.storageIsLow())
        case .subscribe:
            throw RPCProtocolError("subscribe is not a plain call")
        case .readerNext:
            let handle = try r.u64()
            try r.finish()
            let reader = try await connection.reader(handle)
            if let piece = try await reader.read() {
                w.bytes(piece)
            } else {
                await connection.closeReader(handle)
                w.bytes([])
            }
        case .readerClose:
            let handle = try r.u64()
            try r.finish()
            await connection.closeReader(handle)
        case .createMailbox, .moveOut, .receiveBegin, .receiveChunk, .receiveQueued, .receiveCommit, .receiveAbort, .receiveLate:
            guard let admin = connection.admin else { throw RPCProtocolError("no administration on this node", code: .unknownMethod) }
            try await StorageNodeAdminCodec.dispatch(method, admin, &r, &w)
        default:
            let handle = try r.u64()
            if method == .close {
                try r.finish()
                await connection.closeSession(handle)
                return []
            }
            let session = try await connection.session(handle)
            try await dispatchSession(method, session, handle: handle, &r, &w)
        }
        return w.bytes
    }

    func dispatchSession(_ method: RPCMethod, _ s: any MailboxSession, handle: UInt64, _ r: inout RPCReader, _ w: inout RPCWriter) async throws {
        switch method {
        case .folders:
            try r.finish()
            w.array(try await s.folders()) { $0.folderInfo($1) }
        case .folder:
            let path = try r.string()
            try r.finish()
            w.optional(try await s.folder(path)) { $0.folderInfo($1) }
        case .createFolder:
            let path = try r.string(), special = try r.optionalString()
            try r.finish()
            w.folderInfo(try await s.createFolder(path, specialUse: special.flatMap(SpecialUse.init(rawValue:))))
        case .renameFolder:
            let from = try r.string(), to = try r.string()
            try r.finish()
            try await s.renameFolder(from, to: to)
        case .deleteFolder:
            let path = try r.string()
            try r.finish()
            try await s.deleteFolder(path)
        case .setSubscribed:
            let path = try r.string(), on = try r.bool()
            try r.finish()
            try await s.setSubscribed(path, on)
        case .subscriptions:
            try r.finish()
            w.strings(try await s.subscriptions())
        case .append:
            let req = try r.appendRequest()
            try r.finish()
            w.appendResult(try await s.append(to: req.folder, message: req.message, flags: req.flags, keywords: req.keywords, internalDate: req.internalDate))
        case .appendBatch:
            let batch = try r.array(minSize: 24) { try $0.appendRequest() }
            try r.finish()
            w.array(try await s.append(batch)) { w, result in
                switch result {
                case .success(let a): w.u8(0); w.appendResult(a)
                case .failure(let e): w.u8(1); w.mailStoreError(e)
                }
            }
        case .appendAll:
            let batch = try r.array(minSize: 24) { try $0.appendRequest() }
            try r.finish()
            w.array(try await s.appendAll(batch)) { $0.appendResult($1) }
        case .replace:
            let folder = try r.string(), uid = try r.u32(), req = try r.appendRequest()
            try r.finish()
            w.appendResult(try await s.replace(in: folder, uid: uid, with: req))
        case .messages, .messageStates:
            let folder = try r.string(), uids = try r.optionalUIDSet(), since = try r.optionalI64()
            try r.finish()
            w.records(method == .messages ? try await s.messages(in: folder, uids: uids, changedSince: since)
                                          : try await s.messageStates(in: folder, uids: uids, changedSince: since))
        case .messageBytes:
            let folder = try r.string(), uid = try r.u32()
            try r.finish()
            w.optionalBytes(try await s.messageBytes(in: folder, uid: uid))
        case .messageStatesPrefetch:
            let folder = try r.string(), uids = try r.optionalUIDSet(), since = try r.optionalI64(), prefetch = try r.prefetch()
            try r.finish()
            let (records, bytes) = try await s.messageStates(in: folder, uids: uids, changedSince: since, prefetch: prefetch)
            w.records(records); w.uidBytes(bytes)
        case .messageStatesDerived:
            let folder = try r.string(), uids = try r.uidSet(), since = try r.optionalI64(), kinds = try r.strings()
            try r.finish()
            let (records, derived) = try await s.messageStates(in: folder, uids: uids, changedSince: since, derived: kinds)
            w.records(records); w.derived(derived)
        case .messageBytesPrefetch:
            let folder = try r.string(), uids = try r.uidSet(), prefetch = try r.prefetch()
            try r.finish()
            w.uidBytes(try await s.messageBytes(in: folder, uids: uids, prefetch: prefetch))
        case .readerOpen:
            let folder = try r.string(), uid = try r.u32()
            try r.finish()
            if let reader = try await s.messageReader(in: folder, uid: uid) {
                w.u8(1); w.u64(await connection.addReader(reader, session: handle)); w.int(reader.size)
            } else {
                w.u8(0)
            }
        case .structures:
            let folder = try r.string(), uids = try r.uidSet()
            try r.finish()
            w.array(try await s.structures(in: folder, uids: uids).sorted { $0.key < $1.key }) { $0.u32($1.key); $0.bytes($1.value.encoded()) }
        case .messageHeaders:
            let folder = try r.string(), uids = try r.uidSet()
            try r.finish()
            w.uidBytes(try await s.messageHeaders(in: folder, uids: uids))
        case .derived:
            let kinds = try r.strings(), folder = try r.string(), uids = try r.uidSet()
            try r.finish()
            w.derived(try await s.derived(kinds, in: folder, uids: uids))
        case .keepDerived:
            let kind = try r.string(), folder = try r.string(), values = try r.uidBytes()
            try r.finish()
            try await s.keepDerived(kind, in: folder, values: values)
        case .storeFlags:
            let folder = try r.string(), uids = try r.uidSet(), op = try r.flagOperation(), flags = MessageFlags(rawValue: try r.int())
            let keywords = try r.strings(), since = try r.optionalI64()
            try r.finish()
            w.storeResult(try await s.storeFlags(in: folder, uids: uids, operation: op, flags: flags, keywords: keywords, unchangedSince: since))
        case .copy, .move:
            let from = try r.string(), uids = try r.uidSet(), to = try r.string()
            try r.finish()
            w.copyResult(method == .copy ? try await s.copy(from: from, uids: uids, to: to) : try await s.move(from: from, uids: uids, to: to))
        case .expunge:
            let folder = try r.string(), uids = try r.optionalUIDSet()
            try r.finish()
            w.uids(try await s.expunge(in: folder, uids: uids).uids)
        case .expungeWithModSeq:
            let folder = try r.string(), uids = try r.optionalUIDSet()
            try r.finish()
            let result = try await s.expunge(in: folder, uids: uids)
            w.uids(result.uids)
            w.optionalI64(result.modSeq)
        case .expunged:
            let folder = try r.string(), since = try r.i64()
            try r.finish()
            w.uids(try await s.expunged(in: folder, since: since))
        case .changesSince:
            let folder = try r.string(), since = try r.i64()
            try r.finish()
            w.folderChanges(try await s.changes(in: folder, since: since))
        case .expungeHistoryStart:
            let folder = try r.string()
            try r.finish()
            w.i64(try await s.expungeHistoryStart(in: folder))
        case .status:
            let folder = try r.string()
            try r.finish()
            w.folderStatus(try await s.status(of: folder))
        case .claimRecent:
            let folder = try r.string()
            try r.finish()
            w.uids(try await s.claimRecent(in: folder))
        case .fullTextSearch:
            let folder = try r.string(), text = try r.string(), raw = try r.string()
            try r.finish()
            guard let field = FullTextField(rawValue: raw) else { throw RPCProtocolError("unknown search field") }
            w.optional(try await s.fullTextSearch(in: folder, text: text, field: field)) { $0.uids($1) }
        case .searchFields:
            let folder = try r.string(), uids = try r.optionalUIDSet(), header = try r.bool()
            try r.finish()
            w.array(try await s.searchFields(in: folder, uids: uids, includeHeader: header)) { $0.searchFields($1) }
        case .searchFieldsExcluding:
            let folder = try r.string(), known = try r.uidSet()
            try r.finish()
            let (existing, fields) = try await s.searchFields(in: folder, excluding: known)
            w.uidSet(UIDSet(existing))
            w.array(fields) { $0.searchFields($1) }
        case .sentDays:
            let folder = try r.string()
            try r.finish()
            w.array(try await s.sentDays(in: folder).sorted { $0.key < $1.key }) { $0.u32($1.key); $0.int($1.value) }
        case .isStillAuthorized:
            try r.finish()
            w.bool(await s.isStillAuthorized())
        case .quota:
            try r.finish()
            let q = try await s.quota()
            w.i64(q.used); w.optionalI64(q.limit)
        default:
            throw RPCProtocolError("method \(method) takes no session", code: .unknownMethod)
        }
    }
}
