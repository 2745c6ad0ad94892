import Foundation
import MIMEParser

/// Whether and how to answer a `vacation` action (RFC 5230 §4, RFC 3834).
public enum SieveVacationDecision: Sendable, Hashable {
    case send(SieveVacationReply)
    /// Why no reply goes out (for the log: a rule name, never an address).
    case suppress(reason: String)
}

/// A vacation reply ready for the outbound queue.
public struct SieveVacationReply: Sendable, Hashable {
    /// The envelope recipient: the original message's envelope sender.
    public var to: String
    /// The reply's envelope sender: "" (null return path, RFC 5230 §5.1 recommends it).
    public var returnPath: String
    /// The whole reply, CRLF line ends, headers included (`Auto-Submitted: auto-replied`,
    /// `In-Reply-To`, `References`, `Subject`, `From`, `To`, `Date`, `Message-ID`, MIME).
    public var message: [UInt8]
    /// What the "already answered" memory keys this reply on (sender + handle), unhashed: the
    /// host hashes it with its own key. Remembered for `periodSeconds`.
    public var memoryKey: String
    public var periodSeconds: Int

    public init(to: String, returnPath: String = "", message: [UInt8], memoryKey: String, periodSeconds: Int) {
        self.to = to; self.returnPath = returnPath; self.message = message; self.memoryKey = memoryKey; self.periodSeconds = periodSeconds
    }
}

/// The vacation responder (RFC 5230 §4–§5, RFC 3834 §2–§3): pure, from the action, the message
/// and the envelope to a decision. The host does the rest: it checks its "already answered"
/// memory for `SieveVacationReply.memoryKey`, queues the reply with a null return path, and
/// remembers it for `periodSeconds`.
///
/// A reply is never sent (the order the rules are checked in, each a `suppress` reason):
/// - `null-sender`: the envelope sender is `<>` (RFC 5230 §4.5);
/// - `own-address`: the sender is one of the user's addresses;
/// - `system-sender`: MAILER-DAEMON, LISTSERV, majordomo, `owner-*`, `*-request` (RFC 3834 §2);
/// - `auto-submitted`: an `Auto-Submitted` field other than `no` (RFC 3834 §5);
/// - `precedence`: `Precedence: bulk`, `list` or `junk`;
/// - `mailing-list`: any `List-*` field (RFC 2369, RFC 2919);
/// - `suppressed`: `X-Auto-Response-Suppress` with `All` or `OOF` (Microsoft's convention);
/// - `not-addressed`: none of the user's addresses (the alias, `:addresses`, the envelope
///   recipient, plus-addressed forms of them) is in To, Cc, Bcc, Resent-To, Resent-Cc or Resent-Bcc.
public enum SieveVacationResponder {
    /// Headers whose presence marks a mailing list's message (RFC 2369 and RFC 2919).
    static let listFieldPrefix = "list-"
    static let addressedFields = ["to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"]
    /// Longest subject written (characters), as Pigeonhole's 256.
    static let maxSubjectCharacters = 256

    /// Decides and, when a reply goes, writes it.
    /// - `userAddresses`: the alias's own address(es); the envelope recipient and `:addresses`
    ///   are added here.
    /// - `hostname`: the right-hand side of the reply's Message-ID.
    /// - `messageID`: the reply's Message-ID without brackets (nil: a random one at `hostname`).
    public static func decide(_ vacation: SieveVacation, message: [UInt8], envelope: SieveEnvelope, userAddresses: [String],
                              now: Date, hostname: String, messageID: String? = nil) -> SieveVacationDecision {
        let sender = envelope.from.trimmingCharacters(in: CharacterSet(charactersIn: "<> "))
        if sender.isEmpty { return .suppress(reason: "null-sender") }
        let mine = (userAddresses + [envelope.to] + vacation.addresses).compactMap(normalized)
        guard let normalizedSender = normalized(sender) else { return .suppress(reason: "system-sender") }
        if mine.contains(where: { sameAddress($0, normalizedSender) }) { return .suppress(reason: "own-address") }
        if isSystemAddress(sender) { return .suppress(reason: "system-sender") }

        let parsed = MIMEMessage.parse(message)
        for value in parsed.headerValues("auto-submitted") where token(value) != "no" {
            return .suppress(reason: "auto-submitted")
        }
        for value in parsed.headerValues("precedence") where ["bulk", "list", "junk"].contains(token(value)) {
            return .suppress(reason: "precedence")
        }
        if hasListField(parsed) { return .suppress(reason: "mailing-list") }
        for value in parsed.headerValues("x-auto-response-suppress") {
            let items = text(value).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if items.contains("all") || items.contains("oof") { return .suppress(reason: "suppressed") }
        }
        guard let matched = addressedAddress(parsed, mine: mine) else { return .suppress(reason: "not-addressed") }

        let from = vacation.from.flatMap { $0.isEmpty ? nil : $0 } ?? matched
        let reply = compose(vacation, original: parsed, to: sender, from: from, now: now,
                            messageID: messageID ?? randomMessageID(hostname: hostname))
        return .send(SieveVacationReply(to: sender, returnPath: "", message: reply,
                                        memoryKey: memoryKey(sender: sender, vacation: vacation), periodSeconds: vacation.periodSeconds))
    }

    /// What the "already answered" memory keys a reply on: the sender (lower-cased) and the
    /// handle. Without `:handle`, the reason, subject, from and mime together stand for it (RFC
    /// 5230 §4.2: a changed text is a new vacation). Unhashed: the host keys it with its own secret.
    public static func memoryKey(sender: String, vacation: SieveVacation) -> String {
        let handle = vacation.handle ?? defaultHandle(vacation)
        return "vacation\u{0}" + sender.lowercased() + "\u{0}" + handle
    }

    /// Each part length-prefixed, so that no two different vacations give the same handle.
    static func defaultHandle(_ vacation: SieveVacation) -> String {
        let parts = [vacation.reason, vacation.subject ?? "", vacation.from ?? "", vacation.mime ? "mime" : "text"]
        return "default:" + parts.map { "\($0.utf8.count):\($0)" }.joined()
    }

    // MARK: - Rules

    /// `local@domain` lower-cased, without angle brackets; nil when not an address.
    static func normalized(_ address: String) -> String? {
        var a = address.trimmingCharacters(in: .whitespaces)
        if let open = a.lastIndex(of: "<"), let close = a.lastIndex(of: ">"), open < close {
            a = String(a[a.index(after: open)..<close])
        }
        guard let at = a.lastIndex(of: "@"), at != a.startIndex, a.index(after: at) != a.endIndex else { return nil }
        return a.lowercased()
    }

    /// The same address, or `local+detail@domain` against `local@domain` (either way round).
    static func sameAddress(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        return base(a) == base(b)
    }

    static func base(_ address: String) -> String {
        guard let at = address.lastIndex(of: "@") else { return address }
        let local = address[..<at]
        guard let plus = local.firstIndex(of: "+"), plus != local.startIndex else { return address }
        return String(local[..<plus]) + String(address[at...])
    }

    /// Senders that are never answered (RFC 3834 §2, and the list managers' usual names).
    static func isSystemAddress(_ address: String) -> Bool {
        let lower = address.lowercased()
        guard let at = lower.lastIndex(of: "@") else { return true }
        let local = String(lower[..<at])
        return local == "mailer-daemon" || local == "listserv" || local == "majordomo" || local.hasPrefix("owner-")
            || local.hasSuffix("-request")
    }

    static func hasListField(_ message: MIMEMessage) -> Bool {
        let bytes = message.bytes
        for field in message.root.headerFields where field.nameRange.count > listFieldPrefix.utf8.count {
            let name = String(decoding: bytes[field.nameRange], as: UTF8.self).lowercased()
            if name.hasPrefix(listFieldPrefix) { return true }
        }
        return false
    }

    /// The first of `mine` found in the message's recipient fields (as it appears in `mine`).
    static func addressedAddress(_ message: MIMEMessage, mine: [String]) -> String? {
        for name in addressedFields {
            for value in message.headerValues(name) {
                for found in addresses(in: value) {
                    if let hit = mine.first(where: { sameAddress($0, found) }) { return hit }
                }
            }
        }
        return nil
    }

    /// The addresses of an address-list value, lower-cased.
    static func addresses(in value: [UInt8]) -> [String] {
        MIMEMessage.parse(Array("To: ".utf8) + value + Array("\r\n\r\n".utf8)).to.compactMap { $0.address?.lowercased() }
    }

    static func text(_ value: [UInt8]) -> String {
        String(decoding: value, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    /// A structured value's first token, lower-cased (`auto-replied (vacation)` → `auto-replied`).
    static func token(_ value: [UInt8]) -> String {
        let t = text(value).lowercased()
        let end = t.firstIndex { $0 == " " || $0 == "\t" || $0 == "(" || $0 == ";" } ?? t.endIndex
        return String(t[..<end])
    }

    // MARK: - The reply

    static func compose(_ vacation: SieveVacation, original: MIMEMessage, to sender: String, from: String, now: Date,
                        messageID: String) -> [UInt8] {
        var subject = vacation.subject.flatMap { $0.isEmpty ? nil : $0 }
            ?? original.subject.map { "Auto: " + $0 } ?? "Automated reply"
        subject = String(oneLine(subject).prefix(maxSubjectCharacters))
        var out = [UInt8]()
        func field(_ name: String, _ value: String) { out += Array("\(name): \(value)\r\n".utf8) }
        field("Message-ID", "<\(oneLine(messageID))>")
        field("Date", rfc5322Date(now))
        field("From", encodedMailbox(from))
        field("To", "<\(oneLine(sender))>")
        out += encodedField("Subject", subject)
        if let id = original.messageID {
            field("In-Reply-To", "<\(id)>")
            out += foldedIDs("References", original.references + [id])
        } else if !original.references.isEmpty {
            out += foldedIDs("References", original.references)
        }
        field("Auto-Submitted", "auto-replied (vacation)")
        field("Precedence", "bulk")
        field("X-Auto-Response-Suppress", "All")
        field("MIME-Version", "1.0")
        if vacation.mime {
            let (headers, body) = mimeEntity(vacation.reason)
            out += headers.isEmpty ? Array("Content-Type: text/plain; charset=us-ascii\r\n".utf8) : headers
            out += Array("\r\n".utf8)
            out += body
        } else {
            let body = crlf(Array(vacation.reason.utf8))
            let plain = body.allSatisfy { $0 < 0x80 } && !hasLongLine(body)
            field("Content-Type", "text/plain; charset=utf-8")
            field("Content-Transfer-Encoding", plain ? "7bit" : "quoted-printable")
            out += Array("\r\n".utf8)
            out += plain ? body : quotedPrintable(body)
        }
        if out.last != 0x0A { out += Array("\r\n".utf8) }
        return out
    }

    /// A `:mime` reason (RFC 5230 §4.4): its header block (only `Content-*` fields, so that the
    /// reason cannot add recipients or other header fields) and its body, CRLF line ends.
    static func mimeEntity(_ reason: String) -> (headers: [UInt8], body: [UInt8]) {
        let bytes = crlf(Array(reason.utf8))
        let separator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        var split = bytes.count
        if bytes.starts(with: [0x0D, 0x0A]) { split = 0 } else if bytes.count >= 4 {
            for i in 0...(bytes.count - 4) where bytes[i..<(i + 4)].elementsEqual(separator) { split = i + 2; break }
        }
        let headerPart = Array(bytes[..<split]), body = split + 2 <= bytes.count ? Array(bytes[(split + 2)...]) : []
        var headers = [UInt8](), keep = false
        for line in headerPart.split(separator: 0x0A, omittingEmptySubsequences: true) {
            let isContinuation = line.first == 0x20 || line.first == 0x09
            if !isContinuation { keep = String(decoding: line.prefix(8), as: UTF8.self).lowercased() == "content-" }
            if keep { headers += line + [0x0A] }
        }
        return (headers, body)
    }

    /// A From value: `addr`, `<addr>` or `Name <addr>`, the name RFC 2047-encoded when not ASCII.
    static func encodedMailbox(_ text: String) -> String {
        let value = oneLine(text).trimmingCharacters(in: .whitespaces)
        guard let open = value.lastIndex(of: "<"), value.hasSuffix(">") else { return "<\(value)>" }
        let name = value[..<open].trimmingCharacters(in: .whitespaces)
        let address = String(value[open...])
        if name.isEmpty { return address }
        if name.unicodeScalars.allSatisfy({ $0.isASCII }) { return "\(name) \(address)" }
        return encodedWords(name).joined(separator: "\r\n ") + "\r\n " + address
    }

    /// `Name: value`, as RFC 2047 `=?UTF-8?B?…?=` words (one per folded line) when the value is
    /// not ASCII.
    static func encodedField(_ name: String, _ value: String) -> [UInt8] {
        if value.unicodeScalars.allSatisfy({ $0.isASCII }) {
            return fold(name + ": " + value)
        }
        return Array((name + ": " + encodedWords(value).joined(separator: "\r\n ") + "\r\n").utf8)
    }

    /// Base64 encoded words of whole characters, each at most 60 characters long (a field name
    /// and one word stay within 78).
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = [], chunk = [UInt8]()
        // 36 bytes: 48 characters of base64, 60 with "=?UTF-8?B?" and "?=".
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 36, !chunk.isEmpty {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words
    }

    /// An ASCII field folded before a space past 78 octets, CRLF-ended.
    static func fold(_ line: String) -> [UInt8] {
        var out = "", current = ""
        for word in line.split(separator: " ", omittingEmptySubsequences: false) {
            if !current.isEmpty, current.utf8.count + 1 + word.utf8.count > 78 {
                out += current + "\r\n"
                current = " " + word
            } else {
                current += current.isEmpty ? String(word) : " " + word
            }
        }
        return Array((out + current + "\r\n").utf8)
    }

    static func foldedIDs(_ name: String, _ ids: [String]) -> [UInt8] {
        fold(name + ": " + ids.suffix(20).map { "<\(oneLine($0))>" }.joined(separator: " "))
    }

    static func oneLine(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
    }

    /// Bare LF and bare CR become CRLF.
    static func crlf(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](), i = 0
        out.reserveCapacity(bytes.count + 16)
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x0D {
                out += [0x0D, 0x0A]
                if i + 1 < bytes.count, bytes[i + 1] == 0x0A { i += 1 }
            } else if b == 0x0A {
                out += [0x0D, 0x0A]
            } else {
                out.append(b)
            }
            i += 1
        }
        return out
    }

    static func hasLongLine(_ bytes: [UInt8]) -> Bool {
        var length = 0
        for b in bytes {
            if b == 0x0A { length = 0 } else { length += 1; if length > 998 { return true } }
        }
        return false
    }

    /// RFC 2045 §6.7 quoted-printable of CRLF text: lines of at most 76 characters (soft breaks),
    /// `=`, controls and 8-bit octets escaped, trailing white space escaped.
    static func quotedPrintable(_ bytes: [UInt8]) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        for line in split(crlfLines: bytes) {
            var current = [UInt8]()
            for (index, b) in line.enumerated() {
                let last = index == line.count - 1
                let literal = (b >= 0x21 && b <= 0x7E && b != 0x3D) || ((b == 0x20 || b == 0x09) && !last)
                let piece: [UInt8] = literal ? [b] : [0x3D, hex[Int(b >> 4)], hex[Int(b & 0x0F)]]
                if current.count + piece.count > 75 {
                    out += current + [0x3D, 0x0D, 0x0A]
                    current = []
                }
                current += piece
            }
            out += current + [0x0D, 0x0A]
        }
        return out
    }

    static func split(crlfLines bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = [], current = [UInt8](), i = 0
        while i < bytes.count {
            if bytes[i] == 0x0D, i + 1 < bytes.count, bytes[i + 1] == 0x0A {
                lines.append(current); current = []; i += 2; continue
            }
            current.append(bytes[i]); i += 1
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    static func randomMessageID(hostname: String) -> String {
        let random = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        return "vacation." + random + "@" + (hostname.isEmpty ? "localhost" : hostname)
    }

    /// `Sun, 6 Dec 2026 09:05:03 +0000` (RFC 5322 §3.3), in UTC.
    static func rfc5322Date(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = CivilDate.date(daysSinceEpoch: days)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
        return "\(weekdays[((days % 7) + 7) % 7]), \(d) \(months[m - 1]) \(y) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }
}
