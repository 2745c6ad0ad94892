import NIOCore

/// Literal-aware framing of the client's byte stream (RFC 3501 §4.3, RFC 7888 `{n+}`, RFC 3516 `~{n}`).
/// Pure: bytes in, `IMAPFrame`s out. Never holds more than one line plus `maxCommandSize`; an APPEND
/// message literal (each of a MULTIAPPEND's, RFC 3502) is handed on in chunks as it arrives.
///
/// Lines end with CRLF; a bare LF is accepted too (some scripts send it) and the CR, when present,
/// is dropped.
public struct IMAPFramer: Sendable {
    public let limits: IMAPLimits

    private enum Mode: Sendable {
        /// Reading command text up to the end of a line.
        case line
        /// Reading an inline literal into the command.
        case literal(remaining: Int)
        /// Streaming an APPEND message literal.
        case appendLiteral(remaining: Int)
        /// After the APPEND literal: the rest of the line goes into `.appendEnd`.
        case appendRest
        /// Skipping a rejected non-synchronizing literal, then the rest of its line.
        case skipLiteral(remaining: Int)
        /// Skipping to the end of the line, then emitting `after`.
        case skipLine(after: IMAPFrame?)
    }

    private var input = ByteBuffer()
    private var command: [UInt8] = []
    /// Bytes of the current line scanned so far without finding its end.
    private var scanned = 0
    private var mode: Mode = .line
    private var pending: [IMAPFrame] = []
    private var pendingIndex = 0

    public init(limits: IMAPLimits = IMAPLimits()) {
        self.limits = limits
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: inout ByteBuffer) {
        if input.readableBytes == 0 { input.clear() } else if input.readerIndex > 64 * 1024 { input.discardReadBytes() }
        input.writeBuffer(&bytes)
    }

    /// Bytes received but not yet handed on (STARTTLS: anything here was pipelined in plaintext).
    public var bufferedByteCount: Int { input.readableBytes + command.count + (pending.count - pendingIndex) }

    /// The next frame, or nil when more bytes are needed. Throws only when the stream cannot be
    /// resynchronised (the connection should then be closed).
    public mutating func next() throws(IMAPFramingError) -> IMAPFrame? {
        while true {
            if pendingIndex < pending.count {
                let frame = pending[pendingIndex]
                pendingIndex += 1
                if pendingIndex == pending.count { pending.removeAll(keepingCapacity: true); pendingIndex = 0 }
                return frame
            }
            guard try step() else { return nil }
        }
    }

    private mutating func emit(_ frame: IMAPFrame) { pending.append(frame) }

    /// Refuses a literal: at once for a synchronizing one (no continuation, so the client does not
    /// send it); after skipping its bytes for a non-synchronizing one, which is already on its way
    /// (one over `maxSkippedLiteral` is not waited for: the connection closes, see `skip`).
    private mutating func refuse(_ frame: IMAPFrame, marker: LiteralMarker) throws(IMAPFramingError) {
        if marker.synchronizing {
            emit(frame)
        } else {
            try skip(marker, then: frame)
        }
    }

    /// Skips a non-synchronizing literal the client is sending, then the rest of its line, then
    /// emits `frame`. A literal over `maxSkippedLiteral` throws instead: reading and discarding
    /// `{99999999999+}` would hold the connection for as long as the client likes.
    private mutating func skip(_ marker: LiteralMarker, then frame: IMAPFrame?) throws(IMAPFramingError) {
        guard marker.size <= limits.maxSkippedLiteral else { throw .tooBig(marker.size) }
        deferred = frame
        mode = .skipLiteral(remaining: marker.size)
    }

    /// Advances the state machine; false when it needs more input.
    private mutating func step() throws(IMAPFramingError) -> Bool {
        switch mode {
        case .line:
            return try readLine()
        case .literal(let remaining):
            guard input.readableBytes > 0 else { return false }
            let n = min(remaining, input.readableBytes)
            command.append(contentsOf: input.readBytes(length: n)!)
            mode = remaining - n == 0 ? .line : .literal(remaining: remaining - n)
            return true
        case .appendLiteral(let remaining):
            if remaining == 0 { mode = .appendRest; return true }
            guard input.readableBytes > 0 else { return false }
            let n = min(remaining, input.readableBytes, limits.appendChunkSize)
            emit(.appendChunk(input.readSlice(length: n)!))
            mode = .appendLiteral(remaining: remaining - n)
            return true
        case .appendRest:
            guard let (line, _) = takeLine() else {
                // Bounded like any line: the APPEND ends with what fits, the rest of the line is skipped.
                guard scanned > limits.maxLineLength else { return false }
                let head = Array(input.readableBytesView.prefix(limits.maxLineLength))
                input.moveReaderIndex(forwardBy: input.readableBytes)
                scanned = 0
                command = []
                appendHeader = nil
                mode = .skipLine(after: nil)
                emit(.appendEnd(ByteBuffer(bytes: head)))
                return true
            }
            command = []
            mode = .line
            let first = appendHeader  // the previous message's header
            appendHeader = nil
            guard let marker = try Self.literalMarker(line) else {
                emit(.appendEnd(ByteBuffer(bytes: line.count > limits.maxLineLength ? Array(line.prefix(limits.maxLineLength)) : line)))
                return true
            }
            // MULTIAPPEND (RFC 3502): the line goes on with the next message and its literal.
            if let first, line.count <= limits.maxLineLength,
               let next = try? IMAPCommandParser.parseAppendNext(ByteBuffer(bytes: line), after: first, limits: limits).get() {
                appendTotal += marker.size
                appendCount += 1
                if marker.size > limits.maxAppendSize || appendTotal > max(limits.maxMultiAppendSize, limits.maxAppendSize)
                    || appendCount > limits.maxMultiAppendMessages {
                    try refuse(.tooLarge(tag: first.tag, literalSize: marker.size, isAppend: true), marker: marker)
                    return true
                }
                emit(.appendNext(ByteBuffer(bytes: line), literalSize: marker.size))
                if marker.synchronizing { emit(.continuationRequest) }
                appendHeader = next  // the previous message's header for the one after (its UTF8 closing parenthesis)
                mode = .appendLiteral(remaining: marker.size)
                return true
            }
            // Not a next message: the session answers BAD. A literal the client sends without
            // waiting is skipped, never read as commands.
            emit(.appendEnd(ByteBuffer(bytes: line.count > limits.maxLineLength ? Array(line.prefix(limits.maxLineLength)) : line)))
            if !marker.synchronizing { try skip(marker, then: nil) }
            return true
        case .skipLiteral(let remaining):
            if remaining > 0 {
                guard input.readableBytes > 0 else { return false }
                let n = min(remaining, input.readableBytes)
                input.moveReaderIndex(forwardBy: n)
                mode = .skipLiteral(remaining: remaining - n)
            } else {
                mode = .skipLine(after: deferred)
                deferred = nil
            }
            return true
        case .skipLine(let after):
            let view = input.readableBytesView
            if let lf = view.firstIndex(of: 10) {
                skipTail.append(contentsOf: view[max(view.startIndex, lf - 24)..<lf])
                input.moveReaderIndex(to: lf + 1)
                scanned = 0
                var tail = Array(skipTail.suffix(24))
                if tail.last == 13 { tail.removeLast() }
                skipTail = []
                // A literal at the end of a discarded line is discarded too (when the client sends
                // it without waiting: a non-synchronizing literal), so its bytes never pass for commands.
                if let marker = try Self.literalMarker(tail), !marker.synchronizing {
                    try skip(marker, then: after)
                } else {
                    mode = .line
                    if let after { emit(after) }
                }
            } else {
                skipTail.append(contentsOf: view.suffix(24))
                skipTail = Array(skipTail.suffix(24))
                input.moveReaderIndex(forwardBy: input.readableBytes)
                return false
            }
            return true
        }
    }

    /// Inline literals in the command being assembled.
    private var literalCount = 0

    /// The last bytes of a line being skipped (to see a literal marker at its end).
    private var skipTail: [UInt8] = []

    /// The frame to emit once a skipped literal and its line are gone.
    private var deferred: IMAPFrame?

    /// The APPEND whose message literals are being streamed (its next message is parsed against
    /// it), and the size and number of its messages so far.
    private var appendHeader: AppendHeader?
    private var appendTotal = 0
    private var appendCount = 0

    /// The next complete line (without CR LF) and whether it ended in CR LF (else a bare LF); nil
    /// when no line end yet.
    private mutating func takeLine() -> ([UInt8], Bool)? {
        let view = input.readableBytesView
        let start = view.startIndex + scanned
        guard let lf = view[start...].firstIndex(of: 10) else {
            scanned = view.count
            return nil
        }
        var end = lf
        var hadCR = false
        if end > view.startIndex, view[end - 1] == 13 { end -= 1; hadCR = true }
        let line = Array(view[view.startIndex..<end])
        input.moveReaderIndex(to: lf + 1)
        scanned = 0
        return (line, hadCR)
    }

    /// When no line end is in sight: switch to skipping if the line is already too long.
    private mutating func overlongCheck(tag: String?) -> Bool {
        if scanned > limits.maxLineLength {
            let t = tag ?? tagOf(Array(input.readableBytesView.prefix(64)))
            command = []
            input.moveReaderIndex(forwardBy: input.readableBytes)
            scanned = 0
            mode = .skipLine(after: .lineTooLong(tag: t))
            return true
        }
        return false
    }

    private mutating func readLine() throws(IMAPFramingError) -> Bool {
        guard let (line, hadCR) = takeLine() else {
            return overlongCheck(tag: command.isEmpty ? nil : tagOf(command))
        }
        if line.count > limits.maxLineLength {
            let tag = tagOf(command.isEmpty ? line : command)
            command = []
            // As when the line arrives in pieces (skipLine): a trailing non-synchronizing literal goes too.
            if let marker = try Self.literalMarker(line), !marker.synchronizing {
                try skip(marker, then: .lineTooLong(tag: tag))
            } else {
                emit(.lineTooLong(tag: tag))
            }
            return true
        }
        guard let marker = try Self.literalMarker(line) else {
            if command.isEmpty && line.isEmpty { return true }  // empty line: ignore
            command.append(contentsOf: line)
            if command.count > limits.maxCommandSize {
                let tag = tagOf(command)
                command = []
                emit(.tooLarge(tag: tag, literalSize: 0, isAppend: false))
                return true
            }
            emit(.command(ByteBuffer(bytes: command)))
            command = []
            return true
        }
        let soFar = command + line
        // The message literal of an APPEND whose header parses (checked while the command has at
        // most one literal so far — the mailbox name may be one — so re-reading stays linear). A
        // malformed APPEND is framed like any command and answered BAD before its literal is sent.
        let inlineLiterals = command.isEmpty ? 0 : literalCount
        let appendHeader = inlineLiterals <= 1 && Self.isAppendMessageLiteral(soFar, markerLength: marker.length)
            ? try? IMAPCommandParser.parseAppendHeader(ByteBuffer(bytes: soFar), literalSize: marker.size, limits: limits).get() : nil
        let isAppendMessage = appendHeader != nil
        let limit = isAppendMessage ? limits.maxAppendSize : limits.maxInlineLiteral
        let total = isAppendMessage ? soFar.count : soFar.count + marker.size
        if marker.size > limit || (!isAppendMessage && total > limits.maxCommandSize) {
            let tag = tagOf(soFar)
            command = []
            try refuse(.tooLarge(tag: tag, literalSize: marker.size, isAppend: isAppendMessage), marker: marker)
            return true
        }
        if marker.synchronizing { emit(.continuationRequest) }
        if let appendHeader {
            emit(.appendBegin(ByteBuffer(bytes: soFar), literalSize: marker.size))
            command = []
            self.appendHeader = appendHeader
            appendTotal = marker.size
            appendCount = 1
            mode = .appendLiteral(remaining: marker.size)
        } else {
            command = soFar + (hadCR ? [13, 10] : [10])  // exactly as sent
            literalCount = inlineLiterals + 1
            mode = .literal(remaining: marker.size)
        }
        return true
    }

    struct LiteralMarker { var size: Int; var synchronizing: Bool; var length: Int }

    /// `{n}`, `{n+}`, `~{n}` or `~{n+}` at the end of a line.
    static func literalMarker(_ line: [UInt8]) throws(IMAPFramingError) -> LiteralMarker? {
        guard let last = line.last, last == UInt8(ascii: "}") else { return nil }
        var i = line.count - 2
        var sync = true
        if i >= 0, line[i] == UInt8(ascii: "+") { sync = false; i -= 1 }
        let digitsEnd = i
        while i >= 0, line[i] >= 48, line[i] <= 57 { i -= 1 }
        guard i >= 0, line[i] == UInt8(ascii: "{"), digitsEnd > i else { return nil }
        let digits = line[(i + 1)...digitsEnd]
        guard digits.count <= 13 else { throw IMAPFramingError("literal size too large") }
        var size = 0
        for d in digits { size = size * 10 + Int(d - 48) }
        guard size <= 1 << 40 else { throw IMAPFramingError("literal size too large") }
        var length = line.count - i
        if i > 0, line[i - 1] == UInt8(ascii: "~") { length += 1 }
        return LiteralMarker(size: size, synchronizing: sync, length: length)
    }

    /// Whether the literal that ends `text` is the message of an APPEND (or of a REPLACE, RFC 8508,
    /// whose message is streamed alike): the command is APPEND, REPLACE or UID REPLACE and at least
    /// one argument comes before the marker.
    static func isAppendMessageLiteral(_ text: [UInt8], markerLength: Int) -> Bool {
        // tag SP ("APPEND" / "REPLACE" / "UID REPLACE") SP ...
        guard let sp = text.firstIndex(of: 32) else { return false }
        let verbStart = sp + 1
        let upper = text[verbStart...].prefix(13).map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }
        for verb in ["APPEND ", "REPLACE ", "UID REPLACE "] where upper.starts(with: verb.utf8) {
            return text.count - markerLength > verbStart + verb.utf8.count
        }
        return false
    }

    private func tagOf(_ bytes: [UInt8]) -> String? {
        let end = bytes.firstIndex(of: 32) ?? bytes.count
        guard end > 0, end <= 64 else { return nil }
        let tag = bytes[..<end]
        guard tag.allSatisfy({ IMAPGrammar.isAStringChar($0) && $0 != UInt8(ascii: "+") }) else { return nil }
        return String(decoding: tag, as: UTF8.self)
    }
}
