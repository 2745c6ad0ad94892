import Foundation
import MailboxAPI
import MailCore
import MIMEParser

/// The binary form of the mailbox seam's values (MailboxAPI): what crosses the cluster RPC.
/// Each `write` has its `read`; readers check every length against `RPCLimits`.
public extension RPCWriter {
    mutating func uid(_ v: UID) { u32(v) }
    mutating func uids(_ xs: [UID]) { array(xs) { $0.u32($1) } }
    mutating func uidSet(_ s: UIDSet) { array(s.ranges) { $0.u32($1.lowerBound); $0.u32($1.upperBound) } }
    mutating func optionalUIDSet(_ s: UIDSet?) { optional(s) { $0.uidSet($1) } }
    mutating func optionalI64(_ v: Int64?) { optional(v) { $0.i64($1) } }
    mutating func optionalString(_ v: String?) { optional(v) { $0.string($1) } }
    mutating func optionalDate(_ v: Date?) { optional(v) { $0.date($1) } }
    mutating func optionalBytes(_ v: [UInt8]?) { optional(v) { $0.bytes($1) } }
    mutating func address(_ a: EmailAddress) { string(a.description) }

    mutating func folderInfo(_ f: FolderInfo) {
        i64(f.id); string(f.path); optionalString(f.specialUse?.rawValue); bool(f.subscribed)
        u32(f.uidValidity); u32(f.uidNext); i64(f.highestModSeq); u32(f.recentUID)
    }
    mutating func folderStatus(_ s: FolderStatus) {
        int(s.messages); int(s.recent); int(s.unseen); int(s.deleted); u32(s.uidNext); u32(s.uidValidity)
        i64(s.highestModSeq); i64(s.sizeBytes)
    }
    mutating func record(_ m: MessageRecord) {
        u32(m.uid); i64(m.modSeq); int(m.flags.rawValue); strings(m.keywords); date(m.internalDate); int(m.size)
        optionalDate(m.sentDate); optionalString(m.subject); optionalString(m.from); optionalString(m.messageID)
        optionalI64(m.threadID); optionalDate(m.saveDate); optionalI64(m.emailID)
    }
    mutating func records(_ xs: [MessageRecord]) { array(xs) { $0.record($1) } }
    mutating func appendResult(_ r: AppendResult) { u32(r.uidValidity); u32(r.uid) }
    mutating func copyResult(_ r: CopyResult) { u32(r.uidValidity); array(r.mapping) { $0.u32($1.source); $0.u32($1.destination) } }
    mutating func storeResult(_ r: StoreResult) { records(r.updated); uids(r.modified) }
    mutating func folderChanges(_ c: FolderChanges) { optional(c.folder) { $0.folderInfo($1) }; records(c.changed); uids(c.expunged) }
    mutating func flagOperation(_ o: FlagOperation) { u8(o == .add ? 0 : o == .remove ? 1 : 2) }
    mutating func prefetch(_ p: BytesPrefetch) { int(p.below); int(p.count); int(p.total) }
    mutating func appendRequest(_ r: AppendRequest) {
        string(r.folder); bytes(r.message); int(r.flags.rawValue); strings(r.keywords); optionalDate(r.internalDate)
    }
    mutating func searchFields(_ f: MessageSearchFields) {
        u32(f.uid); optionalString(f.subject); optionalString(f.from); optionalString(f.to); optionalString(f.cc); optionalString(f.bcc)
        optionalBytes(f.header)
    }
    mutating func uidBytes(_ m: [UID: [UInt8]]) { array(m.sorted { $0.key < $1.key }) { $0.u32($1.key); $0.bytes($1.value) } }
    /// Derived bytes by kind, then UID (`MailboxSession.derived`).
    mutating func derived(_ m: [String: [UID: [UInt8]]]) { array(m.sorted { $0.key < $1.key }) { $0.string($1.key); $0.uidBytes($1.value) } }
    mutating func mailStoreError(_ e: MailStoreError) { u8(RPCErrorCode(e.code).rawValue); string(String(e.detail.prefix(512))) }

    mutating func change(_ c: MailboxChange) {
        string(c.folder)
        switch c.kind {
        case .appended(let uids): u8(1); self.uids(uids)
        case .flagsChanged(let uids): u8(2); self.uids(uids)
        case .expunged(let uids): u8(3); self.uids(uids)
        case .folderCreated: u8(4)
        case .folderDeleted: u8(5)
        case .folderRenamed(let to): u8(6); string(to)
        case .passwordRevoked(let id): u8(7); string(id)
        }
        i64(c.modSeq)
        optional(c.origin) { $0.uuid($1) }
    }

    mutating func delivery(_ d: InboundDelivery) {
        optionalString(d.specialUse); optionalString(d.folder); strings(d.flags); bool(d.create); optionalString(d.aliasID); optionalString(d.script)
    }
    mutating func inboundMailbox(_ m: InboundMailbox) { string(m.mailboxID); bytes(m.publicKey); delivery(m.delivery); optionalBytes(m.message) }
    mutating func outboundJob(_ j: OutboundJob) {
        i64(j.id); string(j.kind.rawValue); date(j.created); date(j.nextAttempt); int(j.attempts); optionalString(j.lastError)
        string(j.sender); string(j.originalSender); strings(j.recipients); optionalString(j.target)
        array(j.context.sorted { $0.key < $1.key }) { $0.string($1.key); $0.string($1.value) }
        bytes(j.message)
    }
    mutating func deliveryOutcome(_ o: DeliveryOutcome) {
        switch o {
        case .queued(let seq, let delivered): u8(1); i64(seq); bool(delivered)
        case .notStored: u8(2)
        }
    }
}

public extension RPCReader {
    mutating func uid() throws -> UID { try u32() }
    mutating func uids() throws -> [UID] { try array(minSize: 4) { try $0.u32() } }
    mutating func uidSet() throws -> UIDSet {
        let ranges: [ClosedRange<UID>] = try array(minSize: 8) { r in
            let lo = try r.u32(), hi = try r.u32()
            guard lo <= hi else { throw RPCProtocolError("UID range upside down") }
            return lo ... hi
        }
        return UIDSet(ranges)
    }
    mutating func optionalUIDSet() throws -> UIDSet? { try optional { try $0.uidSet() } }
    mutating func optionalI64() throws -> Int64? { try optional { try $0.i64() } }
    mutating func optionalString() throws -> String? { try optional { try $0.string() } }
    mutating func optionalDate() throws -> Date? { try optional { try $0.date() } }
    mutating func optionalBytes() throws -> [UInt8]? { try optional { try $0.bytes() } }
    mutating func address() throws -> EmailAddress {
        let s = try string()
        guard s.utf8.count <= 640, let a = try? EmailAddress(s) else { throw RPCProtocolError("not an address") }
        return a
    }

    mutating func folderInfo() throws -> FolderInfo {
        let id = try i64(), path = try string(), special = try optionalString(), subscribed = try bool()
        let validity = try u32(), next = try u32(), modSeq = try i64(), recent = try u32()
        var specialUse: SpecialUse?
        if let special {
            guard let s = SpecialUse(rawValue: special) else { throw RPCProtocolError("unknown special use") }
            specialUse = s
        }
        return FolderInfo(id: id, path: path, specialUse: specialUse, subscribed: subscribed, uidValidity: validity, uidNext: next,
                          highestModSeq: modSeq, recentUID: recent)
    }
    mutating func folderStatus() throws -> FolderStatus {
        FolderStatus(messages: try nonNegative(), recent: try nonNegative(), unseen: try nonNegative(), deleted: try nonNegative(),
                     uidNext: try u32(), uidValidity: try u32(), highestModSeq: try i64(), sizeBytes: try i64())
    }
    mutating func record() throws -> MessageRecord {
        let uid = try u32(), modSeq = try i64(), flags = try int(), keywords = try strings(), internalDate = try date(), size = try nonNegative()
        return MessageRecord(uid: uid, modSeq: modSeq, flags: MessageFlags(rawValue: flags), keywords: keywords, internalDate: internalDate,
                             size: size, sentDate: try optionalDate(), subject: try optionalString(), from: try optionalString(),
                             messageID: try optionalString(), threadID: try optionalI64(), saveDate: try optionalDate(), emailID: try optionalI64())
    }
    mutating func records() throws -> [MessageRecord] { try array(minSize: 40) { try $0.record() } }
    mutating func appendResult() throws -> AppendResult { AppendResult(uidValidity: try u32(), uid: try u32()) }
    mutating func copyResult() throws -> CopyResult {
        let validity = try u32()
        let mapping: [(source: UID, destination: UID)] = try array(minSize: 8) { r in (source: try r.u32(), destination: try r.u32()) }
        return CopyResult(uidValidity: validity, mapping: mapping)
    }
    mutating func storeResult() throws -> StoreResult { StoreResult(updated: try records(), modified: try uids()) }
    mutating func folderChanges() throws -> FolderChanges {
        FolderChanges(folder: try optional { try $0.folderInfo() }, changed: try records(), expunged: try uids())
    }
    mutating func flagOperation() throws -> FlagOperation {
        switch try u8() {
        case 0: return .add
        case 1: return .remove
        case 2: return .replace
        default: throw RPCProtocolError("unknown flag operation")
        }
    }
    mutating func prefetch() throws -> BytesPrefetch { BytesPrefetch(below: try int(), count: try int(), total: try int()) }
    mutating func appendRequest() throws -> AppendRequest {
        AppendRequest(folder: try string(), message: try bytes(), flags: MessageFlags(rawValue: try int()), keywords: try strings(),
                      internalDate: try optionalDate())
    }
    mutating func searchFields() throws -> MessageSearchFields {
        MessageSearchFields(uid: try u32(), subject: try optionalString(), from: try optionalString(), to: try optionalString(),
                            cc: try optionalString(), bcc: try optionalString(), header: try optionalBytes())
    }
    mutating func uidBytes() throws -> [UID: [UInt8]] {
        let pairs: [(UID, [UInt8])] = try array(minSize: 8) { r in (try r.u32(), try r.bytes()) }
        return Dictionary(pairs, uniquingKeysWith: { a, _ in a })
    }
    mutating func derived() throws -> [String: [UID: [UInt8]]] {
        let pairs: [(String, [UID: [UInt8]])] = try array(minSize: 8) { (try $0.string(), try $0.uidBytes()) }
        return Dictionary(pairs, uniquingKeysWith: { a, _ in a })
    }
    mutating func mailStoreError() throws -> MailStoreError {
        let raw = try u8(), detail = try string()
        guard let code = RPCErrorCode(rawValue: raw), let storeCode = code.mailStoreCode else { throw RPCProtocolError("not a store error code") }
        return MailStoreError(storeCode, detail)
    }

    mutating func change() throws -> MailboxChange {
        let folder = try string()
        let kind: MailboxChange.Kind
        switch try u8() {
        case 1: kind = .appended(uids: try uids())
        case 2: kind = .flagsChanged(uids: try uids())
        case 3: kind = .expunged(uids: try uids())
        case 4: kind = .folderCreated
        case 5: kind = .folderDeleted
        case 6: kind = .folderRenamed(to: try string())
        case 7: kind = .passwordRevoked(passwordID: try string())
        default: throw RPCProtocolError("unknown change kind")
        }
        return MailboxChange(folder: folder, kind: kind, modSeq: try i64(), origin: try optional { try $0.uuid() })
    }

    mutating func delivery() throws -> InboundDelivery {
        var d = InboundDelivery()
        d.specialUse = try optionalString(); d.folder = try optionalString(); d.flags = try strings(); d.create = try bool()
        d.aliasID = try optionalString(); d.script = try optionalString()
        return d
    }
    mutating func inboundMailbox() throws -> InboundMailbox {
        InboundMailbox(mailboxID: try string(), publicKey: try bytes(), delivery: try delivery(), message: try optionalBytes())
    }
    mutating func outboundJob() throws -> OutboundJob {
        let id = try i64()
        guard let kind = OutboundJob.Kind(rawValue: try string()) else { throw RPCProtocolError("unknown job kind") }
        let created = try date(), next = try date(), attempts = try int(), lastError = try optionalString()
        let sender = try string(), original = try string(), recipients = try strings(), target = try optionalString()
        let pairs: [(String, String)] = try array(minSize: 8) { r in (try r.string(), try r.string()) }
        var job = OutboundJob(kind: kind, sender: sender, originalSender: original, recipients: recipients, target: target,
                              context: Dictionary(pairs, uniquingKeysWith: { a, _ in a }), message: try bytes(), created: created)
        job.id = id; job.nextAttempt = next; job.attempts = attempts; job.lastError = lastError
        return job
    }
    mutating func deliveryOutcome() throws -> DeliveryOutcome {
        switch try u8() {
        case 1: return .queued(seq: try i64(), delivered: try bool())
        case 2: return .notStored
        default: throw RPCProtocolError("unknown delivery outcome")
        }
    }
}

extension RPCErrorCode {
    /// The error frame's code for a store error.
    public init(_ code: MailStoreError.Code) {
        switch code {
        case .authenticationFailed: self = .authenticationFailed
        case .noSuchFolder: self = .noSuchFolder
        case .folderExists: self = .folderExists
        case .invalidFolderName: self = .invalidFolderName
        case .cannotDeleteInbox: self = .cannotDeleteInbox
        case .overQuota: self = .overQuota
        case .noMailbox: self = .noMailbox
        case .notStored: self = .notStored
        case .messageTooLarge: self = .messageTooLarge
        case .mailboxClosed: self = .mailboxClosed
        case .lastPassword: self = .lastPassword
        case .noSuchPassword: self = .noSuchPassword
        case .noSuchMessage: self = .noSuchMessage
        case .insufficientStorage: self = .insufficientStorage
        case .unavailable: self = .unavailable
        }
    }

    /// The store error this code stands for; nil for the protocol's own codes.
    public var mailStoreCode: MailStoreError.Code? {
        switch self {
        case .authenticationFailed: .authenticationFailed
        case .noSuchFolder: .noSuchFolder
        case .folderExists: .folderExists
        case .invalidFolderName: .invalidFolderName
        case .cannotDeleteInbox: .cannotDeleteInbox
        case .overQuota: .overQuota
        case .noMailbox: .noMailbox
        case .notStored: .notStored
        case .messageTooLarge: .messageTooLarge
        case .mailboxClosed: .mailboxClosed
        case .lastPassword: .lastPassword
        case .noSuchPassword: .noSuchPassword
        case .noSuchMessage: .noSuchMessage
        case .insufficientStorage: .insufficientStorage
        case .unavailable: .unavailable
        default: nil
        }
    }

    /// What a frontend throws for an error frame: the store's own error for its codes; a session
    /// gone from the storage node is a closed mailbox; anything else, an unavailable one.
    public func error(detail: String) -> MailStoreError {
        if let code = mailStoreCode { return MailStoreError(code, detail) }
        switch self {
        case .noSuchHandle: return MailStoreError(.mailboxClosed, "the session is no longer open on the storage node")
        case .tooLarge: return MailStoreError(.messageTooLarge, detail)
        default: return MailStoreError(.unavailable, "storage node: \(detail)")
        }
    }
}

/// An error frame's payload: the code and a short detail (never message bytes or secrets).
public struct RPCErrorPayload: Sendable, Equatable {
    public var code: RPCErrorCode
    public var detail: String
    public init(code: RPCErrorCode, detail: String) { self.code = code; self.detail = detail }

    public func encoded() -> [UInt8] {
        var w = RPCWriter()
        w.u8(code.rawValue); w.string(String(detail.prefix(512)))
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8], limits: RPCLimits) throws -> RPCErrorPayload {
        var r = RPCReader(bytes, limits: limits)
        guard let code = RPCErrorCode(rawValue: try r.u8()) else { throw RPCProtocolError("unknown error code") }
        let detail = try r.string()
        try r.finish()
        return RPCErrorPayload(code: code, detail: detail)
    }
}
