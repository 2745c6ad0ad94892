import Foundation

/// A storing recipient of an inbound message: the mailbox and the public key its copy is sealed to.
public struct InboundMailbox: Sendable, Hashable {
    public var mailboxID: String
    public var publicKey: [UInt8]
    public init(mailboxID: String, publicKey: [UInt8]) { self.mailboxID = mailboxID; self.publicKey = publicKey }
}

extension LocalMailboxService {
    /// The MX's commit: seals one copy of `message` per storing mailbox (each to its own public
    /// key), and commits the copies together with the outbound jobs (forwards, webhooks) in one
    /// durable transaction. Only after this returns may SMTP answer 250. Then the copies of
    /// mailboxes unlocked in this process move into INBOX at once (their IDLE sessions hear of
    /// it); the others wait for the next login. Returns the outbound jobs' ids.
    @discardableResult
    public func acceptInbound(message: [UInt8], internalDate: Date, mailboxes: [InboundMailbox], jobs: [OutboundJob]) async throws -> [Int64] {
        var copies: [SealedCopy] = []
        for mailbox in Set(mailboxes).sorted(by: { $0.mailboxID < $1.mailboxID }) {
            let blob = try InboundSeal.seal(message: message, internalDate: internalDate, publicKey: mailbox.publicKey, mailboxID: mailbox.mailboxID)
            copies.append(SealedCopy(mailboxID: mailbox.mailboxID, blob: blob))
        }
        let (_, ids) = try await queue.commit(copies: copies, jobs: jobs)
        for copy in copies {
            guard let database = await registry.database(mailboxID: copy.mailboxID) else { continue }
            // Already durable in the queue: a failure here only delays the move to the next drain.
            _ = try? await queue.drain(into: database)
        }
        return ids
    }

    /// Bytes a mailbox holds without unlocking it: its file (with WAL) plus its queued mail. The
    /// MX checks quotas with this at RCPT time (the exact usage is inside the encrypted file).
    public func storedBytes(mailboxID: String) async throws -> Int64 {
        let queued = try await queue.queuedBytes(mailboxID: mailboxID)
        if let database = await registry.database(mailboxID: mailboxID) {
            return try await database.usage() + queued  // unlocked: the exact figure IMAP's QUOTA shows
        }
        let file = MailboxDatabase.filePath(storageRoot: storageRoot, mailboxID: mailboxID)
        var total: Int64 = 0
        for suffix in ["", "-wal"] {
            if let size = (try? FileManager.default.attributesOfItem(atPath: file + suffix))?[.size] as? NSNumber {
                total += size.int64Value
            }
        }
        return total + queued
    }
}
