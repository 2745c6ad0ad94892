import Directory
import Foundation
import MailboxAPI
import MailCore
import SMTPCore
import SMTPServer

/// The node's submission handler (RFC 6409): who may send as whom comes from the directory (the
/// alias's own address, its plus-addresses, and its send-as list), the per-alias limits are
/// counted in the directory (they survive a restart), local recipients are routed and committed
/// as the MX does (sealed copies, forwards, webhooks) and remote recipients become one outbound
/// job, all in the same durable commit.
public struct DirectorySubmissionHandler: SMTPSubmissionHandler {
    let directory: any MailDirectory
    /// Local recipients: the MX's own routing and commit.
    let inbound: DirectoryInboundHandler
    let limits: SubmissionLimits
    let now: @Sendable () -> Date

    public init(directory: any MailDirectory, inbound: DirectoryInboundHandler, limits: SubmissionLimits,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.directory = directory; self.inbound = inbound; self.limits = limits; self.now = now
    }

    /// The alias that logged in, if its login still holds (the password not revoked, the alias
    /// not removed or given another mailbox).
    func currentAlias(_ submitter: SMTPSubmitter) async throws -> AliasRecord? {
        guard let address = try? EmailAddress(submitter.user),
              let alias = try await directory.resolveRecipient(address), alias.mailboxID == submitter.mailboxID,
              try await directory.passwords(aliasID: alias.id).contains(where: { $0.id == submitter.passwordID })
        else { return nil }
        return alias
    }

    static let revoked = SMTPReply(530, "5.7.0", "Authentication required: the password of this session is no longer valid")
    static let lookupFailure = SMTPReply(451, "4.3.0", "Temporary lookup failure, try again later")

    func mayUse(_ text: String, alias: AliasRecord) async throws -> Bool {
        guard let address = try? EmailAddress(text) else { return false }
        return SubmissionPolicy.mayUse(address, own: alias.address, sendAs: try await directory.sendAs(aliasID: alias.id))
    }

    public func authorizeSender(_ from: SMTPMailbox?, submitter: SMTPSubmitter) async -> SMTPReply? {
        do {
            guard let alias = try await currentAlias(submitter) else { return Self.revoked }
            guard let from, !from.domain.isEmpty else {
                return SMTPReply(553, "5.7.1", "Sender address rejected: the null sender is not accepted for submission")
            }
            guard try await mayUse(from.description, alias: alias) else {
                return SMTPReply(553, "5.7.1", "Sender address rejected: \(alias.address) may not send as \(from)")
            }
            if let max = limits.maxMessagesPerHour,
               try await directory.submissionUsage(aliasID: alias.id, now: now()).messagesLastHour >= max {
                return SMTPReply(450, "4.7.1", "Too many messages sent in the last hour (limit \(max)), try again later")
            }
            return nil
        } catch {
            return Self.lookupFailure
        }
    }

    public func route(_ recipient: SMTPMailbox, submitter: SMTPSubmitter, accepted: Int, size: Int?) async -> Result<InboundRecipient, SMTPReply> {
        do {
            guard let alias = try await currentAlias(submitter) else { return .failure(Self.revoked) }
            if let max = limits.maxRecipientsPerDay,
               try await directory.submissionUsage(aliasID: alias.id, now: now()).recipientsLastDay + accepted + 1 > max {
                return .failure(SMTPReply(450, "4.7.1", "Too many recipients in the last 24 hours (limit \(max)), try again later"))
            }
            if recipient.domain.isEmpty || recipient.domain.hasPrefix("[") {
                return await inbound.route(recipient, size: size)  // <postmaster> is ours; address literals are refused
            }
            guard let address = try? EmailAddress(recipient.description) else {
                return .failure(SMTPReply(501, "5.1.3", "Bad recipient address syntax"))
            }
            if try await directory.domains().contains(where: { $0.domain == address.domain }) {
                return await inbound.route(recipient, size: size)  // delivered here, as the MX would
            }
            // The outbound job is written to the node's disk too: below the free-space floor it waits.
            if await inbound.mailboxes.storageIsLow() { return .failure(SMTPReply(452, "4.3.1", "Insufficient system storage, try again later")) }
            var remote = InboundRecipient(rcpt: address.asciiDomainForm, aliasID: "", aliasAddress: address.asciiDomainForm,
                                          mailboxID: nil, publicKey: nil, forwardTo: [], webhooks: [])
            remote.isRemote = true
            return .success(remote)
        } catch {
            return .failure(Self.lookupFailure)
        }
    }

    public func commit(_ transaction: InboundTransaction, submitter: SMTPSubmitter) async throws -> SMTPReply? {
        var transaction = transaction
        guard let alias = try await currentAlias(submitter) else { return Self.revoked }
        guard !transaction.authors.isEmpty else {
            return SMTPReply(550, "5.6.0", "The message has no From: field (RFC 5322 §3.6)")
        }
        for author in transaction.authors {
            if try await mayUse(author, alias: alias) { continue }
            return SMTPReply(553, "5.7.1", "From:/Sender: address rejected: \(alias.address) may not send as \(author.isEmpty ? "an address without a domain" : author)")
        }
        // Local recipients' Sieve scripts, as the MX runs them (a lone recipient's reject is the reply).
        if let refusal = await inbound.filter(&transaction) { return refusal }
        guard let counted = try await directory.recordSubmission(aliasID: alias.id, recipients: transaction.recipients.count,
                                                                 at: now(), limits: limits) else {
            await inbound.abandon(transaction)
            return SMTPReply(450, "4.7.1", "Sending limit reached (messages per hour or recipients per day), try again later")
        }
        let remote = transaction.recipients.filter(\.isRemote).map(\.rcpt)
        var jobs: [OutboundJob] = []
        if !remote.isEmpty {
            jobs.append(OutboundJob(kind: .smtp, sender: transaction.mailFrom, originalSender: transaction.mailFrom, recipients: remote,
                                    context: ["queueID": transaction.queueID, "submittedBy": alias.address.description],
                                    message: transaction.message, created: transaction.receivedAt))
        }
        do {
            try await inbound.commit(transaction, alsoQueue: jobs)
        } catch {
            try? await directory.cancelSubmission(id: counted)
            throw error
        }
        return nil
    }

    public func copiesHeld(for recipients: [InboundRecipient]) -> Int { inbound.copiesHeld(for: recipients) }
}
