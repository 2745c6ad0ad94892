import Foundation
import Testing
@testable import Sieve

@Suite("Sieve: core language")
struct SieveCoreTests {
    @Test("an empty script keeps implicitly")
    func empty() throws {
        let r = try SieveFixture.run("")
        #expect(r.actions == [.keep(flags: [])])
        #expect(r.implicitKeep)
    }

    @Test("fileinto, discard and stop")
    func basics() throws {
        let r = try SieveFixture.run("""
        require ["fileinto"];
        # a comment
        if header :contains "subject" "hello" { fileinto "Greetings"; stop; }
        discard;
        """)
        #expect(r.actions == [.fileinto(SieveFileInto(mailbox: "Greetings"))])
        #expect(!r.implicitKeep)
    }

    @Test("if / elsif / else chooses one branch")
    func elsif() throws {
        let r = try SieveFixture.run("""
        require "fileinto";
        if false { fileinto "A"; } elsif address :domain "from" "example.org" { fileinto "B"; } else { fileinto "C"; }
        """)
        #expect(r.actions == [.fileinto(SieveFileInto(mailbox: "B"))])
    }

    @Test("multi-line strings are dot-unstuffed")
    func multiline() throws {
        let r = try SieveFixture.run("require \"reject\";\nreject text:\nline one\n..dot\n.\n;\n")
        #expect(r.actions == [.reject(reason: "line one\n.dot\n", extended: false)])
    }

    @Test("size with K suffix, exists, allof/anyof/not")
    func tests() throws {
        let r = try SieveFixture.run("""
        require "fileinto";
        if allof(size :under 1K, exists ["From", "To"], not exists "X-Nope", anyof(false, true)) { fileinto "ok"; }
        """)
        #expect(r.actions == [.fileinto(SieveFileInto(mailbox: "ok"))])
    }

    @Test("address parts, envelope and subaddress")
    func address() throws {
        let r = try SieveFixture.run("""
        require ["fileinto", "envelope", "subaddress"];
        if address :user "from" "joe" { fileinto "user"; }
        if address :detail "from" "lists" { fileinto "detail"; }
        if address :localpart :is "to" "bob" { fileinto "bob"; }
        if envelope :domain "from" "example.org" { fileinto "env"; }
        """)
        #expect(r.actions.map { if case .fileinto(let f) = $0 { return f.mailbox }; return "" } == ["user", "detail", "bob", "env"])
    }

    @Test("matches, comparators, numeric")
    func matching() throws {
        let r = try SieveFixture.run("""
        require ["fileinto", "comparator-i;ascii-numeric", "relational"];
        if header :matches "subject" "hel*wor?d" { fileinto "m"; }
        if header :is :comparator "i;octet" "subject" "hello world" { fileinto "octet"; }
        if header :value "gt" :comparator "i;ascii-numeric" "x-num" "5" { fileinto "no"; }
        if header :count "ge" :comparator "i;ascii-numeric" "to" "1" { fileinto "count"; }
        """)
        #expect(r.actions.map { if case .fileinto(let f) = $0 { return f.mailbox }; return "" } == ["m", "count"])
    }

    @Test("redirect, copy and duplicate merging")
    func redirect() throws {
        let r = try SieveFixture.run("""
        require ["copy", "fileinto"];
        redirect :copy "a@example.com";
        redirect :copy "a@example.com";
        fileinto "X"; fileinto "X";
        """)
        #expect(r.actions == [.redirect(address: "a@example.com", copy: true), .fileinto(SieveFileInto(mailbox: "X"))])
        #expect(!r.implicitKeep)
    }

    @Test("reject conflicts with keep: run-time error, implicit keep")
    func rejectConflict() throws {
        let r = try SieveFixture.run("require \"reject\"; keep; reject \"no\";")
        #expect(r.actions == [.keep(flags: [])])
        #expect(r.implicitKeep)
        #expect(!r.errors.isEmpty)
    }

    @Test("unknown capability and command errors carry line numbers")
    func compileErrors() {
        #expect(SieveFixture.compileErrors("require \"nosuchext\";") == ["line 1: error: require command: unknown Sieve capability `nosuchext'."])
        #expect(SieveFixture.compileErrors("\nfoo;").first == "line 2: error: unknown command 'foo' (only reported once at first occurrence).")
        #expect(!SieveFixture.compileErrors("if true { keep; ").isEmpty)
        #expect(!SieveFixture.compileErrors("keep").isEmpty)
        #expect(!SieveFixture.compileErrors("fileinto \"x\";").isEmpty)
        #expect(!SieveFixture.compileErrors("require \"fileinto\"; keep; require \"fileinto\";").isEmpty)
    }

    @Test("variables, match values and modifiers")
    func variables() throws {
        let r = try SieveFixture.run("""
        require ["variables", "fileinto"];
        if header :matches "subject" "* *" { set :upperfirst "folder" "${2}"; }
        set :length "len" "${folder}";
        if string :is "${len}" "5" { fileinto "${folder}"; }
        """)
        #expect(r.actions == [.fileinto(SieveFileInto(mailbox: "World"))])
    }

    @Test("imap4flags on keep and fileinto")
    func flags() throws {
        let r = try SieveFixture.run("""
        require ["imap4flags", "fileinto"];
        setflag "\\\\Seen"; addflag ["$Work", "\\\\Seen"];
        if hasflag :contains "work" { fileinto :flags "\\\\Flagged" "W"; }
        """)
        #expect(r.actions == [.fileinto(SieveFileInto(mailbox: "W", flags: ["\\Flagged"])), ])
        let k = try SieveFixture.run("require \"imap4flags\"; addflag \"\\\\Seen\";")
        #expect(k.actions == [.keep(flags: ["\\Seen"])])
    }

    @Test("vacation clamps :days 0 with Pigeonhole's warning")
    func vacation() throws {
        let s = try SieveScript.compile("require \"vacation\"; vacation :days 0 :subject \"Away\" \"I am away\";")
        #expect(s.warnings.map(\.message) == ["specified :days value '0' is under the minimum."])
        let r = s.run(SieveFixture.context())
        #expect(r.actions == [.vacation(SieveVacation(reason: "I am away", subject: "Away", periodSeconds: 86_400)), .keep(flags: [])])
    }

    @Test("body test sees the decoded text")
    func body() throws {
        let r = try SieveFixture.run("require [\"body\", \"fileinto\"]; if body :text :contains \"two lines\" { fileinto \"b\"; }")
        #expect(r.actions == [.fileinto(SieveFileInto(mailbox: "b"))])
    }

    @Test("mailbox :create and mailboxexists")
    func mailbox() throws {
        var ctx = SieveFixture.context()
        ctx.mailboxExists = { $0 == "Existing" }
        let r = try SieveFixture.run("""
        require ["fileinto", "mailbox"];
        if mailboxexists "Existing" { fileinto :create "New"; }
        """, ctx)
        #expect(r.actions == [.fileinto(SieveFileInto(mailbox: "New", create: true))])
    }

    @Test("ereject and encoded-character")
    func ereject() throws {
        let r = try SieveFixture.run("require [\"ereject\", \"encoded-character\"]; ereject \"${hex:41 42}${unicode:263a}\";")
        #expect(r.actions == [.reject(reason: "AB☺", extended: true)])
    }
}
