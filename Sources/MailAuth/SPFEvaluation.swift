import DNSCore

/// One run of check_host() (RFC 7208 §4) with its counters: DNS-querying terms and void lookups
/// over the whole check, includes and redirects included (§4.6.4), and the `p` macro's name,
/// looked up at most once. A value owned by the task that runs the check.
struct SPFEvaluation {
    let resolver: any DNSResolving
    let limits: SPFLimits
    /// The client (IPv4 when it came IPv4-mapped).
    let ip: IPAddress
    let sender: String
    let helo: String
    let receivingHost: String
    let timestamp: Int64

    var dnsTerms = 0
    var voidLookups = 0
    /// The client's validated reverse names (§5.5), once looked up for `%{p}`.
    var validatedNames: [DNSName]?

    init(resolver: any DNSResolving, limits: SPFLimits, ip: IPAddress, sender: String, helo: String, receivingHost: String, timestamp: Int64) {
        self.resolver = resolver; self.limits = limits; self.ip = ip; self.sender = sender; self.helo = helo
        self.receivingHost = receivingHost; self.timestamp = timestamp
    }

    /// Ends the check at once: `temperror` or `permerror`, with the reason.
    enum Stop: Error {
        case temperror(String)
        case permerror(String)
    }

    /// A result of pass, fail, softfail, neutral or none, and for a `fail` the `exp=` of the record
    /// that gave it with that record's domain.
    struct Verdict {
        var result: SPFResult
        var reason: String
        var explanation: (spec: SPFMacroString, domain: [UInt8])?
    }

    /// check_host() on `domain`, then the explanation of a `fail`.
    mutating func run(domain: String) async -> (SPFResult, String?, String) {
        do {
            let verdict = try await evaluate(Array(domain.utf8))
            var explanation: String?
            if verdict.result == .fail, let exp = verdict.explanation {
                explanation = await explain(exp.spec, domain: exp.domain)
            }
            return (verdict.result, explanation, verdict.reason)
        } catch {
            switch error {
            case .temperror(let reason): return (.temperror, nil, reason)
            case .permerror(let reason): return (.permerror, nil, reason)
            }
        }
    }

    // MARK: - check_host()

    /// check_host() on one domain (the first, or an include's or a redirect's target).
    mutating func evaluate(_ domain: [UInt8]) async throws(Stop) -> Verdict {
        let shown = SPFMacroString.quoted(domain)
        var trimmed = domain
        if trimmed.last == UInt8(ascii: ".") { trimmed.removeLast() }
        guard trimmed.count <= 253, trimmed.first != UInt8(ascii: "["), let name = SPFMacroString.targetName(trimmed),
              name.labels.count >= 2 else {
            return Verdict(result: .none, reason: "\(shown) is not a valid domain name")
        }
        guard let texts = try await Self.fetch({ try await resolver.txt(name) }, "TXT", name) else {
            return Verdict(result: .none, reason: "no SPF record at \(name) (no TXT records)")
        }
        let records = texts.map(\.bytes).filter { SPFRecord.isSPF($0) }
        guard let first = records.first else { return Verdict(result: .none, reason: "no SPF record at \(name)") }
        guard records.count == 1 else { throw .permerror("\(records.count) SPF records at \(name)") }
        let record: SPFRecord
        do { record = try SPFRecord.parse(bytes: first, maxLength: limits.maxRecordLength) } catch {
            throw .permerror("the SPF record of \(name): \(error.reason)")
        }

        for directive in record.directives {
            if try await matches(directive.mechanism, domain: trimmed) {
                let result = directive.qualifier.result
                return Verdict(result: result, reason: "\(directive) in the SPF record of \(name)",
                               explanation: result == .fail ? record.explanation.map { (spec: $0, domain: trimmed) } : nil)
            }
        }
        if let redirect = record.redirect {
            try countDNSTerm()
            let target = try await expandTarget(redirect, domain: trimmed)
            let inner = try await evaluate(target)
            if inner.result == .none {
                throw .permerror("redirect=\(redirect) of \(name): \(inner.reason)")
            }
            return inner
        }
        return Verdict(result: .neutral, reason: "no mechanism matched in the SPF record of \(name)")
    }

    /// Whether one mechanism matches the client (§5).
    mutating func matches(_ mechanism: SPFRecord.Mechanism, domain: [UInt8]) async throws(Stop) -> Bool {
        switch mechanism {
        case .all:
            return true
        case .ip4(let network, let prefix):
            return ip.isIPv4 && Self.contains(network, prefix, ip)
        case .ip6(let network, let prefix):
            return !ip.isIPv4 && Self.contains(network, prefix, ip)
        case .include(let spec):
            try countDNSTerm()
            let target = try await expandTarget(spec, domain: domain)
            let inner = try await evaluate(target)
            switch inner.result {
            case .pass: return true
            case .fail, .softfail, .neutral: return false
            case .none: throw .permerror("include:\(spec): \(inner.reason)")
            case .temperror: throw .temperror(inner.reason)  // not reached: errors end the check as `Stop`
            case .permerror: throw .permerror(inner.reason)
            }
        case .a(let spec, let cidr):
            try countDNSTerm()
            let expanded = try await expandTarget(spec, domain: domain)
            guard let name = SPFMacroString.targetName(expanded) else { return false }
            guard let addresses = try await addresses(of: name) else { try countVoidLookup(name); return false }
            return addresses.contains { Self.contains($0, ip.isIPv4 ? cidr.ip4 : cidr.ip6, ip) }
        case .mx(let spec, let cidr):
            try countDNSTerm()
            let expanded = try await expandTarget(spec, domain: domain)
            guard let name = SPFMacroString.targetName(expanded) else { return false }
            guard let exchanges = try await Self.fetch({ try await resolver.mx(name) }, "MX", name) else {
                try countVoidLookup(name)
                return false
            }
            guard exchanges.count <= limits.mxAddresses else {
                throw .permerror("\(exchanges.count) MX records at \(name), more than \(limits.mxAddresses)")
            }
            for exchange in exchanges where !exchange.isNullMX {
                if let addresses = try await addresses(of: exchange.exchange),
                   addresses.contains(where: { Self.contains($0, ip.isIPv4 ? cidr.ip4 : cidr.ip6, ip) }) {
                    return true
                }
            }
            return false
        case .ptr(let spec):
            try countDNSTerm()
            let expanded = try await expandTarget(spec, domain: domain)
            guard let target = SPFMacroString.targetName(expanded) else { return false }
            guard let names = try await validateReverseNames(countingVoid: true) else { return false }
            return names.contains { $0.isSubdomain(of: target) }
        case .exists(let spec):
            try countDNSTerm()
            let expanded = try await expandTarget(spec, domain: domain)
            guard let name = SPFMacroString.targetName(expanded) else { return false }
            // Always an A query, whatever the client's address family (§5.7).
            guard try await Self.fetch({ try await resolver.a(name) }, "A", name) != nil else {
                try countVoidLookup(name)
                return false
            }
            return true
        }
    }

    // MARK: - Limits

    mutating func countDNSTerm() throws(Stop) {
        dnsTerms += 1
        guard dnsTerms <= limits.dnsMechanisms else {
            throw .permerror("more than \(limits.dnsMechanisms) DNS-querying mechanisms and redirects")
        }
    }

    mutating func countVoidLookup(_ name: DNSName) throws(Stop) {
        voidLookups += 1
        guard voidLookups <= limits.voidLookups else {
            throw .permerror("more than \(limits.voidLookups) void DNS lookups (the last at \(name))")
        }
    }

    // MARK: - DNS

    /// The records, nil for NXDOMAIN, NODATA or an invalid name; a temporary failure ends the check.
    static func fetch<T>(_ query: () async throws -> DNSAnswer<T>, _ type: String, _ name: DNSName) async throws(Stop) -> [T]? {
        do {
            return try await query().records
        } catch let error as DNSError {
            if error.isTemporary { throw .temperror("DNS \(type) lookup of \(name): \(error.code)") }
            return nil
        } catch {
            throw .temperror("DNS \(type) lookup of \(name): \(error is CancellationError ? "cancelled" : "failed")")
        }
    }

    /// The A or AAAA records of `name`, as the client's address family.
    func addresses(of name: DNSName) async throws(Stop) -> [IPAddress]? {
        if ip.isIPv4 {
            return try await Self.fetch({ try await resolver.a(name) }, "A", name)
        }
        return try await Self.fetch({ try await resolver.aaaa(name) }, "AAAA", name)
    }

    /// §5.5: the names of the client's PTR records (the first `ptrNames`) whose addresses include
    /// the client. Nil when the PTR lookup found nothing or failed (a DNS error here is no match).
    mutating func validateReverseNames(countingVoid: Bool) async throws(Stop) -> [DNSName]? {
        let reverse = DNSName.reverse(ip)
        let names: [DNSName]
        do {
            names = try await resolver.ptr(ip).records
        } catch let error as DNSError {
            if error.isNotFound && countingVoid { try countVoidLookup(reverse) }
            return nil
        } catch {
            if error is CancellationError { throw .temperror("DNS PTR lookup of \(reverse): cancelled") }
            return nil
        }
        var validated: [DNSName] = []
        for name in names.prefix(limits.ptrNames) {
            do {
                let addresses: [IPAddress]
                if ip.isIPv4 { addresses = try await resolver.a(name).records } else { addresses = try await resolver.aaaa(name).records }
                if addresses.contains(ip) { validated.append(name) }
            } catch {
                if error is CancellationError { throw .temperror("DNS lookup of \(name): cancelled") }
                // §5.5: a name whose address lookup fails is skipped.
            }
        }
        return validated
    }

    // MARK: - Macros

    func context(domain: [UInt8], validatedName: [UInt8]) -> SPFMacroContext {
        var context = SPFMacroContext(sender: sender, domain: "", ip: ip, helo: helo, receivingHost: receivingHost, timestamp: timestamp)
        context.domain = domain
        context.validatedName = validatedName
        return context
    }

    /// `%{p}` (§7.3): a validated name equal to `domain`, else one below it, else any; "unknown".
    mutating func validatedName(for domain: [UInt8]) async throws(Stop) -> [UInt8] {
        if validatedNames == nil { validatedNames = try await validateReverseNames(countingVoid: false) ?? [] }
        let names = validatedNames ?? []
        let target = SPFMacroString.targetName(domain)
        let chosen = names.first { $0 == target } ?? names.first { name in target.map { name.isSubdomain(of: $0) } ?? false } ?? names.first
        return Array((chosen?.description ?? "unknown").utf8)
    }

    /// A mechanism's or redirect's target: the expanded domain-spec, or the current domain.
    mutating func expandTarget(_ spec: SPFMacroString?, domain: [UInt8]) async throws(Stop) -> [UInt8] {
        guard let spec else { return domain }
        let p = spec.usesValidatedName ? try await validatedName(for: domain) : Array("unknown".utf8)
        // Too long to be a name: it cannot exist (an empty label makes `targetName` nil).
        return spec.expand(context(domain: domain, validatedName: p), maxLength: limits.maxExpansionLength) ?? [UInt8(ascii: ".")]
    }

    /// §6.2: the explanation of a `fail`, or nil when it cannot be had (any DNS error, not exactly
    /// one TXT record, a syntax error, non-ASCII text). Not counted against the limits.
    mutating func explain(_ spec: SPFMacroString, domain: [UInt8]) async -> String? {
        do {
            let expanded = try await expandTarget(spec, domain: domain)
            guard let name = SPFMacroString.targetName(expanded),
                  let texts = try await Self.fetch({ try await resolver.txt(name) }, "TXT", name), texts.count == 1 else { return nil }
            guard let text = try? SPFMacroString.parse(texts[0].bytes, as: .explanation) else { return nil }
            let p = text.usesValidatedName ? try await validatedName(for: domain) : Array("unknown".utf8)
            guard let expanded = text.expand(context(domain: domain, validatedName: p), maxLength: limits.maxExpansionLength) else { return nil }
            return String(decoding: expanded, as: UTF8.self)
        } catch {
            return nil
        }
    }

    /// Whether `ip` is in `network`/`prefix` (same address family only).
    static func contains(_ network: IPAddress, _ prefix: Int, _ ip: IPAddress) -> Bool {
        guard network.bytes.count == ip.bytes.count else { return false }
        var bits = max(0, min(prefix, ip.bytes.count * 8))
        var i = 0
        while bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            guard network.bytes[i] & mask == ip.bytes[i] & mask else { return false }
            bits -= 8
            i += 1
        }
        return true
    }
}
