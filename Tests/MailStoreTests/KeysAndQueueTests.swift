import Directory
import Foundation
import GRDB
import MailboxAPI
@testable import MailStore
import SQLiteCipher
import Testing

/// Cheap scrypt for tests of the wrapping logic (the real parameters are exercised by the service tests).
let fastKDF = KeyHierarchy.Parameters(rounds: 1 << 10, blockSize: 8, parallelism: 1)

@Suite("Key hierarchy")
struct KeyHierarchyTests {
    @Test("a password unwraps the data key it wrapped; a wrong one does not")
    func wrapUnwrap() throws {
        let dek = KeyHierarchy.newDataKey()
        let record = try KeyHierarchy.wrap(dataKey: dek, password: "correct horse", aliasID: "a1", passwordID: "p1", label: "phone", parameters: fastKDF)
        #expect(record.kdf == "scrypt:N=1024,r=8,p=1" && record.salt.count == 16 && record.wrappedKey.count == 60)
        let back = try #require(KeyHierarchy.unwrap(record, password: "correct horse"))
        #expect(back.withBytes { $0 } == dek.withBytes { $0 })
        #expect(KeyHierarchy.unwrap(record, password: "correct horse ") == nil)
        #expect(KeyHierarchy.unwrap(record, password: "") == nil)
    }

    @Test("the wrapped key is bound to its alias and password id")
    func binding() throws {
        let record = try KeyHierarchy.wrap(dataKey: KeyHierarchy.newDataKey(), password: "pw", aliasID: "a1", passwordID: "p1", label: nil, parameters: fastKDF)
        var moved = record
        moved.aliasID = "a2"
        #expect(KeyHierarchy.unwrap(moved, password: "pw") == nil)
        var renamed = record
        renamed.id = "p2"
        #expect(KeyHierarchy.unwrap(renamed, password: "pw") == nil)
    }

    @Test("composed and decomposed spellings of a password are the same password")
    func normalization() throws {
        let record = try KeyHierarchy.wrap(dataKey: KeyHierarchy.newDataKey(), password: "caf\u{E9}", aliasID: "a", passwordID: "p", label: nil, parameters: fastKDF)
        #expect(KeyHierarchy.unwrap(record, password: "cafe\u{301}") != nil)
    }

    @Test("generated passwords are long, random and typeable", arguments: 0..<20)
    func generated(_ i: Int) {
        let p = KeyHierarchy.generatePassword()
        #expect(p.count == 29 && p.split(separator: "-").count == 5)
        #expect(p.allSatisfy { $0 == "-" || $0.isLowercase || $0.isNumber })
        #expect(!p.contains("l") && !p.contains("1") && !p.contains("0") && !p.contains("o"))
    }

    @Test("KDF parameters parse back and reject nonsense", arguments: [
        ("scrypt:N=32768,r=8,p=1", true), ("scrypt:N=1000,r=8,p=1", false), ("pbkdf2:N=1", false), ("scrypt:N=32768,r=8", false),
    ])
    func parameters(_ text: String, _ valid: Bool) {
        #expect((KeyHierarchy.Parameters(encoded: text) != nil) == valid)
    }
}

@Suite("Sealed inbound queue")
struct SealedQueueTests {
    let dir = TemporaryDirectory()

    @Test("a sealed message opens only with its mailbox's private key and id")
    func sealing() throws {
        let keys = try InboundSeal.KeyPair.generate()
        let other = try InboundSeal.KeyPair.generate()
        let date = Date(timeIntervalSince1970: 1_790_000_000)
        let blob = try InboundSeal.seal(message: Array("hello".utf8), internalDate: date, publicKey: keys.publicKeyBytes, mailboxID: "m1")
        #expect(blob.count == 1 + 1120 + 8 + 5 + 16)
        let opened = try InboundSeal.open(blob, keyPair: keys, mailboxID: "m1")
        #expect(opened.message == Array("hello".utf8) && opened.internalDate == date)
        #expect(throws: InboundSeal.Failure.self) { try InboundSeal.open(blob, keyPair: other, mailboxID: "m1") }
        #expect(throws: InboundSeal.Failure.self) { try InboundSeal.open(blob, keyPair: keys, mailboxID: "m2") }
        var tampered = blob
        tampered[tampered.count - 3] ^= 1
        #expect(throws: InboundSeal.Failure.self) { try InboundSeal.open(tampered, keyPair: keys, mailboxID: "m1") }
    }

    @Test("a prefix (Return-Path) is sealed in front of the message, without the caller copying it")
    func sealingWithPrefix() throws {
        let keys = try InboundSeal.KeyPair.generate()
        let date = Date(timeIntervalSince1970: 1_790_000_000)
        let blob = try InboundSeal.seal(message: Array("hello".utf8), prefix: Array("Return-Path: <>\r\n".utf8), internalDate: date,
                                        publicKey: keys.publicKeyBytes, mailboxID: "m1")
        #expect(try InboundSeal.open(blob, keyPair: keys, mailboxID: "m1").message == Array("Return-Path: <>\r\nhello".utf8))
    }

    @Test("the private key round-trips through its integrity-checked form")
    func keyPairRoundTrip() throws {
        let keys = try InboundSeal.KeyPair.generate()
        #expect(keys.privateKeyBytes.count == 64 && keys.publicKeyBytes.count == 1216)
        let back = try InboundSeal.KeyPair(privateKeyBytes: keys.privateKeyBytes)
        #expect(back.publicKeyBytes == keys.publicKeyBytes)
        var bad = keys.privateKeyBytes
        bad[40] ^= 1
        #expect(throws: (any Error).self) { try InboundSeal.KeyPair(privateKeyBytes: bad) }
    }

    @Test("drain moves queued messages into INBOX in order, exactly once")
    func drainOnce() async throws {
        let queue = try SealedQueue(path: dir.path + "/queue.sqlite", key: .random(count: 32))
        let mailbox = try MailboxDatabase.create(storageRoot: dir.path + "/mb", mailboxID: DirectoryID.random(), dataKey: .random(count: 32))
        let messages = (1...5).map { sampleMessage(subject: "queued \($0)") }
        for m in messages {
            try await queue.enqueue(message: m, mailboxID: mailbox.mailboxID, publicKey: mailbox.publicKey)
        }
        #expect(try await queue.count(mailboxID: mailbox.mailboxID) == 5)
        #expect(try await queue.drain(into: mailbox) == 5)
        #expect(try await queue.drain(into: mailbox) == 0)
        #expect(try await queue.count(mailboxID: mailbox.mailboxID) == 0)
        for (i, m) in messages.enumerated() {
            #expect(try await mailbox.messageBytes(in: "INBOX", uid: UID(i + 1)) == m)
        }
    }

    @Test("a copy sealed for Junk (with flags) is filed there at the drain; a missing Junk folder is made; the blob hides where it goes")
    func drainFilesByDeliveryInstructions() async throws {
        let queue = try SealedQueue(path: dir.path + "/queue.sqlite", key: .random(count: 32))
        let mailbox = try MailboxDatabase.create(storageRoot: dir.path + "/mb", mailboxID: DirectoryID.random(), dataKey: .random(count: 32))
        let keys = try InboundSeal.KeyPair.generate()
        let plain = try InboundSeal.seal(message: Array("hello".utf8), internalDate: Date(), publicKey: keys.publicKeyBytes, mailboxID: "m1")
        let junk = try InboundSeal.seal(message: Array("hello".utf8), internalDate: Date(), publicKey: keys.publicKeyBytes, mailboxID: "m1",
                                        delivery: .junk)
        #expect(plain[0] == 1 && junk[0] == 2)
        let opened = try InboundSeal.open(junk, keyPair: keys, mailboxID: "m1")
        #expect(opened.delivery == .junk && opened.message == Array("hello".utf8))

        try await queue.enqueue(message: sampleMessage(subject: "to inbox"), mailboxID: mailbox.mailboxID, publicKey: mailbox.publicKey)
        try await queue.enqueue(message: sampleMessage(subject: "spam"), mailboxID: mailbox.mailboxID, publicKey: mailbox.publicKey,
                                delivery: InboundDelivery(specialUse: .junk, flags: ["\\Seen", "$Junk", "bad keyword("]))
        try await queue.enqueue(message: sampleMessage(subject: "filed"), mailboxID: mailbox.mailboxID, publicKey: mailbox.publicKey,
                                delivery: InboundDelivery(folder: "Lists/Swift", create: true))
        // Without :create, a missing folder is not made: the copy goes to INBOX and the alias's log hears why.
        try await queue.enqueue(message: sampleMessage(subject: "nowhere"), mailboxID: mailbox.mailboxID, publicKey: mailbox.publicKey,
                                delivery: InboundDelivery(folder: "Missing", aliasID: "a1", script: "main"))
        #expect(try await queue.drain(into: mailbox) == 4)
        #expect(try await mailbox.messages(in: "INBOX").count == 2)
        #expect(try await !mailbox.folders().contains { $0.path == "Missing" })
        #expect(mailbox.takeDeliveryNotes().map { "\($0.aliasID) \($0.script) \($0.message)" }
                == ["a1 main fileinto: folder \"Missing\" does not exist (no :create); filed into INBOX"])
        #expect(mailbox.takeDeliveryNotes().isEmpty)
        let spam = try await mailbox.messages(in: "Junk")
        #expect(spam.count == 1 && spam.first?.flags == .seen && spam.first?.keywords == ["$Junk"])
        #expect(try await mailbox.messages(in: "Lists/Swift").count == 1)

        // Junk renamed away (its special use goes with it) and then deleted: the next copy for Junk makes it again.
        try await mailbox.renameFolder("Junk", to: "Old spam")
        #expect(try await mailbox.folders().first { $0.path == "Old spam" }?.specialUse == .junk)
        try await queue.enqueue(message: sampleMessage(subject: "spam 2"), mailboxID: mailbox.mailboxID, publicKey: mailbox.publicKey, delivery: .junk)
        #expect(try await queue.drain(into: mailbox) == 1)
        #expect(try await mailbox.messages(in: "Old spam").count == 2)
        try await mailbox.deleteFolder("Old spam")
        try await queue.enqueue(message: sampleMessage(subject: "spam 3"), mailboxID: mailbox.mailboxID, publicKey: mailbox.publicKey, delivery: .junk)
        #expect(try await queue.drain(into: mailbox) == 1)
        let made = try #require(try await mailbox.folders().first { $0.specialUse == .junk })
        #expect(made.path == "Junk" && made.subscribed)
        #expect(try await mailbox.messages(in: "Junk").count == 1)
    }

    @Test("the queue syncs every commit (synchronous = FULL on its writer: 250 only once the entry survives a power loss)")
    func queueCommitsAreSynced() async throws {
        let queue = try SealedQueue(path: dir.path + "/queue.sqlite", key: .random(count: 32))
        // Opening a pool in WAL mode sets NORMAL after `prepareDatabase`: the setting must be the writer's own.
        #expect(try await queue.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
    }

    /// Issue 15 item 3: the queue file gives its space back once drained, not keeping its high-water size.
    @Test("a drained queue file shrinks back (incremental vacuum); an old file without it is converted when small")
    func queueShrinks() async throws {
        let key = SecretBytes.random(count: 32)
        let path = dir.path + "/queue.sqlite"
        let queue = try SealedQueue(path: path, key: key)
        let mailbox = try MailboxDatabase.create(storageRoot: dir.path + "/mb", mailboxID: DirectoryID.random(), dataKey: .random(count: 32))
        func size() -> Int64 {
            ["", "-wal"].reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: path + $1)[.size] as? Int64) ?? 0) }
        }
        for n in 0..<120 {
            try await queue.enqueue(message: sampleMessage(subject: "big \(n)", attachmentBytes: 100_000), mailboxID: mailbox.mailboxID, publicKey: mailbox.publicKey)
        }
        let full = size()
        #expect(full > 12_000_000, "\(full)")
        #expect(try await queue.drain(into: mailbox) == 120)
        let drained = size()
        #expect(drained < 1_000_000, "\(full) → \(drained) bytes")
        try await mailbox.close()

        // A file made before: auto_vacuum NONE, converted at the next open when little is in it.
        let old = dir.path + "/old-queue.sqlite"
        do {
            let pool = try EncryptedDatabase.openPool(path: old, key: key)
            try await pool.write { db in try db.execute(sql: "CREATE TABLE t(x)") }
            try pool.close()
        }
        _ = try SealedQueue(path: old, key: key)
        let mode = try await EncryptedDatabase.openQueue(path: old, key: key).read { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") }
        #expect(mode == 2)
    }

    @Test("an entry already in the mailbox but still queued (crash before removal) is not delivered twice")
    func crashWindow() async throws {
        let queue = try SealedQueue(path: dir.path + "/queue.sqlite", key: .random(count: 32))
        let mailbox = try MailboxDatabase.create(storageRoot: dir.path + "/mb", mailboxID: DirectoryID.random(), dataKey: .random(count: 32))
        try await queue.enqueue(message: sampleMessage(subject: "a"), mailboxID: mailbox.mailboxID, publicKey: mailbox.publicKey)
        try await queue.enqueue(message: sampleMessage(subject: "b"), mailboxID: mailbox.mailboxID, publicKey: mailbox.publicKey)
        // Simulate: the mailbox committed entry 1, then the process died before the queue removal.
        let first = try #require(try await queue.pending(mailboxID: mailbox.mailboxID).first)
        #expect(try await mailbox.deliverSealed(seq: first.seq, blob: first.blob) != nil)
        #expect(try await mailbox.deliverSealed(seq: first.seq, blob: first.blob) == nil)
        #expect(try await queue.count(mailboxID: mailbox.mailboxID) == 2)
        #expect(try await queue.drain(into: mailbox) == 1)
        #expect(try await mailbox.status(of: "INBOX").messages == 2)
    }

    @Test("an entry already in the mailbox but still queued, moved with the file to another node's queue (numbered again), is not delivered twice")
    func crashWindowAcrossNodes() async throws {
        let here = try SealedQueue(path: dir.path + "/queue-a.sqlite", key: .random(count: 32))
        let there = try SealedQueue(path: dir.path + "/queue-b.sqlite", key: .random(count: 32))
        let key = SecretBytes.random(count: 32), mailboxID = DirectoryID.random()
        let mailbox = try MailboxDatabase.create(storageRoot: dir.path + "/mb", mailboxID: mailboxID, dataKey: key)
        // The other node's queue is ahead: the moved entries get numbers the file has never seen.
        for i in 0..<5 { try await there.enqueue(message: sampleMessage(subject: "other \(i)"), mailboxID: "other", publicKey: mailbox.publicKey) }
        for subject in ["a", "b", "c"] {
            try await here.enqueue(message: sampleMessage(subject: subject), mailboxID: mailboxID, publicKey: mailbox.publicKey)
        }
        // The mailbox took the first two, then its file was closed before the queue dropped them.
        let pending = try await here.pending(mailboxID: mailboxID)
        #expect(try await mailbox.deliverSealed(pending.prefix(2).map { ($0.seq, $0.blob) }).count == 2)
        try mailbox.close()
        // The move: the queue's entries go to the other node's queue, numbered above this one's.
        try await there.raiseSequence(atLeast: try await here.lastSeq())
        for entry in pending { #expect(try await there.restoreSealed(blob: entry.blob, mailboxID: mailboxID)) }
        let moved = try MailboxDatabase.open(storageRoot: dir.path + "/mb", mailboxID: mailboxID, dataKey: key)
        #expect(try await there.drain(into: moved) == 1)
        #expect(try await moved.status(of: "INBOX").messages == 3)
        #expect(try await there.count(mailboxID: mailboxID) == 0)
        // Later deliveries there are taken as usual.
        try await there.enqueue(message: sampleMessage(subject: "d"), mailboxID: mailboxID, publicKey: moved.publicKey)
        #expect(try await there.drain(into: moved) == 1)
        #expect(try await moved.status(of: "INBOX").messages == 4)
    }

    @Test("the digests of the last entries taken are kept, the oldest dropped past the capacity")
    func deliveredSealsRing() {
        var seals = DeliveredSeals(nil)
        let blobs = (0 ..< DeliveredSeals.capacity + 3).map { [UInt8]("blob \($0)".utf8) }
        for blob in blobs { seals.append(DeliveredSeals.digest(blob)) }
        let back = DeliveredSeals(seals.stored)
        #expect(back.digests.count == DeliveredSeals.capacity)
        #expect(!back.contains(DeliveredSeals.digest(blobs[2])))
        #expect(back.contains(DeliveredSeals.digest(blobs[3])) && back.contains(DeliveredSeals.digest(blobs.last!)))
        #expect(DeliveredSeals(Data([1, 2, 3])).digests.isEmpty)
    }

    @Test("queue entries reveal nothing of the message")
    func canary() async throws {
        let key = SecretBytes.random(count: 32)
        let queue = try SealedQueue(path: dir.path + "/queue.sqlite", key: key)
        let mailbox = try MailboxDatabase.create(storageRoot: dir.path + "/mb", mailboxID: DirectoryID.random(), dataKey: .random(count: 32))
        let canary = "QUEUE-CANARY-\(UUID().uuidString)"
        try await queue.enqueue(message: sampleMessage(subject: canary, body: canary), mailboxID: mailbox.mailboxID, publicKey: mailbox.publicKey)
        for (path, bytes) in dir.allFileContents() {
            #expect(!bytes.contains(subsequence: Array(canary.utf8)), "canary in \(path)")
        }
        // Even with the node key (queue database open), the entry is ciphertext.
        let blob = try #require(try await queue.pending(mailboxID: mailbox.mailboxID).first?.blob)
        #expect(!blob.contains(subsequence: Array(canary.utf8)))
    }
}
