import Foundation
import TestSupport
import Testing

/// A single-machine node moved onto a PostgreSQL directory: made with the CLI, copied with
/// `sealbox directory copy --to postgres://…`, then served with `directory.url`; the old password
/// still opens the mailbox over IMAP, with the mail delivered before the move.
@Suite("sealbox serve on a PostgreSQL directory")
struct PostgresDirectoryServeTests {
    static let python = ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"] ?? "/usr/bin/python3"

    @Test("directory copy, then serve with directory.url: IMAP login with the old password, the mail is there, the password never printed")
    func copyThenServe() async throws {
        let pg = try await PostgresServer.shared()
        let database = try await pg.createDatabase()
        let url = pg.url(database: database)
        let message = Array("From: a@example.org\r\nTo: user@example.com\r\nSubject: before the move\r\n\r\nhello\r\n".utf8)
        var copyOutput = ""
        let server = try await ServerHarness(environment: ["SEALBOX_DIRECTORY_URL": url]) { cli in
            let second = try await cli.run(["alias", "add", "other@example.com"])
            #expect(second.ok, "\(second.stderr)")
            let delivered = try await cli.run(["deliver", "user@example.com"], stdin: message)
            #expect(delivered.ok, "\(delivered.stderr)")
            // The URL from the environment (kept off the command line), then again with --to: nothing to do.
            let copied = try await cli.run(["directory", "copy"], env: ["SEALBOX_DIRECTORY_URL": url])
            #expect(copied.ok, "\(copied.stderr)")
            let again = try await cli.run(["directory", "copy", "--to", url])
            #expect(again.ok && again.stdout.contains("already copied"), "\(again.stdout) \(again.stderr)")
            copyOutput = copied.stdout + copied.stderr + again.stdout + again.stderr
        }
        defer { server.stop() }
        let copied = copyOutput
        #expect(copied.contains("copied 1 domain, 2 aliases, 1 password"), "\(copied)")
        #expect(copied.contains("2 DKIM keys"), "\(copied)")  // `domain add` made an Ed25519 and an RSA key
        #expect(!copied.contains(pg.password))
        #expect(server.log.contains("directory: PostgreSQL postgres://sealbox:***@127.0.0.1:\(pg.port)/\(database)"), "\(server.log)")
        #expect(!server.log.contains(pg.password))

        let check = """
            import imaplib, os, sys
            m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
            m.login(sys.argv[2], os.environ['IMAP_PASSWORD'])
            typ, data = m.select('INBOX')
            print('EXISTS', data[0].decode())
            typ, data = m.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
            print(data[0][1].decode().strip())
            m.logout()
            """
        let result = try await ChildProcess.run(Self.python, ["-c", check, String(server.imapPort), server.address],
                                                environment: ProcessInfo.processInfo.environment.merging(["IMAP_PASSWORD": server.password]) { $1 },
                                                timeout: .seconds(60))
        #expect(result.ok, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("EXISTS 1"), "\(result.stdout)")
        #expect(result.stdout.contains("Subject: before the move"), "\(result.stdout)")
        // The rows are in PostgreSQL, and the CLI beside the node reads them there.
        #expect(try await pg.psql("SELECT count(*) FROM alias", database: database).trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        let listed = try await server.cli.run(["alias", "list"])
        #expect(listed.ok && listed.stdout.contains("other@example.com"), "\(listed.stdout) \(listed.stderr)")
    }
}
