import Foundation
import MIMEParser
import NIOCore

/// Encodes responses to their exact wire bytes (RFC 3501 §7 and §9), CRLF included. Strings become
/// atoms, quoted strings or literals as their content requires; mailbox names are modified UTF-7,
/// or UTF-8 when `utf8Names` (a session with UTF8=ACCEPT or IMAP4rev2 enabled).
public enum IMAPResponseEncoder {
    public static func encode(_ response: IMAPResponse, into buffer: inout ByteBuffer, utf8Names: Bool = false) {
        switch response {
        case .tagged(let tag, let status, let code, let text):
            buffer.writeString(tag)
            buffer.writeString(" ")
            writeCondition(status, code, text, into: &buffer)
        case .continuation(let text):
            buffer.writeString("+ ")
            buffer.writeString(clean(text))
        case .untagged(let u):
            buffer.writeString("* ")
            writeUntagged(u, into: &buffer, utf8Names: utf8Names)
        }
        buffer.writeString("\r\n")
    }

    /// A FETCH response with one literal streamed by the caller (a large BODY[]): this writes
    /// `* n FETCH (`, the items before the literal and its announcement (`BODY[] {size}` CRLF);
    /// the caller then writes exactly `size` bytes and `encodeFetchClosing` the rest.
    public static func encodeFetchOpening(sequenceNumber: UInt32, before: [FetchResponseItem], literalName: String, size: Int,
                                          into b: inout ByteBuffer) {
        b.writeString("* \(sequenceNumber) FETCH (")
        for item in before {
            writeFetchItem(item, into: &b)
            b.writeString(" ")
        }
        b.writeString("\(literalName) {\(size)}\r\n")
    }

    /// The items after a streamed literal, the closing parenthesis and CRLF.
    public static func encodeFetchClosing(after: [FetchResponseItem], into b: inout ByteBuffer) {
        for item in after {
            b.writeString(" ")
            writeFetchItem(item, into: &b)
        }
        b.writeString(")\r\n")
    }

    public static func encode(_ response: IMAPResponse) -> ByteBuffer {
        var b = ByteBuffer()
        encode(response, into: &b)
        return b
    }

    /// Text without CR, LF or NUL (a response line must not be split by the text it carries).
    static func clean(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else { return text }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" })
        return String(scalars)
    }

    static func writeCondition(_ status: IMAPStatus, _ code: ResponseCode?, _ text: String, into b: inout ByteBuffer) {
        b.writeString(status.rawValue)
        if let code {
            b.writeString(" [")
            writeCode(code, into: &b)
            b.writeString("]")
        }
        b.writeString(" ")
        b.writeString(clean(text.isEmpty ? "OK" : text))
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
        case .badCharset(let sets):
            b.writeString("BADCHARSET")
            if !sets.isEmpty { b.writeString(" (" + sets.map(astring).joined(separator: " ") + ")") }
        case .capability(let caps): b.writeString("CAPABILITY " + caps.joined(separator: " "))
        case .permanentFlags(let flags): b.writeString("PERMANENTFLAGS (" + flags.map(\.wire).joined(separator: " ") + ")")
        case .uidNext(let n): b.writeString("UIDNEXT \(n)")
        case .uidValidity(let n): b.writeString("UIDVALIDITY \(n)")
        case .unseen(let n): b.writeString("UNSEEN \(n)")
        case .highestModSeq(let n): b.writeString("HIGHESTMODSEQ \(n)")
        case .noModSeq: b.writeString("NOMODSEQ")
        case .appendUID(let v, let uid): b.writeString("APPENDUID \(v) \(uid)")
        case .appendUIDs(let v, let uids): b.writeString("APPENDUID \(v) \(uids)")
        case .copyUID(let v, let source, let destination): b.writeString("COPYUID \(v) \(source) \(destination)")
        case .modified(let set): b.writeString("MODIFIED \(set)")
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
        case .compressionActive: b.writeString("COMPRESSIONACTIVE")
        case .tooBig: b.writeString("TOOBIG")
        case .appendLimit(let n): b.writeString("APPENDLIMIT \(n)")
        case .mailboxID(let id): b.writeString("MAILBOXID (\(id))")
        case .other(let text): b.writeString(clean(text).replacingOccurrences(of: "]", with: ""))
        }
    }

    static func writeUntagged(_ u: UntaggedResponse, into b: inout ByteBuffer, utf8Names: Bool = false) {
        switch u {
        case .condition(let status, let code, let text):
            writeCondition(status, code, text, into: &b)
        case .capability(let caps):
            b.writeString("CAPABILITY " + caps.joined(separator: " "))
        case .enabled(let caps):
            b.writeString("ENABLED" + caps.map { " " + $0 }.joined())
        case .list(let attributes, let delimiter, let mailbox, let lsub, let childInfo):
            b.writeString(lsub ? "LSUB (" : "LIST (")
            b.writeString(attributes.joined(separator: " "))
            b.writeString(") ")
            if let delimiter { b.writeString(quoted(String(delimiter))) } else { b.writeString("NIL") }
            b.writeString(" ")
            writeMailbox(mailbox, utf8: utf8Names, into: &b)
            if childInfo { b.writeString(" (\"CHILDINFO\" (\"SUBSCRIBED\"))") }
        case .status(let mailbox, let items):
            b.writeString("STATUS ")
            writeMailbox(mailbox, utf8: utf8Names, into: &b)
            b.writeString(" (" + items.map { "\($0.attribute.rawValue) \($0.text ?? String($0.value))" }.joined(separator: " ") + ")")
        case .search(let numbers, let modseq):
            b.writeString("SEARCH")
            for n in numbers { b.writeString(" \(n)") }
            if let modseq { b.writeString(" (MODSEQ \(modseq))") }
        case .sort(let numbers, let modseq):
            b.writeString("SORT")
            for n in numbers { b.writeString(" \(n)") }
            if let modseq { b.writeString(" (MODSEQ \(modseq))") }
        case .thread(let forest):
            b.writeString("THREAD")
            if !forest.roots.isEmpty { b.writeString(" "); writeThreads(forest, into: &b) }
        case .esearch(let tag, let uid, let items):
            b.writeString(tag.isEmpty ? "ESEARCH" : "ESEARCH (TAG " + quoted(tag) + ")")
            if uid { b.writeString(" UID") }
            for (name, value) in items { b.writeString(" \(name) \(value)") }
        case .flags(let flags):
            b.writeString("FLAGS (" + flags.map(\.wire).joined(separator: " ") + ")")
        case .exists(let n): b.writeString("\(n) EXISTS")
        case .recent(let n): b.writeString("\(n) RECENT")
        case .expunge(let n): b.writeString("\(n) EXPUNGE")
        case .vanished(let earlier, let uids): b.writeString(earlier ? "VANISHED (EARLIER) \(uids)" : "VANISHED \(uids)")
        case .fetch(let seq, let items):
            b.writeString("\(seq) FETCH (")
            for (i, item) in items.enumerated() {
                if i > 0 { b.writeString(" ") }
                writeFetchItem(item, into: &b)
            }
            b.writeString(")")
        case .namespace(let prefix, let delimiter):
            b.writeString("NAMESPACE ((" + quoted(prefix) + " " + quoted(String(delimiter)) + ")) NIL NIL")
        case .id(let fields):
            guard let fields, !fields.isEmpty else { b.writeString("ID NIL"); return }
            b.writeString("ID (")
            for (i, field) in fields.enumerated() {
                if i > 0 { b.writeString(" ") }
                writeString(field.key, into: &b)
                b.writeString(" ")
                if let value = field.value { writeString(value, into: &b) } else { b.writeString("NIL") }
            }
            b.writeString(")")
        case .quota(let root, let resources):
            b.writeString("QUOTA " + astring(root) + " (" + resources.map { "\($0.name) \($0.usage) \($0.limit)" }.joined(separator: " ") + ")")
        case .quotaRoot(let mailbox, let roots):
            b.writeString("QUOTAROOT ")
            writeMailbox(mailbox, utf8: utf8Names, into: &b)
            for root in roots { b.writeString(" " + astring(root)) }
        }
    }

    static func writeFetchItem(_ item: FetchResponseItem, into b: inout ByteBuffer) {
        switch item {
        case .uid(let uid): b.writeString("UID \(uid)")
        case .flags(let flags): b.writeString("FLAGS (" + flags.map(\.wire).joined(separator: " ") + ")")
        case .internalDate(let date): b.writeString("INTERNALDATE \"" + internalDate(date) + "\"")
        case .rfc822Size(let n): b.writeString("RFC822.SIZE \(n)")
        case .envelope(let bytes): b.writeString("ENVELOPE "); b.writeBytes(bytes)
        case .body(let bytes): b.writeString("BODY "); b.writeBytes(bytes)
        case .bodyStructure(let bytes): b.writeString("BODYSTRUCTURE "); b.writeBytes(bytes)
        case .section(let name, let origin, let data, let literal8):
            b.writeString(name)
            if let origin { b.writeString("<\(origin)>") }
            b.writeString(" ")
            guard let data else { b.writeString("NIL"); return }
            b.writeString(literal8 ? "~{\(data.count)}\r\n" : "{\(data.count)}\r\n")
            b.writeBytes(data)
        case .binarySize(let part, let size):
            b.writeString("BINARY.SIZE[" + part.map(String.init).joined(separator: ".") + "] \(size)")
        case .modSeq(let n): b.writeString("MODSEQ (\(n))")
        case .saveDate(let date): b.writeString("SAVEDATE " + (date.map { "\"" + internalDate($0) + "\"" } ?? "NIL"))
        case .emailID(let id): b.writeString("EMAILID (\(id))")
        case .threadID(let id): b.writeString("THREADID " + (id.map { "(\($0))" } ?? "NIL"))
        case .preview(let text):
            b.writeString("PREVIEW ")
            if let text { writeString(text, into: &b) } else { b.writeString("NIL") }
        }
    }

    static func writeMailbox(_ name: String, utf8: Bool = false, into b: inout ByteBuffer) {
        if name.uppercased() == "INBOX" { b.writeString("INBOX"); return }
        guard utf8 else { writeAString(ModifiedUTF7.encode(name), into: &b); return }
        // UTF-8 as it is: an atom when it can be, else quoted (8-bit allowed in a quoted string
        // once UTF-8 is on, RFC 9051 §4.3), a literal for what cannot be quoted.
        if !name.isEmpty, name.uppercased() != "NIL", name.utf8.allSatisfy(IMAPGrammar.isAStringChar) { b.writeString(name); return }
        var out: [UInt8] = []
        IMAPString.string(Array(name.utf8), utf8: true, into: &out)
        b.writeBytes(out)
    }

    /// astring on the wire: atom when possible, else quoted, else literal.
    static func writeAString(_ s: String, into b: inout ByteBuffer) {
        if !s.isEmpty, s.uppercased() != "NIL", s.utf8.allSatisfy(IMAPGrammar.isAStringChar) { b.writeString(s); return }
        writeString(s, into: &b)
    }

    /// A string: quoted when it can be, else a literal (IMAPString, the one encoder);
    /// from 1 KiB on always a literal, so no response line grows long on a client.
    static func writeString(_ s: String, into b: inout ByteBuffer) {
        var out: [UInt8] = []
        if s.utf8.count >= 1024 { IMAPString.literal(Array(s.utf8), into: &out) } else { IMAPString.string(s, into: &out) }
        b.writeBytes(out)
    }

    static func astring(_ s: String) -> String {
        var b = ByteBuffer()
        writeAString(s, into: &b)
        return String(buffer: b)
    }

    /// A short string (a delimiter, a tag, a namespace prefix) in its wire form.
    static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        IMAPString.string(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `17-Jul-1996 02:44:25 +0000` (UTC).
    static func internalDate(_ date: Date) -> String {
        let t = Int(date.timeIntervalSince1970.rounded(.down))
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let secs = t - days * 86400
        let (y, m, d) = CivilDate.date(daysSinceEpoch: days)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(d))-\(monthNames[m - 1])-\(y) \(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60)) +0000"
    }
}

/// Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).
public enum ModifiedUTF7 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    public static func encode(_ name: String) -> String {
        var out = ""
        var pending: [UInt16] = []
        func flush() {
            guard !pending.isEmpty else { return }
            var bytes: [UInt8] = []
            for u in pending { bytes.append(UInt8(u >> 8)); bytes.append(UInt8(u & 0xff)) }
            out += "&"
            var i = 0
            while i < bytes.count {
                let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
                let n = bytes.count - i
                out.unicodeScalars.append(UnicodeScalar(alphabet[Int(b0 >> 2)]))
                out.unicodeScalars.append(UnicodeScalar(alphabet[Int((b0 & 3) << 4 | b1 >> 4)]))
                if n > 1 { out.unicodeScalars.append(UnicodeScalar(alphabet[Int((b1 & 15) << 2 | b2 >> 6)])) }
                if n > 2 { out.unicodeScalars.append(UnicodeScalar(alphabet[Int(b2 & 63)])) }
                i += 3
            }
            out += "-"
            pending = []
        }
        for scalar in name.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value <= 0x7e {
                flush()
                out += scalar == "&" ? "&-" : String(scalar)
            } else {
                pending.append(contentsOf: String(scalar).utf16)
            }
        }
        flush()
        return out
    }

    /// nil when `wire` is not valid modified UTF-7.
    public static func decode(_ wire: String) -> String? {
        guard wire.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7e }) else { return nil }
        guard wire.contains("&") else { return wire }
        var out = ""
        let chars = Array(wire.utf8)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c >= 0x20 && c <= 0x7e else { return nil }
            if c != UInt8(ascii: "&") { out.unicodeScalars.append(UnicodeScalar(c)); i += 1; continue }
            guard let end = chars[(i + 1)...].firstIndex(of: UInt8(ascii: "-")) else { return nil }
            if end == i + 1 { out += "&"; i = end + 1; continue }
            var bits = 0, value = 0
            var bytes: [UInt8] = []
            for ch in chars[(i + 1)..<end] {
                guard let v = alphabet.firstIndex(of: ch) else { return nil }
                value = (value << 6) | v
                bits += 6
                if bits >= 8 { bits -= 8; bytes.append(UInt8((value >> bits) & 0xff)) }
            }
            guard bytes.count % 2 == 0, bits < 6, value & ((1 << bits) - 1) == 0 else { return nil }
            var units: [UInt16] = []
            for k in stride(from: 0, to: bytes.count, by: 2) { units.append(UInt16(bytes[k]) << 8 | UInt16(bytes[k + 1])) }
            guard let s = String(validating: units, as: UTF16.self) else { return nil }
            // A shifted run of printable ASCII is not the canonical form.
            if s.unicodeScalars.contains(where: { $0.value >= 0x20 && $0.value <= 0x7e }) { return nil }
            out += s
            i = end + 1
        }
        return out
    }
}

extension FetchAttribute {
    /// The name a FETCH response uses for this item's data: `BODY[HEADER.FIELDS (FROM TO)]`
    /// (no `<partial>`: the origin goes in `FetchResponseItem.section`), `BINARY[1.2]`, `RFC822.HEADER`.
    public var responseName: String {
        switch self {
        case .envelope: "ENVELOPE"
        case .flags: "FLAGS"
        case .internalDate: "INTERNALDATE"
        case .rfc822Size: "RFC822.SIZE"
        case .uid: "UID"
        case .body: "BODY"
        case .bodyStructure: "BODYSTRUCTURE"
        case .rfc822: "RFC822"
        case .rfc822Header: "RFC822.HEADER"
        case .rfc822Text: "RFC822.TEXT"
        case .modSeq: "MODSEQ"
        case .saveDate: "SAVEDATE"
        case .emailID: "EMAILID"
        case .threadID: "THREADID"
        case .preview: "PREVIEW"
        case .bodySection(let section, _, _): "BODY[" + Self.sectionText(section) + "]"
        case .binary(let part, _, _): "BINARY[" + part.map(String.init).joined(separator: ".") + "]"
        case .binarySize(let part): "BINARY.SIZE[" + part.map(String.init).joined(separator: ".") + "]"
        }
    }

    static func sectionText(_ s: IMAPSection) -> String {
        let part = s.part.map(String.init).joined(separator: ".")
        let text: String
        switch s.kind {
        case .full: return part
        case .header: text = "HEADER"
        case .text: text = "TEXT"
        case .mime: text = "MIME"
        case .headerFields(let names): text = "HEADER.FIELDS (" + names.map { IMAPResponseEncoder.astring($0.uppercased()) }.joined(separator: " ") + ")"
        case .headerFieldsNot(let names): text = "HEADER.FIELDS.NOT (" + names.map { IMAPResponseEncoder.astring($0.uppercased()) }.joined(separator: " ") + ")"
        }
        return part.isEmpty ? text : part + "." + text
    }
}
