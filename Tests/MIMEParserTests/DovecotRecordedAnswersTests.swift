import Foundation
import Testing
import IMAPCore  // the wire forms of ENVELOPE and BODYSTRUCTURE
@testable import MIMEParser

/// Dovecot 2.3.19's answers (Debian bookworm's dovecot-imapd, fetched with
/// scripts/dovecot-mime-diff.py's setup) for the fixtures of issue 22, kept here so that these
/// cases are checked where Dovecot is not installed. The differential suite compares every item
/// of every fixture live; this one pins the items each fixture is about.
@Suite("Dovecot's recorded answers")
struct DovecotRecordedAnswersTests {
    static func fixture(_ name: String) throws -> MIMEMessage {
        let dir = try #require(Corpus.fixturesDir())
        let bytes = try #require(FileManager.default.contents(atPath: dir.appendingPathComponent(name).path))
        return MIMEMessage.parse(Corpus.toCRLF(Array(bytes)))
    }

    @Test("BODYSTRUCTURE and BODY", arguments: [
        // message/rfc822 in base64: parsed as it stands (RFC 3501 body-type-msg: an envelope of
        // NILs, an empty text body, the line count of the encoded content)
        ("16-rfc822-base64.eml",
         #"(("message" "rfc822" NIL NIL NIL "base64" 30 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) 1 NIL NIL NIL NIL) "mixed" ("boundary" "x") NIL NIL NIL)"#,
         #"(("message" "rfc822" NIL NIL NIL "base64" 30 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 1) "mixed")"#),
        ("24-rfc822-base64-message.eml",
         #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 0 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "base64" 136 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) 4 NIL NIL NIL NIL) "mixed" ("boundary" "x") NIL NIL NIL)"#,
         #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 0)("message" "rfc822" NIL NIL NIL "base64" 136 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 4) "mixed")"#),
        ("25-rfc822-base64-top.eml",
         #"("message" "rfc822" NIL NIL NIL "base64" 30 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) 1 NIL NIL NIL NIL)"#,
         #"("message" "rfc822" NIL NIL NIL "base64" 30 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 1)"#),
        // charset="" and charset= are kept empty, not replaced by the default
        ("26-empty-charset.eml",
         #"(("text" "plain" ("charset" "") NIL NIL "7bit" 12 0 NIL NIL NIL NIL)("text" "plain" ("charset" "") NIL NIL "7bit" 10 0 NIL NIL NIL NIL)("text" "html" ("charset" "" "format" "flowed") NIL NIL "7bit" 8 0 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)"#,
         #"(("text" "plain" ("charset" "") NIL NIL "7bit" 12 0)("text" "plain" ("charset" "") NIL NIL "7bit" 10 0)("text" "html" ("charset" "" "format" "flowed") NIL NIL "7bit" 8 0) "mixed")"#),
        // "Content-Type: text": the type kept, an empty subtype, the default charset and the line count
        ("27-type-without-subtype.eml",
         #"("text" "" ("charset" "us-ascii") NIL NIL "7bit" 32 3 NIL NIL NIL NIL)"#,
         #"("text" "" ("charset" "us-ascii") NIL NIL "7bit" 32 3)"#),
        // text, TEXT (a comment), text; charset=utf-8, image, multipart, message, text/
        ("28-types-without-subtype-in-parts.eml",
         #"(("text" "" ("charset" "us-ascii") NIL NIL "7bit" 18 1 NIL NIL NIL NIL)("TEXT" "" ("charset" "us-ascii") NIL NIL "7bit" 8 0 NIL NIL NIL NIL)("" "" NIL NIL NIL "7bit" 8 NIL NIL NIL NIL)("image" "" NIL NIL NIL "base64" 8 NIL NIL NIL NIL)("application" "octet-stream" NIL NIL NIL "7bit" 22 NIL NIL NIL NIL)("message" "" NIL NIL NIL "7bit" 22 NIL NIL NIL NIL)("" "" NIL NIL NIL "7bit" 8 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)"#,
         #"(("text" "" ("charset" "us-ascii") NIL NIL "7bit" 18 1)("TEXT" "" ("charset" "us-ascii") NIL NIL "7bit" 8 0)("" "" NIL NIL NIL "7bit" 8)("image" "" NIL NIL NIL "base64" 8)("application" "octet-stream" NIL NIL NIL "7bit" 22)("message" "" NIL NIL NIL "7bit" 22)("" "" NIL NIL NIL "7bit" 8) "mixed")"#),
        ("23-unknown-cte-foo.eml",
         #"("text" "plain" ("charset" "us-ascii") NIL NIL "foo" 35 2 NIL NIL NIL NIL)"#,
         #"("text" "plain" ("charset" "us-ascii") NIL NIL "foo" 35 2)"#),
    ])
    func structure(name: String, bodyStructure: String, body: String) throws {
        let m = try Self.fixture(name)
        #expect(m.imapBodyStructure(extended: true) == bodyStructure)
        #expect(m.imapBodyStructure(extended: false) == body)
        // what FETCH sends: the stored form, encoded and decoded again
        let stored = try #require(MessageStructure(encoded: m.structure.encoded()))
        #expect(String(decoding: stored.imapBodyStructureBytes(extended: true), as: UTF8.self) == bodyStructure)
    }

    @Test("the encapsulated message of an encoded message/rfc822 is all header and has no text")
    func encodedMessageSections() throws {
        let m = try Self.fixture("24-rfc822-base64-message.eml")
        let header = try #require(m.section(IMAPSection(part: [2], kind: .header)))
        #expect(header.count == 134)   // the encoded lines, without the line break of the boundary
        #expect(m.section(IMAPSection(part: [2], kind: .text)) == [])
        #expect(m.section(IMAPSection(part: [2], kind: .full))?.count == 136)
        // BINARY still removes the part's own encoding: the forwarded message itself
        let decoded = String(decoding: try #require(m.binary(part: [2])), as: UTF8.self)
        #expect(decoded.hasPrefix("From: a@example.com\r\nSubject: inner\r\n"))
    }

    @Test("an unknown transfer encoding refuses BINARY of that part (Dovecot: NO [UNKNOWN-CTE])")
    func unknownEncoding() throws {
        let m = try Self.fixture("23-unknown-cte-foo.eml")
        #expect(m.hasUnknownTransferEncoding(part: [1]))
        #expect(m.binarySize(part: [1]) == nil)
        #expect(m.binary(part: [1]) == nil)
        #expect(!m.hasUnknownTransferEncoding(part: [2]))   // no such part: Dovecot answers size 0
        let multipart = try Self.fixture("21-unknown-cte.eml")
        #expect(!multipart.hasUnknownTransferEncoding(part: [1]))
        #expect(multipart.hasUnknownTransferEncoding(part: [2]))
        #expect(multipart.binarySize(part: [1]) == 10)
    }
}
