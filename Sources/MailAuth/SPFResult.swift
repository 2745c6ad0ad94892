/// The result of an SPF check (RFC 7208 §2.6), as Authentication-Results writes it (RFC 8601 §2.7.2).
public enum SPFResult: String, Sendable {
    /// No SPF record, or no valid domain to check.
    case none
    /// The record says nothing about this client (`?` qualifier, or nothing matched).
    case neutral
    case pass
    case fail
    case softfail
    /// A DNS error (timeout, SERVFAIL, DNSSEC failure): try again later.
    case temperror
    /// The published record cannot be interpreted: a syntax error, too many DNS lookups, no record
    /// behind an `include` or `redirect`.
    case permerror
}

/// What `SPFVerifier` found for one identity.
public struct SPFOutcome: Sendable, Equatable {
    /// The identity checked: the MAIL FROM address, or the HELO name when MAIL FROM is null
    /// (RFC 7208 §2.3, §2.4).
    public enum Identity: String, Sendable {
        case mailFrom = "mailfrom"
        case helo
    }

    public var result: SPFResult
    public var identity: Identity
    /// The domain check_host() evaluated (the identity's domain; a `redirect` does not change it).
    public var domain: String
    /// The address checked (`postmaster@<helo>` when MAIL FROM is null; `postmaster` stands in for
    /// a missing local-part, RFC 7208 §4.3).
    public var sender: String
    /// The expanded `exp=` text, for `fail` only (nil when the record has none or it cannot be used).
    public var explanation: String?
    /// A short reason for logs and the Authentication-Results comment: the mechanism that matched,
    /// or why there was an error. Built from DNS data only, never anything secret.
    public var reason: String?

    public init(result: SPFResult, identity: Identity, domain: String, sender: String, explanation: String? = nil, reason: String? = nil) {
        self.result = result; self.identity = identity; self.domain = domain; self.sender = sender
        self.explanation = explanation; self.reason = reason
    }
}
