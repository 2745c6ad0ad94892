import Testing
import MailCore

@Suite("ByteSize")
struct ByteSizeTests {
    @Test("parses", arguments: [
        ("0", 0), ("1024", 1024), ("1024B", 1024), ("1024 b", 1024),
        ("1K", 1024), ("1k", 1024), ("500M", 500 << 20), ("10G", 10 << 30), ("2T", 2 << 40), ("1P", 1 << 50),
        ("10GiB", 10 << 30), ("10gib", 10 << 30), ("1 KiB", 1024), ("3MiB", 3 << 20), ("1TiB", 1 << 40),
        ("1.5GB", 1_500_000_000), ("1KB", 1000), ("2MB", 2_000_000), ("1TB", 1_000_000_000_000),
        ("1.5G", 1_610_612_736), ("0.5K", 512), ("1.1K", 1126), (".5M", 524_288), ("  7M ", 7 << 20),
        ("0.0001K", 0), ("0.0005K", 1),  // rounded to the nearest byte
        ("9223372036854775807", Int64.max), ("8191PiB", 8191 << 50),
    ] as [(String, Int64)])
    func parse(text: String, bytes: Int64) throws {
        #expect(try ByteSize.parse(text) == bytes)
    }

    @Test("refuses", arguments: [
        ("", "empty"), ("M", "expected a number"), ("-1", "negative"), ("-5G", "negative"), ("1.", "decimal point"),
        ("5X", "unknown unit"), ("5 GBs", "unknown unit"), ("1e6", "unknown unit"), ("1,5G", "unknown unit"),
        ("9223372036854775808", "too large"), ("8192PiB", "too large"), ("99999999999999999999G", "too large"),
    ])
    func refuses(text: String, reason: String) {
        #expect {
            _ = try ByteSize.parse(text)
        } throws: { error in
            guard let error = error as? ByteSize.ParseError else { return false }
            return error.reason.contains(reason) && error.description.hasPrefix("invalid size '")
        }
    }

    @Test("formats", arguments: [
        (0, "0 B"), (1023, "1023 B"), (1024, "1 KiB"), (1536, "1.5 KiB"), (500 << 20, "500 MiB"),
        (10 << 30, "10 GiB"), (1_610_612_736, "1.5 GiB"), (1_500_000_000, "1.4 GiB"), (1 << 40, "1 TiB"),
        (1_073_741_824 + 10_737_418, "1.01 GiB"), (-2048, "-2 KiB"), (Int64.max, "8 EiB"),
    ] as [(Int64, String)])
    func format(bytes: Int64, text: String) {
        #expect(ByteSize.format(bytes) == text)
    }

    @Test("format then parse gives back exact multiples", arguments: [0, 1, 1023, 1024, 1536, 500 << 20, 10 << 30, 3 << 40] as [Int64])
    func roundTrip(bytes: Int64) throws {
        #expect(try ByteSize.parse(ByteSize.format(bytes)) == bytes)
    }
}
