import Foundation

/// The SMTP envelope of the message being filtered (RFC 5228 §5.4).
public struct SieveEnvelope: Sendable, Hashable {
    /// The reverse path without angle brackets; "" for the null sender.
    public var from: String
    /// The recipient as given in RCPT TO (before alias resolution).
    public var to: String
    /// The authenticated submitter (`envelope "auth"`), when the message was submitted.
    public var auth: String?

    public init(from: String, to: String, auth: String? = nil) { self.from = from; self.to = to; self.auth = auth }
}

/// Everything a run may look at besides the script. All callbacks are synchronous: the host loads
/// what they need before the run (a run never waits on I/O).
public struct SieveRunContext: Sendable {
    /// The whole message, CRLF line ends.
    public var message: [UInt8]
    public var envelope: SieveEnvelope
    /// `currentdate` (RFC 5260) and vacation's clock.
    public var now: Date
    public var timeZone: TimeZone
    /// RFC 5183 items: `domain`, `host`, `location` ("MDA"/"MTA"), `name`, `phase` ("during"),
    /// `remote-host`, `remote-ip`, `version`. Missing items test as not present.
    public var environment: [String: String]
    /// `mailboxexists` (RFC 5490) for a folder name. A locked mailbox's folders are not visible
    /// at the MX: the host answers from what it knows (often nothing).
    public var mailboxExists: @Sendable (String) -> Bool
    /// `specialuse_exists` (RFC 8579).
    public var specialUseExists: @Sendable (String) -> Bool
    /// `duplicate` (RFC 7352): whether this tracking key (see `SieveDuplicateMark.key`) was seen
    /// within its period.
    public var duplicateSeen: @Sendable (String) -> Bool
    /// RFC 5235 inputs: the spam score 0…10 (`spamtest`), 0…100 (`spamtestplus`), and the virus
    /// score 0…5; nil when no test ran (the test then compares against "0").
    public var spamScore: Int?
    public var spamPercent: Int?
    public var virusScore: Int?
    public var limits: SieveLimits
    /// The subaddress separators (RFC 5233 `:user`/`:detail`): any of these characters splits the
    /// local part at its first occurrence, like Postfix's `recipient_delimiter`.
    public var recipientDelimiters: String = "+"
    /// editheader (RFC 5293 §6): header fields (lower-case names) scripts may not add, and may not
    /// delete. `Received` and `Auto-Submitted` can never be deleted; `Subject` can always be edited.
    public var editheaderForbidAdd: Set<String> = []
    public var editheaderForbidDelete: Set<String> = []

    public init(message: [UInt8], envelope: SieveEnvelope, now: Date = Date(), timeZone: TimeZone = .current,
                environment: [String: String] = [:],
                mailboxExists: @escaping @Sendable (String) -> Bool = { _ in false },
                specialUseExists: @escaping @Sendable (String) -> Bool = { _ in false },
                duplicateSeen: @escaping @Sendable (String) -> Bool = { _ in false },
                spamScore: Int? = nil, spamPercent: Int? = nil, virusScore: Int? = nil, limits: SieveLimits = .default) {
        self.message = message; self.envelope = envelope; self.now = now; self.timeZone = timeZone
        self.environment = environment; self.mailboxExists = mailboxExists; self.specialUseExists = specialUseExists
        self.duplicateSeen = duplicateSeen; self.spamScore = spamScore; self.spamPercent = spamPercent
        self.virusScore = virusScore; self.limits = limits
    }
}
