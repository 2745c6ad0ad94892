import Hummingbird

extension HTTPServer {
    /// `/healthz`: the process answers. `/readyz`: the node can serve (503 with the reasons otherwise).
    func addHealthRoutes(to router: Router<SealboxRequestContext>) {
        router.get("/healthz") { _, _ in "ok\n" }
        let readiness = dependencies.readiness
        router.get("/readyz") { _, _ -> Response in
            let (ready, problems) = await readiness()
            let text = ready ? "ready\n" : problems.map { $0 + "\n" }.joined()
            return Response(status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
