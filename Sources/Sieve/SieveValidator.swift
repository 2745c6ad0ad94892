/// Checks a parse tree against the command specs and the script's `require`s, and turns it into
/// runnable nodes (RFC 5228 §2.10.5, §3.2, §8.3). Collects every error with its line.
struct SieveValidator {
    /// Shared by a script and the scripts it includes.
    final class IncludeTable {
        var programs: [SieveProgram] = []
        var byKey: [String: Int] = [:]
        var stack: [String] = []
    }

    let options: SieveCompileOptions
    var extensions: Set<String> = []
    var diagnostics: [SieveDiagnostic] = []
    var globals: Set<String> = []
    var variableNames: Set<String> = []
    let includes: IncludeTable
    let depth: Int
    private var seenNonRequire = false
    private var reportedUnknown: Set<String> = []

    init(options: SieveCompileOptions, includes: IncludeTable, depth: Int) {
        self.options = options; self.includes = includes; self.depth = depth
    }

    var usesVariables: Bool { extensions.contains("variables") }

    /// Capabilities `ihave` never reports: they change how the whole script is read (RFC 5463 §4).
    static let notForIhave: Set<String> = ["variables", "encoded-character"]

    mutating func error(_ line: Int, _ message: String) {
        diagnostics.append(SieveDiagnostic(line: line, severity: .error, message: message))
    }
    mutating func warning(_ line: Int, _ message: String) {
        diagnostics.append(SieveDiagnostic(line: line, severity: .warning, message: message))
    }
    var errorCount: Int { diagnostics.filter { $0.severity == .error }.count }

    func enabled(_ ext: String?) -> Bool {
        guard let ext else { return true }
        if ext == "spamtest" { return extensions.contains("spamtest") || extensions.contains("spamtestplus") }
        if ext == "fileinto" || ext == "reject" { return extensions.contains(ext) }
        return extensions.contains(ext)
    }

    // MARK: commands

    mutating func validate(_ nodes: [SieveCommandNode], topLevel: Bool) -> [SieveNode] {
        var out = [SieveNode]()
        var previous: String?
        for node in nodes {
            if errorCount >= 30 { break }
            let name = node.name.lowercased()
            if name == "require" {
                if !topLevel || seenNonRequire {
                    error(node.line, "require commands can only be placed at top level at the beginning of the file.")
                    continue
                }
                require(node)
                previous = name
                continue
            }
            seenNonRequire = true
            if name == "elsif" || name == "else" {
                guard previous == "if" || previous == "elsif", !out.isEmpty, out[out.count - 1].name == "if" else {
                    error(node.line, "the \(name) command must follow an if or elseif command.")
                    previous = name
                    continue
                }
                if let v = command(node, name: name) { out[out.count - 1].chain.append(v) }
                previous = name
                continue
            }
            if let v = command(node, name: name) { out.append(v) }
            previous = name
        }
        return out
    }

    private mutating func require(_ node: SieveCommandNode) {
        guard node.arguments.count == 1, case .strings(let names, _) = node.arguments[0].value, node.tests.isEmpty,
              node.block == nil else {
            error(node.line, "the require command accepts a single string or string list argument.")
            return
        }
        for n in names {
            let ext = n.lowercased() == n ? n : n   // capability names are case-sensitive
            if options.extensions.contains(ext) || (ext == "vnd.dovecot.testsuite" && options.testsuite) {
                extensions.insert(ext)
                if ext == "spamtestplus" { extensions.insert("spamtest") }
                if ext == "vacation-seconds" { extensions.insert("vacation") }
                if ext == "ereject" { extensions.insert("ereject") }
            } else if ext.hasPrefix("comparator-"), ["comparator-i;octet", "comparator-i;ascii-casemap"].contains(ext) {
                extensions.insert(ext)
            } else {
                error(node.arguments[0].line, "require command: unknown Sieve capability `\(ext)'.")
            }
        }
    }

    private mutating func command(_ node: SieveCommandNode, name: String) -> SieveNode? {
        guard let spec = spec(name, isTest: false) else {
            unknown(node.line, kind: "command", name: node.name)
            return nil
        }
        // every problem of the command is reported (arguments, sub-tests, block), as Pigeonhole does
        let validated = arguments(name: name, line: node.line, args: node.arguments, spec: spec)
        var failed = validated == nil
        var v = validated ?? SieveNode(name: name, line: node.line, tags: [:], arguments: [], tests: [], block: nil)
        switch spec.subTests {
        case .none:
            if !node.tests.isEmpty { error(node.line, "the \(name) command accepts no sub-tests, but tests are specified."); failed = true }
        case .one:
            if node.tests.isEmpty { error(node.line, "the \(name) command requires one sub-test, but none is specified."); failed = true }
            else if node.hasTestList || node.tests.count != 1 { error(node.line, "the \(name) command requires one sub-test, but a list of tests is specified."); failed = true }
        case .list:
            break
        }
        var tests = [SieveNode]()
        if spec.subTests != .none { for t in node.tests { if let vt = test(t) { tests.append(vt) } } }
        if tests.count != node.tests.count { failed = true }
        v.tests = tests
        // block
        if spec.block == true && node.block == nil {
            error(node.line, "the \(name) command requires a command block, but it is missing."); failed = true
        }
        if spec.block == false && node.block != nil {
            error(node.line, "the \(name) command does not accept a command block, but one is specified anyway."); failed = true
        }
        if failed {
            if let block = node.block, spec.block != false { _ = validate(block, topLevel: false) }
            return nil
        }
        if let block = node.block {
            if name == "if" || name == "elsif", let t = tests.first, t.name == "ihave" {
                // RFC 5463 §4: the block may use what ihave tested for; unknown capabilities make it dead code.
                let wanted = t.arguments.first?.strings.map(\.source) ?? []
                if wanted.allSatisfy({ options.extensions.contains($0) && !SieveValidator.notForIhave.contains($0) }) {
                    let saved = extensions
                    extensions.formUnion(wanted)
                    v.block = validate(block, topLevel: false)
                    extensions = saved
                } else {
                    v.block = []
                }
            } else {
                v.block = validate(block, topLevel: false)
            }
        }
        if !checkCommand(&v) { return nil }
        return v
    }

    mutating func test(_ node: SieveTestNode) -> SieveNode? {
        let name = node.name.lowercased()
        guard let spec = spec(name, isTest: true) else {
            unknown(node.line, kind: "test", name: node.name)
            return nil
        }
        guard var v = arguments(name: name, line: node.line, args: node.arguments, spec: spec) else {
            for t in node.tests { _ = test(t) }   // their errors too
            return nil
        }
        switch spec.subTests {
        case .none:
            if !node.tests.isEmpty { error(node.line, "the \(name) test accepts no sub-tests, but tests are specified."); return nil }
        case .one:
            if node.tests.isEmpty { error(node.line, "the \(name) test requires one sub-test, but none is specified."); return nil }
            if node.hasTestList { error(node.line, "the \(name) test requires one sub-test, but a list of tests is specified."); return nil }
        case .list:
            if node.tests.isEmpty { error(node.line, "the \(name) test requires a list of sub-tests, but none is specified."); return nil }
            if !node.hasTestList { error(node.line, "the \(name) test requires a list of sub-tests, but a single test is specified."); return nil }
        }
        var tests = [SieveNode]()
        for t in node.tests { if let vt = test(t) { tests.append(vt) } }
        guard tests.count == node.tests.count else { return nil }
        v.tests = tests
        if !checkTest(&v) { return nil }
        return v
    }

    private func spec(_ name: String, isTest: Bool) -> SieveCommandSpec? {
        let table = isTest ? SieveCommandSpec.tests : SieveCommandSpec.commands
        if let s = table[name], enabled(s.ext) { return s }
        if extensions.contains("vnd.dovecot.testsuite") {
            let t = isTest ? SieveCommandSpec.testsuiteTests : SieveCommandSpec.testsuiteCommands
            if let s = t[name] { return s }
        }
        return nil
    }

    private mutating func unknown(_ line: Int, kind: String, name: String) {
        let key = kind + ":" + name
        if reportedUnknown.contains(key) { return }
        reportedUnknown.insert(key)
        error(line, "unknown \(kind) '\(name)' (only reported once at first occurrence).")
    }

    private mutating func prepare(_ s: String, line: Int) -> SieveString {
        let decoded = extensions.contains("encoded-character") ? SieveEncodedCharacter.decode(s) : s
        let parsed = SieveString.parse(decoded, variables: usesVariables)
        for p in parsed.parts {
            switch p {
            case .variable(let name) where name.contains("."):
                let testsuiteName = name.hasPrefix("tst.") && extensions.contains("vnd.dovecot.testsuite")
                if !isGlobalName(name) && !testsuiteName { error(line, "unknown variable namespace in '${\(name)}'.") }
            case .matchValue(let i) where i > Self.maxMatchIndex:
                error(line, "match value index \(i) exceeds the maximum of \(Self.maxMatchIndex).")
            default:
                break
            }
        }
        return parsed
    }

    private func describe(_ v: SieveArgumentNode.Value) -> String {
        switch v {
        case .tag(let t): return "tag ':\(t)'"
        case .number: return "a number"
        case .strings(_, let isList): return isList ? "a string list" : "a string"
        }
    }

    /// Tags, then positional arguments, checked against the spec.
    private mutating func arguments(name: String, line: Int, args: [SieveArgumentNode], spec: SieveCommandSpec) -> SieveNode? {
        var node = SieveNode(name: name, line: line, tags: [:], arguments: [], tests: [], block: nil)
        var groups = [String: String]()
        var i = 0
        var positional = [SieveArgumentNode]()
        var ok = true
        while i < args.count {
            let a = args[i]
            guard case .tag(let rawTag) = a.value else { positional.append(a); i += 1; continue }
            let tag = rawTag.lowercased()
            guard let ts = spec.tags[tag], enabled(ts.ext) else {
                error(a.line, "unknown tagged argument ':\(rawTag)' for the \(name) \(spec.kindName) (reported only once at first occurence).")
                return nil
            }
            if !positional.isEmpty && name != "test_set" {
                // tags must precede positional arguments
                error(a.line, "the \(name) \(spec.kindName) expects a positional argument, but tag ':\(rawTag)' was found after it.")
                return nil
            }
            if let g = ts.group {
                if let prev = groups[g], !(g == "match type" && prev == tag) {
                    error(a.line, "multiple \(g) arguments specified for the \(name) \(spec.kindName) (':\(prev)' and ':\(tag)').")
                    ok = false
                }
                groups[g] = tag
            } else if node.tags[tag] != nil {
                error(a.line, "encountered duplicate tag ':\(tag)' for the \(name) \(spec.kindName).")
                ok = false
            }
            i += 1
            switch ts.param {
            case .none:
                node.tags[tag] = .flag
            case .number:
                guard i < args.count, case .number(let n) = args[i].value else {
                    error(a.line, "the :\(tag) tag for the \(name) \(spec.kindName) requires a number as parameter, but \(i < args.count ? describe(args[i].value) : "none") was found.")
                    return nil
                }
                node.tags[tag] = .number(n); i += 1
            case .string, .stringList:
                guard i < args.count, case .strings(let l, let isList) = args[i].value, ts.param == .stringList || !isList else {
                    error(a.line, "the :\(tag) tag for the \(name) \(spec.kindName) requires \(ts.param.noun) as parameter, but \(i < args.count ? describe(args[i].value) : "none") was found.")
                    return nil
                }
                let prepared = l.map { prepare($0, line: args[i].line) }
                node.tags[tag] = ts.param == .string ? .string(prepared[0]) : .list(prepared)
                i += 1
            }
        }
        guard ok else { return nil }
        let minCount = spec.positional.count - spec.optionalLeading - spec.optionalTrailing
        if positional.count < minCount || positional.count > spec.positional.count {
            let wanted = minCount < spec.positional.count ? "\(minCount) or \(spec.positional.count)" : "\(spec.positional.count)"
            error(line, "the \(name) \(spec.kindName) requires \(wanted) positional argument(s), but \(positional.count) is/are specified.")
            return nil
        }
        let kinds = spec.optionalTrailing > 0 ? Array(spec.positional.prefix(positional.count)) : Array(spec.positional.suffix(positional.count))
        for (n, (a, kind)) in zip(positional, kinds).enumerated() {
            switch (kind, a.value) {
            case (.number, .number(let x)): node.arguments.append(.number(x))
            case (.string, .strings(let l, false)): node.arguments.append(.string(prepare(l[0], line: a.line)))
            case (.stringList, .strings(let l, _)): node.arguments.append(.list(l.map { prepare($0, line: a.line) }))
            default:
                error(a.line, "the \(name) \(spec.kindName) expects \(kind.noun) as argument \(n + 1), but \(describe(a.value)) was found.")
                return nil
            }
        }
        if spec.tags["comparator"] != nil || spec.tags["is"] != nil {
            guard let m = matchSpec(&node, line: line) else { return nil }
            node.match = m
        }
        return node
    }

    private mutating func matchSpec(_ node: inout SieveNode, line: Int) -> SieveMatchSpec? {
        var m = SieveMatchSpec()
        if node.name == "string" { m.comparator = .octet }   // as Pigeonhole (tst-string.c)
        if let c = node.tag("comparator") {
            let name = c.strings.first?.source ?? ""
            switch name.lowercased() {
            case "i;octet": m.comparator = .octet
            case "i;ascii-casemap": m.comparator = .asciiCasemap
            case "i;ascii-numeric" where extensions.contains("comparator-i;ascii-numeric"): m.comparator = .asciiNumeric
            default:
                error(line, "unknown comparator '\(name)'.")
                return nil
            }
        }
        for t in ["is", "contains", "matches", "regex"] where node.has(t) {
            m.matchType = t == "is" ? .is : t == "contains" ? .contains : t == "matches" ? .matches : .regex
        }
        for t in ["value", "count"] {
            guard let arg = node.tag(t) else { continue }
            let opText = arg.strings.first?.source.lowercased() ?? ""
            guard let op = SieveRelation(rawValue: opText) else {
                error(line, "invalid relational match type '\(opText)' for the :\(t) match type.")
                return nil
            }
            m.matchType = t == "value" ? .value(op) : .count(op)
        }
        if m.comparator == .asciiNumeric {
            switch m.matchType {
            case .contains, .matches, .regex:
                let t = { if case .contains = m.matchType { return "contains" }; if case .matches = m.matchType { return "matches" }; return "regex" }()
                error(line, "the specified i;ascii-numeric comparator does not support sub-string matching as required by the :\(t) match type.")
                return nil
            default: break
            }
        }
        for p in ["all", "localpart", "domain", "user", "detail"] where node.has(p) {
            m.addressPart = SieveAddressPart(rawValue: p) ?? .all
        }
        if case .regex = m.matchType, let keys = node.arguments.last?.strings {
            var compiled = [SieveRegex?]()
            for k in keys {
                guard let text = k.constant else { compiled.append(nil); continue }
                do {
                    compiled.append(try SieveRegex(text, caseInsensitive: m.comparator == .asciiCasemap, limits: options.limits))
                } catch {
                    self.error(line, "invalid regular expression '\(text)' for regex match: \(error.message).")
                    return nil
                }
            }
            m.regexes = compiled
        }
        return m
    }
}
