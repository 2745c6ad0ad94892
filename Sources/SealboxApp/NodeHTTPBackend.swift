import Directory
import Foundation
import HTTPServer
import Logging
import MailboxAPI
import MailCore
import MailNet
import MailStore

/// The HTTP API's and web pages' view of the node (`HTTPBackend`): the directory and the mailboxes
/// of `node`, the same operations the CLI commands do (through `SealboxAdmin` where a command's
/// logic is more than one call), and owner logins through the node's one `SessionAuthenticator`
/// (its throttle and per-mailbox session limit apply to the API as to IMAP).
public final class NodeHTTPBackend: HTTPBackend {
    let node: SealboxNode
    let configuration: SealboxConfiguration
    let authenticator: SessionAuthenticator
    let audit: AuthAudit
    let logger: Logger
    let searchBudget: SearchBudget
    /// The throttle's account name for admin token failures (all tokens count as one account).
    static let adminAccount = "admin-token"

    public init(node: SealboxNode, configuration: SealboxConfiguration, authenticator: SessionAuthenticator, logger: Logger,
                searchBudget: SearchBudget = SearchBudget()) {
        self.node = node
        self.searchBudget = searchBudget
        self.configuration = configuration
        self.authenticator = authenticator
        self.audit = AuthAudit(protocolName: "http", logger: logger)
        self.logger = logger
    }

    // MARK: - Errors

    /// Runs `body`, turning the node's refusals into `HTTPBackendError`s (their messages never
    /// carry a secret: the directory and the store say so of theirs).
    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as HTTPBackendError {
            throw error
        } catch let error as DirectoryError {
            throw HTTPBackendError(Self.code(error.code), error.message)
        } catch let error as MailStoreError {
            throw HTTPBackendError(Self.code(error.code), error.detail)
        } catch let error as AddressError {
            throw HTTPBackendError(.invalid, error.description)
        } catch let error as SealboxNode.Failure {
            throw HTTPBackendError(error.description.hasPrefix("no such") ? .notFound : .conflict, error.description)
        } catch let error as SealboxBackups.NotConfigured {
            throw HTTPBackendError(.conflict, error.description)
        }
    }

    static func code(_ code: DirectoryError.Code) -> HTTPBackendError.Code {
        switch code {
        case .noSuchDomain, .noSuchAlias, .noSuchPassword, .noSuchSieveScript, .noSuchAdminToken: .notFound
        case .domainExists, .aliasExists, .domainHasAliases, .mailboxAlreadySet, .mailboxInUse, .passwordExists, .sieveScriptExists,
             .sieveScriptActive, .aliasDoesNotStore: .conflict
        case .tooManyTargets, .sieveQuota, .tooManyAdminTokens: .limitExceeded
        case .schemaTooNew, .corruptRecord: .unavailable
        default: .invalid
        }
    }

    static func code(_ code: MailStoreError.Code) -> HTTPBackendError.Code {
        switch code {
        case .noSuchFolder, .noSuchMessage, .noSuchPassword, .noMailbox: .notFound
        case .lastPassword, .notStored, .folderExists, .cannotDeleteInbox: .conflict
        case .overQuota, .messageTooLarge: .limitExceeded
        case .mailboxClosed, .insufficientStorage, .unavailable: .unavailable
        default: .invalid
        }
    }

    func address(_ text: String) throws -> EmailAddress {
        guard text.utf8.count <= 320 else { throw HTTPBackendError(.invalid, "address too long") }
        do { return try EmailAddress(text) } catch { throw HTTPBackendError(.invalid, "not an address: \(error.description)") }
    }

    func domain(_ text: String) throws -> Domain {
        guard text.utf8.count <= 253 else { throw HTTPBackendError(.invalid, "domain too long") }
        do { return try Domain(text) } catch { throw HTTPBackendError(.invalid, "not a domain name") }
    }

    func aliasRecord(_ text: String) async throws -> AliasRecord {
        let addr = try address(text)
        guard let alias = try await node.directory.alias(address: addr) else { throw HTTPBackendError(.notFound, "no such alias: \(addr)") }
        return alias
    }

    // MARK: - Admin

    public func authenticateAdmin(token: String, remoteIP: String) async -> AdminAuthOutcome {
        let gate = authenticator.gate
        let started = ContinuousClock.now
        if let gate, let wait = await gate.begin(ip: remoteIP, account: Self.adminAccount) {
            audit.failure(ip: remoteIP, user: Self.adminAccount, reason: .throttled)
            return .throttled(retryAfter: wait)
        }
        let record: AdminTokenRecord?
        do {
            record = token.utf8.count <= 256 ? try await node.directory.adminToken(matching: token) : nil
        } catch {
            await gate?.cancelled(ip: remoteIP, account: Self.adminAccount)
            logger.error("admin token check failed: the directory is unreadable")
            return .failed
        }
        guard let record else {
            let verdict = await gate?.failed(ip: remoteIP, account: Self.adminAccount) ?? AuthFailureVerdict(answerAfter: .seconds(1))
            audit.failure(ip: remoteIP, user: Self.adminAccount, reason: .badCredentials)
            for lockout in verdict.lockouts { audit.lockout(ip: remoteIP, user: Self.adminAccount, lockout) }
            let elapsed = ContinuousClock.now - started
            if verdict.answerAfter > elapsed { try? await Task.sleep(for: verdict.answerAfter - elapsed) }
            return .failed
        }
        await gate?.succeeded(ip: remoteIP, account: Self.adminAccount)
        return .success(APIAdminToken(id: record.id, label: record.label, created: record.created, lastUsed: record.lastUsed))
    }

    public func domains() async throws -> [APIDomain] {
        try await run { try await node.directory.domains().map(Self.apiDomain) }
    }

    static func apiDomain(_ d: DomainRecord) -> APIDomain { APIDomain(name: d.domain.ascii, unicode: d.domain.unicode, created: d.created) }

    public func addDomain(_ name: String) async throws -> APIDomain {
        try await run {
            let record = try await SealboxAdmin.addDomain(node: node, try domain(name))
            return Self.apiDomain(record)
        }
    }

    public func removeDomain(_ name: String) async throws {
        try await run { try await node.directory.removeDomain(try domain(name)) }
    }

    public func dnsRecords(domain name: String) async throws -> APIDNSRecords {
        try await run {
            let d = try domain(name)
            let records = try await SealboxAdmin.dnsRecords(node: node, configuration: configuration, domain: d)
            return APIDNSRecords(domain: d.ascii, records: records.records.map {
                APIDNSRecord(name: $0.name, type: $0.type, values: $0.values, comment: $0.comment, zoneLine: $0.zoneLine)
            }, text: records.text)
        }
    }

    public func aliases(domain name: String?) async throws -> [APIAlias] {
        try await run {
            var out: [APIAlias] = []
            for a in try await node.directory.aliases(domain: try name.map(domain)) { out.append(try await apiAlias(a)) }
            return out
        }
    }

    func apiAlias(_ a: AliasRecord) async throws -> APIAlias {
        APIAlias(address: a.address.description, store: a.store, hasMailbox: a.mailboxID != nil, forwardTo: a.forwardTo.map(\.description),
                 webhooks: a.webhooks, quotaBytes: a.quotaBytes, sendAs: try await node.directory.sendAs(aliasID: a.id), created: a.created)
    }

    public func alias(_ address: String) async throws -> APIAlias {
        try await run { try await apiAlias(try await aliasRecord(address)) }
    }

    public func addAlias(_ request: APIAliasCreate) async throws -> APIAlias {
        try await run {
            let record = try await SealboxAdmin.addAlias(
                node: node, try address(request.address), store: request.store ?? true, forwardTo: try (request.forwardTo ?? []).map(address),
                webhooks: request.webhooks ?? [], quotaBytes: request.quotaBytes, sendAs: request.sendAs ?? [])
            return try await apiAlias(record)
        }
    }

    public func removeAlias(_ address: String, purge: Bool) async throws -> [String] {
        try await run {
            try await SealboxAdmin.removeAlias(node: node, configuration: configuration, try self.address(address), purge: purge, logger: logger)
        }
    }

    static func apiPassword(_ p: PasswordRecord) -> APIPassword { APIPassword(id: p.id, label: p.label, created: p.created, lastUsed: p.lastUsed) }

    static func checkLabel(_ label: String?) throws {
        guard let label else { return }
        guard label.count <= 100, !label.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw HTTPBackendError(.invalid, "a label is at most 100 printable characters")
        }
    }

    public func passwords(address: String) async throws -> [APIPassword] {
        try await run { try await node.directory.passwords(aliasID: try await aliasRecord(address).id).map(Self.apiPassword) }
    }

    public func generatePassword(address: String, label: String?) async throws -> APIGeneratedPassword {
        try await run {
            try Self.checkLabel(label)
            let alias = try await aliasRecord(address)
            guard alias.store else { throw HTTPBackendError(.conflict, "\(alias.address) does not store mail: it has no mailbox and no passwords") }
            guard alias.mailboxID == nil else {
                throw HTTPBackendError(.conflict, "\(alias.address) has a mailbox: only its owner can add passwords (a current password unwraps its key)")
            }
            let (password, record) = try await node.mailboxes.createMailbox(for: alias, label: label)
            return APIGeneratedPassword(id: record.id, label: record.label, password: password)
        }
    }

    public func revokePassword(address: String, id: String, force: Bool) async throws {
        try await run { try await node.mailboxes.revokePassword(address: try self.address(address), passwordID: id, allowLast: force) }
    }

    public func queue() async throws -> APIQueue {
        try await run {
            return try await SealboxAdmin.queueListing(node: node)
        }
    }

    public func retryQueue() async throws -> Int {
        try await run { try await SealboxAdmin.retryQueue(node: node) }
    }

    public func backupStatus() async throws -> APIBackupStatus {
        try await run {
            guard configuration.backup.destination != nil else {
                return APIBackupStatus(configured: false, destination: nil, intervalSeconds: nil, mailboxes: [])
            }
            let backups = try SealboxBackups.service(configuration: configuration, node: node, logger: logger)
            var mailboxes: [APIBackupStatus.Mailbox] = []
            for alias in try await node.directory.aliases(domain: nil) where alias.mailboxID != nil {
                let latest = try? await backups.generations(address: alias.address).max(by: { $0.date < $1.date })
                mailboxes.append(.init(address: alias.address.description,
                                       latest: latest.flatMap { $0 }.map { APIBackupGeneration(id: $0.id, date: $0.date, size: $0.size) }))
            }
            let destination = backups.destination.displayName
            try? await backups.destination.shutdown()
            return APIBackupStatus(configured: true, destination: destination,
                                   intervalSeconds: configuration.backup.interval.map { Int($0.components.seconds) }, mailboxes: mailboxes)
        }
    }

    public func runBackup(address: String?) async throws -> [APIBackupResult] {
        try await run {
            let backups = try SealboxBackups.service(configuration: configuration, node: node, logger: logger)
            let targets: [EmailAddress]
            if let address {
                targets = [try self.address(address)]
            } else {
                targets = try await node.directory.aliases(domain: nil).filter { $0.mailboxID != nil }.map(\.address)
            }
            var results: [APIBackupResult] = []
            for target in targets {
                do {
                    let outcome = try await backups.backUp(address: target)
                    results.append(APIBackupResult(address: target.description, ok: true, detail: outcome.description))
                } catch {
                    results.append(APIBackupResult(address: target.description, ok: false, detail: "\(error)"))
                }
            }
            try? await backups.destination.shutdown()
            return results
        }
    }

    public func backups(address: String) async throws -> [APIBackupGeneration] {
        try await run {
            let backups = try SealboxBackups.service(configuration: configuration, node: node, logger: logger)
            let generations = try await backups.generations(address: try self.address(address))
            try? await backups.destination.shutdown()
            return generations.map { APIBackupGeneration(id: $0.id, date: $0.date, size: $0.size) }
        }
    }
}
