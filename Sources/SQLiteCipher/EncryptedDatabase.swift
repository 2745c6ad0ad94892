import CSealboxFTS
import Foundation
import GRDB

/// Opens SQLite databases encrypted by SQLite3 Multiple Ciphers (cipher `chacha20`, sqleet format:
/// ChaCha20-Poly1305 per page), failing closed when the cipher is not available.
///
/// Every connection (the writer and each reader of a pool) runs, before anything else:
/// `PRAGMA cipher = 'chacha20'` (must answer `chacha20`, else the open is refused: a plain SQLite
/// would silently write plaintext), `PRAGMA kdf_iter = N`, then `PRAGMA hexkey = '…'`, then reads
/// the schema to prove the key is right.
///
/// The keys Sealbox uses are random 256-bit values, never passwords, so the page-key derivation
/// (PBKDF2 inside sqlite3mc) needs no work factor: `kdfIterations` is kept low so that opening a
/// connection costs microseconds, not the ~20 ms of sqlite3mc's default of 64007 rounds.
/// An independent sqlite3mc build opens the file with exactly these three PRAGMAs (see README).
public enum EncryptedDatabase {
    public static let cipher = "chacha20"
    /// PBKDF2 rounds sqlite3mc applies to the (already random, 256-bit) key.
    public static let kdfIterations = 2

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public enum Code: Sendable { case cipherUnavailable, wrongKeyOrCorrupt, invalidKey }
        public let code: Code
        public let detail: String
        public var description: String {
            switch code {
            case .cipherUnavailable: "encryption is unavailable (\(detail)); refusing to open the database"
            case .wrongKeyOrCorrupt: "the database cannot be decrypted: wrong key or damaged file (\(detail))"
            case .invalidKey: "invalid database key (\(detail))"
            }
        }
    }

    /// A GRDB configuration that keys every connection with `key` and applies the Sealbox pragmas.
    public static func configuration(key: SecretBytes, readonly: Bool = false, label: String? = nil) -> Configuration {
        var config = Configuration()
        config.readonly = readonly
        config.label = label
        config.busyMode = .timeout(5)
        config.foreignKeysEnabled = true
        config.journalMode = .wal
        config.prepareDatabase { db in
            try applyKey(key, to: db)
            try db.execute(sql: """
                PRAGMA busy_timeout = 5000;
                PRAGMA synchronous = NORMAL;
                PRAGMA secure_delete = ON;
                PRAGMA temp_store = MEMORY;
                """)
            try registerTokenizer(db)
        }
        return config
    }

    /// Registers the `sealbox_trigram` FTS5 tokenizer (CSealboxFTS) on a connection: a table that
    /// names it cannot be read or written without it.
    public static func registerTokenizer(_ db: Database) throws {
        let rc = sealbox_fts_register(UnsafeMutableRawPointer(db.sqliteConnection))
        guard rc == 0 else {
            throw Failure(code: .cipherUnavailable, detail: "the sealbox_trigram tokenizer could not be registered (SQLite error \(rc))")
        }
    }

    /// Keys one connection; throws unless sqlite3mc's chacha20 cipher is present and the key opens the file.
    public static func applyKey(_ key: SecretBytes, to db: Database) throws {
        guard key.count == 32 else {
            throw Failure(code: .invalidKey, detail: "expected 32 bytes, got \(key.count)")
        }
        let answer = try String.fetchOne(db, sql: "PRAGMA cipher = '\(cipher)'")
        guard answer == cipher else {
            throw Failure(code: .cipherUnavailable, detail: "PRAGMA cipher answered \(answer.map { "'\($0)'" } ?? "nothing")")
        }
        let iter = try Int.fetchOne(db, sql: "PRAGMA kdf_iter = \(kdfIterations)")
        guard iter == kdfIterations else {
            throw Failure(code: .cipherUnavailable, detail: "PRAGMA kdf_iter answered \(iter.map(String.init) ?? "nothing")")
        }
        try db.execute(sql: "PRAGMA hexkey = '\(key.hexString())'")
        do {
            // The first read decrypts page 1: a wrong key or a damaged header fails here.
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
        } catch let error as DatabaseError {
            throw Failure(code: .wrongKeyOrCorrupt, detail: "SQLite code \(error.resultCode.rawValue)")
        }
    }

    /// Creates an empty encrypted file (WAL) whose freed pages can later be given back with
    /// `PRAGMA incremental_vacuum`. `auto_vacuum` must be chosen before the file's first page is
    /// written, and switching to WAL writes it: so both happen here, in that order.
    public static func createIncrementallyVacuumed(path: String, key: SecretBytes) throws {
        var config = configuration(key: key)
        config.journalMode = .default
        let queue = try DatabaseQueue(path: path, configuration: config)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
        }
        try queue.close()
    }

    /// A WAL pool (one writer, concurrent readers) on an encrypted file, created if missing.
    public static func openPool(path: String, key: SecretBytes, label: String? = nil) throws -> DatabasePool {
        try DatabasePool(path: path, configuration: configuration(key: key, label: label))
    }

    /// A single connection (used for tools, checks and short-lived opens).
    public static func openQueue(path: String, key: SecretBytes, readonly: Bool = false, label: String? = nil) throws -> DatabaseQueue {
        var config = configuration(key: key, readonly: readonly, label: label)
        if readonly { config.journalMode = .default }
        return try DatabaseQueue(path: path, configuration: config)
    }

    /// The SQLite and sqlite3mc versions actually linked (proves GRDB runs on sqlite3mc).
    public static func versions(_ db: Database) throws -> (sqlite: String, sqlite3mc: String) {
        let sqlite = try String.fetchOne(db, sql: "SELECT sqlite_version()") ?? "?"
        let mc = try String.fetchOne(db, sql: "SELECT sqlite3mc_version()") ?? "?"
        return (sqlite, mc)
    }
}
