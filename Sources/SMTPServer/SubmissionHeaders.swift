import Foundation
import MIMEParser

/// What submission (RFC 6409 §8) reads in a message's header and adds when missing: the
/// addresses of `From:` and `Sender:` (checked against what the login may send as), `Date:` and
/// `Message-ID:`. Pure: only the header block is parsed.
struct SubmissionHeaders {
    /// The addresses of every `From:` and `Sender:` field (a mailbox without a domain as written).
    var authors: [String]
    var hasFrom: Bool
    var hasDate: Bool
    var hasMessageID: Bool

    init(_ message: [UInt8]) {
        let header = MIMEMessage.parse(Self.headerBlock(message))
        hasFrom = !header.headerValues("from").isEmpty
        hasDate = !header.headerValues("date").isEmpty
        hasMessageID = !header.headerValues("message-id").isEmpty
        authors = (header.from + header.sender).map { $0.address ?? "" }
    }

    /// The header block with its blank line (the whole message when it has none).
    static func headerBlock(_ message: [UInt8]) -> [UInt8] {
        var i = 0
        while i + 1 < message.count {
            if message[i] == 0x0A && (message[i + 1] == 0x0A || (message[i + 1] == 0x0D && i + 2 < message.count && message[i + 2] == 0x0A)) {
                return Array(message[...i]) + [0x0D, 0x0A]
            }
            i += 1
        }
        return message
    }

    /// The fields to put in front of the message: `Date:` and `Message-ID:` when it has none.
    func missingFields(hostname: String, queueID: String, date: Date) -> [UInt8] {
        var fields = ""
        if !hasDate { fields += "Date: \(SMTPSession.rfc5322Date(date))\r\n" }
        if !hasMessageID { fields += "Message-ID: <\(UUID().uuidString.lowercased()).\(queueID)@\(hostname)>\r\n" }
        return Array(fields.utf8)
    }
}
