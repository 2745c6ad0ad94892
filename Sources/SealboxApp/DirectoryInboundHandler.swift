import Directory
import Foundation
import MailAuth
import MailboxAPI
import MailCore
import SMTPCore
import SMTPServer

/// The node's inbound handler: recipients come from the directory; a message becomes sealed
/// copies for storing aliases and outbound jobs for forwards and webhooks, committed together.
public struct DirectoryInboundHandler: SMTPInboundHandler {
    let directory: any MailDirectory
    let mailboxes: any MailboxService
    /// The alias that receives mail for `postmaster` when a domain has no postmaster alias.
    let postmaster: EmailAddress?
    /// Rewrites a forwarded message's envelope sender (SRS) so that the target's SPF check passes
    /// and bounces come back here.
    let rewriteSender: @Sendable (String) -> String
    /// Called after a commit that queued outbound jobs (wakes the relay and webhook workers).
    let onJobsQueued: @Sendable () -> Void
    /// The domain of SRS addresses and how to undo one: a bounce of forwarded mail comes back to
    /// `SRS0=…@srsDomain` and is passed on to the original sender.
    let srsDomain: String?
    let reverseSRS: @Sendable (String) -> String?
    /// The quota of an alias that has none (`quota.default`).
    let defaultQuotaBytes: Int64?
    /// SPF, DKIM, DMARC and ARC at the MX (nil: `auth.enabled = false`).
    let authenticator: InboundAuthenticator?
    /// The recipients' Sieve scripts (nil: none run).
    let sieve: SieveDelivery?

    public init(directory: any MailDirectory, mailboxes: any MailboxService, postmaster: EmailAddress?,
                rewriteSender: @escaping @Sendable (String) -> String, onJobsQueued: @escaping @Sendable () -> Void = {},
                srsDomain: String? = nil, reverseSRS: @escaping @Sendable (String) -> String? = { _ in nil }, defaultQuotaBytes: Int64? = nil,
                authenticator: InboundAuthenticator? = nil, sieve: SieveDelivery? = nil) {
        self.directory = directory; self.mailboxes = mailboxes; self.postmaster = postmaster
        self.rewriteSender = rewriteSender; self.onJobsQueued = onJobsQueued
        self.srsDomain = srsDomain; self.reverseSRS = reverseSRS; self.defaultQuotaBytes = defaultQuotaBytes
        self.authenticator = authenticator
        self.sieve = sieve
    }

    public func authenticate(_ transaction: inout InboundTransaction) async -> SMTPReply? {
        guard let authenticator else { return nil }
        // An Authentication-Results field claiming to be ours came from outside: out first (RFC 8601 §5).
        if let cleaned = AuthenticationResults.removingForged(from: transaction.message, authservID: authenticator.authservID) {
            transaction.message = cleaned
        }
        let report = await authenticator.check(message: transaction.message, clientIP: transaction.remoteIP,
                                               helo: transaction.helo, mailFrom: transaction.mailFrom)
        switch report.verdict {
        case .refuse(let code, let enhanced, let text):
            return SMTPReply(code, enhanced, text)
        case .junk:
            transaction.fileAsJunk = true
        case .deliver:
            break
        }
        transaction.headerPrefix = Array(report.results.field.utf8)
        transaction.forwardContext["auth.results"] = report.results.resultsText
        transaction.forwardContext["auth.arc"] = report.arc.result.rawValue
        transaction.forwardContext["auth.arcInstances"] = String(report.arc.instances)
        return nil
    }

    public func clientName(forAddress ip: String) async -> String? {
        await authenticator?.clientName(for: ip)
    }

    public func route(_ recipient: SMTPMailbox, size: Int?) async -> Result<InboundRecipient, SMTPReply> {
        // Below the node's free-space floor nothing is accepted (stored or forwarded: both queue).
        if await mailboxes.storageIsLow() { return .failure(SMTPReply(452, "4.3.1", "Insufficient system storage, try again later")) }
        do {
            if recipient.domain.isEmpty {  // <postmaster> (RFC 5321 §4.1.1.3)
                guard let postmaster, let alias = try await directory.resolveRecipient(postmaster) else {
                    return .failure(SMTPReply(550, "5.1.1", "No postmaster mailbox is configured here"))
                }
                return try await accept(alias, rcpt: "postmaster", size: size)
            }
            if recipient.domain.hasPrefix("[") {
                return .failure(SMTPReply(550, "5.7.1", "Address literals are not accepted as recipients here"))
            }
            guard let address = try? EmailAddress(recipient.description) else {
                return .failure(SMTPReply(501, "5.1.3", "Bad recipient address syntax"))
            }
            if let alias = try await directory.resolveRecipient(address) {
                return try await accept(alias, rcpt: recipient.description, size: size)
            }
            if let srsDomain, address.domain.ascii == (try? Domain(srsDomain))?.ascii,
               ["srs0=", "srs1="].contains(address.localPart.prefix(5).lowercased()) {
                // A bounce (or reply) to a forwarded message's rewritten sender: pass it on.
                guard let original = reverseSRS(recipient.description) else {
                    return .failure(SMTPReply(550, "5.1.1", "Invalid or expired SRS address"))
                }
                return .success(InboundRecipient(rcpt: recipient.description, aliasID: "", aliasAddress: recipient.description,
                                                 mailboxID: nil, publicKey: nil, forwardTo: [original], webhooks: []))
            }
            let hosted = try await directory.domains().contains { $0.domain == address.domain }
            guard hosted else { return .failure(SMTPReply(550, "5.7.1", "Relaying denied: \(address.domain) is not a domain of this server")) }
            if address.localPart.lowercased() == "postmaster", let postmaster,
               let alias = try await directory.resolveRecipient(postmaster) {
                return try await accept(alias, rcpt: recipient.description, size: size)
            }
            return .failure(SMTPReply(550, "5.1.1", "No such recipient here"))
        } catch {
            return .failure(SMTPReply(451, "4.3.0", "Temporary lookup failure, try again later"))
        }
    }

    private func accept(_ alias: AliasRecord, rcpt: String, size: Int?) async throws -> Result<InboundRecipient, SMTPReply> {
        var mailboxID: String?, publicKey: [UInt8]?
        if alias.store {
            guard let id = alias.mailboxID, let key = alias.publicKey else {
                // Stores, but has no mailbox yet (no password was made): nowhere to seal to.
                return .failure(SMTPReply(450, "4.2.1", "Mailbox not set up yet, try again later"))
            }
            if let quota = try await directory.quota(of: alias, nodeDefault: defaultQuotaBytes) {
                let used = try await mailboxes.storedBytes(mailboxID: id)
                if used + Int64(size ?? 0) > quota {
                    return .failure(SMTPReply(552, "5.2.2", "Mailbox full: the recipient is over quota"))
                }
            }
            mailboxID = id; publicKey = key
        }
        return .success(InboundRecipient(rcpt: rcpt, aliasID: alias.id, aliasAddress: alias.address.description,
                                         mailboxID: mailboxID, publicKey: publicKey,
                                         forwardTo: alias.forwardTo.map(\.asciiDomainForm), webhooks: alias.webhooks))
    }

    /// Copies of the message's size that `commit` holds at its peak, the session's buffer
    /// included (see `SMTPInboundHandler.copiesHeld`).
    public func copiesHeld(for recipients: [InboundRecipient]) -> Int {
        // The checks add up to two: a copy without forged Authentication-Results (rare), and
        // DKIM's canonicalized body while it is hashed.
        Self.copiesHeld(storingMailboxes: Set(recipients.compactMap(\.mailboxID)).count) + (authenticator == nil ? 0 : 2)
    }

    /// The session's buffer, plus, while the last of `storingMailboxes` copies is sealed, the
    /// blobs sealed before it and the seal's own three (plaintext, ciphertext, combined box:
    /// `InboundSeal.seal`); while the delivery is written, every blob plus the bound copy of the
    /// one being inserted and SQLite's own copy of it. Both come to mailboxes + 3 (3 with none:
    /// forwards and webhooks share the session's buffer). Return-Path and Received are not copies
    /// (`InboundSeal.seal(prefix:)`, the session's buffer).
    public static func copiesHeld(storingMailboxes: Int) -> Int { storingMailboxes + 3 }

    public func commit(_ transaction: InboundTransaction) async throws {
        try await commit(transaction, alsoQueue: [])
    }

    /// Commits the message as `commit` does, with `extra` outbound jobs in the same transaction
    /// (submission: the remote recipients' job, all or nothing with the local copies).
    func commit(_ transaction: InboundTransaction, alsoQueue extra: [OutboundJob]) async throws {
        var transaction = transaction
        if sieve != nil, transaction.filterPlan == nil, let refusal = await filter(&transaction) {
            throw refusal  // `filter` was not asked first (the session asks it, and answers with this reply)
        }
        let plan = transaction.filterPlan as? SievePlan
        var stores: [InboundMailbox] = []
        var forwardTargets: [String] = []
        var hooks: [String: [String]] = [:]
        var hookOrder: [String] = []
        for (index, recipient) in transaction.recipients.enumerated() {
            if let id = recipient.mailboxID, let key = recipient.publicKey {
                if let copies = plan?.copies[index] {
                    // The script's choice: one copy per keep/fileinto, none for discard, reject or redirect alone.
                    for delivery in copies {
                        stores.append(InboundMailbox(mailboxID: id, publicKey: key, delivery: delivery, message: plan?.edited[index]))
                    }
                } else {
                    stores.append(InboundMailbox(mailboxID: id, publicKey: key, delivery: transaction.fileAsJunk ? .junk : .inbox))
                }
            }
            for target in recipient.forwardTo where !forwardTargets.contains(target) { forwardTargets.append(target) }
            for url in recipient.webhooks {
                if hooks[url] == nil { hookOrder.append(url); hooks[url] = [] }
                if hooks[url]?.contains(recipient.rcpt) == false { hooks[url]?.append(recipient.rcpt) }
            }
        }
        var jobs: [OutboundJob] = extra + (plan?.jobs ?? [])
        let context = ["remoteAddress": transaction.remoteIP, "helo": transaction.helo, "queueID": transaction.queueID]
        if !forwardTargets.isEmpty {
            // Signed (DKIM) by the domain of the first alias that forwards it.
            var forwardContext = context.merging(transaction.forwardContext) { own, _ in own }
            if let forwarder = transaction.recipients.first(where: { !$0.forwardTo.isEmpty }),
               let at = forwarder.rcpt.lastIndex(of: "@") {
                forwardContext["signingDomain"] = String(forwarder.rcpt[forwarder.rcpt.index(after: at)...]).lowercased()
            }
            jobs.append(OutboundJob(kind: .smtp, sender: rewriteSender(transaction.mailFrom), originalSender: transaction.mailFrom,
                                    recipients: forwardTargets, context: forwardContext, message: transaction.message, created: transaction.receivedAt))
        }
        for url in hookOrder {
            jobs.append(OutboundJob(kind: .webhook, sender: transaction.mailFrom, originalSender: transaction.mailFrom,
                                    recipients: hooks[url] ?? [], target: url, context: context, message: transaction.message,
                                    created: transaction.receivedAt))
        }
        // Stored copies get Return-Path (RFC 5321 §4.4: added at final delivery), put in front
        // while sealing: the message itself is not copied.
        let returnPath = Array("Return-Path: <\(transaction.mailFrom)>\r\n".utf8) + transaction.headerPrefix
        do {
            try await mailboxes.acceptInbound(message: transaction.message, prefix: returnPath, internalDate: transaction.receivedAt,
                                              mailboxes: stores, jobs: jobs)
        } catch {
            if let plan { await finish(plan, committed: false) }
            throw error
        }
        if let plan { await finish(plan, committed: true) }
        if !jobs.isEmpty { onJobsQueued() }
    }
}
