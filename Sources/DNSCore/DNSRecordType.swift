/// A resource record type (RFC 1035 §3.2.2 and later registrations): the ones Sealbox reads by
/// name, any other by number (`TYPE65`, RFC 3597).
public struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let ns = DNSRecordType(rawValue: 2)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let soa = DNSRecordType(rawValue: 6)
    public static let ptr = DNSRecordType(rawValue: 12)
    public static let mx = DNSRecordType(rawValue: 15)
    public static let txt = DNSRecordType(rawValue: 16)
    public static let aaaa = DNSRecordType(rawValue: 28)
    public static let srv = DNSRecordType(rawValue: 33)
    public static let ds = DNSRecordType(rawValue: 43)
    public static let dnskey = DNSRecordType(rawValue: 48)
    public static let tlsa = DNSRecordType(rawValue: 52)
    public static let caa = DNSRecordType(rawValue: 257)

    static let names: [(String, DNSRecordType)] = [
        ("A", .a), ("NS", .ns), ("CNAME", .cname), ("SOA", .soa), ("PTR", .ptr), ("MX", .mx), ("TXT", .txt),
        ("AAAA", .aaaa), ("SRV", .srv), ("DS", .ds), ("DNSKEY", .dnskey), ("TLSA", .tlsa), ("CAA", .caa),
    ]

    /// `MX`, `mx`, `TYPE15`; nil for an unknown name or a number out of range. Meta types (ANY,
    /// AXFR…, 128…255) and 0 are refused: a resolver answers questions about data.
    public init?(name: String) {
        let upper = name.uppercased()
        if let known = Self.names.first(where: { $0.0 == upper }) { self = known.1; return }
        guard upper.hasPrefix("TYPE"), upper.count <= 9, let n = UInt16(upper.dropFirst(4)), n != 0, !(128...255).contains(n) else {
            return nil
        }
        rawValue = n
    }

    public var description: String { Self.names.first { $0.1 == self }?.0 ?? "TYPE\(rawValue)" }
}
