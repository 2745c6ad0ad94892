import Foundation
import Logging
import MailCore
import MailStore
import MIMEParser
import Outbound
import SMTPCore
import SMTPServer

extension SealboxNode {
    /// Why `deliver(to:from:message:configuration:)` did not deliver.
    public enum LocalDeliveryFailure: Error, CustomStringConvertible, Sendable {
        /// No such recipient here (EX_NOUSER).
        case unknownRecipient(String)
        /// The recipient's Sieve script rejected the message (EX_NOPERM): the reason.
        case rejected(String)
        /// Try again later (EX_TEMPFAIL).
        case temporary(String)

        public var description: String {
            switch self {
            case .unknownRecipient(let text), .rejected(let text), .temporary(let text): text
            }
        }
    }

    /// `sealbox deliver`: the local delivery agent. Without an active Sieve script, the message is
    /// sealed to the mailbox as it is (`LocalMailboxService.deliver`). With one, it goes where the
    /// MX would put it: the script runs (as at the MX), its copies are sealed (with Return-Path and
    /// a Received line), its forwards, webhooks, redirects and vacation replies are queued for
    /// `serve`'s outbound worker, all in one commit. `from` is the envelope sender ("": none, and
    /// no vacation reply).
    public func deliver(to recipient: EmailAddress, from sender: String, message: [UInt8],
                        configuration: SealboxConfiguration, now: Date = Date()) async throws {
        guard let alias = try await directory.resolveRecipient(recipient), alias.store,
              try await directory.activeSieveScript(aliasID: alias.id) != nil else {
            _ = try await mailboxes.deliver(to: recipient, message: message, internalDate: now)
            return
        }
        let outbound = try OutboundWorker.make(configuration: configuration, node: self, dns: nil, logger: Logger(label: "sealbox.deliver"))
        let handler = DirectoryInboundHandler(directory: directory, mailboxes: mailboxes, postmaster: nil,
                                              rewriteSender: outbound.rewriteSender, onJobsQueued: { [self] in wakeOutbound() },
                                              srsDomain: outbound.srsDomain,
                                              reverseSRS: outbound.reverseSender, defaultQuotaBytes: configuration.storage.defaultQuotaBytes,
                                              sieve: SieveDelivery(filtering: DirectorySieveFilter(directory: directory),
                                                                   hasher: sieveMemoryHasher, hostname: configuration.node.hostname))
        let canonical = MIMEMessage.canonicalCRLF(message)
        let mailbox = SMTPMailbox(localPart: recipient.localPart, domain: recipient.domain.ascii)
        let route: InboundRecipient
        switch await handler.route(mailbox, size: canonical.count) {
        case .success(let found): route = found
        case .failure(let reply) where reply.code >= 500: throw LocalDeliveryFailure.unknownRecipient("\(recipient): \(reply.text)")
        case .failure(let reply): throw LocalDeliveryFailure.temporary("\(recipient): \(reply.text)")
        }
        let queueID = "L" + String(UInt64.random(in: 0...UInt64.max), radix: 36, uppercase: true)
        let trace = Array("Received: by \(configuration.node.hostname) (Sealbox) with local id \(queueID)\r\n\tfor <\(recipient)>; \(SMTPTrace.rfc5322Date(now))\r\n".utf8)
        var transaction = InboundTransaction(mailFrom: sender, recipients: [route], message: trace + canonical, receivedAt: now,
                                             remoteIP: "127.0.0.1", helo: configuration.node.hostname, queueID: queueID)
        if let refusal = await handler.filter(&transaction) { throw LocalDeliveryFailure.rejected(refusal.text) }
        try await handler.commit(transaction)
        // Mail for a mailbox open in this process (none, for the CLI) moves at once; `serve` finds the rest.
        try await mailboxes.drainQueuedMail()
    }
}
