import Foundation
import HTTPTypes
import Hummingbird
import MailCore

/// The web pages' handlers (routes in `HTTPServer+Web.swift`). Failures become an HTML page with
/// the right status (`handle`), never the JSON error of the API.
struct WebRoutes: Sendable {
    let server: HTTPServer

    var sessions: OwnerSessions { server.dependencies.ownerSessions }
    var csrf: WebCSRF { server.dependencies.web.csrf }
    var secureCookies: Bool { server.configuration.tls != nil }

    /// A signed-in owner of one request.
    struct Owner: Sendable {
        let backend: any HTTPBackend
        let login: OwnerLogin
        let session: String
    }

    /// A page's failure, shown to the person (no secrets in `message`).
    struct PageError: Error {
        var status: HTTPResponse.Status
        var message: String
        var headers: HTTPFields = [:]
    }

    static let csrfFailure = PageError(status: .forbidden,
                                       message: "This form has expired or did not come from this site. Reload the page and try again.")

    // MARK: Responses

    /// Renders `template` with `context` (plus the host name) as a page with the security headers.
    func page(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var context = context
        context["hostname"] = server.configuration.hostname
        let html = WebTemplates.library.render(context, withTemplate: template) ?? ""
        var fields = extra
        fields[.contentType] = "text/html; charset=utf-8"
        fields[.cacheControl] = "no-store"
        WebHeaders.apply(to: &fields)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// 303 See Other (after a POST: the browser GETs the page).
    static func redirect(_ location: String, headers extra: HTTPFields = [:]) -> Response {
        var fields = extra
        fields[.location] = location
        fields[.cacheControl] = "no-store"
        WebHeaders.apply(to: &fields)
        return Response(status: .seeOther, headers: fields)
    }

    static func asset(_ text: String, type: String) -> Response {
        var fields: HTTPFields = [.contentType: type, .cacheControl: "public, max-age=3600"]
        WebHeaders.apply(to: &fields)
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Runs a handler; its failures become a page.
    func handle(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let error as PageError {
            return message(error.status, error.message, headers: error.headers)
        } catch let error as HTTPAPIError {
            var headers = HTTPFields()
            if let retry = error.headers[.retryAfter] { headers[.retryAfter] = retry }
            return message(error.status, error.message, headers: headers)
        } catch let error as HTTPBackendError {
            return message(Self.status(of: error), error.message)
        } catch {
            server.logger.error("web page failed", metadata: ["http.error": "\(type(of: error))"])
            return message(.internalServerError, "Something went wrong on the server. Try again later.")
        }
    }

    func message(_ status: HTTPResponse.Status, _ text: String, headers: HTTPFields = [:]) -> Response {
        page("message", ["heading": status.code >= 500 ? "Server error" : status.reasonPhrase, "text": text, "back": "/"],
             status: status, headers: headers)
    }

    static func status(of error: HTTPBackendError) -> HTTPResponse.Status {
        switch error.code {
        case .invalid: return .badRequest
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .limitExceeded: return .unprocessableContent
        case .unavailable: return .serviceUnavailable
        }
    }

    func backend() throws -> any HTTPBackend {
        guard let backend = server.dependencies.backend else {
            throw PageError(status: .serviceUnavailable, message: "Not available here: " + server.dependencies.noBackendReason + ".")
        }
        return backend
    }

    // MARK: Sign-in

    /// The pre-session id (the sign-in forms' CSRF binding) and the cookie to set when it is new.
    func preSession(_ request: Request) -> (id: String, setCookie: String?) {
        if let id = WebHeaders.cookie(WebCSRF.preSessionCookie, in: request.headers) { return (id, nil) }
        let id = WebCSRF.randomID()
        return (id, WebHeaders.setCookie(WebCSRF.preSessionCookie, id, maxAge: 3600, secure: secureCookies))
    }

    static let notices = [
        "signedout": "You are signed out.",
        "revoked": "The password is revoked: nothing can sign in with it any more.",
        "revoked-own": "The password of this session is revoked: sign in with another one.",
        "forward-added": "The forward is added.", "forward-removed": "The forward is removed.",
        "webhook-added": "The webhook is added.", "webhook-removed": "The webhook is removed.",
        "domain-added": "The domain is added: publish its DNS records.",
        "alias-added": "The alias is added.", "alias-removed": "The alias is removed.",
    ]

    static func notice(_ request: Request) -> String? {
        request.uri.queryParameters.get("done").flatMap { notices[$0] }
    }

    func signInPage(_ request: Request, address: String? = nil, error: String? = nil,
                    status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) async throws -> Response {
        if error == nil, await owner(request) != nil { return Self.redirect("/account") }
        let (id, cookie) = preSession(request)
        var headers = extra
        if let cookie { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        var context: [String: Any] = ["csrf": csrf.token(session: id, purpose: "signin")]
        if let address { context["address"] = address }
        if let error { context["error"] = error }
        if let notice = Self.notice(request) { context["notice"] = notice }
        return page("signin", context, status: status, headers: headers)
    }

    func signIn(_ request: Request, _ context: SealboxRequestContext) async throws -> Response {
        var request = request
        guard WebHeaders.isSameOrigin(request) else { throw Self.csrfFailure }
        let form = try await WebForm.read(&request)
        guard let pre = WebHeaders.cookie(WebCSRF.preSessionCookie, in: request.headers),
              csrf.isValid(form[WebCSRF.field], session: pre, purpose: "signin") else {
            return try await signInPage(request, address: form.text("address"), error: Self.csrfFailure.message, status: .forbidden)
        }
        let backend = try backend()
        do {
            try server.checkTransport(context)
            let login = try await server.signIn(backend: backend, address: form.text("address") ?? "", password: form["password"] ?? "",
                                                context: context)
            let id = await sessions.create(login)
            var headers = HTTPFields()
            headers.append(HTTPField(name: .setCookie, value: sessions.cookie(for: id, secure: secureCookies)))
            headers.append(HTTPField(name: .setCookie, value: WebHeaders.setCookie(WebCSRF.preSessionCookie, "", maxAge: 0, secure: secureCookies)))
            return Self.redirect("/account", headers: headers)
        } catch let error as HTTPAPIError {
            var headers = HTTPFields()
            if let retry = error.headers[.retryAfter] { headers[.retryAfter] = retry }
            return try await signInPage(request, address: form.text("address"), error: error.message, status: error.status, headers: headers)
        }
    }

    // MARK: The owner

    /// The owner of the request's session cookie, if it is live and its password still exists.
    func owner(_ request: Request) async -> Owner? {
        guard let backend = server.dependencies.backend, let id = OwnerSessions.sessionID(in: request.headers),
              let login = await sessions.login(for: id) else { return nil }
        guard await backend.isStillValid(login) else {
            await sessions.end(id)
            return nil
        }
        return Owner(backend: backend, login: login, session: id)
    }

    /// A POST of the owner's pages: same origin, a live session, the session's CSRF token.
    func ownerPost(_ request: Request, _ action: (Owner, WebForm) async throws -> Response) async throws -> Response {
        var request = request
        guard WebHeaders.isSameOrigin(request) else { throw Self.csrfFailure }
        let form = try await WebForm.read(&request)
        guard let owner = await owner(request) else { return Self.redirect("/signin") }
        guard csrf.isValid(form[WebCSRF.field], session: owner.session, purpose: "owner") else { throw Self.csrfFailure }
        do {
            return try await action(owner, form)
        } catch let error as HTTPBackendError {
            return try await accountPage(owner, error: error.message, status: Self.status(of: error))
        }
    }

    func accountPage(_ request: Request) async throws -> Response {
        guard let owner = await owner(request) else { return Self.redirect("/signin") }
        return try await accountPage(owner, notice: Self.notice(request))
    }

    func accountPage(_ owner: Owner, notice: String? = nil, error: String? = nil, newPassword: APIGeneratedPassword? = nil,
                     status: HTTPResponse.Status = .ok) async throws -> Response {
        let login = owner.login, backend = owner.backend
        var context: [String: Any] = [
            "signedInAs": login.address, "signOutAction": "/signout", "address": login.address,
            "csrf": csrf.token(session: owner.session, purpose: "owner"),
        ]
        if let notice { context["notice"] = notice }
        if let error { context["error"] = error }
        if let newPassword {
            var shown: [String: Any] = ["password": newPassword.password]
            if let label = newPassword.label, !label.isEmpty { shown["label"] = label }
            context["newPassword"] = shown
        }
        context["passwords"] = try await backend.ownerPasswords(login).map { p -> [String: Any] in
            ["id": p.id, "label": p.label.flatMap { $0.isEmpty ? nil : $0 } ?? "(no label)", "created": Self.date(p.created),
             "lastUsed": p.lastUsed.map(Self.date) ?? "never", "current": p.id == login.passwordID]
        }
        let targets = try await backend.targets(login)
        context["forwards"] = targets.forwardTo
        context["webhooks"] = targets.webhooks
        if let usage = try? await backend.usage(login) {
            var u: [String: Any] = [
                "used": Self.size(usage.usedBytes),
                "folders": usage.folders.map { ["path": $0.path, "messages": $0.messages, "unseen": $0.unseen, "size": Self.size($0.bytes)] as [String: Any] },
            ]
            if let quota = usage.quotaBytes, quota > 0 {
                u["quota"] = Self.size(quota)
                u["percent"] = min(100, Int((Double(usage.usedBytes) / Double(quota) * 100).rounded()))
            }
            context["usage"] = u
        }
        let setup = server.dependencies.autoconfig.setup()
        context["servers"] = (setup.incoming + setup.outgoing).map { s -> [String: Any] in
            let use = s.kind == .smtp ? "Sending (SMTP submission)" : s.kind == .imap ? "Receiving (IMAP)" : "Receiving (POP3)"
            return ["use": use, "hostname": s.hostname, "port": s.port, "security": s.securityName]
        }
        return page("account", context, status: status)
    }

    func generatePassword(_ owner: Owner, _ form: WebForm) async throws -> Response {
        let label = form.text("label").map { String($0.prefix(100)) }
        let generated = try await owner.backend.generateOwnerPassword(owner.login, label: label)
        return try await accountPage(owner, newPassword: generated)
    }

    func revokePassword(_ owner: Owner, _ form: WebForm) async throws -> Response {
        guard let id = form.text("id"), id.utf8.count <= 128 else { throw PageError(status: .badRequest, message: "Which password?") }
        try await owner.backend.revokeOwnerPassword(owner.login, id: id, force: form["force"] == "1")
        await sessions.end(address: owner.login.address, passwordID: id)
        if id == owner.login.passwordID {
            return Self.redirect("/signin?done=revoked-own",
                                 headers: [.setCookie: sessions.clearingCookie(secure: secureCookies)])
        }
        return Self.redirect("/account?done=revoked")
    }

    enum TargetAction: Sendable { case addForward, removeForward, addWebhook, removeWebhook }

    func changeTargets(_ owner: Owner, _ form: WebForm, _ action: TargetAction) async throws -> Response {
        let backend = owner.backend, login = owner.login
        switch action {
        case .addForward, .removeForward:
            guard let address = form.text("address") else { throw PageError(status: .badRequest, message: "An address is needed.") }
            if action == .addForward {
                _ = try await backend.addForward(login, address: address)
                return Self.redirect("/account?done=forward-added#forwards")
            }
            _ = try await backend.removeForward(login, address: address)
            return Self.redirect("/account?done=forward-removed#forwards")
        case .addWebhook, .removeWebhook:
            guard let url = form.text("url") else { throw PageError(status: .badRequest, message: "A URL is needed.") }
            if action == .addWebhook {
                _ = try await backend.addWebhook(login, url: url)
                return Self.redirect("/account?done=webhook-added#forwards")
            }
            _ = try await backend.removeWebhook(login, url: url)
            return Self.redirect("/account?done=webhook-removed#forwards")
        }
    }

    func signOut(_ owner: Owner) async throws -> Response {
        await sessions.end(owner.session)
        return Self.redirect("/signin?done=signedout", headers: [.setCookie: sessions.clearingCookie(secure: secureCookies)])
    }

    // MARK: Downloads

    /// `GET /account/export?format=mbox|eml-zip[&folder=…]` (the encrypted database needs the password: POST).
    func exportGet(_ request: Request) async throws -> Response {
        guard let owner = await owner(request) else { return Self.redirect("/signin") }
        let text = request.uri.queryParameters.get("format") ?? "mbox"
        guard let format = APIExportFormat(rawValue: text), format != .sqlite else {
            throw PageError(status: .badRequest, message: "Exports are mbox or eml-zip here; the encrypted database is downloaded with its password.")
        }
        let folder = request.uri.queryParameters.get("folder")
        return try await download(owner.backend.export(owner.login, format: format, folder: folder, password: nil))
    }

    func export(_ owner: Owner, _ form: WebForm) async throws -> Response {
        guard let format = form.text("format").flatMap(APIExportFormat.init(rawValue:)) else {
            throw PageError(status: .badRequest, message: "Which format?")
        }
        return try await download(owner.backend.export(owner.login, format: format, folder: form.text("folder"),
                                                       password: format == .sqlite ? form["password"] : nil))
    }

    func download(_ export: HTTPExport) -> Response {
        var fields: HTTPFields = [
            .contentType: export.contentType, .cacheControl: "no-store",
            .contentDisposition: "attachment; filename=\"\(Self.filename(export.filename))\"",
        ]
        WebHeaders.apply(to: &fields)
        let chunks = export.chunks.map { @Sendable bytes in ByteBuffer(bytes: bytes) }
        return Response(status: .ok, headers: fields, body: ResponseBody(asyncSequence: chunks))
    }

    func mobileConfig(_ request: Request) async throws -> Response {
        guard let owner = await owner(request) else { return Self.redirect("/signin") }
        let data = try server.dependencies.autoconfig.setup().mobileConfig(address: owner.login.address)
        var fields: HTTPFields = [
            .contentType: "application/x-apple-aspen-config", .cacheControl: "no-store",
            .contentDisposition: "attachment; filename=\"\(Self.filename("mail-\(owner.login.address).mobileconfig"))\"",
        ]
        WebHeaders.apply(to: &fields)
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    // MARK: Formatting

    /// A file name safe in a quoted `Content-Disposition` (letters, digits, `.-_@+`).
    static func filename(_ name: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@+")
        let cleaned = String(name.prefix(120).map { allowed.contains($0) ? $0 : "_" })
        return cleaned.isEmpty ? "download" : cleaned
    }

    static func date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }

    static func size(_ bytes: Int64) -> String {
        let units = ["bytes", "KB", "MB", "GB", "TB"]
        var value = Double(bytes), unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) bytes" : String(format: "%.1f", value) + " " + units[unit]
    }
}
