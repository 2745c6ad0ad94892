import Foundation
import Testing

/// `sealbox sieve`: the same operations and refusals as ManageSieve, from the command line.
@Suite("sealbox sieve")
struct SieveCLITests {
    @Test("put (compiled first), list, get, activate, check, rename, deactivate, delete; each refusal on stderr with exit 1")
    func lifecycle() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox()
        let a = "hello@example.com"
        let script = "require [\"fileinto\"];\nif header :contains \"subject\" \"[list]\" {\n  fileinto \"Lists\";\n}\n"
        let file = cli.dataDir + "/filter.sieve"
        try Data(script.utf8).write(to: URL(fileURLWithPath: file))

        var r = try await cli.run(["sieve", "put", a, "filter", file])
        #expect(r.ok && r.stdout == "stored filter\n", "\(r.stderr)")
        r = try await cli.run(["sieve", "put", a, "broken", "-"], stdin: Array("fileinto \"x\"".utf8))
        #expect(r.status == 1 && r.stderr.contains("the script does not compile:") && r.stderr.contains("broken: line 1: error:"), "\(r.stderr)")
        r = try await cli.run(["sieve", "check", a, "-"], stdin: Array("require \"nosuchext\";\nkeep;\n".utf8))
        #expect(r.status == 1 && r.stderr.contains("line 1: error:") && r.stderr.contains("nosuchext"), "\(r.stderr)")
        r = try await cli.run(["sieve", "check", a, file])
        #expect(r.ok && r.stdout == "the script compiles\n", "\(r.stderr)")
        r = try await cli.run(["sieve", "check", a, "-"], stdin: Array("require \"vacation\";\nvacation :days 0 \"x\";\n".utf8))
        #expect(r.ok && r.stderr.contains("line 2: warning:"), "\(r.stderr)")
        r = try await cli.run(["sieve", "put", a, "vacation", "-", "--activate"], stdin: Array("require \"vacation\";\nvacation \"Away.\";\n".utf8))
        #expect(r.ok && r.stdout == "stored vacation\nvacation is active\n", "\(r.stderr)")
        r = try await cli.run(["sieve", "list", a])
        #expect(r.ok && r.stdout == "filter\nvacation  (active)\n", "\(r.stdout)")
        r = try await cli.run(["sieve", "get", a, "filter"])
        #expect(r.ok && r.stdout == script)
        r = try await cli.run(["sieve", "get", a, "missing"])
        #expect(r.status == 1 && r.stderr == "sealbox: Sieve script `missing' not found\n", "\(r.stderr)")
        r = try await cli.run(["sieve", "delete", a, "vacation"])
        #expect(r.status == 1 && r.stderr == "sealbox: Cannot delete the active Sieve script.\n", "\(r.stderr)")
        r = try await cli.run(["sieve", "rename", a, "filter", "vacation"])
        #expect(r.status == 1 && r.stderr == "sealbox: A sieve script with that name already exists.\n", "\(r.stderr)")
        r = try await cli.run(["sieve", "rename", a, "vacation", "away"])
        #expect(r.ok, "\(r.stderr)")
        r = try await cli.run(["sieve", "activate", a, "nope"])
        #expect(r.status == 1 && r.stderr == "sealbox: Sieve script `nope' not found\n", "\(r.stderr)")
        r = try await cli.run(["sieve", "deactivate", a])
        #expect(r.ok && r.stdout == "no script is active\n", "\(r.stderr)")
        r = try await cli.run(["sieve", "delete", a, "away"])
        #expect(r.ok && r.stdout == "deleted away\n", "\(r.stderr)")
        r = try await cli.run(["sieve", "list", "nobody@example.com"])
        #expect(r.status == 1 && r.stderr.contains("no such alias: nobody@example.com"), "\(r.stderr)")
        r = try await cli.run(["sieve", "list", a])
        #expect(r.ok && r.stdout == "filter\n")
    }

    @Test("a script over 1 MiB and a name with a control character are refused as ManageSieve refuses them")
    func quotas() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox()
        let a = "hello@example.com"
        var r = try await cli.run(["sieve", "put", a, "huge", "-"], stdin: Array(repeating: UInt8(ascii: "#"), count: 2_000_000))
        #expect(r.status == 1 && r.stderr == "sealbox: Script is too large (max 1048576 bytes).\n", "\(r.stderr)")
        r = try await cli.run(["sieve", "put", a, "bad\u{1}name", "-"], stdin: Array("keep;".utf8))
        #expect(r.status == 1 && r.stderr.contains("Invalid Sieve script name"), "\(r.stderr)")
    }

    @Test("sieve log: a run that fails keeps the message in INBOX and says why, newest first")
    func log() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox()
        let a = "hello@example.com"
        var r = try await cli.run(["sieve", "log", a])
        #expect(r.ok && r.stdout == "no errors recorded\n", "\(r.stderr)")
        // Five redirects: one over the limit of four, found while running (the compiler cannot count them).
        let script = (1...5).map { "redirect \"r\($0)@example.net\";" }.joined(separator: "\n") + "\n"
        r = try await cli.run(["sieve", "put", a, "too-many", "-", "--activate"], stdin: Array(script.utf8))
        #expect(r.ok, "\(r.stderr)")
        r = try await cli.run(["deliver", "--from", "sender@example.net", a], stdin: testMessage(subject: "kept"))
        #expect(r.ok, "\(r.stderr)")
        r = try await cli.run(["sieve", "log", a])
        #expect(r.ok && r.stdout.contains("too-many: ") && r.stdout.contains("redirect"), "\(r.stdout)\(r.stderr)")
        #expect(!r.stdout.contains("kept"), "the log never shows the message's content")
        r = try await cli.run(["sieve", "log", "nobody@example.com"])
        #expect(r.status == 1 && r.stderr.contains("no such alias"), "\(r.stderr)")
    }
}
