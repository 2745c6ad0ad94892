import Foundation
import MailboxAPI
@testable import MailStore
import SQLiteCipher
import Testing

/// `MessageBytesCache`: a message read again comes from memory; a locked mailbox leaves nothing there.
@Suite("Message bytes cache")
struct MessageBytesCacheTests {
    @Test("a second read of a message is a hit, the bytes the same; closing the mailbox drops its entries")
    func hitThenDropped() async throws {
        let dir = TemporaryDirectory()
        let id = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let mailbox = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: id, dataKey: SecretBytes.random(count: 32))
        let message = Array("Subject: cached\r\n\r\n".utf8) + Array(repeating: UInt8(ascii: "x"), count: 20_000) + Array("\r\n".utf8)
        let uid = try await mailbox.append(to: "INBOX", message: message).uid
        let cache = mailbox.bytesCache
        let before = cache.statistics
        #expect(try await mailbox.messageBytes(in: "INBOX", uid: uid) == message)
        #expect(try await mailbox.messageBytes(in: "INBOX", uid: uid) == message)
        let prefetched = try await mailbox.messages(in: "INBOX", uids: UIDSet([uid]), changedSince: nil, facts: false,
                                                    prefetch: BytesPrefetch(below: 1 << 20, count: 4, total: 1 << 20)).bytes
        #expect(prefetched[uid] == message)
        let after = cache.statistics
        #expect(after.hits - before.hits >= 2)
        try mailbox.close()
        #expect(cache.bytes(mailboxID: id, contentID: 1) == nil)
    }

    @Test("bounded: the least recently used leave first, large messages never enter")
    func bounded() {
        let cache = MessageBytesCache(capacity: 80_000, maxEntryBytes: 20_000)
        for i in 0..<10 { cache.insert(Array(repeating: UInt8(i), count: 10_000), mailboxID: "m", contentID: Int64(i)) }
        #expect(cache.statistics.bytes <= 80_000)
        #expect(cache.bytes(mailboxID: "m", contentID: 9) != nil)
        #expect(cache.bytes(mailboxID: "m", contentID: 0) == nil)
        cache.insert(Array(repeating: 1, count: 30_000), mailboxID: "m", contentID: 100)
        #expect(cache.bytes(mailboxID: "m", contentID: 100) == nil)
        cache.removeAll(mailboxID: "m")
        #expect(cache.statistics.entries == 0 && cache.statistics.bytes == 0)
    }
}
