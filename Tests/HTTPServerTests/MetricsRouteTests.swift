import Hummingbird
import HummingbirdTesting
import Testing
@testable import HTTPServer

@Suite struct MetricsRouteTests {
    static func app(token: String? = nil, metrics: Bool = true) -> some ApplicationProtocol {
        var configuration = HTTPServer.Configuration()
        configuration.metricsToken = token
        configuration.allowInsecureAuth = true  // the test transport is plain HTTP
        var dependencies = HTTPServer.Dependencies()
        if metrics { dependencies.metrics = { Array("# TYPE sealbox_x counter\nsealbox_x 1\n".utf8) } }
        let server = HTTPServer(configuration: configuration, dependencies: dependencies, logger: .init(label: "test"))
        return Application(router: server.makeRouter())
    }

    @Test("loopback clients read /metrics as Prometheus text 0.0.4")
    func loopback() async throws {
        try await Self.app().test(.live) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                #expect(String(buffer: response.body) == "# TYPE sealbox_x counter\nsealbox_x 1\n")
            }
        }
    }

    @Test("other clients need the bearer token: none or a wrong one is 403 (JSON), the right one 200")
    func token() async throws {
        // The in-memory transport has no peer address: it is not loopback.
        try await Self.app(token: "s3cret-token").test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains("\"code\":\"forbidden\""))
                #expect(!String(buffer: response.body).contains("s3cret"))
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer s3cret-tokeN"]) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer s3cret-token"]) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("sealbox_x 1"))
            }
        }
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer anything"]) { response in
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test("no metrics in the dependencies: 404")
    func absent() async throws {
        try await Self.app(metrics: false).test(.live) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func constantTimeComparison() {
        #expect(HTTPServer.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!HTTPServer.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!HTTPServer.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!HTTPServer.constantTimeEqual([], Array("a".utf8)))
    }
}
