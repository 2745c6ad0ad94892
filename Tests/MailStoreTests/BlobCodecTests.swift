import Directory
import Foundation
import GRDB
import MailboxAPI
@testable import MailStore
import SQLiteCipher
import Testing

/// Bodies are stored compressed when that saves (BlobCodec); every read gives the original bytes.
@Suite("Compressed bodies")
struct BlobCodecTests {
    let dir = TemporaryDirectory()

    @Test("round trip; incompressible or tiny blobs stay as they are; a cut frame or an unknown codec is an error")
    func codec() throws {
        let text = Array(String(repeating: "the quarterly report is attached, see page four\r\n", count: 400).utf8)
        let packed = BlobCodec.encode(text)
        #expect(packed.codec == BlobCodec.zstd && packed.bytes.count < text.count / 4)
        #expect(try BlobCodec.decode(packed.bytes, codec: packed.codec) == text)
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<50_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        #expect(BlobCodec.encode(noise) == (BlobCodec.plain, Data(noise)))
        #expect(BlobCodec.encode(Array("short".utf8)).codec == BlobCodec.plain)
        // Large blobs are probed on their start: base64 of random bytes stays plain, text is compressed.
        let random = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let base64 = Array(Data(random).base64EncodedData(options: .lineLength76Characters))
        #expect(BlobCodec.encode(base64) == (BlobCodec.plain, Data(base64)))
        let longText = Array(String(repeating: "Dear team, the quarterly figures are attached; see page four.\r\n", count: 6_000).utf8)
        let packedText = BlobCodec.encode(longText)
        #expect(packedText.codec == BlobCodec.zstd && packedText.bytes.count < longText.count / 4)
        #expect(try BlobCodec.decode(packedText.bytes, codec: packedText.codec) == longText)
        // (a changed byte inside a frame is the cipher's to catch: every page is authenticated)
        #expect(throws: (any Error).self) { _ = try BlobCodec.decode(Array(packed.bytes.prefix(10)), codec: BlobCodec.zstd) }
        #expect(throws: (any Error).self) { _ = try BlobCodec.decode(text, codec: 7) }
    }

    @Test("messages come back byte for byte whole and piece by piece: text, base64, chunked, incompressible binary")
    func messages() async throws {
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: SecretBytes.random(count: 32))
        defer { try? db.close() }
        let text = sampleMessage(subject: "text", body: String(repeating: "lorem ipsum dolor sit amet\n", count: 8_000))
        let attachment = sampleMessage(subject: "base64", attachmentBytes: 2_500_000)  // over two chunks
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<40_000).map { _ in UInt8.random(in: 0x21...0x7e, using: &rng) }
        let binary = Array("From: a@example.org\r\nSubject: 8bit\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".utf8) + noise + [13, 10]
        let small = sampleMessage(subject: "small")
        var uids: [UID] = []
        for m in [text, attachment, binary, small] { uids.append(try await db.append(to: "INBOX", message: m).uid) }
        for (uid, original) in zip(uids, [text, attachment, binary, small]) {
            #expect(try await db.messageBytes(in: "INBOX", uid: uid) == original)
            let reader = try #require(try await db.messageReader(in: "INBOX", uid: uid))
            var pieces: [UInt8] = []
            while let piece = try await reader.read() { pieces += piece }
            #expect(pieces == original)
        }
        let stored = try await db.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT sum(length(data)) FROM parts") ?? 0) + (try Int.fetchOne(db, sql: "SELECT sum(length(data)) FROM part_chunks") ?? 0)
        }
        // the text shrinks; the base64 attachment (random bytes) and the 8-bit noise stay as they are
        #expect(stored < text.count / 4 + attachment.count + binary.count)
    }
}
