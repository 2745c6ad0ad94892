import Hummingbird

extension HTTPServer {
    /// `GET /.well-known/mta-sts.txt` on host `mta-sts.<domain>` (RFC 8461 §3.3): the policy of a
    /// domain of the node, `text/plain`; 404 for any other host. Senders fetch it over HTTPS with a
    /// certificate valid for that name, so this only helps with such a certificate (`tls.certificate`).
    func addMTASTSRoute(to router: Router<SealboxRequestContext>) {
        let policy = dependencies.mtaSTSPolicy
        router.get("/.well-known/mta-sts.txt") { request, _ -> Response in
            let authority = request.head.authority ?? ""
            let host = Self.hostName(authority)
            guard let text = await policy(host) else {
                return Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: "no MTA-STS policy for this host\n")))
            }
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "max-age=300"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    /// The host name of a Host header value: without the port, lower case, without a final dot.
    static func hostName(_ authority: String) -> String {
        var host = Substring(authority)
        if host.hasPrefix("[") {
            host = host.prefix { $0 != "]" }.dropFirst()
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        return host.lowercased()
    }
}
