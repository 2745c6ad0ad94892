/// A DMARC policy record (RFC 7489 §6.3), as published in TXT at `_dmarc.<domain>`. Pure parser:
/// tags the RFC defines are checked, unknown tags ignored (§6.3), an invalid or missing `p=` makes
/// the record unusable unless `rua=` is valid (then it counts as `p=none`, §6.6.3 step 6).
public struct DMARCRecord: Sendable, Equatable {
    public enum Policy: String, Sendable, Comparable {
        case none, quarantine, reject

        var strength: Int { self == .none ? 0 : self == .quarantine ? 1 : 2 }
        public static func < (a: Policy, b: Policy) -> Bool { a.strength < b.strength }

        /// The next weaker policy (what `pct=` applies to messages left out of the sample, §6.6.4).
        public var weaker: Policy { self == .reject ? .quarantine : .none }
    }

    public enum Alignment: String, Sendable {
        case relaxed = "r", strict = "s"
    }

    public var policy: Policy
    /// `sp=`: for subdomains of the organizational domain whose record this is.
    public var subdomainPolicy: Policy?
    /// `np=` (RFC 9091): for subdomains that do not exist.
    public var nonexistentPolicy: Policy?
    public var dkimAlignment: Alignment = .relaxed
    public var spfAlignment: Alignment = .relaxed
    /// `pct=`: the percentage of failing messages the policy is applied to (0–100).
    public var percent: Int = 100
    public var aggregateReportURIs: [String] = []
    public var failureReportURIs: [String] = []

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Records longer than this are refused (a TXT record's text is at most 64 KB; DMARC needs far less).
    public static let maxLength = 4096

    public init(policy: Policy) { self.policy = policy }

    /// Whether a TXT record's text is a DMARC record at all (`v=DMARC1` first, RFC 7489 §6.6.3).
    public static func isDMARC(_ text: String) -> Bool {
        let first = text.split(separator: ";", maxSplits: 1).first.map { $0.filter { $0 != " " && $0 != "\t" } } ?? ""
        return first == "v=DMARC1"
    }

    public static func parse(_ text: String) throws(ParseError) -> DMARCRecord {
        guard text.utf8.count <= maxLength else { throw ParseError(description: "record too long") }
        guard isDMARC(text) else { throw ParseError(description: "not a DMARC record (v=DMARC1 must come first)") }
        var tags: [String: String] = [:]
        for part in text.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            let name = pair.first.map { $0.trimmingWhitespace().lowercased() } ?? ""
            guard !name.isEmpty else { continue }
            guard pair.count == 2 else { continue }
            if tags[name] == nil { tags[name] = String(pair[1].trimmingWhitespace()) }
        }
        let rua = uris(tags["rua"])
        var record: DMARCRecord
        if let p = tags["p"].flatMap({ Policy(rawValue: $0.lowercased()) }) {
            record = DMARCRecord(policy: p)
        } else if !rua.isEmpty {
            record = DMARCRecord(policy: .none)
        } else {
            throw ParseError(description: tags["p"] == nil ? "no p= tag" : "invalid p= tag")
        }
        record.aggregateReportURIs = rua
        record.failureReportURIs = uris(tags["ruf"])
        record.subdomainPolicy = tags["sp"].flatMap { Policy(rawValue: $0.lowercased()) }
        record.nonexistentPolicy = tags["np"].flatMap { Policy(rawValue: $0.lowercased()) }
        if let a = tags["adkim"].flatMap({ Alignment(rawValue: $0.lowercased()) }) { record.dkimAlignment = a }
        if let a = tags["aspf"].flatMap({ Alignment(rawValue: $0.lowercased()) }) { record.spfAlignment = a }
        if let pct = tags["pct"] {
            guard let value = Int(pct), (0...100).contains(value) else { throw ParseError(description: "invalid pct= tag") }
            record.percent = value
        }
        return record
    }

    /// `rua=`/`ruf=`: comma-separated URIs (with an optional `!size`); only well-formed `mailto:` kept.
    static func uris(_ value: String?) -> [String] {
        guard let value else { return [] }
        return value.split(separator: ",").map { $0.trimmingWhitespace() }.filter { $0.lowercased().hasPrefix("mailto:") && $0.count > 7 }.map(String.init)
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" || c == "\r" || c == "\n" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" || c == "\n" { s.removeLast() }
        return s
    }
}
