import MailNet
import SMTPCore

/// Who sends on a submission session (RFC 6409), from its AUTH: the login as given and the
/// password it used (a revoked password stops the next message).
public struct SMTPSubmitter: Sendable, Hashable {
    /// The login name as the client gave it (an address).
    public var user: String
    public var mailboxID: String
    public var passwordID: String
    public init(user: String, mailboxID: String, passwordID: String) {
        self.user = user; self.mailboxID = mailboxID; self.passwordID = passwordID
    }
}

/// What a submission session asks of the node: who may send as whom, the per-alias limits, where
/// each recipient goes (a local alias, or another domain through the outbound queue), and the
/// durable commit. SealboxApp's `DirectorySubmissionHandler` is the node's.
public protocol SMTPSubmissionHandler: Sendable {
    /// MAIL time: nil to go ahead, else the refusal — 530 5.7.0 when the session's password was
    /// revoked, 553 5.7.1 for a sender the login may not use, 450 4.7.1 over the hourly limit.
    func authorizeSender(_ from: SMTPMailbox?, submitter: SMTPSubmitter) async -> SMTPReply?
    /// RCPT time: `accepted` recipients were accepted before this one in the transaction (the
    /// daily recipient limit answers 450 4.7.1).
    func route(_ recipient: SMTPMailbox, submitter: SMTPSubmitter, accepted: Int, size: Int?) async -> Result<InboundRecipient, SMTPReply>
    /// After the content: checks `transaction.authors` (553 5.7.1), counts the message against the
    /// limits (450 4.7.1) and commits it durably (local copies sealed, remote recipients queued),
    /// all or nothing. nil once committed; a refusal otherwise (nothing committed).
    func commit(_ transaction: InboundTransaction, submitter: SMTPSubmitter) async throws -> SMTPReply?
    /// As `SMTPInboundHandler.copiesHeld`.
    func copiesHeld(for recipients: [InboundRecipient]) -> Int
}

/// What makes an SMTP session a submission session: AUTH with the node's one authenticator (and
/// its failed-login throttle), and the handler that knows who sends.
public struct SMTPSubmissionContext: Sendable {
    public var authenticator: SessionAuthenticator
    public var handler: any SMTPSubmissionHandler
    /// AUTH without TLS (local testing only).
    public var allowInsecureAuth: Bool
    public init(authenticator: SessionAuthenticator, handler: any SMTPSubmissionHandler, allowInsecureAuth: Bool) {
        self.authenticator = authenticator; self.handler = handler; self.allowInsecureAuth = allowInsecureAuth
    }
}

/// A handler for the MX part of an SMTP session that never sees it (the submission server routes
/// every recipient through its `SMTPSubmissionHandler`).
struct SubmissionOnlyInboundHandler: SMTPInboundHandler {
    func route(_ recipient: SMTPMailbox, size: Int?) async -> Result<InboundRecipient, SMTPReply> {
        .failure(SMTPReply(530, "5.7.0", "Authentication required"))
    }
    func commit(_ transaction: InboundTransaction) async throws {
        throw SMTPReply(530, "5.7.0", "Authentication required")
    }
}
