import Foundation
import HTTPServer
import Synchronization

/// An in-memory `HTTPBackend` for route tests: one admin token, domains, aliases with passwords,
/// forwards and webhooks, a mailbox of a few messages per owner. No throttle beyond a counter:
/// after `maxFailures` failures from an IP it answers `throttled`.
final class FakeHTTPBackend: HTTPBackend {
    struct Alias {
        var record: APIAlias
        var passwords: [(APIPassword, String)] = []
    }
    struct State {
        var domains: [APIDomain] = []
        var aliases: [String: Alias] = [:]
        var failures: [String: Int] = [:]
        var signedOut = 0
        var messages: [APISearchHit] = []
        var bodies: [UInt32: String] = [:]
    }

    static let adminToken = "test-admin-token"
    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)
    let state = Mutex(State())
    let maxFailures: Int

    init(maxFailures: Int = 5) {
        self.maxFailures = maxFailures
        state.withLock { s in
            s.domains = [APIDomain(name: "example.com", unicode: "example.com", created: Self.epoch)]
            var alias = Alias(record: APIAlias(address: "user@example.com", store: true, hasMailbox: true, forwardTo: [], webhooks: [],
                                               quotaBytes: nil, sendAs: [], created: Self.epoch))
            alias.passwords = [(APIPassword(id: "p1", label: "first", created: Self.epoch, lastUsed: nil), "secret-password")]
            s.aliases["user@example.com"] = alias
            s.messages = [
                APISearchHit(uid: 1, folder: "INBOX", subject: "Hello there", from: "a@example.net", date: Self.epoch, size: 100),
                APISearchHit(uid: 2, folder: "INBOX", subject: "Invoice 42", from: "b@example.net", date: Self.epoch, size: 200),
                APISearchHit(uid: 3, folder: "Archive", subject: "aaaa", from: "c@example.net", date: Self.epoch, size: 300),
            ]
            s.bodies = [1: "hello world", 2: "please pay invoice 42", 3: String(repeating: "a", count: 50)]
        }
    }

    private func throttle(_ ip: String) -> Bool { state.withLock { $0.failures[ip, default: 0] >= maxFailures } }
    private func fail(_ ip: String) { state.withLock { $0.failures[ip, default: 0] += 1 } }

    func authenticateAdmin(token: String, remoteIP: String) async -> AdminAuthOutcome {
        if throttle(remoteIP) { return .throttled(retryAfter: .seconds(60)) }
        guard token == Self.adminToken else { fail(remoteIP); return .failed }
        return .success(APIAdminToken(id: "t1", label: "test", created: Self.epoch, lastUsed: nil))
    }

    func domains() async throws -> [APIDomain] { state.withLock { $0.domains } }

    func addDomain(_ name: String) async throws -> APIDomain {
        guard name.contains("."), !name.contains(" ") else { throw HTTPBackendError(.invalid, "not a domain: \(name)") }
        return try state.withLock { s in
            guard !s.domains.contains(where: { $0.name == name }) else { throw HTTPBackendError(.conflict, "domain exists") }
            let d = APIDomain(name: name, unicode: name, created: Self.epoch)
            s.domains.append(d)
            return d
        }
    }

    func removeDomain(_ name: String) async throws {
        try state.withLock { s in
            guard s.domains.contains(where: { $0.name == name }) else { throw HTTPBackendError(.notFound, "no such domain") }
            guard !s.aliases.keys.contains(where: { $0.hasSuffix("@" + name) }) else { throw HTTPBackendError(.conflict, "domain has aliases") }
            s.domains.removeAll { $0.name == name }
        }
    }

    func dnsRecords(domain: String) async throws -> APIDNSRecords {
        guard try await domains().contains(where: { $0.name == domain }) else { throw HTTPBackendError(.notFound, "no such domain") }
        let mx = APIDNSRecord(name: domain + ".", type: "MX", values: ["10", "mail.example.com."], comment: nil,
                              zoneLine: "\(domain). 3600 IN MX 10 mail.example.com.")
        return APIDNSRecords(domain: domain, records: [mx], text: mx.zoneLine + "\n")
    }

    func aliases(domain: String?) async throws -> [APIAlias] {
        state.withLock { s in s.aliases.values.map(\.record).filter { domain == nil || $0.address.hasSuffix("@" + domain!) }
            .sorted { $0.address < $1.address } }
    }

    func alias(_ address: String) async throws -> APIAlias {
        guard let a = state.withLock({ $0.aliases[address]?.record }) else { throw HTTPBackendError(.notFound, "no such alias") }
        return a
    }

    func addAlias(_ request: APIAliasCreate) async throws -> APIAlias {
        guard request.address.contains("@") else { throw HTTPBackendError(.invalid, "not an address") }
        return try state.withLock { s in
            guard s.aliases[request.address] == nil else { throw HTTPBackendError(.conflict, "alias exists") }
            let a = APIAlias(address: request.address, store: request.store ?? true, hasMailbox: false, forwardTo: request.forwardTo ?? [],
                             webhooks: request.webhooks ?? [], quotaBytes: request.quotaBytes, sendAs: request.sendAs ?? [], created: Self.epoch)
            s.aliases[request.address] = Alias(record: a)
            return a
        }
    }

    func removeAlias(_ address: String, purge: Bool) async throws -> [String] {
        try state.withLock { s in
            guard let a = s.aliases[address] else { throw HTTPBackendError(.notFound, "no such alias") }
            if a.record.hasMailbox, !purge { throw HTTPBackendError(.conflict, "has a mailbox: purge") }
            s.aliases[address] = nil
            return ["removed alias \(address)"]
        }
    }

    func passwords(address: String) async throws -> [APIPassword] {
        guard let a = state.withLock({ $0.aliases[address] }) else { throw HTTPBackendError(.notFound, "no such alias") }
        return a.passwords.map(\.0)
    }

    func generatePassword(address: String, label: String?) async throws -> APIGeneratedPassword {
        try state.withLock { s in
            guard var a = s.aliases[address] else { throw HTTPBackendError(.notFound, "no such alias") }
            guard !a.record.hasMailbox else { throw HTTPBackendError(.conflict, "the owner makes further passwords") }
            let id = "p\(a.passwords.count + 1)", password = "generated-\(address)"
            a.passwords.append((APIPassword(id: id, label: label, created: Self.epoch, lastUsed: nil), password))
            a.record.hasMailbox = true
            s.aliases[address] = a
            return APIGeneratedPassword(id: id, label: label, password: password)
        }
    }

    func revokePassword(address: String, id: String, force: Bool) async throws {
        try state.withLock { s in
            guard var a = s.aliases[address] else { throw HTTPBackendError(.notFound, "no such alias") }
            guard a.passwords.contains(where: { $0.0.id == id }) else { throw HTTPBackendError(.notFound, "no such password") }
            if a.passwords.count == 1, !force { throw HTTPBackendError(.conflict, "the last password") }
            a.passwords.removeAll { $0.0.id == id }
            s.aliases[address] = a
        }
    }

    func queue() async throws -> APIQueue {
        APIQueue(sealed: [.init(mailbox: "user@example.com", count: 1, bytes: 10, oldest: Self.epoch)],
                 outbound: [.init(id: 7, kind: "smtp", target: "forward to x@example.org", created: Self.epoch, attempts: 1,
                                  nextAttempt: Self.epoch, lastError: nil)])
    }
    func retryQueue() async throws -> Int { 1 }
    func backupStatus() async throws -> APIBackupStatus {
        APIBackupStatus(configured: false, destination: nil, intervalSeconds: nil, mailboxes: [])
    }
    func runBackup(address: String?) async throws -> [APIBackupResult] {
        throw HTTPBackendError(.conflict, "no backup destination")
    }
    func backups(address: String) async throws -> [APIBackupGeneration] {
        throw HTTPBackendError(.conflict, "no backup destination")
    }

    func signIn(address: String, password: String, remoteIP: String) async -> OwnerSignInOutcome {
        if throttle(remoteIP) { return .throttled(retryAfter: .seconds(60)) }
        guard let a = state.withLock({ $0.aliases[address] }), let p = a.passwords.first(where: { $0.1 == password }) else {
            fail(remoteIP)
            return .failed
        }
        return .success(OwnerLogin(address: address, passwordID: p.0.id, handle: 0))
    }
    func signOut(_ login: OwnerLogin) async { state.withLock { $0.signedOut += 1 } }
    func isStillValid(_ login: OwnerLogin) async -> Bool {
        state.withLock { $0.aliases[login.address]?.passwords.contains { $0.0.id == login.passwordID } ?? false }
    }

    func ownerPasswords(_ login: OwnerLogin) async throws -> [APIPassword] { try await passwords(address: login.address) }
    func generateOwnerPassword(_ login: OwnerLogin, label: String?) async throws -> APIGeneratedPassword {
        state.withLock { s in
            var a = s.aliases[login.address]!
            let id = "p\(a.passwords.count + 1)", password = "owner-generated-\(a.passwords.count + 1)"
            a.passwords.append((APIPassword(id: id, label: label, created: Self.epoch, lastUsed: nil), password))
            s.aliases[login.address] = a
            return APIGeneratedPassword(id: id, label: label, password: password)
        }
    }
    func revokeOwnerPassword(_ login: OwnerLogin, id: String, force: Bool) async throws {
        try await revokePassword(address: login.address, id: id, force: force)
    }

    func targets(_ login: OwnerLogin) async throws -> APITargets {
        let a = try await alias(login.address)
        return APITargets(forwardTo: a.forwardTo, webhooks: a.webhooks)
    }
    private func editTargets(_ login: OwnerLogin, _ change: (inout APIAlias) throws -> Void) async throws -> APITargets {
        try state.withLock { s in
            var a = s.aliases[login.address]!
            try change(&a.record)
            s.aliases[login.address] = a
        }
        return try await targets(login)
    }
    func addForward(_ login: OwnerLogin, address: String) async throws -> APITargets {
        guard address.contains("@") else { throw HTTPBackendError(.invalid, "not an address") }
        return try await editTargets(login) { $0.forwardTo.append(address) }
    }
    func removeForward(_ login: OwnerLogin, address: String) async throws -> APITargets {
        try await editTargets(login) { a in
            guard a.forwardTo.contains(address) else { throw HTTPBackendError(.notFound, "no such forward") }
            a.forwardTo.removeAll { $0 == address }
        }
    }
    func addWebhook(_ login: OwnerLogin, url: String) async throws -> APITargets {
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else { throw HTTPBackendError(.invalid, "not an http(s) URL") }
        return try await editTargets(login) { $0.webhooks.append(url) }
    }
    func removeWebhook(_ login: OwnerLogin, url: String) async throws -> APITargets {
        try await editTargets(login) { a in
            guard a.webhooks.contains(url) else { throw HTTPBackendError(.notFound, "no such webhook") }
            a.webhooks.removeAll { $0 == url }
        }
    }

    func usage(_ login: OwnerLogin) async throws -> APIUsage {
        APIUsage(address: login.address, usedBytes: 600, quotaBytes: 1 << 20,
                 folders: [.init(path: "INBOX", messages: 2, unseen: 1, bytes: 300), .init(path: "Archive", messages: 1, unseen: 0, bytes: 300)])
    }

    func search(_ login: OwnerLogin, _ query: APISearchQuery) async throws -> APISearchPage {
        if query.mode == .regex, query.query.contains("\\1") { throw HTTPBackendError(.invalid, "back-references are not supported") }
        let (messages, bodies) = state.withLock { ($0.messages, $0.bodies) }
        let start = Int(query.cursor ?? "0") ?? 0
        let matching = messages.filter { m in
            (query.folder == nil || m.folder == query.folder)
                && ((m.subject ?? "") + " " + (bodies[m.uid] ?? "")).lowercased().contains(query.query.lowercased())
        }
        let page = Array(matching.dropFirst(start).prefix(query.limit))
        let next = start + page.count < matching.count ? "\(start + page.count)" : nil
        return APISearchPage(results: page, next: next, examined: messages.count, budgetExhausted: false)
    }

    func export(_ login: OwnerLogin, format: APIExportFormat, folder: String?, password: String?) async throws -> HTTPExport {
        if format == .sqlite, password == nil { throw HTTPBackendError(.invalid, "the sqlite export needs the password (HTTP Basic)") }
        let chunks = (0..<3).map { Array("From x Thu Jan  1 00:00:00 1970\nSubject: \($0)\n\nbody\n\n".utf8) }
        let box = ChunkBox(chunks)
        let stream = AsyncThrowingStream<[UInt8], any Error>(unfolding: { box.next() })
        return HTTPExport(filename: "user.mbox", contentType: "application/mbox", chunks: stream)
    }
}

/// The chunks of a fake export, handed out one by one.
final class ChunkBox: Sendable {
    let chunks: Mutex<ArraySlice<[UInt8]>>
    init(_ chunks: [[UInt8]]) { self.chunks = Mutex(chunks[...]) }
    func next() -> [UInt8]? { chunks.withLock { $0.popFirst() } }
}
