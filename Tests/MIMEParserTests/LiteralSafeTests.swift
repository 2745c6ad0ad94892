@testable import MIMEParser
import Testing

@Suite("Literal-safe section content")
struct LiteralSafeTests {
    @Test("a NUL is found at every position and alignment, and becomes 0x80; content without one comes back as it is")
    func nul() {
        for length in 0..<40 {
            let clean = (0..<length).map { UInt8(1 + ($0 * 37) % 255) }
            #expect(!containsNUL(clean))
            #expect(MIMEMessage.imapLiteralSafe(clean) == clean)
            for position in 0..<length {
                var bytes = clean
                bytes[position] = 0
                #expect(containsNUL(bytes), "length \(length), position \(position)")
                var expected = clean
                expected[position] = 0x80
                #expect(MIMEMessage.imapLiteralSafe(bytes) == expected)
            }
        }
        // 0x80 and 0x01 bytes around no NUL (the word test's edge cases).
        #expect(!containsNUL([0x80, 0x01, 0x80, 0x01, 0xff, 0x01, 0x80, 0x80, 0x01]))
    }
}
