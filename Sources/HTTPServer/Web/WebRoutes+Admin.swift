import Foundation
import HTTPTypes
import Hummingbird

/// The admin's pages: sign-in with an admin token, domains (with their DNS records and a live
/// check) and aliases.
extension WebRoutes {
    struct Admin: Sendable {
        let backend: any HTTPBackend
        let session: String
    }

    var adminSessions: AdminWebSessions { server.dependencies.web.adminSessions }

    /// The administrator of the request's `sealbox_admin` cookie; the token is checked again (a
    /// revoked token ends the session).
    func admin(_ request: Request, _ context: SealboxRequestContext) async -> Admin? {
        guard let backend = server.dependencies.backend,
              let id = WebHeaders.cookie(AdminWebSessions.cookieName, in: request.headers),
              let token = await adminSessions.token(for: id) else { return nil }
        guard case .success = await backend.authenticateAdmin(token: token, remoteIP: context.remoteIP) else {
            await adminSessions.end(id)
            return nil
        }
        return Admin(backend: backend, session: id)
    }

    func adminSignInPage(_ request: Request, error: String? = nil, status: HTTPResponse.Status = .ok,
                         headers extra: HTTPFields = [:]) async throws -> Response {
        let (id, cookie) = preSession(request)
        var headers = extra
        if let cookie { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        var context: [String: Any] = ["csrf": csrf.token(session: id, purpose: "admin-signin")]
        if let error { context["error"] = error }
        if let notice = Self.notice(request) { context["notice"] = notice }
        return page("admin-signin", context, status: status, headers: headers)
    }

    func adminSignIn(_ request: Request, _ context: SealboxRequestContext) async throws -> Response {
        var request = request
        guard WebHeaders.isSameOrigin(request) else { throw Self.csrfFailure }
        let form = try await WebForm.read(&request)
        guard let pre = WebHeaders.cookie(WebCSRF.preSessionCookie, in: request.headers),
              csrf.isValid(form[WebCSRF.field], session: pre, purpose: "admin-signin") else {
            return try await adminSignInPage(request, error: Self.csrfFailure.message, status: .forbidden)
        }
        let backend = try backend()
        do {
            try server.checkTransport(context)
        } catch let error as HTTPAPIError {
            return try await adminSignInPage(request, error: error.message, status: error.status)
        }
        let token = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, token.utf8.count <= 512 else {
            return try await adminSignInPage(request, error: "Enter an admin token.", status: .badRequest)
        }
        switch await backend.authenticateAdmin(token: token, remoteIP: context.remoteIP) {
        case .success:
            let id = await adminSessions.create(token: token)
            var headers = HTTPFields()
            let maxAge = Int(adminSessions.absoluteTimeout.components.seconds)
            headers.append(HTTPField(name: .setCookie, value: WebHeaders.setCookie(AdminWebSessions.cookieName, id, maxAge: maxAge, secure: secureCookies)))
            headers.append(HTTPField(name: .setCookie, value: WebHeaders.setCookie(WebCSRF.preSessionCookie, "", maxAge: 0, secure: secureCookies)))
            return Self.redirect("/admin", headers: headers)
        case .failed:
            return try await adminSignInPage(request, error: "That admin token is not valid.", status: .unauthorized)
        case .throttled(let retryAfter):
            let error = HTTPServer.throttled(retryAfter)
            return try await adminSignInPage(request, error: error.message, status: .tooManyRequests, headers: error.headers)
        }
    }

    /// A POST of the admin's pages: same origin, a live admin session, its CSRF token.
    func adminPost(_ request: Request, _ context: SealboxRequestContext,
                   _ action: (Admin, WebForm) async throws -> Response) async throws -> Response {
        var request = request
        guard WebHeaders.isSameOrigin(request) else { throw Self.csrfFailure }
        let form = try await WebForm.read(&request)
        guard let admin = await admin(request, context) else { return Self.redirect("/admin/signin") }
        guard csrf.isValid(form[WebCSRF.field], session: admin.session, purpose: "admin") else { throw Self.csrfFailure }
        do {
            return try await action(admin, form)
        } catch let error as HTTPBackendError {
            return try await adminPage(admin, error: error.message, status: Self.status(of: error))
        }
    }

    func adminSignOut(_ admin: Admin) async -> Response {
        await adminSessions.end(admin.session)
        return Self.redirect("/admin/signin?done=signedout",
                             headers: [.setCookie: WebHeaders.setCookie(AdminWebSessions.cookieName, "", maxAge: 0, secure: secureCookies)])
    }

    func adminContext(_ admin: Admin) -> [String: Any] {
        ["signedInAs": "administrator", "signOutAction": "/admin/signout", "csrf": csrf.token(session: admin.session, purpose: "admin")]
    }

    func adminPage(_ request: Request, _ context: SealboxRequestContext) async throws -> Response {
        guard let admin = await admin(request, context) else { return Self.redirect("/admin/signin") }
        return try await adminPage(admin, notice: Self.notice(request))
    }

    func adminPage(_ admin: Admin, notice: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        var context = adminContext(admin)
        if let notice { context["notice"] = notice }
        if let error { context["error"] = error }
        context["domains"] = try await admin.backend.domains().map { ["name": $0.name, "unicode": $0.unicode] }
        context["aliases"] = try await admin.backend.aliases(domain: nil).map { a -> [String: Any] in
            ["address": a.address, "hasMailbox": a.hasMailbox, "store": a.store, "forwardTo": a.forwardTo,
             "webhookCount": a.webhooks.isEmpty ? "none" : "\(a.webhooks.count)"]
        }
        return page("admin", context, status: status)
    }

    /// `GET /admin/domains/NAME[?check=1]`: the records `sealbox domain dns` prints; with `check`,
    /// each compared with what DNS answers now.
    func domainPage(_ request: Request, _ context: SealboxRequestContext, name: String) async throws -> Response {
        guard let admin = await admin(request, context) else { return Self.redirect("/admin/signin") }
        guard name.utf8.count <= 253 else { throw PageError(status: .badRequest, message: "That is not a domain.") }
        let records = try await admin.backend.dnsRecords(domain: name)
        var page = adminContext(admin)
        page["domain"] = records.domain
        page["zoneText"] = records.text
        if request.uri.queryParameters.get("check") != nil, let check = server.dependencies.web.checkDNS {
            let results = try await check(records.domain)
            page["checked"] = true
            let bad = results.filter { $0.state != .ok }.count
            page["summary"] = bad == 0 ? "All \(results.count) records are published as expected."
                : "\(bad) of \(results.count) records are not as expected (missing, wrong, or DNS did not answer)."
            page["summaryClass"] = bad == 0 ? "notice" : "warning"
            page["records"] = results.map { r -> [String: Any] in
                var row: [String: Any] = ["name": r.name, "type": r.type, "value": r.value, "comment": r.comment ?? "", "state": r.state.rawValue]
                if let detail = r.detail { row["detail"] = detail }
                return row
            }
        } else {
            page["records"] = records.records.map { r -> [String: Any] in
                ["name": r.name, "type": r.type, "value": r.values.joined(separator: r.type == "TXT" ? "" : " "), "comment": r.comment ?? ""]
            }
        }
        return self.page("admin-domain", page)
    }

    func addDomain(_ admin: Admin, _ form: WebForm) async throws -> Response {
        guard let name = form.text("domain"), name.utf8.count <= 253 else { throw PageError(status: .badRequest, message: "Enter a domain.") }
        _ = try await admin.backend.addDomain(name)
        return Self.redirect("/admin?done=domain-added")
    }

    func addAlias(_ admin: Admin, _ form: WebForm) async throws -> Response {
        guard let address = form.text("address") else { throw PageError(status: .badRequest, message: "Enter an address.") }
        let forward = form.text("forward")
        let forwardOnly = form["nostore"] == "1"
        if forwardOnly, forward == nil {
            throw PageError(status: .badRequest, message: "A forward-only alias needs an address to forward to.")
        }
        _ = try await admin.backend.addAlias(APIAliasCreate(address: address, store: forwardOnly ? false : nil,
                                                            forwardTo: forward.map { [$0] }))
        return Self.redirect("/admin?done=alias-added#aliases")
    }

    func removeAlias(_ admin: Admin, _ form: WebForm) async throws -> Response {
        guard let address = form.text("address") else { throw PageError(status: .badRequest, message: "Which alias?") }
        _ = try await admin.backend.removeAlias(address, purge: form["purge"] == "1")
        return Self.redirect("/admin?done=alias-removed#aliases")
    }
}
