import DNSCore
import DNSResolver
import Logging
import ServiceLifecycle
import Synchronization

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

    /// What the start-up check of a trust anchor found (`trustAnchorStatus`).
    public enum TrustAnchorStatus: Sendable {
        case secure
        /// The keys came back, without validation.
        case unvalidated
        /// Validation fails for the zone itself: the resolvers strip DNSSEC records.
        case bogus(reason: String?)
        case failed(String)
        case shutDown
    }

    /// Whether `zone`'s keys validate through `resolver`. Run once at start with the root trust
    /// anchor: a resolver that strips DNSSEC records (or cannot reach the root's keys) makes every
    /// signed answer bogus, and mail to signed domains would wait without anyone knowing why.
    public static func trustAnchorStatus(_ resolver: some DNSResolving, zone: DNSName = .root) async -> TrustAnchorStatus {
        do {
            return try await resolver.query(zone, .dnskey).isSecure ? .secure : .unvalidated
        } catch let error as DNSError where error.code == .shutDown {
            return .shutDown
        } catch let error as DNSError where error.code == .bogus {
            return .bogus(reason: error.reason)
        } catch {
            return .failed("\(error)")
        }
    }

    /// `trustAnchorStatus` as a warning for the log; nil when the keys validate (or the resolver was shut).
    public static func checkTrustAnchor(_ resolver: some DNSResolving, zone: DNSName = .root) async -> String? {
        warning(for: await trustAnchorStatus(resolver, zone: zone), zone: zone)
    }

    /// The log's warning for a trust anchor's status; nil when there is nothing to say.
    public static func warning(for status: TrustAnchorStatus, zone: DNSName = .root) -> String? {
        switch status {
        case .secure, .shutDown:
            return nil
        case .unvalidated:
            return "dns: the DNSKEY records of \(zone.absoluteText) came back without validation; is the trust anchor for that zone?"
        case .bogus(let reason):
            return "dns: DNSSEC validation fails for \(zone.absoluteText) itself (\(reason ?? "bogus")): the resolvers in use do not pass "
                + "DNSSEC records through, so every signed answer will be bogus and mail to signed domains will wait. Use resolvers that "
                + "do (dns.servers), or set dns.trustAnchor to none"
        case .failed(let error):
            return "dns: a first query (\(zone.absoluteText) DNSKEY) failed: \(error); lookups may fail until the resolvers answer"
        }
    }
}

/// The resolver of a running node: libunbound as `dns.*` says, validating DNSSEC from the root
/// trust anchor by default. When that default anchor is in use and the start-up check finds that
/// the resolvers strip DNSSEC (the root's own keys come back bogus), every signed answer would be
/// bogus for the whole run: mail to signed domains would wait and the MX would defer every sender
/// of a signed domain (`451 4.4.3`). The node then goes on without validation — what Postfix and
/// most MTAs do behind such resolvers: answers count as insecure, so DANE is off — and says so in
/// the log. An anchor set explicitly (`dns.trustAnchor`) is kept whatever the check says.
public final class NodeResolver: DNSResolving, Sendable {
    let validating: UnboundResolver
    let settings: DNSSettings
    let logger: Logger
    private let withoutValidation = Mutex<UnboundResolver?>(nil)

    public init(_ settings: DNSSettings, logger: Logger) throws {
        self.settings = settings; self.logger = logger
        validating = try SealboxDNS.makeResolver(settings, logger: logger)
    }

    /// Whether the node has given up DNSSEC validation for this run.
    public var validationDropped: Bool { withoutValidation.withLock { $0 != nil } }

    public func query(_ name: DNSName, _ type: DNSRecordType) async throws -> DNSAnswer<DNSRecord> {
        try await (withoutValidation.withLock { $0 } ?? validating).query(name, type)
    }

    /// The start-up check (with the root anchor only): logs what it finds, and drops validation when
    /// the root comes back bogus under the default anchor (see the type).
    public func checkAtStart() async {
        guard settings.trustAnchorFile == TrustAnchorFile.debianRootKey else { return }
        let status = await SealboxDNS.trustAnchorStatus(validating)
        guard case .bogus = status, settings.trustAnchorIsDefault else {
            if let warning = SealboxDNS.warning(for: status) { logger.warning("\(warning)") }
            return
        }
        var plain = settings
        plain.trustAnchorFile = nil
        do {
            let resolver = try SealboxDNS.makeResolver(plain, logger: logger)
            withoutValidation.withLock { $0 = resolver }
            logger.warning("dns: the resolvers in use do not pass DNSSEC records through (the root's keys do not validate): going on without DNSSEC validation for this run, so DANE is off and SPF, DKIM and DMARC answers are taken as insecure. Use resolvers that pass DNSSEC (dns.servers), or set dns.trustAnchor to none to say this is intended")
        } catch {
            if let warning = SealboxDNS.warning(for: status) { logger.warning("\(warning)") }
        }
    }

    public func shutdown() {
        validating.shutdown()
        withoutValidation.withLock { $0 }?.shutdown()
    }
}

/// Keeps the node's resolver for the life of `serve` and shuts it when the node stops. Listed first
/// among the services, so the service group, which stops services in reverse order, stops it last:
/// every part that queries DNS has ended by then. With the root trust anchor it checks once, in
/// the background, that the root's keys validate (`NodeResolver.checkAtStart`).
struct DNSResolverService: Service {
    let resolver: NodeResolver
    let logger: Logger

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await resolver.checkAtStart() }
            try? await gracefulShutdown()
            resolver.shutdown()  // a check still running ends with .shutDown, silently
        }
    }
}
