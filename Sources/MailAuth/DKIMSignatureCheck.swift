import Crypto
import CryptoExtras
import DNSCore

/// A message being verified: its header fields and body, with the canonical bodies computed so
/// far (several signatures usually hash the same body the same way).
struct DKIMMessage {
    let fields: [DKIMCanonicalization.HeaderField]
    let body: ArraySlice<UInt8>
    private var canonicalBodies: [DKIMCanonicalization.Algorithm: [UInt8]] = [:]
    private var hashes: [BodyHashKey: [UInt8]] = [:]

    private struct BodyHashKey: Hashable {
        var algorithm: DKIMCanonicalization.Algorithm
        var length: Int64?
    }

    init(_ message: [UInt8]) {
        let (fields, bodyStart) = DKIMCanonicalization.split(message)
        self.fields = fields
        body = message[bodyStart...]
    }

    /// SHA-256 of the body canonicalized with `algorithm`, cut to `length` bytes (`l=`); nil when
    /// the canonical body is shorter than `length` (RFC 6376 §3.5: such a signature fails).
    mutating func bodyHash(_ algorithm: DKIMCanonicalization.Algorithm, length: Int64?) -> [UInt8]? {
        let key = BodyHashKey(algorithm: algorithm, length: length)
        if let known = hashes[key] { return known }
        let canonical: [UInt8]
        if let known = canonicalBodies[algorithm] {
            canonical = known
        } else {
            canonical = algorithm.body(body)
            canonicalBodies[algorithm] = canonical
        }
        var part = canonical[...]
        if let length {
            guard length <= Int64(canonical.count) else { return nil }
            part = canonical.prefix(Int(length))
        }
        let hash = Array(SHA256.hash(data: part))
        hashes[key] = hash
        return hash
    }

    /// How many From fields the message has.
    var fromCount: Int { fields.reduce(0) { $0 + ($1.name.lowercased() == "from" ? 1 : 0) } }
}

/// Where a key lives: `<selector>._domainkey.<domain>`, lower-cased.
struct DKIMKeyID: Hashable, Sendable {
    var selector: String
    var domain: String

    init(selector: String, domain: String) {
        self.selector = selector.lowercased()
        self.domain = domain.lowercased()
    }

    init?(_ fields: DKIMSignatureFields) {
        guard !fields.selector.isEmpty, !fields.domain.isEmpty else { return nil }
        self.init(selector: fields.selector, domain: fields.domain)
    }
}

/// Fetching keys and checking one signature against its key: what DKIM and ARC verification share.
enum DKIMSignatureCheck {
    typealias KeyResult = Result<DKIMKeyRecord, DKIMProblem>

    /// The key record at `<s>._domainkey.<d>` (RFC 6376 §6.1.2): the first TXT record that parses;
    /// NXDOMAIN or NODATA is a `permerror` ("no key"), any other DNS failure a `temperror`.
    static func fetchKey(_ id: DKIMKeyID, resolver: any DNSResolving) async -> KeyResult {
        let labels = (id.selector + "._domainkey." + id.domain).split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
        guard let name = try? DNSName(labels: labels) else { return .failure(.permerror("invalid key name \(id.selector)._domainkey.\(id.domain)")) }
        let answer: DNSAnswer<TXTRecord>
        do {
            answer = try await resolver.txt(name)
        } catch let error as DNSError {
            return .failure(error.isNotFound ? .permerror("no key record at \(name)") : .temperror("key lookup at \(name): \(error.code)"))
        } catch {
            return .failure(.temperror("key lookup at \(name) did not finish"))
        }
        var first: DKIMProblem?
        for record in answer.records {
            do throws(DKIMProblem) {
                return .success(try DKIMKeyRecord.parse(record.bytes))
            } catch {
                first = first ?? error
            }
        }
        return .failure(first ?? .permerror("no key record at \(name)"))
    }

    /// The keys of `ids`, fetched concurrently.
    static func fetchKeys(_ ids: Set<DKIMKeyID>, resolver: any DNSResolving) async -> [DKIMKeyID: KeyResult] {
        await withTaskGroup(of: (DKIMKeyID, KeyResult).self) { group in
            for id in ids { group.addTask { (id, await fetchKey(id, resolver: resolver)) } }
            var out: [DKIMKeyID: KeyResult] = [:]
            for await (id, result) in group { out[id] = result }
            return out
        }
    }

    /// The problem with `signature` (nil: it verifies). `key` is its key record as fetched;
    /// `sealInput` replaces the header hash input for an ARC-Seal (which has no body hash).
    static func check(_ signature: DKIMSignatureFields, key: KeyResult?, message: inout DKIMMessage, minimumRSABits: Int,
                      now: Int64, sealInput: [UInt8]? = nil) -> DKIMProblem? {
        if let problem = signature.problem { return problem }
        if let problem = signature.timeProblem(now: now) { return problem }
        guard let key else { return .temperror("key not fetched") }
        let record: DKIMKeyRecord
        switch key {
        case .failure(let problem): return problem
        case .success(let r): record = r
        }
        guard let keyType = signature.keyType else { return .permerror("unknown algorithm a=\(signature.algorithm)") }
        guard record.keyType == keyType.rawValue else { return .permerror("key type k=\(record.keyType) does not match a=\(signature.algorithm)") }
        if let hashes = record.hashes, !hashes.contains("sha256") { return .permerror("key record does not allow sha256 (h=)") }
        guard record.allowsEmail else { return .permerror("key record is not for email (s=)") }
        guard !record.isRevoked else { return .permerror("key revoked") }
        if signature.kind == .dkim, record.isStrict, let identity = signature.identity,
           let at = identity.lastIndex(of: "@"), identity[identity.index(after: at)...].lowercased() != signature.domain.lowercased() {
            return .permerror("key record requires i= in d= exactly (t=s)")
        }
        let verify: (SHA256.Digest) -> Bool
        switch keyType {
        case .ed25519:
            guard record.publicKey.count == 32, let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: record.publicKey) else {
                return .permerror("key record: p= is not an Ed25519 key")
            }
            // PureEdDSA over the SHA-256 hash (RFC 8463 §3).
            verify = { digest in publicKey.isValidSignature(signature.signature, for: Array(digest)) }
        case .rsa:
            guard let bits = DKIMKeyRecord.rsaModulusBits(record.publicKey) else { return .permerror("key record: p= is not an RSA key") }
            guard bits >= max(minimumRSABits, 1024) else { return .fail("RSA key under \(max(minimumRSABits, 1024)) bits") }
            guard bits <= DKIMLimits.maxRSABits else { return .permerror("RSA key over \(DKIMLimits.maxRSABits) bits") }
            guard let publicKey = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: record.publicKey) else {
                return .permerror("key record: p= is not a usable RSA key")
            }
            verify = { digest in
                publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature.signature), for: digest,
                                                  padding: .insecurePKCS1v1_5)
            }
        }

        let input: [UInt8]
        if let sealInput {
            input = sealInput
        } else {
            // Every From must be signed: one added above the signed ones would be what a reader
            // sees (RFC 6376 §8.15; RFC 5322 allows one From).
            let signedFroms = signature.signedFields.reduce(0) { $0 + ($1 == "from" ? 1 : 0) }
            if message.fromCount > signedFroms { return .fail("a From field is not signed") }
            guard let bodyHash = message.bodyHash(signature.bodyCanonicalization, length: signature.length) else {
                return .fail("l= is longer than the body")
            }
            guard bodyHash == signature.bodyHash else { return .fail("body hash mismatch") }
            input = DKIMHeaderHash.input(message.fields, names: signature.signedFields, algorithm: signature.headerCanonicalization,
                                         ownField: signature.withoutSignature)
        }
        guard verify(SHA256.hash(data: input)) else { return .fail("signature does not verify") }
        return nil
    }
}
