import MIMEParser

/// Human-readable report of a message as the IMAP server sees it (for `sealbox message inspect`):
/// the wire forms IMAPCore encodes and the parts MIMEParser found.
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
