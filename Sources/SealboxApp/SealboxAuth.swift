import DNSCore
import Foundation
import Logging
import MailAuth

/// The MX's inbound authentication, made from `auth.*` (nil when `auth.enabled` is false).
public enum SealboxAuth {
    public static func makeAuthenticator(_ configuration: SealboxConfiguration, resolver: any DNSResolving,
                                         logger: Logger) throws -> InboundAuthenticator? {
        let settings = configuration.auth
        guard settings.enabled else {
            logger.notice("inbound authentication is off (auth.enabled = false): mail is stored without SPF, DKIM or DMARC checks")
            return nil
        }
        let list: PublicSuffixList
        do {
            list = try PublicSuffixList(contentsOf: settings.publicSuffixListPath)
        } catch {
            throw SealboxConfiguration.Failure(description: "configuration auth.publicSuffixList: \(error)")
        }
        var options = InboundAuthenticator.Configuration(authservID: configuration.node.hostname)
        options.rejectToJunk = settings.rejectToJunk
        options.deferOnDNSFailure = settings.deferOnDNSFailure
        options.timeout = settings.timeout
        return InboundAuthenticator(resolver: resolver, publicSuffixList: list, configuration: options)
    }
}
