extension MIMEMessage {
    /// The ENVELOPE facts of the top-level header.
    public var envelope: Envelope { Envelope(fields: root.headerFields, bytes: bytes, limits: limits) }

    /// RFC822.SIZE: the size of the message with every line ending counted as CRLF.
    public var rfc822Size: Int { virtualSize(0..<bytes.count) }

    /// Size of a byte range with bare LFs counted as CRLF (what IMAP sizes mean).
    public func virtualSize(_ r: Range<Int>) -> Int {
        var n = r.count
        var i = r.lowerBound
        while let lf = bytes.indexOfLF(from: i, end: r.upperBound) {
            if lf == r.lowerBound || bytes[lf - 1] != CR { n += 1 }
            i = lf + 1
        }
        return n
    }

    /// Number of lines (LF count) in a byte range.
    public func lineCount(_ r: Range<Int>) -> Int {
        var n = 0
        var i = r.lowerBound
        while let lf = bytes.indexOfLF(from: i, end: r.upperBound) { n += 1; i = lf + 1 }
        return n
    }

    // MARK: part addressing

    /// The entity an IMAP part number designates (RFC 3501 §6.4.5): [] is the root; the body of a
    /// non-multipart message is part 1; parts inside an encapsulated message continue the number.
    public func part(_ path: [Int]) -> MIMEPart? {
        var cur = root
        var first = true
        for n in path {
            guard n >= 1 else { return nil }
            var container = cur
            if !first, cur.isEncapsulatedMessage, let emb = cur.children.first { container = emb }
            if container.isMultipartContainer {
                guard n <= container.children.count else { return nil }
                cur = container.children[n - 1]
            } else {
                guard n == 1 else { return nil }
                cur = container
            }
            first = false
        }
        return cur
    }

    /// The message whose header/text a section like "2.HEADER" addresses: the root for [], else the
    /// encapsulated message of a message/rfc822 (or message/global) part.
    func messageEntity(_ path: [Int]) -> MIMEPart? {
        if path.isEmpty { return root }
        guard let p = part(path), p.isEncapsulatedMessage else { return nil }
        return p.children.first
    }

    /// BODY[section] content (before any partial range); nil when the part does not exist.
    public func section(_ spec: IMAPSection) -> [UInt8]? {
        switch spec.kind {
        case .full:
            if spec.part.isEmpty { return bytes }
            guard let p = part(spec.part) else { return nil }
            return Array(bytes[p.bodyRange])
        case .mime:
            guard !spec.part.isEmpty, let p = part(spec.part) else { return nil }
            return Array(bytes[p.headerRange])
        case .header:
            guard let m = messageEntity(spec.part) else { return nil }
            return Array(bytes[m.headerRange])
        case .text:
            guard let m = messageEntity(spec.part) else { return nil }
            // An encapsulated message that is all header (no empty line: an encoded message/rfc822
            // read as it stands, or one cut off by a boundary) has no text; what follows its header
            // is the line break that belongs to the boundary. Dovecot answers "" too.
            if !spec.part.isEmpty && !headerHasBlankLine(m.headerRange) { return [] }
            return Array(bytes[m.bodyRange.lowerBound..<max(m.bodyRange.lowerBound, endOfMessage(spec.part, m))])
        case .headerFields(let names), .headerFieldsNot(let names):
            guard let m = messageEntity(spec.part) else { return nil }
            let wanted = Set(names.map { $0.lowercased() })
            let not = { if case .headerFieldsNot = spec.kind { return true } else { return false } }()
            var out = [UInt8]()
            for f in m.headerFields {
                let name = lowercasedASCII(bytes[f.nameRange])
                if wanted.contains(name) != not {
                    out.append(contentsOf: bytes[f.fieldRange])
                    if !not, let last = out.last, last != LF { out.append(contentsOf: [CR, LF]) }
                }
            }
            // Like Dovecot: HEADER.FIELDS always ends with the empty line, HEADER.FIELDS.NOT keeps the
            // header's own (absent when the header was cut off).
            if !not || headerHasBlankLine(m.headerRange) { out.append(contentsOf: [CR, LF]) }
            return out
        }
    }

    /// Whether a header block ends with its empty line (a header cut off by the end of the message
    /// or by a boundary has none).
    func headerHasBlankLine(_ r: Range<Int>) -> Bool {
        guard !r.isEmpty, bytes[r.upperBound - 1] == LF else { return false }
        if r.count == 1 { return true }
        var i = r.upperBound - 2
        if bytes[i] == CR { if i == r.lowerBound { return true }; i -= 1 }
        return bytes[i] == LF
    }

    /// Section content made safe for an IMAP literal: NUL (not allowed in a literal, RFC 3501 §4.3)
    /// becomes 0x80, as Dovecot does. BINARY content goes out as literal8 and is not changed.
    public static func imapLiteralSafe(_ content: [UInt8]) -> [UInt8] {
        guard containsNUL(content) else { return content }
        return content.map { $0 == 0 ? 0x80 : $0 }
    }

    /// The end of an (encapsulated) message's text.
    func endOfMessage(_ path: [Int], _ m: MIMEPart) -> Int {
        if path.isEmpty { return bytes.count }
        return part(path)?.bodyRange.upperBound ?? m.bodyRange.upperBound
    }

    /// RFC 3516 BINARY[part]: the content with its Content-Transfer-Encoding removed. nil when the
    /// part does not exist or its encoding is unknown (the server answers UNKNOWN-CTE).
    public func binary(part path: [Int]) -> [UInt8]? {
        if path.isEmpty { return bytes }
        guard let p = part(path) else { return nil }
        let body = bytes[p.bodyRange]
        switch p.transferEncoding ?? "7bit" {
        case "7bit", "8bit", "binary": return Array(body)
        case "base64": return TransferDecoding.base64(body)
        case "quoted-printable": return TransferDecoding.quotedPrintable(body)
        default: return nil
        }
    }

    /// Whether BINARY and BINARY.SIZE of the part must be refused with `NO [UNKNOWN-CTE]`
    /// (RFC 3516 §4.3): the part exists and its Content-Transfer-Encoding is none BINARY can remove.
    public func hasUnknownTransferEncoding(part path: [Int]) -> Bool {
        guard !path.isEmpty, let p = part(path) else { return false }
        switch p.transferEncoding ?? "7bit" {
        case "7bit", "8bit", "binary", "base64", "quoted-printable": return false
        default: return true
        }
    }

    /// RFC 3516 BINARY.SIZE[part]: nil when the part does not exist or its encoding is unknown.
    public func binarySize(part path: [Int]) -> Int? {
        guard let p = part(path) else { return nil }
        switch p.transferEncoding ?? "7bit" {
        case "7bit", "8bit", "binary": return path.isEmpty ? rfc822Size : virtualSize(p.bodyRange)
        default: return binary(part: path)?.count
        }
    }

    /// Applies an IMAP partial `<offset.count>` to section content.
    public static func partial(_ content: [UInt8], offset: Int, count: Int?) -> [UInt8] {
        guard offset < content.count, offset >= 0 else { return [] }
        let end = count.map { min(content.count, offset + max(0, $0)) } ?? content.count
        return Array(content[offset..<end])
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

/// Whether `bytes` holds a 0 byte, eight bytes at a time (FETCH checks every message it sends).
func containsNUL(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw in
        let count = raw.count
        var i = 0
        while i + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if (v &- 0x0101_0101_0101_0101) & ~v & 0x8080_8080_8080_8080 != 0 { return true }
            i += 8
        }
        while i < count { if raw[i] == 0 { return true }; i += 1 }
        return false
    }
}
