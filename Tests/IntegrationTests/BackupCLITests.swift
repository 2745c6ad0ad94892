import Foundation
import TestSupport
import Testing

extension MotoServer {
    /// A request signed by curl itself (`--aws-sigv4`): bucket creation and inspection, independently of Sealbox's signer.
    @discardableResult
    static func http(_ method: String, _ url: String) throws -> Data {
        let curl = try ChildProcess.spawn("/usr/bin/curl", ["-sS", "-f", "-X", method, "--max-time", "10", "--aws-sigv4", "aws:amz:us-east-1:s3",
                                                            "--user", "testing:testing-secret-key", url]).waitBlocking(timeout: .seconds(30))
        guard curl.ok else { throw CLIHarnessError("\(method) \(url) failed (\(curl.status))") }
        let data = Data(curl.stdout.utf8)
        return data
    }

    /// Keys of every object in the bucket.
    func keys(bucket: String) throws -> [String] {
        let xml = String(decoding: try Self.http("GET", "\(endpoint)/\(bucket)?list-type=2"), as: UTF8.self)
        return xml.components(separatedBy: "<Key>").dropFirst().compactMap { $0.components(separatedBy: "</Key>").first }
    }
}

struct CLIHarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("backups through the CLI against a real S3 server (moto)", .serialized)
struct BackupCLITests {
    static let hasMoto = MotoServer.executable != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")
    static let canary = "CANARY-backup-cli-5a1b"

    @Test("backup run, unchanged run, list, restore into an empty data directory, export/import, purge",
          .enabled(if: hasMoto, "moto_server (PyPI moto[server]) or curl is not installed"))
    func endToEnd() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        try MotoServer.http("PUT", "\(moto.endpoint)/sealbox-test")
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let address = "backup-user@example.com"
        let password = try await cli.setUpMailbox(address)
        for n in 1...3 {
            let message = crlf("From: a@example.org\nTo: \(address)\nSubject: n\(n)\nMessage-ID: <cli\(n)@example.org>\n\n\(Self.canary) \(n)\n")
            #expect(try await cli.run(["deliver", address], stdin: message).ok)
        }
        let env = ["SEALBOX_BACKUP_DESTINATION": "s3://sealbox-test/nightly", "SEALBOX_BACKUP_S3_ENDPOINT": moto.endpoint,
                   "SEALBOX_BACKUP_S3_REGION": "us-east-1", "SEALBOX_BACKUP_S3_ACCESS_KEY_ID": "testing",
                   "SEALBOX_BACKUP_S3_SECRET_ACCESS_KEY": "testing-secret-key", "SEALBOX_BACKUP_S3_PATH_STYLE": "true"]

        let first = try await cli.run(["backup", "run"], env: env)
        #expect(first.ok && first.stdout.contains("\(address): uploaded generation"), "\(first.stdout)\(first.stderr)")
        let second = try await cli.run(["backup", "run", address], env: env)
        #expect(second.ok && second.stdout.contains("unchanged since generation"), "\(second.stdout)\(second.stderr)")
        let list = try await cli.run(["backup", "list", address], env: env)
        #expect(list.ok && list.stdout.split(separator: "\n").count == 2, "\(list.stdout)\(list.stderr)")

        // What reached the object store: no canary, no password, no address, no secret.
        let keys = try moto.keys(bucket: "sealbox-test")
        #expect(keys.count == 4, "index, mailbox.sqlite, keys.json, queue.bin: \(keys)")
        #expect(keys.allSatisfy { $0.hasPrefix("nightly/") })
        for key in keys {
            let object = Array(try MotoServer.http("GET", "\(moto.endpoint)/sealbox-test/\(key)"))
            for needle in [Self.canary, password, address] {
                #expect(!BackupHarnessBytes.contains(object, needle), "\(needle.prefix(8))… in \(key)")
            }
        }
        #expect(!first.stdout.contains("testing-secret-key") && !first.stderr.contains("testing-secret-key"))

        // Restore into an empty data directory; the same password opens it.
        let restored = NSTemporaryDirectory() + "sealbox-restored-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: restored) }
        var withPassword = env
        withPassword["SEALBOX_PASSWORD"] = password
        let restore = try await cli.run(["backup", "restore", address, "--to-data-dir", restored], env: withPassword)
        #expect(restore.ok && restore.stdout.contains("restored \(address)") && restore.stdout.contains("INBOX"), "\(restore.stdout)\(restore.stderr)")
        let ls = try await cli.run(["mailbox", "ls", address, "--data-dir", restored], env: ["SEALBOX_PASSWORD": password])
        #expect(ls.ok && ls.stdout.contains("INBOX"), "\(ls.stdout)\(ls.stderr)")
        #expect(ls.stdout.split(separator: "\n").contains { $0.hasPrefix("INBOX") && $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first == "3" },
                "\(ls.stdout)")

        // Export as mbox and import into another mailbox: same count; a second import adds nothing.
        let mbox = cli.dataDir + "/inbox.mbox"
        let export = try await cli.run(["mailbox", "export", address, "--format", "mbox", "--folder", "INBOX", "--output", mbox],
                                 env: ["SEALBOX_PASSWORD": password])
        #expect(export.ok && export.stdout.contains("exported 3 messages"), "\(export.stdout)\(export.stderr)")
        let otherPassword = try await cli.setUpMailbox("copy@example.com")
        let imported = try await cli.run(["mailbox", "import", "copy@example.com", "--mbox", mbox], env: ["SEALBOX_PASSWORD": otherPassword])
        #expect(imported.ok && imported.stdout.contains("imported 3 messages"), "\(imported.stdout)\(imported.stderr)")
        let again = try await cli.run(["mailbox", "import", "copy@example.com", "--mbox", mbox], env: ["SEALBOX_PASSWORD": otherPassword])
        #expect(again.ok && again.stdout.contains("imported 0 messages") && again.stdout.contains("3 already there"), "\(again.stdout)\(again.stderr)")

        // Purge deletes the mailbox and every backup object, and says so.
        let purge = try await cli.run(["alias", "remove", address, "--purge"], env: env)
        #expect(purge.ok && purge.stdout.contains("deleted 4 backup objects"), "\(purge.stdout)\(purge.stderr)")
        #expect(try moto.keys(bucket: "sealbox-test").isEmpty)
    }

    @Test("sealbox serve backs mailboxes up on its schedule (interval 60 s: each mailbox in its slot of the minute)")
    func scheduleInServe() async throws {
        let destination = NSTemporaryDirectory() + "sealbox-scheduled-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: destination) }
        let server = try await ServerHarness(extraArguments: [], environment: ["SEALBOX_BACKUP_DESTINATION": "file://" + destination,
                                                                         "SEALBOX_BACKUP_INTERVAL": "60"])
        defer { server.stop() }
        await #expect(try server.deliver(crlf("Subject: scheduled\n\n\(Self.canary)\n")).ok)
        // The first slot comes within one interval (bounded wait).
        let deadline = ContinuousClock.now + .seconds(120)
        var objects: [String] = []
        while ContinuousClock.now < deadline {
            objects = (FileManager.default.enumerator(atPath: destination)?.allObjects as? [String] ?? []).filter { $0.hasSuffix("keys.json") }
            if !objects.isEmpty { break }
            usleep(500_000)
        }
        #expect(objects.count == 1, "no scheduled backup within 120 s; serve said:\n\(server.log)")
    }

    @Test("a missing destination setting and an unreachable destination are clear errors",
          .enabled(if: hasMoto, "moto_server (PyPI moto[server]) or curl is not installed"))
    func errors() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox("x@example.com")
        let none = try await cli.run(["backup", "run"])
        #expect(!none.ok && none.stderr.contains("backup.destination"), "\(none.stderr)")
        let port = try freePort()
        let env = ["SEALBOX_BACKUP_DESTINATION": "s3://nothing/x", "SEALBOX_BACKUP_S3_ENDPOINT": "http://127.0.0.1:\(port)",
                   "SEALBOX_BACKUP_S3_ACCESS_KEY_ID": "k", "SEALBOX_BACKUP_S3_SECRET_ACCESS_KEY": "very-secret-value",
                   "SEALBOX_BACKUP_S3_PATH_STYLE": "true"]
        let down = try await cli.run(["backup", "run"], env: env, timeout: .seconds(120))
        #expect(!down.ok && down.stderr.contains("x@example.com"), "\(down.stderr)")
        #expect(!down.stderr.contains("very-secret-value"))
    }
}

enum BackupHarnessBytes {
    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard !n.isEmpty, haystack.count >= n.count else { return false }
        for i in 0...(haystack.count - n.count) where haystack[i] == n[0] && Array(haystack[i..<(i + n.count)]) == n { return true }
        return false
    }
}
