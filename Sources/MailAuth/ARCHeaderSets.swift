/// The ARC sets of a message (RFC 8617 §4): its ARC-Seal, ARC-Message-Signature and
/// ARC-Authentication-Results fields grouped by instance, with the structural checks of §5.2
/// (each instance exactly one of each, instances contiguous from 1, at most 50, `cv=none` at 1 and
/// `cv=pass` above, no `cv=fail`), and what an ARC-Seal signs (§5.1.1). Pure (fuzzed, Fuzz/DKIMFuzz).
struct ARCHeaderSets: Sendable, Equatable {
    struct Set: Sendable, Equatable {
        var instance: Int
        /// Indices in the message's fields.
        var authenticationResults: Int
        var messageSignature: Int
        var seal: Int
        var messageSignatureFields: DKIMSignatureFields
        var sealFields: DKIMSignatureFields
    }

    enum Parsed: Sendable, Equatable {
        /// No ARC header field.
        case none
        /// Structure broken: the chain fails whatever the signatures say.
        case broken(reason: String, highest: Int, domains: [String])
        /// Sets 1…n in order, structure and `cv=` values valid.
        case sets([Set])
    }

    static let sealName = "arc-seal", messageSignatureName = "arc-message-signature", authenticationResultsName = "arc-authentication-results"

    /// The `i=` of an ARC-Authentication-Results field (`raw` with its name): the value must start
    /// with `i=N;` (RFC 8617 §4.1.1), white space allowed around each part.
    static func authenticationResultsInstance(_ raw: [UInt8]) -> Int? {
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        var i = colon + 1
        func skip() { while i < raw.count, DKIMTagList.isWhiteSpace(raw[i]) { i += 1 } }
        skip()
        guard i < raw.count, raw[i] == UInt8(ascii: "i") else { return nil }
        i += 1
        skip()
        guard i < raw.count, raw[i] == UInt8(ascii: "=") else { return nil }
        i += 1
        skip()
        let start = i
        while i < raw.count, DKIMTagList.isDigit(raw[i]), i - start < 3 { i += 1 }
        guard let n = DKIMTagList.number(Array(raw[start..<i]), maxDigits: 2) else { return nil }
        skip()
        guard i < raw.count, raw[i] == UInt8(ascii: ";") else { return nil }
        return Int(n)
    }

    /// Groups and checks the ARC fields of `fields`.
    static func parse(_ fields: [DKIMCanonicalization.HeaderField], maxInstances: Int = DKIMLimits.maxARCInstances) -> Parsed {
        let limit = min(maxInstances, DKIMLimits.maxARCInstances)
        var seals: [Int: [Int]] = [:], signatures: [Int: [Int]] = [:], results: [Int: [Int]] = [:]
        var parsedSeals: [Int: DKIMSignatureFields] = [:], parsedSignatures: [Int: DKIMSignatureFields] = [:]
        var highest = 0
        var problem: String?
        var count = 0
        for (index, field) in fields.enumerated() {
            let name = field.name.lowercased()
            guard name == sealName || name == messageSignatureName || name == authenticationResultsName else { continue }
            count += 1
            guard count <= 3 * limit else {
                problem = problem ?? "more than \(3 * limit) ARC header fields"
                break
            }
            let instance: Int?
            switch name {
            case sealName:
                let parsed = DKIMSignatureFields.parse(field.raw, kind: .arcSeal)
                instance = parsed.instance ?? tagInstance(field.raw)
                if let instance, parsedSeals[instance] == nil { parsedSeals[instance] = parsed }
                if let instance { seals[instance, default: []].append(index) }
            case messageSignatureName:
                let parsed = DKIMSignatureFields.parse(field.raw, kind: .arcMessageSignature)
                instance = parsed.instance ?? tagInstance(field.raw)
                if let instance, parsedSignatures[instance] == nil { parsedSignatures[instance] = parsed }
                if let instance { signatures[instance, default: []].append(index) }
            default:
                instance = authenticationResultsInstance(field.raw)
                if let instance { results[instance, default: []].append(index) }
            }
            guard let instance else {
                problem = problem ?? "\(field.name) without a valid i="
                continue
            }
            highest = max(highest, instance)
            if !(1...limit).contains(instance) { problem = problem ?? "ARC instance \(instance) out of range 1…\(limit)" }
        }
        if count == 0 { return .none }
        let domains = parsedSeals.keys.sorted().compactMap { key in parsedSeals[key].map(\.domain) }
        if let problem { return .broken(reason: problem, highest: highest, domains: domains) }

        var sets: [Set] = []
        for instance in 1...max(highest, 1) {
            let s = seals[instance] ?? [], m = signatures[instance] ?? [], r = results[instance] ?? []
            for (list, what) in [(s, "ARC-Seal"), (m, "ARC-Message-Signature"), (r, "ARC-Authentication-Results")] {
                if list.isEmpty { return .broken(reason: "instance \(instance) has no \(what)", highest: highest, domains: domains) }
                if list.count > 1 { return .broken(reason: "instance \(instance) has \(list.count) \(what) fields", highest: highest, domains: domains) }
            }
            let seal = parsedSeals[instance]!
            if let problem = seal.problem {
                // A seal that cannot be read: its cv= is unknown, the chain fails.
                return .broken(reason: "ARC-Seal i=\(instance): \(problem.reason)", highest: highest, domains: domains)
            }
            sets.append(Set(instance: instance, authenticationResults: r[0], messageSignature: m[0], seal: s[0],
                            messageSignatureFields: parsedSignatures[instance]!, sealFields: seal))
        }
        for set in sets {
            let cv = set.sealFields.chainValidation ?? ""
            if cv == "fail" { return .broken(reason: "ARC-Seal i=\(set.instance) has cv=fail", highest: highest, domains: domains) }
            if set.instance == 1, cv != "none" { return .broken(reason: "ARC-Seal i=1 has cv=\(cv), not none", highest: highest, domains: domains) }
            if set.instance > 1, cv != "pass" { return .broken(reason: "ARC-Seal i=\(set.instance) has cv=\(cv), not pass", highest: highest, domains: domains) }
        }
        return .sets(sets)
    }

    /// The `i=` of an ARC-Seal or ARC-Message-Signature whose other tags are wrong (for grouping).
    private static func tagInstance(_ raw: [UInt8]) -> Int? {
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")),
              let list = try? DKIMTagList.parse(Array(raw[(colon + 1)...])), let i = list["i"],
              let n = DKIMTagList.number(i, maxDigits: 2) else { return nil }
        return Int(n)
    }

    /// What the ARC-Seal of the last set of `sets` signs (RFC 8617 §5.1.1), with relaxed header
    /// canonicalization: each set from the first in instance order, its ARC-Authentication-Results,
    /// ARC-Message-Signature and ARC-Seal fields, the last seal `ownSeal` (its field with `b=` emptied)
    /// without its CRLF. `previous` are the complete earlier sets as (AAR, AMS, AS) raw fields.
    static func sealInput(previous: [(aar: [UInt8], ams: [UInt8], seal: [UInt8])], aar: [UInt8], ams: [UInt8], ownSeal: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for set in previous {
            out += DKIMCanonicalization.relaxedHeader(set.aar)
            out += DKIMCanonicalization.relaxedHeader(set.ams)
            out += DKIMCanonicalization.relaxedHeader(set.seal)
        }
        out += DKIMCanonicalization.relaxedHeader(aar)
        out += DKIMCanonicalization.relaxedHeader(ams)
        var own = DKIMCanonicalization.relaxedHeader(ownSeal)
        own.removeLast(2)
        return out + own
    }
}
