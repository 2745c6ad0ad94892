import Foundation
import Outbound
import MIMEParser
import Testing

@Suite("DeliveryStatusNotification")
struct DeliveryStatusNotificationTests {
    typealias DSN = DeliveryStatusNotification
    static let original = Array((
        "Return-Path: <alice@example.org>\nFrom: Alice <alice@example.org>\nTo: bob@example.net, nobody@example.net\n" +
        "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nMessage-ID: <orig-1@example.org>\nX-Long: " +
        String(repeating: "x", count: 2_000) + "\n\nThe body, which must not be in the bounce.\n").utf8)
    static let arrival = Date(timeIntervalSince1970: 1_795_348_800)   // 2026-11-22 12:00:00 UTC
    static let now = Date(timeIntervalSince1970: 1_795_352_400)

    static func bounce(_ failures: [DSN.Failure]) -> [UInt8] {
        DSN.bounce(original: original, envelopeSender: "alice@example.org", failures: failures,
                   reportingMTA: "mx.sealbox.test", arrivalDate: arrival, now: now, messageID: "dsn-1@mx.sealbox.test")
    }

    static let failures = [
        DSN.Failure(recipient: "nobody@example.net", status: "5.1.1", diagnostic: "550 5.1.1 no such user"),
        DSN.Failure(recipient: "full@example.net", status: "5.2.2",
                    diagnostic: "552 5.2.2 mailbox full " + String(repeating: "very ", count: 400) + "long"),
    ]

    func header(_ m: MIMEMessage, _ name: String) -> String? {
        m.headerValues(name).first.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test("structure and fields, as MIMEParser sees them")
    func structure() throws {
        let bytes = Self.bounce(Self.failures)
        let m = MIMEMessage.parse(bytes)
        #expect(header(m, "From") == "Mail Delivery System <MAILER-DAEMON@mx.sealbox.test>")
        #expect(m.from.first?.address == "MAILER-DAEMON@mx.sealbox.test")
        #expect(m.to.first?.address == "alice@example.org")
        #expect(m.subject == "Undelivered Mail Returned to Sender")
        #expect(m.messageID == "dsn-1@mx.sealbox.test")
        #expect(m.date == Self.now)
        #expect(header(m, "Auto-Submitted") == "auto-replied")
        #expect(header(m, "MIME-Version") == "1.0")
        #expect(m.root.contentType == "multipart" && m.root.subtype == "report")
        #expect(m.root.parameter("report-type") == "delivery-status")
        let parts = m.root.children
        try #require(parts.count == 3)
        #expect(parts.map { "\($0.contentType)/\($0.subtype)" } == ["text/plain", "message/delivery-status", "text/rfc822-headers"])

        let text = Charset.decode(m.decodedBody(parts[0]), charset: parts[0].parameter("charset"))
        #expect(text.contains("mx.sealbox.test"))
        #expect(text.contains("<nobody@example.net>: 550 5.1.1 no such user"))

        let status = String(decoding: m.decodedBody(parts[1]), as: UTF8.self)
        #expect(status.hasPrefix("Reporting-MTA: dns; mx.sealbox.test\r\nArrival-Date: Sun, 22 Nov 2026 12:00:00 +0000\r\n\r\n"))
        #expect(status.contains("\r\n\r\nFinal-Recipient: rfc822; nobody@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
                                "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"))
        #expect(status.contains("Final-Recipient: rfc822; full@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\n"))

        let headers = Array(bytes[parts[2].bodyRange])
        let headerText = String(decoding: headers, as: UTF8.self)
        #expect(headerText.hasPrefix("Return-Path: <alice@example.org>\r\nFrom: Alice <alice@example.org>\r\n"))
        #expect(headerText.contains("Message-ID: <orig-1@example.org>\r\n"))
        #expect(!headerText.contains("The body"))
        #expect(!String(decoding: bytes, as: UTF8.self).contains("The body"))
    }

    @Test("CRLF throughout and no line over 998 octets, even with a long diagnostic and a long original header line")
    func lines() {
        let bytes = Self.bounce(Self.failures)
        var lineLength = 0
        var longest = 0
        for (i, b) in bytes.enumerated() {
            if b == 0x0A {
                #expect(i > 0 && bytes[i - 1] == 0x0D, "bare LF at \(i)")
                lineLength = 0
            } else if b == 0x0D {
                #expect(i + 1 < bytes.count && bytes[i + 1] == 0x0A, "bare CR at \(i)")
            } else {
                lineLength += 1
                longest = max(longest, lineLength)
            }
        }
        #expect(longest <= 998)
        #expect(bytes.suffix(2) == [0x0D, 0x0A])
    }

    @Test("Python's email package parses it into the same report")
    func python() async throws {
        let script = """
        import email, email.policy, json, sys
        m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.compat32)
        parts = m.get_payload()
        status = parts[1].get_payload()
        out = {
            "type": m.get_content_type(), "reportType": m.get_param("report-type"), "from": m["From"], "to": m["To"],
            "subject": m["Subject"], "autoSubmitted": m["Auto-Submitted"], "messageId": m["Message-ID"],
            "parts": [p.get_content_type() for p in parts], "defects": [str(d) for d in m.defects],
            "perMessage": dict(status[0].items()),
            "perRecipient": [dict((k, " ".join(v.split())) for k, v in block.items()) for block in status[1:]],
            "originalSubject": email.message_from_string(parts[2].get_payload())["Subject"],
        }
        print(json.dumps(out))
        """
        let output = try await TestEnvironment.python(script, stdin: Self.bounce(Self.failures))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(json["type"] as? String == "multipart/report")
        #expect(json["reportType"] as? String == "delivery-status")
        #expect(json["from"] as? String == "Mail Delivery System <MAILER-DAEMON@mx.sealbox.test>")
        #expect(json["to"] as? String == "<alice@example.org>")
        #expect(json["subject"] as? String == "Undelivered Mail Returned to Sender")
        #expect(json["autoSubmitted"] as? String == "auto-replied")
        #expect(json["messageId"] as? String == "<dsn-1@mx.sealbox.test>")
        #expect(json["parts"] as? [String] == ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        #expect((json["defects"] as? [String])?.isEmpty == true)
        let perMessage = json["perMessage"] as? [String: String]
        #expect(perMessage?["Reporting-MTA"] == "dns; mx.sealbox.test")
        #expect(perMessage?["Arrival-Date"] == "Sun, 22 Nov 2026 12:00:00 +0000")
        let perRecipient = json["perRecipient"] as? [[String: String]] ?? []
        try #require(perRecipient.count == 2)
        #expect(perRecipient[0] == ["Final-Recipient": "rfc822; nobody@example.net", "Action": "failed", "Status": "5.1.1",
                                    "Diagnostic-Code": "smtp; 550 5.1.1 no such user"])
        #expect(perRecipient[1]["Diagnostic-Code"]?.hasPrefix("smtp; 552 5.2.2 mailbox full very very") == true)
        #expect(perRecipient[1]["Diagnostic-Code"]?.hasSuffix("very long") == true)
        #expect(json["originalSubject"] as? String == "=?utf-8?q?Gr=C3=BC=C3=9Fe?=")
    }

    @Test("CR/LF in caller-supplied values cannot add header fields; delayed reports say so")
    func sanitizedAndDelayed() {
        let bytes = DSN.bounce(original: Self.original, envelopeSender: "alice@example.org\r\nBcc: victim@example.com",
                               failures: [DSN.Failure(recipient: "x@example.net\r\nX-Evil: 1", status: "4.4.1",
                                                      diagnostic: "421 4.4.1 timeout\r\nX-Evil: 2", action: "delayed")],
                               reportingMTA: "mx.sealbox.test", arrivalDate: Self.arrival, now: Self.now, messageID: "<d2@mx>")
        let m = MIMEMessage.parse(bytes)
        #expect(m.headerValues("bcc").isEmpty)
        #expect(!String(decoding: bytes, as: UTF8.self).contains("\r\nX-Evil"))
        #expect(m.messageID == "d2@mx")
        #expect(m.subject?.contains("Delayed") == true)
        let status = String(decoding: m.decodedBody(m.root.children[1]), as: UTF8.self)
        #expect(status.contains("Action: delayed\r\nStatus: 4.4.1\r\n"))
    }
}
