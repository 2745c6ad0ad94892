import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// The node's HTTP listener (Hummingbird): the admin and owner JSON API, the web pages,
/// autoconfiguration and discovery, `/healthz`, `/readyz` and `/metrics`. Each group of routes is
/// added by its own file (`HTTPServer+<Group>.swift`); everything it needs from the node comes in
/// `Dependencies` (SealboxApp fills them: the one wiring place).
public struct HTTPServer: Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        /// nil: plain HTTP.
        public var tls: TLSConfiguration?
        /// Whether passwords and tokens are accepted over plain HTTP from other than loopback.
        public var allowInsecureAuth = false
        /// The node's public name (links, autoconfiguration).
        public var hostname = "localhost"
        /// Lets other than loopback clients read `/metrics` with `Authorization: Bearer <token>`
        /// (nil: loopback only). Never logged.
        public var metricsToken: String?
        public init() {}
    }

    /// What the routes use from the node. Each group of routes adds its own fields.
    public struct Dependencies: Sendable {
        /// Whether the node can serve (listeners up, directory reachable), with the reasons it cannot.
        public var readiness: @Sendable () async -> (ready: Bool, problems: [String]) = { (true, []) }
        /// The MTA-STS policy (RFC 8461 §3.2) for a request's host name (`mta-sts.<domain>` of a
        /// domain of the node); nil for any other host.
        public var mtaSTSPolicy: @Sendable (_ host: String) async -> String? = { _ in nil }
        /// The node's directory and mailboxes as the API and the web pages use them (nil: those
        /// routes answer 503 with `noBackendReason`).
        public var backend: (any HTTPBackend)?
        /// Why there is no backend, for the 503 of the API and the pages.
        public var noBackendReason = "the API is not available on this node"
        /// Signed-in owners (the API's `sealbox_session` cookie and the web pages share them).
        /// SealboxApp replaces it with one whose `onEnd` closes the mailbox logins.
        public var ownerSessions = OwnerSessions()
        /// Autoconfiguration and discovery (`HTTPServer+Autoconfig.swift`).
        public var autoconfig = AutoconfigDependencies()
        /// The web pages (`HTTPServer+Web.swift`).
        public var web = WebDependencies()
        /// The Prometheus text exposition of the node's metrics (nil: `/metrics` answers 404).
        public var metrics: (@Sendable () async -> [UInt8])?
        public init() {}
    }

    public let configuration: Configuration
    public let dependencies: Dependencies
    public let logger: Logger

    public init(configuration: Configuration, dependencies: Dependencies, logger: Logger) {
        self.configuration = configuration
        self.dependencies = dependencies
        self.logger = logger
    }

    /// Every route of the node.
    public func makeRouter() -> Router<SealboxRequestContext> {
        let router = Router(context: SealboxRequestContext.self)
        router.add(middleware: HTTPRequestMetricsMiddleware())
        addHealthRoutes(to: router)
        addMTASTSRoute(to: router)
        addOpenAPIRoute(to: router)
        addAdminRoutes(to: router)
        addOwnerRoutes(to: router)
        addAutoconfigRoutes(to: router)
        addWebRoutes(to: router)
        addMetricsRoute(to: router)
        return router
    }

    /// The listener as a service; `onBound` gets its address once bound (an `auto` port becomes real).
    public func services(onBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in }) throws -> [any Service] {
        let server: HTTPServerBuilder = try configuration.tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
        let name = configuration.tls == nil ? "http" : "https"
        let app = Application(
            router: makeRouter(),
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Sealbox"),
            onServerRunning: { channel in
                if let address = channel.localAddress { onBound(name, address) }
            },
            logger: logger)
        return [app, OwnerSessionSweeper(sessions: dependencies.ownerSessions)]
    }
}

/// Ends expired owner sessions every minute, so an abandoned one does not keep its mailbox
/// unlocked until someone else signs in.
struct OwnerSessionSweeper: Service {
    let sessions: OwnerSessions
    func run() async throws {
        let sessions = self.sessions
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(60))
                await sessions.expire()
            }
        }
        await sessions.endAll()
    }
}
