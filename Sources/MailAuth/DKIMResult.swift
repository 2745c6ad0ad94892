/// The result of one DKIM signature, named as in the Authentication-Results registry (RFC 8601
/// §2.7.1). Which failures map to which name (see `DKIMVerifier`):
/// - `fail`: the checks ran and said no: body hash or signature mismatch, an expired signature
///   (`x=`), an `l=` longer than the body, a From field the signature does not cover, an RSA key
///   under the verifier's minimum size (RFC 8301 §3.2).
/// - `permerror`: the signature cannot be verified and will not be later: syntax, a missing
///   required tag, From not in `h=`, `i=` outside `d=`, an unknown or historic algorithm (rsa-sha1,
///   RFC 8301 §3.1), a `t=` in the future, no key record, a revoked key (RFC 6376 §6.1.2 gives it no
///   meaning different from a removed one), a key record that forbids this signature.
/// - `temperror`: the key could not be fetched now (DNS).
public enum DKIMResult: String, Sendable {
    case none, pass, fail, policy, neutral, temperror, permerror
}

/// What the verifier found about one `DKIM-Signature` field.
public struct DKIMSignatureOutcome: Sendable, Equatable {
    public var result: DKIMResult
    /// `d=`, as written ("" when the field has none).
    public var domain: String
    /// `s=`, as written.
    public var selector: String
    /// `i=`, as written, when present.
    public var identity: String?
    /// `a=`, as written.
    public var algorithm: String
    /// The first 12 characters of `b=` (RFC 6008 `header.b`).
    public var headerB: String
    /// A short reason for anything but `pass`.
    public var reason: String?

    public init(result: DKIMResult, domain: String, selector: String, identity: String?, algorithm: String, headerB: String, reason: String?) {
        self.result = result; self.domain = domain; self.selector = selector; self.identity = identity
        self.algorithm = algorithm; self.headerB = headerB; self.reason = reason
    }
}

/// Why a signature is not `pass`: the result name and a short reason. Made by the pure parsers as
/// well as by the verifier.
struct DKIMProblem: Error, Sendable, Equatable, CustomStringConvertible {
    var result: DKIMResult
    var reason: String

    static func permerror(_ reason: String) -> DKIMProblem { DKIMProblem(result: .permerror, reason: reason) }
    static func fail(_ reason: String) -> DKIMProblem { DKIMProblem(result: .fail, reason: reason) }
    static func temperror(_ reason: String) -> DKIMProblem { DKIMProblem(result: .temperror, reason: reason) }

    var description: String { "\(result.rawValue): \(reason)" }
}

/// The bounds of DKIM and ARC verification, in one place. Inputs past them are refused with a
/// `permerror` (ARC: `fail`), never processed at length.
enum DKIMLimits {
    /// Bytes of one tag=value list (a signature field's value, a key record).
    static let maxTagListLength = 16_384
    /// Tags in one list.
    static let maxTags = 64
    /// Entries of one `h=`.
    static let maxSignedFields = 256
    /// Header fields of a message the verifier looks at; a message with more is not verified.
    static let maxHeaderFields = 1_000
    /// Seconds a `t=` may be in the future, or an `x=` in the past, before the signature is refused
    /// (clocks of signers and of this node differ a little).
    static let clockSkew: Int64 = 300
    /// The largest RSA key verified (RFC 8301 asks verifiers for 1024…4096 bits; beyond 8192 the
    /// cost is refused).
    static let maxRSABits = 8_192
    /// ARC instances (RFC 8617 §4.2.1: 1…50).
    static let maxARCInstances = 50
}
