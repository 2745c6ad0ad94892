import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
@testable import HTTPServer

/// The JSON API's routes over the in-memory backend: auth, status codes, bodies, limits.
@Suite struct APIRouteTests {
    static func app(_ backend: FakeHTTPBackend = FakeHTTPBackend(), allowInsecure: Bool = true) -> some ApplicationProtocol {
        var dependencies = HTTPServer.Dependencies()
        dependencies.backend = backend
        dependencies.ownerSessions = OwnerSessions(onEnd: { await backend.signOut($0) })
        var configuration = HTTPServer.Configuration()
        configuration.allowInsecureAuth = allowInsecure
        let server = HTTPServer(configuration: configuration, dependencies: dependencies, logger: .init(label: "test"))
        return Application(router: server.makeRouter())
    }

    static let admin: HTTPFields = [.authorization: "Bearer \(FakeHTTPBackend.adminToken)", .contentType: "application/json"]
    static func basic(_ user: String, _ password: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString(), .contentType: "application/json"]
    }
    static let owner = basic("user@example.com", "secret-password")

    static func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
    }
    static func errorCode(_ buffer: ByteBuffer) -> String? { (json(buffer)["error"] as? [String: Any])?["code"] as? String }

    @Test func adminRoutesNeedAValidToken() async throws {
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/admin/domains", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(Self.errorCode(response.body) == "unauthorized")
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
            try await client.execute(uri: "/api/v1/admin/domains", method: .get, headers: [.authorization: "Bearer wrong"]) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/admin/domains", method: .get, headers: Self.admin) { response in
                #expect(response.status == .ok)
                let domains = Self.json(response.body)["domains"] as? [[String: Any]]
                #expect(domains?.first?["name"] as? String == "example.com")
            }
        }
    }

    @Test func repeatedFailuresAreThrottled() async throws {
        try await Self.app(FakeHTTPBackend(maxFailures: 3)).test(.router) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/api/v1/admin/queue", method: .get, headers: [.authorization: "Bearer nope"]) { response in
                    #expect(response.status == .unauthorized)
                }
            }
            try await client.execute(uri: "/api/v1/admin/queue", method: .get, headers: Self.admin) { response in
                #expect(response.status == .tooManyRequests)
                #expect(Self.errorCode(response.body) == "throttled")
                #expect(response.headers[.retryAfter] == "60")
            }
        }
    }

    @Test func plainHTTPFromAnotherMachineRefusesCredentials() async throws {
        try await Self.app(allowInsecure: false).test(.router) { client in
            try await client.execute(uri: "/api/v1/admin/domains", method: .get, headers: Self.admin) { response in
                #expect(response.status == .forbidden)
                #expect(Self.errorCode(response.body) == "insecure_transport")
            }
        }
    }

    @Test func domainsAndAliasesLifeCycle() async throws {
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/admin/domains", method: .post, headers: Self.admin,
                                     body: ByteBuffer(string: #"{"name":"new.example"}"#)) { response in
                #expect(response.status == .created)
                #expect(Self.json(response.body)["name"] as? String == "new.example")
            }
            try await client.execute(uri: "/api/v1/admin/domains", method: .post, headers: Self.admin,
                                     body: ByteBuffer(string: #"{"name":"new.example"}"#)) { response in
                #expect(response.status == .conflict)
            }
            try await client.execute(uri: "/api/v1/admin/domains/new.example/dns", method: .get, headers: Self.admin) { response in
                #expect(response.status == .ok)
                #expect((Self.json(response.body)["text"] as? String)?.contains("IN MX") == true)
            }
            try await client.execute(uri: "/api/v1/admin/aliases", method: .post, headers: Self.admin,
                                     body: ByteBuffer(string: #"{"address":"hi@new.example","forwardTo":["x@example.org"]}"#)) { response in
                #expect(response.status == .created)
                #expect(Self.json(response.body)["hasMailbox"] as? Bool == false)
            }
            try await client.execute(uri: "/api/v1/admin/domains/new.example", method: .delete, headers: Self.admin) { response in
                #expect(response.status == .conflict)
            }
            try await client.execute(uri: "/api/v1/admin/aliases/hi%40new.example/passwords", method: .post, headers: Self.admin,
                                     body: ByteBuffer(string: #"{"label":"phone"}"#)) { response in
                #expect(response.status == .created)
                #expect(Self.json(response.body)["password"] as? String == "generated-hi@new.example")
            }
            try await client.execute(uri: "/api/v1/admin/aliases/hi@new.example/passwords", method: .get, headers: Self.admin) { response in
                let list = Self.json(response.body)["passwords"] as? [[String: Any]]
                #expect(list?.count == 1)
                #expect(list?.first?["password"] == nil)
            }
            try await client.execute(uri: "/api/v1/admin/aliases/hi@new.example", method: .delete, headers: Self.admin) { response in
                #expect(response.status == .conflict)
            }
            try await client.execute(uri: "/api/v1/admin/aliases/hi@new.example?purge=true", method: .delete, headers: Self.admin) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/v1/admin/domains/new.example", method: .delete, headers: Self.admin) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/api/v1/admin/aliases/nobody@example.com", method: .get, headers: Self.admin) { response in
                #expect(response.status == .notFound)
                #expect(Self.errorCode(response.body) == "not_found")
            }
        }
    }

    @Test func badBodiesAreClearErrors() async throws {
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/admin/domains", method: .post, headers: Self.admin,
                                     body: ByteBuffer(string: "{")) { response in
                #expect(response.status == .badRequest)
                #expect(Self.errorCode(response.body) == "invalid_json")
            }
            try await client.execute(uri: "/api/v1/admin/domains", method: .post, headers: Self.admin,
                                     body: ByteBuffer(string: #"{"nom":"x"}"#)) { response in
                #expect(response.status == .badRequest)
                #expect(Self.errorCode(response.body) == "invalid_json")
            }
            var form = Self.admin
            form[.contentType] = "application/x-www-form-urlencoded"
            try await client.execute(uri: "/api/v1/admin/domains", method: .post, headers: form,
                                     body: ByteBuffer(string: "name=x.example")) { response in
                #expect(response.status == .unsupportedMediaType)
            }
            let big = ByteBuffer(string: #"{"name":""# + String(repeating: "a", count: 70_000) + #""}"#)
            try await client.execute(uri: "/api/v1/admin/domains", method: .post, headers: Self.admin, body: big) { response in
                #expect(response.status == .contentTooLarge)
                #expect(Self.errorCode(response.body) == "body_too_large")
            }
            try await client.execute(uri: "/api/v1/admin/aliases/x@example.com?purge=maybe", method: .delete, headers: Self.admin) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func ownerSessionCookieSignInAndOut() async throws {
        let backend = FakeHTTPBackend()
        try await Self.app(backend).test(.router) { client in
            try await client.execute(uri: "/api/v1/session", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"address":"user@example.com","password":"wrong"}"#)) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.setCookie] == nil)
            }
            let cookie = try await client.execute(uri: "/api/v1/session", method: .post, headers: [.contentType: "application/json"],
                                                  body: ByteBuffer(string: #"{"address":"user@example.com","password":"secret-password"}"#)) { response in
                #expect(response.status == .created)
                let setCookie = try #require(response.headers[.setCookie])
                #expect(setCookie.contains("HttpOnly"))
                #expect(setCookie.contains("SameSite=Strict"))
                #expect(setCookie.contains("Path=/"))
                #expect(!setCookie.contains("Secure"))  // plain HTTP in this test
                #expect(!String(buffer: response.body).contains("secret-password"))
                return String(setCookie.split(separator: ";")[0])
            }
            try await client.execute(uri: "/api/v1/me", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response.body)["authentication"] as? String == "session")
            }
            try await client.execute(uri: "/api/v1/session", method: .delete, headers: [.cookie: cookie]) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true)
            }
            try await client.execute(uri: "/api/v1/me", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .unauthorized)
            }
        }
        #expect(backend.state.withLock { $0.signedOut } >= 1)
    }

    @Test func ownerPasswordsForwardsWebhooksUsage() async throws {
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/me/passwords", method: .post, headers: Self.owner,
                                     body: ByteBuffer(string: #"{"label":"laptop"}"#)) { response in
                #expect(response.status == .created)
                #expect((Self.json(response.body)["password"] as? String)?.hasPrefix("owner-generated") == true)
            }
            try await client.execute(uri: "/api/v1/me/passwords", method: .get, headers: Self.owner) { response in
                #expect((Self.json(response.body)["passwords"] as? [Any])?.count == 2)
            }
            try await client.execute(uri: "/api/v1/me/passwords/p2", method: .delete, headers: Self.owner) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/api/v1/me/forwards", method: .post, headers: Self.owner,
                                     body: ByteBuffer(string: #"{"address":"copy@example.org"}"#)) { response in
                #expect(response.status == .created)
                #expect(Self.json(response.body)["forwardTo"] as? [String] == ["copy@example.org"])
            }
            try await client.execute(uri: "/api/v1/me/forwards/copy%40example.org", method: .delete, headers: Self.owner) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response.body)["forwardTo"] as? [String] == [])
            }
            try await client.execute(uri: "/api/v1/me/webhooks", method: .post, headers: Self.owner,
                                     body: ByteBuffer(string: #"{"url":"ftp://x"}"#)) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/me/webhooks", method: .post, headers: Self.owner,
                                     body: ByteBuffer(string: #"{"url":"https://hooks.example.org/a?b=1"}"#)) { response in
                #expect(response.status == .created)
            }
            try await client.execute(uri: "/api/v1/me/webhooks?url=https%3A%2F%2Fhooks.example.org%2Fa%3Fb%3D1", method: .delete,
                                     headers: Self.owner) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response.body)["webhooks"] as? [String] == [])
            }
            try await client.execute(uri: "/api/v1/me/usage", method: .get, headers: Self.owner) { response in
                #expect(Self.json(response.body)["usedBytes"] as? Int == 600)
            }
            try await client.execute(uri: "/api/v1/me/usage", method: .get, headers: Self.basic("user@example.com", "nope")) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
            }
        }
    }

    @Test func searchPagesAndValidates() async throws {
        try await Self.app().test(.router) { client in
            let next = try await client.execute(uri: "/api/v1/me/search?q=e&limit=1", method: .get, headers: Self.owner) { response in
                #expect(response.status == .ok)
                let body = Self.json(response.body)
                #expect((body["results"] as? [Any])?.count == 1)
                return try #require(body["next"] as? String)
            }
            try await client.execute(uri: "/api/v1/me/search?q=e&limit=1&cursor=\(next)", method: .get, headers: Self.owner) { response in
                #expect((Self.json(response.body)["results"] as? [[String: Any]])?.first?["uid"] as? Int == 2)
            }
            try await client.execute(uri: "/api/v1/me/search?q=x&limit=1000", method: .get, headers: Self.owner) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/me/search?q=x&mode=glob", method: .get, headers: Self.owner) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/me/search?q=(a)%5C1&mode=regex", method: .get, headers: Self.owner) { response in
                #expect(response.status == .badRequest)
                #expect(Self.errorCode(response.body) == "invalid_request")
            }
        }
    }

    @Test func exportStreamsAndNeedsAPasswordForSQLite() async throws {
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/me/export?format=mbox", method: .get, headers: Self.owner) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/mbox")
                #expect(String(buffer: response.body).components(separatedBy: "\nSubject: ").count == 4)
            }
            try await client.execute(uri: "/api/v1/me/export?format=tar", method: .get, headers: Self.owner) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func openAPIDocumentIsServed() async throws {
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response.body)["openapi"] as? String == "3.1.0")
            }
        }
    }

    @Test func theServedDocumentIsTheCommittedOne() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: root.appendingPathComponent("docs/openapi.json"), encoding: .utf8)
        #expect(committed == OpenAPIDocument.json + "\n", "docs/openapi.json and the embedded document differ: run scripts/openapi.py")
    }
}

@Suite struct OwnerSessionsTests {
    final class Clock: Sendable {
        let now = Mutex(ContinuousClock.now)
        func advance(_ d: Duration) { now.withLock { $0 += d } }
    }

    @Test func idleAndAbsoluteExpiry() async throws {
        let clock = Clock()
        let ended = Mutex(0)
        let sessions = OwnerSessions(now: { clock.now.withLock { $0 } }, onEnd: { _ in ended.withLock { $0 += 1 } })
        let id = await sessions.create(OwnerLogin(address: "a@example.com", passwordID: "p", handle: 0))
        #expect(Data(base64Encoded: id.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "=")?.count == 32)
        clock.advance(.seconds(14 * 60))
        #expect(await sessions.login(for: id) != nil)
        clock.advance(.seconds(14 * 60))
        #expect(await sessions.login(for: id) != nil)  // used within 15 minutes each time
        for _ in 0..<40 {
            clock.advance(.seconds(14 * 60))
            _ = await sessions.login(for: id)
        }
        #expect(await sessions.login(for: id) == nil)  // past 8 hours
        let other = await sessions.create(OwnerLogin(address: "a@example.com", passwordID: "p", handle: 0))
        clock.advance(.seconds(16 * 60))
        #expect(await sessions.login(for: other) == nil)
        #expect(ended.withLock { $0 } == 2)
    }

    @Test func capEvictsTheOldest() async throws {
        var policy = OwnerSessions.Policy()
        policy.maxSessions = 2
        let sessions = OwnerSessions(policy: policy)
        let a = await sessions.create(OwnerLogin(address: "a@example.com", passwordID: "p", handle: 0))
        _ = await sessions.create(OwnerLogin(address: "b@example.com", passwordID: "p", handle: 0))
        _ = await sessions.create(OwnerLogin(address: "c@example.com", passwordID: "p", handle: 0))
        #expect(await sessions.count == 2)
        #expect(await sessions.login(for: a) == nil)
    }

    @Test func cookieParsing() {
        #expect(OwnerSessions.sessionID(in: [.cookie: "x=1; sealbox_session=abc; y=2"]) == "abc")
        #expect(OwnerSessions.sessionID(in: [.cookie: "x=1"]) == nil)
    }
}
