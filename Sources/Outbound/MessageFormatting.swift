import Foundation
import MIMEParser

/// Helpers for the messages and documents this module writes.
enum MessageFormatting {
    /// The longest line a message may have, without its CRLF (RFC 5322 §2.1.1).
    static let maxLineLength = 998

    /// RFC 5322 date-time in UTC: "Sun, 22 Nov 2026 21:43:41 +0000".
    static func rfc5322Date(_ date: Date) -> String {
        let seconds = Int((date.timeIntervalSince1970).rounded(.down))
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let secOfDay = seconds - days * 86_400
        let (y, m, d) = CivilDate.date(daysSinceEpoch: days)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]   // 1970-01-01 was a Thursday
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let wd = weekdays[((days % 7) + 7) % 7]
        return "\(wd), \(d) \(months[m - 1]) \(y) \(two(secOfDay / 3600)):\(two(secOfDay / 60 % 60)):\(two(secOfDay % 60)) +0000"
    }

    /// ISO 8601 in UTC with seconds: "2026-11-22T21:43:41Z".
    static func iso8601(_ date: Date) -> String {
        let seconds = Int((date.timeIntervalSince1970).rounded(.down))
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let secOfDay = seconds - days * 86_400
        let (y, m, d) = CivilDate.date(daysSinceEpoch: days)
        let year = y < 0 ? "-" + pad(-y, 4) : pad(y, 4)
        return "\(year)-\(two(m))-\(two(d))T\(two(secOfDay / 3600)):\(two(secOfDay / 60 % 60)):\(two(secOfDay % 60))Z"
    }

    private static func two(_ n: Int) -> String { pad(n, 2) }
    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// CR, LF and other C0 controls (but TAB) become spaces: nothing the caller passes can start a
    /// new header field or line.
    static func oneLine(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F ? " " : $0 }))
    }

    /// A header field "Name: value" folded at spaces so that lines stay at most `foldAt` octets
    /// where possible and never exceed `maxLineLength` (a run without spaces is split), CRLF-ended.
    static func field(_ name: String, _ value: String, foldAt: Int = 78) -> [UInt8] {
        let line = Array((name + ": " + oneLine(value)).utf8)
        return fold(line, foldAt: foldAt, continuationPrefix: [])
    }

    /// Folds one logical line into CRLF-ended physical lines: breaks before a space when the line
    /// passes `foldAt`, and hard-breaks (inserting "CRLF SP") a run that would pass `maxLineLength`.
    static func fold(_ line: [UInt8], foldAt: Int, continuationPrefix: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(line.count + 8)
        var current = [UInt8]()
        var lastSpace: Int? = nil
        for b in line {
            if b == 0x20 || b == 0x09, current.count >= 1, !current.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                lastSpace = current.count
            }
            current.append(b)
            if current.count > foldAt, let sp = lastSpace, sp > 0 {
                out += current[..<sp]; out += [0x0D, 0x0A]
                current = Array(current[sp...])
                lastSpace = nil
            }
            if current.count >= maxLineLength {
                // no space to fold at: split, keeping UTF-8 sequences whole
                var cut = current.count - 1
                while cut > 1, current[cut] & 0xC0 == 0x80 { cut -= 1 }
                out += current[..<cut]; out += [0x0D, 0x0A]
                current = [0x20] + current[cut...]
                lastSpace = nil
            }
        }
        out += current; out += [0x0D, 0x0A]
        return out
    }

    /// Text as CRLF lines of at most `maxLineLength` octets (longer lines are split).
    static func textLines(_ text: String) -> [UInt8] {
        var out = [UInt8]()
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            var bytes = Array(line.utf8)[...]
            while bytes.count > maxLineLength {
                var cut = bytes.startIndex + maxLineLength
                while cut > bytes.startIndex + 1, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
                out += bytes[..<cut]; out += [0x0D, 0x0A]
                bytes = bytes[cut...]
            }
            out += bytes; out += [0x0D, 0x0A]
        }
        return out
    }

    /// Bytes with every line ending made CRLF and every line cut to `maxLineLength` octets (a
    /// longer header line is continued on a new line starting with a space, so it stays one field).
    static func crlfHeaderLines(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + 16)
        var lineLength = 0
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == 0x0D || b == 0x0A {
                out += [0x0D, 0x0A]
                lineLength = 0
                if b == 0x0D, i + 1 < bytes.endIndex, bytes[i + 1] == 0x0A { i += 1 }
                i += 1
                continue
            }
            if lineLength >= maxLineLength - 1 {
                out += [0x0D, 0x0A, 0x20]
                lineLength = 1
            }
            out.append(b)
            lineLength += 1
            i += 1
        }
        if lineLength > 0 { out += [0x0D, 0x0A] }
        return out
    }

    static func isASCII<S: Sequence>(_ bytes: S) -> Bool where S.Element == UInt8 {
        bytes.allSatisfy { $0 < 0x80 }
    }
}
