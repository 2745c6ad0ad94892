import Foundation
import HTTPTypes
import Hummingbird
import MailCore

extension HTTPServer {
    /// What autoconfiguration needs from the node.
    public struct AutoconfigDependencies: Sendable {
        /// The servers clients should use: the node's host name and its listeners' ports (once
        /// bound, so that an `auto` port is the real one).
        public var setup: @Sendable () -> MailClientSetup = { MailClientSetup(hostname: "localhost", ports: .standard) }
        /// Whether the node hosts `domain` (its ASCII form). Autoconfiguration answers for those only.
        public var hostsDomain: @Sendable (Domain) async -> Bool = { _ in false }
        public init() {}
    }

    /// Thunderbird autoconfig (`/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=…` and
    /// `/mail/config-v1.1.xml` for the `autoconfig.<domain>` host), Microsoft Autodiscover (POX:
    /// `POST /autodiscover/autodiscover.xml`). For the node's own domains only (404 otherwise).
    /// The Apple profile is per address and signed-in: see the web pages.
    func addAutoconfigRoutes(to router: Router<SealboxRequestContext>) {
        let autoconfig = dependencies.autoconfig
        let thunderbird: @Sendable (Request, SealboxRequestContext) async throws -> Response = { request, _ in
            let domain = try Self.autoconfigDomain(request)
            guard await autoconfig.hostsDomain(domain) else {
                throw HTTPAPIError(.notFound, code: "not_found", "no mail service here for that domain")
            }
            return Self.xmlResponse(autoconfig.setup().thunderbirdConfig(domain: domain.ascii))
        }
        router.get("/.well-known/autoconfig/mail/config-v1.1.xml", use: thunderbird)
        router.get("/mail/config-v1.1.xml", use: thunderbird)

        let autodiscover: @Sendable (Request, SealboxRequestContext) async throws -> Response = { request, context in
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: MailClientSetup.maxRequestBytes)
            } catch {
                throw HTTPAPIError(.contentTooLarge, code: "too_large", "the request is larger than \(MailClientSetup.maxRequestBytes) bytes")
            }
            guard let text = MailClientSetup.autodiscoverRequestAddress(String(buffer: body)),
                  let address = try? EmailAddress(text) else {
                throw HTTPAPIError(.badRequest, code: "invalid_request", "an Autodiscover request with an EMailAddress is expected")
            }
            guard await autoconfig.hostsDomain(address.domain) else {
                throw HTTPAPIError(.notFound, code: "not_found", "no mail service here for that domain")
            }
            return Self.xmlResponse(autoconfig.setup().autodiscoverResponse(address: address.asciiDomainForm))
        }
        for path in ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"] {
            router.post(RouterPath(path), use: autodiscover)
        }
    }

    /// The domain an autoconfig request is for: the `emailaddress` parameter's, else the host's
    /// (`autoconfig.<domain>`).
    static func autoconfigDomain(_ request: Request) throws -> Domain {
        try autoconfigDomain(emailAddress: request.uri.queryParameters.get("emailaddress"), authority: request.head.authority)
    }

    static func autoconfigDomain(emailAddress: String?, authority: String?) throws -> Domain {
        if let text = emailAddress {
            guard text.utf8.count <= 320, let address = try? EmailAddress(text) else {
                throw HTTPAPIError(.badRequest, code: "invalid_request", "emailaddress is not an address")
            }
            return address.domain
        }
        var host = (authority ?? "").lowercased()
        if host.hasPrefix("["), let end = host.firstIndex(of: "]") { host = String(host[...end]) }
        else if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        guard host.hasPrefix("autoconfig."), host.utf8.count <= 253,
              let domain = try? Domain(String(host.dropFirst("autoconfig.".count))) else {
            throw HTTPAPIError(.badRequest, code: "invalid_request", "emailaddress is required (or ask autoconfig.<domain>)")
        }
        return domain
    }

    static func xmlResponse(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/xml; charset=utf-8", .cacheControl: "no-cache",
                                        .init("X-Content-Type-Options")!: "nosniff"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
