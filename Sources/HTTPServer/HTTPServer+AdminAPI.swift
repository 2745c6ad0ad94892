import Foundation
import Hummingbird

/// `/api/v1/admin/...`: the admin's JSON API (bearer admin tokens): domains and their DNS records,
/// aliases, passwords of any alias, the queue, backups. docs/http-api.md and docs/openapi.json
/// describe every route.
extension HTTPServer {
    struct DomainCreate: Codable { var name: String }
    struct LabelRequest: Codable { var label: String? }
    struct BackupRunRequest: Codable { var address: String? }
    struct DomainList: Codable { var domains: [APIDomain] }
    struct AliasList: Codable { var aliases: [APIAlias] }
    struct PasswordList: Codable { var passwords: [APIPassword] }
    struct Deleted: Codable { var deleted: [String] }
    struct RetryResult: Codable { var due: Int }
    struct BackupResults: Codable { var results: [APIBackupResult] }
    struct GenerationList: Codable { var generations: [APIBackupGeneration] }

    func addAdminRoutes(to router: Router<SealboxRequestContext>) {
        let admin = router.group("/api/v1/admin")

        /// Every admin route: the token checked first.
        func route(_ body: @escaping @Sendable (Request, SealboxRequestContext, any HTTPBackend) async throws -> Response)
            -> @Sendable (Request, SealboxRequestContext) async throws -> Response {
            { request, context in
                try await api {
                    _ = try await requireAdmin(request, context: context)
                    return try await body(request, context, try requireBackend())
                }
            }
        }

        admin.get("/domains", use: route { _, _, backend in try Self.json(DomainList(domains: try await backend.domains())) })
        admin.post("/domains", use: route { request, _, backend in
            let body = try await Self.decode(DomainCreate.self, from: request)
            return try Self.json(try await backend.addDomain(body.name), status: .created)
        })
        admin.delete("/domains/:domain", use: route { _, context, backend in
            try await backend.removeDomain(try Self.parameter("domain", context, limit: 253))
            return Self.noContent()
        })
        admin.get("/domains/:domain/dns", use: route { _, context, backend in
            try Self.json(try await backend.dnsRecords(domain: try Self.parameter("domain", context, limit: 253)))
        })

        admin.get("/aliases", use: route { request, _, backend in
            let domain = try Self.query(request)["domain"]
            if let domain, domain.isEmpty || domain.utf8.count > 253 {
                throw HTTPAPIError(.badRequest, code: "invalid_request", "bad domain")
            }
            return try Self.json(AliasList(aliases: try await backend.aliases(domain: domain)))
        })
        admin.post("/aliases", use: route { request, _, backend in
            let body = try await Self.decode(APIAliasCreate.self, from: request)
            return try Self.json(try await backend.addAlias(body), status: .created)
        })
        admin.get("/aliases/:address", use: route { _, context, backend in
            try Self.json(try await backend.alias(try Self.parameter("address", context)))
        })
        admin.delete("/aliases/:address", use: route { request, context, backend in
            let lines = try await backend.removeAlias(try Self.parameter("address", context), purge: try Self.flag("purge", request))
            return try Self.json(Deleted(deleted: lines))
        })
        admin.get("/aliases/:address/passwords", use: route { _, context, backend in
            try Self.json(PasswordList(passwords: try await backend.passwords(address: try Self.parameter("address", context))))
        })
        admin.post("/aliases/:address/passwords", use: route { request, context, backend in
            let address = try Self.parameter("address", context)
            let body = try await Self.decode(LabelRequest.self, from: request)
            return try Self.json(try await backend.generatePassword(address: address, label: body.label), status: .created)
        })
        admin.delete("/aliases/:address/passwords/:id", use: route { request, context, backend in
            try await backend.revokePassword(address: try Self.parameter("address", context), id: try Self.parameter("id", context, limit: 64),
                                             force: try Self.flag("force", request))
            return Self.noContent()
        })

        admin.get("/queue", use: route { _, _, backend in try Self.json(try await backend.queue()) })
        admin.post("/queue/retry", use: route { _, _, backend in try Self.json(RetryResult(due: try await backend.retryQueue())) })

        admin.get("/backups", use: route { _, _, backend in try Self.json(try await backend.backupStatus()) })
        admin.post("/backups", use: route { request, _, backend in
            let body = try await Self.decode(BackupRunRequest.self, from: request)
            return try Self.json(BackupResults(results: try await backend.runBackup(address: body.address)))
        })
        admin.get("/backups/:address", use: route { _, context, backend in
            try Self.json(GenerationList(generations: try await backend.backups(address: try Self.parameter("address", context))))
        })
    }
}
