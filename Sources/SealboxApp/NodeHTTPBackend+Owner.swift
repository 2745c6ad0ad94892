import Directory
import Foundation
import HTTPServer
import MailboxAPI
import MailCore
import MailNet
import MailStore

/// The mailbox owner's operations: signed in through the node's `SessionAuthenticator`, each on
/// the owner's own alias and open mailbox.
extension NodeHTTPBackend {
    public func signIn(address: String, password: String, remoteIP: String) async -> OwnerSignInOutcome {
        switch await authenticator.authenticate(user: address, password: password, remoteIP: remoteIP, audit: audit) {
        case .authenticated(let login):
            return .success(OwnerLogin(address: login.session.address.description, passwordID: login.session.passwordID, handle: login))
        case .failed: return .failed
        case .throttled(let retryAfter): return .throttled(retryAfter: retryAfter)
        case .tooManySessions: return .tooManySessions
        case .unavailable(let error):
            logger.error("owner sign-in: the mailbox could not be opened", metadata: ["http.error": "\(type(of: error))"])
            return .unavailable
        }
    }

    func mailboxLogin(_ login: OwnerLogin) throws -> MailboxLogin {
        guard let mailbox = login.handle as? MailboxLogin else { throw HTTPBackendError(.unavailable, "not a login of this node") }
        return mailbox
    }

    func session(_ login: OwnerLogin) throws -> any MailboxSession { try mailboxLogin(login).session }

    public func signOut(_ login: OwnerLogin) async {
        await (login.handle as? MailboxLogin)?.end()
    }

    public func isStillValid(_ login: OwnerLogin) async -> Bool {
        guard let session = try? session(login) else { return false }
        return await session.isStillAuthorized()
    }

    func ownerAlias(_ login: OwnerLogin) async throws -> AliasRecord {
        let session = try session(login)
        guard let alias = try await node.directory.alias(address: session.address), alias.mailboxID == session.mailboxID else {
            throw HTTPBackendError(.notFound, "this mailbox's alias is gone")
        }
        return alias
    }

    public func ownerPasswords(_ login: OwnerLogin) async throws -> [APIPassword] {
        try await run { try await node.directory.passwords(aliasID: try await ownerAlias(login).id).map(Self.apiPassword) }
    }

    public func generateOwnerPassword(_ login: OwnerLogin, label: String?) async throws -> APIGeneratedPassword {
        try await run {
            try Self.checkLabel(label)
            guard let local = try session(login) as? LocalMailboxSession else {
                throw HTTPBackendError(.unavailable, "passwords cannot be made for this session")
            }
            let (password, record) = try await node.mailboxes.addPassword(session: local, label: label)
            return APIGeneratedPassword(id: record.id, label: record.label, password: password)
        }
    }

    public func revokeOwnerPassword(_ login: OwnerLogin, id: String, force: Bool) async throws {
        try await run {
            guard id.utf8.count <= 64 else { throw HTTPBackendError(.invalid, "not a password id") }
            if id == login.passwordID, !force {
                throw HTTPBackendError(.conflict, "\(id) is the password this session signed in with (force=true revokes it and ends the session)")
            }
            try await node.mailboxes.revokePassword(address: try session(login).address, passwordID: id, allowLast: force)
        }
    }

    func apiTargets(_ alias: AliasRecord) -> APITargets {
        APITargets(forwardTo: alias.forwardTo.map(\.description), webhooks: alias.webhooks)
    }

    public func targets(_ login: OwnerLogin) async throws -> APITargets {
        try await run { apiTargets(try await ownerAlias(login)) }
    }

    func editTargets(_ login: OwnerLogin, _ change: (inout [EmailAddress], inout [String]) throws -> Void) async throws -> APITargets {
        try await run {
            let alias = try await ownerAlias(login)
            var forwards = alias.forwardTo, hooks = alias.webhooks
            try change(&forwards, &hooks)
            return apiTargets(try await node.directory.setTargets(aliasID: alias.id, forwardTo: forwards, webhooks: hooks))
        }
    }

    public func addForward(_ login: OwnerLogin, address text: String) async throws -> APITargets {
        let addr = try address(text)
        return try await editTargets(login) { forwards, _ in
            guard !forwards.contains(addr) else { throw HTTPBackendError(.conflict, "already forwarded to \(addr)") }
            forwards.append(addr)
        }
    }

    public func removeForward(_ login: OwnerLogin, address text: String) async throws -> APITargets {
        let addr = try address(text)
        return try await editTargets(login) { forwards, _ in
            guard forwards.contains(addr) else { throw HTTPBackendError(.notFound, "no forward to \(addr)") }
            forwards.removeAll { $0 == addr }
        }
    }

    public func addWebhook(_ login: OwnerLogin, url: String) async throws -> APITargets {
        if let problem = DirectoryRules.webhookProblem(url) { throw HTTPBackendError(.invalid, "the webhook \(problem)") }
        return try await editTargets(login) { _, hooks in
            guard !hooks.contains(url) else { throw HTTPBackendError(.conflict, "this webhook is already set") }
            hooks.append(url)
        }
    }

    public func removeWebhook(_ login: OwnerLogin, url: String) async throws -> APITargets {
        try await editTargets(login) { _, hooks in
            guard hooks.contains(url) else { throw HTTPBackendError(.notFound, "no such webhook") }
            hooks.removeAll { $0 == url }
        }
    }

    public func usage(_ login: OwnerLogin) async throws -> APIUsage {
        try await run {
            let session = try session(login)
            let (used, limit) = try await session.quota()
            var folders: [APIUsage.Folder] = []
            for f in try await session.folders() {
                let s = try await session.status(of: f.path)
                folders.append(.init(path: f.path, messages: s.messages, unseen: s.unseen, bytes: s.sizeBytes))
            }
            return APIUsage(address: session.address.description, usedBytes: used, quotaBytes: limit, folders: folders)
        }
    }
}
