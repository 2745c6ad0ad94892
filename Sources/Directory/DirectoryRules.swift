import Foundation
import MailCore

/// The validation every `MailDirectory` implementation applies before it touches storage.
public enum DirectoryRules {
    public static let maxForwardTargets = 50
    public static let maxWebhooks = 20
    public static let maxWebhookLength = 2048
    public static let maxPublicKeyLength = 4096
    public static let maxPasswordLabelLength = 200
    public static let maxKDFLength = 200
    public static let maxSaltLength = 1024
    public static let maxWrappedKeyLength = 4096

    /// The alias as it will be stored (targets de-duplicated, order kept), or the reason it is refused.
    /// `proposed` checked (`validateAlias`) and with its targets normalized: what a backend
    /// inserts for `addAlias` and `restoreAlias` (same id and creation date, no mailbox yet).
    public static func validatedAlias(_ proposed: AliasRecord) throws(DirectoryError) -> AliasRecord {
        let (forwards, hooks) = try validateAlias(proposed.address, store: proposed.store, forwardTo: proposed.forwardTo,
                                                  webhooks: proposed.webhooks, quotaBytes: proposed.quotaBytes)
        return AliasRecord(id: proposed.id, address: proposed.address, store: proposed.store, forwardTo: forwards, webhooks: hooks,
                           quotaBytes: proposed.quotaBytes, created: proposed.created)
    }

    /// `restoreAlias` for every backend: the id checked, the alias inserted by `insert` (which
    /// applies `validatedAlias`), then its mailbox and public key recorded when the backup had them.
    public static func restoreAlias(_ restored: AliasRecord, in directory: some MailDirectory,
                                    insert: (AliasRecord) async throws -> AliasRecord) async throws -> AliasRecord {
        guard DirectoryID.isValid(restored.id) else { throw DirectoryError(.invalidID, "alias id must be 32 lower-case hex digits") }
        var record = try await insert(restored)
        if let mailboxID = restored.mailboxID, let publicKey = restored.publicKey {
            try await directory.setMailbox(aliasID: record.id, mailboxID: mailboxID, publicKey: publicKey)
            record.mailboxID = mailboxID
            record.publicKey = publicKey
        }
        return record
    }

    public static func validateAlias(
        _ address: EmailAddress, store: Bool, forwardTo: [EmailAddress], webhooks: [String], quotaBytes: Int64?
    ) throws(DirectoryError) -> (forwardTo: [EmailAddress], webhooks: [String]) {
        var seenAddresses = Set<EmailAddress>()
        let forwards = forwardTo.filter { seenAddresses.insert($0).inserted }
        var seenHooks = Set<String>()
        let hooks = webhooks.filter { seenHooks.insert($0).inserted }
        if forwards.contains(address) {
            throw DirectoryError(.forwardLoop, "alias \(address) cannot forward to itself")
        }
        if !store && forwards.isEmpty && hooks.isEmpty {
            throw DirectoryError(.aliasNeedsTarget, "alias \(address) neither stores mail nor forwards it: give a forward address or a webhook")
        }
        if forwards.count > maxForwardTargets {
            throw DirectoryError(.tooManyTargets, "alias \(address) has \(forwards.count) forward addresses; at most \(maxForwardTargets)")
        }
        if hooks.count > maxWebhooks {
            throw DirectoryError(.tooManyTargets, "alias \(address) has \(hooks.count) webhooks; at most \(maxWebhooks)")
        }
        for (index, hook) in hooks.enumerated() {
            if let reason = webhookProblem(hook) {
                throw DirectoryError(.invalidWebhook, "webhook \(index + 1) of alias \(address) \(reason)")
            }
        }
        if let quotaBytes, quotaBytes < 0 {
            throw DirectoryError(.invalidQuota, "quota of alias \(address) is negative")
        }
        return (forwards, hooks)
    }

    /// Why `url` is not a usable webhook, or `nil`. The answer never repeats the URL.
    public static func webhookProblem(_ url: String) -> String? {
        guard url.utf8.count <= maxWebhookLength else { return "is longer than \(maxWebhookLength) characters" }
        guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || !$0.isASCII }) else {
            return "contains spaces, control or non-ASCII characters (percent-encode them)"
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            return "is not a URL"
        }
        guard scheme == "http" || scheme == "https" else { return "must be an http or https URL" }
        guard let host = components.host, !host.isEmpty else { return "has no host" }
        return nil
    }

    public static func validateMailbox(mailboxID: String, publicKey: [UInt8]) throws(DirectoryError) {
        guard DirectoryID.isValid(mailboxID) else {
            throw DirectoryError(.invalidID, "mailbox id must be 32 lower-case hex digits")
        }
        guard !publicKey.isEmpty, publicKey.count <= maxPublicKeyLength else {
            throw DirectoryError(.invalidPublicKey, "mailbox public key must be 1 to \(maxPublicKeyLength) bytes, got \(publicKey.count)")
        }
    }

    public static func validatePassword(_ record: PasswordRecord) throws(DirectoryError) {
        guard DirectoryID.isValidPasswordID(record.id) else {
            throw DirectoryError(.invalidID, "password id must be 4 to 32 lower-case hex digits")
        }
        guard DirectoryID.isValid(record.aliasID) else {
            throw DirectoryError(.invalidID, "alias id must be 32 lower-case hex digits")
        }
        guard !record.kdf.isEmpty, record.kdf.utf8.count <= maxKDFLength else {
            throw DirectoryError(.invalidPassword, "password \(record.id): KDF description must be 1 to \(maxKDFLength) bytes")
        }
        guard !record.salt.isEmpty, record.salt.count <= maxSaltLength else {
            throw DirectoryError(.invalidPassword, "password \(record.id): salt must be 1 to \(maxSaltLength) bytes")
        }
        if let locator = record.backupLocator, !isBackupLocator(locator) {
            throw DirectoryError(.invalidPassword, "password \(record.id): a backup locator is 64 lower-case hex digits")
        }
        guard !record.wrappedKey.isEmpty, record.wrappedKey.count <= maxWrappedKeyLength else {
            throw DirectoryError(.invalidPassword, "password \(record.id): wrapped key must be 1 to \(maxWrappedKeyLength) bytes")
        }
        if let label = record.label {
            guard label.count <= maxPasswordLabelLength,
                  !label.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else {
                throw DirectoryError(.invalidPassword, "password \(record.id): label must be at most \(maxPasswordLabelLength) characters, without control characters")
            }
        }
    }

    /// A backup locator's form: 64 lower-case hex digits (an HMAC-SHA256).
    public static func isBackupLocator(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// `invalidAdminToken` for a malformed record or a label over `AdminToken.maxLabelLength`.
    public static func validateAdminToken(_ record: AdminTokenRecord) throws(DirectoryError) {
        guard record.hash.count == 32, !record.id.isEmpty, record.id.count <= 32,
              (record.label?.count ?? 0) <= AdminToken.maxLabelLength,
              !(record.label ?? "").unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw DirectoryError(.invalidAdminToken, "an admin token needs a 32-byte hash and a label of at most \(AdminToken.maxLabelLength) printable characters")
        }
    }
}
