import Foundation
import MIMEParser

/// Tests (RFC 5228 §5 and extensions).
extension SieveInterpreter {
    func test(_ n: SieveNode) throws(SieveRuntimeError) -> Bool {
        try tick(n.line)
        switch n.name {
        case "true": return true
        case "false": return false
        case "not": return !(try test(n.tests[0]))
        case "allof":
            for t in n.tests where !(try test(t)) { return false }
            return true
        case "anyof":
            for t in n.tests where try test(t) { return true }
            return false
        case "header":
            let names = try expandAll(n.arguments[0].strings)
            var values = [String]()
            for name in names where SieveValidator.isFieldName(name) { values += indexed(message.values(name), n) }
            return try match(values, n.arguments[1].strings, n)
        case "address":
            let names = try expandAll(n.arguments[0].strings)
            var values = [String]()
            for name in names {
                for raw in indexed(message.rawValues(name), n) { values += addressParts(raw, n.match?.addressPart ?? .all) }
            }
            return try match(values, n.arguments[1].strings, n)
        case "envelope":
            var values = [String]()
            for part in try expandAll(n.arguments[0].strings) {
                let v: String?
                switch part.lowercased() {
                case "from": v = context.envelope.from
                case "to": v = context.envelope.to
                case "auth": v = context.envelope.auth
                default: v = nil
                }
                guard let raw = v else { continue }
                // `auth` is a user name, not necessarily an address (RFC 5228 §5.4 and RFC 4954)
                guard let path = SieveEnvelopePath.parse(raw) ?? (part.lowercased() == "auth" ? raw : nil) else { continue }
                if path.isEmpty { values.append(""); continue }   // RFC 5228 §5.4: the null path is "" for every part
                if let p = Self.addressPart(path, n.match?.addressPart ?? .all, allowEmpty: true, delimiters: context.recipientDelimiters) { values.append(p) }
            }
            return try match(values, n.arguments[1].strings, n)
        case "exists":
            for name in try expandAll(n.arguments[0].strings) where !SieveValidator.isFieldName(name) || !message.exists(name) { return false }
            return true
        case "size":
            let size = message.size
            if let over = n.tag("over")?.number { return size > over }
            if let under = n.tag("under")?.number { return size < under }
            return false
        case "string":
            let values = try expandAll(n.arguments[0].strings)
            if case .count = n.match?.matchType { return try match(values.filter { !$0.isEmpty }, n.arguments[1].strings, n) }
            return try match(values, n.arguments[1].strings, n)
        case "hasflag":
            var flags = [String]()
            if n.arguments.count == 2 {
                for v in try expandAll(n.arguments[0].strings) { flags += Self.splitFlags(variable(v.lowercased()) ?? "") }
            } else { flags = internalFlags }
            // the keys are flag lists too: "b A" means the flags b and A (RFC 5232 §4)
            var keys = [SieveString]()
            for k in try expandAll(n.arguments.last!.strings) {
                let split = Self.splitFlags(k)
                keys += split.isEmpty ? [SieveString(constant: k)] : split.map { SieveString(constant: $0) }
            }
            return try match(flags, keys, n)
        case "body":
            guard message.hasBody else { return false }
            let saved = matchValues
            defer { matchValues = saved }   // RFC 5173 §6: body does not set match variables
            return try match(bodyValues(n), n.arguments[0].strings, n)
        case "date", "currentdate":
            return try dateTest(n)
        case "environment":
            let name = try expand(n.arguments[0].strings[0]).lowercased()
            guard let v = environmentItem(name) else { return false }
            return try match([v], n.arguments[1].strings, n)
        case "mailboxexists":
            for m in try expandAll(n.arguments[0].strings) where !context.mailboxExists(m) { return false }
            return true
        case "specialuse_exists":
            if n.arguments.count == 2 {
                let mailbox = try expand(n.arguments[0].strings[0])
                if !context.mailboxExists(mailbox) { return false }
            }
            for f in try expandAll(n.arguments.last!.strings) where !context.specialUseExists(f) { return false }
            return true
        case "duplicate":
            return try duplicate(n)
        case "spamtest":
            let value: String
            if n.has("percent") {
                value = context.spamPercent.map { String(max(0, min(100, $0))) } ?? "0"
            } else {
                value = context.spamScore.map { String(max(0, min(10, $0))) } ?? "0"
            }
            return try match([value], n.arguments[0].strings, n)
        case "virustest":
            return try match([context.virusScore.map { String(max(0, min(5, $0))) } ?? "0"], n.arguments[0].strings, n)
        case "ihave":
            for e in try expandAll(n.arguments[0].strings) where !script.available.contains(e) || SieveValidator.notForIhave.contains(e) { return false }
            return true
        default:
            return try harnessTest(n)
        }
    }

    /// `:index n [:last]` (RFC 5260 §6): one field of several.
    func indexed<T>(_ values: [T], _ n: SieveNode) -> [T] {
        guard let idx = n.tag("index")?.number else { return values }
        guard idx >= 1, idx <= values.count else { return [] }
        return [n.has("last") ? values[values.count - idx] : values[idx - 1]]
    }

    func environmentItem(_ name: String) -> String? {
        if let v = context.environment[name] { return v }
        switch name {
        case "name": return "Sealbox Sieve"
        case "version": return "1.0"
        case "domain", "host": return nil
        case "location": return "MDA"
        case "phase": return "during"
        default: return nil
        }
    }

    // MARK: addresses

    func addressParts(_ raw: [UInt8], _ part: SieveAddressPart) -> [String] {
        let list = MailAddress.parseList(raw)
        if list.isEmpty {
            // not an address list: the raw value as :all (Pigeonhole matches such values whole)
            let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            return part == .all ? [text] : []
        }
        var out = [String]()
        for a in list {
            // RFC 5228 §5.1: an invalid address is not matched by :localpart/:domain (nor by subaddress parts)
            guard let mbox = a.mailbox, !mbox.isEmpty, let host = a.host, !host.isEmpty,
                  mbox.utf8.allSatisfy({ $0 < 0x80 }) else {
                if part == .all {
                    let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                    if !text.isEmpty && list.count == 1 { out.append(text) }
                }
                continue
            }
            let local = SieveAddressCheck.isDotAtom(mbox) ? mbox : "\"" + mbox + "\""
            if let p = Self.addressPart(local + "@" + host, part, allowEmpty: false, delimiters: context.recipientDelimiters) { out.append(p) }
        }
        return out
    }

    static func addressPart(_ address: String, _ part: SieveAddressPart, allowEmpty: Bool, delimiters: String = "+") -> String? {
        var a = address
        if a.hasPrefix("<") && a.hasSuffix(">") && a.count >= 2 { a = String(a.dropFirst().dropLast()) }
        if a.isEmpty { return part == .all && allowEmpty ? "" : nil }
        let (local, domain) = SieveAddressCheck.split(a)
        switch part {
        case .all: return a
        case .localpart: return local
        case .domain: return domain
        case .user:
            if let sep = local.firstIndex(where: { delimiters.contains($0) }) { return String(local[..<sep]) }
            return local
        case .detail:
            if let sep = local.firstIndex(where: { delimiters.contains($0) }) { return String(local[local.index(after: sep)...]) }
            return nil
        }
    }

    // MARK: matching

    func match(_ values: [String], _ keyStrings: [SieveString], _ n: SieveNode) throws(SieveRuntimeError) -> Bool {
        let spec = n.match ?? SieveMatchSpec()
        let keys = try expandAll(keyStrings)
        switch spec.matchType {
        case .count(let op):
            let count = String(values.count)
            for k in keys where op.holds(SieveMatcher.order(count, k, spec.comparator == .asciiNumeric ? .asciiNumeric : spec.comparator)) { return true }
            return false
        case .value(let op):
            for v in values { for k in keys where op.holds(SieveMatcher.order(v, k, spec.comparator)) { return true } }
            return false
        case .is:
            for v in values { for k in keys where SieveMatcher.isEqual(v, k, spec.comparator) { return true } }
            return false
        case .contains:
            for v in values { for k in keys where SieveMatcher.contains(v, k, spec.comparator) { return true } }
            return false
        case .matches:
            for v in values {
                for k in keys {
                    if let captures = SieveMatcher.glob(v, k, spec.comparator) {
                        if program.usesVariables { matchValues = captures }
                        return true
                    }
                }
            }
            return false
        case .regex:
            var compiled = [SieveRegex]()
            for (i, k) in keys.enumerated() {
                if i < spec.regexes.count, let r = spec.regexes[i] { compiled.append(r); continue }
                do {
                    compiled.append(try SieveRegex(k, caseInsensitive: spec.comparator == .asciiCasemap, limits: context.limits))
                } catch {
                    // as Pigeonhole: reported, the key does not match, the run goes on
                    warnings.append(SieveDiagnostic(line: n.line, severity: .error,
                                                    message: "\(n.name) test: invalid regular expression '\(k)': \(error.message)."))
                }
            }
            for v in values {
                var subject = v
                if subject.utf8.count > context.limits.maxMatchSubjectBytes {
                    warnings.append(SieveDiagnostic(line: n.line, severity: .warning,
                                                    message: "\(n.name) test: value longer than \(context.limits.maxMatchSubjectBytes) bytes is matched on its start only."))
                    subject = String(decoding: Array(subject.utf8.prefix(context.limits.maxMatchSubjectBytes)), as: UTF8.self)
                }
                for r in compiled {
                    do {
                        if let groups = try r.firstMatch(in: subject, stepBudget: &regexSteps) {
                            if program.usesVariables { matchValues = groups.map { $0 ?? "" } }
                            return true
                        }
                    } catch {
                        throw fail(n.line, "\(n.name) test: regular expression match exceeded its budget of \(context.limits.maxRegexSteps) steps.")
                    }
                }
            }
            return false
        }
    }
}
