import Foundation
import MailCore

/// The directory: domains, aliases, the wrapped keys of their passwords, and their mailboxes'
/// public keys.
///
/// This protocol names no storage type: `SQLiteDirectory` implements it for one machine, and a
/// PostgreSQL implementation (for clusters) is meant to follow with the same behaviour, which
/// `DirectoryRules` holds where it is not SQL. Every implementation:
/// - keys aliases by `EmailAddress.canonical` and domains by `Domain.ascii` (case-insensitive,
///   IDNA-insensitive);
/// - refuses with a `DirectoryError` whose `code` the methods below name;
/// - stores dates at millisecond precision (`DirectoryDate`), so records read back are `==` to
///   the records written;
/// - never interprets a password's `kdf`, `salt` or `wrappedKey`.
public protocol MailDirectory: Sendable {
    /// `domainExists` if already there.
    func addDomain(_ domain: Domain) async throws -> DomainRecord
    /// Sorted by `Domain.ascii`.
    func domains() async throws -> [DomainRecord]
    /// `noSuchDomain`; `domainHasAliases` while any alias of the domain exists.
    func removeDomain(_ domain: Domain) async throws
    /// nil when the domain is not there.
    func domain(_ domain: Domain) async throws -> DomainRecord?
    /// Sets (nil: clears) the domain's default quota; `noSuchDomain`; a negative size is `invalidQuota`.
    func setDefaultQuota(_ domain: Domain, bytes: Int64?) async throws

    /// Adds an alias with a new random id. The domain must exist (`noSuchDomain`); the address must
    /// be new (`aliasExists`); a non-storing alias needs a forward address or a webhook
    /// (`aliasNeedsTarget`); see `DirectoryRules.validateAlias` for the rest. Duplicate targets are
    /// dropped, order kept.
    func addAlias(
        _ address: EmailAddress, store: Bool, forwardTo: [EmailAddress], webhooks: [String], quotaBytes: Int64?
    ) async throws -> AliasRecord
    /// Adds an alias exactly as a backup recorded it: the same id (password entries are wrapped
    /// with it), creation date and, when set, mailbox and public key. The same rules as `addAlias`.
    func restoreAlias(_ record: AliasRecord) async throws -> AliasRecord
    func alias(id: String) async throws -> AliasRecord?
    /// Exact match on the canonical address.
    func alias(address: EmailAddress) async throws -> AliasRecord?
    /// Where mail for `address` goes: the exact alias, else the alias of its plus-address base
    /// (`hello+tag@x` → `hello@x`), else `nil`.
    func resolveRecipient(_ address: EmailAddress) async throws -> AliasRecord?
    /// Sorted by domain, then canonical address; all domains when `domain` is nil.
    /// `noSuchDomain` when a domain is given and does not exist.
    func aliases(domain: Domain?) async throws -> [AliasRecord]
    /// `noSuchAlias`; also drops the alias's passwords. The mailbox file is the caller's to delete.
    func removeAlias(id: String) async throws

    /// Records the alias's mailbox. `noSuchAlias`; `aliasDoesNotStore`; `invalidID` unless
    /// `mailboxID` is 32 lower-case hex digits; `invalidPublicKey` if empty or over 4 KiB;
    /// `mailboxAlreadySet` if the alias has a different mailbox (the same `mailboxID` again
    /// replaces the public key); `mailboxInUse` if another alias has that mailbox.
    func setMailbox(aliasID: String, mailboxID: String, publicKey: [UInt8]) async throws

    /// `noSuchAlias`; `passwordExists` if the alias has a password with this id;
    /// `invalidID` / `invalidPassword` for malformed records.
    func addPassword(_ record: PasswordRecord) async throws
    /// Oldest first. `noSuchAlias` if the alias does not exist.
    func passwords(aliasID: String) async throws -> [PasswordRecord]
    /// Replaces `kdf`, `salt`, `wrappedKey` and `label` of the password with the same
    /// (`aliasID`, `id`); `created` and `lastUsed` are kept. `noSuchPassword`.
    func updatePassword(_ record: PasswordRecord) async throws
    /// `noSuchPassword` if absent.
    func removePassword(aliasID: String, passwordID: String) async throws
    /// Sets `lastUsed`. `noSuchPassword` if absent.
    func recordPasswordUse(aliasID: String, passwordID: String, at: Date) async throws
    /// Records a password entry's backup locator (computed after the fact for an older entry);
    /// `noSuchPassword`.
    func setBackupLocator(aliasID: String, passwordID: String, locator: String) async throws

    /// The addresses (`EmailAddress.canonical`) and `*@domain` wildcards the alias may send as
    /// besides its own (submission), sorted. `noSuchAlias`.
    func sendAs(aliasID: String) async throws -> [String]
    /// Replaces them (`SubmissionPolicy.normalizedSendAs`: only domains of this server).
    /// `noSuchAlias`; `invalidSendAs`.
    func setSendAs(aliasID: String, addresses: [String]) async throws
    /// Messages the alias submitted in the hour before `now`, recipients in the day before.
    func submissionUsage(aliasID: String, now: Date) async throws -> SubmissionUsage
    /// Counts one submitted message to `recipients` recipients, unless that goes over `limits`
    /// (checked and counted in one transaction): its id (for `cancelSubmission`), or nil when over.
    func recordSubmission(aliasID: String, recipients: Int, at: Date, limits: SubmissionLimits) async throws -> Int64?
    /// Takes back a counted message that was not queued after all.
    func cancelSubmission(id: Int64) async throws
    /// The domain's DKIM keys, active and retired, oldest first.
    func dkimKeys(domain: Domain) async throws -> [DKIMKeyRecord]
    /// Adds `records` (new active keys) and, in the same transaction, retires the domain's
    /// active keys at `retiring` and removes its keys retired before `removingRetiredBefore`.
    func rotateDKIMKeys(domain: Domain, adding records: [DKIMKeyRecord], retiring: Date, removingRetiredBefore: Date) async throws

    /// The alias's Sieve scripts, sorted by name. `noSuchAlias`.
    func sieveScripts(aliasID: String) async throws -> [SieveScriptRecord]
    /// The script named `name` (exact, case-sensitive), or nil.
    func sieveScript(aliasID: String, name: String) async throws -> SieveScriptRecord?
    /// The active script, or nil when none is active.
    func activeSieveScript(aliasID: String) async throws -> SieveScriptRecord?
    /// Adds the script, or replaces the content of the one with that name (its active state kept).
    /// `noSuchAlias`; `invalidSieveScript` (name, or over `SieveScriptRecord.maxScriptBytes`);
    /// `sieveQuota` (over `maxScripts` or `maxStorageBytes`). The content is not checked here:
    /// compile it first.
    func putSieveScript(aliasID: String, name: String, content: String, at: Date) async throws
    /// `noSuchSieveScript`; `sieveScriptExists` when `newName` is taken; `invalidSieveScript`. Keeps the active state.
    func renameSieveScript(aliasID: String, from name: String, to newName: String) async throws
    /// `noSuchSieveScript`; `sieveScriptActive` for the active script (deactivate it first).
    func deleteSieveScript(aliasID: String, name: String) async throws
    /// Makes `name` the only active script, or deactivates all when nil. `noSuchSieveScript`.
    func activateSieveScript(aliasID: String, name: String?) async throws

    /// The unexpired Sieve memory digests of the alias (at most
    /// `SQLiteDirectory.maxSieveMemoriesPerAlias`), read before a run: `duplicate` asks synchronously.
    func sieveMemories(aliasID: String, kind: SieveMemoryKind, now: Date) async throws -> Set<[UInt8]>
    /// Records `entry` unless a live one with its digest is there, in one transaction: true when
    /// recorded (a vacation reply may go), false when already remembered. `noSuchAlias`.
    func claimSieveMemory(aliasID: String, kind: SieveMemoryKind, entry: SieveMemoryEntry, now: Date) async throws -> Bool
    /// Records entries (a digest already there keeps the later expiry). Every write also drops
    /// expired rows and keeps the alias within its bound. `noSuchAlias`.
    func rememberSieve(aliasID: String, kind: SieveMemoryKind, entries: [SieveMemoryEntry], now: Date) async throws
    /// Takes back a claim whose reply was not queued after all.
    func forgetSieveMemory(aliasID: String, kind: SieveMemoryKind, digest: [UInt8]) async throws
    /// Records a run-time failure of the alias's script; only the newest
    /// `SQLiteDirectory.maxSieveRunErrors` are kept. `noSuchAlias`.
    func recordSieveRunError(aliasID: String, _ record: SieveRunErrorRecord) async throws
    /// The alias's recorded run-time failures, newest first. `noSuchAlias`.
    func sieveRunErrors(aliasID: String) async throws -> [SieveRunErrorRecord]

    /// Replaces an alias's forward addresses and webhooks (the owner's API and web page), under
    /// the same rules as `addAlias` (`DirectoryRules.validateAlias`). `noSuchAlias`.
    func setTargets(aliasID: String, forwardTo: [EmailAddress], webhooks: [String]) async throws -> AliasRecord

    /// Admin API tokens. `invalidAdminToken` for a malformed record (`DirectoryRules.validateAdminToken`);
    /// `tooManyAdminTokens` past `AdminToken.maxTokens`.
    func addAdminToken(_ record: AdminTokenRecord) async throws
    /// Oldest first.
    func adminTokens() async throws -> [AdminTokenRecord]
    /// The token whose hash is `SHA-256(token)`, compared in constant time over every stored
    /// hash; nil when none. Records the use (`AdminToken.shouldRecordUse`).
    func adminToken(matching token: String, now: Date) async throws -> AdminTokenRecord?
    /// `noSuchAdminToken` if absent.
    func removeAdminToken(id: String) async throws
}

extension MailDirectory {
    public func adminToken(matching token: String) async throws -> AdminTokenRecord? {
        try await adminToken(matching: token, now: Date())
    }

    /// The quota that applies to an alias: its own, else its domain's default, else `nodeDefault`
    /// (`quota.default`); nil: none.
    public func quota(of alias: AliasRecord, nodeDefault: Int64?) async throws -> Int64? {
        if let own = alias.quotaBytes { return own }
        return try await domain(alias.address.domain)?.defaultQuotaBytes ?? nodeDefault
    }
}
