import Foundation
import Logging
import MailStore
import Outbound

extension OutboundWorker {
    /// The worker of a node, from its configuration (secrets made on first use in the data directory).
    public static func make(configuration c: SealboxConfiguration, node: SealboxNode, logger: Logger) throws -> OutboundWorker {
        var relay: SMTPRelayClient.Configuration?
        if let host = c.relayHost {
            var r = SMTPRelayClient.Configuration(host: host, port: c.relayPort)
            r.security = SMTPRelayClient.Configuration.Security(rawValue: c.relaySecurity) ?? .starttls
            r.username = c.relayUsername
            r.password = c.relayPassword
            r.trustRoots = c.relayCAFile.map { [$0] } ?? []
            r.heloName = c.hostname
            relay = r
        }
        let srsSecret = try c.srsSecret.map { Array($0.utf8) }
            ?? SealboxNode.loadOrCreateNodeKey(path: node.dataDirectory + "/srs.key").withBytes { $0 }
        let webhookSecret = try c.webhookSecret.map { Array($0.utf8) }
            ?? SealboxNode.loadOrCreateNodeKey(path: node.dataDirectory + "/webhook.key").withBytes { $0 }
        let settings = Settings(relay: relay, hostname: c.hostname, webhookSecret: webhookSecret, webhookIncludeRaw: c.webhookIncludeRaw,
                                retryInterval: c.outboundRetryInterval, maxRetryInterval: c.outboundMaxRetryInterval, maxAge: c.outboundMaxAge)
        return OutboundWorker(queue: node.queue, settings: settings, srs: SRS(secret: srsSecret, domain: c.srsDomain ?? c.hostname), logger: logger)
    }
}
