import Foundation
import Testing

/// RFC 3516: APPEND with a literal8 (`~{n}`) stores the bytes exactly; RFC 3501 §4.3: a NUL in
/// a plain literal is a syntax error.
@Suite("APPEND: literal8 and NUL")
struct BinaryAppendTests {
    /// A binary body with bare LF, bare CR and NUL: only a literal8 can carry it, and it must come
    /// back byte for byte.
    static let binaryMessage: [UInt8] = Array("From: a@example.org\r\nSubject: bin\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n".utf8)
        + [0x00, 0x0A, 0x41, 0x0D, 0x0A, 0x0A, 0xFF, 0x0D, 0x00, 0x0A, 0x42]

    @Test("APPEND ~{n} keeps every byte; a NUL in a {n} literal is BAD", arguments: [false, true])
    func binaryLiteral(realStore: Bool) async throws {
        let h = try await SessionHarness(realStore: realStore)
        let c = h.connect()
        try await c.login(h)
        let m = Self.binaryMessage
        try await c.sendRaw(Array("a1 APPEND INBOX ~{\(m.count)+}\r\n".utf8) + m + Array("\r\n".utf8))
        let appended = try await c.read(until: "a1 ")
        #expect(appended.hasPrefix("a1 OK [APPENDUID ") && appended.hasSuffix(" 1] APPEND completed\r\n"), "\(appended)")
        // The same bytes in a plain literal: refused, nothing stored.
        try await c.sendRaw(Array("a2 APPEND INBOX {\(m.count)+}\r\n".utf8) + m + Array("\r\n".utf8))
        #expect(try await c.read(until: "a2 ") == "a2 BAD NUL in a literal (use ~{n} for binary data)\r\n")
        #expect(try await c.command("a3", "STATUS INBOX (MESSAGES)").hasPrefix("* STATUS INBOX (MESSAGES 1)\r\n"))
        _ = try await c.command("a4", "SELECT INBOX")
        try await c.send("a5 FETCH 1 (RFC822.SIZE BINARY.PEEK[])")
        _ = try await c.read(until: "a5 ")
        let output = c.transport.output
        let expected = Array("* 1 FETCH (RFC822.SIZE \(m.count) BINARY[] ~{\(m.count)}\r\n".utf8) + m + Array(")\r\na5 OK FETCH completed\r\n".utf8)
        #expect(Array(output.suffix(expected.count)) == expected, "\(String(decoding: output.suffix(expected.count + 40), as: UTF8.self).debugDescription)")
        await c.close()
        await h.cleanUp()
    }
}
