import DNSCore

/// DMARC results (RFC 7489 §11.2, the `dmarc=` method of Authentication-Results).
public enum DMARCResult: String, Sendable {
    case none, pass, fail, temperror, permerror
}

/// The DMARC evaluation of one message.
public struct DMARCOutcome: Sendable, Equatable {
    public var result: DMARCResult
    /// The RFC5322.From domain the policy is about (nil when the message has none usable).
    public var fromDomain: String?
    /// The domain whose `_dmarc` record was used (the From domain or its organizational domain).
    public var policyDomain: String?
    /// The policy the record asks for this message's domain (`p=`, or `sp=` for a subdomain).
    public var requestedPolicy: DMARCRecord.Policy?
    /// What to do with the message: the requested policy on failure (weakened when `pct=` leaves
    /// it out of the sample), `none` otherwise.
    public var disposition: DMARCRecord.Policy
    public var reason: String?

    public init(result: DMARCResult, fromDomain: String? = nil, policyDomain: String? = nil, requestedPolicy: DMARCRecord.Policy? = nil,
                disposition: DMARCRecord.Policy = .none, reason: String? = nil) {
        self.result = result; self.fromDomain = fromDomain; self.policyDomain = policyDomain
        self.requestedPolicy = requestedPolicy; self.disposition = disposition; self.reason = reason
    }
}

/// DMARC (RFC 7489 §6.6): finds the policy of the message's author domain and checks that SPF or
/// DKIM passed for a domain aligned with it.
public struct DMARCVerifier: Sendable {
    let resolver: any DNSResolving
    let publicSuffixList: PublicSuffixList
    /// A number in 0..<100 per message, for `pct=` sampling (RFC 7489 §6.6.4).
    let sample: @Sendable () -> Int

    public init(resolver: any DNSResolving, publicSuffixList: PublicSuffixList,
                sample: @escaping @Sendable () -> Int = { Int.random(in: 0..<100) }) {
        self.resolver = resolver; self.publicSuffixList = publicSuffixList; self.sample = sample
    }

    /// The evaluation for a From domain, given the domain SPF passed for (the MAIL FROM domain,
    /// or the HELO name for the null sender; nil when SPF did not pass) and the `d=` of every
    /// DKIM signature that passed.
    public func evaluate(fromDomain rawFrom: String, spfPassDomain: String?, dkimPassDomains: [String]) async -> DMARCOutcome {
        let fromDomain = PublicSuffixList.normalize(rawFrom)
        guard let from = try? DNSName(fromDomain), !from.isRoot, fromDomain.contains(".") else {
            return DMARCOutcome(result: .permerror, fromDomain: fromDomain, reason: "the From domain is not a valid domain name")
        }
        let organizational = publicSuffixList.organizationalDomain(of: fromDomain)
        // Policy discovery (§6.6.3): the From domain's record, else the organizational domain's.
        var found: (DMARCRecord, String)?
        switch await record(at: from) {
        case .found(let r): found = (r, fromDomain)
        case .temporary(let why): return DMARCOutcome(result: .temperror, fromDomain: fromDomain, reason: why)
        case .none:
            if organizational != fromDomain, let org = try? DNSName(organizational) {
                switch await record(at: org) {
                case .found(let r): found = (r, organizational)
                case .temporary(let why): return DMARCOutcome(result: .temperror, fromDomain: fromDomain, reason: why)
                case .none: break
                }
            }
        }
        guard let (record, policyDomain) = found else {
            return DMARCOutcome(result: .none, fromDomain: fromDomain, reason: "no DMARC record")
        }
        var requested = policyDomain == fromDomain ? record.policy : (record.subdomainPolicy ?? record.policy)
        // RFC 9091: a subdomain that does not exist (NXDOMAIN for A, AAAA and MX) gets `np=` when given.
        if policyDomain != fromDomain, let np = record.nonexistentPolicy, await doesNotExist(from) { requested = np }
        let spfAligned = spfPassDomain.map { aligned($0, fromDomain, record.spfAlignment) } ?? false
        let dkimAligned = dkimPassDomains.contains { aligned($0, fromDomain, record.dkimAlignment) }
        if spfAligned || dkimAligned {
            let how = [dkimAligned ? "DKIM" : nil, spfAligned ? "SPF" : nil].compactMap { $0 }.joined(separator: " and ")
            return DMARCOutcome(result: .pass, fromDomain: fromDomain, policyDomain: policyDomain, requestedPolicy: requested,
                                disposition: .none, reason: "aligned \(how) pass")
        }
        var disposition = requested
        var reason = "no aligned SPF or DKIM pass"
        if record.percent < 100, sample() >= record.percent {
            disposition = requested.weaker
            reason += " (pct=\(record.percent): sampled out)"
        }
        return DMARCOutcome(result: .fail, fromDomain: fromDomain, policyDomain: policyDomain, requestedPolicy: requested,
                            disposition: disposition, reason: reason)
    }

    /// Identifier alignment (§3.1): strict, the same domain; relaxed, the same organizational domain.
    public func aligned(_ domain: String, _ fromDomain: String, _ mode: DMARCRecord.Alignment) -> Bool {
        let a = PublicSuffixList.normalize(domain), b = PublicSuffixList.normalize(fromDomain)
        if a == b { return true }
        guard mode == .relaxed else { return false }
        return publicSuffixList.organizationalDomain(of: a) == publicSuffixList.organizationalDomain(of: b)
    }

    /// NXDOMAIN for the name's A, AAAA and MX records alike (RFC 9091 §2.1); any other answer or
    /// failure: it may exist.
    func doesNotExist(_ name: DNSName) async -> Bool {
        for type in [DNSRecordType.a, .aaaa, .mx] {
            do {
                _ = try await resolver.query(name, type)
                return false
            } catch let error as DNSError where error.code == .nameNotFound {
                continue
            } catch {
                return false
            }
        }
        return true
    }

    enum Lookup { case found(DMARCRecord), none, temporary(String) }

    /// The one valid DMARC record at `_dmarc.<domain>`: several, or none that parses, count as none
    /// (§6.6.3 steps 4–5).
    func record(at domain: DNSName) async -> Lookup {
        guard let name = try? domain.prepending("_dmarc") else { return .none }
        do {
            let texts = try await resolver.txt(name).records.map(\.text).filter(DMARCRecord.isDMARC)
            guard texts.count == 1, let record = try? DMARCRecord.parse(texts[0]) else { return .none }
            return .found(record)
        } catch let error as DNSError where error.isNotFound {
            return .none
        } catch {
            return .temporary("DMARC record of \(domain) not available: \(error)")
        }
    }
}
