/// Builds the MIME tree in one forward pass. Each byte is looked at once per boundary-stack level
/// (bounded by `maxDepth`), so the time is linear in the input for a fixed depth.
struct TreeBuilder {
    let b: [UInt8]
    let limits: MIMELimits
    var partCount = 0
    /// Active multipart boundaries, outermost first.
    var boundaries: [[UInt8]] = []
    /// Where the entity returned last stopped consuming input. A line break before a boundary that
    /// ended a header or a boundary line (rather than body text) stays with the enclosing
    /// multipart's body, as in Dovecot; body text gives it to the boundary (RFC 2046 §5.1.1).
    var consumedEnd = 0

    /// A boundary line: where it starts, where the next line starts, the stack level it belongs to.
    struct Hit { var lineStart: Int; var next: Int; var level: Int; var isClose: Bool }

    init(b: [UInt8], limits: MIMELimits) { self.b = b; self.limits = limits }

    /// Which boundary (innermost first) the line [s, e) opens or closes, like mainstream servers a
    /// prefix match ("--boundary" followed by anything).
    func matchBoundary(_ s: Int, _ e: Int) -> (level: Int, isClose: Bool)? {
        guard e - s >= 2, b[s] == 45, b[s + 1] == 45 else { return nil }
        var level = boundaries.count - 1
        while level >= 0 {
            let bd = boundaries[level]
            if e - s - 2 >= bd.count {
                var ok = true
                var j = s + 2
                for c in bd { if b[j] != c { ok = false; break }; j += 1 }
                if ok {
                    let close = e - j >= 2 && b[j] == 45 && b[j + 1] == 45
                    return (level, close)
                }
            }
            level -= 1
        }
        return nil
    }

    /// The next boundary line at or after `pos` (a line start).
    func nextBoundary(from pos: Int) -> Hit? {
        if boundaries.isEmpty { return nil }
        var p = pos
        let n = b.count
        while p < n {
            let lf = b.indexOfLF(from: p, end: n)
            let next = lf.map { $0 + 1 } ?? n
            if b[p] == 45 {
                var e = lf ?? n
                if e > p && b[e - 1] == CR { e -= 1 }
                if let m = matchBoundary(p, e) { return Hit(lineStart: p, next: next, level: m.level, isClose: m.isClose) }
            }
            p = next
        }
        return nil
    }

    /// End of the body before a boundary line: the line break preceding the boundary belongs to it.
    func bodyEnd(before hit: Hit?, bodyStart: Int) -> Int {
        guard let hit else { return b.count }
        var e = hit.lineStart
        if e > bodyStart && b[e - 1] == LF { e -= 1; if e > bodyStart && b[e - 1] == CR { e -= 1 } }
        return max(e, bodyStart)
    }

    mutating func parseEntity(start: Int, depth: Int, number: [Int], isMultipartChild: Bool,
                              inDigest: Bool, isEmbeddedRoot: Bool) -> (MIMEPart, Hit?) {
        partCount += 1
        let header: HeaderBlock
        if boundaries.isEmpty {
            header = HeaderParser.parse(b, start: start, end: b.count, limits: limits)
        } else {
            let matcher = self
            header = HeaderParser.parse(b, start: start, end: b.count, limits: limits,
                                        isBoundary: { s, e in matcher.matchBoundary(s, e) != nil })
        }
        var part = MIMEPart(partNumber: number, headerRange: start..<header.end,
                            bodyRange: header.end..<header.end, headerFields: header.fields)
        var isMIME = isMultipartChild
        var boundary: [UInt8]? = nil
        for f in header.fields {
            let name = b[f.nameRange]
            if equalsLowercase(name, "mime-version") { isMIME = true; continue }
            guard name.count > 8, equalsLowercase(name.prefix(8), "content-") else { continue }
            let value = unfold(b[f.valueRange])
            let rest = name.dropFirst(8)
            if equalsLowercase(rest, "type") {
                isMIME = true
                if part.hasContentType { continue }
                part.hasContentType = true
                if let ct = ContentFields.parseContentType(value, limits: limits) {
                    part.rawType = ct.type; part.rawSubtype = ct.subtype; part.rawParameters = ct.params
                    if let bp = ct.params.first(where: { $0.name.lowercased() == "boundary" }) { boundary = bp.value }
                }
            } else if equalsLowercase(rest, "transfer-encoding") {
                if part.rawTransferEncoding == nil { part.rawTransferEncoding = ContentFields.parseToken(value) }
            } else if equalsLowercase(rest, "disposition") {
                // like Dovecot, a later Content-Disposition replaces one that had no parameters
                if part.rawDisposition == nil || part.rawDispositionParameters.isEmpty,
                   let d = ContentFields.parseTokenAndParams(value, limits: limits) {
                    part.rawDisposition = d.token; part.rawDispositionParameters = d.params
                }
            } else if equalsLowercase(rest, "id") {
                if part.rawContentID == nil { part.rawContentID = value }
            } else if equalsLowercase(rest, "description") {
                if part.rawDescription == nil { part.rawDescription = value }
            } else if equalsLowercase(rest, "md5") {
                if part.rawMD5 == nil { part.rawMD5 = value }
            } else if equalsLowercase(rest, "location") {
                if part.rawLocation == nil { part.rawLocation = value }
            } else if equalsLowercase(rest, "language") {
                if part.rawLanguages == nil { let l = ContentFields.parseLanguages(value); if !l.isEmpty { part.rawLanguages = l } }
            }
        }
        let decodingCTE = part.rawTransferEncoding
        if !isMIME {
            // Without MIME-Version (or Content-Type) the Content-* fields are not MIME (RFC 2045 §4)
            // and BODYSTRUCTURE ignores them; the transfer encoding is still honoured for decoding
            // (BINARY, search), as Dovecot does.
            part.rawTransferEncoding = nil; part.rawDisposition = nil; part.rawDispositionParameters = []
            part.rawContentID = nil; part.rawDescription = nil; part.rawMD5 = nil; part.rawLocation = nil
            part.rawLanguages = nil
        }
        if part.rawType == nil && inDigest && !part.hasContentType {
            part.rawType = "message"; part.rawSubtype = "rfc822"
        }
        fillDecoded(&part)
        part.transferEncoding = decodingCTE?.lowercased()

        let bodyStart = header.end
        // A header cut off by a boundary line has an empty body.
        if !header.hasBlankLine && !boundaries.isEmpty, header.end < b.count {
            let e = header.end
            var le = b.indexOfLF(from: e, end: b.count) ?? b.count
            if le > e && b[le - 1] == CR { le -= 1 }
            if let m = matchBoundary(e, le) {
                let lf = b.indexOfLF(from: e, end: b.count)
                let hit = Hit(lineStart: e, next: lf.map { $0 + 1 } ?? b.count, level: m.level, isClose: m.isClose)
                if isEmbeddedRoot && part.contentType != "multipart" { part.partNumber = number + [1] }
                if part.contentType == "multipart" { part.isMultipartContainer = true }
                trimHeaderBeforeBoundary(&part, hit: hit)
                consumedEnd = e
                return (part, hit)
            }
        }

        let canDescend = depth < limits.maxDepth && partCount < limits.maxParts
        if part.contentType == "multipart" {
            // A multipart without a usable boundary (or beyond the depth / part limits) is an empty
            // multipart, as in Dovecot: its content is not addressable as parts.
            part.isMultipartContainer = true
            guard let bd = boundary, !bd.isEmpty, bd.count <= limits.maxBoundaryLength, canDescend else {
                let hit = nextBoundary(from: bodyStart)
                part.bodyRange = bodyStart..<bodyEnd(before: hit, bodyStart: bodyStart)
                consumedEnd = hit?.lineStart == bodyStart ? bodyStart : part.bodyRange.upperBound
                trimHeaderBeforeBoundary(&part, hit: hit)
                return (part, hit)
            }
            boundaries.append(bd)
            let myLevel = boundaries.count - 1
            var hit = nextBoundary(from: bodyStart)
            var children: [MIMEPart] = []
            while let h = hit, h.level == myLevel, !h.isClose {
                if partCount >= limits.maxParts {
                    // stop descending: the rest up to the close/outer boundary is skipped
                    var skip = nextBoundary(from: h.next)
                    while let s = skip, s.level == myLevel, !s.isClose { skip = nextBoundary(from: s.next) }
                    hit = skip
                    break
                }
                let (child, childHit) = parseEntity(start: h.next, depth: depth + 1, number: number + [children.count + 1],
                                                    isMultipartChild: true, inDigest: part.subtype == "digest",
                                                    isEmbeddedRoot: false)
                children.append(child)
                hit = childHit
            }
            part.children = children
            var endHit = hit
            var end: Int
            if let h = hit, h.level == myLevel, h.isClose {
                boundaries.removeLast()
                endHit = nextBoundary(from: h.next)      // epilogue runs to an outer boundary or the end
                end = max(bodyEnd(before: endHit, bodyStart: bodyStart), h.next)
            } else {
                boundaries.removeLast()
                end = bodyEnd(before: endHit, bodyStart: bodyStart)
                if !children.isEmpty { end = max(end, min(consumedEnd, endHit?.lineStart ?? b.count)) }
                else if endHit?.lineStart == bodyStart { end = bodyStart }
            }
            part.bodyRange = bodyStart..<end
            consumedEnd = children.isEmpty && endHit?.lineStart == bodyStart ? bodyStart : end
            if part.children.isEmpty { trimHeaderBeforeBoundary(&part, hit: endHit) }
            // An empty last part directly before an outer boundary starts on the line break that
            // belongs to that boundary: pin it to the end of this body so ranges nest.
            TreeBuilder.clampChildren(&part)
            return (part, endHit)
        }
        if isEmbeddedRoot { part.partNumber = number + [1] }
        if part.contentType == "message" && (part.subtype == "rfc822" || part.subtype == "global") && canDescend {
            // message/rfc822 is always parsed as a message, whatever its transfer encoding (RFC 2046
            // §5.2.1 allows only 7bit, 8bit and binary): BODYSTRUCTURE must then carry an envelope, a
            // body and a line count (RFC 3501 body-type-msg), and Dovecot 2.3 parses the content as it
            // stands (an encoded one gives an envelope of NILs and an empty text body). BINARY still
            // removes the part's own encoding. message/global may be encoded (RFC 6532 §3.5): encoded,
            // it stays an opaque leaf.
            let enc = (part.transferEncoding ?? "7bit")
            if part.subtype == "rfc822" || enc == "7bit" || enc == "8bit" || enc == "binary" {
                // The body of a message that is itself message/rfc822 is part 1 (RFC 3501 §6.4.5), so its
                // encapsulated message's parts are 1.1, 1.2… as in Dovecot.
                let (emb, hit) = parseEntity(start: bodyStart, depth: depth + 1, number: part.partNumber.isEmpty ? [1] : part.partNumber,
                                             isMultipartChild: false, inDigest: false, isEmbeddedRoot: true)
                part.children = [emb]
                part.isEncapsulatedMessage = true
                let end = max(bodyEnd(before: hit, bodyStart: bodyStart), min(consumedEnd, hit?.lineStart ?? b.count))
                part.bodyRange = bodyStart..<end
                consumedEnd = end
                trimHeaderBeforeBoundary(&part, hit: hit)
                TreeBuilder.clampChildren(&part)
                return (part, hit)
            }
        }
        if part.contentType == "message" && part.subtype == "rfc822" && !canDescend {
            // Beyond the depth or part limit the content is not parsed, and message/rfc822 cannot go
            // out without an envelope and a body (RFC 3501 body-type-msg): it is sent as
            // application/octet-stream, as Dovecot sends the message/rfc822 part past its own limit.
            part.rawType = "application"; part.rawSubtype = "octet-stream"
        }
        let hit = nextBoundary(from: bodyStart)
        part.bodyRange = bodyStart..<bodyEnd(before: hit, bodyStart: bodyStart)
        consumedEnd = hit?.lineStart == bodyStart ? bodyStart : part.bodyRange.upperBound
        trimHeaderBeforeBoundary(&part, hit: hit)
        return (part, hit)
    }

    /// Pins descendants that start past this part's body end (empty entities sitting on a line
    /// break that was given to a boundary) to that end, so that ranges always nest.
    static func clampChildren(_ part: inout MIMEPart) {
        let end = part.bodyRange.upperBound
        for i in part.children.indices {
            if part.children[i].headerRange.upperBound > end {
                let lo = min(part.children[i].headerRange.lowerBound, end)
                part.children[i].headerRange = lo..<end
            }
            if part.children[i].bodyRange.upperBound > end || part.children[i].bodyRange.lowerBound < part.children[i].headerRange.upperBound {
                let lo = max(min(part.children[i].bodyRange.lowerBound, end), part.children[i].headerRange.upperBound)
                part.children[i].bodyRange = lo..<end
            }
            clampChildren(&part.children[i])
        }
    }

    /// When a boundary line follows the header directly, the line break before it belongs to the
    /// boundary (RFC 2046 §5.1.1), so it is not part of the header either.
    func trimHeaderBeforeBoundary(_ part: inout MIMEPart, hit: Hit?) {
        guard let hit, hit.lineStart == part.headerRange.upperBound else { return }
        var e = hit.lineStart
        let s = part.headerRange.lowerBound
        if e > s && b[e - 1] == LF { e -= 1; if e > s && b[e - 1] == CR { e -= 1 } }
        part.headerRange = s..<e
        part.bodyRange = e..<e
    }

    /// Fills the decoded, lower-cased public fields from the raw ones.
    func fillDecoded(_ part: inout MIMEPart) {
        if let t = part.rawType, let st = part.rawSubtype, !st.isEmpty, !t.isEmpty {
            part.contentType = t.lowercased(); part.subtype = st.lowercased()
        }
        part.transferEncoding = part.rawTransferEncoding?.lowercased()
        part.parameters = part.rawParameters.map { p in
            MIMEParameter(name: (p.name.hasSuffix("*") ? String(p.name.dropLast()) : p.name).lowercased(), value: ContentFields.decodedValue(p))
        }
        part.disposition = part.rawDisposition?.lowercased()
        part.dispositionParameters = part.rawDispositionParameters.map { p in
            MIMEParameter(name: (p.name.hasSuffix("*") ? String(p.name.dropLast()) : p.name).lowercased(), value: ContentFields.decodedValue(p))
        }
        part.contentID = part.rawContentID.map { String(decoding: $0, as: UTF8.self) }
        part.contentDescription = part.rawDescription.map { RFC2047.decode($0) }
        part.contentMD5 = part.rawMD5.map { String(decoding: $0, as: UTF8.self) }
        part.contentLocation = part.rawLocation.map { String(decoding: $0, as: UTF8.self) }
        part.contentLanguage = part.rawLanguages ?? []
        let fn = part.dispositionParameters.first { $0.name == "filename" }?.value
            ?? part.parameters.first { $0.name == "name" }?.value
        part.filename = fn.map(collapseWhitespace)
        let leafNonText = part.contentType != "text" && part.contentType != "multipart" && part.contentType != "message"
        part.isAttachment = part.disposition == "attachment" || (part.filename != nil && !(part.filename!.isEmpty)) || leafNonText
    }
}
