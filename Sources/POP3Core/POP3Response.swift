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
