import Crypto
import Directory
import Foundation
import MailCore
import MailStore

/// What a restore needs from the directory besides the mailbox file, stored beside each backup as
/// `keys.json`: the alias id (every wrapped key is bound to it), the mailbox id and public key, and
/// each password entry (a data key wrapped with scrypt of a password: useless without that
/// password). The alias's settings — address, forwards, webhooks, quota, password labels — are
/// sealed to the mailbox's own X-Wing key, so only someone holding a password can read them.
struct BackupKeys: Codable, Sendable {
    struct Password: Codable, Sendable, Equatable {
        var id: String
        var created: Date
        var kdf: String
        var salt: String        // base64
        var wrappedKey: String  // base64
        /// Its backup locator (`KeyHierarchy.backupLocator`), when the node had computed it.
        var locator: String?
    }

    /// The sealed part (JSON inside an HPKE box to the mailbox's public key).
    struct Settings: Codable, Sendable, Equatable {
        var address: String
        var store: Bool
        var forwardTo: [String]
        var webhooks: [String]
        var quotaBytes: Int64?
        var labels: [String: String]
    }

    var format = 1
    var aliasID: String
    var mailboxID: String
    var aliasCreated: Date
    var publicKey: String       // base64
    var passwords: [Password]
    var sealedSettings: String  // base64

    /// A hash of everything but the random sealing: equal when nothing a restore needs changed.
    let fingerprint: String

    enum CodingKeys: String, CodingKey {
        case format, aliasID, mailboxID, aliasCreated, publicKey, passwords, sealedSettings
    }

    init(alias: AliasRecord, passwords records: [PasswordRecord]) throws {
        guard let mailboxID = alias.mailboxID, let publicKey = alias.publicKey else {
            throw BackupError("\(alias.address) has no mailbox yet")
        }
        self.aliasID = alias.id
        self.mailboxID = mailboxID
        self.aliasCreated = alias.created
        self.publicKey = Data(publicKey).base64EncodedString()
        self.passwords = records.map {
            Password(id: $0.id, created: $0.created, kdf: $0.kdf, salt: Data($0.salt).base64EncodedString(),
                     wrappedKey: Data($0.wrappedKey).base64EncodedString(), locator: $0.backupLocator)
        }.sorted { $0.id < $1.id }
        let settings = Settings(address: alias.address.description, store: alias.store,
                                forwardTo: alias.forwardTo.map(\.description), webhooks: alias.webhooks,
                                quotaBytes: alias.quotaBytes,
                                labels: Dictionary(uniqueKeysWithValues: records.compactMap { r in r.label.map { (r.id, $0) } }))
        let settingsJSON = try Self.encoder.encode(settings)
        sealedSettings = Data(try InboundSeal.seal(message: Array(settingsJSON), internalDate: Date(timeIntervalSince1970: 0),
                                                   publicKey: publicKey, mailboxID: mailboxID)).base64EncodedString()
        var hasher = SHA256()
        hasher.update(data: try Self.encoder.encode([aliasID, mailboxID, self.publicKey]))
        hasher.update(data: try Self.encoder.encode(passwords))
        hasher.update(data: settingsJSON)
        fingerprint = hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(Int.self, forKey: .format)
        guard format == 1 else { throw BackupError("keys.json has format \(format); this build reads format 1") }
        aliasID = try c.decode(String.self, forKey: .aliasID)
        mailboxID = try c.decode(String.self, forKey: .mailboxID)
        aliasCreated = try c.decode(Date.self, forKey: .aliasCreated)
        publicKey = try c.decode(String.self, forKey: .publicKey)
        passwords = try c.decode([Password].self, forKey: .passwords)
        sealedSettings = try c.decode(String.self, forKey: .sealedSettings)
        fingerprint = ""
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        e.dateEncodingStrategy = .iso8601
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    var publicKeyBytes: [UInt8]? { Data(base64Encoded: publicKey).map(Array.init) }

    /// The well-formed backup locators of its passwords.
    var locators: Set<String> { Set(passwords.compactMap(\.locator).filter(DirectoryRules.isBackupLocator)) }

    /// The password entries as the directory stores them.
    func passwordRecords(labels: [String: String]) throws -> [PasswordRecord] {
        try passwords.map { p in
            guard let salt = Data(base64Encoded: p.salt), let wrapped = Data(base64Encoded: p.wrappedKey) else {
                throw BackupError("keys.json is damaged (password \(p.id))")
            }
            return PasswordRecord(id: p.id, aliasID: aliasID, label: labels[p.id], created: p.created, lastUsed: nil,
                                  kdf: p.kdf, salt: Array(salt), wrappedKey: Array(wrapped),
                                  backupLocator: p.locator.flatMap { DirectoryRules.isBackupLocator($0) ? $0 : nil })
        }
    }

    /// Opens the sealed settings with the restored mailbox (which holds the private key).
    func settings(in database: MailboxDatabase) throws -> Settings {
        guard let blob = Data(base64Encoded: sealedSettings) else { throw BackupError("keys.json is damaged (settings)") }
        return try Self.decoder.decode(Settings.self, from: Data(try database.openSealed(Array(blob))))
    }
}

/// A backup failure, one clear line (never a secret).
public struct BackupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
