import Foundation
import MIMEParser

/// body (RFC 5173), date (RFC 5260), duplicate (RFC 7352), editheader (RFC 5293).
extension SieveInterpreter {
    func bodyValues(_ n: SieveNode) throws(SieveRuntimeError) -> [String] {
        if n.has("raw") { return [String(decoding: message.body, as: UTF8.self)] }
        var types: [String]? = nil
        if let c = n.tag("content") { types = try expandAll(c.strings).map { $0.lowercased() } }
        let parsed = message.parsed()
        var out = [String]()
        func wanted(_ p: MIMEPart) -> Bool {
            guard let types else { return p.contentType == "text" }
            for t in types {
                if t.isEmpty { return true }
                if let slash = t.firstIndex(of: "/") {
                    if p.contentType == t[..<slash] && p.subtype == t[t.index(after: slash)...] { return true }
                } else if p.contentType == t { return true }
            }
            return false
        }
        func decoded(_ p: MIMEPart) -> String {
            let raw = parsed.bytes[p.bodyRange]
            let bytes: [UInt8]
            switch p.transferEncoding?.lowercased() {
            case "base64": bytes = TransferDecoding.base64(raw)
            case "quoted-printable": bytes = TransferDecoding.quotedPrintable(Array(raw))
            default: bytes = Array(raw)
            }
            if p.contentType == "text" { return Charset.decode(bytes, charset: p.parameter("charset")) }
            return String(decoding: bytes, as: UTF8.self)
        }
        func walk(_ p: MIMEPart) {
            if p.isMultipart {
                for c in p.children { walk(c) }
            } else if p.isEncapsulatedMessage {
                if types != nil && wanted(p) { out.append(decoded(p)) }
                for c in p.children { walk(c) }
            } else if wanted(p) {
                var text = decoded(p)
                if types == nil && p.subtype == "html" { text = Self.stripTags(text) }
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
        if SieveValidator.protectedHeaders.contains(name.lowercased()) {
            warnings.append(SieveDiagnostic(line: n.line, severity: .warning,
                                            message: "addheader action: cannot add protected header `\(name)'."))
            return
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
        if SieveValidator.protectedHeaders.contains(name.lowercased()) {
            warnings.append(SieveDiagnostic(line: n.line, severity: .warning,
                                            message: "deleteheader action: cannot delete protected header `\(name)'."))
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
