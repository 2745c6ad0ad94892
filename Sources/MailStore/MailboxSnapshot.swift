import Crypto
import Foundation
import GRDB
import MailboxAPI
import MailCore
import SQLiteCipher

/// A consistent copy of one mailbox file, for a backup (DESIGN.md §5).
public struct MailboxSnapshot: Sendable {
    public enum Kind: String, Sendable {
        /// From the open, unlocked mailbox: its encrypted pages copied as they are under a read
        /// transaction (or, when the WAL cannot be checkpointed, `VACUUM INTO`), then opened with
        /// the key and read in full.
        case unlocked
        /// The file of a locked mailbox (no key here, no writer), copied while unlocking it waits.
        case locked
    }
    /// How an unlocked mailbox is copied: its pages as they are (falling back to `VACUUM INTO`
    /// when the WAL cannot be merged), or `VACUUM INTO` always (the benchmark compares the two).
    public enum Method: Sendable { case pages, vacuumInto }
    /// How long one part of making the snapshot took (the benchmark prints them).
    public struct Stage: Sendable {
        public var name: String
        public var duration: Duration
    }
    public let kind: Kind
    /// Where the copy is (encrypted with the mailbox's key, as the mailbox file is).
    public let path: String
    public let size: Int64
    /// SHA-256 of the copy's bytes, lower-case hex: what a restore checks the download against.
    public let fileSHA256: String
    /// Changes when the mailbox's content changes. For a copy of the file's pages (locked, or
    /// unlocked and copied as pages) the file hash: pages are re-encrypted only when written. For
    /// a `VACUUM INTO` copy, whose pages are all encrypted afresh, a hash of every row of every table.
    public let contentSHA256: String
    /// The mailbox file's stamp when the copy was taken (`LocalMailboxService.fileStamp`); nil
    /// when it could not be told.
    public let stamp: String?
    public let stages: [Stage]
}

extension LocalMailboxService {
    /// The size of a mailbox's file (with its WAL), for the free-space check before a snapshot.
    public func mailboxFileSize(mailboxID: String) -> Int64 {
        let path = MailboxDatabase.filePath(storageRoot: storageRoot, mailboxID: mailboxID)
        return ["", "-wal"].reduce(Int64(0)) { total, suffix in
            total + ((try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int64) ?? 0)
        }
    }

    /// A token that changes whenever the mailbox file is written, telling without reading the
    /// file whether it changed since a snapshot that recorded the same stamp. Unlocked: taken with
    /// the writer held and everything committed checkpointed into the file; locked: taken while
    /// any unlock of it waits. nil when it cannot be told now (busy readers, an unmerged WAL).
    public func fileStamp(mailboxID: String) async throws -> String? {
        if let held = await registry.retain(mailboxID: mailboxID) {
            do {
                let stamp = try await held.0.checkpointedStamp()
                await registry.detach(mailboxID: mailboxID)
                return stamp
            } catch {
                await registry.detach(mailboxID: mailboxID)
                throw error
            }
        }
        guard await registry.beginQuiescentCopy(mailboxID: mailboxID) else { return nil }
        let source = MailboxDatabase.filePath(storageRoot: storageRoot, mailboxID: mailboxID)
        let walSize = (try? FileManager.default.attributesOfItem(atPath: source + "-wal")[.size] as? Int64) ?? 0
        let stamp = walSize == 0 ? FileStamp.settled(path: source, mailboxID: mailboxID) : nil
        await registry.endQuiescentCopy(mailboxID: mailboxID)
        return stamp
    }

    /// Writes a consistent, encrypted copy of the mailbox to `path` (which must not exist).
    /// Unlocked here: the file's encrypted pages are copied as they are under a read transaction
    /// (see `PageCopy`) and hashed in the same pass, then the copy is opened with the key and every
    /// page of it decrypted; when the WAL cannot be checkpointed (readers of old snapshots), a
    /// `VACUUM INTO` copy whose rows are all read into the content hash. Locked: the quiescent
    /// file is copied while any unlock of it waits; a locked mailbox with a non-empty WAL (after a
    /// crash) cannot be copied consistently without its key and is refused until its next unlock.
    public func snapshot(mailboxID: String, to path: String) async throws -> MailboxSnapshot {
        try await snapshot(mailboxID: mailboxID, to: path, method: .pages)
    }

    @_spi(Testing) public func snapshot(mailboxID: String, to path: String, method: MailboxSnapshot.Method) async throws -> MailboxSnapshot {
        if let held = await registry.retain(mailboxID: mailboxID) {
            return try await unlockedSnapshot(mailboxID: mailboxID, held: held, to: path, method: method)
        }
        guard await registry.beginQuiescentCopy(mailboxID: mailboxID) else {
            // Unlocked (or being copied) in the meantime: take the unlocked path.
            guard let held = await registry.retain(mailboxID: mailboxID) else {
                throw MailStoreError(.mailboxClosed, "the mailbox is already being backed up")
            }
            return try await unlockedSnapshot(mailboxID: mailboxID, held: held, to: path, method: method)
        }
        do {
            let source = MailboxDatabase.filePath(storageRoot: storageRoot, mailboxID: mailboxID)
            guard FileManager.default.fileExists(atPath: source) else { throw MailStoreError(.noMailbox, "the mailbox file is missing") }
            let walSize = (try? FileManager.default.attributesOfItem(atPath: source + "-wal")[.size] as? Int64) ?? 0
            guard walSize == 0 else {
                throw MailStoreError(.mailboxClosed, "the locked mailbox has an unmerged write-ahead log; it is backed up after its next unlock")
            }
            let start = ContinuousClock.now
            let stamp = FileStamp.settled(path: source, mailboxID: mailboxID)
            let (size, hash) = try PageCopy.copyHashing(from: source, to: path)
            await registry.endQuiescentCopy(mailboxID: mailboxID)
            return MailboxSnapshot(kind: .locked, path: path, size: size, fileSHA256: hash, contentSHA256: hash, stamp: stamp,
                                   stages: [.init(name: "copy + SHA-256 (one pass)", duration: ContinuousClock.now - start)])
        } catch {
            await registry.endQuiescentCopy(mailboxID: mailboxID)
            throw error
        }
    }

    private func unlockedSnapshot(mailboxID: String, held: (MailboxDatabase, SecretBytes), to path: String,
                                  method: MailboxSnapshot.Method) async throws -> MailboxSnapshot {
        do {
            let snapshot = try await Self.unlockedSnapshot(held: held, to: path, method: method)
            await registry.detach(mailboxID: mailboxID)
            return snapshot
        } catch {
            await registry.detach(mailboxID: mailboxID)
            throw error
        }
    }

    private static func unlockedSnapshot(held: (MailboxDatabase, SecretBytes), to path: String,
                                         method: MailboxSnapshot.Method) async throws -> MailboxSnapshot {
        let start = ContinuousClock.now
        if method == .pages, let copy = try await held.0.copyPages(to: path, key: held.1) {
            let copied = ContinuousClock.now
            try PageCopy.verify(path: path, key: held.1, size: copy.size)
            return MailboxSnapshot(kind: .unlocked, path: path, size: copy.size, fileSHA256: copy.sha256, contentSHA256: copy.sha256,
                                   stamp: copy.stamp, stages: [.init(name: "copy pages + SHA-256 (one pass)", duration: copied - start),
                                                               .init(name: "verify (decrypt every page)", duration: ContinuousClock.now - copied)])
        }
        try? FileManager.default.removeItem(atPath: path)
        try await held.0.vacuumInto(path)
        let copied = ContinuousClock.now
        let content = try verifiedContentHash(path: path, key: held.1)
        let verified = ContinuousClock.now
        let (size, fileHash) = try hashFile(path)
        return MailboxSnapshot(kind: .unlocked, path: path, size: size, fileSHA256: fileHash, contentSHA256: content, stamp: nil,
                               stages: [.init(name: "VACUUM INTO", duration: copied - start),
                                        .init(name: "verify (every row into the content hash)", duration: verified - copied),
                                        .init(name: "SHA-256 of the file", duration: ContinuousClock.now - verified)])
    }

    /// Opens an encrypted copy read-only with `key`, reads every row of every table into a hash.
    static func verifiedContentHash(path: String, key: SecretBytes) throws -> String {
        var config = EncryptedDatabase.configuration(key: key, readonly: true, label: "snapshot")
        config.journalMode = .default
        let queue = try DatabaseQueue(path: path, configuration: config)
        defer { try? queue.close() }
        return try queue.read { db in try contentHash(db) }
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

    /// Size and SHA-256 (hex) of a file, read in pieces into one buffer.
    public static func hashFile(_ path: String) throws -> (Int64, String) {
        let input = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw MailStoreError(.noMailbox, "cannot read \(path)") }
        defer { Glibc.close(input) }
        _ = posix_fadvise(input, 0, 0, POSIX_FADV_SEQUENTIAL)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: PageCopy.chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var size: Int64 = 0
        while true {
            let got = read(input, buffer.baseAddress, buffer.count)
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw MailStoreError(.noMailbox, "cannot read \(path) (errno \(errno))") }
            if got == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            size += Int64(got)
        }
        return (size, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }
}

extension MailboxDatabase {
    /// PASSIVE checkpoint, then `VACUUM INTO path`: a consistent copy, encrypted with the same key
    /// (sqlite3mc keeps the cipher and key), that readers and the writer do not wait for.
    public func vacuumInto(_ path: String) async throws {
        try await settleForCopy()
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
