import Foundation
import MailCore
import PostgresDirectory
import TestSupport
import Testing
@testable import Directory

@Suite("Directory: copy from SQLite into PostgreSQL, migrations")
struct DirectoryCopyTests {
    /// An SQLite directory with one of everything a copy carries.
    func filledSource() async throws -> TestDirectory {
        let t = try TestDirectory()
        let d = t.directory
        _ = try await d.addDomain(domain("example.com"))
        _ = try await d.addDomain(domain("bücher.example"))
        try await d.setDefaultQuota(domain("example.com"), bytes: 5 << 30)
        let a = try await d.addAlias(address("Jürgen@bücher.example"), store: true, forwardTo: [address("x@y.org")],
                                     webhooks: ["https://h.example/x?token=1"], quotaBytes: 1 << 30)
        try await d.setMailbox(aliasID: a.id, mailboxID: DirectoryID.random(), publicKey: Array(repeating: 3, count: 1216))
        _ = try await d.addAlias(address("fwd@example.com"), store: false, forwardTo: [address("jürgen@bücher.example")], webhooks: [], quotaBytes: nil)
        var p = samplePassword(aliasID: a.id)
        p.backupLocator = String(repeating: "ab", count: 32)
        try await d.addPassword(p)
        try await d.recordPasswordUse(aliasID: a.id, passwordID: p.id, at: Date(timeIntervalSince1970: 1_800_000_000.123))
        try await d.addPassword(samplePassword(aliasID: a.id, label: nil))
        try await d.setSendAs(aliasID: a.id, addresses: ["*@example.com", "fwd@example.com"])
        try await d.rotateDKIMKeys(domain: domain("example.com"), adding: [
            DKIMKeyRecord(domain: domain("example.com"), selector: "s1e", algorithm: "ed25519", privateKey: Array(repeating: 1, count: 32)),
        ], retiring: Date(), removingRetiredBefore: Date())
        try await d.putSieveScript(aliasID: a.id, name: "main", content: "keep;", at: Date(timeIntervalSince1970: 1_800_000_001))
        try await d.putSieveScript(aliasID: a.id, name: "other", content: "discard;", at: Date(timeIntervalSince1970: 1_800_000_002))
        try await d.activateSieveScript(aliasID: a.id, name: "main")
        try await d.addAdminToken(AdminToken.generate(label: "ops").record)
        return t
    }

    func expectSame(_ source: any MailDirectory, _ target: any MailDirectory) async throws {
        #expect(try await source.domains() == target.domains())
        let aliases = try await source.aliases(domain: nil)
        #expect(try await target.aliases(domain: nil) == aliases)
        for alias in aliases {
            #expect(try await source.passwords(aliasID: alias.id) == target.passwords(aliasID: alias.id))
            #expect(try await source.sendAs(aliasID: alias.id) == target.sendAs(aliasID: alias.id))
            #expect(try await source.sieveScripts(aliasID: alias.id) == target.sieveScripts(aliasID: alias.id))
            #expect(try await source.activeSieveScript(aliasID: alias.id) == target.activeSieveScript(aliasID: alias.id))
        }
        for d in try await source.domains() { #expect(try await source.dkimKeys(domain: d.domain) == target.dkimKeys(domain: d.domain)) }
        #expect(try await source.adminTokens() == target.adminTokens())
    }

    @Test("everything is copied with its ids and dates; a second copy writes nothing; a different non-empty target needs --force")
    func copy() async throws {
        let source = try await filledSource()
        let target = try await TestDirectory(.postgres)
        let pg = try #require(target.directory as? PostgresDirectory)
        let summary = try await pg.copy(from: source.directory, force: false)
        #expect(summary.domains == 2 && summary.aliases == 2 && summary.passwords == 2 && summary.sendAs == 2 && summary.dkimKeys == 1
                && summary.sieveScripts == 2 && summary.adminTokens == 1 && !summary.alreadyCopied)
        try await expectSame(source.directory, pg)
        // The copy works as a directory: the old password entry resolves, quotas apply.
        let alias = try #require(try await pg.resolveRecipient(address("jürgen+tag@bücher.example")))
        #expect(try await pg.passwords(aliasID: alias.id).contains { $0.backupLocator == String(repeating: "ab", count: 32) })
        #expect(try await pg.quota(of: try #require(try await pg.alias(address: address("fwd@example.com"))), nodeDefault: nil) == 5 << 30)
        // Again: nothing to do.
        #expect(try await pg.copy(from: source.directory, force: false).alreadyCopied)
        // The source changed: the target is not empty, so it is refused, unless forced.
        _ = try await source.directory.addDomain(domain("new.example"))
        await #expect(throws: PostgresDirectoryError.self) { try await pg.copy(from: source.directory, force: false) }
        #expect(try await pg.domains().count == 2)
        #expect(try await pg.copy(from: source.directory, force: true).domains == 3)
        try await expectSame(source.directory, pg)
    }

    @Test("migrations: recorded once, safe when several processes start at once; a newer schema is refused")
    func migrations() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        let url = try PostgresURL(server.url(database: database))
        var configuration = PostgresDirectory.Configuration(testURL: url)
        configuration.maxConnections = 2
        let fixed = configuration
        let opened = try await withThrowingTaskGroup(of: PostgresDirectory.self) { group in
            for _ in 0..<4 { group.addTask { try await PostgresDirectory.connect(fixed) } }
            var all: [PostgresDirectory] = []
            for try await d in group { all.append(d) }
            return all
        }
        #expect(opened.count == 4)
        #expect(try await opened[0].appliedMigrations() == ["v1-directory", "v2-cluster-registry", "v3-node-stats"])
        for d in opened { await d.shutdown() }
        try await server.psql("INSERT INTO sealbox_migration (name) VALUES ('v99-from-the-future')", database: database)
        await #expect(throws: DirectoryError(.schemaTooNew, "the PostgreSQL directory was migrated by a newer version of Sealbox; refusing to use it")) {
            let d = try await PostgresDirectory.connect(fixed)
            await d.shutdown()
        }
    }

    @Test("URLs: parsed, the password never shown; bad ones refused without echoing it; an unreachable server is a bounded, clear error")
    func urls() async throws {
        let url = try PostgresURL("postgres://sealbox:s%40cret-pw@db.example:6432/mail?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(url.user == "sealbox" && url.password == "s@cret-pw" && url.host == "db.example" && url.port == 6432 && url.database == "mail")
        #expect(url.sslMode == .verifyFull && url.sslRootCertificate == "/etc/ca.pem")
        #expect(url.description == "postgres://sealbox:***@db.example:6432/mail?sslmode=verify-full")
        #expect(!"\(url)".contains("cret"))
        #expect(try PostgresURL("postgresql://u@h").database == "u")
        for bad in ["mysql://u:secretpw@h/d", "postgres://:secretpw@h/d", "postgres://u:secretpw@h/d?sslmode=maybe", "postgres://u:secretpw@h/d?x=1",
                    "postgres://u:secretpw@/d"] {
            #expect {
                _ = try PostgresURL(bad)
            } throws: { error in
                !"\(error)".contains("secretpw")
            }
        }
        #expect(PostgresURL.redact("postgres://u:secretpw@h:1/d") == "postgres://u:***@h:1/d")
        // Nothing listens on this port: the error names the host, never the password, within the bound.
        var configuration = PostgresDirectory.Configuration(url: try PostgresURL("postgres://u:secretpw@127.0.0.1:\(MotoServer.freePort())/d?sslmode=disable&connect_timeout=2"))
        configuration.startTimeout = .seconds(5)
        await #expect {
            _ = try await PostgresDirectory.connect(configuration)
        } throws: { error in
            let text = "\(error)"
            return text.contains("127.0.0.1") && !text.contains("secretpw")
        }
    }

    @Test("TLS: sslmode=require and verify-full (with sslrootcert) connect; verify-full without the root and require against a plain server are clear errors")
    func tls() async throws {
        let server = try PostgresServer(tls: true)
        defer { server.stop() }
        let database = try await server.createDatabase()
        let root = try #require(server.certificatePath)
        let base = "postgres://\(server.user):\(server.password)@127.0.0.1:\(server.port)/\(database)"
        // connect_timeout=60 as `PostgresServer.url` has it: under the whole suite on two cores a TLS
        // connect to a fresh server has taken longer than the default 10 s (CI, 2026-12-07).
        for query in ["sslmode=require", "sslmode=verify-full&sslrootcert=\(root)", "sslmode=verify-ca&sslrootcert=\(root)", "sslmode=prefer"] {
            let d = try await PostgresDirectory.connect(testURL: base + "?" + query + "&connect_timeout=60")
            #expect(try await d.domains().isEmpty, "\(query)")
            // The pool's connection (idle now) is encrypted, as the server sees it.
            let encrypted = try await server.psql("""
                SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                WHERE a.application_name = 'sealbox' AND a.datname = '\(database)' AND s.ssl
                """)
            #expect((Int(encrypted.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 1, "\(query)")
            await d.shutdown()
        }
        // The system roots do not know the self-signed certificate.
        await #expect {
            let d = try await PostgresDirectory.connect(testURL: base + "?sslmode=verify-full&connect_timeout=5")
            await d.shutdown()
        } throws: { error in
            !"\(error)".contains(server.password) && !"\(error)".contains("\n")
        }
        // A server without TLS: require is refused, at once and clearly.
        let plain = try await PostgresServer.shared()
        let plainDatabase = try await plain.createDatabase()
        await #expect {
            let d = try await PostgresDirectory.connect(testURL: "postgres://\(plain.user):\(plain.password)@127.0.0.1:\(plain.port)/\(plainDatabase)?sslmode=require&connect_timeout=60")
            await d.shutdown()
        } throws: { error in
            "\(error)".contains("TLS") && !"\(error)".contains(plain.password)
        }
        // A wrong password: the server's message, not the password.
        await #expect {
            let d = try await PostgresDirectory.connect(testURL: "postgres://\(plain.user):wrong-\(plain.password)@127.0.0.1:\(plain.port)/\(plainDatabase)?sslmode=disable&connect_timeout=60")
            await d.shutdown()
        } throws: { error in
            "\(error)".contains("password authentication failed") && !"\(error)".contains(plain.password)
        }
    }

    @Test("connections the server ends (a PostgreSQL restart, an admin's pg_terminate_backend) are replaced: reads and transactions go on without an error")
    func connectionsReplaced() async throws {
        let t = try await TestDirectory(.postgres)
        _ = try await t.directory.addDomain(domain("example.com"))
        _ = try await t.directory.addDomain(domain("example.org"))
        // Several connections in the pool, then all of them ended by the server.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 { group.addTask { _ = try await t.directory.domains() } }
            try await group.waitForAll()
        }
        func terminate() async throws -> Int {
            let killed = try await t.server!.psql("""
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'sealbox' AND datname = '\(t.database!)'
                """)
            return Int(killed.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        #expect(try await terminate() >= 1)
        // A read that meets an ended connection runs again on another: no call fails.
        for _ in 0..<5 {
            #expect(try await t.directory.domains().map(\.domain.ascii) == ["example.com", "example.org"])
        }
        // A transaction whose BEGIN meets an ended connection starts again on another.
        #expect(try await terminate() >= 1)
        try await t.directory.removeDomain(domain("example.org"))
        #expect(try await t.directory.domains().map(\.domain.ascii) == ["example.com"])
    }

    @Test("URL parser: 5000 mutated and random inputs parse or fail with one line that never holds the password")
    func urlParserNeverCrashesOrLeaks() {
        var rng = SplitMix64(seed: 19)
        let base = Array("postgres://user:Zq9secretPW@db.example:5432/mail?sslmode=require&connect_timeout=5".utf8)
        let alphabet = Array("postgres:/@?&=%[]:.-_ZqWx0123456789\u{0}\u{7f}é".utf8)
        for round in 0..<5000 {
            var bytes = base
            if round % 5 == 4 {
                bytes = (0..<Int(rng.next() % 200)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            } else {
                for _ in 0...(rng.next() % 6) {
                    let at = Int(rng.next() % UInt64(bytes.count + 1))
                    switch rng.next() % 3 {
                    case 0 where at < bytes.count: bytes.remove(at: at)
                    case 1: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                    default: if at < bytes.count { bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                    }
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                let url = try PostgresURL(text)
                if let password = url.password { #expect(!url.description.contains(":\(password)@"), "\(url)") }
            } catch {
                #expect(!"\(error)".contains("secretPW") && !"\(error)".contains("\n"), "\(error)")
            }
        }
        #expect(throws: PostgresURL.Failure.self) { try PostgresURL(String(repeating: "a", count: PostgresURL.maxLength + 1)) }
    }
}

/// A small deterministic generator (the property tests repeat exactly).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
