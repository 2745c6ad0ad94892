import Foundation
import MIMEParser

/// body (RFC 5173), date (RFC 5260), duplicate (RFC 7352), editheader (RFC 5293).
extension SieveInterpreter {
    func bodyValues(_ n: SieveNode) throws(SieveRuntimeError) -> [String] {
        if n.has("raw") { return [String(decoding: message.body, as: UTF8.self)] }
        var types: [String]? = nil
        if let c = n.tag("content") { types = try expandAll(c.strings).map { $0.lowercased() } }
        let parsed = message.parsed()
        let bytes = parsed.bytes
        var out = [String]()

        /// The part's type as written, nil when its Content-Type is not `type/subtype` (then only :content "" sees it).
        func declaredType(_ p: MIMEPart) -> (String, String)? {
            guard let f = p.headerFields.first(where: { String(decoding: bytes[$0.nameRange], as: UTF8.self).lowercased() == "content-type" }) else {
                return (p.contentType, p.subtype)
            }
            let v = String(decoding: SieveMessage.unfold(Array(bytes[f.valueRange])), as: UTF8.self)
            let main = v.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let pieces = main.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty,
                  !pieces[1].contains(where: { $0 == " " || $0 == "\t" }) else { return nil }
            return (pieces[0].lowercased(), pieces[1].trimmingCharacters(in: .whitespaces).lowercased())
        }
        func wanted(_ p: MIMEPart) -> Bool {
            guard let types else {
                guard let (t, st) = declaredType(p) else { return false }
                return t == "text" || (t == "application" && st == "xhtml+xml")
            }
            let declared = declaredType(p)
            for t in types {
                if t.isEmpty { return true }
                guard let (pt, pst) = declared else { continue }
                if let slash = t.firstIndex(of: "/") {
                    if pt == t[..<slash] && pst == t[t.index(after: slash)...] { return true }
                } else if pt == t { return true }
            }
            return false
        }
        func decoded(_ p: MIMEPart) -> String? {
            let raw = bytes[p.bodyRange]
            let data: [UInt8]
            switch (p.transferEncoding ?? "7bit").lowercased() {
            case "base64": data = TransferDecoding.base64(raw)
            case "quoted-printable": data = TransferDecoding.quotedPrintable(Array(raw))
            case "7bit", "8bit", "binary", "": data = Array(raw)
            default: return nil   // an unknown transfer encoding cannot be searched
            }
            if p.contentType == "text" { return Charset.decode(data, charset: p.parameter("charset")) }
            return String(decoding: data, as: UTF8.self)
        }
        /// RFC 5173 §5.2: a multipart's prologue and epilogue, as separate strings.
        func prologueEpilogue(_ p: MIMEPart) -> [String] {
            guard let boundary = p.parameter("boundary") else { return [] }
            let text = String(decoding: bytes[p.bodyRange], as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            var prologue = [Substring](), epilogue = [Substring]()
            var state = 0   // 0 prologue, 1 parts, 2 epilogue
            for l in lines {
                let t = l.hasSuffix("\r") ? l.dropLast() : l
                if t.hasPrefix("--" + boundary) {
                    state = t.hasPrefix("--" + boundary + "--") ? 2 : 1
                    continue
                }
                if state == 0 { prologue.append(l) } else if state == 2 { epilogue.append(l) }
            }
            return [prologue.joined(separator: "\n"), epilogue.joined(separator: "\n")].filter { !$0.isEmpty }
        }
        func walk(_ p: MIMEPart) {
            if p.isMultipart {
                if types != nil && wanted(p) { out += prologueEpilogue(p) }
                for c in p.children { walk(c) }
            } else if p.isEncapsulatedMessage {
                if types != nil && wanted(p), let inner = p.children.first {
                    var h = Array(bytes[inner.headerRange])
                    if h.last == 10 { h.removeLast(); if h.last == 13 { h.removeLast() } }
                    out.append(String(decoding: h, as: UTF8.self))
                }
                for c in p.children { walk(c) }
            } else if wanted(p), var text = decoded(p) {
                if types == nil, let (_, st) = declaredType(p), st == "html" || st == "xhtml+xml" { text = Self.stripTags(text) }
                out.append(text)
            }
        }
        walk(parsed.root)
        return out
    }

    static func stripTags(_ s: String) -> String {
        var out = ""
        var inTag = false
        for c in s {
            if c == "<" { inTag = true } else if c == ">" { inTag = false } else if !inTag { out.append(c) }
        }
        return out
    }

    func dateTest(_ n: SieveNode) throws(SieveRuntimeError) -> Bool {
        var dates = [SieveDate]()
        let partIndex: Int
        if n.name == "currentdate" {
            partIndex = 0
            let epoch = Int(context.now.timeIntervalSince1970.rounded(.down))
            dates = [SieveDate(epoch: epoch, offset: context.timeZone.secondsFromGMT(for: context.now))]
        } else {
            partIndex = 1
            let header = try expand(n.arguments[0].strings[0])
            for v in indexed(message.values(header), n) {
                var text = v
                if header.lowercased() == "received", let semi = v.lastIndex(of: ";") { text = String(v[v.index(after: semi)...]) }
                if let d = SieveDate.parse(text) { dates.append(d) }
            }
        }
        let part = try expand(n.arguments[partIndex].strings[0])
        var values = [String]()
        for var d in dates {
            if let z = n.tag("zone") {
                guard let off = SieveDate.parseZone(try expand(z.strings[0])) else { return false }
                d = d.inZone(off)
            } else if !n.has("originalzone") || n.name == "currentdate" {
                if n.name == "date" {
                    let off = context.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(d.epoch)))
                    d = d.inZone(off)
                }
            }
            if let v = d.part(part) { values.append(v) }
        }
        return try match(values, n.arguments[partIndex + 1].strings, n)
    }

    func duplicate(_ n: SieveNode) throws(SieveRuntimeError) -> Bool {
        let id: String
        if let u = n.tag("uniqueid") {
            id = try expand(u.strings[0])
        } else {
            let header = try optionalString(n, "header") ?? "Message-ID"
            guard let v = message.values(header).first else { return false }
            id = v.trimmingCharacters(in: .whitespaces)
        }
        let handle = try optionalString(n, "handle") ?? ""
        let key = "\(handle)\u{0}\(id)"
        let seconds = max(1, min(n.tag("seconds")?.number ?? 7 * 86_400, 7 * 86_400))
        let seen = duplicateSeenThisRun.contains(key) || context.duplicateSeen(key)
        if !duplicateSeenThisRun.contains(key) {
            duplicateSeenThisRun.insert(key)
            if !(n.has("last") && seen) {
                duplicateMarks.removeAll { $0.key == key }
                duplicateMarks.append(SieveDuplicateMark(key: key, seconds: seconds))
            }
        }
        return seen
    }

    // MARK: editheader

    func addHeader(_ n: SieveNode, name: String, value: String) throws(SieveRuntimeError) {
        guard SieveValidator.isFieldName(name) else {
            throw fail(n.line, "addheader action: specified field name `\(name)' is invalid.")
        }
        let lower = name.lowercased()
        if lower != "subject" && context.editheaderForbidAdd.contains(lower) {
            warnings.append(SieveDiagnostic(line: n.line, severity: .warning,
                                            message: "addheader action: adding protected header `\(name)' is not allowed."))
            return
        }
        if value.utf8.contains(0) {
            throw fail(n.line, "addheader action: specified value `\(value.prefix(40))' is invalid (it contains a NUL character).")
        }
        if value.utf8.count > context.limits.maxHeaderEditBytes {
            throw fail(n.line, "addheader action: specified header value is too large (over \(context.limits.maxHeaderEditBytes) bytes).")
        }
        let headerBytes = message.fields.reduce(0) { $0 + $1.name.utf8.count + $1.raw.count + 4 }
        if headerBytes + name.utf8.count + value.utf8.count > context.limits.maxHeaderEditBytes + (message.bodyStart) {
            throw fail(n.line, "addheader action: the edited header exceeds \(context.limits.maxHeaderEditBytes) bytes.")
        }
        message.add(name: name, value: value, last: n.has("last"))
    }

    func deleteHeader(_ n: SieveNode) throws(SieveRuntimeError) {
        let name = try expand(n.arguments[0].strings[0])
        guard SieveValidator.isFieldName(name) else {
            throw fail(n.line, "deleteheader action: specified field name `\(name)' is invalid.")
        }
        let lower = name.lowercased()
        if SieveValidator.protectedHeaders.contains(lower) || (lower != "subject" && context.editheaderForbidDelete.contains(lower)) {
            warnings.append(SieveDiagnostic(line: n.line, severity: .warning,
                                            message: "deleteheader action: deleting protected header `\(name)' is not allowed."))
            return
        }
        let lname = name.lowercased()
        let positions = message.fields.indices.filter { message.fields[$0].name.lowercased() == lname }
        var targets = Set(positions)
        if let idx = n.tag("index")?.number {
            guard idx >= 1, idx <= positions.count else { return }
            targets = [n.has("last") ? positions[positions.count - idx] : positions[idx - 1]]
        }
        if n.arguments.count == 2 {
            var matched = Set<Int>()
            for p in targets {
                var r = SieveMessage.unfold(message.fields[p].raw)[...]
                while let l = r.last, l == 32 || l == 9 { r = r.dropLast() }
                let v = RFC2047.decode(Array(r))
                let saved = matchValues
                if try match([v], n.arguments[1].strings, n) { matched.insert(p) }
                matchValues = saved
            }
            targets = matched
        }
        _ = message.delete { i, _ in targets.contains(i) }
    }
}
