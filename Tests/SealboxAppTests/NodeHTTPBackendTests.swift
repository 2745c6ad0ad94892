import Directory
import Foundation
import HTTPServer
import MailboxAPI
import MailCore
import MailNet
import MailStore
import SealboxApp
import Testing

/// The HTTP backend over a real node: owner sign-in, passwords made by a session, search budgets,
/// the streamed export, admin tokens.
@Suite struct NodeHTTPBackendTests {
    final class Fixture: Sendable {
        let dir = NSTemporaryDirectory() + "sealbox-http-" + UUID().uuidString
        let node: SealboxNode
        let password: String
        let configuration: SealboxConfiguration

        init() async throws {
            node = try SealboxNode.open(dataDirectory: dir)
            _ = try await node.directory.addDomain(try Domain("example.com"))
            let alias = try await node.directory.addAlias(try EmailAddress("user@example.com"), store: true, forwardTo: [], webhooks: [],
                                                          quotaBytes: nil)
            password = try await node.mailboxes.createMailbox(for: alias, label: "t").password
            configuration = try await SealboxConfiguration.load(overrides: [:], configFile: nil, environment: [:])
        }

        func backend(_ budget: NodeHTTPBackend.SearchBudget = .init()) -> NodeHTTPBackend {
            NodeHTTPBackend(node: node, configuration: configuration,
                            authenticator: SessionAuthenticator(mailboxes: node.mailboxes, gate: nil, limiter: nil),
                            logger: .init(label: "test"), searchBudget: budget)
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func signIn(_ backend: NodeHTTPBackend, _ password: String) async throws -> OwnerLogin {
        guard case .success(let login) = await backend.signIn(address: "user@example.com", password: password, remoteIP: "127.0.0.1") else {
            throw HTTPBackendError(.invalid, "sign-in failed")
        }
        return login
    }

    static func append(_ login: OwnerLogin, subject: String, body: String) async throws {
        let session = try #require((login.handle as? MailboxLogin)?.session)
        _ = try await session.append(to: "INBOX", message: Array("From: a@example.org\r\nSubject: \(subject)\r\n\r\n\(body)\r\n".utf8),
                                     flags: [], keywords: [], internalDate: nil)
    }

    @Test func aCostlyPatternIsAClearErrorAndABudgetEndsAPageEarly() async throws {
        let f = try await Fixture()
        var budget = NodeHTTPBackend.SearchBudget()
        budget.regexSteps = 300_000
        budget.time = .seconds(3600)  // only the steps count here: no timing in the test
        let backend = f.backend(budget)
        let login = try await Self.signIn(backend, f.password)
        try await Self.append(login, subject: "long", body: String(repeating: "a", count: 60_000))
        try await Self.append(login, subject: "short", body: "aaab")
        // Newest first: the short message matches, then the long one spends the budget.
        let page = try await backend.search(login, APISearchQuery(query: "^(a|aa)*b$", mode: .regex))
        #expect(page.results.map(\.subject) == ["short"])
        #expect(page.budgetExhausted)
        let next = try #require(page.next)
        // Continuing starts at the long message alone: the pattern is too costly for it.
        await #expect(throws: HTTPBackendError.self) {
            _ = try await backend.search(login, APISearchQuery(query: "^(a|aa)*b$", mode: .regex, cursor: next))
        }
        do {
            _ = try await backend.search(login, APISearchQuery(query: "^(a|aa)*b$", mode: .regex, cursor: next))
        } catch let error as HTTPBackendError {
            #expect(error.code == .limitExceeded)
        }
        // A cheap pattern goes through both.
        let all = try await backend.search(login, APISearchQuery(query: "sub?ject: (long|short)", mode: .regex))
        #expect(all.results.count == 2 && !all.budgetExhausted && all.next == nil)
        await backend.signOut(login)
    }

    @Test func aSessionMakesAPasswordThatOpensTheMailboxAndIsRevoked() async throws {
        let f = try await Fixture()
        let backend = f.backend()
        let login = try await Self.signIn(backend, f.password)
        let made = try await backend.generateOwnerPassword(login, label: "api")
        let second = try await Self.signIn(backend, made.password)
        #expect(second.passwordID == made.id)
        await backend.signOut(second)
        do {
            try await backend.revokeOwnerPassword(login, id: login.passwordID, force: false)
            Issue.record("revoking the session's own password without force")
        } catch let error as HTTPBackendError {
            #expect(error.code == .conflict)
        }
        try await backend.revokeOwnerPassword(login, id: made.id, force: false)
        guard case .failed = await backend.signIn(address: "user@example.com", password: made.password, remoteIP: "127.0.0.1") else {
            Issue.record("a revoked password signs in"); return
        }
        #expect(try await backend.ownerPasswords(login).map(\.id) == [login.passwordID])
        await backend.signOut(login)
    }

    @Test func exportComesInPiecesAndAdminTokensCheck() async throws {
        let f = try await Fixture()
        let backend = f.backend()
        let login = try await Self.signIn(backend, f.password)
        for i in 0..<40 { try await Self.append(login, subject: "m\(i)", body: String(repeating: "x", count: 20_000)) }
        let export = try await backend.export(login, format: .mbox, folder: nil, password: nil)
        var pieces = 0, bytes = 0
        for try await piece in export.chunks { pieces += 1; bytes += piece.count; #expect(piece.count < 1 << 20) }
        #expect(pieces > 1 && bytes > 800_000)
        let (token, record) = AdminToken.generate(label: "t")
        try await f.node.directory.addAdminToken(record)
        guard case .success(let info) = await backend.authenticateAdmin(token: token, remoteIP: "127.0.0.1") else {
            Issue.record("a valid token"); return
        }
        #expect(info.id == record.id)
        await backend.signOut(login)
    }
}
