import Foundation
import MailStore
import SQLiteCipher

/// A fresh temporary directory, removed when the value is released.
final class TemporaryDirectory: @unchecked Sendable {
    // @unchecked: `path` is immutable after init.
    let path: String
    init() {
        path = NSTemporaryDirectory() + "sealbox-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Every byte of every file below the directory.
    func allFileContents() -> [(path: String, bytes: [UInt8])] {
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: path) else { return [] }
        var out: [(String, [UInt8])] = []
        for case let rel as String in e {
            let full = path + "/" + rel
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue, let d = fm.contents(atPath: full) {
                out.append((rel, Array(d)))
            }
        }
        return out
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        let first = needle[0]
        var i = 0
        while i <= count - needle.count {
            if self[i] == first, Array(self[i..<(i + needle.count)]) == needle { return true }
            i += 1
        }
        return false
    }
}

func crlf(_ text: String) -> [UInt8] {
    Array(text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
}

/// A realistic message: text body and an optional base64 attachment of `attachmentBytes` bytes
/// (deterministic content from `seed`).
func sampleMessage(subject: String, body: String = "Hello there.", from: String = "Alice <alice@example.org>",
                   messageID: String? = nil, inReplyTo: String? = nil, attachmentBytes: Int = 0, seed: UInt8 = 7) -> [UInt8] {
    var text = """
        From: \(from)
        To: Bob <bob@example.com>
        Subject: \(subject)
        Date: Sun, 22 Nov 2026 08:00:00 +0000
        Message-ID: <\(messageID ?? UUID().uuidString + "@example.org")>

        """
    if let inReplyTo { text += "In-Reply-To: <\(inReplyTo)>\nReferences: <\(inReplyTo)>\n" }
    if attachmentBytes == 0 {
        text += "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n\(body)\n"
        return crlf(text)
    }
    var payload = [UInt8](repeating: 0, count: attachmentBytes)
    var x = UInt32(seed) &* 2654435761
    for i in payload.indices { x = x &* 1664525 &+ 1013904223; payload[i] = UInt8(truncatingIfNeeded: x >> 24) }
    let b64 = Data(payload).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
    text += """
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="b1"

        --b1
        Content-Type: text/plain; charset=utf-8

        \(body)
        --b1
        Content-Type: application/octet-stream; name="data.bin"
        Content-Disposition: attachment; filename="data.bin"
        Content-Transfer-Encoding: base64

        """
    return crlf(text + "\n") + Array(b64.utf8) + crlf("\n--b1--\n")
}
