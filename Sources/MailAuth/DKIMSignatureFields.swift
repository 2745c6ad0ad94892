/// A parsed `DKIM-Signature` (RFC 6376 §3.5), `ARC-Message-Signature` (RFC 8617 §4.1.2: DKIM's
/// tags without `v=`, `i=` the instance) or `ARC-Seal` (§4.1.3: `i=`, `cv=`, no `h=`, no `bh=`).
/// Pure (fuzzed, Fuzz/DKIMFuzz).
///
/// Parsing never fails as a whole: it fills what it can (so an outcome can still name `d=`, `s=`
/// and `header.b`) and records the first reason the signature cannot be verified in `problem`.
struct DKIMSignatureFields: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case dkim, arcMessageSignature, arcSeal

        var fieldName: String {
            switch self {
            case .dkim: "DKIM-Signature"
            case .arcMessageSignature: "ARC-Message-Signature"
            case .arcSeal: "ARC-Seal"
            }
        }
    }

    enum KeyType: String, Sendable { case rsa, ed25519 }

    var kind: Kind
    /// `a=` as written.
    var algorithm = ""
    var keyType: KeyType?
    var signature: [UInt8] = []
    /// The first 12 characters of `b=` (only base64 characters kept).
    var headerB = ""
    var bodyHash: [UInt8] = []
    var headerCanonicalization = DKIMCanonicalization.Algorithm.simple
    var bodyCanonicalization = DKIMCanonicalization.Algorithm.simple
    /// `d=` as written.
    var domain = ""
    /// `s=` as written.
    var selector = ""
    /// `i=` as written (DKIM).
    var identity: String?
    /// `i=` (ARC).
    var instance: Int?
    /// `cv=` lower-cased (ARC-Seal).
    var chainValidation: String?
    /// `h=`, lower-cased.
    var signedFields: [String] = []
    /// `l=` (saturating).
    var length: Int64?
    var timestamp: Int64?
    var expiration: Int64?
    /// The whole field with the `b=` value removed (RFC 6376 §3.7), for the header hash.
    var withoutSignature: [UInt8] = []
    /// The first reason it cannot be verified, nil when it can be tried.
    var problem: DKIMProblem?

    /// Parses the field (`raw` as `DKIMCanonicalization.split` gives it: name, colon, value).
    static func parse(_ raw: [UInt8], kind: Kind) -> DKIMSignatureFields {
        var fields = DKIMSignatureFields(kind: kind)
        do throws(DKIMProblem) {
            try fields.fill(raw)
        } catch {
            fields.problem = error
        }
        return fields
    }

    private mutating func fill(_ raw: [UInt8]) throws(DKIMProblem) {
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { throw .permerror("\(kind.fieldName) without a colon") }
        let valueOffset = colon + 1
        let list = try DKIMTagList.parse(Array(raw[valueOffset...]))
        if let b = list.tag("b") { withoutSignature = DKIMHeaderHash.removingSignature(raw, tag: b, valueOffset: valueOffset) }
        // Informational tags first, so that an outcome names them whatever else is wrong.
        domain = list["d"].map(Self.reportable) ?? ""
        selector = list["s"].map(Self.reportable) ?? ""
        algorithm = list["a"].map(Self.reportable) ?? ""
        if kind == .dkim { identity = list["i"].map(Self.reportable) }
        if let b = list["b"] { headerB = String(decoding: b.filter(Self.isBase64Character).prefix(12), as: UTF8.self) }

        let required: [String]
        switch kind {
        case .dkim: required = ["v", "a", "b", "bh", "d", "h", "s"]
        case .arcMessageSignature: required = ["i", "a", "b", "bh", "d", "h", "s"]
        case .arcSeal: required = ["i", "a", "b", "cv", "d", "s"]
        }
        for tag in required where list[tag] == nil { throw .permerror("\(kind.fieldName) without \(tag)=") }

        if kind == .dkim {
            guard list["v"] == Array("1".utf8) else { throw .permerror("unknown version v=\(list.text("v") ?? "")") }
        } else {
            guard let i = DKIMTagList.number(list["i"]!, maxDigits: 2), (1...Int64(DKIMLimits.maxARCInstances)).contains(i) else {
                throw .permerror("\(kind.fieldName) with an invalid instance i=\(list.text("i") ?? "")")
            }
            instance = Int(i)
        }

        switch algorithm.lowercased() {
        case "rsa-sha256": keyType = .rsa
        case "ed25519-sha256": keyType = .ed25519
        case "rsa-sha1": throw .permerror("rsa-sha1 is not accepted (RFC 8301)")
        default: throw .permerror("unknown algorithm a=\(algorithm)")
        }

        guard let signature = DKIMBase64.decode(list["b"]!), !signature.isEmpty else { throw .permerror("b= is not base64") }
        self.signature = signature
        if kind != .arcSeal {
            guard let bodyHash = DKIMBase64.decode(list["bh"]!), !bodyHash.isEmpty else { throw .permerror("bh= is not base64") }
            self.bodyHash = bodyHash
        }

        // Checked as written: white space inside a name makes it invalid, not shorter.
        guard Self.isDomainName(list.text("d") ?? "") else { throw .permerror("invalid d=\(domain)") }
        guard Self.isDomainName(list.text("s") ?? "") else { throw .permerror("invalid s=\(selector)") }

        if kind == .arcSeal {
            guard list["h"] == nil else { throw .permerror("ARC-Seal with an h= tag") }
            let cv = (list.text("cv") ?? "").lowercased()
            guard ["none", "pass", "fail"].contains(cv) else { throw .permerror("ARC-Seal with an invalid cv=\(cv)") }
            chainValidation = cv
            headerCanonicalization = .relaxed  // RFC 8617 §5.1.1: relaxed header canonicalization only
        } else {
            if let c = list["c"] {
                let parts = DKIMTagList.compact(c).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
                    .map { String(decoding: $0, as: UTF8.self).lowercased() }
                guard parts.count <= 2, let header = DKIMCanonicalization.Algorithm(rawValue: parts[0]),
                      let body = DKIMCanonicalization.Algorithm(rawValue: parts.count == 2 ? parts[1] : "simple") else {
                    throw .permerror("unknown canonicalization c=\(String(decoding: c, as: UTF8.self))")
                }
                headerCanonicalization = header
                bodyCanonicalization = body
            }
            let names = DKIMTagList.list(list["h"]!)
            guard names.count <= DKIMLimits.maxSignedFields else { throw .permerror("h= lists more than \(DKIMLimits.maxSignedFields) fields") }
            guard names.allSatisfy({ !$0.isEmpty }) else { throw .permerror("h= has an empty field name") }
            signedFields = names.map { $0.lowercased() }
            guard signedFields.contains("from") else { throw .permerror("From is not signed (h=)") }
            if kind == .arcMessageSignature, signedFields.contains("arc-seal") {
                throw .permerror("ARC-Message-Signature signs ARC-Seal")
            }
            if let l = list["l"] {
                guard let length = DKIMTagList.number(l) else { throw .permerror("invalid l=") }
                self.length = length
            }
            if let q = list["q"] {
                guard DKIMTagList.list(q).contains(where: { $0.lowercased() == "dns/txt" }) else { throw .permerror("q= without dns/txt") }
            }
        }

        if kind == .dkim, let identity {
            guard let at = identity.lastIndex(of: "@") else { throw .permerror("invalid i=\(identity)") }
            let host = identity[identity.index(after: at)...].lowercased(), d = domain.lowercased()
            guard host == d || host.hasSuffix("." + d) else { throw .permerror("i= is not within d=") }
        }

        if let t = list["t"] {
            guard let value = DKIMTagList.number(t) else { throw .permerror("invalid t=") }
            timestamp = value
        }
        if let x = list["x"] {
            guard let value = DKIMTagList.number(x) else { throw .permerror("invalid x=") }
            expiration = value
            if let timestamp, value < timestamp { throw .permerror("x= before t=") }
        }
    }

    /// A tag value as an outcome reports it (it may end up in an Authentication-Results field):
    /// white space and folding removed.
    static func reportable(_ value: [UInt8]) -> String {
        String(decoding: DKIMTagList.compact(value), as: UTF8.self)
    }

    static func isBase64Character(_ byte: UInt8) -> Bool {
        DKIMTagList.isAlpha(byte) || DKIMTagList.isDigit(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
    }

    /// The problem with `t=` and `x=` at `now` (seconds since 1970), allowing `DKIMLimits.clockSkew`.
    func timeProblem(now: Int64) -> DKIMProblem? {
        if let expiration, expiration < now - DKIMLimits.clockSkew { return .fail("signature expired (x=)") }
        if let timestamp, timestamp > now + DKIMLimits.clockSkew { return .permerror("t= is in the future") }
        return nil
    }

    /// A domain name as DKIM writes `d=` and `s=` (RFC 6376 §3.5): dot-separated labels of letters,
    /// digits, "-" and "_" (ASCII: an internationalised name must be given as A-labels), at most
    /// 253 characters.
    static func isDomainName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        var label = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard label > 0 else { return false }
                label = 0
            } else {
                guard DKIMTagList.isAlpha(byte) || DKIMTagList.isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") else {
                    return false
                }
                label += 1
                guard label <= 63 else { return false }
            }
        }
        return label > 0
    }
}
