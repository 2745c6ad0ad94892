/// What every part that needs DNS depends on: direct delivery (MX, A, AAAA), MTA-STS (TXT), DANE
/// (TLSA, with `isSecure`), SPF, DKIM and DMARC (TXT), reverse DNS (PTR), `domain dns --check`.
/// The node's implementation is `UnboundResolver` (module DNSResolver: libunbound, DNSSEC-validating,
/// cached); tests of those parts may use `InMemoryDNSResolver`.
///
/// Contract of `query`: records of exactly the type asked (CNAMEs already followed, the answer's
/// `canonicalName` says where to), at least one; otherwise a `DNSError` (`isTemporary`,
/// `isNotFound`). Cancelling the calling task ends the wait with `CancellationError`. Never blocks
/// a thread of the caller's.
public protocol DNSResolving: Sendable {
    func query(_ name: DNSName, _ type: DNSRecordType) async throws -> DNSAnswer<DNSRecord>
}

extension DNSResolving {
    /// MX records, by preference (lowest first; equal ones in the order received: randomising
    /// among equals, RFC 5321 §5.1, is the delivery code's part). A null MX (RFC 7505) is a record
    /// whose `isNullMX` is true.
    public func mx(_ name: DNSName) async throws -> DNSAnswer<MXRecord> {
        var answer = try await typed(name, .mx) { if case .mx(let r) = $0 { r } else { nil } }
        answer.records = answer.records.enumerated().sorted { ($0.element.preference, $0.offset) < ($1.element.preference, $1.offset) }.map(\.element)
        return answer
    }

    /// IPv4 addresses (A records).
    public func a(_ name: DNSName) async throws -> DNSAnswer<IPAddress> {
        try await typed(name, .a) { if case .a(let r) = $0 { r } else { nil } }
    }

    /// IPv6 addresses (AAAA records).
    public func aaaa(_ name: DNSName) async throws -> DNSAnswer<IPAddress> {
        try await typed(name, .aaaa) { if case .aaaa(let r) = $0 { r } else { nil } }
    }

    /// TXT records, each with its character-strings (`text` joins them).
    public func txt(_ name: DNSName) async throws -> DNSAnswer<TXTRecord> {
        try await typed(name, .txt) { if case .txt(let r) = $0 { r } else { nil } }
    }

    /// TLSA records at `name` (e.g. `_25._tcp.mx.example.com`, see `tlsa(port:host:)`). DANE uses
    /// them only when `isSecure` (RFC 7672 §2.2).
    public func tlsa(_ name: DNSName) async throws -> DNSAnswer<TLSARecord> {
        try await typed(name, .tlsa) { if case .tlsa(let r) = $0 { r } else { nil } }
    }

    /// TLSA records of a TCP service: `_PORT._tcp.HOST` (RFC 6698 §3).
    public func tlsa(port: UInt16, host: DNSName) async throws -> DNSAnswer<TLSARecord> {
        try await tlsa(try host.prepending("_\(port)._tcp"))
    }

    /// The names an address points back to (PTR records at its `in-addr.arpa`/`ip6.arpa` name).
    public func ptr(_ address: IPAddress) async throws -> DNSAnswer<DNSName> {
        try await typed(DNSName.reverse(address), .ptr) { if case .ptr(let r) = $0 { r } else { nil } }
    }

    /// SRV records (RFC 2782), in the order received.
    public func srv(_ name: DNSName) async throws -> DNSAnswer<SRVRecord> {
        try await typed(name, .srv) { if case .srv(let r) = $0 { r } else { nil } }
    }

    /// One type's records through `pick`; a record of another type is a malformed answer.
    func typed<T: Sendable>(_ name: DNSName, _ type: DNSRecordType, _ pick: (DNSRecord) -> T?) async throws -> DNSAnswer<T> {
        let answer = try await query(name, type)
        return try answer.compactMap { record in
            guard let value = pick(record) else {
                throw DNSError(.malformedAnswer, question: answer.question, reason: "a \(record.type) record in the answer")
            }
            return value
        }
    }
}
