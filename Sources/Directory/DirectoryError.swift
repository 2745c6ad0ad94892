import MailCore

/// Why a directory operation was refused. One line each; never contains a password, a key, a salt
/// or a wrapped key, and never echoes a webhook URL (it may carry a token).
public struct DirectoryError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Code: String, Sendable, Hashable, CaseIterable {
        case domainExists
        case noSuchDomain
        case domainHasAliases
        case aliasExists
        case noSuchAlias
        /// A non-storing alias with neither a forward address nor a webhook would drop mail.
        case aliasNeedsTarget
        /// The alias forwards to itself.
        case forwardLoop
        case tooManyTargets
        case invalidWebhook
        case invalidQuota
        /// An alias, mailbox or password id of the wrong shape.
        case invalidID
        case invalidPublicKey
        case aliasDoesNotStore
        /// The alias already has a different mailbox.
        case mailboxAlreadySet
        /// Another alias already has this mailbox.
        case mailboxInUse
        case passwordExists
        case noSuchPassword
        /// A password record with an empty KDF, salt or wrapped key, or an unusable label.
        case invalidPassword
        /// A send-as address that is neither an address nor `*@domain`, or not of a domain of this server.
        case invalidSendAs
        /// The database was written by a newer Sealbox (unknown schema migrations).
        case schemaTooNew
        /// A stored row could not be read back (damaged or hand-edited database).
        case corruptRecord
        /// A DKIM key record of the wrong shape (selector, algorithm, empty key) or a selector in use.
        case invalidDKIMKey
        /// A Sieve script name that RFC 5804 §1.6 does not allow, or a script over its size limit.
        case invalidSieveScript
        case noSuchSieveScript
        case sieveScriptExists
        /// The active script cannot be deleted (RFC 5804 §2.10).
        case sieveScriptActive
        /// Over `SieveScriptRecord.maxScripts` or `maxStorageBytes`.
        case sieveQuota
        /// An admin token record of the wrong shape (hash, id, label).
        case invalidAdminToken
        case noSuchAdminToken
        /// Over `AdminToken.maxTokens`.
        case tooManyAdminTokens
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func domainExists(_ domain: Domain) -> Self { .init(.domainExists, "domain \(domain) already exists") }
    static func noSuchDomain(_ domain: Domain) -> Self { .init(.noSuchDomain, "no such domain: \(domain)") }
    static func noSuchAlias(_ id: String) -> Self { .init(.noSuchAlias, "no such alias: \(id)") }
    static func noSuchSieveScript(_ name: String) -> Self { .init(.noSuchSieveScript, "no Sieve script named \"\(name)\"") }
    static func noSuchPassword(_ aliasID: String, _ passwordID: String) -> Self {
        .init(.noSuchPassword, "no such password \(passwordID) for alias \(aliasID)")
    }
}
