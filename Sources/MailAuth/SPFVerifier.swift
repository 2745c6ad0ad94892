import DNSCore
#if canImport(Glibc)
import Glibc
#endif

/// SPF (RFC 7208): whether a client address may send mail for a domain. The MX calls `verify`
/// with the client's address, its HELO name and the MAIL FROM address; `checkHost` is the RFC's
/// check_host() function itself.
///
/// Every DNS query goes through `resolver`; each check keeps its own counters (no state is
/// shared between checks) and ends within `limits`. DNS failures give `temperror`, broken
/// records `permerror`; no input makes it trap.
public struct SPFVerifier: Sendable {
    public let resolver: any DNSResolving
    /// This host's name, the `%{r}` of explanations.
    public let receivingHost: String
    public let limits: SPFLimits
    /// Seconds since 1970, the `%{t}` of explanations.
    let clock: @Sendable () -> Int64

    public init(resolver: any DNSResolving, receivingHost: String = "unknown", limits: SPFLimits = SPFLimits()) {
        self.init(resolver: resolver, receivingHost: receivingHost, limits: limits, clock: { Int64(time(nil)) })
    }

    init(resolver: any DNSResolving, receivingHost: String, limits: SPFLimits, clock: @escaping @Sendable () -> Int64) {
        self.resolver = resolver; self.receivingHost = receivingHost; self.limits = limits; self.clock = clock
    }

    /// RFC 7208 §4 check_host(): `ip` (an IPv4-mapped IPv6 address counts as IPv4), the `domain`
    /// to check, the `sender` address (a missing local-part reads as "postmaster"), and the HELO
    /// name for `%{h}`. The outcome's identity is `mailFrom`.
    public func checkHost(ip: IPAddress, domain: String, sender: String, helo: String) async -> SPFOutcome {
        await check(ip: ip, domain: domain, sender: sender, helo: helo, identity: .mailFrom)
    }

    /// The MX's check: the MAIL FROM identity, or when MAIL FROM is null (`""` or `<>`) the HELO
    /// identity as `postmaster@<helo>` (RFC 7208 §2.3, §2.4). A HELO that is an address literal or
    /// not a domain name gives `none` without any lookup.
    public func verify(ip: IPAddress, helo: String, mailFrom: String) async -> SPFOutcome {
        var from = Substring(mailFrom)
        if from.hasPrefix("<") && from.hasSuffix(">") && from.count >= 2 { from = from.dropFirst().dropLast() }
        guard !from.isEmpty else {
            let sender = "postmaster@" + helo
            guard Self.isDomainName(helo) else {
                return SPFOutcome(result: .none, identity: .helo, domain: helo, sender: sender,
                                  reason: "the HELO name is not a domain name")
            }
            return await check(ip: ip, domain: helo, sender: sender, helo: helo, identity: .helo)
        }
        let domain = from.lastIndex(of: "@").map { String(from[from.index(after: $0)...]) } ?? String(from)
        return await check(ip: ip, domain: domain, sender: String(from), helo: helo, identity: .mailFrom)
    }

    func check(ip: IPAddress, domain: String, sender: String, helo: String, identity: SPFOutcome.Identity) async -> SPFOutcome {
        // A missing local-part is "postmaster" (§4.3), in the outcome as in the macros.
        var sender = sender
        if let at = sender.lastIndex(of: "@"), at == sender.startIndex { sender = "postmaster" + sender }
        else if !sender.contains("@") { sender = "postmaster@" + sender }
        var evaluation = SPFEvaluation(resolver: resolver, limits: limits, ip: Self.unmapped(ip), sender: sender, helo: helo,
                                       receivingHost: receivingHost, timestamp: clock())
        let (result, explanation, reason) = await evaluation.run(domain: domain)
        return SPFOutcome(result: result, identity: identity, domain: domain, sender: sender, explanation: explanation, reason: reason)
    }

    /// `::ffff:192.0.2.1` is 192.0.2.1 (RFC 7208 §5: IPv4-mapped addresses are IPv4).
    static func unmapped(_ ip: IPAddress) -> IPAddress {
        guard !ip.isIPv4, ip.bytes[0..<10].allSatisfy({ $0 == 0 }), ip.bytes[10] == 0xFF, ip.bytes[11] == 0xFF else { return ip }
        return IPAddress(bytes: Array(ip.bytes[12...])) ?? ip
    }

    /// A name check_host() can start from (§4.3): a DNS name of two labels or more, not an
    /// address literal. An invalid one gives `none`.
    static func isDomainName(_ text: String) -> Bool {
        guard text.utf8.count <= 254, !text.hasPrefix("["), IPAddress(text) == nil,
              let name = SPFMacroString.targetName(Array(text.utf8)) else { return false }
        return name.labels.count >= 2
    }
}
