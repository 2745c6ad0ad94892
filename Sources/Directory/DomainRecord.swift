import Foundation
import MailCore

/// A domain the server accepts mail for.
public struct DomainRecord: Sendable, Hashable {
    public var domain: Domain
    /// Millisecond precision (see `DirectoryDate`).
    public var created: Date { didSet { created = DirectoryDate.normalized(created) } }
    /// The storage quota of the domain's aliases that have none of their own (nil: the node's
    /// `quota.default`).
    public var defaultQuotaBytes: Int64?

    public init(domain: Domain, created: Date = Date(), defaultQuotaBytes: Int64? = nil) {
        self.domain = domain
        self.created = DirectoryDate.normalized(created)
        self.defaultQuotaBytes = defaultQuotaBytes
    }
}
