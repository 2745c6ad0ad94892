import Foundation
import GRDB
import MailboxAPI
@testable import MailStore
import SQLiteCipher
import Testing

/// `sealbox_trigram` (CSealboxFTS) gives FTS5 each distinct trigram of a column once: the
/// `detail = column` index it builds must answer every query as the built-in `trigram` does.
@Suite("Distinct-trigram FTS5 tokenizer")
struct DistinctTrigramTokenizerTests {
    /// Two contentless tables, the built-in tokenizer and Sealbox's, the mailbox's options.
    func pair() throws -> DatabaseQueue {
        var config = Configuration()
        config.prepareDatabase { db in try EncryptedDatabase.registerTokenizer(db) }
        let queue = try DatabaseQueue(configuration: config)
        try queue.write { db in
            for (name, tokenizer) in [("builtin", "trigram"), ("deduped", "sealbox_trigram")] {
                try db.execute(sql: """
                    CREATE VIRTUAL TABLE \(name) USING fts5(subject, body, content = '', contentless_delete = 1,
                        tokenize = '\(tokenizer) case_sensitive 0', detail = column)
                    """)
            }
        }
        return queue
    }

    func insert(_ queue: DatabaseQueue, _ rows: [(Int64, String, String)]) throws {
        try queue.write { db in
            for table in ["builtin", "deduped"] {
                for (id, subject, body) in rows {
                    try db.execute(sql: "INSERT INTO \(table)(rowid, subject, body) VALUES (?, ?, ?)", arguments: [id, subject, body])
                }
            }
        }
    }

    /// The query `fullTextSearch` makes: every distinct trigram of the needle, ANDed (optionally in one column).
    func query(_ needle: String, column: String?) -> String? {
        let scalars = Array(needle.lowercased().unicodeScalars)
        guard scalars.count >= 3 else { return nil }
        var grams: [String] = []
        for i in 0...(scalars.count - 3) {
            var g = String.UnicodeScalarView()
            g.append(contentsOf: scalars[i..<(i + 3)])
            let quoted = "\"" + String(g).replacingOccurrences(of: "\"", with: "\"\"") + "\""
            if !grams.contains(quoted) { grams.append(quoted) }
        }
        let terms = grams.joined(separator: " AND ")
        return column.map { "{\($0)} : (\(terms))" } ?? terms
    }

    func matches(_ queue: DatabaseQueue, _ table: String, _ match: String) throws -> [Int64] {
        try queue.read { db in try Int64.fetchAll(db, sql: "SELECT rowid FROM \(table) WHERE \(table) MATCH ? ORDER BY rowid", arguments: [match]) }
    }

    @Test("the same rows match every needle, in every column, as with the built-in tokenizer")
    func sameAnswers() throws {
        var rng = SystemRandomNumberGenerator()
        let words = ["Invoice", "invoice", "Straße", "STRASSE", "naïve", "café", "日本語のテキスト", "emoji 😀😀😀", "the", "quick",
                     "brown", "fox", "lazy", "dog", "\"quoted\"", "a-b-c", "ÅÄÖ", "ååå", "zebrafinch", "x"]
        func text(_ n: Int) -> String { (0..<n).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ") }
        let queue = try pair()
        var rows: [(Int64, String, String)] = []
        for id in 1...200 { rows.append((Int64(id), text(Int.random(in: 0...6, using: &rng)), text(Int.random(in: 0...400, using: &rng)))) }
        try insert(queue, rows)
        var needles = ["invoice", "STRASSE", "straße", "日本語", "😀😀", "fox lazy", "zebra", "quick brown fox", "\"quo", "e c", "xyz"]
        for _ in 0..<100 {
            let (_, subject, body) = rows.randomElement(using: &rng)!
            let source = Array(Bool.random(using: &rng) ? subject : body)
            guard source.count >= 3 else { continue }
            let start = Int.random(in: 0...(source.count - 3), using: &rng)
            needles.append(String(source[start..<min(source.count, start + Int.random(in: 3...20, using: &rng))]))
        }
        var nonEmpty = 0
        for needle in needles {
            for column in [nil, "subject", "body"] {
                guard let match = query(needle, column: column) else { continue }
                let builtin = try matches(queue, "builtin", match)
                #expect(try matches(queue, "deduped", match) == builtin, "needle \(needle) column \(column ?? "any")")
                if !builtin.isEmpty { nonEmpty += 1 }
            }
        }
        #expect(nonEmpty > 50)
        // Deletes (contentless_delete) leave the same answers.
        try queue.write { db in
            for table in ["builtin", "deduped"] { try db.execute(sql: "DELETE FROM \(table) WHERE rowid % 3 = 0") }
        }
        for needle in needles.prefix(40) {
            guard let match = query(needle, column: nil) else { continue }
            #expect(try matches(queue, "deduped", match) == matches(queue, "builtin", match))
        }
    }

    @Test("a column with more distinct trigrams than the tokenizer's table holds is indexed whole")
    func overflow() throws {
        // ~300,000 characters from a 2,000-scalar alphabet: far more distinct trigrams than the
        // 2^17 the table takes before it passes the rest through.
        var rng = SystemRandomNumberGenerator()
        var scalars = String.UnicodeScalarView()
        for _ in 0..<300_000 { scalars.append(Unicode.Scalar(UInt32.random(in: 0x4E00..<0x4E00 + 2000, using: &rng))!) }
        let body = String(scalars)
        let queue = try pair()
        try insert(queue, [(1, "", body), (2, "", "nothing here")])
        let chars = Array(body)
        for start in [0, 1000, 150_000, 299_990] {
            let needle = String(chars[start..<(start + 8)])
            let match = query(needle, column: "body")!
            #expect(try matches(queue, "deduped", match) == [1])
            #expect(try matches(queue, "builtin", match) == [1])
        }
    }

    @Test("a new mailbox's full-text table uses sealbox_trigram")
    func newMailboxUsesIt() async throws {
        let dir = TemporaryDirectory()
        let key = SecretBytes.random(count: 32)
        let mailbox = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: String(repeating: "ab", count: 16), dataKey: key)
        let sql = try await mailbox.pool.read { db in try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'content_fts'") }
        #expect(sql?.contains("sealbox_trigram") == true)
        _ = try await mailbox.append(to: "INBOX", message: Array("Subject: zebrafinch report\r\n\r\nThe zebrafinch sings.\r\n".utf8))
        #expect(try await mailbox.fullTextSearch(in: "INBOX", text: "ZEBRAFINCH sing", field: .any) == [1])
        #expect(try await mailbox.fullTextSearch(in: "INBOX", text: "zebrafinch", field: .subject) == [1])
        #expect(try await mailbox.fullTextSearch(in: "INBOX", text: "sings", field: .subject) == [])
    }
}

