/// The capabilities a script may `require` here (RFC 5228 §6), in the order ManageSieve's
/// `"SIEVE"` capability lists them.
public enum SieveExtensions {
    public static let supported: [String] = [
        "fileinto", "reject", "ereject", "envelope", "encoded-character", "vacation", "vacation-seconds",
        "subaddress", "comparator-i;ascii-numeric", "relational", "regex", "imap4flags", "copy", "include",
        "variables", "body", "environment", "mailbox", "special-use", "date", "index", "ihave", "duplicate",
        "editheader", "spamtest", "spamtestplus", "virustest",
    ]

    /// The `"SIEVE"` capability value: the names above, space-separated.
    public static var capabilityString: String { supported.joined(separator: " ") }
}
