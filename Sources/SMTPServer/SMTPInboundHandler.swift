import Foundation
import SMTPCore

/// A recipient the MX accepted at RCPT time, and what its alias does with mail.
public struct InboundRecipient: Sendable, Hashable {
    /// The address as the client gave it in RCPT TO.
    public var rcpt: String
    /// The alias it resolved to (plus-addressing resolves to the base alias).
    public var aliasID: String
    public var aliasAddress: String
    /// The mailbox to store into (nil: the alias does not store).
    public var mailboxID: String?
    public var publicKey: [UInt8]?
    public var forwardTo: [String]
    public var webhooks: [String]
    /// Submission only: a recipient of another domain, sent on by the outbound queue (no alias).
    public var isRemote = false

    public init(rcpt: String, aliasID: String, aliasAddress: String, mailboxID: String?, publicKey: [UInt8]?,
                forwardTo: [String], webhooks: [String]) {
        self.rcpt = rcpt; self.aliasID = aliasID; self.aliasAddress = aliasAddress; self.mailboxID = mailboxID
        self.publicKey = publicKey; self.forwardTo = forwardTo; self.webhooks = webhooks
    }
}

/// One accepted message: the envelope, the message as it will be stored (with the Received
/// header the MX added) and where it came from.
public struct InboundTransaction: Sendable {
    /// The reverse-path; "" for the null sender `<>` (bounces).
    public var mailFrom: String
    public var recipients: [InboundRecipient]
    public var message: [UInt8]
    public var receivedAt: Date
    public var remoteIP: String
    public var helo: String
    public var queueID: String
    /// Submission only: the addresses of the message's `From:` and `Sender:` fields (each must be
    /// one the sender may use).
    public var authors: [String] = []
    /// MX: header fields put in front of the stored copies (Authentication-Results), set by
    /// `SMTPInboundHandler.authenticate`.
    public var headerPrefix: [UInt8] = []
    /// MX: the stored copies go to the recipients' Junk folders (DMARC `p=quarantine`).
    public var fileAsJunk = false
    /// MX: what forwards of the message carry to the outbound worker besides the envelope (the
    /// authentication results an ARC seal repeats).
    public var forwardContext: [String: String] = [:]
    /// What `SMTPInboundHandler.filter` decided (the recipients' Sieve scripts: where each copy
    /// goes, the jobs they add), for the same handler's `commit`. Opaque to the session.
    public var filterPlan: (any Sendable)?
    /// MX: the client's host name by forward-confirmed reverse DNS (`clientName(forAddress:)`), when it has one.
    public var clientName: String?

    public init(mailFrom: String, recipients: [InboundRecipient], message: [UInt8], receivedAt: Date, remoteIP: String,
                helo: String, queueID: String) {
        self.mailFrom = mailFrom; self.recipients = recipients; self.message = message; self.receivedAt = receivedAt
        self.remoteIP = remoteIP; self.helo = helo; self.queueID = queueID
    }
}

/// What the SMTP session asks of the rest of the node: checking recipients against the directory
/// and committing accepted messages durably. SealboxApp's `DirectoryInboundHandler` is the node's; tests may
/// provide their own.
public protocol SMTPInboundHandler: Sendable {
    /// RCPT time: the recipient's route, or the reply refusing it. `size` is MAIL's SIZE parameter.
    func route(_ recipient: SMTPMailbox, size: Int?) async -> Result<InboundRecipient, SMTPReply>
    /// Commits the message for every recipient (stored copies, forwards, webhooks) durably, all
    /// or nothing. The session answers 250 only after this returns.
    func commit(_ transaction: InboundTransaction) async throws
    /// How many copies of the message's size the session's buffer and `commit` hold at most at
    /// once, for these recipients: the session charges the server's memory budget that many bytes
    /// for each byte it keeps, so that the budget bounds what the messages really take in memory.
    func copiesHeld(for recipients: [InboundRecipient]) -> Int
    /// MX only, at the end of DATA before `commit`: checks the sender's authentication (SPF,
    /// DKIM, DMARC, ARC) while the client waits, and refuses the message (`550 5.7.1`,
    /// `451 4.4.3`) or amends the transaction (`headerPrefix`, `fileAsJunk`, `forwardContext`,
    /// forged Authentication-Results taken out of `message`). Bounded in time by the handler.
    func authenticate(_ transaction: inout InboundTransaction) async -> SMTPReply?
    /// At the end of DATA, after `authenticate` and before `commit`: runs the recipients' mail
    /// filters (Sieve scripts) while the client waits. A refusal (`550 5.7.1` for a script's
    /// `reject` when the message has exactly one recipient) ends the transaction with nothing
    /// committed; otherwise the handler records its decisions in `transaction.filterPlan`.
    func filter(_ transaction: inout InboundTransaction) async -> SMTPReply?
    /// MX only, from the connection's start: the client's host name by forward-confirmed reverse
    /// DNS (RFC 5321 §4.4, for Received), nil when it has none or the lookups fail.
    func clientName(forAddress ip: String) async -> String?
}

extension SMTPInboundHandler {
    /// A handler that keeps the message as it is given (no copy of its own).
    public func copiesHeld(for recipients: [InboundRecipient]) -> Int { 1 }
    /// No checks: the message is taken as received.
    public func authenticate(_ transaction: inout InboundTransaction) async -> SMTPReply? { nil }
    /// No filters: every recipient gets the message.
    public func filter(_ transaction: inout InboundTransaction) async -> SMTPReply? { nil }
    public func clientName(forAddress ip: String) async -> String? { nil }
}
