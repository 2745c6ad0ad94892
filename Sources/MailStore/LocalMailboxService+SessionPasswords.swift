import Directory
import Foundation
import MailboxAPI
import MailCore

extension LocalMailboxService {
    /// Adds a generated password to the mailbox of an open session, authorised by that session
    /// (its key is in memory while the session lives): the owner's web page and API, signed in
    /// with a password they do not send again. Returns the password (shown once) and its entry.
    public func addPassword(session: LocalMailboxSession, label: String?) async throws -> (password: String, record: PasswordRecord) {
        guard let alias = try await directory.alias(address: session.address), alias.mailboxID == session.mailboxID else {
            throw MailStoreError(.noMailbox, "the mailbox of this session is gone")
        }
        guard try await directory.passwords(aliasID: alias.id).contains(where: { $0.id == session.passwordID }) else {
            throw MailStoreError(.authenticationFailed, "authentication failed")
        }
        guard let (_, dataKey) = await registry.retain(mailboxID: session.mailboxID) else {
            throw MailStoreError(.mailboxClosed, "the mailbox is locked")
        }
        do {
            let password = KeyHierarchy.generatePassword()
            let record = try KeyHierarchy.wrap(dataKey: dataKey, password: password, aliasID: alias.id,
                                               passwordID: DirectoryID.randomPasswordID(), label: label)
            try await directory.addPassword(record)
            await registry.detach(mailboxID: session.mailboxID)
            return (password, record)
        } catch {
            await registry.detach(mailboxID: session.mailboxID)
            throw error
        }
    }
}
