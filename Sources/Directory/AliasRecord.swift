import Foundation
import MailCore

/// An address the server accepts: it stores mail (a mailbox), forwards it, posts it to webhooks,
/// or any mix of the three.
public struct AliasRecord: Sendable, Hashable {
    /// Random 128-bit id, lower-case hex; not derived from the address.
    public var id: String
    public var address: EmailAddress
    public var store: Bool
    public var forwardTo: [EmailAddress]
    /// http or https URLs.
    public var webhooks: [String]
    public var quotaBytes: Int64?
    /// The mailbox file id (random 128-bit, lower-case hex), set when the mailbox is created.
    public var mailboxID: String?
    /// The mailbox's X-Wing HPKE public key, set together with `mailboxID`.
    public var publicKey: [UInt8]?
    /// Millisecond precision (see `DirectoryDate`).
    public var created: Date { didSet { created = DirectoryDate.normalized(created) } }

    public init(
        id: String = DirectoryID.random(), address: EmailAddress, store: Bool, forwardTo: [EmailAddress] = [],
        webhooks: [String] = [], quotaBytes: Int64? = nil, mailboxID: String? = nil, publicKey: [UInt8]? = nil,
        created: Date = Date()
    ) {
        self.id = id
        self.address = address
        self.store = store
        self.forwardTo = forwardTo
        self.webhooks = webhooks
        self.quotaBytes = quotaBytes
        self.mailboxID = mailboxID
        self.publicKey = publicKey
        self.created = DirectoryDate.normalized(created)
    }
}
