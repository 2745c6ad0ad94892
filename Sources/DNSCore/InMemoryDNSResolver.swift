/// A resolver over a fixed table, for tests of the parts that use DNS (SPF's RFC 7208 test suite,
/// DKIM keys, MX choices) without a DNS server. Follows CNAMEs in the table (up to 8), answers
/// NODATA for a name that has other types, NXDOMAIN for a name it does not know, and a listed
/// error for a question that should fail.
public struct InMemoryDNSResolver: DNSResolving {
    public struct Entry: Sendable {
        public var records: [DNSRecord]
        public var ttl: UInt32
        public var isSecure: Bool
        public init(_ records: [DNSRecord], ttl: UInt32 = 300, isSecure: Bool = false) {
            self.records = records; self.ttl = ttl; self.isSecure = isSecure
        }
    }

    private var entries: [DNSQuestion: Entry] = [:]
    private var failures: [DNSQuestion: DNSError.Code] = [:]
    private var names: Set<DNSName> = []

    public init() {}

    /// Adds `records` (all of one type each) at `name`.
    public mutating func add(_ name: DNSName, _ records: [DNSRecord], ttl: UInt32 = 300, isSecure: Bool = false) {
        for (type, group) in Dictionary(grouping: records, by: \.type) {
            let question = DNSQuestion(name, type)
            var entry = entries[question] ?? Entry([], ttl: ttl, isSecure: isSecure)
            entry.records += group
            entries[question] = entry
        }
        names.insert(name)
    }

    /// Makes `type` at `name` fail with `code` (e.g. `.serverFailure`, `.timedOut`).
    public mutating func fail(_ name: DNSName, _ type: DNSRecordType, with code: DNSError.Code) {
        failures[DNSQuestion(name, type)] = code
        names.insert(name)
    }

    public func query(_ name: DNSName, _ type: DNSRecordType) async throws -> DNSAnswer<DNSRecord> {
        let question = DNSQuestion(name, type)
        var current = name
        for _ in 0..<9 {
            let here = DNSQuestion(current, type)
            if let code = failures[here] { throw DNSError(code, question: question) }
            if let entry = entries[here], !entry.records.isEmpty {
                return DNSAnswer(question: question, canonicalName: current, records: entry.records, ttl: entry.ttl, isSecure: entry.isSecure)
            }
            if type != .cname, let alias = entries[DNSQuestion(current, .cname)], case .cname(let target)? = alias.records.first {
                current = target
                continue
            }
            throw DNSError(names.contains(current) ? .noData : .nameNotFound, question: question)
        }
        throw DNSError(.serverFailure, question: question, reason: "CNAME chain longer than 8")
    }
}
