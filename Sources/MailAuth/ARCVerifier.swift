import DNSCore
import Foundation

/// Validates the ARC chain of a received message (RFC 8617 §5.2): the structure of its ARC sets
/// (`ARCHeaderSets`), the newest ARC-Message-Signature (verified like a DKIM signature: its `c=`
/// defaults to simple/simple as DKIM's does), then each ARC-Seal from the newest down, each over the
/// sets up to its own (relaxed canonicalization, §5.1.1). For a passing chain it then computes
/// oldest-pass from the older ARC-Message-Signatures (their keys fetched only then). At most 50
/// sets, so at most 50 seal keys plus 50 signature keys (usually a handful, shared).
/// Any failure, a key that cannot be fetched included, makes the chain `fail` (ARC has no error results).
public struct ARCVerifier: Sendable {
    let resolver: any DNSResolving
    let minimumRSABits: Int
    let maxInstances: Int
    let now: @Sendable () -> Date

    public init(resolver: any DNSResolving, minimumRSABits: Int = 1024, maxInstances: Int = 50,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.resolver = resolver
        self.minimumRSABits = minimumRSABits
        self.maxInstances = min(max(1, maxInstances), DKIMLimits.maxARCInstances)
        self.now = now
    }

    public func verify(_ message: [UInt8]) async -> ARCOutcome {
        var prepared = DKIMMessage(message)
        let sets: [ARCHeaderSets.Set]
        switch ARCHeaderSets.parse(prepared.fields, maxInstances: maxInstances) {
        case .none:
            return ARCOutcome(result: .none, instances: 0)
        case .broken(let reason, let highest, let domains):
            return ARCOutcome(result: .fail, instances: highest, reason: reason, domains: domains)
        case .sets(let found):
            sets = found
        }
        let newest = sets.count
        var outcome = ARCOutcome(result: .fail, instances: newest, domains: sets.map(\.sealFields.domain))
        if prepared.fields.count > DKIMLimits.maxHeaderFields {
            outcome.reason = "more than \(DKIMLimits.maxHeaderFields) header fields"
            return outcome
        }
        let now = Int64(self.now().timeIntervalSince1970.rounded(.down))
        // Keys in two rounds: the seals' and the newest ARC-Message-Signature's decide the result;
        // the older signatures' only feed oldest-pass, fetched once the chain passes.
        var keys = await DKIMSignatureCheck.fetchKeys(Set((sets.map(\.sealFields) + [sets[newest - 1].messageSignatureFields]).compactMap(DKIMKeyID.init)),
                                                      resolver: resolver)
        func key(_ fields: DKIMSignatureFields) -> DKIMSignatureCheck.KeyResult? { DKIMKeyID(fields).flatMap { keys[$0] } }
        func checkSignature(_ set: ARCHeaderSets.Set) -> DKIMProblem? {
            DKIMSignatureCheck.check(set.messageSignatureFields, key: key(set.messageSignatureFields), message: &prepared,
                                     minimumRSABits: minimumRSABits, now: now)
        }

        // The newest ARC-Message-Signature must verify.
        if let problem = checkSignature(sets[newest - 1]) {
            outcome.reason = "ARC-Message-Signature i=\(newest): \(problem.reason)"
            return outcome
        }
        // Every ARC-Seal, newest first, over the sets up to its own.
        let fields = prepared.fields
        func raw(_ index: Int) -> [UInt8] { fields[index].raw }
        for set in sets.reversed() {
            let previous = sets[..<(set.instance - 1)].map { (aar: raw($0.authenticationResults), ams: raw($0.messageSignature), seal: raw($0.seal)) }
            let input = ARCHeaderSets.sealInput(previous: previous, aar: raw(set.authenticationResults), ams: raw(set.messageSignature),
                                                ownSeal: set.sealFields.withoutSignature)
            if let problem = DKIMSignatureCheck.check(set.sealFields, key: key(set.sealFields), message: &prepared,
                                                      minimumRSABits: minimumRSABits, now: now, sealInput: input) {
                outcome.reason = "ARC-Seal i=\(set.instance): \(problem.reason)"
                return outcome
            }
        }
        // Oldest-pass: the older ARC-Message-Signatures from the newest down, until one does not verify.
        let older = sets.dropLast()
        let missing = Set(older.compactMap { DKIMKeyID($0.messageSignatureFields) }).subtracting(keys.keys)
        if !missing.isEmpty {
            let more = await DKIMSignatureCheck.fetchKeys(missing, resolver: resolver)
            keys.merge(more) { first, _ in first }
        }
        var oldestPass = 0
        for set in older.reversed() where checkSignature(set) != nil {
            oldestPass = set.instance + 1
            break
        }
        outcome.result = .pass
        outcome.oldestPass = oldestPass
        return outcome
    }
}
