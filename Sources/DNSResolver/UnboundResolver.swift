import DNSCore
import Logging
import Metrics

/// The node's DNS resolver: libunbound (NLnet Labs, Debian's libunbound8), a validating, caching
/// stub/recursive resolver, behind `DNSResolving`.
///
/// - **Where queries go**: the forwarders of `Configuration.servers` (`127.0.0.1@5353`, `::1`), else
///   the nameservers of /etc/resolv.conf, else (no file) full recursion from the root servers.
///   Loopback forwarders are allowed (unbound refuses them by default).
/// - **DNSSEC**: with a trust anchor file (DS or DNSKEY records, e.g. Debian's dns-root-data
///   `/usr/share/dns/root.key`) every answer is validated: `isSecure` when the chain from the
///   anchor verifies, `DNSError` `.bogus` when it does not; without one nothing is ever secure.
///   The forwarders must pass DNSSEC records through (most do; a forwarder that strips them makes
///   every signed answer bogus: then give no trust anchor).
/// - **Cache**: unbound's own message and RRset caches (4 MB each, its defaults), shared by all
///   queries of the resolver, honour each record's TTL (capped at one day) and cache denials for
///   their SOA minimum (capped at an hour). Nothing is cached on this side.
/// - **Threads**: libunbound resolves on its own thread; one more thread of ours
///   (`sealbox-dns`) hands queries over, waits on unbound's descriptor, applies timeouts and
///   resumes the callers. A caller only suspends: no thread of the cooperative pool or of an event
///   loop ever blocks on DNS.
/// - **Limits**: each query ends after `timeout` (`.timedOut`; unbound may keep resolving in the
///   background and caches what it gets); at most `maxConcurrentQueries` are with unbound at once,
///   the rest wait in order (their wait counts against their timeout), and when
///   `maxWaitingQueries` more are already waiting a query fails at once with `.overloaded`.
///
/// `shutdown()` (or releasing the resolver) fails every pending query with `.shutDown` and frees
/// the context; it does not wait.
public final class UnboundResolver: DNSResolving {
    public struct Configuration: Sendable {
        /// Forwarders, `ADDRESS` or `ADDRESS@PORT` (IPv4 or IPv6); empty: /etc/resolv.conf.
        public var servers: [String] = []
        /// Read when `servers` is empty.
        public var resolvConfPath = "/etc/resolv.conf"
        /// A file of DS or DNSKEY records (zone-file lines) to validate from; nil: no validation.
        public var trustAnchorFile: String?
        public var timeout: Duration = .seconds(10)
        public var maxConcurrentQueries = 128
        public var maxWaitingQueries = 10_000

        public init(servers: [String] = [], trustAnchorFile: String? = nil, timeout: Duration = .seconds(10)) {
            self.servers = servers; self.trustAnchorFile = trustAnchorFile; self.timeout = timeout
        }
    }

    /// A configuration the resolver cannot start with (a forwarder that is not an address, an
    /// unreadable trust anchor file…), said in one line.
    public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    private let engine: UnboundEngine
    private let metrics = DNSMetrics()

    public init(configuration: Configuration, logger: Logger = Logger(label: "sealbox.dns")) throws {
        for server in configuration.servers { try Self.checkServer(server) }
        if let file = configuration.trustAnchorFile { _ = try TrustAnchorFile.check(path: file) }
        guard configuration.timeout > .zero, configuration.maxConcurrentQueries > 0, configuration.maxWaitingQueries >= 0 else {
            throw ConfigurationError(description: "the DNS timeout and query limits must be positive")
        }
        engine = try UnboundEngine(configuration: configuration, logger: logger)
    }

    deinit { engine.shutdown() }

    public func query(_ name: DNSName, _ type: DNSRecordType) async throws -> DNSAnswer<DNSRecord> {
        let question = DNSQuestion(name, type)
        let started = ContinuousClock.now
        do {
            let answer = try await engine.resolve(question).answer(to: question)
            metrics.latency.record(duration: ContinuousClock.now - started)
            return answer
        } catch var error as DNSError {
            metrics.latency.record(duration: ContinuousClock.now - started)
            if error.isTemporary { metrics.failed(error.code) }
            if error.question == nil { error.question = question }
            throw error
        }
    }

    /// Ends the resolver: pending and later queries fail with `.shutDown`. Idempotent, does not wait.
    public func shutdown() { engine.shutdown() }

    /// `ADDRESS` or `ADDRESS@PORT`, the address IPv4 or IPv6, the port 1…65535.
    public static func checkServer(_ server: String) throws {
        var address = Substring(server)
        if let at = server.lastIndex(of: "@") {
            address = server[..<at]
            guard let port = Int(server[server.index(after: at)...]), (1...65535).contains(port) else {
                throw ConfigurationError(description: "DNS server \"\(server)\": the port after @ must be 1…65535")
            }
        }
        guard IPAddress(String(address)) != nil else {
            throw ConfigurationError(description: "DNS server \"\(server)\" is not an IP address (ADDRESS or ADDRESS@PORT)")
        }
    }
}

/// `sealbox_dns_query_seconds` (every query, answered or not) and
/// `sealbox_dns_failures_total{reason}` (queries that got no usable answer: timed out, server
/// failure, bogus, …; NXDOMAIN and NODATA are answers). Made with the resolver.
struct DNSMetrics: Sendable {
    let latency = CoreMetrics.Timer(label: "sealbox_dns_query_seconds")
    let failures: [DNSError.Code: Counter]

    init() {
        var failures: [DNSError.Code: Counter] = [:]
        for code in [DNSError.Code.serverFailure, .timedOut, .bogus, .malformedAnswer, .overloaded, .resolverFailure, .shutDown] {
            failures[code] = Counter(label: "sealbox_dns_failures_total", dimensions: [("reason", code.description)])
        }
        self.failures = failures
    }

    func failed(_ code: DNSError.Code) { failures[code]?.increment() }
}
