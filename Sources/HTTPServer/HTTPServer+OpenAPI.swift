import Hummingbird

extension HTTPServer {
    /// `/openapi.json`: the OpenAPI 3.1 document of the API, exactly as committed at
    /// docs/openapi.json (embedded by scripts/openapi.py; a test fails when they differ).
    func addOpenAPIRoute(to router: Router<SealboxRequestContext>) {
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-cache"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
    }
}
