import Foundation
import GRDB
import MIMEParser
import Synchronization

/// The full-text index is filled after the write that stores a message, not in it.
///
/// Indexing a message (its trigrams, inside FTS5's insert) was a fifth of an APPEND's CPU, paid
/// while the client waits and while holding the file's one writer; and every write transaction
/// that indexed made a new FTS5 segment, which later merges rewrote level by level: an upload of
/// 5,000 messages wrote the index several times over. Now a stored message only has its text kept
/// in memory (`searchTexts`, by SHA-256); the maintenance pass indexes what is pending in a few
/// large transactions: once appends have paused (`indexQuiet`), or when `indexBatchTextBytes` of
/// text wait. Contents above `meta.fts_indexed_to` are the ones not indexed yet (content ids only
/// grow); a search takes them all as candidates and confirms each on its text, so an answer never
/// misses a message the index has not reached. A crash loses only the in-memory texts: the pass
/// that runs when the mailbox opens reads those messages again.
extension MailboxDatabase {
    /// Text waiting for the index at which the pass indexes even while appends go on.
    static let indexBatchTextBytes = 8 << 20
    /// How long after the last stored message the pass indexes what waits.
    static let indexQuiet: Duration = .milliseconds(300)
    /// Contents indexed by one write transaction (at most; fewer when their text is large).
    static let indexStepContents = 512

    /// Contents with an id at or under this are in the index (or gone).
    static func indexedThrough(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = 'fts_indexed_to'")) ?? 0
    }

    /// The index's columns of a message, in table order: subject, addresses, body text, attachment
    /// names (decoded), and the header block as it is (IMAP SEARCH TEXT looks there too).
    static func searchColumns(_ t: SearchText, header: some Collection<UInt8>) -> [String] {
        [t.subject, t.addresses, t.body, t.attachmentNames.joined(separator: "\n"), String(decoding: header, as: UTF8.self)]
    }

    static func searchColumns(_ message: [UInt8]) -> [String] {
        let m = MIMEMessage.parse(message)
        return searchColumns(m.searchText(), header: message.prefix(min(max(m.headerLength, 0), message.count)))
    }

    /// A stored content's index columns: from memory (`searchTexts`), else read, parsed and kept there.
    func searchColumns(_ db: Database, contentID: Int64, sha256: Data) throws -> [String] {
        if let cached = searchTexts.text(for: sha256) { return cached }
        let columns = Self.searchColumns(try Self.assembleContent(db, contentID))
        searchTexts.insert(columns, for: sha256)
        return columns
    }

    /// The contents not indexed yet (above the mark), in id order; at most `limit` of them.
    static func pendingContents(_ db: Database, limit: Int? = nil) throws -> [(id: Int64, sha: Data)] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT id, sha256 FROM contents WHERE id > ? ORDER BY id LIMIT ?"),
                         arguments: [try indexedThrough(db), limit ?? -1]).map { ($0[0], $0[1]) }
    }

    /// After a commit that stored new contents: keeps their text for the pass and starts it.
    func noteStored(_ stored: [PreparedMessage]) {
        guard !stored.isEmpty else { return }
        var bytes = 0
        for p in stored {
            let columns = Self.searchColumns(p.searchText, header: p.split.header)
            bytes += columns.reduce(0) { $0 + $1.utf8.count }
            searchTexts.insert(columns, for: Data(p.sha256))
        }
        indexWaiting.withLock { $0.bytes += bytes; $0.last = .now }
        startMaintenance()
    }

    /// Whether the pass should index now: appends paused, or enough text waits.
    func indexDue() -> Bool {
        indexWaiting.withLock { $0.bytes >= Self.indexBatchTextBytes || $0.last.duration(to: .now) >= Self.indexQuiet }
    }

    /// Indexes every pending content, a step (one write transaction) at a time; returns how many.
    @discardableResult
    public func indexPending() async throws -> Int {
        indexWaiting.withLock { $0.bytes = 0 }
        var done = 0
        while !reclaimer.isClosing {
            let step = try await indexPendingStep()
            if step == 0 { break }
            done += step
            await Task.yield()
        }
        return done
    }

    /// One step: the next pending contents (texts from memory, else read and parsed outside the
    /// writer), inserted in one transaction that moves the mark past them.
    func indexPendingStep() async throws -> Int {
        let pending = try await pooledRead { db in try Self.pendingContents(db, limit: Self.indexStepContents) }
        guard let last = pending.last?.id else { return 0 }
        var texts: [(id: Int64, columns: [String])] = []
        var missing: [(id: Int64, sha: Data)] = []
        var bytes = 0
        var through = last
        for (i, p) in pending.enumerated() {
            if bytes >= Self.indexBatchTextBytes { through = pending[i - 1].id; break }
            if let columns = searchTexts.text(for: p.sha) {
                texts.append((p.id, columns))
                bytes += columns.reduce(0) { $0 + $1.utf8.count }
            } else {
                missing.append(p)
                bytes += 64 << 10  // a guess: its size is known once read
            }
        }
        if !missing.isEmpty {
            let toRead = missing
            texts += try await pooledRead { db in
                // (a content deleted since: nothing to index)
                toRead.compactMap { p in (try? self.searchColumns(db, contentID: p.id, sha256: p.sha)).map { (p.id, $0) } }
            }
        }
        let entries = texts, mark = through
        try await pool.write { db in try Self.insertIndexEntries(db, entries, through: mark) }
        return pending.filter { $0.id <= through }.count
    }
}

extension MailboxDatabase {
    /// Inserts the entries of the pending contents among `texts` up to `through` (those still
    /// there; another pass may have indexed some already) and moves the mark to `through`.
    static func insertIndexEntries(_ db: Database, _ texts: [(id: Int64, columns: [String])], through: Int64) throws {
        let mark = try indexedThrough(db)
        guard through > mark else { return }
        let exists = try db.cachedStatement(sql: "SELECT 1 FROM contents WHERE id = ?")
        let insert = try db.cachedStatement(sql: "INSERT INTO content_fts(rowid, subject, addresses, body, attachments, header) VALUES (?, ?, ?, ?, ?, ?)")
        for t in texts where t.id > mark && t.id <= through {
            guard try Int.fetchOne(exists, arguments: [t.id]) != nil else { continue }
            try insert.execute(arguments: [t.id, t.columns[0], t.columns[1], t.columns[2], t.columns[3], t.columns[4]])
        }
        try setMeta(db, "fts_indexed_to", through)
    }

    /// In a write (the mailbox is closing): indexes the pending contents whose text is still in
    /// memory, in order, up to the first that is not (the pass of the next open reads the rest).
    func indexPending(_ db: Database) throws {
        var texts: [(id: Int64, columns: [String])] = []
        for p in try Self.pendingContents(db) {
            guard let columns = searchTexts.text(for: p.sha) else { break }
            texts.append((p.id, columns))
        }
        if let last = texts.last { try Self.insertIndexEntries(db, texts, through: last.id) }
    }
}

/// Text stored since the last indexing, and when the last message was stored.
struct IndexWaiting {
    var bytes = 0
    var last = ContinuousClock.Instant.now
}
