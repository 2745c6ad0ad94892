/// Dot-stuffs message bytes in pieces, so a large message goes out in bounded chunks: every line
/// ends in CRLF (a bare LF or CR becomes CRLF), a line that begins with "." gets another, and
/// `finish` ends the last line and adds the terminating ".\r\n". One rule for POP3's RETR and TOP
/// (RFC 1939 §3) and SMTP's DATA (RFC 5321 §4.5.2); `bodyLines` is TOP's count.
public struct DotStuffer: Sendable {
    /// ".\r\n": the end of a multi-line POP3 response or of SMTP DATA.
    public static let terminator: [UInt8] = [0x2E, 0x0D, 0x0A]

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
        out += DotStuffer.terminator
    }
}
