import Foundation
import Testing
@testable import Sieve

/// Where Pigeonhole's `sieve-test` wrapper is (scripts/sieve-oracle.sh).
enum SieveOracle {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/sieve-oracle.sh").path
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/sieve-test") && FileManager.default.fileExists(atPath: path)
    }
}

/// Stretch: a corpus of our own scripts × messages through Pigeonhole's `sieve-test` (Debian
/// dovecot-sieve, via scripts/sieve-oracle.sh) and through Sealbox, comparing
/// the action lists (folder + flags, redirect address, reject, discard, implicit keep) and whether
/// the script compiles. Vacation is left out: whether a reply goes out is the responder's decision.
@Suite("Sieve: differential against sieve-test", .serialized,
       .enabled(if: SieveOracle.available, "needs sieve-test (dovecot-sieve) and the oracle script"))
struct SieveDifferentialTests {

    static let messages: [String] = [
        "From: \"Joe\" <joe+lists@example.org>\r\nTo: alice@example.com, bob@example.net\r\nCc: carol@example.com\r\nSubject: [dev] Weekly build report\r\nDate: Fri, 13 Feb 2009 23:31:30 +0100\r\nMessage-ID: <1@example.org>\r\nX-Spam-Flag: NO\r\n\r\nThe build is green.\r\n",
        "From: promo@shop.example\r\nTo: alice@example.com\r\nSubject: =?UTF-8?Q?Gro=C3=9Fe_Rabatte?=\r\nX-Spam-Flag: YES\r\nList-Id: <offers.shop.example>\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nBuy now: 50% =E2=82=AC off\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Buy <b>now</b></p>\r\n--b--\r\n",
        "From: boss@example.com\r\nTo: Alice <alice@example.com>\r\nSubject: Re: urgent\r\nImportance: high\r\n\r\n" + String(repeating: "long line of text\r\n", count: 200),
    ]

    static let scripts: [String] = [
        "keep;",
        "discard;",
        "require \"fileinto\"; if header :contains \"subject\" \"[dev]\" { fileinto \"Lists.dev\"; stop; } keep;",
        "require [\"fileinto\", \"copy\"]; if address :domain :is \"from\" \"example.org\" { fileinto :copy \"Org\"; } redirect \"archive@example.net\";",
        "require [\"fileinto\"]; if anyof(header :is \"x-spam-flag\" \"yes\", exists \"list-id\") { fileinto \"Junk\"; } elsif size :over 2K { fileinto \"Big\"; } else { keep; }",
        "require [\"fileinto\", \"variables\"]; if header :matches \"subject\" \"[*] *\" { set :lower \"list\" \"${1}\"; fileinto \"Lists.${list}\"; }",
        "require [\"fileinto\", \"envelope\", \"subaddress\"]; if address :detail \"from\" \"lists\" { fileinto \"Detail\"; } if envelope :localpart :is \"to\" \"rcpt\" { fileinto \"Env\"; }",
        "require [\"imap4flags\", \"fileinto\"]; setflag \"\\\\Seen\"; addflag \"$Work\"; if header :contains \"importance\" \"high\" { addflag \"\\\\Flagged\"; } fileinto :flags \"\\\\Answered\" \"Flagged\"; keep;",
        "require \"reject\"; if header :contains \"subject\" \"Rabatte\" { reject \"No advertising.\"; }",
        "require [\"body\", \"fileinto\"]; if body :text :contains \"50%\" { fileinto \"Body\"; } if body :raw :contains \"green\" { fileinto \"Raw\"; }",
        "require [\"relational\", \"comparator-i;ascii-numeric\", \"fileinto\"]; if address :count \"ge\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] \"3\" { fileinto \"Many\"; }",
        "require [\"regex\", \"fileinto\", \"variables\"]; if header :regex \"from\" \"^([a-z]+)@([a-z]+)\\\\.example$\" { fileinto \"Re.${1}\"; }",
        "require [\"date\", \"fileinto\"]; if date :originalzone \"date\" \"weekday\" \"5\" { fileinto \"Friday\"; }",
        "require [\"fileinto\", \"mailbox\"]; fileinto :create \"New.Box\"; fileinto :create \"New.Box\";",
        "redirect \"a@example.com\"; redirect \"A@example.com\"; redirect \"b@example.com\";",
        "require [\"editheader\", \"fileinto\"]; addheader \"X-Sieve\" \"yes\"; if header :is \"x-sieve\" \"yes\" { fileinto \"Edited\"; }",
        "if header :is \"subject\" \"x\" { keep }",   // a syntax error: both refuse it
        "require \"nosuchext\"; keep;",
    ]

    struct Normalized: Equatable, CustomStringConvertible {
        var compiled: Bool
        var actions: [String]
        var description: String { compiled ? actions.sorted().joined(separator: " | ") : "<compile error>" }
    }

    func oracle(_ script: String, _ message: String, in dir: URL) throws -> Normalized {
        let s = dir.appendingPathComponent("s.sieve"), m = dir.appendingPathComponent("m.eml")
        try script.write(to: s, atomically: true, encoding: .utf8)
        try message.write(to: m, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [SieveOracle.path, s.path, m.path, "sender@example.net", "rcpt@example.org"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus == 89 { return Normalized(compiled: false, actions: []) }
        var actions = [String]()
        var current: String?
        var flags = [String]()
        func flush() {
            if let c = current { actions.append(flags.isEmpty ? c : c + " +" + flags.sorted().joined(separator: ",")) }
            current = nil; flags = []
        }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("* ") {
                flush()
                let a = t.dropFirst(2)
                if a.hasPrefix("store message in folder: ") { current = "store " + a.dropFirst(25) }
                else if a.hasPrefix("redirect message to: ") { current = "redirect " + a.dropFirst(21).trimmingCharacters(in: CharacterSet(charactersIn: "<>")) }
                else if a.hasPrefix("reject message") { current = "reject" }
                else if a.hasPrefix("discard") { current = "discard" }
                else if a.hasPrefix("send vacation") { current = nil }
                else { current = String(a) }
            } else if t.hasPrefix("+ add IMAP flags: ") {
                flags += t.dropFirst(18).split(separator: " ").map { $0.lowercased() }
            }
        }
        flush()
        return Normalized(compiled: true, actions: actions)
    }

    func sealbox(_ script: String, _ message: String) -> Normalized {
        guard let s = try? SieveScript.compile(script) else { return Normalized(compiled: false, actions: []) }
        let r = s.run(SieveRunContext(message: Array(message.utf8), envelope: SieveEnvelope(from: "sender@example.net", to: "rcpt@example.org"),
                                      timeZone: TimeZone(identifier: "UTC")!))
        var out = [String]()
        func withFlags(_ base: String, _ flags: [String]) -> String {
            flags.isEmpty ? base : base + " +" + flags.map { $0.lowercased() }.sorted().joined(separator: ",")
        }
        for a in r.actions {
            switch a {
            case .keep(let flags): out.append(withFlags("store INBOX", flags))
            case .fileinto(let f): out.append(withFlags("store " + f.mailbox, f.flags))
            case .redirect(let address, _): out.append("redirect " + address)
            case .reject: out.append("reject")
            case .discard: out.append("discard")
            case .vacation: break
            }
        }
        return Normalized(compiled: true, actions: out)
    }

    @Test("scripts × messages give the same actions as sieve-test")
    func differential() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sieve-diff-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var same = 0, total = 0
        for script in Self.scripts {
            for message in Self.messages {
                total += 1
                let expected = try oracle(script, message, in: dir)
                let got = sealbox(script, message)
                if expected == got { same += 1 }
                #expect(expected == got, "script: \(script)\nsieve-test: \(expected)\nsealbox:    \(got)")
            }
        }
        print("sieve differential: \(same)/\(total) script×message pairs agree with sieve-test")
    }
}
