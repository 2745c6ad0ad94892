import DNSCore
import DNSResolver
import Logging
import ServiceLifecycle

/// The node's DNS resolver, made in one place. `SealboxServer.buildServices` makes one for `serve`
/// and hands it to every part that needs DNS; commands (`sealbox dns lookup`) make their own the
/// same way. Parts depend on `DNSResolving` (module DNSCore), never on libunbound.
public enum SealboxDNS {
    /// A resolver as `settings` describe it; an unusable setting is a configuration failure.
    public static func makeResolver(_ settings: DNSSettings, logger: Logger) throws -> UnboundResolver {
        let configuration = UnboundResolver.Configuration(servers: settings.servers, trustAnchorFile: settings.trustAnchorFile,
                                                          timeout: settings.timeout)
        do {
            return try UnboundResolver(configuration: configuration, logger: logger)
        } catch {
            throw SealboxConfiguration.Failure(description: "dns: \(error)")
        }
    }

    /// Whether `zone`'s keys validate through `resolver`: nil when they do, else a warning for the
    /// log. Run once at start with the root trust anchor: a resolver that strips DNSSEC records (or
    /// cannot reach the root's keys) makes every signed answer bogus, and mail to signed domains
    /// would wait without anyone knowing why.
    public static func checkTrustAnchor(_ resolver: some DNSResolving, zone: DNSName = .root) async -> String? {
        do {
            let answer = try await resolver.query(zone, .dnskey)
            if answer.isSecure { return nil }
            return "dns: the DNSKEY records of \(zone.absoluteText) came back without validation; is the trust anchor for that zone?"
        } catch let error as DNSError where error.code == .shutDown {
            return nil
        } catch let error as DNSError where error.code == .bogus {
            return "dns: DNSSEC validation fails for \(zone.absoluteText) itself (\(error.reason ?? "bogus")): the resolvers in use do not pass "
                + "DNSSEC records through, so every signed answer will be bogus and mail to signed domains will wait. Use resolvers that "
                + "do (dns.servers), or set dns.trustAnchor to none"
        } catch {
            return "dns: a first query (\(zone.absoluteText) DNSKEY) failed: \(error); lookups may fail until the resolvers answer"
        }
    }
}

/// Keeps the node's resolver for the life of `serve` and shuts it when the node stops. Listed first
/// among the services, so the service group, which stops services in reverse order, stops it last:
/// every part that queries DNS has ended by then. With the root trust anchor it checks once, in
/// the background, that the root's keys validate (`SealboxDNS.checkTrustAnchor`).
struct DNSResolverService: Service {
    let resolver: UnboundResolver
    let checkRootAnchor: Bool
    let logger: Logger

    func run() async throws {
        await withDiscardingTaskGroup { group in
            if checkRootAnchor {
                group.addTask {
                    if let warning = await SealboxDNS.checkTrustAnchor(resolver) { logger.warning("\(warning)") }
                }
            }
            try? await gracefulShutdown()
            resolver.shutdown()  // a check still running ends with .shutDown, silently
        }
    }
}
