import Foundation
import TestSupport
import Testing

/// The MX's promise: a 250 means the message is durable. A stream of deliveries runs while the
/// server is killed with SIGKILL at random moments and restarted on the same data directory;
/// afterwards every message that got 250 is in the mailbox exactly once (and nothing is doubled).
@Suite("SMTP crash safety", .serialized)
struct SMTPCrashTests {
    @Test("SIGKILL at random moments during a stream of deliveries: every 250'd message is stored exactly once",
          .enabled(if: ScriptRunner.has(ScriptRunner.python), "python3 is not installed"))
    func killDuringDeliveries() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox()
        let portFile = cli.dataDir + "/../smtp-port-\(UUID().uuidString)"
        let acksFile = portFile + ".acks", stopFile = portFile + ".stop"
        defer { for f in [portFile, acksFile, stopFile] { try? FileManager.default.removeItem(atPath: f) } }

        var (server, port, imapPort, _) = try ServeProcess.start(dataDir: cli.dataDir)
        try String(port).write(toFile: portFile, atomically: true, encoding: .utf8)
        let sender = try ChildHandle(ScriptRunner.python, [ScriptRunner.clientsDirectory + "/smtp_stream.py", "--port-file", portFile,
                                                           "--acks", acksFile, "--stop-file", stopFile, "--to", "hello@example.com"])
        defer { if sender.isRunning { kill(sender.processIdentifier, SIGKILL); sender.waitUntilExit() } }

        var rng = SystemRandomNumberGenerator()
        var holder: ChildHandle?
        for round in 0..<8 {
            // Every other round an IMAP session holds the mailbox unlocked, so deliveries go
            // straight into it (the live path) instead of waiting in the sealed queue.
            if round % 2 == 1 {
                let imap = try ChildHandle(ScriptRunner.python, ["-c", """
                    import imaplib, sys, time
                    m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1])); m.login('hello@example.com', sys.argv[2]); m.select('INBOX')
                    time.sleep(30)
                    """, String(imapPort), password])
                holder = imap
            }
            usleep(useconds_t(Int.random(in: 300_000...1_500_000, using: &rng)))
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
            if let h = holder, h.isRunning { kill(h.processIdentifier, SIGKILL); h.waitUntilExit() }
            holder = nil
            (server, port, imapPort, _) = try ServeProcess.start(dataDir: cli.dataDir)
            try String(port).write(toFile: portFile, atomically: true, encoding: .utf8)
        }
        usleep(500_000)
        FileManager.default.createFile(atPath: stopFile, contents: Data())
        let deadline = ContinuousClock.now + .seconds(30)
        while sender.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()

        let acked = (try String(contentsOfFile: acksFile, encoding: .utf8)).split(separator: "\n").map(String.init)
        #expect(acked.count >= 20, "the stream made progress (\(acked.count) messages acknowledged)")
        let listing = try await cli.run(["mailbox", "ls", "hello@example.com", "--messages", "INBOX"], env: ["SEALBOX_PASSWORD": password])
        #expect(listing.ok, "\(listing.stderr)")
        let stored = listing.stdout.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: #"Crash \d{6}"#, options: .regularExpression) else { return nil }
            return String(line[r])
        }
        var counts: [String: Int] = [:]
        for s in stored { counts[s, default: 0] += 1 }
        let missing = acked.filter { counts[$0] == nil }
        let doubled = counts.filter { $0.value > 1 }.map(\.key).sorted()
        #expect(missing.isEmpty, "acknowledged but not stored: \(missing.prefix(20))")
        #expect(doubled.isEmpty, "stored more than once: \(doubled.prefix(20))")
        print("crash test: \(acked.count) acknowledged, \(stored.count) stored, 8 SIGKILLs")
    }
}
