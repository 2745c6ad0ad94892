import Foundation

/// A storing recipient of an inbound message: the mailbox and the public key its copy is sealed to,
/// and where in the mailbox the copy goes (sealed with it: the queue on disk does not show it).
public struct InboundMailbox: Sendable, Hashable {
    public var mailboxID: String
    public var publicKey: [UInt8]
    public var delivery: InboundDelivery
    /// The copy to store when it is not the transaction's message (a Sieve script edited its
    /// header, RFC 5293); nil: the message as received.
    public var message: [UInt8]?
    public init(mailboxID: String, publicKey: [UInt8], delivery: InboundDelivery = .inbox, message: [UInt8]? = nil) {
        self.mailboxID = mailboxID; self.publicKey = publicKey; self.delivery = delivery; self.message = message
    }
}

/// Where a delivered message is filed and with which flags: INBOX by default; the folder with a
/// special use (`\Junk` for mail that failed DMARC with `p=quarantine`), or a folder by name
/// (made when missing only with `create`, else the copy goes to INBOX). Decided at ingest (by
/// the MX's checks and the recipient's Sieve script), sealed with the message, carried out when
/// the mailbox takes its queued mail in.
public struct InboundDelivery: Sendable, Hashable, Codable {
    /// The folder with this special use (RFC 6154), created under its usual name when missing.
    public var specialUse: String?
    /// A folder by path, when `specialUse` is nil; INBOX when both are nil.
    public var folder: String?
    /// System flags (`\Seen`, `\Flagged`…) and keywords set on the delivered message.
    public var flags: [String]
    /// Make `folder` when it does not exist (Sieve `fileinto :create`, RFC 5490 §3.2).
    public var create: Bool
    /// The alias whose Sieve script chose `folder`, and the script's name: a missing folder
    /// without `create` is recorded in that alias's Sieve error log when the copy is filed.
    public var aliasID: String?
    public var script: String?

    public init(specialUse: SpecialUse? = nil, folder: String? = nil, flags: [String] = [], create: Bool = false,
                aliasID: String? = nil, script: String? = nil) {
        self.specialUse = specialUse?.rawValue; self.folder = folder; self.flags = flags; self.create = create
        self.aliasID = aliasID; self.script = script
    }

    public static let inbox = InboundDelivery()
    public static let junk = InboundDelivery(specialUse: .junk)

    public var isInbox: Bool { specialUse == nil && (folder == nil || folder?.uppercased() == "INBOX") && flags.isEmpty }

    enum CodingKeys: String, CodingKey { case specialUse, folder, flags, create, aliasID, script }

    // The fields Sieve added are optional in the sealed JSON: copies sealed before them open as they were.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        specialUse = try c.decodeIfPresent(String.self, forKey: .specialUse)
        folder = try c.decodeIfPresent(String.self, forKey: .folder)
        flags = try c.decodeIfPresent([String].self, forKey: .flags) ?? []
        create = try c.decodeIfPresent(Bool.self, forKey: .create) ?? false
        aliasID = try c.decodeIfPresent(String.self, forKey: .aliasID)
        script = try c.decodeIfPresent(String.self, forKey: .script)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(specialUse, forKey: .specialUse)
        try c.encodeIfPresent(folder, forKey: .folder)
        try c.encode(flags, forKey: .flags)
        if create { try c.encode(create, forKey: .create) }
        try c.encodeIfPresent(aliasID, forKey: .aliasID)
        try c.encodeIfPresent(script, forKey: .script)
    }
}

/// A piece of outbound work committed with an inbound message: relay it to forward addresses,
/// or post it to a webhook.
public struct OutboundJob: Sendable, Hashable {
    public enum Kind: String, Sendable { case smtp, webhook }
    public var id: Int64 = 0
    public var kind: Kind
    public var created: Date
    public var nextAttempt: Date
    public var attempts: Int = 0
    public var lastError: String?
    /// The envelope sender to use (SRS-rewritten for a forward; as received for a webhook).
    public var sender: String
    /// The envelope sender as received: where a bounce goes ("" for the null sender).
    public var originalSender: String
    /// Forward targets (smtp), or the recipients the alias was addressed as (webhook).
    public var recipients: [String]
    /// The webhook URL.
    public var target: String?
    /// Remote address, HELO name, the alias: what a webhook reports and a bounce mentions.
    public var context: [String: String]
    public var message: [UInt8]

    public init(kind: Kind, sender: String, originalSender: String, recipients: [String], target: String? = nil,
                context: [String: String] = [:], message: [UInt8], created: Date = Date()) {
        self.kind = kind; self.sender = sender; self.originalSender = originalSender; self.recipients = recipients
        self.target = target; self.context = context; self.message = message
        self.created = created; self.nextAttempt = created
    }
}

/// Where outbound jobs live between attempts (the node's sealed queue, which commits them in one
/// transaction with the inbound mail they came from). The outbound worker only reads and updates
/// them; a restart loses none.
public protocol OutboundJobStore: Sendable {
    /// Jobs whose next attempt is due at `now`, oldest first.
    func dueJobs(now: Date, limit: Int) async throws -> [OutboundJob]
    /// Every pending job.
    func outboundJobs() async throws -> [OutboundJob]
    /// When the next job is due (nil when there is none).
    func nextJobDue() async throws -> Date?
    /// Records a failed attempt: the job waits until `nextAttempt`; its recipients may shrink.
    func reschedule(jobID: Int64, nextAttempt: Date, error: String, remainingRecipients: [String]?) async throws
    /// Removes a finished job; `replacement` (a bounce) is added in the same transaction.
    func finish(jobID: Int64, replacement: OutboundJob?) async throws
    /// Adds new jobs (bounces of recipients refused for good while others wait).
    func enqueue(_ jobs: [OutboundJob]) async throws
}
