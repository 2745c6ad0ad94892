/// Random identifiers for directory records.
public enum DirectoryID {
    /// 128 random bits as 32 lower-case hex digits: alias ids and mailbox ids.
    public static func random() -> String { hex(byteCount: 16) }

    /// 32 random bits as 8 lower-case hex digits: a password id, short enough to read out, unique
    /// per alias (the directory refuses a duplicate).
    public static func randomPasswordID() -> String { hex(byteCount: 4) }

    /// 32 lower-case hex digits.
    public static func isValid(_ id: String) -> Bool { isHex(id, count: 32...32) }

    /// 4 to 32 lower-case hex digits.
    public static func isValidPasswordID(_ id: String) -> Bool { isHex(id, count: 4...32) }

    static func isHex(_ text: String, count: ClosedRange<Int>) -> Bool {
        count.contains(text.utf8.count) && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private static func hex(byteCount: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(byteCount * 2)
        for _ in 0..<byteCount {
            let byte = UInt8.random(in: .min ... .max, using: &rng)
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
