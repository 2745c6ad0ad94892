import Foundation
import HTTPTypes
import Hummingbird

/// Who a request is: an admin (a bearer token) or a mailbox owner (the session cookie, or HTTP
/// Basic with the address and one of its passwords). Shared by the JSON API and the web pages.
extension HTTPServer {
    /// The backend, or 503.
    func requireBackend() throws -> any HTTPBackend {
        guard let backend = dependencies.backend else {
            throw HTTPAPIError(.serviceUnavailable, code: "unavailable", dependencies.noBackendReason)
        }
        return backend
    }

    /// Refuses secrets over plain HTTP from another machine unless `allowInsecureAuth`.
    public func checkTransport(_ context: SealboxRequestContext) throws {
        if configuration.tls == nil, !configuration.allowInsecureAuth, !context.isLoopback {
            throw HTTPAPIError(.forbidden, code: "insecure_transport",
                               "passwords and tokens are accepted over HTTPS only (or set http.allowInsecureAuth)")
        }
    }

    /// The admin token of `Authorization: Bearer …`, checked against the stored hashes (failures
    /// counted by the login throttle); 401 or 429 otherwise.
    public func requireAdmin(_ request: Request, context: SealboxRequestContext) async throws -> APIAdminToken {
        let backend = try requireBackend()
        guard let header = request.headers[.authorization], header.count <= 512,
              header.lowercased().hasPrefix("bearer ") else {
            throw Self.unauthorized("an admin token is required (Authorization: Bearer TOKEN)", scheme: "Bearer")
        }
        try checkTransport(context)
        let token = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        switch await backend.authenticateAdmin(token: token, remoteIP: context.remoteIP) {
        case .success(let info): return info
        case .failed: throw Self.unauthorized("the admin token is not valid", scheme: "Bearer")
        case .throttled(let retryAfter): throw Self.throttled(retryAfter)
        }
    }

    /// An owner's login for one request: from the session cookie, or from HTTP Basic (signed in
    /// for this request only: `basic` is true and the caller ends it with `finish`).
    public struct OwnerAuth: Sendable {
        public let login: OwnerLogin
        /// Signed in with HTTP Basic for this request (ended when the request is answered).
        public let basic: Bool
        /// The password, with HTTP Basic (the sqlite export is keyed with it); never stored.
        public let password: String?
        /// The cookie session id, with a session.
        public let sessionID: String?
    }

    public func requireOwner(_ request: Request, context: SealboxRequestContext) async throws -> OwnerAuth {
        let backend = try requireBackend()
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("basic ") {
            try checkTransport(context)
            guard header.count <= 4096, let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                  let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") else {
                throw HTTPAPIError(.badRequest, code: "invalid_request", "malformed Basic credentials")
            }
            let login = try await signIn(backend: backend, address: String(text[..<colon]), password: String(text[text.index(after: colon)...]),
                                         context: context)
            return OwnerAuth(login: login, basic: true, password: String(text[text.index(after: colon)...]), sessionID: nil)
        }
        guard let id = OwnerSessions.sessionID(in: request.headers), let login = await dependencies.ownerSessions.login(for: id) else {
            throw Self.unauthorized("sign in first (POST /api/v1/session) or use HTTP Basic with your address and password", scheme: "Basic")
        }
        guard await backend.isStillValid(login) else {
            await dependencies.ownerSessions.end(id)
            throw Self.unauthorized("this session's password was revoked: sign in again", scheme: "Basic")
        }
        return OwnerAuth(login: login, basic: false, password: nil, sessionID: id)
    }

    /// Ends a per-request (Basic) login.
    public func finish(_ auth: OwnerAuth) async {
        if auth.basic { await dependencies.backend?.signOut(auth.login) }
    }

    /// Runs `body` for the owner of the request and ends a Basic login afterwards.
    func withOwner<T: Sendable>(_ request: Request, context: SealboxRequestContext,
                                _ body: (any HTTPBackend, OwnerAuth) async throws -> T) async throws -> T {
        let backend = try requireBackend()
        let auth = try await requireOwner(request, context: context)
        do {
            let result = try await body(backend, auth)
            await finish(auth)
            return result
        } catch {
            await finish(auth)
            throw error
        }
    }

    /// Signs in through the backend (the node's throttle); the errors the API answers.
    public func signIn(backend: any HTTPBackend, address: String, password: String, context: SealboxRequestContext) async throws -> OwnerLogin {
        guard address.utf8.count <= 320, password.utf8.count <= 1024 else {
            throw HTTPAPIError(.badRequest, code: "invalid_request", "address or password too long")
        }
        switch await backend.signIn(address: address, password: password, remoteIP: context.remoteIP) {
        case .success(let login): return login
        case .failed: throw Self.unauthorized("wrong address or password", scheme: "Basic")
        case .throttled(let retryAfter): throw Self.throttled(retryAfter)
        case .tooManySessions:
            throw HTTPAPIError(.tooManyRequests, code: "too_many_sessions", "this mailbox has as many sessions as it may; sign out elsewhere")
        case .unavailable:
            throw HTTPAPIError(.serviceUnavailable, code: "unavailable", "the mailbox cannot be opened now; try again later")
        }
    }

    static func unauthorized(_ message: String, scheme: String) -> HTTPAPIError {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = scheme == "Basic" ? "Basic realm=\"sealbox\", charset=\"UTF-8\"" : "Bearer realm=\"sealbox\""
        return HTTPAPIError(.unauthorized, code: "unauthorized", message, headers: headers)
    }

    static func throttled(_ retryAfter: Duration) -> HTTPAPIError {
        let seconds = max(1, retryAfter.components.seconds + (retryAfter.components.attoseconds > 0 ? 1 : 0))
        var headers = HTTPFields()
        headers[.retryAfter] = "\(seconds)"
        return HTTPAPIError(.tooManyRequests, code: "throttled", "too many failed attempts; retry after \(seconds) s", headers: headers)
    }
}
