import Crypto
import CryptoExtras
import Foundation

/// A domain's DKIM signing key (RFC 6376): Ed25519-SHA256 (RFC 8463) or RSA-SHA256.
public struct DKIMSigningKey: Sendable {
    public enum Algorithm: String, Sendable, CaseIterable {
        case ed25519 = "ed25519"
        case rsa = "rsa"

        /// The `a=` tag of a signature made with it.
        public var signatureAlgorithm: String { self == .ed25519 ? "ed25519-sha256" : "rsa-sha256" }
    }

    enum Backing: @unchecked Sendable {  // both key types are immutable values
        case ed25519(Curve25519.Signing.PrivateKey)
        case rsa(_RSA.Signing.PrivateKey)
    }

    public let domain: String
    public let selector: String
    let backing: Backing

    public var algorithm: Algorithm {
        switch backing {
        case .ed25519: .ed25519
        case .rsa: .rsa
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// A key from its stored form (`privateKeyBytes`): the raw 32 bytes for Ed25519, DER for RSA.
    public init(domain: String, selector: String, algorithm: Algorithm, privateKey: [UInt8]) throws {
        self.domain = domain
        self.selector = selector
        do {
            switch algorithm {
            case .ed25519: backing = .ed25519(try Curve25519.Signing.PrivateKey(rawRepresentation: privateKey))
            case .rsa: backing = .rsa(try _RSA.Signing.PrivateKey(derRepresentation: privateKey))
            }
        } catch {
            throw Failure(description: "the \(algorithm.rawValue) DKIM key of \(domain) (selector \(selector)) is damaged")
        }
    }

    /// A new key: Ed25519, or RSA with 2048 bits.
    public static func generate(domain: String, selector: String, algorithm: Algorithm) throws -> DKIMSigningKey {
        switch algorithm {
        case .ed25519:
            return try DKIMSigningKey(domain: domain, selector: selector, algorithm: .ed25519,
                                      privateKey: Array(Curve25519.Signing.PrivateKey().rawRepresentation))
        case .rsa:
            return try DKIMSigningKey(domain: domain, selector: selector, algorithm: .rsa,
                                      privateKey: Array(try _RSA.Signing.PrivateKey(keySize: .bits2048).derRepresentation))
        }
    }

    /// The stored form (see `init`). A secret: kept only in the directory, which the node key encrypts.
    public var privateKeyBytes: [UInt8] {
        switch backing {
        case .ed25519(let key): Array(key.rawRepresentation)
        case .rsa(let key): Array(key.derRepresentation)
        }
    }

    /// The `p=` value of the key record: the raw public key for Ed25519 (RFC 8463 §4.2), the DER
    /// SubjectPublicKeyInfo for RSA; base64.
    public var publicKeyBase64: String {
        switch backing {
        case .ed25519(let key): key.publicKey.rawRepresentation.base64EncodedString()
        case .rsa(let key): key.publicKey.derRepresentation.base64EncodedString()
        }
    }

    /// The TXT record to publish at `<selector>._domainkey.<domain>`.
    public var dnsRecord: String { "v=DKIM1; k=\(algorithm.rawValue); p=\(publicKeyBase64)" }

    func sign(_ digest: SHA256.Digest) throws -> [UInt8] {
        switch backing {
        case .ed25519(let key): Array(try key.signature(for: Data(digest)))  // PureEdDSA over the hash (RFC 8463 §3)
        case .rsa(let key): Array(try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation)
        }
    }
}

/// Signs outgoing messages (RFC 6376 §5): relaxed/relaxed, SHA-256, one `DKIM-Signature` per key,
/// the header fields a recipient shows or threads by, with `From` oversigned (listed once more than
/// it occurs, so no From can be added without breaking the signature).
public enum DKIMSigner {
    /// Header fields signed when present (each occurrence), lower-case.
    public static let signedFields = [
        "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
        "in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding",
        "list-id", "list-unsubscribe", "list-unsubscribe-post", "autocrypt", "openpgp",
    ]

    /// The message with one `DKIM-Signature` field per key prepended (in the order of `keys`).
    public static func sign(_ message: [UInt8], keys: [DKIMSigningKey], time: Date = Date()) throws -> [UInt8] {
        guard !keys.isEmpty else { return message }
        let (fields, bodyStart) = DKIMCanonicalization.split(message)
        let bodyHash = Data(SHA256.hash(data: DKIMCanonicalization.relaxedBody(message[bodyStart...]))).base64EncodedString()

        let (names, chosen) = signedHeaders(fields)

        var signatures: [[UInt8]] = []
        let timestamp = Int(time.timeIntervalSince1970)
        for key in keys {
            let unsigned = Array(header(tags: [
                "v=1", "a=\(key.algorithm.signatureAlgorithm)", "c=relaxed/relaxed", "d=\(key.domain)", "s=\(key.selector)",
                "t=\(timestamp)", "h=" + fold(names.joined(separator: ":"), separator: ":"), "bh=\(bodyHash)",
            ]).utf8)
            var input: [UInt8] = []
            for header in chosen { input.append(contentsOf: header) }
            var own = DKIMCanonicalization.relaxedHeader(unsigned)
            own.removeLast(2)  // the signature field itself enters without its CRLF
            input.append(contentsOf: own)
            let signature = try key.sign(SHA256.hash(data: input))
            let b = Data(signature).base64EncodedString()
            signatures.append(unsigned + Array(foldBase64(b).utf8) + [0x0D, 0x0A])
        }
        var out: [UInt8] = []
        out.reserveCapacity(message.count + signatures.reduce(0) { $0 + $1.count })
        for signature in signatures { out.append(contentsOf: signature) }
        out.append(contentsOf: message)
        return out
    }

    /// The `h=` names for `fields` and the fields they select, relaxed-canonicalized: every
    /// occurrence of each signed name, taken from the bottom up (RFC 6376 §5.4.2), plus one extra
    /// "from" (oversigned: a null string in the hash, §5.4). The ARC sealer signs the same.
    static func signedHeaders(_ fields: [DKIMCanonicalization.HeaderField]) -> (names: [String], chosen: [[UInt8]]) {
        var names: [String] = []
        var chosen: [[UInt8]] = []
        var used: [String: Int] = [:]
        let lowered = fields.map { $0.name.lowercased() }
        for name in signedFields {
            let count = lowered.filter { $0 == name }.count
            for _ in 0..<count {
                let taken = used[name, default: 0]
                // The (taken+1)-th occurrence counting from the bottom.
                var seen = 0
                for index in fields.indices.reversed() where lowered[index] == name {
                    if seen == taken { chosen.append(DKIMCanonicalization.relaxedHeader(fields[index].raw)); break }
                    seen += 1
                }
                used[name] = taken + 1
                names.append(name)
            }
        }
        names.append("from")
        return (names, chosen)
    }

    /// `DKIM-Signature: ` (or another field `name`) with the tags, folded so lines stay under 78
    /// characters, ending in `b=` on a line of its own (its value is added after signing).
    static func header(name: String = "DKIM-Signature", tags: [String]) -> String {
        var out = name + ":", line = out.count
        for tag in tags {
            let firstLine = tag.prefix { $0 != "\r" }.count
            if line + 1 + firstLine + 1 > 77 {
                out += "\r\n\t"
                line = 8
            } else {
                out += " "
                line += 1
            }
            out += tag + ";"
            line = tag.contains("\r\n") ? 8 + (tag.components(separatedBy: "\r\n\t").last?.count ?? 0) + 1 : line + tag.count + 1
        }
        return out + "\r\n\tb="
    }

    /// Folds a long list at its separators so lines stay under 78 characters.
    static func fold(_ value: String, separator: Character) -> String {
        var out = "", line = 8
        for (i, part) in value.split(separator: separator, omittingEmptySubsequences: false).enumerated() {
            if i > 0 {
                out.append(separator)
                line += 1
                if line + part.count > 76 { out += "\r\n\t"; line = 8 }
            }
            out += part
            line += part.count
        }
        return out
    }

    /// The b= value in lines of 72; white space inside b= is ignored by verifiers (RFC 6376 §3.5).
    static func foldBase64(_ value: String) -> String {
        var out = "", rest = Substring(value), first = true
        while !rest.isEmpty {
            let width = first ? 70 : 72
            if !first { out += "\r\n\t" }
            out += rest.prefix(width)
            rest = rest.dropFirst(width)
            first = false
        }
        return out
    }
}
