import Hummingbird
import Metrics

extension HTTPServer {
    /// `GET /metrics`: the Prometheus text exposition (format 0.0.4). Loopback clients may read it;
    /// others only with `Authorization: Bearer <http.metricsToken>`, and only over TLS unless
    /// `allowInsecureAuth` (403 otherwise; 404 when the node has no metrics).
    func addMetricsRoute(to router: Router<SealboxRequestContext>) {
        guard let metrics = dependencies.metrics else { return }
        let configuration = configuration
        router.get("/metrics") { request, context -> Response in
            guard Self.mayReadMetrics(request: request, context: context, configuration: configuration) else {
                throw HTTPAPIError(.forbidden, code: "forbidden",
                                   "/metrics answers loopback clients, and others with the bearer token of http.metricsToken")
            }
            let body = await metrics()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    static func mayReadMetrics(request: Request, context: SealboxRequestContext, configuration: Configuration) -> Bool {
        if context.isLoopback { return true }
        guard let token = configuration.metricsToken, configuration.tls != nil || configuration.allowInsecureAuth,
              let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        return constantTimeEqual(Array(header.utf8.dropFirst(7)), Array(token.utf8))
    }

    /// Compares every byte whatever the first difference (the time taken does not tell how much matched).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return difference == 0
    }
}

/// Counts HTTP requests as the `http` protocol's sessions: `sealbox_sessions_active{protocol="http"}`
/// (requests in progress), `sealbox_sessions_total{protocol="http"}`, and
/// `sealbox_http_responses_total{status}` by status class (`2xx` … `5xx`).
struct HTTPRequestMetricsMiddleware: RouterMiddleware {
    typealias Context = SealboxRequestContext
    let active = Meter(label: "sealbox_sessions_active", dimensions: [("protocol", "http")])
    let total = Counter(label: "sealbox_sessions_total", dimensions: [("protocol", "http")])
    let responses: [Counter] = (1...5).map { Counter(label: "sealbox_http_responses_total", dimensions: [("status", "\($0)xx")]) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        total.increment()
        active.increment()
        defer { active.decrement() }
        do {
            let response = try await next(request, context)
            count(Int(response.status.code))
            return response
        } catch let error as HTTPResponseError {
            count(Int(error.status.code))
            throw error
        } catch {
            count(500)
            throw error
        }
    }

    func count(_ status: Int) {
        let index = min(max(status / 100, 1), 5) - 1
        responses[index].increment()
    }
}
