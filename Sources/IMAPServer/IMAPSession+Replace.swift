import Foundation
import IMAPCore
import MailboxAPI

extension IMAPSession {
    /// RFC 8508 REPLACE / UID REPLACE (the message literal read as APPEND's is): the new message
    /// is appended to its mailbox and the named one expunged from the selected mailbox, in one
    /// store transaction. The APPENDUID goes in an untagged OK (RFC 8508 §4.3: the tagged OK may
    /// need its code for HIGHESTMODSEQ), before the EXPUNGE (or VANISHED) of the old message.
    func replace(_ tag: String, target: ReplaceTarget, request: AppendRequest) async throws {
        guard state == .selected, let view = selected, let mailbox else { bad(tag, "No mailbox selected"); return }
        guard let seqs = resolve(target.set, byUID: target.uid, tag: tag) else { return }
        guard let seq = seqs.first else { no(tag, "No such message"); return }
        guard seqs.count == 1 else { bad(tag, "REPLACE names one message"); return }
        if view.readOnly { no(tag, "Mailbox is read-only", code: .readOnly); return }
        let uid = view.uids[seq - 1]
        if view.isExpunged(uid) { no(tag, "The message no longer exists", code: .expungeIssued); return }
        let result: AppendResult
        do {
            result = try await mailbox.replace(in: view.path, uid: uid, with: request)
        } catch let error as MailStoreError where error.code == .noSuchFolder {
            no(tag, "Mailbox does not exist", code: .tryCreate); return
        } catch let error as MailStoreError where error.code == .noSuchMessage {
            no(tag, "The message no longer exists", code: .expungeIssued); return
        }
        untagged(.condition(status: .ok, code: .appendUID(uidValidity: result.uidValidity, uid: result.uid), text: "Replacement Message ID"))
        selected?.markExpunged([uid], knownBefore: view.knownModSeq)
        changesPending = true
        try await sendUpdates(expungeAllowed: true)
        ok(tag, "REPLACE completed", code: highestModSeqAfterExpunge)
    }
}
