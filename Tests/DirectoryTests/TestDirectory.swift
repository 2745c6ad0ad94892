import Foundation
import GRDB
import Synchronization
import MailCore
import PostgresDirectory
import SQLiteCipher
import TestSupport
import Testing
@testable import Directory

/// The directory backends every behaviour test runs against: the embedded SQLite file and
/// PostgreSQL (a database of its own on the test process's server, `PostgresServer.shared()`).
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres
    var testDescription: String { rawValue }
}

/// A fresh directory: an SQLite file in its own temporary folder (removed at deinit), or a new
/// PostgreSQL database (its pool closed at deinit).
final class TestDirectory: Sendable {
    let backend: Backend
    let folder: URL
    let path: String
    let key: SecretBytes
    let directory: any MailDirectory
    /// PostgreSQL: the server and the database's name and URL.
    let server: PostgresServer?
    let database: String?

    /// An SQLite directory (the tests of SQLite-only behaviour: the file, its key, its schema).
    convenience init(key: SecretBytes = .random(count: 32)) throws {
        let folder = Self.makeFolder()
        let path = folder.appendingPathComponent("directory.sqlite").path
        self.init(backend: .sqlite, folder: folder, path: path, key: key, directory: try SQLiteDirectory(path: path, key: key), server: nil, database: nil)
    }

    /// A directory on `backend`.
    convenience init(_ backend: Backend, key: SecretBytes = .random(count: 32)) async throws {
        switch backend {
        case .sqlite:
            try self.init(key: key)
        case .postgres:
            let server = try await PostgresServer.shared()
            let database = try await server.createDatabase()
            var configuration = PostgresDirectory.Configuration(testURL: try PostgresURL(server.url(database: database)))
            configuration.maxConnections = 4
            let directory = try await PostgresDirectory.connect(configuration)
            let folder = Self.makeFolder()
            self.init(backend: .postgres, folder: folder, path: "", key: key, directory: directory, server: server, database: database)
        }
    }

    private init(backend: Backend, folder: URL, path: String, key: SecretBytes, directory: any MailDirectory, server: PostgresServer?, database: String?) {
        self.backend = backend; self.folder = folder; self.path = path; self.key = key; self.directory = directory
        self.server = server; self.database = database
    }

    private static func makeFolder() -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sealbox-dir-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// The SQLite directory (SQLite-only tests).
    var sqlite: SQLiteDirectory { directory as! SQLiteDirectory }

    func reopen(key: SecretBytes? = nil) throws -> SQLiteDirectory {
        try SQLiteDirectory(path: path, key: key ?? self.key)
    }

    /// The same directory opened anew beside the first (a second pool for PostgreSQL).
    func reopened() async throws -> any MailDirectory {
        switch backend {
        case .sqlite:
            return try reopen()
        case .postgres:
            var configuration = PostgresDirectory.Configuration(testURL: try PostgresURL(server!.url(database: database!)))
            configuration.maxConnections = 2
            let reopened = try await PostgresDirectory.connect(configuration)
            opened.withLock { $0.append(reopened) }
            return reopened
        }
    }

    private let opened = Mutex<[PostgresDirectory]>([])

    /// Rows of `table` (where `aliasID`, when given), read beside the directory.
    func rowCount(_ table: String, aliasID: String? = nil) async throws -> Int {
        let condition = aliasID.map { " WHERE alias_id = '\($0)'" } ?? ""
        switch backend {
        case .sqlite:
            let queue = try EncryptedDatabase.openQueue(path: path, key: key)
            defer { try? queue.close() }
            return try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)\(condition)") ?? 0 }
        case .postgres:
            let text = try await server!.psql("SELECT count(*) FROM \(table)\(condition)", database: database!)
            return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)
        if let postgres = directory as? PostgresDirectory {
            let others = opened.withLock { $0 }
            Task { await postgres.shutdown(); for other in others { await other.shutdown() } }
        }
    }
}

func address(_ text: String) -> EmailAddress { try! EmailAddress(text) }
func domain(_ text: String) -> Domain { try! Domain(text) }

/// Expects `body` to throw a `DirectoryError` with this code.
func expectError<T>(
    _ code: DirectoryError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        Issue.record("expected DirectoryError \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as DirectoryError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected DirectoryError \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

func samplePassword(aliasID: String, id: String = DirectoryID.randomPasswordID(), label: String? = "laptop") -> PasswordRecord {
    PasswordRecord(id: id, aliasID: aliasID, label: label, kdf: "scrypt:N=32768,r=8,p=1",
                   salt: Array(repeating: 7, count: 16), wrappedKey: Array(repeating: 9, count: 60))
}
