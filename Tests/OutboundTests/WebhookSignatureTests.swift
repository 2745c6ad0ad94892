import Foundation
import Outbound
import Testing

@Suite("WebhookSignature")
struct WebhookSignatureTests {
    static let secret = Array("whsec_test-Secret".utf8)
    static let body = Array(#"{"envelope":{"mailFrom":"a@example.org"},"subject":"héllo"}"#.utf8)

    @Test("the header is t=<timestamp>,v1=<hex HMAC-SHA256(secret, t + '.' + body)>, as Python's hmac computes it")
    func matchesPython() async throws {
        let header = WebhookSignature.header(body: Self.body, secret: Self.secret, timestamp: 1_795_348_800)
        let script = """
        import hmac, hashlib, sys
        body = sys.stdin.buffer.read()
        print("t=1795348800,v1=" + hmac.new(b"whsec_test-Secret", b"1795348800." + body, hashlib.sha256).hexdigest())
        """
        let python = try await TestEnvironment.python(script, stdin: Self.body)
        #expect(header == python.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(header.hasPrefix("t=1795348800,v1="))
        let hex = header.dropFirst("t=1795348800,v1=".count)
        #expect(hex.count == 64 && hex.allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test("verify accepts its own header within the tolerance, either side")
    func verifies() {
        let header = WebhookSignature.header(body: Self.body, secret: Self.secret, timestamp: 1_000_000)
        #expect(WebhookSignature.verify(header: header, body: Self.body, secret: Self.secret, now: 1_000_000))
        #expect(WebhookSignature.verify(header: header, body: Self.body, secret: Self.secret, now: 1_000_300))
        #expect(WebhookSignature.verify(header: header, body: Self.body, secret: Self.secret, now: 999_700))
        #expect(!WebhookSignature.verify(header: header, body: Self.body, secret: Self.secret, now: 1_000_301))
        #expect(!WebhookSignature.verify(header: header, body: Self.body, secret: Self.secret, now: 999_699))
        #expect(WebhookSignature.verify(header: header, body: Self.body, secret: Self.secret, now: 1_003_000, tolerance: 3_000))
        // upper-case hex and spaces after commas are accepted
        #expect(WebhookSignature.verify(header: header.uppercased().replacingOccurrences(of: "T=", with: "t=")
                                            .replacingOccurrences(of: "V1=", with: "v1=").replacingOccurrences(of: ",", with: ", "),
                                        body: Self.body, secret: Self.secret, now: 1_000_000))
    }

    @Test("verify rejects another body, secret or timestamp, and malformed headers")
    func rejects() {
        let header = WebhookSignature.header(body: Self.body, secret: Self.secret, timestamp: 1_000_000)
        var other = Self.body
        other[other.count - 2] ^= 1
        #expect(!WebhookSignature.verify(header: header, body: other, secret: Self.secret, now: 1_000_000))
        #expect(!WebhookSignature.verify(header: header, body: Self.body, secret: Array("other".utf8), now: 1_000_000))
        let shifted = header.replacingOccurrences(of: "t=1000000", with: "t=1000001")
        #expect(!WebhookSignature.verify(header: shifted, body: Self.body, secret: Self.secret, now: 1_000_000))
        let v1 = String(header.split(separator: ",")[1])
        for bad in ["", "t=1000000", v1, "t=abc,\(v1)", "t=1000000,v1=zz", "t=1000000,v1=\(v1.dropFirst(3).dropLast(2))",
                    "t=1000000,t=1000000,\(v1)", "t=1000000,v0=\(v1.dropFirst(3))"] {
            #expect(!WebhookSignature.verify(header: bad, body: Self.body, secret: Self.secret, now: 1_000_000), "\(bad)")
        }
        // extreme timestamps do not trap
        #expect(!WebhookSignature.verify(header: "t=\(Int.min),\(v1)", body: Self.body, secret: Self.secret, now: Int.max))
    }

    @Test("several v1 signatures (secret rotation): any valid one is enough")
    func rotation() {
        let header = WebhookSignature.header(body: Self.body, secret: Self.secret, timestamp: 42)
        let old = WebhookSignature.header(body: Self.body, secret: Array("old".utf8), timestamp: 42)
        let both = header + "," + String(old.split(separator: ",")[1])
        #expect(WebhookSignature.verify(header: both, body: Self.body, secret: Self.secret, now: 42))
        #expect(WebhookSignature.verify(header: both, body: Self.body, secret: Array("old".utf8), now: 42))
        #expect(!WebhookSignature.verify(header: both, body: Self.body, secret: Array("neither".utf8), now: 42))
    }
}
