import DNSCore
import DNSResolver
import Foundation
import Logging
import SealboxApp
import TestSupport
import Testing

@Suite("dns.* settings")
struct DNSSettingsTests {
    func load(_ overrides: [String: String] = [:], environment: [String: String] = [:], file: String? = nil) async throws -> DNSSettings {
        let dir = NSTemporaryDirectory() + "sealbox-dns-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        if let file { try Data(file.utf8).write(to: URL(fileURLWithPath: dir + "/sealbox.json")) }
        return try await SealboxConfiguration.load(overrides: ["data.directory": dir].merging(overrides) { $1 }, configFile: nil,
                                                   environment: environment).dns
    }

    @Test("servers from the environment (comma-separated), a JSON list or a flag; timeout; trust anchor none")
    func sources() async throws {
        let env = try await load(environment: ["SEALBOX_DNS_SERVERS": "127.0.0.1@5353, ::1", "SEALBOX_DNS_TIMEOUT": "3",
                                               "SEALBOX_DNS_TRUST_ANCHOR": "none"])
        #expect(env.servers == ["127.0.0.1@5353", "::1"])
        #expect(env.timeout == .seconds(3) && env.trustAnchorFile == nil)
        #expect(env.summary.contains("127.0.0.1@5353, ::1") && env.summary.contains("dns.trustAnchor = none"))
        let json = try await load(file: #"{"dns": {"servers": ["10.0.0.53", "10.0.0.54@53"], "trustAnchor": "NONE"}}"#)
        #expect(json.servers == ["10.0.0.53", "10.0.0.54@53"])
        let flag = try await load(["dns.servers": "127.0.0.2@53"], environment: ["SEALBOX_DNS_SERVERS": "127.0.0.1"])
        #expect(flag.servers == ["127.0.0.2@53"])
    }

    @Test("defaults: /etc/resolv.conf, 10 s, Debian's root trust anchor when dns-root-data is installed")
    func defaults() async throws {
        let d = try await load()
        #expect(d.servers.isEmpty && d.timeout == .seconds(10))
        if FileManager.default.fileExists(atPath: "/usr/share/dns/root.key") {
            #expect(d.trustAnchorFile == "/usr/share/dns/root.key")
            #expect(d.summary.contains("root trust anchor"))
        } else {
            #expect(d.trustAnchorFile == nil)
            #expect(d.summary.contains("dns-root-data"))
        }
    }

    @Test("bad values are errors naming the key", arguments: [
        (["dns.servers": "dns.example.com"], "dns.servers"), (["dns.servers": "1.2.3.4@99999"], "dns.servers"),
        (["dns.trustAnchor": "/nonexistent/anchor"], "dns.trustAnchor"), (["dns.timeout": "0"], "dns.timeout"),
        (["dns.timeout": "soon"], "dns.timeout"),
    ])
    func invalid(overrides: [String: String], key: String) async {
        await #expect { try await load(overrides) } throws: { "\($0)".contains(key) }
    }
}

@Suite("the start-up check of the trust anchor", .enabled(if: TestDNSServer.isAvailable, "nsd and ldnsutils are not installed"))
struct TrustAnchorCheckTests {
    @Test("quiet when the anchored zone's keys validate; a warning naming the fix when they are bogus or unreachable")
    func check() async throws {
        let server = try await TestDNSServer(zones: DNSTestZones.zones)
        defer { server.stop() }
        let anchored = try DNSTestZones.resolver(server, anchored: true)
        defer { anchored.shutdown() }
        #expect(await SealboxDNS.checkTrustAnchor(anchored, zone: name("signed.example")) == nil)

        // The root's anchor through a server that has no root zone (as a resolver that strips
        // DNSSEC records would leave it): the warning says what to do.
        guard FileManager.default.fileExists(atPath: "/usr/share/dns/root.key") else { return }
        var configuration = UnboundResolver.Configuration(servers: [server.server], trustAnchorFile: "/usr/share/dns/root.key",
                                                          timeout: .seconds(20))
        configuration.maxConcurrentQueries = 4
        let rootAnchored = try UnboundResolver(configuration: configuration)
        defer { rootAnchored.shutdown() }
        let warning = await SealboxDNS.checkTrustAnchor(rootAnchored)
        #expect(warning?.contains("dns.trustAnchor") == true || warning?.contains("failed") == true, "\(String(describing: warning))")
    }
}

@Suite("the node's resolver behind resolvers that strip DNSSEC", .enabled(if: TestDNSServer.isAvailable, "nsd is not installed"))
struct NodeResolverFallbackTests {
    @Test("with the default root anchor and an unsigned root, it goes on without validation; an anchor given explicitly is kept",
          .enabled(if: FileManager.default.fileExists(atPath: "/usr/share/dns/root.key"), "dns-root-data is not installed"))
    func fallback() async throws {
        let server = try await TestDNSServer(zones: [.init(".", records: "plain IN TXT \"hello\"")])
        defer { server.stop() }
        let settings = try await DNSSettingsTests().load(["dns.servers": server.server])
        #expect(settings.trustAnchorIsDefault && settings.trustAnchorFile == "/usr/share/dns/root.key")
        let node = try NodeResolver(settings, logger: Logger(label: "test"))
        defer { node.shutdown() }
        // nsd answers SERVFAIL until it has loaded the zone: wait (bounded) for an answer without validation.
        var plain = settings
        plain.trustAnchorFile = nil
        let ready = try SealboxDNS.makeResolver(plain, logger: Logger(label: "test"))
        defer { ready.shutdown() }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline, (try? await ready.txt(try DNSName("plain"))) == nil { try await Task.sleep(for: .milliseconds(100)) }
        let probe = try SealboxDNS.makeResolver(settings, logger: Logger(label: "test"))
        defer { probe.shutdown() }
        let warning = await SealboxDNS.checkTrustAnchor(probe)
        #expect(warning?.contains("validation fails for . itself") == true, "\(String(describing: warning))")
        await node.checkAtStart()
        #expect(node.validationDropped)
        let answer = try await node.txt(try DNSName("plain"))
        #expect(answer.records.first?.text == "hello" && !answer.isSecure)

        let explicit = try await DNSSettingsTests().load(["dns.servers": server.server, "dns.trustAnchor": "/usr/share/dns/root.key"])
        let kept = try NodeResolver(explicit, logger: Logger(label: "test"))
        defer { kept.shutdown() }
        await kept.checkAtStart()
        #expect(!kept.validationDropped)
    }
}

@Suite("sealbox dns lookup", .enabled(if: TestDNSServer.isAvailable, "nsd and ldnsutils are not installed"))
struct DNSLookupCLITests {
    static let binary = SealboxBinary.path

    func lookup(_ args: [String]) async throws -> ChildProcess.Result {
        let dir = NSTemporaryDirectory() + "sealbox-dns-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var environment = ProcessInfo.processInfo.environment
        environment["SEALBOX_DATA_DIR"] = dir
        return try await ChildProcess.run(Self.binary, ["dns", "lookup"] + args, environment: environment, timeout: .seconds(60))
    }

    @Test("prints records with TTL and security; exit 1 for none, 75 for a temporary failure, 2 for a bad question")
    func lookups() async throws {
        let server = try await TestDNSServer(zones: DNSTestZones.zones)
        defer { server.stop() }
        let anchor = try #require(server.trustAnchorFile)
        let common = ["--server", server.server, "--trust-anchor", anchor]

        let mx = try await lookup(["MX", "plain.example"] + common)
        #expect(mx.ok, "\(mx.stderr)")
        let lines = mx.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(mx.stdout)")
        #expect(lines.first?.hasPrefix("plain.example.\t") == true && lines.first?.hasSuffix("\tIN\tMX\t10 mx1.plain.example.") == true, "\(mx.stdout)")
        #expect(lines.last == "; 2 records, insecure (not DNSSEC-validated)")

        let secure = try await lookup(["a", "mx.signed.example"] + common)
        #expect(secure.ok && secure.stdout.contains("\tA\t1.2.3.7") && secure.stdout.contains("secure (DNSSEC-validated)"), "\(secure.stdout)\(secure.stderr)")

        let alias = try await lookup(["A", "alias.plain.example"] + common)
        #expect(alias.stdout.contains("; alias.plain.example. is an alias of mx1.plain.example.") && alias.stdout.contains("mx1.plain.example.\t"))

        let ptr = try await lookup(["PTR", "1.2.3.4"] + common)
        #expect(ptr.ok && ptr.stdout.contains("4.3.2.1.in-addr.arpa.\t") && ptr.stdout.contains("PTR\tmx1.plain.example."), "\(ptr.stdout)\(ptr.stderr)")

        let txt = try await lookup(["TXT", "plain.example"] + common)
        #expect(txt.stdout.contains("TXT\t\"v=spf1 ip4:1.2.3.0/24 \" \"-all\""), "\(txt.stdout)")

        let nx = try await lookup(["A", "nope.plain.example"] + common)
        #expect(nx.status == 1 && nx.stderr.contains("nope.plain.example A: no such name (NXDOMAIN)"), "\(nx.stderr)")
        let bogus = try await lookup(["A", "bad.signed.example"] + common)
        #expect(bogus.status == 75 && bogus.stderr.contains("bogus"), "\(bogus.stderr)")
        let badType = try await lookup(["ANY", "plain.example"] + common)
        #expect(badType.status == 2 && badType.stderr.contains("unknown record type"))
        let badName = try await lookup(["A", "a..b"] + common)
        #expect(badName.status == 2 && badName.stderr.contains("empty label"))
    }
}
