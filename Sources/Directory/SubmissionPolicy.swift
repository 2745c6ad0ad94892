import Foundation
import MailCore

/// What an alias may submit (RFC 6409): the addresses it may use as envelope sender and in
/// `From:`/`Sender:` besides its own, and how much it sent lately.
public enum SubmissionPolicy {
    public static let maxSendAs = 100

    /// The stored form of a send-as entry: `EmailAddress.canonical`, or `*@` + `Domain.ascii` for
    /// every address of a domain. Only domains of this server: sending as someone else's domain
    /// would be forgery, and its SPF/DKIM/DMARC would fail anyway.
    public static func normalizedSendAs(_ text: String, hostedDomains: Set<String>) throws(DirectoryError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let domain: Domain, stored: String
        if trimmed.hasPrefix("*@") {
            guard let d = try? Domain(String(trimmed.dropFirst(2))) else {
                throw DirectoryError(.invalidSendAs, "send-as \(trimmed.prefix(260)) is not *@ followed by a domain")
            }
            domain = d; stored = "*@" + d.ascii
        } else {
            guard let address = try? EmailAddress(trimmed) else {
                throw DirectoryError(.invalidSendAs, "send-as \(trimmed.prefix(260)) is not an address (or *@domain)")
            }
            domain = address.domain; stored = address.canonical
        }
        guard hostedDomains.contains(domain.ascii) else {
            throw DirectoryError(.invalidSendAs, "send-as \(trimmed.prefix(260)): \(domain) is not a domain of this server")
        }
        return stored
    }

    /// Whether `address` is `own` or matches one of `sendAs` (stored forms; `*@domain` matches
    /// every address of the domain, a plus-address `own+tag` is the alias's own).
    public static func mayUse(_ address: EmailAddress, own: EmailAddress, sendAs: [String]) -> Bool {
        if address == own || address.subaddressBase == own { return true }
        return sendAs.contains { $0 == address.canonical || $0 == "*@" + address.domain.ascii || $0 == address.subaddressBase?.canonical }
    }
}

/// What an alias submitted lately: messages in the last hour, recipients in the last 24 hours.
public struct SubmissionUsage: Sendable, Hashable {
    public var messagesLastHour: Int
    public var recipientsLastDay: Int
    public init(messagesLastHour: Int, recipientsLastDay: Int) {
        self.messagesLastHour = messagesLastHour; self.recipientsLastDay = recipientsLastDay
    }
}

/// The per-alias limits of submission (nil: none).
public struct SubmissionLimits: Sendable, Hashable {
    public var maxMessagesPerHour: Int?
    public var maxRecipientsPerDay: Int?
    public init(maxMessagesPerHour: Int?, maxRecipientsPerDay: Int?) {
        self.maxMessagesPerHour = maxMessagesPerHour; self.maxRecipientsPerDay = maxRecipientsPerDay
    }

    /// Whether one more message to `recipients` recipients stays within the limits.
    public func allows(_ usage: SubmissionUsage, recipients: Int, messages: Int = 1) -> Bool {
        if let max = maxMessagesPerHour, usage.messagesLastHour + messages > max { return false }
        if let max = maxRecipientsPerDay, usage.recipientsLastDay + recipients > max { return false }
        return true
    }
}
