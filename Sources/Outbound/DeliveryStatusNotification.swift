import Crypto
import Foundation
import MIMEParser

/// Delivery status notifications (RFC 3464, RFC 3462 multipart/report): the bounce sent to the
/// envelope sender when a message could not be delivered (or is delayed).
public enum DeliveryStatusNotification {
    /// One recipient's outcome.
    public struct Failure: Sendable, Equatable {
        public var recipient: String
        /// RFC 3463 enhanced status code, e.g. "5.1.1".
        public var status: String
        /// The remote reply, e.g. "550 5.1.1 no such user".
        public var diagnostic: String
        /// RFC 3464 action: "failed", "delayed", "delivered", "relayed" or "expanded".
        public var action: String = "failed"

        public init(recipient: String, status: String, diagnostic: String, action: String = "failed") {
            self.recipient = recipient; self.status = status; self.diagnostic = diagnostic; self.action = action
        }
    }

    /// The notification message, CRLF-terminated lines of at most 998 octets:
    /// multipart/report; report-type=delivery-status with a text/plain explanation, the
    /// message/delivery-status fields, and the original's header block as text/rfc822-headers.
    /// `messageID` may be given with or without angle brackets. Never send one for a message whose
    /// envelope sender was null (RFC 5321 §4.5.5): that is the caller's check.
    public static func bounce(original: [UInt8], envelopeSender: String, failures: [Failure], reportingMTA: String,
                              arrivalDate: Date, now: Date = Date(), messageID: String) -> [UInt8] {
        let mta = MessageFormatting.oneLine(reportingMTA)
        let parsed = MIMEMessage.parse(original)
        let headerBlock = MessageFormatting.crlfHeaderLines(original[0..<parsed.headerLength])
        let allDelayed = !failures.isEmpty && failures.allSatisfy { $0.action.lowercased() == "delayed" }

        // text/plain
        var text = "This is the mail system at host \(mta).\n\n"
        if allDelayed {
            text += "Your message has not been delivered yet to the recipients below. The mail system\n"
            text += "will keep trying; no action is needed from you.\n"
        } else {
            text += "I'm sorry to have to inform you that your message could not be delivered to one\n"
            text += "or more recipients. It's attached below (its header only).\n"
        }
        text += "\n"
        for f in failures {
            text += "<\(MessageFormatting.oneLine(f.recipient))>: \(MessageFormatting.oneLine(f.diagnostic))\n"
        }
        let textBytes = MessageFormatting.textLines(text)

        // message/delivery-status
        var status = [UInt8]()
        status += MessageFormatting.field("Reporting-MTA", "dns; " + mta)
        status += MessageFormatting.field("Arrival-Date", MessageFormatting.rfc5322Date(arrivalDate))
        for f in failures {
            status += [0x0D, 0x0A]
            let recipient = MessageFormatting.oneLine(f.recipient)
            // RFC 6533 §3: an address that is not ASCII is typed utf-8.
            let type = MessageFormatting.isASCII(recipient.utf8) ? "rfc822" : "utf-8"
            status += MessageFormatting.field("Final-Recipient", "\(type); \(recipient)")
            status += MessageFormatting.field("Action", f.action)
            status += MessageFormatting.field("Status", f.status)
            if !f.diagnostic.isEmpty {
                status += MessageFormatting.field("Diagnostic-Code", "smtp; " + f.diagnostic)
            }
        }

        let boundary = makeBoundary(seed: messageID + MessageFormatting.iso8601(now),
                                    avoiding: [textBytes, status, headerBlock])
        var out = [UInt8]()
        out += MessageFormatting.field("From", "Mail Delivery System <MAILER-DAEMON@\(mta)>")
        out += MessageFormatting.field("To", "<\(MessageFormatting.oneLine(envelopeSender))>")
        out += MessageFormatting.field("Subject", allDelayed ? "Delayed Mail (still being retried)"
                                                             : "Undelivered Mail Returned to Sender")
        out += MessageFormatting.field("Date", MessageFormatting.rfc5322Date(now))
        let id = MessageFormatting.oneLine(messageID).trimmingCharacters(in: CharacterSet(charactersIn: "<> "))
        out += MessageFormatting.field("Message-ID", "<\(id)>")
        out += MessageFormatting.field("Auto-Submitted", "auto-replied")
        out += MessageFormatting.field("MIME-Version", "1.0")
        out += MessageFormatting.field("Content-Type", "multipart/report; report-type=delivery-status;")
            .dropLast(2) + Array("\r\n\tboundary=\"\(boundary)\"\r\n".utf8)
        out += Array("\r\nThis is a MIME-encapsulated message.\r\n\r\n".utf8)

        func part(_ contentType: String, _ body: [UInt8], description: String) {
            out += Array("--\(boundary)\r\n".utf8)
            out += MessageFormatting.field("Content-Description", description)
            out += MessageFormatting.field("Content-Type", contentType)
            out += MessageFormatting.field("Content-Transfer-Encoding", MessageFormatting.isASCII(body) ? "7bit" : "8bit")
            out += [0x0D, 0x0A]
            out += body
        }
        part("text/plain; charset=utf-8", textBytes, description: "Notification")
        part("message/delivery-status", status, description: "Delivery report")
        part("text/rfc822-headers", headerBlock, description: "Undelivered Message Headers")
        out += Array("--\(boundary)--\r\n".utf8)
        return out
    }

    /// A boundary derived from the notification's identity (so output is reproducible) that
    /// occurs in none of the parts.
    static func makeBoundary(seed: String, avoiding parts: [[UInt8]]) -> String {
        var counter = 0
        while true {
            let digest = SHA256.hash(data: Array("\(seed)/\(counter)".utf8))
            let boundary = "=_dsn_" + WebhookSignature.hex(Array(digest.prefix(12)))
            let needle = Array(boundary.utf8)
            if !parts.contains(where: { contains($0, needle) }) { return boundary }
            counter += 1
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return needle.isEmpty }
        var i = 0
        while i + needle.count <= haystack.count {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
