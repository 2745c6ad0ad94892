/// What the framer hands on: one whole command, or the notice that one was over a limit.
public enum ManageSieveFrame: Sendable, Equatable {
    /// A complete command (or a SASL response line) without its final line ending; literals
    /// inline exactly as sent (`{n+}` CRLF and the n bytes), for `ManageSieveParser`.
    case command([UInt8])
    /// A command over a limit (a line over `maxLineLength`, a literal over the stage's limit, too
    /// many literals). The framer discarded it whole, its literals' bytes too, up to the end of its
    /// line: nothing of it is read as commands. `verb`: its first word, upper case, when it looks
    /// like one; `literalSize`: the literal that was too large (nil for a long line).
    case tooLarge(verb: String?, literalSize: Int?)
}

/// The stream cannot be resynchronised (a literal too large even to skip, an absurd literal
/// size): the session says `BYE` and closes.
public struct ManageSieveFramingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Literal-aware framing of the client's bytes (RFC 5804 §4: `{n+}` and `{n}` literals, both sent
/// without waiting: ManageSieve has no continuation for them). Pure: bytes in, frames out. Holds
/// at most one line plus the stage's literal limit; anything over a limit is skipped without
/// buffering. Lines end with CRLF; a bare LF is accepted too. Empty lines are ignored.
public struct ManageSieveFramer: Sendable {
    public let limits: ManageSieveLimits
    /// Logged in: script-sized literals are accepted (the session sets it).
    public var authenticated = false

    private enum Mode: Sendable, Equatable {
        case line
        case literal(remaining: Int)
        case skipLiteral(remaining: Int)
        case skipLine
    }

    private var input: [UInt8] = []
    private var head = 0
    /// Bytes after `head` already searched for a line end.
    private var scanned = 0
    private var command: [UInt8] = []
    private var literals = 0
    private var mode = Mode.line
    /// The frame to hand on once a skipped command is gone.
    private var pending: ManageSieveFrame?
    /// The last bytes of a line being skipped (a literal marker at its end is skipped too).
    private var skipTail: [UInt8] = []

    public init(limits: ManageSieveLimits = ManageSieveLimits()) { self.limits = limits }

    /// Adds bytes received from the client.
    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if head > 0, head == input.count || head >= 64 * 1024 {
            input.removeFirst(head)
            head = 0
        }
        input.append(contentsOf: bytes)
    }

    /// Bytes received and not handed on yet (STARTTLS: anything here was pipelined in plaintext).
    public var bufferedByteCount: Int { input.count - head + command.count }

    /// Whether a command has begun and is not complete yet (its time limit runs).
    public var isMidCommand: Bool { mode != .line || bufferedByteCount > 0 }

    /// The next frame, or nil when more bytes are needed. Throws when the stream cannot be
    /// resynchronised (the connection must close).
    public mutating func next() throws(ManageSieveFramingError) -> ManageSieveFrame? {
        while true {
            switch mode {
            case .line:
                guard let lf = firstLineFeed() else {
                    // (+ 1: the CR of a line of exactly the limit may be here before its LF)
                    guard input.count - head > limits.maxLineLength + 1 else { return nil }
                    // A line too long, its end not in sight: skip it as it comes.
                    let verb = Self.verb(command.isEmpty ? Array(input[head..<min(head + 64, input.count)]) : command)
                    skipTail = Array(input[max(head, input.count - 25)...])  // 25: the CR may be among them
                    head = input.count
                    scanned = 0
                    command = []
                    literals = 0
                    pending = .tooLarge(verb: verb, literalSize: nil)
                    mode = .skipLine
                    continue
                }
                var end = lf
                if end > head, input[end - 1] == 13 { end -= 1 }
                let line = Array(input[head..<end])
                head = lf + 1
                scanned = 0
                let verb = Self.verb(command.isEmpty ? line : command)
                if line.count > limits.maxLineLength {
                    command = []
                    literals = 0
                    // Its last bytes only, as when the line is skipped while it arrives (`skipTail`).
                    if let marker = try Self.literalMarker(Array(line.suffix(24))) {
                        try skip(marker.size, then: .tooLarge(verb: verb, literalSize: nil))
                        continue
                    }
                    return .tooLarge(verb: verb, literalSize: nil)
                }
                guard let marker = try Self.literalMarker(line) else {
                    if command.isEmpty && line.isEmpty { continue }
                    let frame = command + line
                    command = []
                    literals = 0
                    return .command(frame)
                }
                let accept = limits.literalLimits(authenticated: authenticated).accept
                literals += 1
                if marker.size > accept || literals > limits.maxLiterals {
                    command = []
                    literals = 0
                    try skip(marker.size, then: .tooLarge(verb: verb, literalSize: marker.size > accept ? marker.size : nil))
                    continue
                }
                command += line
                command += [13, 10]
                mode = .literal(remaining: marker.size)
            case .literal(let remaining):
                if remaining == 0 { mode = .line; continue }
                guard head < input.count else { return nil }
                let n = min(remaining, input.count - head)
                command += input[head..<(head + n)]
                head += n
                mode = .literal(remaining: remaining - n)
            case .skipLiteral(let remaining):
                if remaining == 0 { mode = .skipLine; skipTail = []; continue }
                guard head < input.count else { return nil }
                let n = min(remaining, input.count - head)
                head += n
                mode = .skipLiteral(remaining: remaining - n)
            case .skipLine:
                guard let lf = firstLineFeed() else {
                    skipTail = Array((skipTail + input[head...]).suffix(25))
                    head = input.count
                    scanned = 0
                    return nil
                }
                // The line's last 24 bytes without its CR, as `literalMarker(line.suffix(24))` sees a
                // line that came whole (the CR is dropped before counting, not after).
                var tail = skipTail + input[max(head, lf - 25)..<lf]
                if tail.last == 13 { tail.removeLast() }
                tail = Array(tail.suffix(24))
                head = lf + 1
                scanned = 0
                skipTail = []
                // The skipped line goes on with another literal: it is skipped too.
                if let marker = try Self.literalMarker(tail) {
                    try skip(marker.size, then: pending)
                    continue
                }
                mode = .line
                if let frame = pending { pending = nil; return frame }
            }
        }
    }

    private mutating func skip(_ size: Int, then frame: ManageSieveFrame?) throws(ManageSieveFramingError) {
        let limit = limits.literalLimits(authenticated: authenticated).skip
        guard size <= limit else {
            throw ManageSieveFramingError("literal of \(size) bytes is too large")
        }
        pending = frame
        mode = .skipLiteral(remaining: size)
    }

    private mutating func firstLineFeed() -> Int? {
        var i = head + scanned
        while i < input.count {
            if input[i] == 10 { return i }
            i += 1
        }
        scanned = input.count - head
        return nil
    }

    struct LiteralMarker: Equatable { var size: Int; var synchronizing: Bool }

    /// `{n}` or `{n+}` at the end of a line.
    static func literalMarker(_ line: [UInt8]) throws(ManageSieveFramingError) -> LiteralMarker? {
        guard line.last == UInt8(ascii: "}") else { return nil }
        var i = line.count - 2
        var synchronizing = true
        if i >= 0, line[i] == UInt8(ascii: "+") { synchronizing = false; i -= 1 }
        let digitsEnd = i
        while i >= 0, line[i] >= 48, line[i] <= 57 { i -= 1 }
        guard i >= 0, line[i] == UInt8(ascii: "{"), digitsEnd > i else { return nil }
        let digits = line[(i + 1)...digitsEnd]
        guard digits.count <= 10 else { throw ManageSieveFramingError("literal size too large") }
        let size = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
        guard size <= Int(UInt32.max) else { throw ManageSieveFramingError("literal size too large") }
        return LiteralMarker(size: size, synchronizing: synchronizing)
    }

    /// The first word of a command, upper case, when it is a plausible verb (letters, at most 32).
    static func verb(_ bytes: [UInt8]) -> String? {
        let word = bytes.prefix { $0 != 32 && $0 != 13 && $0 != 10 }
        guard !word.isEmpty, word.count <= 32, word.allSatisfy({ ($0 | 0x20) >= 97 && ($0 | 0x20) <= 122 }) else { return nil }
        return String(decoding: word.map { $0 & ~0x20 }, as: UTF8.self)
    }
}
