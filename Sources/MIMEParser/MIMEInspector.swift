/// Human-readable report of a message as the IMAP server sees it (for `sealbox message inspect`).
public enum MIMEInspector {
    public static func report(for bytes: [UInt8]) -> String {
        let m = MIMEMessage.parse(bytes)
        var s = ""
        s += "RFC822.SIZE \(m.rfc822Size)\n"
        s += "ENVELOPE \(m.imapEnvelope())\n"
        s += "BODY \(m.imapBodyStructure(extended: false))\n"
        s += "BODYSTRUCTURE \(m.imapBodyStructure(extended: true))\n"
        s += "PARTS\n"
        for p in m.partList() {
            let num = p.number.isEmpty ? "(root)" : p.number.map(String.init).joined(separator: ".")
            let indent = String(repeating: "  ", count: p.depth)
            var line = "\(indent)\(num) \(p.part.contentType)/\(p.part.subtype)"
            line += " header=\(p.part.headerRange.lowerBound)..<\(p.part.headerRange.upperBound)"
            line += " body=\(p.part.bodyRange.lowerBound)..<\(p.part.bodyRange.upperBound)"
            if let cte = p.part.transferEncoding { line += " cte=\(cte)" }
            if !p.number.isEmpty, let bs = m.binarySize(part: p.number) { line += " binary.size=\(bs)" }
            if p.part.isAttachment { line += " attachment" }
            if let f = p.part.filename { line += " filename=\(f.debugDescription)" }
            s += line + "\n"
        }
        return s
    }
}

extension MIMEMessage {
    /// Every addressable part with its IMAP part number, in document order (for tools and tests).
    /// The multipart root of an encapsulated message shares its number with the message part and is
    /// not listed separately.
    public func partList() -> [(number: [Int], part: MIMEPart, depth: Int)] {
        var out: [(number: [Int], part: MIMEPart, depth: Int)] = []
        func walk(_ p: MIMEPart, depth: Int) {
            if p.isEncapsulatedMessage, let emb = p.children.first {
                if emb.isMultipartContainer { for c in emb.children { out.append((c.partNumber, c, depth + 1)); walk(c, depth: depth + 1) } }
                else { out.append((emb.partNumber, emb, depth + 1)); walk(emb, depth: depth + 1) }
            } else if p.isMultipartContainer {
                for c in p.children { out.append((c.partNumber, c, depth + 1)); walk(c, depth: depth + 1) }
            }
        }
        if root.isMultipartContainer { out.append(([], root, 0)); walk(root, depth: 0) }
        else { out.append(([1], root, 0)); walk(root, depth: 0) }
        return out
    }
}
