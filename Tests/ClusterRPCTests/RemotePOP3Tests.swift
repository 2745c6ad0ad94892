import ClusterRPC
import Foundation
import MailboxAPI
import MailCore
import MailNet
import POP3Core
@testable import POP3Server
import SessionTesting
import Synchronization
import Testing

/// The POP3 server on a frontend, on `RemoteMailboxService` over loopback mutual TLS.
@Suite("POP3 through the cluster RPC", .serialized)
struct RemotePOP3Tests {
    /// A POP3 session in memory on the harness's remote service; returns the transport and a
    /// function sending a line and reading the reply.
    final class Client: Sendable {
        let transport = MemorySessionTransport(tlsAvailable: false)
        let inbox = SessionInbox<POP3Frame>()
        let framer = Mutex(POP3LineFramer())
        let consumed = Mutex(0)
        let task: Task<Void, Never>

        init(mailboxes: any MailboxService) {
            var configuration = POP3SessionConfiguration()
            configuration.allowInsecureAuth = true
            let transport = self.transport, inbox = self.inbox
            task = Task {
                let session = POP3Session(configuration: configuration, context: SessionContext(
                                          transport: transport, authenticator: SessionAuthenticator(mailboxes: mailboxes, gate: nil, limiter: nil),
                                          remoteIP: "127.0.0.1", isTLS: false, inbox: inbox, logger: .init(label: "test")))
                await session.run()
            }
        }

        func send(_ line: String) async {
            let frames: [POP3Frame] = framer.withLock { f in
                f.append(Array((line + "\r\n").utf8))
                var out: [POP3Frame] = []
                while let frame = f.next() { out.append(frame) }
                return out
            }
            transport.framesSent.withLock { $0 += frames.count }
            for frame in frames { await inbox.push(frame: frame) }
        }

        /// The output up to `terminator` (bounded wait).
        func read(until terminator: String) async throws -> String {
            let deadline = ContinuousClock.now + .seconds(300)
            while true {
                let out = transport.output
                let start = consumed.withLock { $0 }
                let fresh = String(decoding: out[start...], as: UTF8.self)
                if let range = fresh.range(of: terminator) {
                    let text = String(fresh[..<range.upperBound])
                    consumed.withLock { $0 = start + text.utf8.count }
                    return text
                }
                if ContinuousClock.now > deadline { Issue.record("timed out; got \(fresh.suffix(200).debugDescription)"); throw CancellationError() }
                try await Task.sleep(for: .milliseconds(5))
            }
        }

        func command(_ line: String, multiline: Bool = false) async throws -> String {
            await send(line)
            let status = try await read(until: "\r\n")
            guard multiline, status.hasPrefix("+OK") else { return status }
            return status + (try await read(until: "\r\n.\r\n"))
        }

        func close() async { inbox.pushClosed(); await task.value }
    }

    @Test("USER/PASS, STAT, LIST, UIDL, RETR, DELE, QUIT through the remote service; the storage node going away is -ERR [SYS/TEMP]")
    func session() async throws {
        let h = try await ClusterHarness()
        try await h.deliverOnStorage("From: a@example.org\r\nSubject: one\r\n\r\nfirst\r\n")
        try await h.deliverOnStorage("From: a@example.org\r\nSubject: two\r\n\r\n.leading dot\r\n")
        let c = Client(mailboxes: h.remote)
        _ = try await c.read(until: "\r\n")
        #expect(try await c.command("USER \(h.address)").hasPrefix("+OK"))
        #expect(try await c.command("PASS \(h.password)").hasPrefix("+OK Logged in; maildrop has 2 messages"))
        #expect(try await c.command("STAT").hasPrefix("+OK 2 "))
        #expect(try await c.command("UIDL", multiline: true).contains("2 "))
        let retr = try await c.command("RETR 2", multiline: true)
        #expect(retr.contains("Subject: two") && retr.contains("\r\n..leading dot\r\n"), "\(retr)")
        #expect(try await c.command("DELE 1").hasPrefix("+OK"))
        #expect(try await c.command("QUIT").hasPrefix("+OK"))
        await c.close()
        let session = try await h.remote.unlock(address: try EmailAddress(h.address), password: h.password)
        #expect(try await session.status(of: "INBOX").messages == 1)
        await session.close()

        // The storage node goes away.
        let d = Client(mailboxes: h.remote)
        _ = try await d.read(until: "\r\n")
        _ = try await d.command("USER \(h.address)")
        await h.stopStorage()
        let pass = try await d.command("PASS \(h.password)")
        #expect(pass.hasPrefix("-ERR [SYS/TEMP]"), "\(pass)")
        await d.close()
        await h.cleanUp()
    }
}
