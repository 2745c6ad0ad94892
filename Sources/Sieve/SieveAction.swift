/// What a run decided, in execution order (RFC 5228 §2.10). The host carries these out: it files
/// copies, queues redirects and vacation replies, refuses at SMTP time for `reject`.
public enum SieveAction: Sendable, Hashable {
    /// Store in INBOX (explicit `keep`, or the implicit keep) with these flags (RFC 5232).
    case keep(flags: [String])
    case fileinto(SieveFileInto)
    /// Send the message on to `address` (RFC 5228 §4.2). `copy` (RFC 3894) only records that
    /// the implicit keep was not cancelled by it.
    case redirect(address: String, copy: Bool)
    case discard
    /// RFC 5429: refuse with `reason`. `extended` is `ereject` (refuse at SMTP time only).
    case reject(reason: String, extended: Bool)
    case vacation(SieveVacation)
}

/// `fileinto` (RFC 5228 §4.1) with its extensions' tags.
public struct SieveFileInto: Sendable, Hashable {
    /// The folder name as the script gave it (UTF-8, `/`- or `.`-separated as the user wrote it).
    public var mailbox: String
    public var flags: [String]
    /// `:create` (RFC 5490 §3.2): make the folder when missing.
    public var create: Bool
    /// `:specialuse` (RFC 8579): file into the folder with this special use when one exists.
    public var specialUse: String?
    /// `:copy` (RFC 3894).
    public var copy: Bool

    public init(mailbox: String, flags: [String] = [], create: Bool = false, specialUse: String? = nil, copy: Bool = false) {
        self.mailbox = mailbox; self.flags = flags; self.create = create; self.specialUse = specialUse; self.copy = copy
    }
}

/// `vacation` (RFC 5230) as the script asked for it. Whether a reply is sent (RFC 3834 rules, the
/// "already answered" memory) and what it looks like is `SieveVacationResponder`'s to decide.
public struct SieveVacation: Sendable, Hashable {
    /// The reply text, or a MIME entity when `mime`.
    public var reason: String
    public var mime: Bool
    public var subject: String?
    public var from: String?
    /// `:addresses`: the user's other addresses.
    public var addresses: [String]
    /// `:handle`, or nil (then the reason, subject, from and mime together identify it).
    public var handle: String?
    /// `:days` (× 86 400) or `:seconds` (RFC 6131), after the minimum/maximum clamp.
    public var periodSeconds: Int

    public init(reason: String, mime: Bool = false, subject: String? = nil, from: String? = nil, addresses: [String] = [],
                handle: String? = nil, periodSeconds: Int = 7 * 86_400) {
        self.reason = reason; self.mime = mime; self.subject = subject; self.from = from; self.addresses = addresses
        self.handle = handle; self.periodSeconds = periodSeconds
    }
}
