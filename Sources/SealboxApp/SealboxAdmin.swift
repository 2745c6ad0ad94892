import Directory
import Foundation
import HTTPServer
import Logging
import MailboxAPI
import MailCore
import MailStore

/// The admin operations that are more than one call, shared by the CLI commands and the HTTP API
/// (`NodeHTTPBackend`): one code path for each.
public enum SealboxAdmin {
    /// `sealbox domain add`: the domain and its DKIM keys.
    public static func addDomain(node: SealboxNode, _ domain: Domain) async throws -> DomainRecord {
        let record = try await node.directory.addDomain(domain)
        _ = try await DomainKeys.rotate(directory: node.directory, domain: record.domain)
        return record
    }

    /// `sealbox domain dns`: the records of a domain of this node.
    /// `mtaSTSMode` nil: `http.mtaSTS`, the mode of the policy the node serves.
    public static func dnsRecords(node: SealboxNode, configuration: SealboxConfiguration, domain: Domain,
                                  mtaSTSMode: DomainDNSRecords.MTASTSMode? = nil) async throws -> DomainDNSRecords {
        guard try await node.directory.domains().contains(where: { $0.domain == domain }) else {
            throw DirectoryError(.noSuchDomain, "no such domain: \(domain.ascii)")
        }
        return DomainDNSRecords(domain: domain, hostname: configuration.node.hostname, keys: try await node.directory.dkimKeys(domain: domain),
                                ports: configuration.publishedPorts, mtaSTSMode: mtaSTSMode ?? configuration.http.mtaSTSMode)
    }

    /// `sealbox alias add`: the alias and who it may send as, all or nothing.
    public static func addAlias(node: SealboxNode, _ address: EmailAddress, store: Bool, forwardTo: [EmailAddress], webhooks: [String],
                                quotaBytes: Int64?, sendAs: [String]) async throws -> AliasRecord {
        let record = try await node.directory.addAlias(address, store: store, forwardTo: forwardTo, webhooks: webhooks, quotaBytes: quotaBytes)
        if !sendAs.isEmpty {
            do {
                try await node.directory.setSendAs(aliasID: record.id, addresses: sendAs)
            } catch {
                try? await node.directory.removeAlias(id: record.id)
                throw error
            }
        }
        return record
    }

    /// `sealbox alias remove [--purge]`: with `purge`, the backups first (if the destination is
    /// unreachable nothing is deleted yet), then the mailbox file, its queued mail and the alias.
    /// Returns what was deleted, one line each.
    public static func removeAlias(node: SealboxNode, configuration: SealboxConfiguration, _ address: EmailAddress, purge: Bool,
                                   logger: Logger = Logger(label: "sealbox.backup")) async throws -> [String] {
        var backupReport: String?
        if purge, let mailboxID = try await node.directory.alias(address: address)?.mailboxID, configuration.backup.destination != nil {
            let backups = try SealboxBackups.service(configuration: configuration, node: node, logger: logger)
            let deleted = try await backups.purge(mailboxID: mailboxID, address: address)
            try? await backups.destination.shutdown()
            backupReport = "deleted \(deleted.count) backup object\(deleted.count == 1 ? "" : "s") at \(backups.destination.displayName)"
        }
        let report = try await node.removeAlias(address, purge: purge)
        return report.split(separator: "\n").map(String.init) + (backupReport.map { [$0] } ?? [])
    }

    /// `sealbox queue retry` and the API's: every outbound job due now, and the worker of a serving node woken.
    public static func retryQueue(node: SealboxNode) async throws -> Int {
        let n = try await node.queue.retryAllJobs()
        node.wakeOutbound()
        return n
    }

    /// `sealbox queue list` and the API's queue: what waits, without message content (webhooks by host only).
    public static func queueListing(node: SealboxNode) async throws -> APIQueue {
        var owner: [String: String] = [:]
        for alias in try await node.directory.aliases(domain: nil) { if let id = alias.mailboxID { owner[id] = alias.address.description } }
        let sealed = try await node.queue.inboundSummary().sorted { $0.oldest < $1.oldest }.map {
            APIQueue.Sealed(mailbox: owner[$0.mailboxID] ?? $0.mailboxID, count: $0.count, bytes: $0.bytes, oldest: $0.oldest)
        }
        let jobs = try await node.queue.outboundJobs().map { job in
            let target: String
            switch job.kind {
            case .smtp:
                if let sender = job.context["submittedBy"] {
                    target = "sent by \(sender) to " + job.recipients.joined(separator: ", ")
                } else {
                    target = (job.sender.isEmpty ? "bounce to " : "forward to ") + job.recipients.joined(separator: ", ")
                }
            case .webhook:
                target = "webhook to " + (job.target.flatMap { URL(string: $0)?.host } ?? "?")
            }
            return APIQueue.Job(id: job.id, kind: job.kind == .smtp ? "smtp" : "webhook", target: target, created: job.created,
                                    attempts: job.attempts, nextAttempt: job.nextAttempt, lastError: job.lastError)
        }
        return APIQueue(sealed: sealed, outbound: jobs)
    }
}
