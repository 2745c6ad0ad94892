/// Variables (RFC 5229), imap4flags (RFC 5232) and string expansion.
extension SieveInterpreter {
    func expand(_ s: SieveString) throws(SieveRuntimeError) -> String {
        if let c = s.constant { return c }
        var out = ""
        for p in s.parts {
            switch p {
            case .text(let t): out += t
            case .matchValue(let i): if i < matchValues.count { out += matchValues[i] }
            case .variable(let name): out += variable(name) ?? ""
            }
        }
        return out
    }

    func expandAll(_ list: [SieveString]) throws(SieveRuntimeError) -> [String] {
        var out = [String]()
        out.reserveCapacity(list.count)
        for s in list { out.append(try expand(s)) }
        return out
    }

    func isGlobal(_ name: String) -> (Bool, String) {
        if name.hasPrefix("global.") { return (true, String(name.dropFirst(7))) }
        return (program.globals.contains(name), name)
    }

    func variable(_ name: String) -> String? {
        let (global, key) = isGlobal(name)
        if global { return globalVariables[key] }
        if name.contains(".") { return nil }
        return variables[key]
    }

    func assign(_ name: String, _ value: String) {
        var v = value
        let limit = context.limits.maxVariableBytes
        if v.utf8.count > limit {
            var bytes = Array(v.utf8.prefix(limit))
            while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
            if let last = bytes.last, last >= 0xC0 { bytes.removeLast() }
            v = String(decoding: bytes, as: UTF8.self)
        }
        let lname = name.lowercased()
        let (global, key) = isGlobal(lname)
        if global { globalVariables[key] = v } else { variables[key] = v }
    }

    func setVariable(_ n: SieveNode) throws(SieveRuntimeError) {
        let name = n.arguments[0].strings[0].constant ?? ""
        var value = try expand(n.arguments[1].strings[0])
        // modifier precedence (RFC 5229 §4.1): lower/upper 40, lowerfirst/upperfirst 30, quote 20, length 10
        if n.has("lower") { value = asciiLower(value) }
        if n.has("upper") { value = asciiUpper(value) }
        if n.has("lowerfirst"), let f = value.first { value = asciiLower(String(f)) + value.dropFirst() }
        if n.has("upperfirst"), let f = value.first { value = asciiUpper(String(f)) + value.dropFirst() }
        if n.has("quotewildcard") {
            var out = ""
            for c in value { if c == "*" || c == "?" || c == "\\" { out.append("\\") }; out.append(c) }
            value = out
        }
        if n.has("quoteregex") {
            var out = ""
            for c in value { if "\\.*+?^$[](){}|".contains(c) { out.append("\\") }; out.append(c) }
            value = out
        }
        if n.has("length") { value = String(value.count) }
        assign(name, value)
    }

    func asciiLower(_ s: String) -> String { String(decoding: s.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self) }
    func asciiUpper(_ s: String) -> String { String(decoding: s.utf8.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self) }

    // MARK: imap4flags

    /// Flags from a string list: split on spaces, duplicates (case-insensitive) dropped.
    func flagList(_ list: [SieveString]) throws(SieveRuntimeError) -> [String] {
        var out = [String]()
        for s in list {
            for f in try expand(s).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }) {
                let flag = String(f)
                if !out.contains(where: { $0.lowercased() == flag.lowercased() }) { out.append(flag) }
            }
        }
        return out
    }

    static func splitFlags(_ s: String) -> [String] {
        var out = [String]()
        for f in s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }) {
            let flag = String(f)
            if !out.contains(where: { $0.lowercased() == flag.lowercased() }) { out.append(flag) }
        }
        return out
    }

    func flagCommand(_ n: SieveNode) throws(SieveRuntimeError) {
        let varName = n.arguments.count == 2 ? n.arguments[0].strings[0].constant : nil
        var current = varName.map { Self.splitFlags(variable($0.lowercased()) ?? "") } ?? internalFlags
        let given = try flagList(n.arguments.last!.strings)
        switch n.name {
        case "setflag": current = given
        case "addflag":
            for f in given where !current.contains(where: { $0.lowercased() == f.lowercased() }) { current.append(f) }
        default:
            current.removeAll { c in given.contains { $0.lowercased() == c.lowercased() } }
        }
        if let varName { assign(varName, current.joined(separator: " ")) } else { internalFlags = current }
    }
}

extension SieveInterpreter {
    /// A tag's string argument expanded, or nil when the tag is absent.
    func optionalString(_ n: SieveNode, _ tag: String) throws(SieveRuntimeError) -> String? {
        guard let t = n.tag(tag), let s = t.strings.first else { return nil }
        return try expand(s)
    }
}
