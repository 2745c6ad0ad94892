import HTTPServer
import Logging
import MailNet
import NIOSSL

/// The HTTP listener's dependencies, from the node: the one place the API, the web pages, metrics
/// and health meet the directory and the mailboxes.
enum SealboxHTTP {
    static func server(configuration: SealboxConfiguration, port: Int, tls: TLSConfiguration?, node: SealboxNode,
                       authenticator: SessionAuthenticator, logger: Logger, listeners: ListenerReadiness? = nil,
                       metrics: (@Sendable () async -> [UInt8])? = nil) throws -> HTTPServer {
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
                _ = try await node.directory.domains()
            } catch {
                problems.append("directory unreachable")
            }
            return (problems.isEmpty, problems)
        }
        dependencies.metrics = metrics
        return HTTPServer(configuration: http, dependencies: dependencies, logger: logger)
    }
}
