/// Why a lookup gave no records. Callers decide with `isTemporary` (retry later: RFC 5321 §4.5.4.1,
/// SPF `temperror`, DANE's deferral) and `isNotFound` (the name or the data does not exist: SPF's void
/// lookups, RFC 7208 §4.6.4; MX fallback to the address, RFC 5321 §5.1), or switch on `code`.
///
/// | code | meaning | temporary |
/// |---|---|---|
/// | `nameNotFound` | NXDOMAIN: the name does not exist | no |
/// | `noData` | NODATA: the name exists, without records of this type | no |
/// | `serverFailure` | SERVFAIL, REFUSED or another error rcode, or every server failed | yes |
/// | `timedOut` | no answer within the resolver's timeout | yes |
/// | `bogus` | DNSSEC validation failed: the answer was tampered with, or its signatures are broken | yes |
/// | `malformedAnswer` | a record that does not parse (wrong length, compressed name…) | yes |
/// | `overloaded` | too many queries waiting in this process | yes |
/// | `resolverFailure` | the resolver itself failed (bad configuration, out of memory) | yes |
/// | `shutDown` | the resolver was shut down | yes |
/// | `invalidName` | the question's name is not a valid DNS name | no |
///
/// `bogus` is temporary on purpose: a DNSSEC failure may be an attack or a broken re-signing that is
/// fixed within hours; mail waits rather than bouncing (RFC 7672 §2.1.1 defers delivery).
/// Descriptions name the question and the reason, never anything secret (DNS holds nothing secret).
public struct DNSError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case nameNotFound, noData, serverFailure, timedOut, bogus, malformedAnswer, overloaded, resolverFailure, shutDown, invalidName
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        public static let nameNotFound = Code(.nameNotFound)
        public static let noData = Code(.noData)
        public static let serverFailure = Code(.serverFailure)
        public static let timedOut = Code(.timedOut)
        public static let bogus = Code(.bogus)
        public static let malformedAnswer = Code(.malformedAnswer)
        public static let overloaded = Code(.overloaded)
        public static let resolverFailure = Code(.resolverFailure)
        public static let shutDown = Code(.shutDown)
        public static let invalidName = Code(.invalidName)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The question, when the error is about one.
    public var question: DNSQuestion?
    /// For `nameNotFound` and `noData`: the non-existence was proven with DNSSEC (authenticated
    /// denial, RFC 4035 §5.4). DANE needs this: a TLSA lookup denied securely means "no DANE",
    /// one that failed means "defer" (RFC 7672 §2.2).
    public var isSecure: Bool
    /// For `nameNotFound` and `noData`: how long the denial may be cached, when known.
    public var ttl: UInt32?
    /// Details: the validator's reason for `bogus`, the rcode, the resolver's message.
    public var reason: String?

    public init(_ code: Code, question: DNSQuestion? = nil, isSecure: Bool = false, ttl: UInt32? = nil, reason: String? = nil) {
        self.code = code; self.question = question; self.isSecure = isSecure; self.ttl = ttl; self.reason = reason
    }

    /// Worth trying again later: no answer, a failed or refused one, a DNSSEC failure.
    public var isTemporary: Bool {
        switch code.base {
        case .nameNotFound, .noData, .invalidName: false
        case .serverFailure, .timedOut, .bogus, .malformedAnswer, .overloaded, .resolverFailure, .shutDown: true
        }
    }

    /// NXDOMAIN or NODATA: a definite answer that there is nothing.
    public var isNotFound: Bool { code == .nameNotFound || code == .noData }

    public var description: String {
        let what: String
        switch code.base {
        case .nameNotFound: what = "no such name (NXDOMAIN\(isSecure ? ", DNSSEC-proven" : ""))"
        case .noData: what = "no records of this type (NODATA\(isSecure ? ", DNSSEC-proven" : ""))"
        case .serverFailure: what = "server failure"
        case .timedOut: what = "no answer in time"
        case .bogus: what = "DNSSEC validation failed (bogus)"
        case .malformedAnswer: what = "malformed answer"
        case .overloaded: what = "too many DNS queries waiting"
        case .resolverFailure: what = "resolver failure"
        case .shutDown: what = "the resolver is shut down"
        case .invalidName: what = "invalid name"
        }
        let prefix = question.map { "\($0): " } ?? ""
        return prefix + what + (reason.map { ": \($0)" } ?? "")
    }
}
