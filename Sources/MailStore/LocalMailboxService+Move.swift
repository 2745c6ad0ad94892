import Crypto
import Foundation
import MailboxAPI

/// A mailbox moving between storage nodes (issue 19, `sealbox mailbox move`): the source ends the
/// mailbox's sessions and keeps it locked while its files are copied; the target puts the copied
/// files in place. The queued mail goes with it (`SealedQueue.pending`/`restoreSealed`).
extension LocalMailboxService {
    /// Waits until no delivery that claimed the mailbox is still on its way to the queue (call it
    /// after the mailbox was marked as moving, so that no new one can claim it). Throws
    /// `.unavailable` after `within` (the move is given up; nothing was copied yet).
    public func waitForQueueWriters(mailboxID: String, within: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + within
        while queueWriters.count(mailboxID) > 0 {
            guard ContinuousClock.now < deadline else { throw MailStoreError(.unavailable, "deliveries to the mailbox did not finish") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Ends every session of the mailbox (each hears its password revoked, the notice that ends a
    /// session: clients log in again and find the mailbox on its new node), locks it, and keeps it
    /// locked while `body` runs. Sessions that have not ended within `within` are cut off: the file
    /// is closed under them and their calls fail. When SQLite cannot close it (a statement still
    /// running on it), the file could still be written: `body` is not run, and this throws
    /// `.unavailable` (the move is given up before anything was copied).
    public func evicting<T>(mailboxID: String, within: Duration = .seconds(10), _ body: () async throws -> T) async throws -> T {
        await registry.announceEviction(mailboxID: mailboxID)
        let deadline = ContinuousClock.now + within
        while await !registry.lockForReplacement(mailboxID: mailboxID) {
            if ContinuousClock.now >= deadline {
                guard await registry.forceLock(mailboxID: mailboxID) else {
                    await registry.endQuiescentCopy(mailboxID: mailboxID)
                    throw MailStoreError(.unavailable, "the mailbox file could not be closed under its sessions")
                }
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        // A drain cut off by the forced lock may still be between the mailbox's commit and the
        // queue's removal of what it moved: the body reads the queue only after it has left.
        let drainsGone = ContinuousClock.now + within
        while queue.isDraining(mailboxID: mailboxID), ContinuousClock.now < drainsGone { try await Task.sleep(for: .milliseconds(10)) }
        return try await keptLocked(mailboxID: mailboxID, body)
    }

    /// A mailbox this node may no longer write (its lease was lost for good: taken over by another
    /// node): its sessions are told to end and its file is closed under them at once.
    public func closeLost(mailboxID: String) async {
        await registry.announceEviction(mailboxID: mailboxID)
        await registry.forceLock(mailboxID: mailboxID)
        await registry.endQuiescentCopy(mailboxID: mailboxID)
    }

    /// The files of a locked mailbox (the file, then the companions that exist), each with its
    /// size and SHA-256: what a move sends.
    public func lockedFiles(mailboxID: String) throws -> [(suffix: String, path: String, size: Int64, sha256: String)] {
        let base = MailboxDatabase.filePath(storageRoot: storageRoot, mailboxID: mailboxID)
        guard FileManager.default.fileExists(atPath: base) else { throw MailStoreError(.noMailbox, "the mailbox file is missing") }
        var files: [(String, String, Int64, String)] = []
        for suffix in [""] + MailboxDatabase.companionSuffixes where FileManager.default.fileExists(atPath: base + suffix) {
            let (size, digest) = try Self.sha256(ofFile: base + suffix)
            files.append((suffix, base + suffix, size, digest))
        }
        return files
    }

    /// Size and SHA-256 (hex) of a file, read in pieces.
    public static func sha256(ofFile path: String) throws -> (Int64, String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw MailStoreError(.noMailbox, "cannot read a mailbox file") }
        defer { try? handle.close() }
        var hash = SHA256(), size: Int64 = 0
        while let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty {
            hash.update(data: piece)
            size += Int64(piece.count)
        }
        return (size, hash.finalize().map { String(format: "%02x", $0) }.joined())
    }

    /// Puts a moved-in mailbox's files (already checked) in place: `files` maps each suffix to the
    /// received copy, renamed into place. Refuses when this node has the mailbox open; a file left
    /// by an earlier move away is replaced.
    public func installMoved(mailboxID: String, files: [String: String]) async throws {
        guard await !isUnlocked(mailboxID: mailboxID) else { throw MailStoreError(.unavailable, "the mailbox is open on the receiving node") }
        let base = MailboxDatabase.filePath(storageRoot: storageRoot, mailboxID: mailboxID)
        let folder = (base as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for suffix in [""] + MailboxDatabase.companionSuffixes where files[suffix] == nil { try? FileManager.default.removeItem(atPath: base + suffix) }
        for (suffix, path) in files {
            guard rename(path, base + suffix) == 0 else { throw MailStoreError(.unavailable, "cannot put a moved mailbox file in place") }
            try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: base + suffix)
        }
    }

    /// Removes a mailbox's files and queued mail from this node (after it moved away, or to undo
    /// an installation whose move failed).
    public func removeMoved(mailboxID: String) async throws {
        let base = MailboxDatabase.filePath(storageRoot: storageRoot, mailboxID: mailboxID)
        for suffix in [""] + MailboxDatabase.companionSuffixes { try? FileManager.default.removeItem(atPath: base + suffix) }
        try await queue.removeAll(mailboxID: mailboxID)
    }

    /// Mail queued for the mailbox after `seq` (oldest first), still sealed.
    public func queuedBlobs(mailboxID: String, after seq: Int64 = 0) async throws -> [(seq: Int64, blob: [UInt8])] {
        var out: [(Int64, [UInt8])] = []
        var after = seq
        while true {
            let batch = try await queue.pending(mailboxID: mailboxID, after: after, limit: 100)
            guard let last = batch.last else { break }
            out += batch.map { ($0.seq, $0.blob) }
            after = last.seq
        }
        return out
    }

    /// Queues moved mail (sealed) for the mailbox here, and moves it in if the mailbox is open.
    public func enqueueMoved(mailboxID: String, blobs: [[UInt8]], queueSequence: Int64?) async throws {
        if let queueSequence { try await queue.raiseSequence(atLeast: queueSequence) }
        for blob in blobs { try await queue.restoreSealed(blob: blob, mailboxID: mailboxID) }
        if !blobs.isEmpty { requestDrain(mailboxID: mailboxID) }
    }
}

extension UnlockRegistry {
    /// Tells every session of the mailbox that its password is revoked (the notice that ends it).
    func announceEviction(mailboxID: String) {
        guard let entry = entries[mailboxID] else { return }
        let changes = Set(entry.verifiers.values).map { MailboxChange(folder: "", kind: .passwordRevoked(passwordID: $0), modSeq: 0, origin: nil) }
        entry.database.publish(changes)
    }

    /// Closes the mailbox under its sessions (their calls fail from now on) and marks it quiescent.
    /// False when SQLite refused to close the file (GRDB then leaves its connections open, so the
    /// sessions that hold it can still write): it is marked quiescent all the same (no new session
    /// opens it), and the caller must not copy it.
    @discardableResult
    func forceLock(mailboxID: String) -> Bool {
        var closed = true
        if let entry = entries[mailboxID] {
            entry.closing?.cancel()
            entries[mailboxID] = nil
            do { try entry.database.close() } catch { closed = false }
        }
        _ = beginQuiescentCopy(mailboxID: mailboxID)
        return closed
    }
}
