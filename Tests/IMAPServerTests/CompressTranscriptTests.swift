@testable import IMAPServer
import Testing

/// COMPRESS (RFC 4978) at the session level. The deflate itself is MailNet's `DeflateHandler`
/// (its own tests) and the imaplib suite runs it against the real server and Dovecot; an in-memory
/// session has no channel to compress, so here it refuses, after the usual argument checks.
@Suite("IMAP COMPRESS transcripts")
struct CompressTranscriptTests {
    @Test("COMPRESS: unknown mechanism BAD, missing argument BAD, no channel NO [CANNOT]; not offered in memory")
    func refusals() async throws {
        try await TranscriptTests().run([
            ("TAG COMPRESS LZMA", "TAG BAD Unknown compression mechanism\n"),
            ("TAG COMPRESS", "TAG BAD Missing compression mechanism\n"),
            ("TAG COMPRESS DEFLATE", "TAG NO [CANNOT] Compression is not available\n"),
        ], select: false)
        let h = try await SessionHarness(quotaBytes: 1 << 20)
        let c = h.connect()
        _ = try await c.read(until: "* OK")
        let before = try await c.command("a", "COMPRESS DEFLATE")
        #expect(before.contains("a BAD Log in first"))
        let login = try await c.command("L0", "LOGIN \(h.address) \(h.password)")
        #expect(login.contains("L0 OK"))
        let caps = try await c.command("b", "CAPABILITY")
        #expect(!caps.contains("COMPRESS"))
        await c.close()
        await h.cleanUp()
    }
}
