import Foundation
@testable import Sieve

/// Runs one Pigeonhole `.svtest` file with `PigeonholeHarness`.
enum PigeonholeRunner {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let testsDirectory = root.appendingPathComponent(".deps/pigeonhole")

    struct Outcome {
        var file: String
        var passed: Bool
        var tests: Int
        var problems: [String]
    }

    static let defaultMessage = "From: sender@example.com\r\nTo: recipient@example.org\r\nSubject: Frop!\r\n\r\nFriep!\r\n"

    static func run(_ relativePath: String) -> Outcome {
        let url = testsDirectory.appendingPathComponent(relativePath)
        guard let text = try? String(contentsOf: url, encoding: .utf8) ?? String(decoding: Data(contentsOf: url), as: UTF8.self) else {
            return Outcome(file: relativePath, passed: false, tests: 0, problems: ["cannot read file"])
        }
        let harness = PigeonholeHarness(directory: url.deletingLastPathComponent())
        let script: SieveScript
        do {
            script = try SieveScript.compile(text, name: url.lastPathComponent, options: harness.compileOptions)
        } catch {
            return Outcome(file: relativePath, passed: false, tests: 0, problems: error.errors.map { "compile: \($0)" })
        }
        let context = SieveRunContext(message: Array(defaultMessage.utf8),
                                      envelope: SieveEnvelope(from: "sender@example.com", to: "recipient@example.org"),
                                      now: Date(), timeZone: TimeZone(identifier: "UTC")!,
                                      environment: PigeonholeHarness.environment,
                                      mailboxExists: harness.existence)
        let interpreter = script.makeInterpreter(context, harness: harness)
        let result = interpreter.runScript()
        var problems = harness.failures
        problems += result.errors.map { "run: \($0)" }
        // tests/failures/ files are run with -F by Pigeonhole: they must fail (without crashing)
        let expectFailure = relativePath.contains("/failures/")
        return Outcome(file: relativePath, passed: expectFailure ? !problems.isEmpty : problems.isEmpty, tests: harness.passed + harness.failures.count, problems: problems)
    }

    /// The capabilities a file's `require`s name, with those of the scripts it compiles
    /// (`test_script_compile`, `test_multiscript`).
    static func requires(_ relativePath: String) -> Set<String> {
        let url = testsDirectory.appendingPathComponent(relativePath)
        guard let data = try? Data(contentsOf: url) else { return [] }
        let text = String(decoding: data, as: UTF8.self)
        var out = requireNames(text)
        for name in quotedArguments(text, after: "test_script_compile") + quotedArguments(text, after: "test_multiscript") {
            let sub = url.deletingLastPathComponent().appendingPathComponent(name)
            if let d = try? Data(contentsOf: sub) { out.formUnion(requireNames(String(decoding: d, as: UTF8.self))) }
        }
        return out
    }

    static func requireNames(_ text: String) -> Set<String> {
        var out = Set<String>()
        for line in text.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("require") else { continue }
            out.formUnion(quoted(t.dropFirst(7)))
        }
        return out
    }

    static func quoted(_ s: Substring) -> [String] {
        var out = [String]()
        var rest = s
        while let q = rest.firstIndex(of: "\"") {
            let after = rest[rest.index(after: q)...]
            guard let e = after.firstIndex(of: "\"") else { break }
            out.append(String(after[..<e]))
            rest = after[after.index(after: e)...]
        }
        return out
    }

    /// The strings on the line after `keyword` (e.g. `test_script_compile "x.sieve"`).
    static func quotedArguments(_ text: String, after keyword: String) -> [String] {
        var out = [String]()
        for line in text.split(separator: "\n") {
            guard let r = line.range(of: keyword) else { continue }
            out += quoted(line[r.upperBound...])
        }
        return out
    }

    /// Pigeonhole's runnable cases: `test_cases` and `failure_test_cases` of its Makefile.am.
    static func makefileCases() -> [String] {
        guard let data = try? Data(contentsOf: testsDirectory.appendingPathComponent("Makefile.am")) else { return allFiles() }
        let text = String(decoding: data, as: UTF8.self)
        var out = [String]()
        var inList = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("test_cases =") || line.hasPrefix("failure_test_cases =") { inList = true; continue }
            guard inList else { continue }
            for word in line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\\" }) where word.hasSuffix(".svtest") {
                out.append(String(word))
            }
            if !line.hasSuffix("\\") { inList = false }
        }
        return out
    }

    static func allFiles() -> [String] {
        let base = testsDirectory.appendingPathComponent("tests")
        guard let e = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        var out = [String]()
        for case let u as URL in e where u.pathExtension == "svtest" {
            out.append("tests/" + u.path.dropFirst(base.path.count + 1))
        }
        return out.sorted()
    }
}
