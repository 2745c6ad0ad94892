import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/api/v1/session` (sign-in, sign-out) and `/api/v1/me/...`: the mailbox owner's JSON API, with
/// the `sealbox_session` cookie or HTTP Basic (address and one of its passwords) on each request.
extension HTTPServer {
    struct SignInRequest: Codable { var address: String; var password: String }
    struct SessionInfo: Codable {
        var address: String
        var passwordId: String
        var idleTimeoutSeconds: Int
        var absoluteTimeoutSeconds: Int
    }
    struct Me: Codable { var address: String; var passwordId: String; var authentication: String }
    struct ForwardRequest: Codable { var address: String }
    struct WebhookRequest: Codable { var url: String }
    struct ExportRequest: Codable { var format: APIExportFormat; var folder: String?; var password: String? }

    func addOwnerRoutes(to router: Router<SealboxRequestContext>) {
        let sessions = dependencies.ownerSessions
        let secure = configuration.tls != nil

        router.post("/api/v1/session") { request, context in
            try await api {
                let backend = try requireBackend()
                try checkTransport(context)
                let body = try await Self.decode(SignInRequest.self, from: request)
                let login = try await signIn(backend: backend, address: body.address, password: body.password, context: context)
                let id = await sessions.create(login)
                var headers = HTTPFields()
                headers[.setCookie] = sessions.cookie(for: id, secure: secure)
                return try Self.json(SessionInfo(address: login.address, passwordId: login.passwordID,
                                                 idleTimeoutSeconds: Int(sessions.policy.idleTimeout.components.seconds),
                                                 absoluteTimeoutSeconds: Int(sessions.policy.absoluteTimeout.components.seconds)),
                                     status: .created, headers: headers)
            }
        }
        router.delete("/api/v1/session") { request, _ in
            try await api {
                if let id = OwnerSessions.sessionID(in: request.headers) { await sessions.end(id) }
                var headers = HTTPFields()
                headers[.setCookie] = sessions.clearingCookie(secure: secure)
                return Self.noContent(headers: headers)
            }
        }

        let me = router.group("/api/v1/me")

        /// Every owner route: the owner signed in (cookie or Basic) first.
        func route(_ body: @escaping @Sendable (Request, SealboxRequestContext, any HTTPBackend, OwnerAuth) async throws -> Response)
            -> @Sendable (Request, SealboxRequestContext) async throws -> Response {
            { request, context in
                try await api {
                    try await withOwner(request, context: context) { backend, auth in try await body(request, context, backend, auth) }
                }
            }
        }

        router.get("/api/v1/me", use: route { _, _, _, auth in
            try Self.json(Me(address: auth.login.address, passwordId: auth.login.passwordID, authentication: auth.basic ? "basic" : "session"))
        })

        me.get("/passwords", use: route { _, _, backend, auth in
            try Self.json(PasswordList(passwords: try await backend.ownerPasswords(auth.login)))
        })
        me.post("/passwords", use: route { request, _, backend, auth in
            let body = try await Self.decode(LabelRequest.self, from: request)
            return try Self.json(try await backend.generateOwnerPassword(auth.login, label: body.label), status: .created)
        })
        me.delete("/passwords/:id", use: route { request, context, backend, auth in
            let id = try Self.parameter("id", context, limit: 64)
            try await backend.revokeOwnerPassword(auth.login, id: id, force: try Self.flag("force", request))
            // Sessions signed in with it end now (the mailbox's own sessions end by its change event).
            await sessions.end(address: auth.login.address, passwordID: id)
            return Self.noContent()
        })

        me.get("/targets", use: route { _, _, backend, auth in try Self.json(try await backend.targets(auth.login)) })
        me.post("/forwards", use: route { request, _, backend, auth in
            let body = try await Self.decode(ForwardRequest.self, from: request)
            return try Self.json(try await backend.addForward(auth.login, address: body.address), status: .created)
        })
        me.delete("/forwards/:address", use: route { _, context, backend, auth in
            try Self.json(try await backend.removeForward(auth.login, address: try Self.parameter("address", context)))
        })
        me.post("/webhooks", use: route { request, _, backend, auth in
            let body = try await Self.decode(WebhookRequest.self, from: request)
            return try Self.json(try await backend.addWebhook(auth.login, url: body.url), status: .created)
        })
        me.delete("/webhooks", use: route { request, _, backend, auth in
            guard let url = try Self.query(request)["url"], !url.isEmpty, url.utf8.count <= 2048 else {
                throw HTTPAPIError(.badRequest, code: "invalid_request", "give the webhook as ?url=")
            }
            return try Self.json(try await backend.removeWebhook(auth.login, url: url))
        })

        me.get("/usage", use: route { _, _, backend, auth in try Self.json(try await backend.usage(auth.login)) })

        me.get("/search", use: route { request, _, backend, auth in
            try Self.json(try await backend.search(auth.login, try Self.searchQuery(request)))
        })

        me.get("/export") { request, context in
            try await api {
                let parameters = try Self.query(request)
                let format = try Self.exportFormat(parameters["format"])
                let folder = try Self.folderParameter(parameters["folder"])
                return try await exportResponse(request, context: context, format: format, folder: folder, password: nil)
            }
        }
        me.post("/export") { request, context in
            try await api {
                let body = try await Self.decode(ExportRequest.self, from: request)
                return try await exportResponse(request, context: context, format: body.format, folder: try Self.folderParameter(body.folder),
                                                password: body.password)
            }
        }
    }

    static func exportFormat(_ text: String?) throws -> APIExportFormat {
        guard let text else { return .mbox }
        guard let format = APIExportFormat(rawValue: text) else {
            throw HTTPAPIError(.badRequest, code: "invalid_request",
                               "format must be one of: \(APIExportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return format
    }

    static func folderParameter(_ text: String?) throws -> String? {
        guard let text else { return nil }
        guard !text.isEmpty, text.utf8.count <= 1024 else { throw HTTPAPIError(.badRequest, code: "invalid_request", "bad folder") }
        return text
    }

    static func searchQuery(_ request: Request) throws -> APISearchQuery {
        let p = try Self.query(request)
        guard let q = p["q"], !q.isEmpty else { throw HTTPAPIError(.badRequest, code: "invalid_request", "give the query as ?q=") }
        var search = APISearchQuery(query: q)
        if let mode = p["mode"] {
            guard let m = APISearchMode(rawValue: mode) else {
                throw HTTPAPIError(.badRequest, code: "invalid_request", "mode must be text or regex")
            }
            search.mode = m
        }
        search.folder = try folderParameter(p["folder"])
        if p["caseInsensitive"] != nil { search.caseInsensitive = try flag("caseInsensitive", request) }
        if let limit = p["limit"] {
            guard let n = Int(limit), (1...APISearchQuery.maxLimit).contains(n) else {
                throw HTTPAPIError(.badRequest, code: "invalid_request", "limit must be 1 to \(APISearchQuery.maxLimit)")
            }
            search.limit = n
        }
        if let cursor = p["cursor"] {
            guard !cursor.isEmpty, cursor.utf8.count <= 64 else { throw HTTPAPIError(.badRequest, code: "invalid_request", "bad cursor") }
            search.cursor = cursor
        }
        return search
    }

    /// The export, streamed: the owner's login (a Basic one) lasts until the last byte is written.
    func exportResponse(_ request: Request, context: SealboxRequestContext, format: APIExportFormat, folder: String?,
                        password bodyPassword: String?) async throws -> Response {
        let backend = try requireBackend()
        let auth = try await requireOwner(request, context: context)
        let export: HTTPExport
        do {
            var password = auth.password
            if format == .sqlite, password == nil, let bodyPassword {
                // Checked through the throttle like any sign-in before the store sees it.
                try checkTransport(context)
                let check = try await signIn(backend: backend, address: auth.login.address, password: bodyPassword, context: context)
                await backend.signOut(check)
                password = bodyPassword
            }
            export = try await backend.export(auth.login, format: format, folder: folder, password: password)
        } catch {
            await finish(auth)
            throw error
        }
        var headers = HTTPFields()
        headers[.contentType] = export.contentType
        headers[HTTPField.Name("Content-Disposition")!] = "attachment; filename=\"\(export.filename.filter { $0 != "\"" && $0 != "\\" && !$0.isNewline })\""
        headers[.cacheControl] = "no-store"
        let server = self
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            do {
                for try await chunk in export.chunks { try await writer.write(ByteBuffer(bytes: chunk)) }
                try await writer.finish(nil)
            } catch {
                await server.finish(auth)
                server.logger.notice("HTTP API: an export ended early", metadata: ["http.error": "\(type(of: error))"])
                throw error
            }
            await server.finish(auth)
        })
    }
}
