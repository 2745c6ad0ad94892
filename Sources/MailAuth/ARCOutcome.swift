/// The result of ARC chain validation (RFC 8617 §5.2; the `arc` method of RFC 8601): `none` when
/// the message has no ARC header field, `pass` when the chain validates, `fail` otherwise
/// (structure, a `cv=fail`, a signature that does not verify, a key that cannot be fetched).
public enum ARCResult: String, Sendable {
    case none, pass, fail
}

/// What the ARC verifier found.
public struct ARCOutcome: Sendable, Equatable {
    public var result: ARCResult
    /// The highest `i=` seen (0 when none).
    public var instances: Int
    /// A short reason for `fail`.
    public var reason: String?
    /// RFC 8617 §5.2 "oldest-pass": 0 when every ARC-Message-Signature validates, else the lowest
    /// instance from which on all of them do. Computed for a passing chain.
    public var oldestPass: Int?
    /// `d=` of each ARC-Seal, instance 1 first.
    public var domains: [String]

    public init(result: ARCResult, instances: Int, reason: String? = nil, oldestPass: Int? = nil, domains: [String] = []) {
        self.result = result; self.instances = instances; self.reason = reason; self.oldestPass = oldestPass; self.domains = domains
    }
}
