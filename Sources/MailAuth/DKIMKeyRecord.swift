/// A DKIM key record (RFC 6376 §3.6.1; Ed25519: RFC 8463 §4.2), the TXT record at
/// `<s>._domainkey.<d>`. Pure (fuzzed, Fuzz/DKIMFuzz).
///
/// `v=DKIM1` is optional but, when present, the first tag; `k=` defaults to rsa; `p=` is required
/// and empty for a revoked key; `h=` (acceptable hashes), `s=` (service types, default `*`) and
/// `t=` (flags: `y` testing, `s` strict `i=`) are colon-separated lists; other tags are ignored.
struct DKIMKeyRecord: Sendable, Equatable {
    /// `k=`, lower-cased.
    var keyType = "rsa"
    /// `h=`, lower-cased; nil when absent (every hash allowed).
    var hashes: [String]?
    /// `s=`, lower-cased.
    var services = ["*"]
    /// `t=`, lower-cased.
    var flags: [String] = []
    /// `p=` decoded: DER (SubjectPublicKeyInfo or RSAPublicKey) for RSA, the raw 32 bytes for
    /// Ed25519. Empty: revoked.
    var publicKey: [UInt8] = []

    var isRevoked: Bool { publicKey.isEmpty }
    var allowsEmail: Bool { services.contains("*") || services.contains("email") }
    var isStrict: Bool { flags.contains("s") }
    var isTesting: Bool { flags.contains("y") }

    static func parse(_ text: [UInt8]) throws(DKIMProblem) -> DKIMKeyRecord {
        let list = try DKIMTagList.parse(text)
        var record = DKIMKeyRecord()
        if let v = list["v"] {
            guard list.tags.first?.name == "v" else { throw .permerror("key record: v= is not the first tag") }
            guard v == Array("DKIM1".utf8) else { throw .permerror("key record: unknown version v=\(list.text("v") ?? "")") }
        }
        if let k = list["k"] { record.keyType = String(decoding: DKIMTagList.compact(k), as: UTF8.self).lowercased() }
        if let h = list["h"] { record.hashes = DKIMTagList.list(h).map { $0.lowercased() } }
        if let s = list["s"] { record.services = DKIMTagList.list(s).map { $0.lowercased() } }
        if let t = list["t"] { record.flags = DKIMTagList.list(t).map { $0.lowercased() } }
        guard let p = list["p"] else { throw .permerror("key record without p=") }
        guard let key = DKIMBase64.decode(p) else { throw .permerror("key record: p= is not base64") }
        record.publicKey = key
        return record
    }

    /// The size in bits of the modulus of an RSA public key in DER, SubjectPublicKeyInfo (what
    /// everyone publishes) or a bare RSAPublicKey (what RFC 6376 §3.6.1 describes); nil when the
    /// bytes are neither.
    static func rsaModulusBits(_ der: [UInt8]) -> Int? {
        var reader = DERReader(bytes: der[...])
        guard let outer = reader.read(tag: 0x30), reader.isAtEnd else { return nil }
        var inner = DERReader(bytes: outer)
        if inner.peekTag == 0x30 {
            // SubjectPublicKeyInfo: AlgorithmIdentifier (rsaEncryption), BIT STRING { RSAPublicKey }
            guard let algorithm = inner.read(tag: 0x30), let bits = inner.read(tag: 0x03), inner.isAtEnd else { return nil }
            var oid = DERReader(bytes: algorithm)
            let rsaEncryption: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
            guard let id = oid.read(tag: 0x06), Array(id) == rsaEncryption, bits.first == 0 else { return nil }
            return rsaModulusBits(Array(bits.dropFirst()))
        }
        // RSAPublicKey: SEQUENCE { INTEGER modulus, INTEGER publicExponent }
        guard let modulus = inner.read(tag: 0x02), inner.read(tag: 0x02) != nil, inner.isAtEnd else { return nil }
        guard let first = modulus.firstIndex(where: { $0 != 0 }) else { return nil }
        let significant = modulus[first...]
        return (significant.count - 1) * 8 + (8 - significant.first!.leadingZeroBitCount)
    }
}

/// Just enough DER to read an RSA public key's structure: definite lengths up to 4 bytes.
struct DERReader {
    var bytes: ArraySlice<UInt8>

    var isAtEnd: Bool { bytes.isEmpty }
    var peekTag: UInt8? { bytes.first }

    /// The content of the next element if its tag is `tag`.
    mutating func read(tag: UInt8) -> ArraySlice<UInt8>? {
        var i = bytes.startIndex
        guard i < bytes.endIndex, bytes[i] == tag else { return nil }
        i += 1
        guard i < bytes.endIndex else { return nil }
        var length = Int(bytes[i])
        i += 1
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard (1...4).contains(count), bytes.endIndex - i >= count else { return nil }
            length = 0
            for _ in 0..<count { length = length << 8 | Int(bytes[i]); i += 1 }
        }
        guard length <= bytes.endIndex - i else { return nil }
        let content = bytes[i..<(i + length)]
        bytes = bytes[(i + length)...]
        return content
    }
}
