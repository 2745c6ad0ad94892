import DNSCore
import Foundation

/// Verifies the DKIM signatures of a received message (RFC 6376 §6; Ed25519-SHA256, RFC 8463;
/// RSA-SHA256, RFC 8301), each on its own: a message may carry several, from several domains.
///
/// Per signature, in order: the field parses (tag list, required tags `v a b bh d h s`, `From` in
/// `h=`, `i=` within `d=`, a known algorithm: rsa-sha1 is refused, RFC 8301), `x=` has not passed
/// and `t=` is not in the future (a little skew allowed), the key record at `<s>._domainkey.<d>`
/// (fetched concurrently for all signatures) allows it (`k=`, `h=`, `s=`, `t=s`, not revoked, an
/// RSA key of at least `minimumRSABits`), every From field of the message is signed, the body hash
/// (`c=` simple or relaxed, `l=` honoured) and then the signature over the header fields match.
/// See `DKIMResult` for which failure gets which result.
public struct DKIMVerifier: Sendable {
    let resolver: any DNSResolving
    let minimumRSABits: Int
    let maxSignatures: Int
    let now: @Sendable () -> Date

    public init(resolver: any DNSResolving, minimumRSABits: Int = 1024, maxSignatures: Int = 8,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.resolver = resolver
        self.minimumRSABits = minimumRSABits
        self.maxSignatures = max(0, maxSignatures)
        self.now = now
    }

    /// Every DKIM-Signature of the message (up to maxSignatures; the rest are reported permerror
    /// "too many signatures"), in header order. Empty: no signature.
    public func verify(_ message: [UInt8]) async -> [DKIMSignatureOutcome] {
        var prepared = DKIMMessage(message)
        let signatureFields = prepared.fields.filter { $0.name.lowercased() == "dkim-signature" }
        guard !signatureFields.isEmpty else { return [] }
        var signatures = signatureFields.map { DKIMSignatureFields.parse($0.raw, kind: .dkim) }
        for index in signatures.indices where index >= maxSignatures {
            signatures[index].problem = .permerror("too many signatures")
        }
        if prepared.fields.count > DKIMLimits.maxHeaderFields {
            for index in signatures.indices where signatures[index].problem == nil {
                signatures[index].problem = .permerror("more than \(DKIMLimits.maxHeaderFields) header fields")
            }
        }
        let now = Int64(self.now().timeIntervalSince1970.rounded(.down))
        let wanted = Set(signatures.filter { $0.problem == nil && $0.timeProblem(now: now) == nil }.compactMap(DKIMKeyID.init))
        let keys = await DKIMSignatureCheck.fetchKeys(wanted, resolver: resolver)
        return signatures.map { signature in
            let problem = DKIMSignatureCheck.check(signature, key: DKIMKeyID(signature).flatMap { keys[$0] }, message: &prepared,
                                                   minimumRSABits: minimumRSABits, now: now)
            return DKIMSignatureOutcome(result: problem?.result ?? .pass, domain: signature.domain, selector: signature.selector,
                                        identity: signature.identity, algorithm: signature.algorithm, headerB: signature.headerB,
                                        reason: problem?.reason)
        }
    }
}
