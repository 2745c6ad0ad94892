import Directory
import Foundation
import MailCore
import Outbound
import SMTPCore
import SMTPServer

/// Outbound jobs' recipients in the node's own domains, delivered by the node's inbound handler
/// (stored, forwarded, posted: whatever the alias does), as the MX would take them.
public struct DirectoryLocalDelivery: LocalDelivery {
    let directory: any MailDirectory
    let handler: DirectoryInboundHandler
    let hostname: String
    /// The SRS domain: a bounce to a rewritten sender of ours is passed on by the handler.
    let srsDomain: String?

    /// As the MX (`SMTPTrace.Configuration.maxReceivedHeaders`).
    static let maxReceivedHeaders = 50

    public init(directory: any MailDirectory, handler: DirectoryInboundHandler, hostname: String, srsDomain: String?) {
        self.directory = directory; self.handler = handler; self.hostname = hostname; self.srsDomain = srsDomain
    }

    public func localRecipients(_ recipients: [String]) async -> Set<String> {
        guard let domains = try? await directory.domains().map(\.domain.ascii) else { return [] }
        var own = Set(domains)
        if let srsDomain, let srs = try? Domain(srsDomain) { own.insert(srs.ascii) }
        return Set(recipients.filter { recipient in
            guard let at = recipient.lastIndex(of: "@"), let domain = try? Domain(String(recipient[recipient.index(after: at)...])) else { return false }
            return own.contains(domain.ascii)
        })
    }

    public func deliver(from: String, recipients: [String], message: [UInt8], queueID: String) async -> [String: SMTPRelayClient.RecipientResult] {
        var results: [String: SMTPRelayClient.RecipientResult] = [:]
        var accepted: [InboundRecipient] = []
        for recipient in recipients {
            guard let at = recipient.lastIndex(of: "@") else {
                results[recipient] = .rejected(code: 550, enhanced: "5.1.3", text: "bad recipient address")
                continue
            }
            let mailbox = SMTPMailbox(localPart: String(recipient[..<at]), domain: String(recipient[recipient.index(after: at)...]))
            switch await handler.route(mailbox, size: message.count) {
            case .success(let route): accepted.append(route)
            case .failure(let reply): results[recipient] = .rejected(code: reply.code, enhanced: reply.enhanced, text: reply.text)
            }
        }
        guard !accepted.isEmpty else { return results }
        // A forward from one local alias to another and back would go round for ever: the same
        // Received count as the MX refuses stops it (RFC 5321 §6.3).
        if SMTPTrace.countReceivedHeaders(message, upTo: SMTPTrace.maxReceivedHeaders + 1) > SMTPTrace.maxReceivedHeaders {
            for route in accepted { results[route.rcpt] = .rejected(code: 554, enhanced: "5.4.6", text: "Too many Received headers: mail loop detected") }
            return results
        }
        let now = Date()
        let trace = Array("Received: by \(hostname) (Sealbox) with local id \(queueID); \(SMTPTrace.rfc5322Date(now))\r\n".utf8)
        var transaction = InboundTransaction(mailFrom: from, recipients: accepted, message: trace + message, receivedAt: now,
                                             remoteIP: "127.0.0.1", helo: hostname, queueID: queueID)
        // The recipients' Sieve scripts run as at the MX; a lone recipient's reject is its refusal.
        if let refusal = await handler.filter(&transaction) {
            for route in accepted { results[route.rcpt] = .rejected(code: refusal.code, enhanced: refusal.enhanced, text: refusal.text) }
            return results
        }
        do {
            try await handler.commit(transaction)
            for route in accepted { results[route.rcpt] = .accepted }
        } catch {
            for route in accepted { results[route.rcpt] = .rejected(code: 451, enhanced: "4.3.0", text: "local delivery failed; will retry") }
        }
        return results
    }
}
