/// One header field of a header block, as ranges into the message bytes.
public struct HeaderField: Sendable, Hashable {
    /// The field name (without the colon).
    public var nameRange: Range<Int>
    /// The raw value after the colon (leading whitespace skipped, folding CRLFs still inside,
    /// the final CRLF excluded).
    public var valueRange: Range<Int>
    /// The whole field including its final line break.
    public var fieldRange: Range<Int>
}

/// A parsed header block.
struct HeaderBlock: Sendable {
    var fields: [HeaderField] = []
    /// End of the header block including the blank line (or where it was cut off).
    var end: Int = 0
    /// True when the block ended with an empty line.
    var hasBlankLine = false
}

enum HeaderParser {
    /// Parses a header block starting at `start`, stopping at the first empty line, at `end`, or at a
    /// line for which `isBoundary(lineStart, lineEnd)` answers true (that line is not consumed).
    static func parse(_ b: [UInt8], start: Int, end: Int, limits: MIMELimits,
                      isBoundary: ((Int, Int) -> Bool)? = nil) -> HeaderBlock {
        var block = HeaderBlock()
        var pos = start
        var current: (name: Range<Int>, value: Int, start: Int)? = nil
        func flush(at lineStartOfNext: Int, valueEnd: Int) {
            if let c = current {
                if block.fields.count < limits.maxHeaderFields && c.start - start < limits.maxHeaderBytes {
                    block.fields.append(HeaderField(nameRange: c.name, valueRange: c.value..<max(c.value, valueEnd),
                                                    fieldRange: c.start..<lineStartOfNext))
                }
                current = nil
            }
        }
        var lastValueEnd = start
        while pos < end {
            let lineStart = pos
            let lf = b.indexOfLF(from: pos, end: end)
            let lineEndNoLF = lf ?? end                // excludes LF
            let next = lf.map { $0 + 1 } ?? end
            var contentEnd = lineEndNoLF
            if contentEnd > lineStart && b[contentEnd - 1] == CR { contentEnd -= 1 }
            // Empty line: end of header.
            if contentEnd == lineStart && lf != nil {
                flush(at: lineStart, valueEnd: lastValueEnd)
                block.end = next
                block.hasBlankLine = true
                return block
            }
            if contentEnd == lineStart && lf == nil {   // trailing lone CR at EOF
                flush(at: lineStart, valueEnd: lastValueEnd)
                block.end = next
                return block
            }
            if let isBoundary, isBoundary(lineStart, contentEnd) {
                flush(at: lineStart, valueEnd: lastValueEnd)
                block.end = lineStart
                return block
            }
            if isWSP(b[lineStart]) && current != nil {
                // continuation line
                lastValueEnd = contentEnd
            } else {
                flush(at: lineStart, valueEnd: lastValueEnd)
                // field name up to ':'
                var i = lineStart
                while i < contentEnd && b[i] != 58 { i += 1 }
                if i < contentEnd {
                    var nameEnd = i
                    while nameEnd > lineStart && isWSP(b[nameEnd - 1]) { nameEnd -= 1 }
                    var v = i + 1
                    while v < contentEnd && isWSP(b[v]) { v += 1 }
                    current = (lineStart..<nameEnd, v, lineStart)
                    lastValueEnd = contentEnd
                } else {
                    // a line without a colon: kept as a field with an empty value
                    current = (lineStart..<contentEnd, contentEnd, lineStart)
                    lastValueEnd = contentEnd
                }
            }
            pos = next
        }
        flush(at: end, valueEnd: lastValueEnd)
        block.end = end
        return block
    }
}
