import Foundation
import HTTPTypes
import Hummingbird
import Mustache

extension HTTPServer {
    /// What the web pages need beyond the backend and the owner sessions.
    public struct WebDependencies: Sendable {
        /// Asks DNS whether each record of a domain is published (the admin's live check; nil: no check offered).
        public var checkDNS: (@Sendable (_ domain: String) async throws -> [WebDNSCheck])?
        /// The CSRF tokens' key (random per listener).
        public var csrf = WebCSRF()
        /// Signed-in administrators.
        public var adminSessions = AdminWebSessions()
        public init() {}
    }

    /// The server-rendered pages: sign-in, the owner's page, the admin's pages, their CSS and the
    /// small optional script. Every page works without JavaScript; every POST checks the CSRF token
    /// of its session and, when the browser sends them, `Origin`/`Referer`.
    func addWebRoutes(to router: Router<SealboxRequestContext>) {
        let web = WebRoutes(server: self)
        router.get("/") { _, _ in WebRoutes.redirect("/account") }
        router.get("/static/sealbox.css") { _, _ in WebRoutes.asset(WebAssets.css, type: "text/css; charset=utf-8") }
        router.get("/static/sealbox.js") { _, _ in WebRoutes.asset(WebAssets.javascript, type: "text/javascript; charset=utf-8") }

        router.get("/signin") { request, _ in await web.handle { try await web.signInPage(request) } }
        router.post("/signin") { request, context in await web.handle { try await web.signIn(request, context) } }
        router.post("/signout") { request, _ in await web.handle { try await web.ownerPost(request) { owner, _ in try await web.signOut(owner) } } }

        router.get("/account") { request, _ in await web.handle { try await web.accountPage(request) } }
        router.post("/account/passwords") { request, _ in
            await web.handle { try await web.ownerPost(request) { owner, form in try await web.generatePassword(owner, form) } }
        }
        router.post("/account/passwords/revoke") { request, _ in
            await web.handle { try await web.ownerPost(request) { owner, form in try await web.revokePassword(owner, form) } }
        }
        for (path, action) in [("/account/forwards", WebRoutes.TargetAction.addForward), ("/account/forwards/remove", .removeForward),
                               ("/account/webhooks", .addWebhook), ("/account/webhooks/remove", .removeWebhook)] {
            router.post(RouterPath(path)) { request, _ in
                await web.handle { try await web.ownerPost(request) { owner, form in try await web.changeTargets(owner, form, action) } }
            }
        }
        router.get("/account/export") { request, _ in await web.handle { try await web.exportGet(request) } }
        router.post("/account/export") { request, _ in
            await web.handle { try await web.ownerPost(request) { owner, form in try await web.export(owner, form) } }
        }
        router.get("/account/setup.mobileconfig") { request, _ in await web.handle { try await web.mobileConfig(request) } }

        router.get("/admin/signin") { request, _ in await web.handle { try await web.adminSignInPage(request) } }
        router.post("/admin/signin") { request, context in await web.handle { try await web.adminSignIn(request, context) } }
        router.post("/admin/signout") { request, context in
            await web.handle { try await web.adminPost(request, context) { admin, _ in await web.adminSignOut(admin) } }
        }
        router.get("/admin") { request, context in await web.handle { try await web.adminPage(request, context) } }
        router.get("/admin/domains/{name}") { request, context in
            await web.handle { try await web.domainPage(request, context, name: context.parameters.get("name") ?? "") }
        }
        router.post("/admin/domains") { request, context in
            await web.handle { try await web.adminPost(request, context) { admin, form in try await web.addDomain(admin, form) } }
        }
        router.post("/admin/aliases") { request, context in
            await web.handle { try await web.adminPost(request, context) { admin, form in try await web.addAlias(admin, form) } }
        }
        router.post("/admin/aliases/remove") { request, context in
            await web.handle { try await web.adminPost(request, context) { admin, form in try await web.removeAlias(admin, form) } }
        }
    }
}

/// One record of a domain compared with what DNS publishes (the admin's live check).
public struct WebDNSCheck: Sendable, Equatable {
    public enum State: String, Sendable { case ok, missing, wrong, unknown }
    public var name: String
    public var type: String
    public var value: String
    public var comment: String?
    public var state: State
    /// What DNS has instead, or why it could not say.
    public var detail: String?
    public init(name: String, type: String, value: String, comment: String?, state: State, detail: String?) {
        self.name = name; self.type = type; self.value = value; self.comment = comment; self.state = state; self.detail = detail
    }
}
