/// What a validating stub resolver reports for one question, before interpretation: the fields of
/// libunbound's `ub_result` (rcode, data or not, NXDOMAIN, secure, bogus, the final CNAME, TTL and
/// the RDATA of the answer's records), copied out of C memory. `answer(to:)` turns it into records
/// or a `DNSError`, in one pure place the unit tests and the fuzz target drive.
public struct DNSResolution: Sendable, Hashable {
    public var rcode: Int
    public var hasData: Bool
    public var nameDoesNotExist: Bool
    public var secure: Bool
    public var bogus: Bool
    public var whyBogus: String?
    public var ttl: Int
    /// The end of the CNAME chain followed, presentation text (nil: none).
    public var canonicalName: String?
    public var rdata: [[UInt8]]

    public init(rcode: Int, hasData: Bool, nameDoesNotExist: Bool, secure: Bool, bogus: Bool, whyBogus: String? = nil,
                ttl: Int, canonicalName: String? = nil, rdata: [[UInt8]]) {
        self.rcode = rcode; self.hasData = hasData; self.nameDoesNotExist = nameDoesNotExist; self.secure = secure
        self.bogus = bogus; self.whyBogus = whyBogus; self.ttl = ttl; self.canonicalName = canonicalName; self.rdata = rdata
    }

    /// The records, or why there are none. In this order: a DNSSEC failure (libunbound reports the
    /// tampered data *with* `bogus`: it must never be used), NXDOMAIN, other error rcodes, no data,
    /// then each record parsed strictly (one malformed record fails the answer).
    public func answer(to question: DNSQuestion) throws -> DNSAnswer<DNSRecord> {
        let ttl = UInt32(clamping: max(0, self.ttl))
        if bogus {
            throw DNSError(.bogus, question: question, reason: whyBogus.map { String($0.prefix(500)) })
        }
        if rcode == 3 || nameDoesNotExist {
            throw DNSError(.nameNotFound, question: question, isSecure: secure, ttl: ttl)
        }
        guard rcode == 0 else {
            let name = [1: "FORMERR", 2: "SERVFAIL", 4: "NOTIMP", 5: "REFUSED"][rcode] ?? "rcode \(rcode)"
            throw DNSError(.serverFailure, question: question, reason: name)
        }
        guard hasData, !rdata.isEmpty else {
            throw DNSError(.noData, question: question, isSecure: secure, ttl: ttl)
        }
        guard rdata.count <= DNSLimits.maxRecordsPerAnswer else {
            throw DNSError(.malformedAnswer, question: question, reason: "more than \(DNSLimits.maxRecordsPerAnswer) records")
        }
        var canonical = question.name
        if let text = canonicalName {
            do { canonical = try DNSName(text) } catch {
                throw DNSError(.malformedAnswer, question: question, reason: "canonical name is not a name")
            }
        }
        var records: [DNSRecord] = []
        records.reserveCapacity(rdata.count)
        for data in rdata {
            do { records.append(try DNSRecord.parse(type: question.type, rdata: data)) } catch var error as DNSError {
                error.question = question
                throw error
            }
        }
        return DNSAnswer(question: question, canonicalName: canonical, records: records, ttl: ttl, isSecure: secure)
    }
}
