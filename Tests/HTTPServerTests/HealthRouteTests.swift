import Hummingbird
import HummingbirdTesting
import Testing
@testable import HTTPServer

@Suite struct HealthRouteTests {
    @Test func healthzAnswersAndReadyzReportsProblems() async throws {
        var dependencies = HTTPServer.Dependencies()
        dependencies.readiness = { (false, ["directory unreachable"]) }
        let server = HTTPServer(configuration: .init(), dependencies: dependencies, logger: .init(label: "test"))
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "ok\n")
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("directory unreachable"))
            }
        }
    }
}
