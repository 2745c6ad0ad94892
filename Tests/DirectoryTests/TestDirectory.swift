import Foundation
import MailCore
import SQLiteCipher
import Testing
@testable import Directory

/// A fresh directory in its own temporary folder, removed by `cleanup()`.
final class TestDirectory: Sendable {
    let folder: URL
    let path: String
    let key: SecretBytes
    let directory: SQLiteDirectory

    init(key: SecretBytes = .random(count: 32)) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("sealbox-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        path = folder.appendingPathComponent("directory.sqlite").path
        self.key = key
        directory = try SQLiteDirectory(path: path, key: key)
    }

    func reopen(key: SecretBytes? = nil) throws -> SQLiteDirectory {
        try SQLiteDirectory(path: path, key: key ?? self.key)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }
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
