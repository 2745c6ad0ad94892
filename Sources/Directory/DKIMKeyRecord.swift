import Foundation
import MailCore

/// One DKIM signing key of a domain (RFC 6376), as the directory keeps it.
///
/// A domain signs with its *active* keys (one Ed25519, one RSA); a rotation retires them and makes
/// new ones. A retired key signs nothing but stays published (`sealbox domain dns`) until
/// `retired + DKIMKeyRecord.publishedAfterRetirement`, so that mail signed just before the
/// rotation still verifies; then it is removed.
public struct DKIMKeyRecord: Sendable, Hashable {
    /// How long a retired key's DNS record should stay published.
    public static let publishedAfterRetirement: TimeInterval = 7 * 86_400

    public var domain: Domain
    /// The DNS label under `_domainkey`: letters, digits and hyphens.
    public var selector: String
    /// "ed25519" or "rsa".
    public var algorithm: String
    /// The private key (raw 32 bytes for Ed25519, DER for RSA). Secret: the directory file is
    /// encrypted with the node key, and this value never reaches a log or an error message.
    public var privateKey: [UInt8]
    /// Millisecond precision (see `DirectoryDate`).
    public var created: Date { didSet { created = DirectoryDate.normalized(created) } }
    public var retired: Date? { didSet { retired = retired.map(DirectoryDate.normalized) } }

    public init(domain: Domain, selector: String, algorithm: String, privateKey: [UInt8], created: Date = Date(), retired: Date? = nil) {
        self.domain = domain
        self.selector = selector
        self.algorithm = algorithm
        self.privateKey = privateKey
        self.created = DirectoryDate.normalized(created)
        self.retired = retired.map(DirectoryDate.normalized)
    }

    public var isActive: Bool { retired == nil }

    /// A selector is one DNS label of letters, digits and hyphens, not starting or ending with a hyphen.
    public static func isValidSelector(_ selector: String) -> Bool {
        (1...63).contains(selector.utf8.count) && selector.utf8.first != UInt8(ascii: "-") && selector.utf8.last != UInt8(ascii: "-")
            && selector.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == UInt8(ascii: "-") }
    }
}

extension DKIMKeyRecord: CustomStringConvertible {
    /// Never the key.
    public var description: String { "DKIM key \(selector) (\(algorithm)) of \(domain)\(retired == nil ? "" : ", retired")" }
}
