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
}

/// Keeps the node's resolver for the life of `serve` and shuts it when the node stops. Listed first
/// among the services, so the service group, which stops services in reverse order, stops it last:
/// every part that queries DNS has ended by then.
struct DNSResolverService: Service {
    let resolver: UnboundResolver

    func run() async throws {
        try? await gracefulShutdown()
        resolver.shutdown()
    }
}
