import Directory
import HTTPServer
import Logging
import MailCore
import NIOCore
import Synchronization

/// The ports the node's listeners are bound to, by listener name (`imap`, `imaps`, `submission`…),
/// recorded as they bind: autoconfiguration and the owner's setup page name the real ports (an
/// `auto` port included).
public final class BoundListenerPorts: Sendable {
    private let ports = Mutex<[String: Int]>([:])

    public init() {}

    public func record(_ name: String, _ address: SocketAddress) {
        guard let port = address.port else { return }
        ports.withLock { $0[name] = port }
    }

    public subscript(_ name: String) -> Int? { ports.withLock { $0[name] } }
}

extension SealboxHTTP {
    /// Autoconfiguration's and the web pages' dependencies: the servers mail clients use (the
    /// bound ports, else the configured ones), the node's domains, and the admin's live DNS check
    /// (the records of `sealbox domain dns`, asked of a resolver made from `dns.*` as
    /// `sealbox domain dns --check` does).
    static func addWeb(to dependencies: inout HTTPServer.Dependencies, configuration: SealboxConfiguration, directory: any MailDirectory,
                       bound: BoundListenerPorts, logger: Logger) {
        let published = configuration.publishedPorts
        let hostname = configuration.node.hostname
        dependencies.autoconfig.setup = {
            MailClientSetup(hostname: hostname, ports: .init(
                imap: bound["imap"] ?? published.imap, imaps: bound["imaps"] ?? published.imaps,
                pop3: bound["pop3"] ?? published.pop3, pop3s: bound["pop3s"] ?? published.pop3s,
                submission: bound["submission"] ?? published.submission, submissions: bound["submissions"] ?? published.submissions))
        }
        dependencies.autoconfig.hostsDomain = { domain in
            (try? await directory.domains().contains { $0.domain == domain }) ?? false
        }
        let dns = configuration.dns
        dependencies.web.checkDNS = { name in
            let domain = try Domain(name)
            let records = DomainDNSRecords(domain: domain, hostname: hostname, keys: try await directory.dkimKeys(domain: domain),
                                           ports: published)
            var quiet = logger
            quiet.logLevel = .warning
            let resolver = try SealboxDNS.makeResolver(dns, logger: quiet)
            defer { resolver.shutdown() }
            return await records.check(with: resolver).map { check in
                let r = check.record
                return WebDNSCheck(name: r.name, type: r.type, value: r.values.joined(separator: r.type == "TXT" ? "" : " "),
                                   comment: r.comment, state: WebDNSCheck.State(rawValue: check.state.rawValue) ?? .unknown,
                                   detail: check.detail)
            }
        }
    }
}
