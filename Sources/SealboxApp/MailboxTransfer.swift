import Foundation
import MailArchive
import MailboxAPI
import MailStore
import MIMEParser

/// `sealbox mailbox export` / `import`: a mailbox to and from mbox, a zip of .eml files, Maildir.
public enum MailboxTransfer {
    public enum Format: String, Sendable, CaseIterable {
        case mbox
        case emlZip = "eml-zip"
        case sqlite
    }

    public struct Summary: Sendable, Equatable {
        public var folders = 0
        public var messages = 0
        /// Messages not imported because the folder already had them (same Message-ID, or same bytes).
        public var duplicates = 0
        public var bytes: Int64 = 0
    }

    /// Progress: messages done, messages in all (export), or bytes read, bytes in all (mbox import).
    public typealias Progress = @Sendable (Int64, Int64) -> Void

    // MARK: - Export

    /// Writes every folder (or just `folder`) of the mailbox. mbox: `path` is a directory with one
    /// `<folder>.mbox` per folder (nested folders as subdirectories), or the mbox file itself when
    /// `folder` is given. eml-zip: `path` is the zip. Files are created 0600; nothing is overwritten.
    public static func export(session: any MailboxSession, format: Format, to path: String, folder: String? = nil,
                              progress: Progress? = nil) async throws -> Summary {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: path) else { throw ArchiveError(description: "\(path) already exists; choose a new name") }
        var folders = try await session.folders().map(\.path)
        if let folder {
            guard folders.contains(folder) else { throw ArchiveError(description: "no such folder: \(folder)") }
            folders = [folder]
        }
        var records: [(String, [MessageRecord])] = []
        for f in folders { records.append((f, try await session.messages(in: f, uids: nil, changedSince: nil))) }
        let total = Int64(records.reduce(0) { $0 + $1.1.count })
        var summary = Summary()
        var done: Int64 = 0

        switch format {
        case .sqlite:
            throw ArchiveError(description: "the sqlite format is written by LocalMailboxService.exportSQLite")
        case .mbox:
            if folder == nil { try fm.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700]) }
            for (f, messages) in records {
                let file = folder == nil ? path + "/" + f + ".mbox" : path
                try fm.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                       attributes: [.posixPermissions: 0o700])
                guard fm.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600]),
                      let handle = FileHandle(forWritingAtPath: file) else {
                    throw ArchiveError(description: "cannot create \(file)")
                }
                var writer = MBoxWriter(fileHandle: handle)
                for record in messages {
                    guard let bytes = try await session.messageBytes(in: f, uid: record.uid) else { continue }
                    try writer.write(ArchivedMessage(bytes: bytes, flags: record.flags, keywords: record.keywords,
                                                     internalDate: record.internalDate))
                    summary.messages += 1; summary.bytes += Int64(bytes.count); done += 1
                    progress?(done, total)
                }
                try writer.finish()
                try handle.close()
                summary.folders += 1
            }
        case .emlZip:
            var writer = try EMLZipWriter(path: path)
            for (f, messages) in records {
                for record in messages {
                    guard let bytes = try await session.messageBytes(in: f, uid: record.uid) else { continue }
                    try writer.add(folder: f, message: ArchivedMessage(bytes: bytes, flags: record.flags, keywords: record.keywords,
                                                                       internalDate: record.internalDate))
                    summary.messages += 1; summary.bytes += Int64(bytes.count); done += 1
                    progress?(done, total)
                }
                summary.folders += 1
            }
            try writer.finish()
            try? fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
        return summary
    }

    // MARK: - Import

    /// What a folder already holds, by `MessageIdentity` (Message-ID, else the bytes).
    static func identities(session: any MailboxSession, folder: String) async throws -> Set<String> {
        var keys: Set<String> = []
        for record in try await session.messages(in: folder, uids: nil, changedSince: nil) {
            if let id = record.messageID, !id.isEmpty {
                keys.insert(MessageIdentity.key(for: Array("Message-ID: \(id.hasPrefix("<") ? id : "<\(id)>")\r\n\r\n".utf8)))
            } else if let bytes = try await session.messageBytes(in: folder, uid: record.uid) {
                keys.insert(MessageIdentity.key(for: bytes))
            }
        }
        return keys
    }

    static func ensureFolder(session: any MailboxSession, _ folder: String) async throws {
        if try await session.folder(folder) == nil { _ = try await session.createFolder(folder, specialUse: nil) }
    }

    /// Imports an mbox file into `folder` (created if missing), keeping flags, keywords and dates
    /// where the file has them; messages the folder already has are skipped.
    public static func importMBox(session: any MailboxSession, path: String, folder: String = "INBOX",
                                  progress: Progress? = nil) async throws -> Summary {
        try await ensureFolder(session: session, folder)
        var known = try await identities(session: session, folder: folder)
        var reader = try MBoxReader(path: path)
        var summary = Summary(folders: 1)
        while var message = try reader.next() {
            message.bytes = MIMEMessage.canonicalCRLF(message.bytes)  // stored with CRLF, as IMAP counts it
            let key = MessageIdentity.key(for: message.bytes)
            if known.contains(key) { summary.duplicates += 1 } else {
                _ = try await session.append(to: folder, message: message.bytes, flags: message.flags,
                                             keywords: message.keywords, internalDate: message.internalDate)
                known.insert(key)
                summary.messages += 1
                summary.bytes += Int64(message.bytes.count)
            }
            progress?(reader.bytesRead, reader.totalBytes)
        }
        return summary
    }

    /// Imports every folder of a Maildir (Maildir++ subfolders become folders).
    public static func importMaildir(session: any MailboxSession, root: String, progress: Progress? = nil) async throws -> Summary {
        var summary = Summary()
        let folders = try MaildirReader.folders(at: root)
        var plan: [(String, [ArchivedMessage])] = []
        for folder in folders { plan.append((folder, try MaildirReader.messages(in: root, folder: folder))) }
        let total = Int64(plan.reduce(0) { $0 + $1.1.count })
        var done: Int64 = 0
        for (folder, messages) in plan {
            try await ensureFolder(session: session, folder)
            var known = try await identities(session: session, folder: folder)
            for var message in messages {
                message.bytes = MIMEMessage.canonicalCRLF(message.bytes)
                let key = MessageIdentity.key(for: message.bytes)
                if known.contains(key) { summary.duplicates += 1 } else {
                    _ = try await session.append(to: folder, message: message.bytes, flags: message.flags,
                                                 keywords: message.keywords, internalDate: message.internalDate)
                    known.insert(key)
                    summary.messages += 1
                    summary.bytes += Int64(message.bytes.count)
                }
                done += 1
                progress?(done, total)
            }
            summary.folders += 1
        }
        return summary
    }
}
