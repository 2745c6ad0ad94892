import Directory
import Foundation
import MailCore
import ManageSieveServer

/// The node's Sieve scripts as ManageSieve and `sealbox sieve` see them: each alias's scripts in
/// the directory (`SieveScriptRecord`), with the directory's limits as the quota. A login owns
/// the scripts of the alias it logged in as, while its password and mailbox still hold.
public struct DirectorySieveScriptStore: SieveScriptStore {
    let directory: any MailDirectory
    let now: @Sendable () -> Date

    public init(directory: any MailDirectory, now: @escaping @Sendable () -> Date = { Date() }) {
        self.directory = directory; self.now = now
    }

    public var quota: SieveScriptQuota {
        SieveScriptQuota(maxScriptBytes: SieveScriptRecord.maxScriptBytes, maxScripts: SieveScriptRecord.maxScripts,
                         maxStorageBytes: SieveScriptRecord.maxStorageBytes)
    }

    public func owner(of account: SieveAccount) async throws -> String? {
        guard let address = try? EmailAddress(account.address),
              let alias = try await directory.alias(address: address), alias.mailboxID == account.mailboxID,
              try await directory.passwords(aliasID: alias.id).contains(where: { $0.id == account.passwordID })
        else { return nil }
        return alias.id
    }

    /// The owner of an address's scripts without a login (the CLI, run by the node's operator).
    public func owner(address: EmailAddress) async throws -> String? {
        try await directory.alias(address: address)?.id
    }

    public func list(owner: String) async throws -> [SieveScriptEntry] {
        try await mapped(name: "") {
            try await directory.sieveScripts(aliasID: owner).map {
                SieveScriptEntry(name: $0.name, active: $0.active, size: $0.content.utf8.count)
            }
        }
    }

    public func script(owner: String, name: String) async throws -> String? {
        try await directory.sieveScript(aliasID: owner, name: name)?.content
    }

    public func put(owner: String, name: String, content: String) async throws {
        try await mapped(name: name) { try await directory.putSieveScript(aliasID: owner, name: name, content: content, at: now()) }
    }

    public func rename(owner: String, from: String, to: String) async throws {
        try await mapped(name: to) { try await directory.renameSieveScript(aliasID: owner, from: from, to: to) }
    }

    public func delete(owner: String, name: String) async throws {
        try await mapped(name: name) { try await directory.deleteSieveScript(aliasID: owner, name: name) }
    }

    public func activate(owner: String, name: String?) async throws {
        try await mapped(name: name ?? "") { try await directory.activateSieveScript(aliasID: owner, name: name) }
    }

    public func nameProblem(_ name: String) -> String? { SieveScriptRecord.nameProblem(name) }

    /// The directory's refusals as the store's; anything else passes through (a store failure).
    func mapped<T>(name: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DirectoryError {
            switch error.code {
            case .noSuchSieveScript: throw SieveStoreError(.noSuchScript, error.message)
            case .sieveScriptExists: throw SieveStoreError(.scriptExists, error.message)
            case .sieveScriptActive: throw SieveStoreError(.scriptActive, error.message)
            case .invalidSieveScript: throw SieveStoreError(.invalidName, error.message)
            case .sieveQuota: throw SieveStoreError(.quota, error.message)
            default: throw error
            }
        }
    }
}
