import DNSCore
import Foundation
import Logging
import MailStore
import Outbound

extension OutboundWorker {
    /// The worker of a node, from its configuration (secrets made on first use in the data directory).
    /// Without a smarthost (`smtp.relay.host`), mail goes straight to each recipient domain's MX
    /// hosts, found with `dns` (no `dns`: it waits in the queue).
    public static func make(configuration c: SealboxConfiguration, node: SealboxNode, dns: (any DNSResolving)? = nil,
                            cluster: ClusterSecrets? = nil, logger: Logger) throws -> OutboundWorker {
        var relay: SMTPRelayClient.Configuration?
        if let host = c.outbound.relayHost {
            var r = SMTPRelayClient.Configuration(host: host, port: c.outbound.relayPort)
            r.security = SMTPRelayClient.Configuration.Security(rawValue: c.outbound.relaySecurity) ?? .starttls
            r.username = c.outbound.relayUsername
            r.password = c.outbound.relayPassword
            r.trustRoots = c.outbound.relayCAFile.map { [$0] } ?? []
            r.heloName = c.node.hostname
            relay = r
        }
        let srsSecret = try srsSecret(c, dataDirectory: node.dataDirectory, cluster: cluster)
        let webhookSecret = try c.outbound.webhookSecret.map { Array($0.utf8) } ?? cluster?.webhook
            ?? SealboxNode.loadOrCreateNodeKey(path: node.dataDirectory + "/webhook.key").withBytes { $0 }
        var settings = Settings(relay: relay, hostname: c.node.hostname, webhookSecret: webhookSecret, webhookIncludeRaw: c.outbound.webhookIncludeRaw,
                                retryInterval: c.outbound.retryInterval, maxRetryInterval: c.outbound.maxRetryInterval, maxAge: c.outbound.maxAge)
        settings.concurrency = c.outbound.concurrency
        if relay == nil, let dns {
            var direct = DirectDelivery.Configuration(heloName: c.node.hostname)
            direct.port = c.outbound.mxPort
            direct.trustRoots = c.outbound.tlsCAFile.map { [$0] } ?? []
            let deliveryResolver = DNSDeliveryResolver(dns)
            var mtaSTS: MTASTSPolicyCache?
            if c.outbound.mtaSTS {
                let fetcher = MTASTSFetcher(trustRoots: direct.trustRoots)
                mtaSTS = MTASTSPolicyCache(txt: { name in
                    do {
                        return try await dns.txt(try DNSName(name)).records.map(\.text)
                    } catch let error as DNSError where error.isNotFound {
                        return []
                    }
                }, fetch: { try await fetcher.fetch($0) })
            }
            settings.directRoute = DirectRoute(delivery: DirectDelivery(configuration: direct, resolver: deliveryResolver, mtaSTS: mtaSTS, logger: logger),
                                               logger: logger)
        }
        let directory = node.directory
        settings.dkimKeys = { domain in try await DomainKeys.signingKeys(directory: directory, domain: domain) }
        settings.arcSeal = c.auth.arcSeal
        return OutboundWorker(queue: node.queue, settings: settings, srs: SRS(secret: srsSecret, domain: c.outbound.srsDomain ?? c.node.hostname), logger: logger)
    }

    /// The SRS key: `outbound.srsSecret`, else the cluster's, else the node's own (`srs.key`).
    static func srsSecret(_ c: SealboxConfiguration, dataDirectory: String, cluster: ClusterSecrets?) throws -> [UInt8] {
        try c.outbound.srsSecret.map { Array($0.utf8) } ?? cluster?.srs
            ?? SealboxNode.loadOrCreateNodeKey(path: dataDirectory + "/srs.key").withBytes { $0 }
    }
}
