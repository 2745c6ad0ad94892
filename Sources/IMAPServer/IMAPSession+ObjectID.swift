import Foundation
import IMAPCore
import MIMEParser
import MailboxAPI

// RFC 8474 OBJECTID and RFC 8970 PREVIEW. (RFC 8514 SAVEDATE needs nothing here: the save date
// comes with the message states.)

extension IMAPSession {
    /// EMAILID: the stored content's id (shared by a message's copies, never reused; see
    /// `MessageRecord.emailID`). Ids are row counters, not hashes of the message: they reveal
    /// nothing of its content.
    static func emailObjectID(_ id: Int64) -> String { "M\(id)" }
    /// THREADID: the thread's id (`MessageRecord.threadID`).
    static func threadObjectID(_ id: Int64) -> String { "T\(id)" }

    /// The kind of derived bytes the preview text is kept as (UTF-8, at most 256 characters).
    static let previewKind = "imap.preview.1"
    /// PREVIEW (LAZY) computes the previews not yet kept of messages smaller than this, and
    /// answers NIL for larger ones (RFC 8970 §3.2 allows NIL when not readily available).
    static let lazyPreviewLimit = 1 << 20
    /// A larger message's preview is computed from its first bytes only (the text part a preview
    /// shows comes early; the MIME parser takes a cut message as it is).
    static let previewPrefixBytes = 1 << 20

    /// The preview texts of a batch: those kept by the store, the others computed from the
    /// message (and given to the store to keep, so the next FETCH reads them). With `lazy`, the
    /// large ones not kept are left out (NIL).
    func previewTexts(_ batch: ArraySlice<MessageRecord>, lazy: Bool, mailbox: any MailboxSession,
                      path: String) async throws -> [UID: String] {
        guard !batch.isEmpty else { return [:] }
        var texts: [UID: String] = [:]
        let kept = try await mailbox.derived([Self.previewKind], in: path, uids: UIDSet(batch.map { $0.uid ... $0.uid }))
        for (uid, data) in kept[Self.previewKind] ?? [:] { texts[uid] = String(decoding: data, as: UTF8.self) }
        let missing = batch.filter { texts[$0.uid] == nil && (!lazy || $0.size < Self.lazyPreviewLimit) }
        guard !missing.isEmpty else { return texts }
        let small = missing.filter { $0.size <= Self.previewPrefixBytes }
        var bytes: [UID: [UInt8]] = [:]
        if !small.isEmpty {
            bytes = try await mailbox.messageBytes(in: path, uids: UIDSet(small.map { $0.uid ... $0.uid }),
                                                   prefetch: BytesPrefetch(below: Int.max, count: small.count, total: FetchPlan.batchBytes))
        }
        var fresh: [UID: [UInt8]] = [:]
        for record in missing {
            var message = bytes.removeValue(forKey: record.uid)
            if message == nil { message = try await messagePrefix(record.uid, mailbox: mailbox, path: path) }
            guard let message else { continue }  // expunged meanwhile
            let text = MIMEMessage.parse(message).preview()
            texts[record.uid] = text
            fresh[record.uid] = Array(text.utf8)
        }
        // A cache, kept after the answer (as the encoded structures are).
        let kind = Self.previewKind
        Task { [fresh] in try? await mailbox.keepDerived(kind, in: path, values: fresh) }
        return texts
    }

    /// The first `previewPrefixBytes` (or so) of a message, read piece by piece.
    func messagePrefix(_ uid: UID, mailbox: any MailboxSession, path: String) async throws -> [UInt8]? {
        guard let reader = try await mailbox.messageReader(in: path, uid: uid) else { return nil }
        var out: [UInt8] = []
        while out.count < Self.previewPrefixBytes, let piece = try await reader.read() { out += piece }
        return out
    }
}
