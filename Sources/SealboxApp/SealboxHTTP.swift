import Directory
import HTTPServer
import Logging
import MailCore
import MailNet
import NIOSSL

/// The HTTP listener's dependencies, from the node: the one place the API, the web pages, metrics
/// and health meet the directory and the mailboxes.
enum SealboxHTTP {
    /// What a frontend's HTTP answers on the API's and the pages' routes.
    static let frontendNoAPI = "a frontend serves health, metrics, mail client autoconfiguration and MTA-STS; the API and the web pages are served by the storage nodes' HTTP listeners"

    static func server(configuration: SealboxConfiguration, port: Int, tls: TLSConfiguration?, node: SealboxNode,
                       authenticator: SessionAuthenticator, logger: Logger, bound: BoundListenerPorts = .init(),
                       listeners: ListenerReadiness? = nil, metrics: (@Sendable () async -> [UInt8])? = nil) throws -> HTTPServer {
        let backend = NodeHTTPBackend(node: node, configuration: configuration, authenticator: authenticator, logger: logger)
        return server(configuration: configuration, port: port, tls: tls, directory: node.directory, backend: backend, logger: logger,
                      bound: bound, listeners: listeners, metrics: metrics)
    }

    /// `backend` nil: a frontend's (`node.role = frontend`), no node, so no API or pages (503 saying where they are).
    static func server(configuration: SealboxConfiguration, port: Int, tls: TLSConfiguration?, directory: any MailDirectory,
                       backend: NodeHTTPBackend?, logger: Logger, bound: BoundListenerPorts,
                       listeners: ListenerReadiness?, metrics: (@Sendable () async -> [UInt8])?) -> HTTPServer {
        var http = HTTPServer.Configuration()
        http.host = configuration.node.listenAddress
        http.port = port
        http.tls = tls
        http.allowInsecureAuth = configuration.http.allowInsecureAuth
        http.hostname = configuration.node.hostname
        http.metricsToken = configuration.http.metricsToken
        var dependencies = HTTPServer.Dependencies()
        dependencies.readiness = {
            var problems = listeners?.problems ?? []
            do {
                _ = try await directory.domains()
            } catch {
                problems.append("directory unreachable")
            }
            return (problems.isEmpty, problems)
        }
        let hostname = configuration.node.hostname, mode = configuration.http.mtaSTSMode
        dependencies.mtaSTSPolicy = { host in
            guard mode != .none, host.hasPrefix("mta-sts."), let domain = try? Domain(String(host.dropFirst("mta-sts.".count))),
                  (try? await directory.domains().contains(where: { $0.domain == domain })) == true else { return nil }
            return DomainDNSRecords(domain: domain, hostname: hostname, keys: [], mtaSTSMode: mode).mtaSTSPolicy
        }
        if let backend {
            dependencies.backend = backend
            // A session that ends (expiry, sign-out, a newer one past the cap) closes its mailbox login.
            dependencies.ownerSessions = OwnerSessions(onEnd: { login in await backend.signOut(login) })
        } else {
            dependencies.noBackendReason = frontendNoAPI
        }
        addWeb(to: &dependencies, configuration: configuration, directory: directory, bound: bound, logger: logger)
        dependencies.metrics = metrics
        return HTTPServer(configuration: http, dependencies: dependencies, logger: logger)
    }
}
