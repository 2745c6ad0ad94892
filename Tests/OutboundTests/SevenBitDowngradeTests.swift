import Foundation
import MIMEParser
import MailboxAPI
@testable import Outbound
import Testing

/// 8-bit mail made 7-bit for servers without 8BITMIME (RFC 6152, RFC 2045).
@Suite("7-bit downgrade")
struct SevenBitDowngradeTests {
    func sevenBit(_ bytes: [UInt8]) -> Bool { !bytes.contains { $0 >= 0x80 } }

    @Test("a single text part: quoted-printable, MIME-Version added, the text decodes back, lines under 78")
    func singlePart() async throws {
        let text = "Grüße aus Köln — naïve café, a line that is long enough to need a soft break somewhere in it for sure.  \r\nend = done\r\n"
        let message = Array(("From: a@example.org\r\nSubject: plain\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text).utf8)
        let converted = try #require(SevenBitDowngrade.convert(message))
        #expect(sevenBit(converted))
        let string = String(decoding: converted, as: UTF8.self)
        #expect(string.contains("MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"))
        for line in string.components(separatedBy: "\r\n") { #expect(line.utf8.count <= 78, "\(line)") }
        let part = MIMEMessage.parse(converted).root
        #expect(part.transferEncoding == "quoted-printable")
        // Python's quopri as the reference decoder (it keeps "=20" before a line end, as RFC 2045 says).
        let decoded = try await TestEnvironment.python("import sys, quopri; sys.stdout.buffer.write(quopri.decodestring(sys.stdin.buffer.read()))",
                                                       stdin: Array(converted[part.bodyRange]))
        #expect(decoded == text)
    }

    @Test("multipart: the 8-bit text part quoted-printable, the binary part base64, 7-bit parts untouched, the old CTE replaced")
    func multipart() throws {
        let binary: [UInt8] = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var message = Array("""
            From: a@example.org\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="b"\r
            \r
            --b\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Transfer-Encoding: 8bit\r
            \r
            Schöne Grüße\r
            --b\r
            Content-Type: text/plain\r
            \r
            plain ascii\r
            --b\r
            Content-Type: application/octet-stream\r
            Content-Transfer-Encoding: binary\r
            \r

            """.utf8)
        message += binary + Array("\r\n--b--\r\n".utf8)
        let converted = try #require(SevenBitDowngrade.convert(message))
        #expect(sevenBit(converted))
        let leaves = MIMEMessage.parse(converted).leafParts
        #expect(leaves.map { $0.transferEncoding ?? "" } == ["quoted-printable", "", "base64"])
        #expect(TransferDecoding.quotedPrintable(Array(converted[leaves[0].bodyRange])) == Array("Schöne Grüße".utf8))
        #expect(String(decoding: converted[leaves[1].bodyRange], as: UTF8.self) == "plain ascii")
        #expect(TransferDecoding.base64(converted[leaves[2].bodyRange]) == binary)
        #expect(!String(decoding: converted, as: UTF8.self).contains("8bit") && !String(decoding: converted, as: UTF8.self).contains(": binary"))
    }

    @Test("8-bit bytes in a header: no 7-bit form (that needs SMTPUTF8); forwards keep their bytes, submissions go 7-bit")
    func refusedAndWho() throws {
        #expect(SevenBitDowngrade.convert(Array("Subject: Grüße\r\n\r\nbody\r\n".utf8)) == nil)
        let eightBit = Array("From: a@example.org\r\n\r\nGrüße\r\n".utf8)
        let forward = OutboundJob(kind: .smtp, sender: "s@x.example", originalSender: "s@x.example", recipients: ["r@y.example"], message: eightBit)
        #expect(OutboundWorker.outgoingForm(forward) == eightBit)
        let submitted = OutboundJob(kind: .smtp, sender: "a@example.org", originalSender: "a@example.org", recipients: ["r@y.example"],
                                    context: ["submittedBy": "a@example.org"], message: eightBit)
        #expect(sevenBit(OutboundWorker.outgoingForm(submitted)))
    }
}
