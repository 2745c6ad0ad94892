/// Per-command and per-test checks beyond argument shapes.
extension SieveValidator {
    static let maxVariableNameLength = 64
    static let maxMatchIndex = 32

    static let datePart: Set<String> = ["year", "month", "day", "date", "julian", "hour", "minute", "second", "time",
                                        "iso8601", "std11", "zone", "weekday"]
    static let protectedHeaders: Set<String> = ["received", "auto-submitted"]

    static func isFieldName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { $0 >= 33 && $0 <= 126 && $0 != 58 }
    }

    mutating func checkCommand(_ v: inout SieveNode) -> Bool {
        switch v.name {
        case "set":
            let name = v.arguments[0].strings[0]
            guard let n = name.constant, SieveString.isIdentifier(n) || isGlobalName(n) else {
                if let n = name.constant, n.contains(".") {
                    error(v.line, "set command: unknown variable namespace in '\(n)'.")
                } else {
                    error(v.line, "set command: invalid variable name '\(name.source)'.")
                }
                return false
            }
            if n.utf8.count > Self.maxVariableNameLength {
                error(v.line, "set command: variable name '\(n.prefix(20))…' is longer than \(Self.maxVariableNameLength) characters.")
                return false
            }
            variableNames.insert(n.lowercased())
            if variableNames.count > options.limits.maxVariables {
                if variableNames.count == options.limits.maxVariables + 1 {   // reported once
                    error(v.line, "set command: the number of variables exceeds the maximum of \(options.limits.maxVariables).")
                }
                return false
            }
        case "setflag", "addflag", "removeflag":
            if v.arguments.count == 2, let n = v.arguments[0].strings.first?.constant,
               !(SieveString.isIdentifier(n) || isGlobalName(n)) {
                error(v.line, "\(v.name) command: invalid variable name '\(n)'.")
                return false
            }
            if v.arguments.count == 2 && !usesVariables {
                error(v.line, "the \(v.name) command requires 1 positional argument(s), but 2 is/are specified.")
                return false
            }
        case "vacation":
            return checkVacation(&v)
        case "include":
            return include(&v)
        case "global":
            guard usesVariables else {
                error(v.line, "global command: the variables extension must be required to use global variables.")
                return false
            }
            for s in v.arguments[0].strings {
                guard let n = s.constant, SieveString.isIdentifier(n) else {
                    error(v.line, "global command: invalid variable name '\(s.source)'.")
                    return false
                }
                globals.insert(n.lowercased())
            }
        case "addheader":
            if let n = v.arguments[0].strings[0].constant {
                guard Self.isFieldName(n) else {
                    error(v.line, "addheader command: specified field name `\(n)' is invalid.")
                    return false
                }
            }
            if let value = v.arguments[1].strings[0].constant {
                if value.utf8.contains(0) {
                    error(v.line, "addheader command: specified value `\(value.prefix(40))' is invalid (it contains a NUL character).")
                    return false
                }
                if value.utf8.count > options.limits.maxHeaderEditBytes {
                    error(v.line, "addheader command: specified header value is too large (over \(options.limits.maxHeaderEditBytes) bytes).")
                    return false
                }
            }
        case "deleteheader":
            if let n = v.arguments[0].strings[0].constant {
                guard Self.isFieldName(n) else {
                    error(v.line, "deleteheader command: specified field name `\(n)' is invalid.")
                    return false
                }
            }
            if !checkIndexTags(v, what: "deleteheader command") { return false }
        case "fileinto":
            if let f = v.tag("specialuse")?.strings.first?.constant, !Self.isSpecialUseFlag(f) {
                error(v.line, "fileinto command: invalid special-use flag `\(f)' specified.")
                return false
            }
            if let m = v.arguments[0].strings[0].constant, m.unicodeScalars.contains("\u{FFFD}") {
                error(v.line, "fileinto command: invalid folder name `\(m)' specified: invalid UTF-8.")
                return false
            }
        case "redirect":
            if let a = v.arguments[0].strings[0].constant, SieveAddressCheck.normalize(a) == nil {
                error(v.line, "redirect command: specified redirect address '\(a)' is invalid.")
                return false
            }
        default:
            break
        }
        return true
    }

    /// `:last` needs `:index`, and `:index` counts from 1 (RFC 5260 §6, RFC 5293 §6).
    private mutating func checkIndexTags(_ v: SieveNode, what: String) -> Bool {
        if v.has("last") && !v.has("index") {
            error(v.line, "the :last tag for the \(what) cannot be specified without the :index tag.")
            return false
        }
        if let idx = v.tag("index")?.number, idx < 1 {
            error(v.line, "the :index tag for the \(what) requires a number greater than zero.")
            return false
        }
        return true
    }

    func isGlobalName(_ n: String) -> Bool {
        let parts = n.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 2 && parts[0].lowercased() == "global" && extensions.contains("include")
            && SieveString.isIdentifier(parts[1])
    }

    private mutating func checkVacation(_ v: inout SieveNode) -> Bool {
        let minPeriod = options.limits.vacationMinPeriod, maxPeriod = options.limits.vacationMaxPeriod
        for tag in ["days", "seconds"] {
            guard let n = v.tag(tag)?.number else { continue }
            let seconds = tag == "days" ? (n > Int.max / 86_400 ? Int.max : n * 86_400) : n
            var clamped = seconds
            if seconds < minPeriod {
                clamped = minPeriod
                warning(v.line, "specified :\(tag) value '\(n)' is under the minimum.")
            } else if maxPeriod > 0 && seconds > maxPeriod {
                clamped = maxPeriod
                warning(v.line, "specified :\(tag) value '\(n)' is over the maximum.")
            }
            v.tags["period"] = .number(clamped)
        }
        if let from = v.tag("from")?.strings.first?.constant, SieveAddressCheck.normalize(from) == nil {
            error(v.line, "specified :from address '\(from)' is invalid for vacation action.")
            return false
        }
        for a in v.tag("addresses")?.strings ?? [] {
            if let c = a.constant, SieveAddressCheck.normalize(c) == nil {
                error(v.line, "specified :addresses item '\(c)' is invalid for vacation action.")
                return false
            }
        }
        return true
    }

    private mutating func include(_ v: inout SieveNode) -> Bool {
        guard let name = v.arguments[0].strings[0].constant else {
            error(v.line, "include command: the script name must be a constant string.")
            return false
        }
        if name.isEmpty || name.contains("/") || name.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            error(v.line, "include: invalid script name '\(name)'.")
            return false
        }
        let location: SieveIncludeLocation = v.has("global") ? .global : .personal
        let key = location.rawValue + ":" + (name.hasSuffix(".sieve") ? String(name.dropLast(6)) : name)
        if includes.stack.contains(key) {
            // :once breaks the cycle at run time (RFC 6609 §3.2); otherwise it is an error
            if v.has("once"), let idx = includes.byKey[key] { v.include = idx; return true }
            error(v.line, "circular include.")
            return false
        }
        if let idx = includes.byKey[key] { v.include = idx; return true }
        if depth + 1 > options.limits.maxIncludeDepth {
            error(v.line, "include: the nesting depth of included scripts exceeds the limit of \(options.limits.maxIncludeDepth).")
            return false
        }
        if includes.programs.count + 1 > options.limits.maxIncludedScripts {
            error(v.line, "include: the number of included scripts exceeds the limit of \(options.limits.maxIncludedScripts).")
            return false
        }
        guard let text = options.includeLoader(name, location) else {
            if v.has("optional") { v.include = -1; return true }
            error(v.line, "included \(location.rawValue) script '\(name)' does not exist.")
            return false
        }
        if text.utf8.count > options.limits.maxScriptBytes {
            error(v.line, "included script '\(name)' is too large (over \(options.limits.maxScriptBytes) bytes).")
            return false
        }
        includes.stack.append(key)
        defer { includes.stack.removeLast() }
        // reserve the slot first, so that an `include :once` of this script from inside it resolves
        let slot = includes.programs.count
        includes.programs.append(SieveProgram(name: name, commands: [], usesVariables: false, globals: []))
        includes.byKey[key] = slot
        let (nodes, parseDiagnostics) = SieveParser.parse(text, maxNesting: options.limits.maxNesting)
        if parseDiagnostics.contains(where: { $0.severity == .error }) {
            includes.byKey[key] = nil
            for d in parseDiagnostics where d.severity == .error { error(d.line, "\(name): \(d.message)") }
            error(v.line, "failed to parse included script '\(name)'.")
            return false
        }
        var sub = SieveValidator(options: options, includes: includes, depth: depth + 1)
        let commands = sub.validate(nodes, topLevel: true)
        if sub.errorCount > 0 {
            includes.byKey[key] = nil
            // the included script's own errors (Pigeonhole reports them as they are), then ours
            for d in sub.diagnostics where d.severity == .error { diagnostics.append(d) }
            error(v.line, "failed to include script '\(name)'.")
            return false
        }
        let program = SieveProgram(name: name, commands: commands, usesVariables: sub.usesVariables, globals: sub.globals)
        includes.programs[slot] = program
        v.include = slot
        return true
    }

    /// RFC 6154 special-use attributes: a backslash and an atom.
    static func isSpecialUseFlag(_ f: String) -> Bool {
        let u = Array(f.utf8)
        return u.count >= 2 && u[0] == UInt8(ascii: "\\") && u.dropFirst().allSatisfy { SieveAddressCheck.isAtext($0) && $0 != UInt8(ascii: "%") && $0 != UInt8(ascii: "*") }
    }

    mutating func checkTest(_ v: inout SieveNode) -> Bool {
        switch v.name {
        case "specialuse_exists":
            for f in v.arguments.last?.strings ?? [] {
                if let c = f.constant, !Self.isSpecialUseFlag(c) {
                    error(v.line, "specialuse_exists test: invalid special-use flag `\(c)' specified.")
                    return false
                }
            }
        case "header", "address", "exists":
            if !checkIndexTags(v, what: "\(v.name) test") { return false }
        case "envelope":
            for p in v.arguments[0].strings {
                if let n = p.constant, !["from", "to", "auth"].contains(n.lowercased()) {
                    error(v.line, "envelope test: specified envelope part '\(n)' is not supported by the envelope test.")
                    return false
                }
            }
        case "size":
            if !v.has("over") && !v.has("under") {
                error(v.line, "the size test requires either the :under or the :over tag to be specified.")
                return false
            }
        case "date", "currentdate":
            let partArg = v.arguments[v.name == "date" ? 1 : 0].strings[0]
            if let p = partArg.constant, !Self.datePart.contains(p.lowercased()) {
                error(v.line, "\(v.name) test: invalid date part '\(p)'.")
                return false
            }
            if let z = v.tag("zone")?.strings.first?.constant, SieveDate.parseZone(z) == nil {
                warning(v.line, "\(v.name) test: specified :zone argument '\(z)' is not a valid timezone.")
            }
            if !checkIndexTags(v, what: "\(v.name) test") { return false }
        default:
            break
        }
        return true
    }
}
