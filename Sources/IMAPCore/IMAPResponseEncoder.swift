import Foundation
import MIMEParser
import NIOCore

/// Encodes responses to their exact wire bytes (RFC 3501 §7 and §9), CRLF included. Strings become
/// atoms, quoted strings or literals as their content requires; mailbox names are modified UTF-7.
///
/// Human-readable text (after a status or response code) has CR, LF and NUL removed; when it is
/// empty nothing follows the status word or the code.
public enum IMAPResponseEncoder {
    public static func encode(_ response: IMAPResponse, into buffer: inout ByteBuffer) {
        switch response {
        case .tagged(let tag, let status, let code, let text):
            buffer.writeString(tag)
            buffer.writeString(" ")
            writeCondition(status, code, text, into: &buffer)
        case .untagged(let u):
            buffer.writeString("* ")
            writeUntagged(u, into: &buffer)
        case .continuation(let text):
            buffer.writeString("+ ")
            buffer.writeString(cleanText(text))
        }
        buffer.writeString("\r\n")
    }

    public static func encode(_ response: IMAPResponse) -> ByteBuffer {
        var b = ByteBuffer()
        encode(response, into: &b)
        return b
    }

    // MARK: conditions and codes

    static func cleanText(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" }))
    }

    private static func writeCondition(_ status: IMAPStatus, _ code: ResponseCode?, _ text: String, into b: inout ByteBuffer) {
        b.writeString(status.rawValue)
        if let code {
            b.writeString(" [")
            writeCode(code, into: &b)
            b.writeString("]")
        }
        let t = cleanText(text)
        if !t.isEmpty {
            b.writeString(" ")
            b.writeString(t)
        }
    }

    static func writeCode(_ code: ResponseCode, into b: inout ByteBuffer) {
        switch code {
        case .alert: b.writeString("ALERT")
        case .parse: b.writeString("PARSE")
        case .readOnly: b.writeString("READ-ONLY")
        case .readWrite: b.writeString("READ-WRITE")
        case .tryCreate: b.writeString("TRYCREATE")
        case .uidNotSticky: b.writeString("UIDNOTSTICKY")
        case .closed: b.writeString("CLOSED")
        case .badCharset(let charsets):
            b.writeString("BADCHARSET")
            if !charsets.isEmpty {
                b.writeString(" (")
                for (i, c) in charsets.enumerated() {
                    if i > 0 { b.writeString(" ") }
                    writeAString(c, into: &b)
                }
                b.writeString(")")
            }
        case .capability(let caps):
            b.writeString("CAPABILITY")
            for c in caps { b.writeString(" "); b.writeString(atomSafe(c)) }
        case .permanentFlags(let flags):
            b.writeString("PERMANENTFLAGS ")
            writeFlags(flags, into: &b)
        case .uidNext(let n): b.writeString("UIDNEXT \(n)")
        case .uidValidity(let n): b.writeString("UIDVALIDITY \(n)")
        case .unseen(let n): b.writeString("UNSEEN \(n)")
        case .highestModSeq(let n): b.writeString("HIGHESTMODSEQ \(n)")
        case .noModSeq: b.writeString("NOMODSEQ")
        case .appendUID(let v, let uid): b.writeString("APPENDUID \(v) \(uid)")
        case .copyUID(let v, let source, let destination):
            b.writeString("COPYUID \(v) \(atomSafe(source)) \(atomSafe(destination))")
        case .modified(let set): b.writeString("MODIFIED \(atomSafe(set))")
        case .unavailable: b.writeString("UNAVAILABLE")
        case .authenticationFailed: b.writeString("AUTHENTICATIONFAILED")
        case .authorizationFailed: b.writeString("AUTHORIZATIONFAILED")
        case .expired: b.writeString("EXPIRED")
        case .privacyRequired: b.writeString("PRIVACYREQUIRED")
        case .contactAdmin: b.writeString("CONTACTADMIN")
        case .noPerm: b.writeString("NOPERM")
        case .inUse: b.writeString("INUSE")
        case .expungeIssued: b.writeString("EXPUNGEISSUED")
        case .corruption: b.writeString("CORRUPTION")
        case .serverBug: b.writeString("SERVERBUG")
        case .clientBug: b.writeString("CLIENTBUG")
        case .cannot: b.writeString("CANNOT")
        case .limit: b.writeString("LIMIT")
        case .overQuota: b.writeString("OVERQUOTA")
        case .alreadyExists: b.writeString("ALREADYEXISTS")
        case .nonExistent: b.writeString("NONEXISTENT")
        case .tooBig: b.writeString("TOOBIG")
        case .appendLimit(let n): b.writeString("APPENDLIMIT \(n)")
        case .other(let text):
            // resp-text-code = atom [SP 1*<any TEXT-CHAR except "]">]
            let cleaned = cleanText(text).replacingOccurrences(of: "]", with: "")
            b.writeString(cleaned.isEmpty ? "X" : cleaned)
        }
    }

    /// Text that is meant to be an atom (capabilities, preformatted sets): anything that would break
    /// the line or the brackets is dropped.
    static func atomSafe(_ s: String) -> String {
        guard s.utf8.contains(where: { !IMAPChar.isAtomChar($0) }) else { return s }
        return String(decoding: s.utf8.filter { IMAPChar.isAtomChar($0) || $0 == 0x2A || $0 == 0x25 }, as: UTF8.self)
    }

    // MARK: untagged

    private static func writeUntagged(_ u: UntaggedResponse, into b: inout ByteBuffer) {
        switch u {
        case .condition(let status, let code, let text):
            writeCondition(status, code, text, into: &b)
        case .capability(let caps):
            b.writeString("CAPABILITY")
            for c in caps { b.writeString(" "); b.writeString(atomSafe(c)) }
        case .enabled(let caps):
            b.writeString("ENABLED")
            for c in caps { b.writeString(" "); b.writeString(atomSafe(c)) }
        case .list(let attributes, let delimiter, let mailbox, let lsub, let childInfoSubscribed):
            b.writeString(lsub ? "LSUB (" : "LIST (")
            b.writeString(attributes.map(atomSafeFlag).joined(separator: " "))
            b.writeString(") ")
            if let delimiter { writeQuoted(Array(String(delimiter).utf8), into: &b) } else { b.writeString("NIL") }
            b.writeString(" ")
            writeMailbox(mailbox, into: &b)
            if childInfoSubscribed { b.writeString(" (\"CHILDINFO\" (\"SUBSCRIBED\"))") }
        case .status(let mailbox, let items):
            b.writeString("STATUS ")
            writeMailbox(mailbox, into: &b)
            b.writeString(" (")
            b.writeString(items.map { "\($0.attribute.rawValue) \($0.value)" }.joined(separator: " "))
            b.writeString(")")
        case .search(let numbers, let modSeq):
            b.writeString("SEARCH")
            for n in numbers { b.writeString(" \(n)") }
            if let modSeq, !numbers.isEmpty { b.writeString(" (MODSEQ \(modSeq))") }
        case .esearch(let tag, let uid, let items):
            b.writeString("ESEARCH")
            if !tag.isEmpty {
                b.writeString(" (TAG ")
                writeString(tag, into: &b)
                b.writeString(")")
            }
            if uid { b.writeString(" UID") }
            for (name, value) in items {
                b.writeString(" ")
                b.writeString(atomSafe(name))
                b.writeString(" ")
                b.writeString(atomSafe(value))
            }
        case .flags(let flags):
            b.writeString("FLAGS ")
            writeFlags(flags, into: &b)
        case .exists(let n): b.writeString("\(n) EXISTS")
        case .recent(let n): b.writeString("\(n) RECENT")
        case .expunge(let n): b.writeString("\(n) EXPUNGE")
        case .vanished(let earlier, let uids):
            b.writeString(earlier ? "VANISHED (EARLIER) " : "VANISHED ")
            b.writeString(atomSafe(uids))
        case .fetch(let sequenceNumber, let items):
            b.writeString("\(sequenceNumber) FETCH (")
            for (i, item) in items.enumerated() {
                if i > 0 { b.writeString(" ") }
                writeFetchItem(item, into: &b)
            }
            b.writeString(")")
        case .namespace(let prefix, let delimiter):
            b.writeString("NAMESPACE ((")
            writeString(ModifiedUTF7.encode(prefix), into: &b)
            b.writeString(" ")
            writeQuoted(Array(String(delimiter).utf8), into: &b)
            b.writeString(")) NIL NIL")
        case .id(let fields):
            b.writeString("ID ")
            guard let fields, !fields.isEmpty else { b.writeString("NIL"); return }
            b.writeString("(")
            for (i, f) in fields.enumerated() {
                if i > 0 { b.writeString(" ") }
                writeString(f.key, into: &b)
                b.writeString(" ")
                if let v = f.value { writeString(v, into: &b) } else { b.writeString("NIL") }
            }
            b.writeString(")")
        case .quota(let root, let resources):
            b.writeString("QUOTA ")
            writeAString(root, into: &b)
            b.writeString(" (")
            b.writeString(resources.map { "\(atomSafe($0.name)) \($0.usage) \($0.limit)" }.joined(separator: " "))
            b.writeString(")")
        case .quotaRoot(let mailbox, let roots):
            b.writeString("QUOTAROOT ")
            writeMailbox(mailbox, into: &b)
            for r in roots { b.writeString(" "); writeAString(r, into: &b) }
        }
    }

    /// A mailbox attribute such as `\HasNoChildren`: backslash plus atom.
    private static func atomSafeFlag(_ s: String) -> String {
        if s.hasPrefix("\\") { return "\\" + atomSafe(String(s.dropFirst())) }
        return atomSafe(s)
    }

    // MARK: FETCH

    private static func writeFetchItem(_ item: FetchResponseItem, into b: inout ByteBuffer) {
        switch item {
        case .uid(let n): b.writeString("UID \(n)")
        case .flags(let flags):
            b.writeString("FLAGS ")
            writeFlags(flags, into: &b)
        case .internalDate(let date):
            b.writeString("INTERNALDATE \"")
            b.writeString(internalDateString(date))
            b.writeString("\"")
        case .rfc822Size(let n): b.writeString("RFC822.SIZE \(n)")
        case .envelope(let bytes):
            b.writeString("ENVELOPE ")
            b.writeBytes(bytes)
        case .body(let bytes):
            b.writeString("BODY ")
            b.writeBytes(bytes)
        case .bodyStructure(let bytes):
            b.writeString("BODYSTRUCTURE ")
            b.writeBytes(bytes)
        case .section(let name, let origin, let data, let literal8):
            b.writeString(name)
            if let origin { b.writeString("<\(origin)>") }
            b.writeString(" ")
            if let data {
                b.writeString(literal8 ? "~{\(data.count)}\r\n" : "{\(data.count)}\r\n")
                b.writeBytes(data)
            } else {
                b.writeString("NIL")
            }
        case .binarySize(let part, let size):
            b.writeString("BINARY.SIZE[\(part.map(String.init).joined(separator: "."))] \(size)")
        case .modSeq(let n): b.writeString("MODSEQ (\(n))")
        }
    }

    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `17-Jul-1996 02:44:25 +0000` (UTC).
    static func internalDateString(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        let seconds = t.isFinite ? Int(max(-62_135_596_800, min(253_402_300_799, t.rounded(.down)))) : 0
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let year = String(repeating: "0", count: max(0, 4 - String(y).count)) + String(y)
        return "\(two(d))-\(monthNames[m - 1])-\(year) \(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60)) +0000"
    }

    /// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    // MARK: strings

    static func writeFlags(_ flags: [IMAPFlag], into b: inout ByteBuffer) {
        b.writeString("(")
        b.writeString(flags.map { atomSafeFlag($0.wire) }.joined(separator: " "))
        b.writeString(")")
    }

    /// A mailbox name: modified UTF-7, then an astring (`INBOX` stays INBOX).
    static func writeMailbox(_ name: String, into b: inout ByteBuffer) {
        if name.utf8.count == 5, name.uppercased() == "INBOX" { b.writeString("INBOX"); return }
        writeAString(ModifiedUTF7.encode(name), into: &b)
    }

    /// An astring: atom when every byte is an ASTRING-CHAR, else a string.
    static func writeAString(_ s: String, into b: inout ByteBuffer) {
        let u = s.utf8
        if !u.isEmpty, u.allSatisfy(IMAPChar.isAstringChar), s.uppercased() != "NIL" {
            b.writeString(s)
        } else {
            writeString(s, into: &b)
        }
    }

    /// A string: quoted when short and free of CR, LF, NUL and 8-bit bytes, else a literal.
    static func writeString(_ s: String, into b: inout ByteBuffer) {
        let bytes = Array(s.utf8)
        if bytes.count < 1024, !bytes.contains(where: { $0 == 0 || $0 == 0x0D || $0 == 0x0A || $0 >= 0x80 }) {
            writeQuoted(bytes, into: &b)
        } else {
            b.writeString("{\(bytes.count)}\r\n")
            b.writeBytes(bytes)
        }
    }

    static func writeQuoted(_ bytes: [UInt8], into b: inout ByteBuffer) {
        b.writeInteger(IMAPChar.dquote)
        for c in bytes {
            if c == IMAPChar.dquote || c == IMAPChar.backslash { b.writeInteger(IMAPChar.backslash) }
            b.writeInteger(c)
        }
        b.writeInteger(IMAPChar.dquote)
    }
}

extension FetchAttribute {
    /// The name a FETCH response uses for this item's data: `BODY[HEADER.FIELDS (FROM TO)]`
    /// (no `<partial>`: the origin goes in `FetchResponseItem.section`), `BINARY[1.2]`, `RFC822.HEADER`.
    /// Header field names are upper-cased (as Dovecot does) and quoted when they are not atoms.
    public var responseName: String {
        switch self {
        case .envelope: return "ENVELOPE"
        case .flags: return "FLAGS"
        case .internalDate: return "INTERNALDATE"
        case .rfc822Size: return "RFC822.SIZE"
        case .uid: return "UID"
        case .body: return "BODY"
        case .bodyStructure: return "BODYSTRUCTURE"
        case .rfc822: return "RFC822"
        case .rfc822Header: return "RFC822.HEADER"
        case .rfc822Text: return "RFC822.TEXT"
        case .modSeq: return "MODSEQ"
        case .bodySection(let section, _, _):
            return "BODY[" + Self.sectionText(section) + "]"
        case .binary(let part, _, _):
            return "BINARY[" + part.map(String.init).joined(separator: ".") + "]"
        case .binarySize(let part):
            return "BINARY.SIZE[" + part.map(String.init).joined(separator: ".") + "]"
        }
    }

    static func sectionText(_ section: IMAPSection) -> String {
        var s = section.part.map(String.init).joined(separator: ".")
        func fields(_ names: [String]) -> String {
            "(" + names.map { name -> String in
                let upper = name.uppercased()
                if !upper.isEmpty, upper.utf8.allSatisfy(IMAPChar.isAstringChar) { return upper }
                var b = ByteBuffer()
                IMAPResponseEncoder.writeString(upper, into: &b)
                return String(buffer: b)
            }.joined(separator: " ") + ")"
        }
        let suffix: String
        switch section.kind {
        case .full: suffix = ""
        case .header: suffix = "HEADER"
        case .text: suffix = "TEXT"
        case .mime: suffix = "MIME"
        case .headerFields(let n): suffix = "HEADER.FIELDS " + fields(n)
        case .headerFieldsNot(let n): suffix = "HEADER.FIELDS.NOT " + fields(n)
        }
        if !suffix.isEmpty && !s.isEmpty { s += "." }
        return s + suffix
    }
}
