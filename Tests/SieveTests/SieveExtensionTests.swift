import Foundation
import Testing
@testable import Sieve

@Suite("Sieve: extensions")
struct SieveExtensionTests {
    func folders(_ r: SieveResult) -> [String] {
        r.actions.compactMap { if case .fileinto(let f) = $0 { return f.mailbox }; return nil }
    }

    @Test("date and currentdate parts, :zone, :originalzone, :index")
    func date() throws {
        let r = try SieveFixture.run("""
        require ["date", "index", "fileinto", "relational"];
        if date :originalzone "date" "zone" "+0100" { fileinto "zone"; }
        if date :zone "+0000" "date" "hour" "22" { fileinto "utc-hour"; }
        if date :originalzone "date" "weekday" "5" { fileinto "friday"; }
        if date :originalzone "date" "julian" "54875" { fileinto "julian"; }
        if date :originalzone "date" "iso8601" "2009-02-13T23:31:30+01:00" { fileinto "iso"; }
        if date :originalzone "date" "std11" "Fri, 13 Feb 2009 23:31:30 +0100" { fileinto "std11"; }
        if currentdate :zone "+0000" "date" "2009-02-13" { fileinto "today"; }
        if date :index 1 :zone "+0000" "received" "year" "2009" { fileinto "received"; }
        """)
        #expect(folders(r) == ["zone", "utc-hour", "friday", "julian", "iso", "std11", "today", "received"])
    }

    @Test("editheader: tests see the edit, the result carries the edited message, protected fields stay")
    func editheader() throws {
        let r = try SieveFixture.run("""
        require ["editheader", "fileinto"];
        addheader "X-Sieve" "filtered";
        addheader :last "X-Tail" "Grüße";
        deleteheader "received";
        deleteheader :index 1 "cc";
        deleteheader :contains "subject" "world";
        if allof(exists "x-sieve", header :is "x-tail" "Grüße", not exists ["cc", "subject"], exists "received") { fileinto "edited"; }
        """)
        #expect(folders(r) == ["edited"])
        let edited = String(decoding: try #require(r.editedMessage), as: UTF8.self)
        #expect(edited.hasPrefix("X-Sieve: filtered\r\n"))
        #expect(edited.contains("X-Tail: =?UTF-8?B?"))
        #expect(edited.contains("Received: "))
        #expect(!edited.contains("Subject:"))
        #expect(edited.hasSuffix("This is the body.\r\nIt has two lines.\r\n"))
        #expect(r.warnings.contains { $0.message.contains("protected header `received'") })
        var ctx = SieveFixture.context()
        ctx.editheaderForbidAdd = ["x-spam"]
        ctx.editheaderForbidDelete = ["x-spam-level"]
        let p = try SieveFixture.run("require \"editheader\"; addheader \"X-Spam\" \"no\"; deleteheader \"X-Spam-Level\"; addheader \"Received\" \"by me\";", ctx)
        let pm = String(decoding: try #require(p.editedMessage), as: UTF8.self)
        #expect(!pm.contains("X-Spam: no") && pm.contains("X-Spam-Level: ***") && pm.hasPrefix("Received: by me"))
    }

    @Test("duplicate: first delivery is new and marked, a seen id is a duplicate")
    func duplicate() throws {
        let script = """
        require ["duplicate", "fileinto"];
        if duplicate :seconds 3600 { fileinto "dup"; }
        if duplicate :handle "h" :uniqueid "x" { fileinto "dup2"; }
        """
        let r = try SieveFixture.run(script)
        #expect(folders(r).isEmpty)
        #expect(r.duplicateMarks.map(\.seconds) == [3600, 7 * 86_400])
        var ctx = SieveFixture.context()
        let key = r.duplicateMarks[0].key
        ctx.duplicateSeen = { $0 == key }
        #expect(folders(try SieveFixture.run(script, ctx)) == ["dup"])
    }

    @Test("include: personal/global, :once, :optional, return and global variables")
    func include() throws {
        let scripts: [String: String] = [
            "personal:lists": "require [\"include\", \"variables\", \"fileinto\"]; global \"box\"; set \"box\" \"Lists\"; return; fileinto \"never\";",
            "global:spam": "require [\"fileinto\"]; fileinto \"Spam\";",
        ]
        let options = SieveCompileOptions(includeLoader: { name, location in scripts["\(location.rawValue):\(name)"] })
        let r = try SieveFixture.run("""
        require ["include", "variables", "fileinto"];
        global "box";
        include "lists";
        include :global :once "spam";
        include :global :once "spam";
        include :optional "missing";
        fileinto "${box}";
        """, options: options)
        #expect(folders(r) == ["Spam", "Lists"])
        #expect(SieveFixture.compileErrors("require \"include\"; include \"missing\";", options: options).first?.contains("does not exist") == true)
    }

    @Test("include recursion is a compile error")
    func includeRecursion() {
        let options = SieveCompileOptions(includeLoader: { name, _ in name == "a" ? "require \"include\"; include \"b\";" : "require \"include\"; include \"a\";" })
        #expect(SieveFixture.compileErrors("require \"include\"; include \"a\";", options: options).contains { $0.contains("circular include") })
    }

    @Test("environment, spamtest, spamtestplus, virustest")
    func environmentAndScores() throws {
        var ctx = SieveFixture.context()
        ctx.environment = ["domain": "example.com", "remote-ip": "192.0.2.1"]
        ctx.spamScore = 8; ctx.spamPercent = 75; ctx.virusScore = 1
        let r = try SieveFixture.run("""
        require ["environment", "spamtest", "spamtestplus", "virustest", "relational", "comparator-i;ascii-numeric", "fileinto"];
        if environment :is "domain" "example.com" { fileinto "env"; }
        if environment :matches "remote-ip" "192.0.2.*" { fileinto "ip"; }
        if not environment "nonsense" "" { fileinto "absent"; }
        if spamtest :value "ge" :comparator "i;ascii-numeric" "7" { fileinto "spam"; }
        if spamtest :percent :value "gt" :comparator "i;ascii-numeric" "50" { fileinto "percent"; }
        if virustest :value "eq" :comparator "i;ascii-numeric" "1" { fileinto "clean"; }
        """, ctx)
        #expect(folders(r) == ["env", "ip", "absent", "spam", "percent", "clean"])
    }

    @Test("ihave and error")
    func ihave() throws {
        let r = try SieveFixture.run("""
        require ["ihave", "fileinto"];
        if ihave "nosuchext" { nosuchcommand "x"; }
        if ihave "copy" { fileinto :copy "copied"; }
        """)
        #expect(r.actions == [.fileinto(SieveFileInto(mailbox: "copied", copy: true)), .keep(flags: [])])
        let e = try SieveFixture.run("require \"ihave\"; error \"custom failure\";")
        #expect(e.errors.map(\.message) == ["custom failure"])
        #expect(e.actions == [.keep(flags: [])])
    }

    @Test("regex with match variables")
    func regex() throws {
        let r = try SieveFixture.run("""
        require ["regex", "variables", "fileinto"];
        if header :regex "from" "([a-z]+)\\\\+([a-z]+)@(example\\\\.org)" { fileinto "${1}.${2}.${3}"; }
        if header :regex "subject" "^hel+o (world|there)$" { fileinto "anchored"; }
        if address :regex :all "to" "^bob@example\\\\.(net|com)$" { fileinto "bob"; }
        """)
        #expect(folders(r) == ["joe.lists.example.org", "anchored", "bob"])
        #expect(!SieveFixture.compileErrors("require \"regex\"; if header :regex \"x\" \"(a)\\\\1\" { keep; }").isEmpty)
    }

    @Test("vacation arguments and vacation-seconds")
    func vacation() throws {
        let r = try SieveFixture.run("""
        require ["vacation", "vacation-seconds"];
        vacation :seconds 7200 :from "Alice <alice@example.com>" :addresses ["a@example.com"] :handle "away" :mime "MIME-Version: 1.0\\r\\n\\r\\nBack soon";
        """)
        guard case .vacation(let v) = r.actions.first else { Issue.record("no vacation"); return }
        #expect(v.periodSeconds == 86_400)   // clamped to the minimum period
        #expect(v.from == "Alice <alice@example.com>" && v.addresses == ["a@example.com"] && v.handle == "away" && v.mime)
        #expect(r.implicitKeep)
        #expect(!SieveFixture.compileErrors("require \"vacation\"; vacation :from \"not an address\" \"x\";").isEmpty)
        let twice = try SieveFixture.run("require \"vacation\"; vacation \"a\"; vacation \"b\";")
        #expect(!twice.errors.isEmpty)
    }

    @Test("special-use fileinto and specialuse_exists")
    func specialUse() throws {
        var ctx = SieveFixture.context()
        ctx.specialUseExists = { $0 == "\\Junk" }
        let r = try SieveFixture.run("""
        require ["fileinto", "special-use"];
        if specialuse_exists "\\\\Junk" { fileinto :specialuse "\\\\Junk" "Spam"; }
        """, ctx)
        #expect(r.actions == [.fileinto(SieveFileInto(mailbox: "Spam", specialUse: "\\Junk"))])
    }

    @Test("relational :count over address lists and string")
    func relational() throws {
        let r = try SieveFixture.run("""
        require ["relational", "comparator-i;ascii-numeric", "variables", "fileinto"];
        if address :count "eq" :comparator "i;ascii-numeric" ["to", "cc"] "3" { fileinto "three"; }
        if string :count "eq" :comparator "i;ascii-numeric" ["a", "", "b"] "2" { fileinto "two"; }
        if header :value "lt" :comparator "i;ascii-numeric" "x-none" "1" { fileinto "never"; }
        """)
        #expect(folders(r) == ["three", "two"])
    }

    @Test("set modifiers follow RFC 5229 precedence")
    func modifiers() throws {
        let r = try SieveFixture.run("""
        require ["variables", "fileinto"];
        set :upperfirst :lower "a" "hELLO";
        set :quotewildcard "b" "a*b?";
        set :length "c" "four";
        fileinto "${a}|${b}|${c}";
        """)
        #expect(folders(r) == ["Hello|a\\*b\\?|4"])
    }
}
