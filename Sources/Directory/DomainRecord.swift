import Foundation
import MailCore

/// A domain the server accepts mail for.
public struct DomainRecord: Sendable, Hashable {
    public var domain: Domain
    /// Millisecond precision (see `DirectoryDate`).
    public var created: Date { didSet { created = DirectoryDate.normalized(created) } }

    public init(domain: Domain, created: Date = Date()) {
        self.domain = domain
        self.created = DirectoryDate.normalized(created)
    }
}
