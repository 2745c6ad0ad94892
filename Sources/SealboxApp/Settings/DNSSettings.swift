import DNSResolver
import Foundation

/// DNS: where the node's resolver sends its queries, what it validates DNSSEC from, how long it waits.
public struct DNSSettings: ComponentSettings {
    public static let title = "DNS"
    enum Key {
        static let servers = SettingKey("dns.servers", .text, default: "the nameservers of /etc/resolv.conf",
                                        "Resolvers to forward queries to, `ADDRESS` or `ADDRESS@PORT`, comma-separated (a JSON list in the file), e.g. `127.0.0.1@5353`. They must pass DNSSEC records through.", flag: "dns lookup --server")
        static let trustAnchor = SettingKey("dns.trustAnchor", .text, default: "`/usr/share/dns/root.key` (Debian's dns-root-data) if present, else `none`",
                                            "A file of DS or DNSKEY records that DNSSEC validation starts from; `none`: no validation (no answer is ever secure, so no DANE).", flag: "dns lookup --trust-anchor")
        static let timeout = SettingKey("dns.timeout", .seconds(1...300), default: "10",
                                        "Seconds one DNS query may take before it fails as a temporary error.", flag: "dns lookup --timeout")
    }
    public static let keys = [Key.servers, Key.trustAnchor, Key.timeout]

    /// Empty: /etc/resolv.conf.
    public var servers: [String]
    /// nil: no DNSSEC validation.
    public var trustAnchorFile: String?
    /// No `dns.trustAnchor` was given: the Debian root key (or none) by default.
    public var trustAnchorIsDefault = false
    public var timeout: Duration
    /// Where the resolver's settings came from, in one line for `serve`'s start-up report.
    public var summary: String

    init(_ r: SettingsReader) throws {
        servers = r.list(Key.servers)
        for server in servers {
            do { try UnboundResolver.checkServer(server) } catch {
                throw SealboxConfiguration.Failure(description: "configuration dns.servers: \(error)")
            }
        }
        timeout = try r.seconds(Key.timeout, default: 10)
        let anchorNote: String
        switch r.string(Key.trustAnchor) {
        case let value? where value.lowercased() == "none":
            trustAnchorFile = nil
            anchorNote = "no DNSSEC validation (dns.trustAnchor = none)"
        case let path?:
            do { try TrustAnchorFile.check(path: path) } catch {
                throw SealboxConfiguration.Failure(description: "configuration dns.trustAnchor: \(error)")
            }
            trustAnchorFile = path
            anchorNote = "DNSSEC validated from the trust anchor \(path)"
        case nil:
            trustAnchorIsDefault = true
            if (try? TrustAnchorFile.check(path: TrustAnchorFile.debianRootKey)) != nil {
                trustAnchorFile = TrustAnchorFile.debianRootKey
                anchorNote = "DNSSEC validated from the root trust anchor \(TrustAnchorFile.debianRootKey) (dns-root-data)"
            } else {
                trustAnchorFile = nil
                anchorNote = "no DNSSEC validation: \(TrustAnchorFile.debianRootKey) is missing (install Debian's dns-root-data, or set dns.trustAnchor); no answer is secure, so DANE is off"
            }
        }
        let via = servers.isEmpty ? "the nameservers of /etc/resolv.conf" : servers.joined(separator: ", ")
        summary = "queries go to \(via); \(anchorNote)"
    }
}
