/// One unit of client input, as the session sees it.
public enum SMTPInput: Sendable, Equatable {
    /// A command line without its line ending (CRLF, or a bare LF).
    case line([UInt8])
    /// A command line longer than the limit: its bytes were discarded up to the next LF.
    case lineTooLong
    /// A piece of message content after DATA: dot-stuffing removed, every line ending CRLF.
    case data([UInt8])
    /// The end of the message content: the client sent exactly CRLF "." CRLF.
    case dataEnd
    /// A piece of a BDAT chunk, as sent (no dot-stuffing, no line-ending changes).
    case chunk([UInt8])
    /// The end of the current BDAT chunk.
    case chunkEnd
}

/// Splits the client's bytes into command lines, DATA content and BDAT chunks. The session owns
/// it and switches its mode (`beginData()` after replying 354, `beginChunk(size:)` after parsing a
/// BDAT command), so bytes the client pipelined are read in the mode the session has decided on —
/// never guessed by a framer that runs ahead of the session.
///
/// DATA content ends only at CRLF "." CRLF (RFC 5321 §4.1.1.4). A bare LF or bare CR ends a line
/// of content (it is stored as CRLF) but never takes part in ending the message: `\n.\n`,
/// `\r.\r`, `\n.\r\n` and `\r\n.\n` are content. This closes SMTP smuggling (a second message
/// hidden after an end-of-data sequence that another server would accept), while mail from
/// sloppy senders is kept rather than refused. `bareLineEndings` counts what was normalised.
public struct SMTPInputDecoder: Sendable {
    public enum Mode: Sendable, Equatable {
        case command
        case data
        case chunk(remaining: Int)
    }

    public let limits: SMTPLimits
    public private(set) var mode: Mode = .command
    /// Bare LFs and bare CRs seen in DATA content since the last `beginData()`.
    public private(set) var bareLineEndings = 0

    private var buffer: [UInt8] = []
    private var head = 0
    private var discardingLine = false
    // DATA state: at the start of a line, and whether that line began after a real CRLF.
    private var atLineStart = true
    private var lineStartAfterCRLF = true
    private var pendingEnd = false

    public init(limits: SMTPLimits = SMTPLimits()) { self.limits = limits }

    /// Bytes received and not yet handed out.
    public var bufferedByteCount: Int { buffer.count - head }

    /// Whether a command line has begun and not ended (bytes buffered, or a line over the limit
    /// being skipped up to its LF): the session times the whole line, not just the gaps.
    public var hasPartialLine: Bool { mode == .command && (discardingLine || buffer.count > head) }

    public mutating func append(_ bytes: [UInt8]) {
        compact()
        buffer += bytes
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Reads message content from now on (after the session replied 354).
    public mutating func beginData() {
        mode = .data
        atLineStart = true
        lineStartAfterCRLF = true  // the DATA command line itself ended in CRLF
        pendingEnd = false
        bareLineEndings = 0
    }

    /// Reads `size` raw bytes as a BDAT chunk from now on (a chunk of 0 bytes ends at once).
    public mutating func beginChunk(size: Int) {
        mode = .chunk(remaining: max(0, size))
    }

    /// The next unit of input, or nil when more bytes are needed.
    public mutating func next() -> SMTPInput? {
        switch mode {
        case .command: return nextLine()
        case .data: return nextData()
        case .chunk(let remaining):
            if remaining == 0 { mode = .command; return .chunkEnd }
            let available = buffer.count - head
            guard available > 0 else { return nil }
            let n = min(remaining, available, limits.dataPieceSize)
            let piece = Array(buffer[head..<(head + n)])
            head += n
            mode = .chunk(remaining: remaining - n)
            return .chunk(piece)
        }
    }

    private mutating func compact() {
        if head > 0 && (head >= buffer.count || head >= 64 * 1024) {
            buffer.removeSubrange(0..<head)
            head = 0
        }
    }

    private mutating func nextLine() -> SMTPInput? {
        while true {
            let end = buffer.count
            guard head < end else { return nil }
            let lf = buffer[head..<end].firstIndex(of: 0x0A)
            if discardingLine {
                guard let lf else { head = end; return nil }
                head = lf + 1
                discardingLine = false
                continue
            }
            guard let lf else {
                if end - head > limits.maxCommandLineLength + 1 {  // + 1: the CR of a line at the limit
                    head = end
                    discardingLine = true
                    return .lineTooLong
                }
                return nil
            }
            var lineEnd = lf
            if lineEnd > head && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let start = head
            head = lf + 1
            if lineEnd - start > limits.maxCommandLineLength { return .lineTooLong }
            return .line(Array(buffer[start..<lineEnd]))
        }
    }

    private mutating func nextData() -> SMTPInput? {
        if pendingEnd {
            pendingEnd = false
            mode = .command
            return .dataEnd
        }
        var out: [UInt8] = []
        out.reserveCapacity(min(limits.dataPieceSize + 2, buffer.count - head))
        let count = buffer.count
        var i = head
        var ended = false
        buffer.withUnsafeBufferPointer { b in
            scan: while i < count && out.count < limits.dataPieceSize {
                if atLineStart {
                    if b[i] == 0x2E {  // '.'
                        // Needs to see what follows the dot.
                        guard i + 1 < count else { break scan }
                        let next = b[i + 1]
                        if next == 0x0D {
                            guard i + 2 < count else { break scan }
                            if b[i + 2] == 0x0A {
                                if lineStartAfterCRLF {
                                    i += 3; ended = true; break scan
                                }
                                // "." CRLF after a bare line ending: content, kept as it is.
                                out += [0x2E, 0x0D, 0x0A]; i += 3
                                lineStartAfterCRLF = true
                                continue scan
                            }
                            // "." then a bare CR: the dot is stuffing; the CR is handled below.
                            i += 1
                        } else if next == 0x0A {
                            // "." then a bare LF: content (a lone dot), never the end.
                            out += [0x2E, 0x0D, 0x0A]; i += 2
                            bareLineEndings += 1
                            lineStartAfterCRLF = false
                            continue scan
                        } else {
                            i += 1  // a stuffed dot
                        }
                    }
                    atLineStart = false
                }
                // Copy a run up to the next CR or LF.
                let runStart = i
                while i < count && b[i] != 0x0D && b[i] != 0x0A { i += 1 }
                if i > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<i])) }
                guard i < count else { break scan }
                if b[i] == 0x0A {
                    out += [0x0D, 0x0A]; i += 1
                    bareLineEndings += 1
                    atLineStart = true; lineStartAfterCRLF = false
                } else {  // CR
                    guard i + 1 < count else { break scan }  // need to know whether LF follows
                    if b[i + 1] == 0x0A {
                        out += [0x0D, 0x0A]; i += 2
                        atLineStart = true; lineStartAfterCRLF = true
                    } else {
                        out += [0x0D, 0x0A]; i += 1
                        bareLineEndings += 1
                        atLineStart = true; lineStartAfterCRLF = false
                    }
                }
            }
        }
        head = i
        if ended {
            if out.isEmpty { mode = .command; return .dataEnd }
            pendingEnd = true
            return .data(out)
        }
        return out.isEmpty ? nil : .data(out)
    }
}
