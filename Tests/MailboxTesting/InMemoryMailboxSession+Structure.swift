import Foundation
import MailboxAPI
import MIMEParser
import Synchronization

// For main (after 4952ef9 / ef31833): the three MailboxSession requirements added there.
extension InMemoryMailboxSession {
    /// The message's bytes in pieces (the header block, then the body in 1 MiB pieces); nil for
    /// an unknown UID, `.noSuchFolder` for an unknown folder, as `MailboxDatabase.messageReader`.
    public func messageReader(in folder: String, uid: UID) async throws -> MessageReader? {
        guard let bytes = try mailbox.messageBytes(in: folder, uid: uid) else { return nil }
        let headerEnd = (try mailbox.messageHeaders(in: folder, uids: UIDSet([uid]))[uid] ?? []).count
        var pieces: [[UInt8]] = [Array(bytes[..<headerEnd])]
        var start = headerEnd
        while start < bytes.count {
            let end = min(start + 1 << 20, bytes.count)
            pieces.append(Array(bytes[start..<end]))
            start = end
        }
        let next = Mutex(0)
        return MessageReader(size: bytes.count) { [pieces] in
            let index = next.withLock { i -> Int in
                defer { i += 1 }
                return i
            }
            return index < pieces.count ? pieces[index] : nil
        }
    }

    /// What `MIMEMessage.parse(bytes).structure` gives for each message (the database stores it
    /// at delivery; parsing again gives the same).
    public func structures(in folder: String, uids: UIDSet) async throws -> [UID: MessageStructure] {
        var out: [UID: MessageStructure] = [:]
        for record in try mailbox.messages(in: folder, uids: uids, changedSince: nil) {
            if let bytes = try mailbox.messageBytes(in: folder, uid: record.uid) {
                out[record.uid] = MIMEMessage.parse(bytes).structure
            }
        }
        return out
    }

    /// The header block (with its blank line) of each message in `uids`.
    public func messageHeaders(in folder: String, uids: UIDSet) async throws -> [UID: [UInt8]] {
        try mailbox.messageHeaders(in: folder, uids: uids)
    }
}

extension InMemoryMailbox {
    func messageHeaders(in folderPath: String, uids: UIDSet) throws -> [UID: [UInt8]] {
        var out: [UID: [UInt8]] = [:]
        for fields in try searchFields(in: folderPath, uids: uids, includeHeader: true) { out[fields.uid] = fields.header ?? [] }
        return out
    }
}
