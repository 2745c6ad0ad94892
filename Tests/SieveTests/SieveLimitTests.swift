import Foundation
import Testing
@testable import Sieve

@Suite("Sieve: limits")
struct SieveLimitTests {
    @Test("nesting deeper than maxNesting is a compile error")
    func nesting() {
        let deep = String(repeating: "if true { ", count: 40) + "keep;" + String(repeating: " }", count: 40)
        #expect(SieveFixture.compileErrors(deep).contains { $0.contains("nest") })
        let tests = "if " + String(repeating: "not ", count: 40) + "true { keep; }"
        #expect(SieveFixture.compileErrors(tests).contains { $0.contains("nest") })
    }

    @Test("a script over maxScriptBytes is refused")
    func scriptSize() {
        var limits = SieveLimits()
        limits.maxScriptBytes = 100
        let errors = SieveFixture.compileErrors(String(repeating: "keep;\n", count: 50), options: SieveCompileOptions(limits: limits))
        #expect(errors.first?.contains("too large") == true)
    }

    @Test("more actions than maxActions: run-time error and implicit keep")
    func actions() throws {
        var limits = SieveLimits()
        limits.maxActions = 3
        let script = "require \"fileinto\";" + (1...5).map { "fileinto \"f\($0)\";" }.joined()
        let r = try SieveFixture.run(script, SieveFixture.context(limits: limits))
        #expect(r.actions == [.keep(flags: [])] && r.implicitKeep)
        #expect(r.errors.first?.message.contains("total number of actions exceeds policy limit") == true)
    }

    @Test("more redirects than maxRedirects: run-time error")
    func redirects() throws {
        let script = (1...5).map { "redirect \"user\($0)@example.com\";" }.joined()
        let r = try SieveFixture.run(script)
        #expect(r.errors.first?.message.contains("redirect actions exceeds policy limit") == true)
        #expect(r.actions == [.keep(flags: [])])
    }

    @Test("include deeper than maxIncludeDepth is a compile error")
    func includeDepth() {
        var limits = SieveLimits()
        limits.maxIncludeDepth = 2
        let options = SieveCompileOptions(limits: limits, includeLoader: { name, _ in
            let n = Int(name.dropFirst()) ?? 0
            return "require \"include\"; include \"s\(n + 1)\";"
        })
        #expect(SieveFixture.compileErrors("require \"include\"; include \"s1\";", options: options).contains { $0.contains("nesting depth") })
    }

    @Test("a run over maxRunSeconds stops with an error")
    func runTime() throws {
        var limits = SieveLimits()
        limits.maxRunSeconds = 0
        let script = String(repeating: "if header :contains \"subject\" \"x\" { discard; }\n", count: 2000)
        let r = try SieveFixture.run(script, SieveFixture.context(limits: limits))
        #expect(r.errors.first?.message.contains("run time limit") == true)
        #expect(r.actions == [.keep(flags: [])])
    }

    @Test("variables are truncated at maxVariableBytes")
    func variableSize() throws {
        var limits = SieveLimits()
        limits.maxVariableBytes = 10
        let r = try SieveFixture.run("require [\"variables\", \"fileinto\"]; set \"v\" \"0123456789abcdef\"; fileinto \"${v}\";",
                                     SieveFixture.context(limits: limits))
        #expect(r.actions == [.fileinto(SieveFileInto(mailbox: "0123456789"))])
    }

    @Test("a catastrophic regex on a big subject ends within its budget")
    func regexBudget() throws {
        let subject = String(repeating: "a", count: 200_000)
        let message = "Subject: \(subject)\r\nFrom: a@example.com\r\n\r\nbody\r\n"
        var limits = SieveLimits()
        limits.maxRegexSteps = 2_000_000
        let r = try SieveFixture.run("""
        require ["regex", "fileinto"];
        if header :regex "subject" "^(a|aa|a*)*(a+)+b$" { fileinto "matched"; }
        """, SieveFixture.context(message, limits: limits))
        // either the automaton finished (no match) or the budget stopped it: never a hang
        #expect(r.actions == [.keep(flags: [])])
        #expect(r.errors.isEmpty || r.errors[0].message.contains("budget"))
    }

    @Test("regex patterns: size cap and back-references refused")
    func regexPatterns() {
        var limits = SieveLimits()
        limits.maxRegexPatternBytes = 16
        let options = SieveCompileOptions(limits: limits)
        #expect(!SieveFixture.compileErrors("require \"regex\"; if header :regex \"s\" \"aaaaaaaaaaaaaaaaaaaaaaaa\" { keep; }", options: options).isEmpty)
        #expect(!SieveFixture.compileErrors("require \"regex\"; if header :regex \"s\" \"(a)\\\\1\" { keep; }").isEmpty)
        #expect(!SieveFixture.compileErrors("require \"regex\"; if header :regex \"s\" \"a{1000}{1000}\" { keep; }").isEmpty)
    }

    @Test("hostile input never crashes the run")
    func garbage() throws {
        let bytes: [UInt8] = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
        let ctx = SieveRunContext(message: bytes, envelope: SieveEnvelope(from: "", to: "x@y"))
        let r = try SieveFixture.run("""
        require ["body", "regex", "date", "variables", "editheader", "fileinto"];
        if body :text :contains "x" { fileinto "b"; }
        if header :regex "subject" ".*" { fileinto "s"; }
        if date "date" "year" "2000" { fileinto "d"; }
        deleteheader "subject"; addheader "X" "y";
        """, ctx)
        #expect(!r.actions.isEmpty)
    }
}
