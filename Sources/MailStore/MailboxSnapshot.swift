import Crypto
import Foundation
import GRDB
import MailboxAPI
import MailCore
import SQLiteCipher

/// A consistent copy of one mailbox file, for a backup (DESIGN.md §5).
public struct MailboxSnapshot: Sendable {
    public enum Kind: String, Sendable {
        /// `VACUUM INTO` from the open, unlocked mailbox, then re-opened with its key and read in full.
        case unlocked
        /// The file of a locked mailbox (no key here, no writer), copied while unlocking it waits.
        case locked
    }
    public let kind: Kind
    /// Where the copy is (encrypted with the mailbox's key, as the mailbox file is).
    public let path: String
    public let size: Int64
    /// SHA-256 of the copy's bytes, lower-case hex: what a restore checks the download against.
    public let fileSHA256: String
    /// Changes when the mailbox's content changes, and only then. For an unlocked mailbox, a hash
    /// of every row of every table of the copy (each page is encrypted with a fresh nonce, so the
    /// bytes of two copies of the same content differ); for a locked one, the file hash.
    public let contentSHA256: String
}

extension LocalMailboxService {
    /// The size of a mailbox's file (with its WAL), for the free-space check before a snapshot.
    public func mailboxFileSize(mailboxID: String) -> Int64 {
        let path = MailboxDatabase.filePath(storageRoot: storageRoot, mailboxID: mailboxID)
        return ["", "-wal"].reduce(Int64(0)) { total, suffix in
            total + ((try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int64) ?? 0)
        }
    }

    /// Writes a consistent, encrypted copy of the mailbox to `path` (which must not exist).
    /// Unlocked here: checkpoint (PASSIVE), `VACUUM INTO`, then the copy is opened with the key and
    /// every row read (proving it is good) into the content hash. Locked: the quiescent file is
    /// copied while any unlock of it waits; a locked mailbox with a non-empty WAL (after a crash)
    /// cannot be copied consistently without its key and is refused until its next unlock.
    public func snapshot(mailboxID: String, to path: String) async throws -> MailboxSnapshot {
        if let held = await registry.retain(mailboxID: mailboxID) {
            return try await unlockedSnapshot(mailboxID: mailboxID, held: held, to: path)
        }
        guard await registry.beginQuiescentCopy(mailboxID: mailboxID) else {
            // Unlocked (or being copied) in the meantime: take the unlocked path.
            guard let held = await registry.retain(mailboxID: mailboxID) else {
                throw MailStoreError(.mailboxClosed, "the mailbox is already being backed up")
            }
            return try await unlockedSnapshot(mailboxID: mailboxID, held: held, to: path)
        }
        do {
            let source = MailboxDatabase.filePath(storageRoot: storageRoot, mailboxID: mailboxID)
            guard FileManager.default.fileExists(atPath: source) else { throw MailStoreError(.noMailbox, "the mailbox file is missing") }
            let walSize = (try? FileManager.default.attributesOfItem(atPath: source + "-wal")[.size] as? Int64) ?? 0
            guard walSize == 0 else {
                throw MailStoreError(.mailboxClosed, "the locked mailbox has an unmerged write-ahead log; it is backed up after its next unlock")
            }
            let (size, hash) = try Self.copyHashing(from: source, to: path)
            await registry.endQuiescentCopy(mailboxID: mailboxID)
            return MailboxSnapshot(kind: .locked, path: path, size: size, fileSHA256: hash, contentSHA256: hash)
        } catch {
            await registry.endQuiescentCopy(mailboxID: mailboxID)
            throw error
        }
    }

    private func unlockedSnapshot(mailboxID: String, held: (MailboxDatabase, SecretBytes), to path: String) async throws -> MailboxSnapshot {
        do {
            try await held.0.vacuumInto(path)
            let snapshot = try Self.verifiedSnapshot(path: path, key: held.1)
            await registry.detach(mailboxID: mailboxID)
            return snapshot
        } catch {
            await registry.detach(mailboxID: mailboxID)
            throw error
        }
    }

    /// Opens an encrypted copy read-only with `key`, reads every row of every table into a hash.
    static func verifiedSnapshot(path: String, key: SecretBytes) throws -> MailboxSnapshot {
        var config = EncryptedDatabase.configuration(key: key, readonly: true, label: "snapshot")
        config.journalMode = .default
        let queue = try DatabaseQueue(path: path, configuration: config)
        defer { try? queue.close() }
        let content = try queue.read { db in try contentHash(db) }
        let (size, fileHash) = try hashFile(path)
        return MailboxSnapshot(kind: .unlocked, path: path, size: size, fileSHA256: fileHash, contentSHA256: content)
    }

    /// SHA-256 over every table's name and rows, in name and b-tree order, typed.
    public static func contentHash(_ db: Database) throws -> String {
        var hasher = SHA256()
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        for table in tables {
            hasher.update(data: Array("table \(table)\u{0}".utf8))
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM \"\(table.replacingOccurrences(of: "\"", with: "\"\""))\"")
            while let row = try rows.next() {
                for value in row.databaseValues {
                    switch value.storage {
                    case .null: hasher.update(data: [0])
                    case .int64(let i): hasher.update(data: [1]); withUnsafeBytes(of: i.littleEndian) { hasher.update(bufferPointer: $0) }
                    case .double(let d): hasher.update(data: [2]); withUnsafeBytes(of: d.bitPattern.littleEndian) { hasher.update(bufferPointer: $0) }
                    case .string(let s):
                        let bytes = Array(s.utf8)
                        hasher.update(data: [3]); withUnsafeBytes(of: Int64(bytes.count).littleEndian) { hasher.update(bufferPointer: $0) }
                        hasher.update(data: bytes)
                    case .blob(let data):
                        hasher.update(data: [4]); withUnsafeBytes(of: Int64(data.count).littleEndian) { hasher.update(bufferPointer: $0) }
                        hasher.update(data: data)
                    }
                }
                hasher.update(data: [0xFF])
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Copies `source` to `target` (created exclusively, 0600, fsynced) in 1 MiB pieces, hashing.
    static func copyHashing(from source: String, to target: String) throws -> (Int64, String) {
        guard let input = FileHandle(forReadingAtPath: source) else { throw MailStoreError(.noMailbox, "cannot read the mailbox file") }
        defer { try? input.close() }
        let fd = Glibc.open(target, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw MailStoreError(.noMailbox, "cannot create the snapshot file") }
        let output = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            try output.write(contentsOf: chunk)
            size += Int64(chunk.count)
        }
        try output.synchronize()
        try output.close()
        return (size, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }

    /// Size and SHA-256 (hex) of a file, read in 1 MiB pieces.
    public static func hashFile(_ path: String) throws -> (Int64, String) {
        guard let input = FileHandle(forReadingAtPath: path) else { throw MailStoreError(.noMailbox, "cannot read \(path)") }
        defer { try? input.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (size, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }
}

extension MailboxDatabase {
    /// PASSIVE checkpoint, then `VACUUM INTO path`: a consistent copy, encrypted with the same key
    /// (sqlite3mc keeps the cipher and key), that readers and the writer do not wait for.
    public func vacuumInto(_ path: String) async throws {
        try await maintain()  // expunged messages' contents are not copied
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)")
        }
        // A reader connection outside any transaction (VACUUM refuses to run inside one): the
        // writer and other readers go on meanwhile.
        readers.reserve()
        defer { readers.release() }
        try await pool.unsafeRead { db in
            try db.execute(sql: "VACUUM INTO ?", arguments: [path])
        }
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }
}

extension MailboxDatabase {
    /// Opens a box sealed to this mailbox's X-Wing public key (a backup's sealed alias settings).
    public func openSealed(_ blob: [UInt8]) throws -> [UInt8] {
        try InboundSeal.open(blob, keyPair: keyPair, mailboxID: mailboxID).message
    }
}

extension LocalMailboxService {
    /// sqlite3mc's default PBKDF2 rounds for chacha20: what another sqlite3mc tool assumes when it
    /// is given only `PRAGMA cipher = 'chacha20'; PRAGMA key = '<password>'`.
    public static let standardKDFIterations = 64007

    /// Writes a copy of the mailbox re-keyed with `password` under sqlite3mc's standard settings
    /// (cipher chacha20, `kdf_iter` 64007, rollback journal), so any sqlite3mc-enabled tool opens
    /// it with `PRAGMA cipher = 'chacha20'; PRAGMA key = '<password>';`. The copy is made with
    /// `VACUUM INTO` (still under the mailbox's data key) and re-keyed in place.
    public func exportSQLite(address: EmailAddress, password: String, to path: String) async throws {
        let session = try await unlockSession(address: address, password: password)
        guard let held = await registry.retain(mailboxID: session.mailboxID) else {
            await session.close()
            throw MailStoreError(.mailboxClosed, "the mailbox closed during the export")
        }
        do {
            try await held.0.vacuumInto(path)
            var config = EncryptedDatabase.configuration(key: held.1, label: "export")
            config.journalMode = .default
            let queue = try DatabaseQueue(path: path, configuration: config)
            try await queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                try db.execute(sql: "PRAGMA kdf_iter = \(Self.standardKDFIterations)")
                let quoted = "'" + KeyHierarchy.normalized(password).replacingOccurrences(of: "'", with: "''") + "'"
                try db.execute(sql: "PRAGMA rekey = " + quoted)
            }
            try queue.close()
            await registry.detach(mailboxID: session.mailboxID)
            await session.close()
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            await registry.detach(mailboxID: session.mailboxID)
            await session.close()
            throw error
        }
    }
}
