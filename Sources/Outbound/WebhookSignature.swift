import Crypto

/// Signs webhook requests: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`, sent in
/// a request header so that the receiver can check origin, integrity and freshness (the same shape
/// as the common `Stripe-Signature` scheme, so receivers can use existing verifiers).
public enum WebhookSignature {
    /// The header value for `body` signed at `timestamp` (Unix seconds).
    public static func header(body: [UInt8], secret: [UInt8], timestamp: Int) -> String {
        "t=\(timestamp),v1=\(hex(mac(body: body, secret: secret, timestamp: timestamp)))"
    }

    /// True when `header` carries a `v1` signature of `body` made with `secret` at a time within
    /// `tolerance` seconds of `now` (either side). Several `v1=` entries are allowed (secret
    /// rotation); each is compared in constant time.
    public static func verify(header: String, body: [UInt8], secret: [UInt8], now: Int, tolerance: Int = 300) -> Bool {
        var timestamp: Int?
        var signatures: [[UInt8]] = []
        for item in header.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2 else { continue }
            let key = kv[0].trimmingSpaces, value = kv[1].trimmingSpaces
            if key == "t" {
                guard timestamp == nil, let t = Int(value) else { return false }
                timestamp = t
            } else if key == "v1", let bytes = unhex(value) {
                signatures.append(bytes)
            }
        }
        guard let timestamp, !signatures.isEmpty else { return false }
        let (age, overflow) = now.subtractingReportingOverflow(timestamp)
        guard !overflow, age.magnitude <= UInt(max(0, tolerance)) else { return false }
        let expected = mac(body: body, secret: secret, timestamp: timestamp)
        var ok = false
        for s in signatures where constantTimeEqual(s, expected) { ok = true }
        return ok
    }

    static func mac(body: [UInt8], secret: [UInt8], timestamp: Int) -> [UInt8] {
        var h = HMAC<SHA256>(key: SymmetricKey(data: secret))
        h.update(data: Array("\(timestamp).".utf8))
        h.update(data: body)
        return Array(h.finalize())
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Hex digits (either case) to bytes; nil for anything else.
    static func unhex(_ s: Substring) -> [UInt8]? {
        let chars = Array(s.utf8)
        guard chars.count % 2 == 0, !chars.isEmpty else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x57
            case 0x41...0x46: return c - 0x37
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let h = nibble(chars[i]), let l = nibble(chars[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
