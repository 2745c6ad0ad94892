import Crypto
import Foundation
import Outbound
import Testing

@Suite("WebhookPayload")
struct WebhookPayloadTests {
    static let receivedAt = Date(timeIntervalSince1970: 1_795_348_800)   // 2026-11-22T12:00:00Z

    static let alternative = Array((
        "Received: from mx.example.org by mx.sealbox.test; Sun, 22 Nov 2026 11:59:59 +0000\r\n" +
        "From: =?utf-8?b?Sm9zw6kgR2FyY8OtYQ==?= <jose@example.org>\r\n" +
        "To: Bob <bob@example.net>, carol@example.net\r\n" +
        "Cc: \"Dave, Jr.\" <dave@example.net>\r\n" +
        "Reply-To: replies@example.org\r\n" +
        "Subject: =?iso-8859-1?q?Caf=E9?= =?utf-8?q?_=E2=82=AC5?=\r\n" +
        "Date: Sun, 22 Nov 2026 12:59:59 +0100\r\n" +
        "Message-ID: <alt-1@example.org>\r\n" +
        "X-Folded: first part\r\n\tsecond part\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n" +
        "preamble\r\n--b1\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
        "Gr=C3=BC=C3=9Fe, soft=\r\nbreak\r\n--b1\r\n" +
        "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        "PHA+R3LDvMOfZTwvcD4=\r\n--b1--\r\n").utf8)

    static let pdfBytes: [UInt8] = Array(0..<200).map { UInt8($0) }
    static let mixed: [UInt8] = {
        var m = Array((
            "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: latin-1 and an attachment\r\n" +
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" +
            "--outer\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").utf8)
        m += [0x43, 0x61, 0x66, 0xE9, 0x20, 0x6E, 0x61, 0xEF, 0x76, 0x65, 0x0D, 0x0A]   // "Café naïve" in latin-1
        m += Array((
            "--outer\r\nContent-Type: application/pdf\r\n" +
            "Content-Disposition: attachment;\r\n filename*=UTF-8''r%C3%A9sum%C3%A9%20final.pdf\r\n" +
            "Content-ID: <att-1@example.org>\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
            Data(pdfBytes).base64EncodedString(options: .lineLength76Characters) + "\r\n" +
            "--outer\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\n" +
            "not the body\r\n--outer--\r\n").utf8)
        return m
    }()

    static func payload(_ message: [UInt8], includeRaw: Bool = false, remoteIP: String? = "192.0.2.7",
                        helo: String? = "mx.example.org") throws -> [String: Any] {
        let bytes = WebhookPayload.json(message: message, mailFrom: "sender@example.org",
                                        recipients: ["bob@example.net", "carol@example.net"], receivedAt: receivedAt,
                                        remoteIP: remoteIP, helo: helo, includeRaw: includeRaw)
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test("multipart/alternative: envelope, decoded headers, addresses, text and html")
    func alternative() throws {
        let p = try Self.payload(Self.alternative)
        let envelope = try #require(p["envelope"] as? [String: Any])
        #expect(envelope["mailFrom"] as? String == "sender@example.org")
        #expect(envelope["rcptTo"] as? [String] == ["bob@example.net", "carol@example.net"])
        #expect(envelope["remoteAddress"] as? String == "192.0.2.7")
        #expect(envelope["helo"] as? String == "mx.example.org")
        #expect(p["receivedAt"] as? String == "2026-11-22T12:00:00Z")
        #expect(p["messageId"] as? String == "alt-1@example.org")
        #expect(p["subject"] as? String == "Café €5")
        #expect(p["date"] as? String == "2026-11-22T11:59:59Z")
        #expect(p["from"] as? [[String: String]] == [["name": "José García", "address": "jose@example.org"]])
        let to = try #require(p["to"] as? [[String: Any]])
        #expect(to.count == 2)
        #expect(to[0]["name"] as? String == "Bob" && to[0]["address"] as? String == "bob@example.net")
        #expect(to[1]["name"] is NSNull && to[1]["address"] as? String == "carol@example.net")
        #expect((p["cc"] as? [[String: Any]])?.first?["name"] as? String == "Dave, Jr.")
        #expect((p["replyTo"] as? [[String: Any]])?.first?["address"] as? String == "replies@example.org")

        let headers = try #require(p["headers"] as? [[String: String]])
        #expect(headers.map { $0["name"]! } == ["Received", "From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID",
                                                 "X-Folded", "MIME-Version", "Content-Type"])
        #expect(headers[1]["value"] == "José García <jose@example.org>")
        #expect(headers[5]["value"] == "Café €5")
        #expect(headers[8]["value"] == "first part\tsecond part")

        // the line break before a boundary belongs to the boundary (RFC 2046 §5.1.1)
        #expect(p["text"] as? String == "Grüße, softbreak")
        #expect(p["html"] as? String == "<p>Grüße</p>")
        #expect((p["attachments"] as? [Any])?.isEmpty == true)
        #expect(p["size"] as? Int == Self.alternative.count)
        #expect(p["raw"] == nil)
    }

    @Test("attachment with an RFC 2231 file name; a latin-1 body decoded to UTF-8")
    func attachment() throws {
        let p = try Self.payload(Self.mixed, includeRaw: true, remoteIP: nil, helo: nil)
        let envelope = try #require(p["envelope"] as? [String: Any])
        #expect(envelope["remoteAddress"] is NSNull)
        #expect(envelope["helo"] is NSNull)
        #expect(p["text"] as? String == "Café naïve")
        #expect(p["html"] is NSNull)
        #expect(p["messageId"] is NSNull)
        #expect(p["date"] is NSNull)
        let attachments = try #require(p["attachments"] as? [[String: Any]])
        try #require(attachments.count == 2)
        let pdf = attachments[0]
        #expect(pdf["filename"] as? String == "résumé final.pdf")
        #expect(pdf["contentType"] as? String == "application/pdf")
        #expect(pdf["size"] as? Int == Self.pdfBytes.count)
        #expect(pdf["contentId"] as? String == "att-1@example.org")
        #expect(pdf["disposition"] as? String == "attachment")
        let digest = SHA256.hash(data: Self.pdfBytes).map { String(format: "%02x", $0) }.joined()
        #expect(pdf["sha256"] as? String == digest)
        #expect(attachments[1]["filename"] as? String == "notes.txt")
        #expect(attachments[1]["contentType"] as? String == "text/plain")
        #expect(attachments[1]["size"] as? Int == "not the body".utf8.count)
        #expect(attachments[1]["contentId"] is NSNull)
        #expect(p["raw"] as? String == Data(Self.mixed).base64EncodedString())
        #expect(p["size"] as? Int == Self.mixed.count)
    }

    @Test("a message with no body parts: text and html null, no attachments")
    func headerOnly() throws {
        let message = Array("From: a@example.org\r\nSubject: nothing\r\n".utf8)
        let p = try Self.payload(message)
        #expect(p["text"] is NSNull)
        #expect(p["html"] is NSNull)
        #expect((p["attachments"] as? [Any])?.isEmpty == true)
        #expect(p["subject"] as? String == "nothing")
        #expect((p["to"] as? [Any])?.isEmpty == true)
        #expect((p["headers"] as? [[String: String]])?.count == 2)

        let emptyMultipart = Array("Subject: x\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz--\r\n".utf8)
        let q = try Self.payload(emptyMultipart)
        #expect(q["text"] is NSNull)
        #expect((q["attachments"] as? [Any])?.isEmpty == true)
    }

    @Test("keys are sorted, at every level")
    func sortedKeys() throws {
        let bytes = WebhookPayload.json(message: Self.mixed, mailFrom: "", recipients: ["b@example.net"], receivedAt: Self.receivedAt,
                                        remoteIP: nil, helo: nil, includeRaw: true)
        let text = String(decoding: bytes, as: UTF8.self)
        let top = ["attachments", "cc", "date", "envelope", "from", "headers", "html", "messageId", "raw", "receivedAt",
                   "replyTo", "subject", "text", "to"]   // not "size": attachments have one too
        let positions = top.map { text.range(of: "\"\($0)\":")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        let attachmentKeys = ["contentId", "contentType", "disposition", "filename", "sha256", "size"]
        let first = text.range(of: "\"attachments\":[{")!.upperBound
        let attachmentPositions = attachmentKeys.map { text.range(of: "\"\($0)\":", range: first..<text.endIndex)!.lowerBound }
        #expect(attachmentPositions == attachmentPositions.sorted())
    }
}
