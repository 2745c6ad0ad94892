/// IMAP string encoders (RFC 3501 §4.3 / RFC 9051 §4.3), byte-compatible with Dovecot's choices:
/// quoted when possible, a literal for CR, LF, 8-bit bytes or more than four quoted-specials. The
/// one string encoder: the response encoder, ENVELOPE and BODYSTRUCTURE all write through it.
/// (Free of NIO and of the rest of IMAPCore: the MIME fuzz target compiles it with MIMEParser.)
public enum IMAPString {
    /// Quoted-specials after which a string is sent as a literal (Dovecot's choice).
    public static let maxQuotedEscapes = 4

    public static func nstring(_ v: [UInt8]?, into out: inout [UInt8]) {
        guard let v else { out.append(contentsOf: nilBytes); return }
        string(v, into: &out)
    }

    public static let nilBytes: [UInt8] = Array("NIL".utf8)

    /// `utf8`: 8-bit bytes may be quoted (the session enabled UTF-8, RFC 9051 §4.3 / RFC 9755).
    public static func string(_ v: [UInt8], utf8: Bool = false, into out: inout [UInt8]) {
        var escapes = 0
        for c in v {
            switch c {
            case 34, 92:
                escapes += 1
                if escapes > maxQuotedEscapes { literal(v, into: &out); return }
            case WireByte.cr, WireByte.lf, 0:
                literal(v, into: &out); return
            default:
                if c >= 0x80 && !utf8 { literal(v, into: &out); return }
            }
        }
        out.append(34)
        for c in v {
            if c == 34 || c == 92 { out.append(92) }
            out.append(c)
        }
        out.append(34)
    }

    public static func string(_ s: String, into out: inout [UInt8]) { string(Array(s.utf8), into: &out) }

    public static func literal(_ v: [UInt8], into out: inout [UInt8]) {
        out.append(123)
        out.append(contentsOf: Array(String(v.count).utf8))
        out.append(contentsOf: [125, WireByte.cr, WireByte.lf])
        out.append(contentsOf: v)
    }

    /// nstring with WireByte.cr and WireByte.lf removed first (unfolded header values).
    public static func nstringNoLF(_ v: [UInt8]?, into out: inout [UInt8]) {
        guard let v else { out.append(contentsOf: nilBytes); return }
        string(v.filter { $0 != WireByte.cr && $0 != WireByte.lf }, into: &out)
    }

    /// A string for humans (subjects, display names): tabs become spaces, whitespace runs collapse,
    /// leading/trailing whitespace and WireByte.cr/WireByte.lf go, NUL becomes 0x80; quoted when untouched and clean,
    /// otherwise a literal.
    public static func forHumans(_ src: [UInt8], into out: inout [UInt8]) {
        var modify = false
        var lastLWSP = true
        var anyText = false
        for c in src {
            switch c {
            case 0: modify = true; lastLWSP = false
            case WireByte.tab: modify = true; lastLWSP = true
            case WireByte.sp: if lastLWSP { modify = true }; lastLWSP = true
            case WireByte.cr, WireByte.lf: modify = true
            case 34, 92: modify = true; lastLWSP = false
            default:
                if c >= 0x80 { modify = true }
                lastLWSP = false
            }
            if !lastLWSP { anyText = true }
        }
        if lastLWSP && !src.isEmpty && anyText { modify = true }
        if !modify {
            out.append(34); out.append(contentsOf: src); out.append(34); return
        }
        var v = [UInt8]()
        v.reserveCapacity(src.count)
        lastLWSP = true
        for c in src {
            switch c {
            case 0: v.append(0x80); lastLWSP = false
            case WireByte.tab, WireByte.sp: if !lastLWSP { v.append(WireByte.sp) }; lastLWSP = true
            case WireByte.cr, WireByte.lf: break
            default: v.append(c); lastLWSP = false
            }
        }
        if lastLWSP, v.last == WireByte.sp { v.removeLast() }
        if v.isEmpty { out.append(contentsOf: [34, 34]); return }
        literal(v, into: &out)
    }
}

/// The bytes the wire forms are made of.
enum WireByte {
    static let cr: UInt8 = 13
    static let lf: UInt8 = 10
    static let sp: UInt8 = 32
    static let tab: UInt8 = 9
    static let open: UInt8 = 40
    static let close: UInt8 = 41
}
