import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import HTTPServer

/// The web pages against the in-memory backend: sign-in, the owner's page, CSRF and origin
/// checks, the security headers, escaping, the admin's pages.
@Suite struct WebPageTests {
    static func server(backend: FakeHTTPBackend = FakeHTTPBackend(), allowInsecureAuth: Bool = true) -> HTTPServer {
        var dependencies = HTTPServer.Dependencies()
        dependencies.backend = backend
        dependencies.autoconfig.setup = { MailClientSetup(hostname: "mail.example.com", ports: .standard) }
        dependencies.autoconfig.hostsDomain = { $0.ascii == "example.com" }
        dependencies.web.checkDNS = { domain in
            [WebDNSCheck(name: domain + ".", type: "MX", value: "10 mail.example.com.", comment: nil, state: .ok, detail: nil),
             WebDNSCheck(name: "_dmarc." + domain + ".", type: "TXT", value: "v=DMARC1; p=quarantine", comment: nil, state: .missing, detail: nil)]
        }
        var configuration = HTTPServer.Configuration()
        configuration.hostname = "mail.example.com"
        // The in-memory transport has no peer address (not loopback): plain HTTP is allowed here.
        configuration.allowInsecureAuth = allowInsecureAuth
        return HTTPServer(configuration: configuration, dependencies: dependencies, logger: .init(label: "test"))
    }

    /// A browser's cookie jar and the last page's CSRF token.
    struct Browser {
        var cookies: [String: String] = [:]
        var csrf: String?

        var headers: HTTPFields {
            var fields = HTTPFields()
            if !cookies.isEmpty { fields[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
            return fields
        }

        mutating func take(_ response: TestResponse) {
            for value in response.headers[values: .setCookie] {
                let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(pair[0]), v = pair.count > 1 ? String(pair[1]) : ""
                if v.isEmpty || value.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = v }
            }
            let html = String(buffer: response.body)
            if let range = html.range(of: #"name="csrf" value=""#) {
                csrf = String(html[range.upperBound...].prefix { $0 != "\"" })
            }
        }

        static func form(_ fields: [(String, String)]) -> ByteBuffer {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            return ByteBuffer(string: fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&"))
        }

        /// A GET, or a form POST when `form` is given, with the cookies; takes the response's cookies and CSRF token.
        @discardableResult
        mutating func send(_ client: some TestClientProtocol, _ uri: String, form: [(String, String)]? = nil,
                           origin: String? = nil) async throws -> TestResponse {
            let response = try await client.executeRequest(uri: uri, method: form == nil ? .get : .post,
                                                           headers: form == nil ? headers : formHeaders(origin: origin),
                                                           body: form.map(Self.form))
            take(response)
            return response
        }

        func formHeaders(origin: String? = nil) -> HTTPFields {
            var fields = headers
            fields[.contentType] = "application/x-www-form-urlencoded"
            if let origin { fields[.origin] = origin }
            return fields
        }
    }

    static func signIn(_ client: some TestClientProtocol, _ browser: inout Browser, password: String = "secret-password") async throws {
        try await browser.send(client, "/signin")
        let response = try await browser.send(client, "/signin", form: [("csrf", browser.csrf ?? ""), ("address", "user@example.com"), ("password", password)])
        #expect(response.status == .seeOther)
        #expect(response.headers[.location] == "/account")
        #expect(browser.cookies[OwnerSessions.cookieName] != nil)
    }

    @Test func templatesParse() {
        for (name, _) in WebTemplates.all { #expect(WebTemplates.library.getTemplate(named: name) != nil, "\(name)") }
    }

    @Test func signInPageHasTheSecurityHeadersAndNoScriptDependence() async throws {
        let app = Application(router: Self.server().makeRouter())
        try await app.test(.router) { client in
            var browser = Browser()
            var response = try await browser.send(client, "/signin")
            #expect(response.status == .ok)
            let csp = try #require(response.headers[.contentSecurityPolicy])
            for directive in ["default-src 'none'", "style-src 'self'", "img-src 'self'", "form-action 'self'", "frame-ancestors 'none'",
                              "base-uri 'none'", "script-src 'self'"] {
                #expect(csp.contains(directive), "\(directive)")
            }
            #expect(response.headers[.xContentTypeOptions] == "nosniff")
            #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
            #expect(response.headers[.cacheControl] == "no-store")
            let html = String(buffer: response.body)
            #expect(html.contains(#"<form method="post" action="/signin""#))
            #expect(html.contains(#"<label for="address">"#) && html.contains(#"<label for="password">"#))
            #expect(!html.contains("<script>") && !html.contains(" style=") && !html.contains("http://") && !html.contains("https://"))
            #expect(response.headers[values: .setCookie].contains {
                $0.hasPrefix(WebCSRF.preSessionCookie + "=") && $0.contains("HttpOnly") && $0.contains("SameSite=Strict")
            })
            response = try await browser.send(client, "/static/sealbox.css")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/css") == true)
            response = try await browser.send(client, "/account")
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/signin")
        }
    }

    @Test func signInRefusesAMissingOrWrongCSRFTokenAndAForeignOrigin() async throws {
        let app = Application(router: Self.server().makeRouter())
        try await app.test(.router) { client in
            var browser = Browser()
            try await browser.send(client, "/signin")
            let token = try #require(browser.csrf)
            let credentials = [("address", "user@example.com"), ("password", "secret-password")]
            var response = try await browser.send(client, "/signin", form: credentials)
            #expect(response.status == .forbidden)
            #expect(response.headers[values: .setCookie].allSatisfy { !$0.hasPrefix(OwnerSessions.cookieName) })
            response = try await browser.send(client, "/signin", form: [("csrf", "AAAA" + token.dropFirst(4))] + credentials)
            #expect(response.status == .forbidden)
            response = try await browser.send(client, "/signin", form: [("csrf", token)] + credentials, origin: "https://evil.example")
            #expect(response.status == .forbidden)
            // The token is bound to the pre-session cookie: another browser's token does not do.
            var other = Browser()
            try await other.send(client, "/signin")
            response = try await browser.send(client, "/signin", form: [("csrf", other.csrf ?? "")] + credentials)
            #expect(response.status == .forbidden)
            #expect(browser.cookies[OwnerSessions.cookieName] == nil)
            // A wrong password: 401 and the form again, the address kept and escaped.
            response = try await browser.send(client, "/signin", form: [("csrf", token), ("address", "<b>x</b>@example.com"), ("password", "nope")])
            #expect(response.status == .unauthorized)
            let html = String(buffer: response.body)
            #expect(html.contains("&lt;b&gt;x&lt;/b&gt;@example.com"))
            #expect(!html.contains("<b>x</b>"))
            // The same origin is fine.
            response = try await browser.send(client, "/signin", form: [("csrf", token)] + credentials, origin: "http://localhost")
            #expect(response.status == .seeOther)
        }
    }

    @Test func ownerGeneratesRevokesAndEditsForwards() async throws {
        let backend = FakeHTTPBackend()
        let app = Application(router: Self.server(backend: backend).makeRouter())
        try await app.test(.router) { client in
            var browser = Browser()
            try await Self.signIn(client, &browser)
            var response = try await browser.send(client, "/account")
            #expect(response.status == .ok)
            var html = String(buffer: response.body)
            #expect(html.contains("user@example.com") && html.contains("(this session)"))
            #expect(html.contains("mail.example.com") && html.contains("993") && html.contains("465"))
            #expect(html.contains("600 bytes used of 1.0 MB"))
            let csrf = try #require(browser.csrf)
            // No token, a wrong token: 403 and nothing happens.
            response = try await browser.send(client, "/account/passwords", form: [("label", "phone")])
            #expect(response.status == .forbidden)
            response = try await browser.send(client, "/account/passwords", form: [("csrf", String(csrf.reversed())), ("label", "phone")])
            #expect(response.status == .forbidden)
            #expect(backend.state.withLock { $0.aliases["user@example.com"]!.passwords.count } == 1)
            // Generate: shown once, in a read-only field, with a copy button the script reveals.
            response = try await browser.send(client, "/account/passwords", form: [("csrf", csrf), ("label", "<phone>")], origin: "http://localhost")
            #expect(response.status == .ok)
            html = String(buffer: response.body)
            #expect(html.contains(#"value="owner-generated-2""#))
            #expect(html.contains(#"data-copy="new-password" hidden"#))
            #expect(html.contains("&lt;phone&gt;") && !html.contains("<phone>"))
            response = try await browser.send(client, "/account")
            #expect(!String(buffer: response.body).contains("owner-generated-2"))
            response = try await browser.send(client, "/account/passwords/revoke", form: [("csrf", csrf), ("id", "p2")])
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/account?done=revoked")
            #expect(backend.state.withLock { $0.aliases["user@example.com"]!.passwords.map(\.0.id) } == ["p1"])
            response = try await browser.send(client, "/account/forwards", form: [("csrf", csrf), ("address", "copy@example.org")])
            #expect(response.status == .seeOther)
            response = try await browser.send(client, "/account/forwards", form: [("csrf", csrf), ("address", "no-at-sign")])
            #expect(response.status == .badRequest)
            #expect(String(buffer: response.body).contains("not an address"))
            response = try await browser.send(client, "/account?done=forward-added")
            html = String(buffer: response.body)
            #expect(html.contains("The forward is added.") && html.contains("copy@example.org"))
            response = try await browser.send(client, "/account/export?format=mbox")
            #expect(response.status == .ok)
            #expect(response.headers[.contentDisposition] == "attachment; filename=\"user.mbox\"")
            #expect(String(buffer: response.body).contains("Subject: 2"))
            response = try await browser.send(client, "/account/setup.mobileconfig")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/x-apple-aspen-config")
            #expect(String(buffer: response.body).contains("mail.example.com"))
            response = try await browser.send(client, "/signout", form: [("csrf", csrf)])
            #expect(response.status == .seeOther)
            response = try await browser.send(client, "/account")
            #expect(response.status == .seeOther)
        }
    }

    @Test func revokingTheSessionsOwnPasswordEndsIt() async throws {
        let backend = FakeHTTPBackend()
        let app = Application(router: Self.server(backend: backend).makeRouter())
        try await app.test(.router) { client in
            var browser = Browser()
            try await Self.signIn(client, &browser)
            try await browser.send(client, "/account")
            _ = try await backend.generateOwnerPassword(OwnerLogin(address: "user@example.com", passwordID: "p1", handle: 0), label: nil)
            var response = try await browser.send(client, "/account/passwords/revoke", form: [("csrf", browser.csrf ?? ""), ("id", "p1"), ("force", "1")])
            #expect(response.headers[.location] == "/signin?done=revoked-own")
            response = try await browser.send(client, "/account")
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/signin")
        }
    }

    @Test func adminPages() async throws {
        let app = Application(router: Self.server().makeRouter())
        try await app.test(.router) { client in
            var browser = Browser()
            var response = try await browser.send(client, "/admin")
            #expect(response.headers[.location] == "/admin/signin")
            try await browser.send(client, "/admin/signin")
            let token = try #require(browser.csrf)
            response = try await browser.send(client, "/admin/signin", form: [("csrf", token), ("token", "wrong")])
            #expect(response.status == .unauthorized)
            response = try await browser.send(client, "/admin/signin", form: [("token", FakeHTTPBackend.adminToken)])
            #expect(response.status == .forbidden)
            response = try await browser.send(client, "/admin/signin", form: [("csrf", token), ("token", FakeHTTPBackend.adminToken)])
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/admin")
            response = try await browser.send(client, "/admin")
            #expect(response.status == .ok)
            let html = String(buffer: response.body)
            #expect(html.contains(#"href="/admin/domains/example.com""#) && html.contains("user@example.com"))
            let csrf = try #require(browser.csrf)
            response = try await browser.send(client, "/admin/aliases", form: [("address", "new@example.com")])
            #expect(response.status == .forbidden)
            response = try await browser.send(client, "/admin/aliases", form: [("csrf", csrf), ("address", "new@example.com")])
            #expect(response.status == .seeOther)
            response = try await browser.send(client, "/admin/domains/example.com")
            var page = String(buffer: response.body)
            #expect(page.contains("10 mail.example.com.") && page.contains("?check=1"))
            response = try await browser.send(client, "/admin/domains/example.com?check=1")
            page = String(buffer: response.body)
            #expect(page.contains("1 of 2 records are not as expected"))
            #expect(page.contains(#"class="state-missing""#) && page.contains(#"class="state-ok""#))
            response = try await browser.send(client, "/admin/domains/nope.example")
            #expect(response.status == .notFound)
            // The admin's cookie does not open the owner's page.
            response = try await browser.send(client, "/account")
            #expect(response.status == .seeOther)
        }
    }

    @Test func signInOverPlainHTTPFromAnotherMachineIsRefused() async throws {
        let app = Application(router: Self.server(allowInsecureAuth: false).makeRouter())
        try await app.test(.router) { client in
            var browser = Browser()
            try await browser.send(client, "/signin")
            let response = try await browser.send(client, "/signin", form: [("csrf", browser.csrf ?? ""), ("address", "user@example.com"),
                                                                             ("password", "secret-password")])
            #expect(response.status == .forbidden)
            #expect(String(buffer: response.body).contains("HTTPS only"))
            #expect(browser.cookies[OwnerSessions.cookieName] == nil)
        }
    }

    @Test func originCheck() {
        func request(_ fields: [(String, String)]) -> Request {
            var headers = HTTPFields()
            for (name, value) in fields { headers[HTTPField.Name(name)!] = value }
            return Request(head: HTTPRequest(method: .post, scheme: "https", authority: "mail.example.com:8443", path: "/signin", headerFields: headers),
                           body: .init(buffer: ByteBuffer()))
        }
        #expect(WebHeaders.isSameOrigin(request([])))
        #expect(WebHeaders.isSameOrigin(request([("Origin", "https://mail.example.com:8443")])))
        #expect(!WebHeaders.isSameOrigin(request([("Origin", "https://evil.example")])))
        #expect(!WebHeaders.isSameOrigin(request([("Origin", "https://mail.example.com:9999")])))
        // Under Referrer-Policy: no-referrer a browser's form post says Origin: null; Sec-Fetch-Site decides.
        #expect(WebHeaders.isSameOrigin(request([("Origin", "null"), ("Sec-Fetch-Site", "same-origin")])))
        #expect(!WebHeaders.isSameOrigin(request([("Origin", "null"), ("Sec-Fetch-Site", "cross-site")])))
        #expect(!WebHeaders.isSameOrigin(request([("Sec-Fetch-Site", "same-site")])))
        #expect(WebHeaders.isSameOrigin(request([("Referer", "https://mail.example.com:8443/signin")])))
        #expect(!WebHeaders.isSameOrigin(request([("Referer", "https://evil.example/")])))
    }

    @Test func formLimits() throws {
        #expect(throws: HTTPAPIError.self) { try WebForm(Array(repeating: "a=b", count: WebForm.maxFields + 1).joined(separator: "&")) }
        let form = try WebForm("a=1+2&b=%3Cx%3E&a=second&empty=")
        #expect(form["a"] == "1 2" && form["b"] == "<x>" && form.text("empty") == nil)
    }

    @Test func csrfTokensAreBoundToSessionAndPurpose() {
        let csrf = WebCSRF()
        let token = csrf.token(session: "s1", purpose: "owner")
        #expect(csrf.isValid(token, session: "s1", purpose: "owner"))
        #expect(!csrf.isValid(token, session: "s2", purpose: "owner"))
        #expect(!csrf.isValid(token, session: "s1", purpose: "admin"))
        #expect(!csrf.isValid(nil, session: "s1", purpose: "owner"))
        #expect(!WebCSRF().isValid(token, session: "s1", purpose: "owner"))
    }
}
