import Foundation
import IMAPCore  // the wire forms of ENVELOPE and BODYSTRUCTURE
@testable import MIMEParser
import Testing

/// The structure stored with each message (parse once): it must come back exactly, encode to the
/// same ENVELOPE/BODYSTRUCTURE as the message it came from, and never trap on damaged bytes.
@Suite("Stored message structure")
struct MessageStructureTests {
    @Test("every corpus message: the stored structure round-trips and gives the same wire forms")
    func roundTrip() throws {
        let corpus = Corpus.load()
        #expect(corpus.count > 50)
        for message in corpus {
            let parsed = MIMEMessage.parse(message.bytes)
            let structure = parsed.structure
            let stored = structure.encoded()
            let back = try #require(MessageStructure(encoded: stored), "\(message.name)")
            #expect(back == structure, "\(message.name)")
            #expect(back.imapEnvelopeBytes() == parsed.imapEnvelopeBytes(), "\(message.name)")
            #expect(back.imapBodyStructureBytes(extended: true) == parsed.imapBodyStructureBytes(extended: true), "\(message.name)")
            #expect(back.imapBodyStructureBytes(extended: false) == parsed.imapBodyStructureBytes(extended: false), "\(message.name)")
            // Ranges address the same parts the parser found.
            #expect(back.root.headerRange == parsed.root.headerRange && back.root.bodyRange == parsed.root.bodyRange)
        }
    }

    @Test("damaged, truncated or foreign-version bytes decode to nil (the message is parsed again), never a trap")
    func damaged() throws {
        let bytes = Corpus.toCRLF(Array("""
            From: A <a@example.org>
            Subject: parts
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: text/plain

            hello
            --b
            Content-Type: message/rfc822

            Subject: inner

            body
            --b--

            """.utf8))
        let stored = MIMEMessage.parse(bytes).structure.encoded()
        #expect(MessageStructure(encoded: stored) != nil)
        for cut in stride(from: 0, to: stored.count, by: 3) { #expect(MessageStructure(encoded: Array(stored[..<cut])) == nil) }
        #expect(MessageStructure(encoded: stored + [0]) == nil)
        #expect(MessageStructure(encoded: [MessageStructure.version &+ 1] + stored.dropFirst()) == nil)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            var noisy = stored
            for _ in 0..<3 { noisy[Int.random(in: 1..<noisy.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = MessageStructure(encoded: noisy)
        }
        // A huge count or a deep nesting is refused, not allocated or recursed into.
        #expect(MessageStructure(encoded: [MessageStructure.version, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) == nil)
    }
}
