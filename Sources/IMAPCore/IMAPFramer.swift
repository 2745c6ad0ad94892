import NIOCore

/// Literal-aware framing of the client's byte stream (RFC 3501 §4.3, RFC 7888 `{n+}`, RFC 3516 `~{n}`).
/// Pure: bytes in, `IMAPFrame`s out. Never holds more than one line plus `maxCommandSize`; an APPEND
/// message literal is handed on in chunks as it arrives.
///
/// Use: after each `append(_:)`, call `next()` until it returns nil.
///
/// - Line ends: CRLF, and also a bare LF (some scripts send it); a CR before the LF is not part of
///   the line. The CRLF after a literal marker stays inside `.command` bytes exactly as sent.
/// - A synchronizing literal that is accepted yields `.continuationRequest` at once. For an APPEND
///   message literal the order is `.continuationRequest` (only for `{n}`), `.appendBegin`,
///   `.appendChunk`…, `.appendEnd`.
/// - The APPEND message literal is the literal whose marker line so far parses as
///   `tag APPEND mailbox [flags] [date]` (`IMAPCommandParser.parseAppendHeader`); a mailbox name
///   sent as a literal stays inline. After the message literal the rest of the line is `.appendEnd`
///   (MULTIAPPEND is not supported: should that rest end with a `{n+}` marker, those n bytes are
///   skipped, so they are not taken for commands).
/// - While skipping (a line too long, a refused `{n+}` literal) the framer still follows `{n+}`
///   markers at line ends, so literal bytes are never read as commands.
public struct IMAPFramer: Sendable {
    public let limits: IMAPLimits

    private enum State: Sendable {
        /// Reading a command line; the command's earlier lines and literals are in the buffer.
        case line
        /// Reading an inline literal into the command.
        case inlineLiteral(remaining: Int)
        /// Streaming an APPEND message literal.
        case appendLiteral(remaining: Int)
        /// Reading the rest of the APPEND line after the message literal.
        case appendRest
        /// Discarding a refused non-synchronizing literal, then the rest of its line.
        case skipLiteral(remaining: Int, then: IMAPFrame?)
        /// Discarding up to the next line end, then handing on `then`.
        case skipLine(then: IMAPFrame?)
    }

    /// Unprocessed bytes; `readerIndex` is the start of the current command.
    private var buffer = ByteBuffer()
    private var state = State.line
    /// Start of the current line, relative to `buffer.readerIndex`.
    private var lineStart = 0
    /// How far the current line was searched for LF (or how much literal was read), relative.
    private var scanned = 0
    /// The last bytes of a line being skipped (to see a literal marker at its end).
    private var skipTail: [UInt8] = []
    /// Frames decided but not yet returned.
    private var pending: [IMAPFrame] = []
    /// Inline literals read so far in the current command. An APPEND header holds at most one (the
    /// mailbox name), so later markers are not checked against the APPEND grammar (which would
    /// re-read the growing command for every literal).
    private var literalsInCommand = 0

    private static let maxLiteralSize = 1 << 40

    public init(limits: IMAPLimits = IMAPLimits()) {
        self.limits = limits
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: inout ByteBuffer) {
        if buffer.readableBytes == 0 && lineStart == 0 && scanned == 0 {
            buffer = bytes
        } else {
            buffer.writeBuffer(&bytes)
        }
        bytes.moveReaderIndex(to: bytes.writerIndex)
    }

    /// Bytes received but not yet handed on (STARTTLS: anything here was pipelined in plaintext).
    public var bufferedByteCount: Int {
        var n = buffer.readableBytes
        for f in pending {
            switch f {
            case .command(let b), .appendBegin(let b, _), .appendChunk(let b), .appendEnd(let b): n += b.readableBytes
            default: break
            }
        }
        return n
    }

    /// The next frame, or nil when more bytes are needed. Throws only when the stream cannot be
    /// resynchronised (the connection should then be closed).
    public mutating func next() throws(IMAPFramingError) -> IMAPFrame? {
        if !pending.isEmpty { return pending.removeFirst() }
        while true {
            switch state {
            case .line:
                if let frame = try nextFromLine() { return frame }
                // nil and still reading the line: more bytes are needed; else the state moved on.
                if case .line = state { compact(); return nil }

            case .inlineLiteral(let remaining):
                let take = min(buffer.readableBytes - scanned, remaining)
                scanned += take
                if take == remaining {
                    state = .line
                    lineStart = scanned
                    continue
                }
                state = .inlineLiteral(remaining: remaining - take)
                return nil

            case .appendLiteral(let remaining):
                if remaining == 0 {
                    state = .appendRest
                    lineStart = 0; scanned = 0
                    continue
                }
                let n = min(buffer.readableBytes, remaining, max(1, limits.appendChunkSize))
                guard n > 0, let chunk = buffer.readSlice(length: n) else { compact(); return nil }
                state = .appendLiteral(remaining: remaining - n)
                return .appendChunk(chunk)

            case .appendRest:
                guard let lf = findLF(from: scanned) else {
                    scanned = buffer.readableBytes
                    if scanned > limits.maxLineLength {
                        // Hand on the start of the overlong rest (the session answers BAD) and skip the remainder.
                        let tail = Array(buffer.readableBytesView.suffix(32))
                        let rest = buffer.readSlice(length: limits.maxLineLength) ?? ByteBuffer()
                        beginSkipLine(then: nil)
                        skipTail = tail
                        return .appendEnd(rest)
                    }
                    compact()
                    return nil
                }
                let end = contentEnd(lf)
                let rest = buffer.getSlice(at: buffer.readerIndex, length: min(end, max(0, limits.maxLineLength))) ?? ByteBuffer()
                let marker = try? literalMarker(start: 0, end: end)
                consume(through: lf)
                if let marker, !marker.sync, marker.size > 0 {
                    state = .skipLiteral(remaining: marker.size, then: nil)
                } else {
                    state = .line
                }
                return .appendEnd(rest)

            case .skipLiteral(let remaining, let then):
                let n = min(buffer.readableBytes, remaining)
                buffer.moveReaderIndex(forwardBy: n)
                if n == remaining {
                    skipTail = []
                    state = .skipLine(then: then)
                    continue
                }
                state = .skipLiteral(remaining: remaining - n, then: then)
                compact()
                return nil

            case .skipLine(let then):
                guard let lf = findLF(from: 0) else {
                    let all = buffer.readableBytesView
                    skipTail.append(contentsOf: all.suffix(32))
                    if skipTail.count > 32 { skipTail.removeFirst(skipTail.count - 32) }
                    buffer.moveReaderIndex(forwardBy: all.count)
                    compact()
                    return nil
                }
                let view = buffer.readableBytesView
                skipTail.append(contentsOf: view[view.startIndex ..< view.startIndex + lf].suffix(32))
                if skipTail.count > 32 { skipTail.removeFirst(skipTail.count - 32) }
                if skipTail.last == IMAPChar.cr { skipTail.removeLast() }
                consume(through: lf)
                let tail = skipTail
                skipTail = []
                if let m = Self.marker(in: tail), !m.sync, m.size > 0 {
                    state = .skipLiteral(remaining: m.size, then: then)
                    continue
                }
                state = .line
                if let then { return then }
            }
        }
    }

    // MARK: lines

    /// Handles the `.line` state: a frame, or nil with the state changed or more bytes needed.
    private mutating func nextFromLine() throws(IMAPFramingError) -> IMAPFrame? {
        guard let lf = findLF(from: scanned) else {
            scanned = buffer.readableBytes
            var length = scanned - lineStart
            if length > 0, buffer.getInteger(at: buffer.readerIndex + scanned - 1, as: UInt8.self) == IMAPChar.cr { length -= 1 }
            if length > limits.maxLineLength {
                let tag = commandTag()
                beginSkipLine(then: .lineTooLong(tag: tag))
                return nil
            }
            return nil
        }
        let end = contentEnd(lf)
        if end - lineStart > limits.maxLineLength {
            let t = commandTag()
            let marker = try? literalMarker(start: lineStart, end: end)
            consume(through: lf)
            if let marker, !marker.sync, marker.size > 0 {
                state = .skipLiteral(remaining: marker.size, then: .lineTooLong(tag: t))
                return nil
            }
            return .lineTooLong(tag: t)
        }
        guard let marker = try literalMarker(start: lineStart, end: end) else {
            if end > limits.maxCommandSize {
                let t = commandTag()
                consume(through: lf)
                return .tooLarge(tag: t, literalSize: 0, isAppend: false)
            }
            let command = buffer.getSlice(at: buffer.readerIndex, length: end) ?? ByteBuffer()
            consume(through: lf)
            return .command(command)
        }
        if literalsInCommand <= 1, isAppendMessageLiteral(end: end, size: marker.size) {
            if marker.size > limits.maxAppendSize {
                return refuse(tag: commandTag(), marker: marker, lf: lf, isAppend: true)
            }
            let prefix = buffer.getSlice(at: buffer.readerIndex, length: end) ?? ByteBuffer()
            consume(through: lf)
            state = .appendLiteral(remaining: marker.size)
            if marker.sync { pending.append(.appendBegin(prefix, literalSize: marker.size)); return .continuationRequest }
            return .appendBegin(prefix, literalSize: marker.size)
        }
        if marker.size > limits.maxInlineLiteral || lf + 1 + marker.size > limits.maxCommandSize {
            return refuse(tag: commandTag(), marker: marker, lf: lf, isAppend: false)
        }
        scanned = lf + 1
        literalsInCommand += 1
        state = .inlineLiteral(remaining: marker.size)
        return marker.sync ? .continuationRequest : nil
    }

    /// Drops the command whose line ends at `lf` because of its literal: at once for `{n}` (the
    /// client waits for a continuation that never comes), after skipping the literal and the rest of
    /// the command line for `{n+}`.
    private mutating func refuse(tag: String?, marker: Marker, lf: Int, isAppend: Bool) -> IMAPFrame? {
        let frame = IMAPFrame.tooLarge(tag: tag, literalSize: marker.size, isAppend: isAppend)
        consume(through: lf)
        if marker.sync {
            state = .line
            return frame
        }
        state = .skipLiteral(remaining: marker.size, then: frame)
        return nil
    }

    /// Whether a literal announced at the end of the command bytes [0, end) is an APPEND message.
    private func isAppendMessageLiteral(end: Int, size: Int) -> Bool {
        let view = buffer.readableBytesView
        var i = view.startIndex
        let stop = view.startIndex + end
        while i < stop, view[i] != IMAPChar.space { i += 1 }
        let keyword = Array("APPEND ".utf8)
        guard stop - i > keyword.count + 1 else { return false }
        for (k, c) in keyword.enumerated() {
            let b = view[i + 1 + k]
            guard (k == keyword.count - 1 ? b : b | 0x20) == (k == keyword.count - 1 ? c : c | 0x20) else { return false }
        }
        guard let prefix = buffer.getSlice(at: buffer.readerIndex, length: end) else { return false }
        if case .success = IMAPCommandParser.parseAppendHeader(prefix, literalSize: size, limits: limits) { return true }
        return false
    }

    private func commandTag() -> String? {
        IMAPCommandParser.tag(ofBytes: buffer.readableBytesView.prefix(65))
    }

    /// Discards the buffered bytes of the current line and skips to its end.
    private mutating func beginSkipLine(then: IMAPFrame?) {
        let all = buffer.readableBytesView
        skipTail = Array(all.suffix(32))
        buffer.moveReaderIndex(forwardBy: all.count)
        lineStart = 0; scanned = 0; literalsInCommand = 0
        state = .skipLine(then: then)
        compact()
    }

    // MARK: bytes

    /// Relative index of the next LF at or after relative `from`.
    private func findLF(from: Int) -> Int? {
        let view = buffer.readableBytesView
        guard from < view.count else { return nil }
        guard let i = view[(view.startIndex + from)...].firstIndex(of: IMAPChar.lf) else { return nil }
        return i - view.startIndex
    }

    /// End of the line content whose LF is at relative `lf` (before a CR).
    private func contentEnd(_ lf: Int) -> Int {
        if lf > lineStart, buffer.getInteger(at: buffer.readerIndex + lf - 1, as: UInt8.self) == IMAPChar.cr { return lf - 1 }
        return lf
    }

    /// Hands the command (through its LF at relative `lf`) out of the buffer.
    private mutating func consume(through lf: Int) {
        buffer.moveReaderIndex(forwardBy: lf + 1)
        lineStart = 0
        scanned = 0
        literalsInCommand = 0
    }

    private mutating func compact() {
        if buffer.readableBytes == 0 {
            buffer = ByteBuffer()
        } else if buffer.readerIndex > 16 * 1024 {
            buffer.discardReadBytes()
        }
    }

    struct Marker: Sendable { var size: Int; var sync: Bool; var binary: Bool }

    /// The literal marker ending the relative byte range [start, end), if any.
    private func literalMarker(start: Int, end: Int) throws(IMAPFramingError) -> Marker? {
        let view = buffer.readableBytesView
        let from = view.startIndex + start, to = view.startIndex + end
        guard to > from, view[to - 1] == IMAPChar.closeBrace else { return nil }
        // Look back at most 32 bytes for the "{" of the marker.
        let window = Array(view[max(from, to - 32) ..< to])
        guard let open = window.lastIndex(of: IMAPChar.openBrace),
              !window[open...].contains(IMAPChar.space) else { return nil }
        guard let m = Self.marker(in: window) else { throw IMAPFramingError("Invalid literal size") }
        return m
    }

    /// Parses `{n}`, `{n+}`, `~{n}` at the very end of `bytes`; nil when it is not a valid marker.
    static func marker(in bytes: [UInt8]) -> Marker? {
        guard bytes.last == IMAPChar.closeBrace else { return nil }
        var i = bytes.count - 2
        var sync = true
        if i >= 0, bytes[i] == IMAPChar.plus { sync = false; i -= 1 }
        let digitsEnd = i + 1
        while i >= 0, IMAPChar.isDigit(bytes[i]) { i -= 1 }
        let digitsStart = i + 1
        guard i >= 0, bytes[i] == IMAPChar.openBrace, digitsStart < digitsEnd, digitsEnd - digitsStart <= 13 else { return nil }
        var size = 0
        for d in bytes[digitsStart ..< digitsEnd] { size = size * 10 + Int(d - 0x30) }
        guard size <= maxLiteralSize else { return nil }
        return Marker(size: size, sync: sync, binary: i > 0 && bytes[i - 1] == IMAPChar.tilde)
    }
}
