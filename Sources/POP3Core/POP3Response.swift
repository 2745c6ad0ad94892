/// POP3 replies: status lines with RFC 2449 / RFC 3206 response codes, and multi-line bodies
/// with dot-stuffing (RFC 1939 §3).
public enum POP3Response {
    /// Extended response codes (RFC 2449 §8, RFC 3206).
    public enum Code: String, Sendable {
        case inUse = "IN-USE"
        case loginDelay = "LOGIN-DELAY"
        case sysTemp = "SYS/TEMP"
        case sysPerm = "SYS/PERM"
        case auth = "AUTH"
    }

    /// `+OK text\r\n`
    public static func ok(_ text: String, into out: inout [UInt8]) {
        out += Array("+OK".utf8)
        if !text.isEmpty { out.append(0x20); out += sanitized(text) }
        out += [0x0D, 0x0A]
    }

    /// `-ERR [CODE] text\r\n`
    public static func err(_ text: String, code: Code? = nil, into out: inout [UInt8]) {
        out += Array("-ERR".utf8)
        if let code { out += Array(" [\(code.rawValue)]".utf8) }
        if !text.isEmpty { out.append(0x20); out += sanitized(text) }
        out += [0x0D, 0x0A]
    }

    /// `+ challenge\r\n` (a SASL continuation; RFC 5034 §4).
    public static func continuation(_ base64: String, into out: inout [UInt8]) {
        out += Array("+ \(base64)\r\n".utf8)
    }

    /// Lines of a multi-line body, each dot-stuffed, then the terminating `.` line.
    public static func lines(_ lines: [String], into out: inout [UInt8]) {
        for line in lines {
            let bytes = sanitized(line)
            if bytes.first == 0x2E { out.append(0x2E) }
            out += bytes
            out += [0x0D, 0x0A]
        }
        out += terminator
    }

    public static let terminator: [UInt8] = [0x2E, 0x0D, 0x0A]

    /// No CR or LF can reach the client inside a status line or a listing line.
    static func sanitized(_ text: String) -> [UInt8] {
        Array(text.utf8).map { $0 == 0x0D || $0 == 0x0A ? 0x20 : $0 }
    }
}

/// Dot-stuffs message bytes for RETR / TOP (RFC 1939 §3) in pieces, so a large message goes out
/// in bounded chunks: every line ends in CRLF (a bare LF or CR becomes CRLF), a line that begins
/// with "." gets another, and `finish` ends the last line and adds the terminating ".\r\n".
public struct POP3DotStuffer: Sendable {
    private var atLineStart = true
    private var pendingCR = false
    /// Stop after this many body lines (TOP); nil for the whole message.
    private var bodyLinesLeft: Int?
    private var inBody = false
    private var lineIsEmpty = true
    public private(set) var isComplete = false

    /// `bodyLines`: for TOP, how many lines of the body follow the header (nil: everything).
    public init(bodyLines: Int? = nil) { self.bodyLinesLeft = bodyLines }

    /// Appends the stuffed form of `bytes` to `out`; stops consuming once TOP's count is reached.
    public mutating func feed(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { feed($0, into: &out) }
    }

    /// Runs of ordinary bytes are copied whole; only CR, LF and a line's first byte are looked at
    /// one by one (non-generic, so it is fast across module boundaries).
    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        let n = bytes.count
        out.reserveCapacity(out.count + n + n / 16 + 8)
        var i = 0
        while i < n {
            if isComplete { return }
            let byte = bytes[i]
            if pendingCR {
                pendingCR = false
                endLine(into: &out)
                if byte == 0x0A { i += 1; continue }
                if isComplete { return }
            }
            if byte == 0x0D { pendingCR = true; i += 1; continue }
            if byte == 0x0A { endLine(into: &out); i += 1; continue }
            if atLineStart {
                if byte == 0x2E { out.append(0x2E) }
                atLineStart = false
            }
            lineIsEmpty = false
            var j = i + 1
            while j < n, bytes[j] != 0x0D, bytes[j] != 0x0A { j += 1 }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<j]))
            i = j
        }
    }

    private mutating func endLine(into out: inout [UInt8]) {
        out += [0x0D, 0x0A]
        atLineStart = true
        if inBody {
            if let left = bodyLinesLeft {
                bodyLinesLeft = left - 1
                if left - 1 <= 0 { isComplete = true }
            }
        } else if lineIsEmpty {
            // The blank line that ends the header; TOP n 0 stops here.
            inBody = true
            if let left = bodyLinesLeft, left <= 0 { isComplete = true }
        }
        lineIsEmpty = true
    }

    /// Ends an unterminated last line and appends ".\r\n".
    public mutating func finish(into out: inout [UInt8]) {
        if pendingCR { pendingCR = false; out += [0x0D, 0x0A]; atLineStart = true }
        if !atLineStart && !isComplete { out += [0x0D, 0x0A] }
        isComplete = true
        out += POP3Response.terminator
    }
}
