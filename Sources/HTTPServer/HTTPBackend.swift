import Foundation

/// What the JSON API and the web pages need from the node: the admin's directory operations, the
/// owner's sign-in and mailbox operations. SealboxApp implements it over the node
/// (`NodeHTTPBackend`); route tests use an in-memory fake. Addresses and domains travel as text
/// (the implementation parses them and throws `HTTPBackendError.invalid` for bad ones).
///
/// Every method throws `HTTPBackendError` for the client's mistakes (the routes map its code to
/// an HTTP status); anything else is a server error and is answered 500 without its text.
public protocol HTTPBackend: Sendable {
    // MARK: Admin authentication

    /// Checks an admin token (the bearer secret) against the stored hashes; failures are counted
    /// by the node's login throttle for `remoteIP`.
    func authenticateAdmin(token: String, remoteIP: String) async -> AdminAuthOutcome

    // MARK: Admin: domains

    func domains() async throws -> [APIDomain]
    /// Adds the domain and makes its DKIM keys (as `sealbox domain add`).
    func addDomain(_ name: String) async throws -> APIDomain
    /// `conflict` while it has aliases.
    func removeDomain(_ name: String) async throws
    /// The records `sealbox domain dns DOMAIN` prints.
    func dnsRecords(domain: String) async throws -> APIDNSRecords

    // MARK: Admin: aliases

    /// All aliases, or those of one domain.
    func aliases(domain: String?) async throws -> [APIAlias]
    func alias(_ address: String) async throws -> APIAlias
    func addAlias(_ request: APIAliasCreate) async throws -> APIAlias
    /// An alias with a mailbox needs `purge` (its mailbox file, queued mail and backups go too).
    /// Returns what was deleted, one line each.
    func removeAlias(_ address: String, purge: Bool) async throws -> [String]

    // MARK: Admin: passwords of any alias

    func passwords(address: String) async throws -> [APIPassword]
    /// The first password of an alias (it creates the mailbox); later ones need a current password
    /// (`conflict`): the owner makes them. Returns the password once.
    func generatePassword(address: String, label: String?) async throws -> APIGeneratedPassword
    /// Revoking the last password needs `force` (the mailbox can never be opened again).
    func revokePassword(address: String, id: String, force: Bool) async throws

    // MARK: Admin: queue and backups

    func queue() async throws -> APIQueue
    /// Makes every outbound job due now; returns how many.
    func retryQueue() async throws -> Int
    /// The backup configuration and each mailbox's latest generation.
    func backupStatus() async throws -> APIBackupStatus
    /// Backs up one mailbox (or all when nil) now.
    func runBackup(address: String?) async throws -> [APIBackupResult]
    /// The generations of one mailbox.
    func backups(address: String) async throws -> [APIBackupGeneration]

    // MARK: Owner

    /// Signs in with the node's `SessionAuthenticator` (the same throttle and per-mailbox session
    /// limit as IMAP). A success holds the mailbox open until `signOut`.
    func signIn(address: String, password: String, remoteIP: String) async -> OwnerSignInOutcome
    /// Ends the login (the mailbox locks after its grace period when nothing else holds it).
    func signOut(_ login: OwnerLogin) async
    /// Whether the login's password still exists (a revoked password ends its sessions).
    func isStillValid(_ login: OwnerLogin) async -> Bool

    func ownerPasswords(_ login: OwnerLogin) async throws -> [APIPassword]
    /// A new password of the owner's mailbox, returned once.
    func generateOwnerPassword(_ login: OwnerLogin, label: String?) async throws -> APIGeneratedPassword
    /// `conflict` for the last password (use `force`), and for the login's own password unless `force`.
    func revokeOwnerPassword(_ login: OwnerLogin, id: String, force: Bool) async throws

    func targets(_ login: OwnerLogin) async throws -> APITargets
    func addForward(_ login: OwnerLogin, address: String) async throws -> APITargets
    func removeForward(_ login: OwnerLogin, address: String) async throws -> APITargets
    func addWebhook(_ login: OwnerLogin, url: String) async throws -> APITargets
    func removeWebhook(_ login: OwnerLogin, url: String) async throws -> APITargets

    func usage(_ login: OwnerLogin) async throws -> APIUsage
    func search(_ login: OwnerLogin, _ query: APISearchQuery) async throws -> APISearchPage
    /// An export as chunks pulled one at a time (never the whole mailbox in memory). `password`:
    /// the `sqlite` format is keyed with the owner's password, so it needs it.
    func export(_ login: OwnerLogin, format: APIExportFormat, folder: String?, password: String?) async throws -> HTTPExport
}

/// An owner's signed-in mailbox: the address and the id of the password used, plus what the
/// backend keeps (the open mailbox login; opaque to the routes).
public final class OwnerLogin: Sendable {
    public let address: String
    public let passwordID: String
    /// The backend's own state (e.g. the node's `MailboxLogin`).
    public let handle: any Sendable

    public init(address: String, passwordID: String, handle: any Sendable) {
        self.address = address
        self.passwordID = passwordID
        self.handle = handle
    }
}

public enum OwnerSignInOutcome: Sendable {
    case success(OwnerLogin)
    /// Unknown address, wrong password or no mailbox (all alike).
    case failed
    case throttled(retryAfter: Duration)
    case tooManySessions
    /// The store could not open the mailbox: try again later.
    case unavailable
}

public enum AdminAuthOutcome: Sendable {
    case success(APIAdminToken)
    case failed
    case throttled(retryAfter: Duration)
}

/// A client mistake the backend refuses; `code` becomes the HTTP status (and the JSON error code).
public struct HTTPBackendError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// 400: malformed input (an address, a domain, a URL, a pattern).
        case invalid = "invalid_request"
        /// 404
        case notFound = "not_found"
        /// 409: the state forbids it (a domain with aliases, an alias with a mailbox and no purge…).
        case conflict
        /// 413 / 422: over a limit (a regex's budget, a too-large result).
        case limitExceeded = "limit_exceeded"
        /// 503: the node cannot do it now (no backup destination, mailbox busy).
        case unavailable
    }

    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { "\(code.rawValue): \(message)" }
}

// MARK: - Values

public struct APIAdminToken: Codable, Sendable, Equatable {
    public var id: String
    public var label: String?
    public var created: Date
    public var lastUsed: Date?
    public init(id: String, label: String?, created: Date, lastUsed: Date?) {
        self.id = id; self.label = label; self.created = created; self.lastUsed = lastUsed
    }
}

public struct APIDomain: Codable, Sendable, Equatable {
    /// The ASCII (A-label) form.
    public var name: String
    /// The Unicode form (equal to `name` for ASCII domains).
    public var unicode: String
    public var created: Date
    public init(name: String, unicode: String, created: Date) { self.name = name; self.unicode = unicode; self.created = created }
}

public struct APIDNSRecord: Codable, Sendable, Equatable {
    /// Fully qualified, with the final dot.
    public var name: String
    public var type: String
    /// TXT: the character-strings; otherwise one value.
    public var values: [String]
    public var comment: String?
    /// The zone-file line `sealbox domain dns` prints.
    public var zoneLine: String
    public init(name: String, type: String, values: [String], comment: String?, zoneLine: String) {
        self.name = name; self.type = type; self.values = values; self.comment = comment; self.zoneLine = zoneLine
    }
}

public struct APIDNSRecords: Codable, Sendable, Equatable {
    public var domain: String
    public var records: [APIDNSRecord]
    /// Exactly what `sealbox domain dns DOMAIN` prints.
    public var text: String
    public init(domain: String, records: [APIDNSRecord], text: String) { self.domain = domain; self.records = records; self.text = text }
}

public struct APIAlias: Codable, Sendable, Equatable {
    public var address: String
    public var store: Bool
    public var hasMailbox: Bool
    public var forwardTo: [String]
    /// Full URLs (the admin set them; they may hold tokens, so only the admin sees them).
    public var webhooks: [String]
    public var quotaBytes: Int64?
    public var sendAs: [String]
    public var created: Date
    public init(address: String, store: Bool, hasMailbox: Bool, forwardTo: [String], webhooks: [String], quotaBytes: Int64?,
                sendAs: [String], created: Date) {
        self.address = address; self.store = store; self.hasMailbox = hasMailbox; self.forwardTo = forwardTo
        self.webhooks = webhooks; self.quotaBytes = quotaBytes; self.sendAs = sendAs; self.created = created
    }
}

public struct APIAliasCreate: Codable, Sendable, Equatable {
    public var address: String
    /// Default true.
    public var store: Bool?
    public var forwardTo: [String]?
    public var webhooks: [String]?
    public var quotaBytes: Int64?
    public var sendAs: [String]?
    public init(address: String, store: Bool? = nil, forwardTo: [String]? = nil, webhooks: [String]? = nil, quotaBytes: Int64? = nil,
                sendAs: [String]? = nil) {
        self.address = address; self.store = store; self.forwardTo = forwardTo; self.webhooks = webhooks
        self.quotaBytes = quotaBytes; self.sendAs = sendAs
    }
}

public struct APIPassword: Codable, Sendable, Equatable {
    public var id: String
    public var label: String?
    public var created: Date
    public var lastUsed: Date?
    public init(id: String, label: String?, created: Date, lastUsed: Date?) {
        self.id = id; self.label = label; self.created = created; self.lastUsed = lastUsed
    }
}

/// A just-generated password: the only response that carries one.
public struct APIGeneratedPassword: Codable, Sendable, Equatable {
    public var id: String
    public var label: String?
    public var password: String
    public init(id: String, label: String?, password: String) { self.id = id; self.label = label; self.password = password }
}

public struct APIQueue: Codable, Sendable, Equatable {
    public struct Sealed: Codable, Sendable, Equatable {
        /// The owner's address (or the mailbox id when no alias has it any more).
        public var mailbox: String
        public var count: Int
        public var bytes: Int64
        public var oldest: Date
        public init(mailbox: String, count: Int, bytes: Int64, oldest: Date) {
            self.mailbox = mailbox; self.count = count; self.bytes = bytes; self.oldest = oldest
        }
    }
    public struct Job: Codable, Sendable, Equatable {
        public var id: Int64
        /// `smtp` or `webhook`.
        public var kind: String
        /// What `sealbox queue list` says: "forward to …", "bounce to …", "webhook to HOST".
        public var target: String
        public var created: Date
        public var attempts: Int
        public var nextAttempt: Date
        public var lastError: String?
        public init(id: Int64, kind: String, target: String, created: Date, attempts: Int, nextAttempt: Date, lastError: String?) {
            self.id = id; self.kind = kind; self.target = target; self.created = created; self.attempts = attempts
            self.nextAttempt = nextAttempt; self.lastError = lastError
        }
    }
    public var sealed: [Sealed]
    public var outbound: [Job]
    public init(sealed: [Sealed], outbound: [Job]) { self.sealed = sealed; self.outbound = outbound }
}

public struct APIBackupGeneration: Codable, Sendable, Equatable {
    public var id: String
    public var date: Date
    public var size: Int64
    public init(id: String, date: Date, size: Int64) { self.id = id; self.date = date; self.size = size }
}

public struct APIBackupStatus: Codable, Sendable, Equatable {
    public struct Mailbox: Codable, Sendable, Equatable {
        public var address: String
        public var latest: APIBackupGeneration?
        public init(address: String, latest: APIBackupGeneration?) { self.address = address; self.latest = latest }
    }
    public var configured: Bool
    /// The destination without credentials (`s3://bucket/prefix`, `file:///path`).
    public var destination: String?
    /// Seconds between scheduled runs (nil: no schedule).
    public var intervalSeconds: Int?
    public var mailboxes: [Mailbox]
    public init(configured: Bool, destination: String?, intervalSeconds: Int?, mailboxes: [Mailbox]) {
        self.configured = configured; self.destination = destination; self.intervalSeconds = intervalSeconds; self.mailboxes = mailboxes
    }
}

public struct APIBackupResult: Codable, Sendable, Equatable {
    public var address: String
    public var ok: Bool
    /// What the backup did ("uploaded …", "unchanged") or why it failed.
    public var detail: String
    public init(address: String, ok: Bool, detail: String) { self.address = address; self.ok = ok; self.detail = detail }
}

/// Where an owner's mail goes besides the mailbox.
public struct APITargets: Codable, Sendable, Equatable {
    public var forwardTo: [String]
    public var webhooks: [String]
    public init(forwardTo: [String], webhooks: [String]) { self.forwardTo = forwardTo; self.webhooks = webhooks }
}

public struct APIUsage: Codable, Sendable, Equatable {
    public struct Folder: Codable, Sendable, Equatable {
        public var path: String
        public var messages: Int
        public var unseen: Int
        public var bytes: Int64
        public init(path: String, messages: Int, unseen: Int, bytes: Int64) {
            self.path = path; self.messages = messages; self.unseen = unseen; self.bytes = bytes
        }
    }
    public var address: String
    public var usedBytes: Int64
    /// nil: no quota.
    public var quotaBytes: Int64?
    public var folders: [Folder]
    public init(address: String, usedBytes: Int64, quotaBytes: Int64?, folders: [Folder]) {
        self.address = address; self.usedBytes = usedBytes; self.quotaBytes = quotaBytes; self.folders = folders
    }
}

public enum APISearchMode: String, Codable, Sendable, CaseIterable {
    /// Full-text (the mailbox's index, as IMAP SEARCH TEXT).
    case text
    /// A POSIX extended regular expression over the decoded subject, addresses, body and header.
    case regex
}

public struct APISearchQuery: Codable, Sendable, Equatable {
    public var query: String
    public var mode: APISearchMode
    /// nil: every folder.
    public var folder: String?
    public var caseInsensitive: Bool
    /// Results per page (1…`APISearchQuery.maxLimit`).
    public var limit: Int
    /// The `next` of the previous page.
    public var cursor: String?
    public static let maxLimit = 200
    public static let maxQueryBytes = 1024
    public init(query: String, mode: APISearchMode = .text, folder: String? = nil, caseInsensitive: Bool = true, limit: Int = 50,
                cursor: String? = nil) {
        self.query = query; self.mode = mode; self.folder = folder; self.caseInsensitive = caseInsensitive
        self.limit = limit; self.cursor = cursor
    }
}

public struct APISearchHit: Codable, Sendable, Equatable {
    public var uid: UInt32
    public var folder: String
    public var subject: String?
    public var from: String?
    public var date: Date
    public var size: Int
    public init(uid: UInt32, folder: String, subject: String?, from: String?, date: Date, size: Int) {
        self.uid = uid; self.folder = folder; self.subject = subject; self.from = from; self.date = date; self.size = size
    }
}

public struct APISearchPage: Codable, Sendable, Equatable {
    public var results: [APISearchHit]
    /// Pass as `cursor` for the next page; nil when there is none.
    public var next: String?
    /// Messages examined in this page's search.
    public var examined: Int
    /// True when the search stopped at its time or size budget before examining every message
    /// (the results are those found so far; `next` continues from where it stopped).
    public var budgetExhausted: Bool
    public init(results: [APISearchHit], next: String?, examined: Int, budgetExhausted: Bool) {
        self.results = results; self.next = next; self.examined = examined; self.budgetExhausted = budgetExhausted
    }
}

public enum APIExportFormat: String, Codable, Sendable, CaseIterable {
    /// One folder (default INBOX) as mboxrd.
    case mbox
    /// Every folder (or one) as a zip of .eml files with a manifest per folder.
    case emlZip = "eml-zip"
    /// The encrypted mailbox database, keyed with the owner's password (sqlite3mc).
    case sqlite
}

/// An export being produced: pull `chunks` one after the other (each at most about 1 MiB).
public struct HTTPExport: Sendable {
    public var filename: String
    public var contentType: String
    public var chunks: AsyncThrowingStream<[UInt8], any Error>
    public init(filename: String, contentType: String, chunks: AsyncThrowingStream<[UInt8], any Error>) {
        self.filename = filename; self.contentType = contentType; self.chunks = chunks
    }
}
