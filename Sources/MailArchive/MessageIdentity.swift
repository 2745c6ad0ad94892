import Crypto
import Foundation

/// A stable identity for de-duplication on import: the Message-ID when present (angle brackets
/// stripped, the domain lower-cased), else a SHA-256 of the bytes with line endings made LF.
public enum MessageIdentity {
    public static func key(for bytes: [UInt8]) -> String {
        if let id = messageID(bytes) { return "mid:" + id }
        var normalized: [UInt8] = []
        normalized.reserveCapacity(bytes.count)
        for (i, b) in bytes.enumerated() where !(b == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A) { normalized.append(b) }
        return "sha256:" + SHA256.hash(data: normalized).map { String(format: "%02x", $0) }.joined()
    }

    /// The normalized Message-ID of the header block, if it has one.
    static func messageID(_ bytes: [UInt8]) -> String? {
        var lines: [String] = []
        var start = 0
        for i in bytes.indices where bytes[i] == 0x0A {
            var end = i
            if end > start, bytes[end - 1] == 0x0D { end -= 1 }
            if end == start { break }  // the end of the header
            let line = String(decoding: bytes[start..<end], as: UTF8.self)
            if (line.first == " " || line.first == "\t"), !lines.isEmpty { lines[lines.count - 1] += line } else { lines.append(line) }
            start = i + 1
            if lines.count > 10_000 { break }
        }
        guard let field = lines.first(where: { $0.lowercased().hasPrefix("message-id:") }) else { return nil }
        var value = field.dropFirst("message-id:".count).trimmingCharacters(in: .whitespaces)
        if let open = value.firstIndex(of: "<"), let close = value[open...].firstIndex(of: ">") {
            value = String(value[value.index(after: open)..<close])
        }
        value = value.trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { return nil }
        if let at = value.lastIndex(of: "@") {
            value = String(value[..<at]) + "@" + value[value.index(after: at)...].lowercased()
        }
        return value
    }
}
