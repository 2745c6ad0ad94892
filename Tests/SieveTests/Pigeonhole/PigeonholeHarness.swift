import Foundation
@testable import Sieve

/// An independent implementation of Pigeonhole's `vnd.dovecot.testsuite` commands (semantics read
/// from its src/testsuite/*.c): a test file runs as one script; `test` blocks report failures;
/// the test's own actions and those of `test_script_run` share one result; `test_result_execute`
/// stores messages in an in-memory mail store and queues outgoing mail.
final class PigeonholeHarness: SieveTestHarness {
    struct OutgoingMail { var from: String; var to: String; var message: [UInt8] }

    let directory: URL
    var failures: [String] = []
    var passed = 0
    var errors: [String] = []
    var warnings: [String] = []
    var compiled: SieveScript?
    var compiledIsTestsuite = false
    var binaries: [String: SieveScript] = [:]
    var mailboxes: Set<String> = ["INBOX"]
    var folders: [String: [(message: [UInt8], flags: [String])]] = [:]
    var smtp: [OutgoingMail] = []
    var config: [String: String] = [:]
    var insideTest: String?
    var originalRecipient: String?

    /// `test_config_set` keys that map onto `SieveLimits` (others are recorded and ignored).
    var limits: SieveLimits {
        var l = SieveLimits()
        func int(_ k: String) -> Int? { config[k].flatMap { Int($0) } }
        if let v = int("sieve_include_max_includes") { l.maxIncludedScripts = v }
        if let v = int("sieve_include_max_nesting_depth") { l.maxIncludeDepth = v }
        if let v = int("sieve_variables_max_variable_size") { l.maxVariableBytes = v }
        if let v = int("sieve_variables_max_scope_size") { l.maxVariables = v }
        if let v = int("sieve_max_redirects") { l.maxRedirects = v }
        if let v = int("sieve_max_actions") { l.maxActions = v }
        if let v = config["sieve_editheader_max_header_size"].flatMap(Self.size) { l.maxHeaderEditBytes = v }
        if let v = config["sieve_vacation_min_period"].flatMap(Self.duration) { l.vacationMinPeriod = v }
        if let v = config["sieve_vacation_max_period"].flatMap(Self.duration) { l.vacationMaxPeriod = v }
        if let v = config["sieve_vacation_default_period"].flatMap(Self.duration) { l.vacationDefaultPeriod = v }
        return l
    }

    static func duration(_ s: String) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).lowercased()
        if let n = Int(t) { return n }
        let mult: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let last = t.last, let m = mult[last], let n = Int(t.dropLast()) { return n * m }
        return nil
    }

    static func size(_ s: String) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).lowercased()
        if let n = Int(t) { return n }
        let mult: [Character: Int] = ["k": 1024, "m": 1 << 20, "g": 1 << 30]
        if let last = t.last, let m = mult[last], let n = Int(t.dropLast()) { return n * m }
        return nil
    }

    init(directory: URL) { self.directory = directory }

    /// RFC 5183 items as Pigeonhole's testsuite reports them (its tests check the product name).
    static let environment: [String: String] = [
        "name": "Pigeonhole Sieve", "version": "0.5.19", "location": "MS", "phase": "during",
        "domain": "example.com", "host": "host.example.com",
    ]

    static let failMarker = "TESTSUITE-FAIL: "

    var compileOptions: SieveCompileOptions {
        let dir = directory
        var o = SieveCompileOptions(includeLoader: { name, location in
            let sub = location == .global ? "included-global" : "included"
            for candidate in [dir.appendingPathComponent(sub).appendingPathComponent(name + ".sieve"),
                              dir.appendingPathComponent(sub).appendingPathComponent(name)] {
                if let t = try? String(contentsOf: candidate, encoding: .utf8) { return t }
            }
            return nil
        })
        o.testsuite = true
        o.limits = limits
        return o
    }

    // MARK: commands

    func command(_ name: String, line: Int, tags: [String: [String]], arguments: [[String]], numbers: [Int],
                 block: (() throws -> Void)?, run: SieveInterpreter) throws(SieveHarnessAbort) {
        switch name {
        case "test":
            let testName = arguments.first?.first ?? ""
            insideTest = testName
            defer { insideTest = nil }
            do {
                try block?()
                passed += 1
            } catch let abort as SieveHarnessAbort {
                failures.append("test '\(testName)': \(abort.message.replacingOccurrences(of: Self.failMarker, with: ""))")
            } catch {
                failures.append("test '\(testName)': \(error)")
            }
        case "test_fail":
            throw SieveHarnessAbort(Self.failMarker + (arguments.first?.first ?? ""))
        case "test_set":
            let object = arguments[0][0].lowercased(), value = arguments[1][0]
            switch object {
            case "message": setMessage(Array(value.utf8), run: run); updateScores(run)
            case "envelope.from": run.setEnvelope(from: Self.path(value))
            case "envelope.to": run.setEnvelope(to: Self.path(value))
            case "envelope.orig_to": originalRecipient = Self.path(value)
            case "envelope.auth": run.setEnvelope(auth: value)
            default: throw SieveHarnessAbort("unknown testsuite object '\(object)'")
            }
        case "test_message":
            if !(try selectMessage(tags: tags, arguments: arguments, numbers: numbers, run: run)) {
                throw SieveHarnessAbort("test_message: no such message")
            }
        case "test_result_reset":
            run.resetResult()
            smtp = []
        case "test_result_print", "test_message_print":
            break
        case "test_mailbox_create":
            mailboxes.insert(arguments[0][0])
            run.setMailboxExists(existence)
        case "test_binary_save":
            if let compiled { binaries[arguments[0][0]] = compiled }
        case "test_binary_load":
            guard let b = binaries[arguments[0][0]] else { throw SieveHarnessAbort("test_binary_load: no binary") }
            compiled = b
        case "test_config_set":
            config[arguments[0][0]] = arguments[1][0]
        case "test_config_unset":
            config[arguments[0][0]] = nil
        case "test_config_reload":
            run.setRecipientDelimiters(config["recipient_delimiter"].flatMap { $0.isEmpty ? nil : $0 } ?? "+")
            func names(_ key: String) -> Set<String> {
                Set((config[key] ?? "").split(separator: " ").map { $0.lowercased() }.filter { SieveValidator.isFieldName($0) })
            }
            let protected = names("sieve_editheader_protected")
            run.setEditheaderProtection(forbidAdd: protected.union(names("sieve_editheader_forbid_add")),
                                        forbidDelete: protected.union(names("sieve_editheader_forbid_delete")))
            updateScores(run)
        default:
            throw SieveHarnessAbort("testsuite command '\(name)' is not supported by this runner")
        }
    }

    var existence: @Sendable (String) -> Bool {
        let set = mailboxes
        return { set.contains($0) || $0.uppercased() == "INBOX" }
    }

    static func path(_ v: String) -> String {
        var s = v.trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("<") && s.hasSuffix(">") { s = String(s.dropFirst().dropLast()) }
        return s
    }

    /// `test_set "message"`: the envelope follows the new message's header (testsuite-message.c).
    func setMessage(_ bytes: [UInt8], run: SieveInterpreter) {
        run.replaceMessage(bytes)
        let m = SieveMessage(bytes)
        func first(_ names: [String]) -> String? {
            for n in names {
                if let raw = m.rawValues(n).first, let a = MailAddressLite.first(raw) { return a }
            }
            return nil
        }
        run.setEnvelope(from: first(["Return-Path", "Sender", "From"]) ?? "sender@example.com",
                        to: first(["Envelope-To", "To"]) ?? "recipient@example.com")
    }

    func selectMessage(tags: [String: [String]], arguments: [[String]], numbers: [Int], run: SieveInterpreter) throws(SieveHarnessAbort) -> Bool {
        let index = numbers.first ?? 0
        if tags["smtp"] != nil {
            guard index >= 0, index < smtp.count else { return false }
            let m = smtp[index]
            run.replaceMessage(m.message)
            run.setEnvelope(from: m.from, to: m.to)
            return true
        }
        if tags["folder"] != nil {
            let folder = arguments.first?.first ?? ""
            guard let list = folders[folder], index >= 0, index < list.count else { return false }
            run.replaceMessage(list[index].message)
            run.setInternalFlags(list[index].flags)
            return true
        }
        return false
    }

    // MARK: tests

    func test(_ name: String, line: Int, tags: [String: [String]], arguments: [[String]], numbers: [Int],
              run: SieveInterpreter) throws(SieveHarnessAbort) -> Bool {
        switch name {
        case "test_script_compile":
            errors = []; warnings = []
            let path = directory.appendingPathComponent(arguments[0][0])
            guard let text = try? String(contentsOf: path, encoding: .utf8) else {
                errors.append("failed to open script \(arguments[0][0])")
                return false
            }
            do {
                let s = try SieveScript.compile(text, name: path.deletingPathExtension().lastPathComponent, options: compileOptions)
                compiled = s
                compiledIsTestsuite = text.contains("vnd.dovecot.testsuite")
                warnings = s.warnings.map(\.message)
                return true
            } catch {
                // Pigeonhole ends a failed compile with one more error (sieve.c)
                errors = error.errors.map(\.message) + [error.parseFailed ? "parse failed" : "validation failed"]
                warnings = error.diagnostics.filter { $0.severity == .warning }.map(\.message)
                return false
            }
        case "test_script_run":
            errors = []
            guard let compiled else { errors.append("testsuite: trying to run script, but no script compiled yet"); return false }
            var ctx = run.runContext
            ctx.limits = limits
            let sub = compiled.makeInterpreter(ctx, harness: self)
            let result = sub.runScript()
            errors += result.warnings.filter { $0.severity == .error }.map(\.message) + result.errors.map(\.message)
            warnings += result.warnings.filter { $0.severity == .warning }.map(\.message)
            run.adopt(sub, append: tags["append_result"] != nil, failed: !result.errors.isEmpty)
            return result.errors.isEmpty || compiledIsTestsuite
        case "test_multiscript":
            return multiscript(arguments[0], run: run)
        case "test_error":
            let values: [String]
            if let i = numbers.first { values = i >= 1 && i <= errors.count ? [errors[i - 1]] : [] } else { values = errors }
            return match(values, arguments[0], tags: tags, run: run)
        case "test_result_action":
            let names = run.explicitActions.map(Self.actionName)
            let values: [String]
            if let i = numbers.first, i > 0 { values = i <= names.count ? [names[i - 1]] : [] } else { values = names }
            return match(values, arguments[0], tags: tags, run: run)
        case "test_result_execute":
            return execute(run)
        case "test_message":
            return try selectMessage(tags: tags, arguments: arguments, numbers: numbers, run: run)
        default:
            throw SieveHarnessAbort("testsuite test '\(name)' is not supported by this runner")
        }
    }

    func match(_ values: [String], _ keys: [String], tags: [String: [String]], run: SieveInterpreter) -> Bool {
        if let op = tags["count"]?.first {
            let count = String(values.count)
            return keys.contains { k in
                let o = SieveMatcher.order(count, k, .asciiNumeric)
                return SieveRelation(rawValue: op.lowercased())?.holds(o) ?? false
            }
        }
        if let op = tags["value"]?.first, let rel = SieveRelation(rawValue: op.lowercased()) {
            let cmp: SieveComparator = tags["comparator"]?.first == "i;ascii-numeric" ? .asciiNumeric : .octet
            return values.contains { v in keys.contains { rel.holds(SieveMatcher.order(v, $0, cmp)) } }
        }
        let type = tags["matches"] != nil ? "matches" : tags["contains"] != nil ? "contains" : "is"
        return run.harnessMatch(values, keys: keys, matchType: type, comparator: tags["comparator"]?.first ?? "i;octet")
    }

    static func actionName(_ a: SieveAction) -> String {
        switch a {
        case .keep: return "keep"
        case .fileinto: return "store"
        case .redirect: return "redirect"
        case .discard: return "discard"
        case .reject(_, let e): return e ? "ereject" : "reject"
        case .vacation: return "vacation"
        }
    }
}

/// The first address of a header value (for the testsuite's envelope defaults).
enum MailAddressLite {
    static func first(_ raw: [UInt8]) -> String? {
        let text = String(decoding: raw, as: UTF8.self)
        if let open = text.firstIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            return String(text[text.index(after: open)..<close])
        }
        let t = text.trimmingCharacters(in: .whitespaces)
        return t.isEmpty ? nil : t
    }
}
