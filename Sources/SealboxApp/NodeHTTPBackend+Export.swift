import Foundation
import HTTPServer
import MailArchive
import MailboxAPI
import MailCore

/// The owner's export download, produced piece by piece as the client reads it: mbox (one
/// folder), a zip of .eml files (`EMLZipStream`), or the encrypted SQLite file (written by
/// `LocalMailboxService.exportSQLite` into the data directory, read out, then deleted). Memory
/// holds one message (or one 1 MiB piece of the file) at a time, never the mailbox.
extension NodeHTTPBackend {
    public func export(_ login: OwnerLogin, format: APIExportFormat, folder: String?, password: String?) async throws -> HTTPExport {
        try await run {
            let session = try session(login)
            let name = session.address.localPart.filter { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }
            let base = (name.isEmpty ? "mailbox" : name) + "@" + session.address.domain.ascii
            let folders = try await session.folders().map(\.path)
            if let folder, !folders.contains(folder) { throw HTTPBackendError(.notFound, "no such folder: \(folder)") }
            switch format {
            case .mbox:
                let producer = MailboxExportProducer(session: session, folders: [folder ?? "INBOX"], zip: false)
                return HTTPExport(filename: base + ".mbox", contentType: "application/mbox",
                                  chunks: AsyncThrowingStream(unfolding: { try await producer.next() }))
            case .emlZip:
                let producer = MailboxExportProducer(session: session, folders: folder.map { [$0] } ?? folders, zip: true)
                return HTTPExport(filename: base + ".zip", contentType: "application/zip",
                                  chunks: AsyncThrowingStream(unfolding: { try await producer.next() }))
            case .sqlite:
                guard let password else {
                    throw HTTPBackendError(.invalid, "the sqlite export is keyed with your password: send it (HTTP Basic, or `password` when signed in with a session)")
                }
                let directory = node.dataDirectory + "/export-tmp"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let path = directory + "/" + UUID().uuidString + ".sqlite"
                do {
                    try await node.mailboxes.exportSQLite(address: session.address, password: password, to: path)
                } catch let error as MailStoreError where error.code == .authenticationFailed {
                    throw HTTPBackendError(.invalid, "the password is not a password of this mailbox")
                }
                let producer = try FileExportProducer(path: path)
                return HTTPExport(filename: base + ".sqlite", contentType: "application/vnd.sqlite3",
                                  chunks: AsyncThrowingStream(unfolding: { try producer.next() }))
            }
        }
    }
}

/// Reads a mailbox's messages folder by folder and encodes them (mbox or eml-zip) in pieces of
/// about `pieceBytes`.
actor MailboxExportProducer {
    static let pieceBytes = 256 << 10
    let session: any MailboxSession
    let folders: [String]
    let zip: Bool
    var stream = EMLZipStream()
    var folderIndex = 0
    var pending: [MessageRecord] = []
    var position = 0
    var current = ""
    var done = false

    init(session: any MailboxSession, folders: [String], zip: Bool) {
        self.session = session
        self.folders = folders
        self.zip = zip
    }

    func next() async throws -> [UInt8]? {
        var out: [UInt8] = []
        while out.count < Self.pieceBytes, !done {
            if position >= pending.count {
                guard folderIndex < folders.count else {
                    done = true
                    if zip { out += stream.finish() }
                    break
                }
                current = folders[folderIndex]
                folderIndex += 1
                pending = try await session.messageStates(in: current, uids: nil, changedSince: nil).sorted { $0.uid < $1.uid }
                position = 0
                continue
            }
            let record = pending[position]
            position += 1
            guard let bytes = try await session.messageBytes(in: current, uid: record.uid) else { continue }  // expunged meanwhile
            let message = ArchivedMessage(bytes: bytes, flags: record.flags, keywords: record.keywords, internalDate: record.internalDate)
            if zip {
                out += try stream.add(folder: current, message: message)
            } else {
                MBoxWriter.encode(message, into: &out)
            }
        }
        if position >= pending.count { pending = [] ; position = 0 }
        return out.isEmpty && done ? nil : out
    }
}

/// Reads a temporary export file in 1 MiB pieces and deletes it when done (or when the download
/// is abandoned and the producer goes away).
final class FileExportProducer: Sendable {
    let path: String
    let handle: FileHandle

    init(path: String) throws {
        self.path = path
        guard let handle = FileHandle(forReadingAtPath: path) else {
            try? FileManager.default.removeItem(atPath: path)
            throw HTTPBackendError(.unavailable, "the export file could not be read")
        }
        self.handle = handle
    }

    func next() throws -> [UInt8]? {
        guard let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else { return nil }
        return Array(data)
    }

    deinit {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}
