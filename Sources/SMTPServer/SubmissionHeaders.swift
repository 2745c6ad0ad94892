import Foundation
import MIMEParser

/// What submission (RFC 6409 §8) reads in a message's header (`SubmissionHeaderFacts`, pure and
/// fuzzed with the MIME parser) and the fields it adds when they are missing.
struct SubmissionHeaders {
    let facts: SubmissionHeaderFacts

    init(_ message: [UInt8]) { facts = SubmissionHeaderFacts(message) }

    /// The addresses of every `From:` and `Sender:` field.
    var authors: [String] { facts.authors }

    /// The fields to put in front of the message: `Date:` and `Message-ID:` when it has none.
    func missingFields(hostname: String, queueID: String, date: Date) -> [UInt8] {
        var fields = ""
        if !facts.hasDate { fields += "Date: \(SMTPSession.rfc5322Date(date))\r\n" }
        if !facts.hasMessageID { fields += "Message-ID: <\(UUID().uuidString.lowercased()).\(queueID)@\(hostname)>\r\n" }
        return Array(fields.utf8)
    }
}
