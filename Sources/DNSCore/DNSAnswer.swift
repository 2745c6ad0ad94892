/// A question: a name and a record type (class IN).
public struct DNSQuestion: Hashable, Sendable, CustomStringConvertible {
    public var name: DNSName
    public var type: DNSRecordType

    public init(_ name: DNSName, _ type: DNSRecordType) { self.name = name; self.type = type }

    public var description: String { "\(name) \(type)" }
}

/// The records that answer a question, with what the resolver knows about them.
public struct DNSAnswer<Record: Sendable>: Sendable {
    public var question: DNSQuestion
    /// The name the records belong to: the question's name, or the end of the CNAME chain the
    /// resolver followed (RFC 1034 §3.6.2).
    public var canonicalName: DNSName
    /// At least one record (an empty answer is `DNSError` `.noData`).
    public var records: [Record]
    /// Seconds the answer may be cached (the resolver's cache already honours it).
    public var ttl: UInt32
    /// DNSSEC-validated: every record in the chain was signed and verified from a trust anchor.
    /// False for unsigned zones and when no trust anchor is configured. (A validation failure is
    /// never an answer: it is `DNSError` `.bogus`.)
    public var isSecure: Bool

    public init(question: DNSQuestion, canonicalName: DNSName, records: [Record], ttl: UInt32, isSecure: Bool) {
        self.question = question; self.canonicalName = canonicalName; self.records = records; self.ttl = ttl; self.isSecure = isSecure
    }

    /// The same answer with each record transformed (`nil` drops it).
    public func compactMap<Other>(_ transform: (Record) throws -> Other?) rethrows -> DNSAnswer<Other> {
        DNSAnswer<Other>(question: question, canonicalName: canonicalName, records: try records.compactMap(transform),
                         ttl: ttl, isSecure: isSecure)
    }

    /// Whether a CNAME chain led to the records.
    public var followedAlias: Bool { canonicalName != question.name }
}
