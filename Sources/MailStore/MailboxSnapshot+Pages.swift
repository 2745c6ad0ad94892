import Crypto
import Foundation
import GRDB
import GRDBSQLite
import MailboxAPI
import SQLiteCipher

/// The fast way to a snapshot: the file's encrypted pages copied as they are, under a read
/// transaction that sees the checkpointed file alone, hashed in the same pass; then the copy is
/// opened with the key and every page of it decrypted and authenticated (ChaCha20-Poly1305).
///
/// Why it is consistent: the WAL is checkpointed completely while the writer is held (no commit in
/// between), and the read transaction is begun before the writer is let go. SQLite then reads the
/// file alone for that transaction (WAL read lock 0), and no checkpoint may write into the file
/// while a reader holds that lock; commits meanwhile go to the WAL only. So the file's first
/// `page_count` pages are, byte for byte, the database as of that transaction.
enum PageCopy {
    /// Bytes per read and write of a copy (one buffer: a copy's memory does not grow with the file).
    static let chunk = 8 << 20
    /// How long a checkpoint may keep failing (readers of older snapshots) before the copy gives up.
    static let checkpointAttempts = 40
    static let checkpointRetryDelay = Duration.milliseconds(50)

    /// Copies the first `length` bytes of `source` (all of it when nil) to `target` (created
    /// exclusively, 0600), hashing what is read, in one pass over two buffers: while another
    /// thread hashes a chunk, this one writes it and reads the next (memory: 2 × `chunk`, whatever
    /// the file's size). Not fsynced: a snapshot is read back through the page cache and deleted
    /// after the upload.
    static func copyHashing(from source: String, to target: String, length: Int64? = nil) throws -> (Int64, String) {
        let input = Glibc.open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw MailStoreError(.noMailbox, "cannot read the mailbox file") }
        defer { Glibc.close(input) }
        _ = posix_fadvise(input, 0, 0, POSIX_FADV_SEQUENTIAL)
        let output = Glibc.open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw MailStoreError(.noMailbox, "cannot create the snapshot file") }
        defer { Glibc.close(output) }
        let buffers = [UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096),
                       UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)]
        defer { buffers.forEach { $0.deallocate() } }
        let hasher = ChunkHasher()
        var done: Int64 = 0

        /// Reads the next chunk (at `done`) into `buffer`; 0 at the end.
        func readChunk(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
            let want = length.map { Int(min(Int64(chunk), $0 - offset)) } ?? chunk
            guard want > 0 else { return 0 }
            while true {
                let got = pread(input, buffer.baseAddress, want, off_t(offset))
                if got < 0 && errno == EINTR { continue }
                guard got >= 0 else { throw MailStoreError(.noMailbox, "cannot read the mailbox file (errno \(errno))") }
                if got == 0 && length != nil { throw MailStoreError(.noMailbox, "the mailbox file is shorter than its page count") }
                return got
            }
        }

        var current = 0
        var got = try readChunk(into: buffers[0], at: 0)
        while got > 0 {
            let bytes = UnsafeRawBufferPointer(rebasing: buffers[current][0..<got])
            let hashed = DispatchGroup()
            hasher.update(bytes, in: hashed)
            defer { hashed.wait() }  // the buffer is not reused or freed while it is hashed
            var written = 0
            while written < got {
                let n = write(output, bytes.baseAddress! + written, got - written)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw MailStoreError(.noMailbox, "cannot write the snapshot file (errno \(errno))") }
                written += n
            }
            done += Int64(got)
            let next = try readChunk(into: buffers[1 - current], at: done)
            hashed.wait()
            current = 1 - current
            got = next
        }
        return (done, hasher.hex())
    }

    /// An SQLite URI that opens `path` as a file nobody changes (no lock, no -wal, no -shm).
    static func immutableURI(_ path: String) -> String {
        "file:" + (path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path) + "?immutable=1"
    }

    /// Opens an encrypted copy read-only with `key` and decrypts every page of it (each page's
    /// Poly1305 tag is checked as it is read): a copy that is short, torn, damaged or under another
    /// key fails here. Also reads the schema, and checks the page count against the copy's size.
    static func verify(path: String, key: SecretBytes, size: Int64) throws {
        var config = EncryptedDatabase.configuration(key: key, readonly: true, label: "snapshot-check")
        config.journalMode = .default
        // immutable: nothing beside the copy is created or looked for (no -wal, no -shm).
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: immutableURI(path), configuration: config)
        } catch {
            throw MailStoreError(.noMailbox, "the snapshot does not open with the mailbox's key: \(describe(error))")
        }
        defer { try? queue.close() }
        do {
            try queue.read { db in
                let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                guard pageSize > 0, Int64(pages) * Int64(pageSize) == size else {
                    throw MailStoreError(.noMailbox, "the snapshot has \(pages) pages of \(pageSize) bytes but \(size) bytes")
                }
                _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
                let read = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_dbpage WHERE length(data) = ?", arguments: [pageSize]) ?? 0
                guard read == pages else {
                    throw MailStoreError(.noMailbox, "the snapshot's pages read back \(read) of \(pages)")
                }
            }
        } catch let error as MailStoreError {
            throw error
        } catch {
            throw MailStoreError(.noMailbox, "the snapshot does not verify: \(describe(error))")
        }
    }

    /// An error in one line without the statement that failed (a statement may hold a key).
    static func describe(_ error: any Error) -> String {
        if let failure = error as? EncryptedDatabase.Failure { return failure.description }
        if let error = error as? DatabaseError { return "SQLite error \(error.resultCode.rawValue): \(error.message ?? "")" }
        return String(describing: type(of: error))
    }
}

/// SHA-256 fed one chunk at a time on a thread of its own (`PageCopy.copyHashing`).
private final class ChunkHasher: @unchecked Sendable {
    // @unchecked: `hasher` is used by one thread at a time: each update is waited for (its
    // DispatchGroup) before the next starts and before `hex()`.
    private var hasher = SHA256()
    private let queue = DispatchQueue(label: "sealbox.snapshot.hash")

    func update(_ bytes: UnsafeRawBufferPointer, in group: DispatchGroup) {
        let chunk = UncheckedBytes(bytes: bytes)
        queue.async(group: group) { self.hasher.update(bufferPointer: chunk.bytes) }
    }

    func hex() -> String { hasher.finalize().map { String(format: "%02x", $0) }.joined() }
}

/// A buffer handed to the hashing thread while this one only reads it too (writing it to the file).
private struct UncheckedBytes: @unchecked Sendable {
    // @unchecked: the memory outlives the hash (copyHashing waits for it) and nobody writes it meanwhile.
    let bytes: UnsafeRawBufferPointer
}

/// A token that changes whenever a file is written, taken while nobody can write it: the file's
/// device, inode, size, modification and change times (hashed with the mailbox id, so it reveals
/// nothing). It is handed out only once the clock the kernel stamps files with has moved past the
/// file's times, so that any later write gives a later time (git's "racily clean" rule).
enum FileStamp {
    /// How long `settled` waits for the clock to move past the file's times (a file system with
    /// whole-second times needs up to a second).
    static let maximumWait = Duration.seconds(2)

    static func settled(path: String, mailboxID: String) -> String? {
        var before = stat()
        guard stat(path, &before) == 0 else { return nil }
        let (m, c) = (seconds(before.st_mtim), seconds(before.st_ctim))
        let latest = m > c ? m : c
        let wholeSeconds = before.st_mtim.tv_nsec == 0 && before.st_ctim.tv_nsec == 0
        let deadline = ContinuousClock.now + maximumWait
        while true {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME_COARSE, &now)
            let clock = seconds(now)
            if wholeSeconds ? clock.0 > latest.0 : clock > latest { break }
            guard ContinuousClock.now < deadline else { return nil }
            usleep(1000)
        }
        var after = stat()
        guard stat(path, &after) == 0, seconds(after.st_mtim) == seconds(before.st_mtim),
              seconds(after.st_ctim) == seconds(before.st_ctim), after.st_size == before.st_size else { return nil }
        let text = "sealbox-file-stamp\u{0}\(mailboxID)\u{0}\(after.st_dev):\(after.st_ino):\(after.st_size):"
            + "\(after.st_mtim.tv_sec).\(after.st_mtim.tv_nsec):\(after.st_ctim.tv_sec).\(after.st_ctim.tv_nsec)"
        return SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private static func seconds(_ t: timespec) -> (Int, Int) { (Int(t.tv_sec), Int(t.tv_nsec)) }
}

extension MailboxDatabase {
    /// What `copyPages` made: the copy's size and SHA-256, the source file's stamp at that moment.
    struct PageCopyResult {
        var size: Int64
        var sha256: String
        var stamp: String?
    }

    /// Runs `body` while the writer is held and the WAL is completely checkpointed into the file
    /// (nothing committed is only in the WAL); nil when readers of older snapshots kept the
    /// checkpoint from completing for every attempt. The writer waits for none of this but `body`.
    func whileCheckpointed<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T? {
        for attempt in 0..<PageCopy.checkpointAttempts {
            if attempt > 0 { try await Task.sleep(for: PageCopy.checkpointRetryDelay) }
            let result: T? = try await pool.writeWithoutTransaction { db in
                var log: Int32 = -1, checkpointed: Int32 = -1
                let rc = sqlite3_wal_checkpoint_v2(db.sqliteConnection, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &checkpointed)
                guard rc == SQLITE_OK, log == checkpointed else { return nil }
                return try body(db)
            }
            if let result { return result }
        }
        return nil
    }

    /// The file's stamp now, with everything committed checkpointed into it; nil when it cannot be told.
    func checkpointedStamp() async throws -> String? {
        let (path, mailboxID) = (self.path, self.mailboxID)
        return try await whileCheckpointed { _ in FileStamp.settled(path: path, mailboxID: mailboxID) } ?? nil
    }

    /// Copies the file's encrypted pages as they are to `target`, consistent (see `PageCopy`),
    /// hashing in the same pass. nil when the WAL could not be checkpointed completely (busy
    /// readers): the caller takes another way. Writers and readers go on during the copy.
    func copyPages(to target: String, key: SecretBytes) async throws -> PageCopyResult? {
        try await settleForCopy()
        var config = EncryptedDatabase.configuration(key: key, readonly: true, label: "snapshot-source")
        config.journalMode = .default
        config.allowsUnsafeTransactions = true  // the read transaction spans the copy
        let source = try DatabaseQueue(path: path, configuration: config)
        defer { try? source.close() }
        let (path, mailboxID) = (self.path, self.mailboxID)
        // Begun while the checkpointed writer is held: this transaction reads the file alone.
        guard let begun = try await whileCheckpointed({ _ -> (Int64, String?) in
            try source.inDatabase { db in
                try db.beginTransaction(.deferred)
                _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")  // the read begins here
                let pageSize = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 0
                let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                return (pageSize * pages, FileStamp.settled(path: path, mailboxID: mailboxID))
            }
        }) else { return nil }
        defer { try? source.inDatabase { db in try db.rollback() } }
        let (size, hash) = try PageCopy.copyHashing(from: path, to: target, length: begun.0)
        return PageCopyResult(size: size, sha256: hash, stamp: begun.1)
    }
}
