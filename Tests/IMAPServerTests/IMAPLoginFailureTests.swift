import Foundation
import IMAPCore
@testable import IMAPServer
import MailCore
import MailboxAPI
import Testing

/// A store that cannot open any mailbox (a corrupt file, a full disk).
private struct BrokenStore: MailboxService {
    func unlock(address: EmailAddress, password: String) async throws -> any MailboxSession { throw CocoaError(.fileReadCorruptFile) }
    func deliver(to recipient: EmailAddress, message: [UInt8], internalDate: Date) async throws -> DeliveryOutcome { .notStored }
    func acceptInbound(message: [UInt8], prefix: [UInt8], internalDate: Date, mailboxes: [InboundMailbox], jobs: [OutboundJob]) async throws -> [Int64] { [] }
    func storedBytes(mailboxID: String) async throws -> Int64 { 0 }
}

@Suite("IMAP login when the store fails")
struct IMAPLoginFailureTests {
    @Test("an unlock error that is not a wrong password gets a tagged NO [UNAVAILABLE], and the session goes on")
    func storeFailure() async throws {
        var configuration = IMAPSessionConfiguration()
        configuration.allowInsecureAuth = true
        let c = TestClient(configuration: configuration, mailboxes: BrokenStore(), authGate: nil)
        _ = try await c.read(until: "* OK")
        let reply = try await c.command("a1", "LOGIN user@example.com secret")
        #expect(reply == "a1 NO [UNAVAILABLE] Mailbox unavailable; try again later\r\n")
        let plain = Data("\0user@example.com\0secret".utf8).base64EncodedString()
        #expect(try await c.command("a2", "AUTHENTICATE PLAIN \(plain)") == "a2 NO [UNAVAILABLE] Mailbox unavailable; try again later\r\n")
        #expect(try await c.command("a3", "NOOP") == "a3 OK NOOP completed\r\n")
        await c.close()
    }
}
