import Foundation
import MailboxAPI
import MailCore
@_spi(Testing) import MailStore
import SealboxApp
import Testing
import TestSupport

@Suite("Crash safety and file format", .serialized)
struct DurabilityTests {
    /// The subjects listed by `mailbox ls --messages INBOX`, in UID order.
    func inboxSubjects(_ cli: CLIHarness, password: String) async throws -> [String] {
        let r = try await cli.run(["mailbox", "ls", "hello@example.com", "--messages", "INBOX"], env: ["SEALBOX_PASSWORD": password])
        #expect(r.ok, "\(r.stderr)")
        return r.stdout.split(separator: "\n").dropFirst().compactMap { line in
            line.range(of: "Message ").map { String(line[$0.lowerBound...]) }
        }
    }

    @Test("the queue is drained exactly once and in order although the process is killed mid-drain")
    func drainAcrossCrashes() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox()
        var expected: [String] = []
        func deliver(_ n: Int) async throws {
            for _ in 0..<n {
                let subject = String(format: "Message %03d", expected.count + 1)
                let r = try await cli.run(["deliver", "hello@example.com"], stdin: testMessage(subject: subject))
                #expect(r.ok, "\(r.stderr)")
                expected.append(subject)
            }
        }
        // SIGKILL right after a mailbox commit (one per batch of queued mail), before the queue
        // entries are removed: the worst moment.
        for _ in 0..<3 {
            try await deliver(4)
            let r = try await cli.run(["mailbox", "ls", "hello@example.com"],
                                env: ["SEALBOX_PASSWORD": password, "SEALBOX_FAULT_KILL": "drain.afterMailboxCommit:1"])
            #expect(r.killedBySignal, "expected the fault point to kill the process: \(r.stderr)")
        }
        try await deliver(6)
        // SIGKILL at an arbitrary moment (a few bounded attempts at different delays).
        for delay in [30, 80, 150] {
            let process = try ChildHandle(CLIHarness.binary, ["mailbox", "ls", "hello@example.com", "--data-dir", cli.dataDir],
                                          environment: ProcessInfo.processInfo.environment.merging(["SEALBOX_PASSWORD": password]) { $1 })
            usleep(useconds_t(delay * 1000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try await deliver(2)
        }
        await #expect(try inboxSubjects(cli, password: password) == expected)
        // And once more: nothing left to move, nothing doubled.
        await #expect(try inboxSubjects(cli, password: password) == expected)
    }

    @Test("the mailbox file opens in an independent sqlite3mc build (apsw-sqlite3mc) with the documented settings")
    func independentImplementation() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox()
        #expect(try await cli.run(["deliver", "hello@example.com"], stdin: testMessage(subject: "Readable elsewhere")).ok)
        #expect(try await cli.run(["mailbox", "ls", "hello@example.com"], env: ["SEALBOX_PASSWORD": password]).ok)

        let node = try SealboxNode.open(dataDirectory: cli.dataDir)
        let address = try EmailAddress("hello@example.com")
        let key = try await node.mailboxes.exportDataKeyForTesting(address: address, password: password)
        let mailboxID = try #require(try await node.directory.alias(address: address)?.mailboxID)
        let file = MailboxDatabase.filePath(storageRoot: cli.dataDir + "/mailboxes", mailboxID: mailboxID)

        let script = """
            import apsw, sys
            path, hexkey = sys.argv[1], sys.argv[2]
            con = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
            assert con.pragma("cipher", "chacha20") == "chacha20"
            con.pragma("kdf_iter", 2)
            con.pragma("hexkey", hexkey)
            folders = sorted(r[0] for r in con.execute("select path from folders"))
            subject = con.execute("select subject from contents").fetchall()
            header = con.execute("select header from contents").fetchone()[0]
            print(",".join(folders)); print(subject[0][0]); print(b"Subject: Readable elsewhere" in header)
            bad = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
            bad.pragma("cipher", "chacha20"); bad.pragma("kdf_iter", 2); bad.pragma("hexkey", "00" * 32)
            try:
                bad.execute("select count(*) from folders").fetchall(); print("WRONG KEY OPENED")
            except apsw.Error as e:
                print("wrong key refused:", type(e).__name__)
            """
        let output = try runPython(script, arguments: [file, key.hexString()])
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.first == "Archive,Drafts,INBOX,Junk,Sent,Trash")
        #expect(lines.dropFirst().first == "Readable elsewhere")
        #expect(lines.dropFirst(2).first == "True")
        #expect(lines.last?.hasPrefix("wrong key refused") == true, "\(output)")
    }

    func runPython(_ script: String, arguments: [String]) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"] ?? root.appendingPathComponent(".deps/test-venv/bin/python").path
        try #require(FileManager.default.isExecutableFile(atPath: python), "run scripts/setup-test-deps.sh (or scripts/test) first: \(python) is missing")
        let r = try ChildProcess.spawn(python, ["-c", script] + arguments).waitBlocking(timeout: .seconds(300))
        #expect(r.ok, "\(r.stderr)")
        return r.stdout

    }
}
