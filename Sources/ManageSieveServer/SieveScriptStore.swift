/// Who a ManageSieve login is: the address logged in, its mailbox and the password used (a
/// revoked password, or the address removed or given another mailbox, ends what it may do).
public struct SieveAccount: Sendable, Hashable {
    public var address: String
    public var mailboxID: String
    public var passwordID: String
    public init(address: String, mailboxID: String, passwordID: String) {
        self.address = address; self.mailboxID = mailboxID; self.passwordID = passwordID
    }
}

/// One stored script as LISTSCRIPTS and the quota checks see it.
public struct SieveScriptEntry: Sendable, Hashable {
    public var name: String
    public var active: Bool
    /// Bytes of its UTF-8 text.
    public var size: Int
    public init(name: String, active: Bool, size: Int) { self.name = name; self.active = active; self.size = size }
}

/// What a store refuses, by kind; the manager turns each into ManageSieve's reply.
public struct SieveStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case noSuchScript, scriptExists, scriptActive, invalidName, quota
    }
    public var code: Code
    public var description: String
    public init(_ code: Code, _ description: String) { self.code = code; self.description = description }
}

/// The limits the store applies to one owner's scripts (HAVESPACE and PUTSCRIPT check them
/// first, to answer with the precise response code).
public struct SieveScriptQuota: Sendable, Hashable {
    public var maxScriptBytes: Int
    public var maxScripts: Int
    public var maxStorageBytes: Int
    public init(maxScriptBytes: Int, maxScripts: Int, maxStorageBytes: Int) {
        self.maxScriptBytes = maxScriptBytes; self.maxScripts = maxScripts; self.maxStorageBytes = maxStorageBytes
    }
}

/// Where an owner's Sieve scripts live (the directory, in Sealbox): the seam between ManageSieve
/// (and `sealbox sieve`) and storage. `owner` is what `owner(of:)` returned. Errors other than
/// `SieveStoreError` are failures of the store itself (answered "try again later").
public protocol SieveScriptStore: Sendable {
    var quota: SieveScriptQuota { get }
    /// The owner of a login's scripts, or nil when the login no longer holds.
    func owner(of account: SieveAccount) async throws -> String?
    /// Sorted by name.
    func list(owner: String) async throws -> [SieveScriptEntry]
    func script(owner: String, name: String) async throws -> String?
    /// Creates or replaces (keeping the active mark). `invalidName`, `quota`.
    func put(owner: String, name: String, content: String) async throws
    /// `noSuchScript`, `scriptExists`, `invalidName`.
    func rename(owner: String, from: String, to: String) async throws
    /// `noSuchScript`, `scriptActive`.
    func delete(owner: String, name: String) async throws
    /// The only active script, or none (nil). `noSuchScript`.
    func activate(owner: String, name: String?) async throws
    /// Why `name` may not be a script name (RFC 5804 §1.6), or nil.
    func nameProblem(_ name: String) -> String?
}
