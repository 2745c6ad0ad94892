import Foundation
import TestSupport
import Testing

/// `sealbox node key move` with the real binary: the key out to a file, sealed with a passphrase,
/// and back; `serve` saying where the key is; a data directory copied alone refused in one line.
@Suite("the node key through the CLI: move --to, --passphrase, --to-data-directory", .serialized)
struct NodeKeyCLITests {
    static let address = "keyed-owner@example.com"
    static let forward = "forward-target-81bd@example.org"
    static let webhook = "https://hooks.example.net/secret-path-c0de"
    static let label = "label-hall-ipad-5e21"
    static let passphrase = "the node's passphrase 1729"

    static func serve(_ cli: CLIHarness, env: [String: String] = [:], within: Duration = .seconds(60)) async throws -> ChildHandle {
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        let process = try ChildHandle(CLIHarness.binary, ["serve", "--data-dir", cli.dataDir, "--imap-port", "auto", "--managesieve-port", "auto", "--http-port", "auto", "--imaps-port", "off",
                                                          "--pop3-port", "off", "--pop3s-port", "off", "--smtp-port", "off"], environment: environment)
        let deadline = ContinuousClock.now + within
        while !process.stderrText.contains("listening: imap "), process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        return process
    }

    /// One line on stderr, `sealbox: ` and the text; a non-zero exit.
    static func expectOneLineRefusal(_ r: CLIHarness.Result, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status != 0 && !r.killedBySignal, sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("sealbox: ") && r.stderr.contains(text), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, sourceLocation: sourceLocation)
    }

    static func snapshot(_ dir: String) -> [String: Data] {
        var out: [String: Data] = [:]
        guard let entries = FileManager.default.enumerator(atPath: dir) else { return out }
        for case let rel as String in entries {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDirectory), !isDirectory.boolValue {
                out[rel] = FileManager.default.contents(atPath: dir + "/" + rel)
            }
        }
        return out
    }

    /// Copies the data directory alone (no key) and checks the copy reveals nothing and is refused.
    static func copyAlone(_ cli: CLIHarness, refusal: String) async throws {
        let copy = cli.dataDir + "-copy"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: cli.dataDir, toPath: copy)
        try? FileManager.default.removeItem(atPath: copy + "/node.key")
        let files = snapshot(copy)
        #expect(files["directory.sqlite"] != nil && files["queue.sqlite"] != nil)
        for (path, bytes) in files {
            for needle in [address, forward, webhook, label] {
                #expect(bytes.range(of: Data(needle.utf8)) == nil, "\(needle) in \(path)")
            }
        }
        let r = try await cli.run(["alias", "list", "--data-dir", copy])
        expectOneLineRefusal(r, refusal)
        #expect(snapshot(copy) == files, "a refused command writes nothing")
    }

    @Test("serve says where the key is; move refuses while serve runs; --to FILE, --passphrase, back; copies refused; wrong passphrase changes nothing")
    func moveAround() async throws {
        let cli = try CLIHarness()
        let outside = cli.dataDir + "-secrets"
        defer { cli.cleanUp(); try? FileManager.default.removeItem(atPath: outside) }
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        #expect(try await cli.run(["domain", "add", "example.com"]).ok)
        #expect(try await cli.run(["alias", "add", Self.address, "--forward", Self.forward, "--webhook", Self.webhook]).ok)
        let generated = try await cli.run(["password", "generate", Self.address, "--label", Self.label])
        #expect(generated.ok, "\(generated.stderr)")
        let password = generated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await cli.run(["deliver", Self.address], stdin: testMessage(subject: "kept")).ok)

        // Embedded: serve says once what the data directory alone gives away; a move waits for serve to stop.
        do {
            let process = try await Self.serve(cli)
            defer { process.terminate(); process.waitUntilExit() }
            let text = process.stderrText
            #expect(text.components(separatedBy: "notice: the node key is in the data directory (\(cli.dataDir)/node.key)").count == 2, "\(text)")
            #expect(text.contains("`sealbox node key move --to FILE` or `sealbox node key move --passphrase`"), "\(text)")
            let busy = try await cli.run(["node", "key", "move", "--to", outside + "/node.key"])
            Self.expectOneLineRefusal(busy, "is locked by another sealbox process")
            #expect(FileManager.default.fileExists(atPath: cli.dataDir + "/node.key") && !FileManager.default.fileExists(atPath: outside + "/node.key"))
        }
        try await Self.copyAlone(cli, refusal: "no node key for ")

        // Out to a file: recorded, so every command finds it.
        let moved = try await cli.run(["node", "key", "move", "--to", outside + "/node.key"])
        #expect(moved.ok && moved.stdout.contains("the node key is now in \(outside)/node.key (0600)"), "\(moved.stdout)\(moved.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.dataDir + "/node.key"))
        let status = try await cli.run(["node", "key", "status"])
        #expect(status.ok && status.stdout.contains("node key: \(outside)/node.key, recorded in"), "\(status.stdout)\(status.stderr)")
        let list = try await cli.run(["alias", "list"])
        #expect(list.ok && list.stdout.contains(Self.webhook), "\(list.stdout)\(list.stderr)")
        // The copy alone, with the key file out of reach.
        #expect(rename(outside + "/node.key", outside + "/aside") == 0)
        try await Self.copyAlone(cli, refusal: "the node key file \(outside)/node.key (recorded in")
        #expect(rename(outside + "/aside", outside + "/node.key") == 0)

        // Sealed with a passphrase. Each command below runs the passphrase's scrypt (128 MiB): seconds
        // of CPU in a debug build, more on a CI machine running the other suites beside it.
        let kdf = Duration.seconds(300)
        let sealed = try await cli.run(["node", "key", "move", "--passphrase"], env: ["SEALBOX_NODE_KEY_PASSPHRASE": Self.passphrase], timeout: kdf)
        #expect(sealed.ok && sealed.stdout.contains("sealed with the passphrase"), "\(sealed.stdout)\(sealed.stderr)")
        try await Self.copyAlone(cli, refusal: "is sealed with a passphrase (node.key.sealed): set SEALBOX_NODE_KEY_PASSPHRASE or run from a terminal")
        let before = Self.snapshot(cli.dataDir)
        let wrong = try await cli.run(["alias", "list"], env: ["SEALBOX_NODE_KEY_PASSPHRASE": "not the passphrase, sorry"], timeout: kdf)
        Self.expectOneLineRefusal(wrong, "wrong passphrase for the node key")
        let wrongMove = try await cli.run(["node", "key", "move", "--to-data-directory"], env: ["SEALBOX_NODE_KEY_PASSPHRASE": "not the passphrase, sorry"],
                                         timeout: kdf)
        Self.expectOneLineRefusal(wrongMove, "wrong passphrase for the node key")
        #expect(Self.snapshot(cli.dataDir).filter { $0.key != "sealbox.lock" } == before.filter { $0.key != "sealbox.lock" })
        // serve without the passphrase (no terminal here): one line, before it listens.
        let noPassphrase = try await cli.run(["serve", "--imap-port", "auto", "--imaps-port", "off", "--pop3-port", "off", "--pop3s-port", "off",
                                              "--smtp-port", "off"])
        Self.expectOneLineRefusal(noPassphrase, "is sealed with a passphrase (node.key.sealed): set SEALBOX_NODE_KEY_PASSPHRASE")
        let withPassphrase = ["SEALBOX_NODE_KEY_PASSPHRASE": Self.passphrase]
        let listed = try await cli.run(["alias", "list"], env: withPassphrase, timeout: kdf)
        #expect(listed.ok && listed.stdout.contains(Self.forward), "\(listed.stdout)\(listed.stderr)")
        do {
            let process = try await Self.serve(cli, env: withPassphrase, within: kdf)
            defer { process.terminate(); process.waitUntilExit() }
            let text = process.stderrText
            #expect(text.contains("node key: \(cli.dataDir)/node.key.sealed, sealed with a passphrase"), "\(text)")
            #expect(!text.contains("notice: the node key is in the data directory") && !text.contains(Self.passphrase))
            #expect(text.contains("listening: imap "), "\(text)")
        }

        // And back: the mailbox still opens with its password.
        let back = try await cli.run(["node", "key", "move", "--to-data-directory"], env: withPassphrase, timeout: kdf)
        #expect(back.ok && back.stdout.contains("the node key is back in"), "\(back.stdout)\(back.stderr)")
        let ls = try await cli.run(["mailbox", "ls", Self.address], env: ["SEALBOX_PASSWORD": password])
        #expect(ls.ok && ls.stdout.contains("INBOX"), "\(ls.stdout)\(ls.stderr)")
        #expect(Set(Self.snapshot(cli.dataDir).keys).isDisjoint(with: ["node.key.sealed", "node.key.location"]))
    }
}
