import Crypto
import Foundation

/// Adds this node's ARC set to a message it forwards (RFC 8617 §5.1): ARC-Authentication-Results
/// (what this node found), ARC-Message-Signature (like our DKIM signature: relaxed/relaxed, the
/// same header fields, From oversigned, plus `i=`) and ARC-Seal over the chain (`cv=` from the
/// chain's validation; a failed chain is sealed with `cv=fail` over the new set alone, §5.1.2).
/// With an RSA key the result is what every validator accepts; Ed25519 ARC is not yet common
/// (dkimpy, for one, accepts only rsa-sha256 in ARC).
public enum ARCSealer {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The message with one new ARC set prepended (ARC-Seal, ARC-Message-Signature,
    /// ARC-Authentication-Results, instance = previous + 1, at most 50), signed with `key` (its
    /// domain and selector) and `cv=` from `chain` (none when no previous set, else pass/fail).
    /// `authenticationResults` is the resinfo payload as it would appear after the authserv-id in
    /// an Authentication-Results header (e.g. "spf=pass smtp.mailfrom=a@b.example; dkim=pass
    /// header.d=b.example; dmarc=pass header.from=b.example"). A chain that already failed is sealed
    /// with cv=fail (RFC 8617 §5.1.2). Throws when the key cannot sign.
    public static func seal(_ message: [UInt8], key: DKIMSigningKey, authservID: String, authenticationResults: String,
                            chain: ARCOutcome, time: Date = Date()) throws -> [UInt8] {
        for (text, what) in [(authservID, "authserv-id"), (authenticationResults, "authentication results")]
        where text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
            throw Failure(description: "the \(what) for ARC contains a line break")
        }
        guard !authservID.trimmingCharacters(in: .whitespaces).isEmpty else { throw Failure(description: "an empty authserv-id for ARC") }
        let (fields, bodyStart) = DKIMCanonicalization.split(message)

        // The existing chain: its sets when they are valid and the caller found it passing.
        let parsed = ARCHeaderSets.parse(fields)
        var highest = chain.instances
        switch parsed {
        case .none: break
        case .broken(_, let h, _): highest = max(highest, h)
        case .sets(let sets): highest = max(highest, sets.count)
        }
        let instance = highest + 1
        guard instance <= DKIMLimits.maxARCInstances else {
            throw Failure(description: "the message already has \(highest) ARC sets (at most \(DKIMLimits.maxARCInstances))")
        }
        var previous: [(aar: [UInt8], ams: [UInt8], seal: [UInt8])] = []
        let cv: String
        if instance == 1 {
            cv = "none"
        } else if chain.result == .pass, case .sets(let sets) = parsed, sets.count == highest {
            cv = "pass"
            previous = sets.map { (fields[$0.authenticationResults].raw, fields[$0.messageSignature].raw, fields[$0.seal].raw) }
        } else {
            cv = "fail"  // the seal then covers the new set alone
        }
        let timestamp = Int(time.timeIntervalSince1970)
        let algorithm = key.algorithm.signatureAlgorithm

        let aar = Array(("ARC-Authentication-Results: i=\(instance); " + resultsValue(authservID, authenticationResults)).utf8)

        let bodyHash = Data(SHA256.hash(data: DKIMCanonicalization.relaxedBody(message[bodyStart...]))).base64EncodedString()
        let (names, chosen) = DKIMSigner.signedHeaders(fields)
        let amsUnsigned = Array(DKIMSigner.header(name: "ARC-Message-Signature", tags: [
            "i=\(instance)", "a=\(algorithm)", "c=relaxed/relaxed", "d=\(key.domain)", "s=\(key.selector)", "t=\(timestamp)",
            "h=" + DKIMSigner.fold(names.joined(separator: ":"), separator: ":"), "bh=\(bodyHash)",
        ]).utf8)
        var amsInput: [UInt8] = chosen.flatMap { $0 }
        var own = DKIMCanonicalization.relaxedHeader(amsUnsigned)
        own.removeLast(2)
        amsInput += own
        let ams = amsUnsigned + Array(DKIMSigner.foldBase64(Data(try key.sign(SHA256.hash(data: amsInput))).base64EncodedString()).utf8)

        let sealUnsigned = Array(DKIMSigner.header(name: "ARC-Seal", tags: [
            "i=\(instance)", "a=\(algorithm)", "t=\(timestamp)", "cv=\(cv)", "d=\(key.domain)", "s=\(key.selector)",
        ]).utf8)
        let sealInput = ARCHeaderSets.sealInput(previous: previous, aar: aar, ams: ams, ownSeal: sealUnsigned)
        let seal = sealUnsigned + Array(DKIMSigner.foldBase64(Data(try key.sign(SHA256.hash(data: sealInput))).base64EncodedString()).utf8)

        let crlf: [UInt8] = [0x0D, 0x0A]
        var out: [UInt8] = []
        out.reserveCapacity(message.count + seal.count + ams.count + aar.count + 6)
        out += seal + crlf + ams + crlf + aar + crlf
        out += message
        return out
    }

    /// `authserv-id;` then each result on a line of its own (split at the semicolons outside
    /// quoted strings and comments), or `none` when there is none.
    static func resultsValue(_ authservID: String, _ results: String) -> String {
        var parts: [String] = []
        var current = ""
        var quoted = false, escaped = false, depth = 0
        for ch in results {
            if escaped { escaped = false; current.append(ch); continue }
            switch ch {
            case "\\" where quoted || depth > 0: escaped = true
            case "\"" where depth == 0: quoted.toggle()
            case "(" where !quoted: depth += 1
            case ")" where !quoted && depth > 0: depth -= 1
            case ";" where !quoted && depth == 0:
                parts.append(current)
                current = ""
                continue
            default: break
            }
            current.append(ch)
        }
        parts.append(current)
        let resinfo = parts.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let id = authservID.trimmingCharacters(in: .whitespaces)
        guard !resinfo.isEmpty else { return id + "; none" }
        return id + ";\r\n\t" + resinfo.joined(separator: ";\r\n\t")
    }
}
