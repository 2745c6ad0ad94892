@testable import ClusterRPC
import ClusterRPCCore
import Foundation
import Logging
import MailboxAPI
import MailCore
import NIOCore
import NIOSSL
import Synchronization
import Testing
import WSClient

/// The IMAP server on a frontend: its sessions run on `RemoteMailboxService`, which talks over a
/// real loopback mutual-TLS WebSocket to the storage node's RPC server on a real `LocalMailboxService`.
@Suite("IMAP through the cluster RPC", .serialized)
struct RemoteIMAPTests {
    @Test("LOGIN, CREATE, APPEND, SELECT, FETCH, STORE, SEARCH, COPY, EXPUNGE, STATUS, LIST through the remote service")
    func basicSession() async throws {
        let h = try await ClusterHarness()
        let c = h.imap()
        #expect(try await c.login(h).contains("L0 OK"))
        #expect(try await c.command("a1", "CREATE Work").contains("a1 OK"))
        let message = "From: a@example.org\r\nTo: user@example.com\r\nSubject: remote hello\r\n\r\nbody over the wire\r\n"
        let append = try await c.append("a2", message, flags: "(\\Flagged)")
        #expect(append.contains("a2 OK [APPENDUID"), "\(append)")
        let select = try await c.command("a3", "SELECT INBOX")
        #expect(select.contains("* 1 EXISTS") && select.contains("a3 OK [READ-WRITE]"), "\(select)")
        let fetch = try await c.command("a4", "FETCH 1 (FLAGS ENVELOPE BODY.PEEK[])")
        #expect(fetch.contains("\\Flagged") && fetch.contains("\"remote hello\"") && fetch.contains("body over the wire"), "\(fetch)")
        // ENVELOPE and BODYSTRUCTURE alone: the states and the kept encodings in one call.
        for tag in ["a4e", "a4f"] {
            let structure = try await c.command(tag, "UID FETCH 1 (ENVELOPE BODYSTRUCTURE)")
            #expect(structure.contains("\"remote hello\"") && structure.lowercased().contains("bodystructure (\"text\" \"plain\""), "\(structure)")
        }
        #expect(try await c.command("a5", "STORE 1 +FLAGS (\\Seen)").contains("\\Seen"))
        #expect(try await c.command("a6", "SEARCH SUBJECT remote").contains("* SEARCH 1"))
        #expect(try await c.command("a7", "COPY 1 Work").contains("a7 OK [COPYUID"))
        #expect(try await c.command("a8", "STATUS Work (MESSAGES UIDNEXT)").contains("MESSAGES 1"))
        #expect(try await c.command("a9", "STORE 1 +FLAGS (\\Deleted)").contains("a9 OK"))
        #expect(try await c.command("b1", "EXPUNGE").contains("* 1 EXPUNGE"))
        let list = try await c.command("b2", "LIST \"\" *")
        #expect(list.contains("Work") && list.contains("INBOX"))
        #expect(try await c.command("b3", "SELECT NoSuchFolder").contains("b3 NO [NONEXISTENT]"))  // the store's error, as locally
        #expect(try await c.command("b4", "LOGOUT").contains("b4 OK"))
        await c.close()
        await h.cleanUp()
    }

    @Test("the states and the derived bytes of a set of messages in one call, as the two calls give them")
    func statesWithDerived() async throws {
        let h = try await ClusterHarness()
        let session = try await h.remote.unlock(address: try EmailAddress(h.address), password: h.password)
        for i in 1...3 {
            _ = try await session.append(to: "INBOX", message: Array("Subject: \(i)\r\n\r\nbody \(i)\r\n".utf8), flags: i == 2 ? [.flagged] : [],
                                         keywords: [], internalDate: nil)
        }
        try await session.keepDerived("test-kind", in: "INBOX", values: [1: [1, 2, 3], 3: [9]])
        let uids = UIDSet(1...3)
        let both = try await session.messageStates(in: "INBOX", uids: uids, changedSince: nil, derived: ["test-kind", "absent-kind"])
        #expect(both.records == (try await session.messageStates(in: "INBOX", uids: uids, changedSince: nil)))
        #expect(both.derived == (try await session.derived(["test-kind", "absent-kind"], in: "INBOX", uids: uids)))
        #expect(both.derived == ["test-kind": [1: [1, 2, 3], 3: [9]]])
        await session.close()
        await h.cleanUp()
    }

    @Test("a wrong password is refused as locally")
    func wrongPassword() async throws {
        let h = try await ClusterHarness()
        let c = h.imap()
        _ = try await c.read(until: "* OK")
        #expect(try await c.command("L1", "LOGIN \(h.address) wrong-password").contains("L1 NO [AUTHENTICATIONFAILED]"))
        await c.close()
        await h.cleanUp()
    }

    @Test("IDLE on the frontend sees a delivery made directly on the storage node")
    func idleSeesStorageDelivery() async throws {
        let h = try await ClusterHarness()
        let c = h.imap()
        #expect(try await c.login(h).contains("L0 OK"))
        #expect(try await c.command("s", "SELECT INBOX").contains("* 0 EXISTS"))
        try await c.send("i IDLE")
        _ = try await c.read(until: "+ idling")
        try await h.deliverOnStorage("From: b@example.org\r\nSubject: pushed\r\n\r\nnew mail\r\n")
        let pushed = try await c.read(until: "* 1 EXISTS")
        #expect(pushed.contains("* 1 EXISTS"))
        try await c.send("DONE")
        #expect(try await c.read(until: "i ").contains("i OK"))
        let fetch = try await c.command("f", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        #expect(fetch.contains("Subject: pushed"))
        await c.close()
        await h.cleanUp()
    }

    @Test("two sessions on one frontend watching one mailbox share one subscription: both see each change, in order, from one push; it outlives the session that opened it")
    func sharedSubscription() async throws {
        let h = try await ClusterHarness()
        let address = try EmailAddress(h.address)
        let a = try await h.remote.unlock(address: address, password: h.password)
        let b = try await h.remote.unlock(address: address, password: h.password)
        let client = h.pool.client(h.endpoint), mailboxID = a.mailboxID
        let seenA = ChangeCollector(a.changes(folder: "INBOX")), seenB = ChangeCollector(b.changes(folder: "INBOX"))
        try await eventually { await client.watcherCount(mailboxID: mailboxID) == 2 && h.counters.subscriptionsOpened == 1 }
        #expect(await client.hubCount(mailboxID: mailboxID) == 1)

        try await h.deliverOnStorage("From: b@example.org\r\nSubject: one\r\n\r\nfirst\r\n")
        try await eventually { !seenA.changes.isEmpty && seenA.changes.count == h.counters.pushFramesSent && seenB.changes.count == seenA.changes.count }
        #expect(seenA.changes == seenB.changes)
        #expect(seenA.changes.allSatisfy { if case .appended = $0.kind { true } else { false } })
        #expect(h.counters.subscriptionsOpened == 1, "one subscription on the storage node for both sessions")

        // A third session attaches to it; the first one closing does not end it for the others.
        let c = try await h.remote.unlock(address: address, password: h.password)
        let seenC = ChangeCollector(c.changes(folder: "INBOX"))
        try await eventually { await client.watcherCount(mailboxID: mailboxID) == 3 }
        await a.close()
        #expect(await client.watcherCount(mailboxID: mailboxID) == 2)
        try await eventually { seenA.finished }
        let before = h.counters.pushFramesSent, seenBefore = seenB.changes.count
        _ = try await b.storeFlags(in: "INBOX", uids: UIDSet([1]), operation: .add, flags: [.seen], keywords: [], unchangedSince: nil)
        try await eventually { seenB.changes.count > seenBefore && seenC.changes.count == seenB.changes.count - seenBefore
            && h.counters.pushFramesSent - before == seenC.changes.count }
        #expect(Array(seenB.changes.dropFirst(seenBefore)) == seenC.changes)
        #expect(seenC.changes.contains { if case .flagsChanged = $0.kind { true } else { false } })
        #expect(h.counters.subscriptionsOpened == 1)

        // The last watcher leaving cancels it on the storage node.
        await b.close()
        await c.close()
        #expect(await client.hubCount(mailboxID: mailboxID) == 0)
        try await eventually { seenB.finished && seenC.finished }
        await h.cleanUp()
    }

    @Test("a STORE or an EXPUNGE through a frontend is one call when nothing else changed the folder; another session's change is still reported")
    func storeIsOneCall() async throws {
        let h = try await ClusterHarness()
        let c1 = h.imap(), c2 = h.imap()
        #expect(try await c1.login(h).contains("L0 OK"))
        for i in 1...3 {
            #expect(try await c1.append("a\(i)", "From: a@example.org\r\nSubject: m\(i)\r\n\r\nbody\r\n").contains("a\(i) OK"))
        }
        #expect(try await c1.command("s", "SELECT INBOX").contains("* 3 EXISTS"))
        // Its own STOREs, one after another, each changing a message: each is the storeFlags call alone (the view follows it),
        // and its own change events do not make the next command read the folder again.
        let stores = h.counters.requests(.storeFlags), catchUps = h.counters.requests(.changesSince)
        for i in 0..<10 {
            let answer = try await c1.command("t\(i)", "UID STORE \(1 + i % 3) \(i / 3 % 2 == 0 ? "+" : "-")FLAGS (\\Flagged)")
            #expect(answer.contains("FETCH (UID \(1 + i % 3) FLAGS (") && answer.contains("t\(i) OK"), "\(answer)")
            try await Task.sleep(for: .milliseconds(20))  // the change's push arrives between the commands
        }
        #expect(h.counters.requests(.storeFlags) - stores == 10)
        #expect(h.counters.requests(.changesSince) - catchUps == 0, "no catch-up read after the session's own STOREs")
        // Its own EXPUNGE likewise: one call, the expunge announced.
        #expect(try await c1.command("d", "UID STORE 3 +FLAGS.SILENT (\\Deleted)").contains("d OK"))
        try await Task.sleep(for: .milliseconds(20))
        let expunge = try await c1.command("e", "EXPUNGE")
        #expect(expunge.contains("* 3 EXPUNGE") && expunge.contains("e OK"), "\(expunge)")
        #expect(h.counters.requests(.expungeWithModSeq) == 1)
        #expect(h.counters.requests(.changesSince) - catchUps == 0, "no catch-up read after the session's own EXPUNGE")
        // Another session's change: the first session's next command reports it (NOOP reads).
        #expect(try await c2.login(h).contains("L0 OK"))
        #expect(try await c2.command("s", "SELECT INBOX").contains("* 2 EXISTS"))
        #expect(try await c2.command("u", "UID STORE 1 +FLAGS (\\Seen)").contains("u OK"))
        let noop = try await c1.command("n", "NOOP")
        #expect(noop.contains("* 1 FETCH (UID 1 FLAGS (") && noop.contains("\\Seen"), "\(noop)")
        // And a STORE right after another session's change reads it too (the MODSEQ has a gap).
        #expect(try await c2.command("v", "UID STORE 2 +FLAGS (\\Answered)").contains("v OK"))
        let store = try await c1.command("w", "UID STORE 1 +FLAGS (\\Draft)")
        #expect(store.contains("* 2 FETCH (UID 2 FLAGS (\\Answered") && store.contains("w OK"), "\(store)")
        await c1.close()
        await c2.close()
        await h.cleanUp()
    }

    @Test("SEARCH by subject through a frontend: fields read once, then only new messages'; expunges and new mail are seen")
    func searchFieldsKept() async throws {
        let h = try await ClusterHarness()
        let c1 = h.imap(), c2 = h.imap()
        #expect(try await c1.login(h).contains("L0 OK"))
        func append(_ c: RemoteIMAPClient, _ tag: String, _ subject: String) async throws {
            #expect(try await c.append(tag, "From: a@example.org\r\nSubject: \(subject)\r\n\r\nbody\r\n").contains("\(tag) OK"))
        }
        for i in 1...4 { try await append(c1, "a\(i)", i % 2 == 0 ? "apple \(i)" : "pear \(i)") }
        #expect(try await c1.command("s", "SELECT INBOX").contains("* 4 EXISTS"))
        let calls = h.counters.requests(.searchFieldsExcluding)
        #expect(try await c1.command("f1", "UID SEARCH SUBJECT apple").contains("* SEARCH 2 4"))
        #expect(try await c1.command("f2", "UID SEARCH SUBJECT apple").contains("* SEARCH 2 4"))
        #expect(h.counters.requests(.searchFieldsExcluding) - calls == 2)
        // Another session expunges one and appends one: the next search sees both, before the
        // first session is told of either (its view holds the expunge back).
        #expect(try await c2.login(h).contains("L0 OK"))
        #expect(try await c2.command("s", "SELECT INBOX").contains("* 4 EXISTS"))
        #expect(try await c2.command("x", "UID STORE 2 +FLAGS.SILENT (\\Deleted)").contains("x OK"))
        #expect(try await c2.command("y", "EXPUNGE").contains("y OK"))
        try await append(c2, "a5", "apple 5")
        let during = try await c1.command("f3", "UID SEARCH SUBJECT apple")
        #expect(during.contains("* SEARCH 4\r\n") || during.contains("* SEARCH 4 5"), "\(during)")
        #expect(!during.contains("SEARCH 2"), "\(during)")
        _ = try await c1.command("n", "NOOP")
        #expect(try await c1.command("f4", "UID SEARCH SUBJECT apple").contains("* SEARCH 4 5"))
        #expect(try await c1.command("f5", "UID SEARCH SUBJECT pear").contains("* SEARCH 1 3"))
        // Another folder (a fresh UID space) is not answered from the INBOX's fields.
        #expect(try await c1.command("c", "CREATE Other").contains("c OK"))
        #expect(try await c1.command("m", "UID COPY 1 Other").contains("m OK"))
        #expect(try await c1.command("t", "SELECT Other").contains("* 1 EXISTS"))
        #expect(try await c1.command("f6", "UID SEARCH SUBJECT pear").contains("* SEARCH 1\r\n"))
        #expect(try await c1.command("f7", "UID SEARCH SUBJECT apple").contains("* SEARCH\r\n"))
        // The call itself: every message that has fields, and the fields of those not known.
        let session = try await h.remote.unlock(address: try EmailAddress(h.address), password: h.password)
        let answer = try await session.searchFields(in: "INBOX", excluding: UIDSet([1, 3]))
        #expect(answer.existing.sorted() == [1, 3, 4, 5])
        #expect(answer.fields.map(\.uid).sorted() == [4, 5] && answer.fields.first?.subject == "apple 4")
        await session.close()
        await c1.close()
        await c2.close()
        await h.cleanUp()
    }

    @Test("two IMAP sessions IDLE on one frontend, one mailbox: both see a delivery on the storage node")
    func twoIdleSessions() async throws {
        let h = try await ClusterHarness()
        let c1 = h.imap(), c2 = h.imap()
        for c in [c1, c2] {
            #expect(try await c.login(h).contains("L0 OK"))
            #expect(try await c.command("s", "SELECT INBOX").contains("* 0 EXISTS"))
            try await c.send("i IDLE")
            _ = try await c.read(until: "+ idling")
        }
        // Every subscription the sessions hold is shared by both.
        let client = h.pool.client(h.endpoint)
        try await eventually {
            let hubs = await client.hubCount(), watchers = await client.watcherCount()
            return hubs > 0 && watchers == 2 * hubs
        }
        let opened = h.counters.subscriptionsOpened
        try await h.deliverOnStorage("From: b@example.org\r\nSubject: pushed\r\n\r\nnew mail\r\n")
        for c in [c1, c2] {
            #expect(try await c.read(until: "* 1 EXISTS").contains("* 1 EXISTS"))
            try await c.send("DONE")
            #expect(try await c.read(until: "i ").contains("i OK"))
        }
        #expect(h.counters.subscriptionsOpened == opened)
        await c1.close()
        await c2.close()
        await h.cleanUp()
    }

    @Test("a 20 MB APPEND and its FETCH cross as chunks, byte-exact")
    func largeAppendAndFetch() async throws {
        let h = try await ClusterHarness()
        let c = h.imap()
        #expect(try await c.login(h).contains("L0 OK"))
        var body = ""
        let line = String(repeating: "0123456789abcdef", count: 4) + "\r\n"
        body.reserveCapacity(21_000_000)
        while body.utf8.count < 20_000_000 { body += line }
        let message = "From: a@example.org\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\n" + body
        try await c.send("a APPEND INBOX {\(message.utf8.count)}")
        _ = try await c.read(until: "+")
        try await c.sendRaw(Array((message + "\r\n").utf8))
        #expect(try await c.read(until: "a ").contains("a OK [APPENDUID"))
        _ = try await c.command("s", "SELECT INBOX")
        let reply = try await c.command("f", "FETCH 1 (BODY.PEEK[])")
        let expectedHead = "* 1 FETCH (BODY[] {\(message.utf8.count)}\r\n"
        #expect(reply.hasPrefix(expectedHead), "\(reply.prefix(200))")
        #expect(reply.utf8.dropFirst(expectedHead.utf8.count).starts(with: message.utf8), "the body arrives byte-exact")
        #expect(reply.hasSuffix("f OK FETCH completed\r\n"), "\(reply.suffix(200))")
        await c.close()
        await h.cleanUp()
    }

    @Test("the storage node going away: the open session gets NO [UNAVAILABLE], a new LOGIN too")
    func storageGoesAway() async throws {
        var configuration = RPCClient.Configuration()
        configuration.connectTimeout = .seconds(5)
        let h = try await ClusterHarness(clientConfiguration: configuration)
        let c = h.imap()
        #expect(try await c.login(h).contains("L0 OK"))
        #expect(try await c.command("s", "SELECT INBOX").contains("s OK"))
        await h.stopStorage()
        let status = try await c.command("t", "STATUS INBOX (MESSAGES)")
        #expect(status.contains("t NO [UNAVAILABLE]"), "\(status)")
        let d = h.imap()
        _ = try await d.read(until: "* OK")
        let login = try await d.command("L1", "LOGIN \(h.address) \(h.password)")
        #expect(login.contains("L1 NO [UNAVAILABLE]"), "\(login)")
        // The service itself says unavailable (the MX maps it to 451 4.3.0, POP3 to -ERR [SYS/TEMP]).
        await #expect(throws: MailStoreError.self) { try await h.remote.storedBytes(mailboxID: "x") }
        do { _ = try await h.remote.deliver(to: try EmailAddress(h.address), message: Array("x".utf8), internalDate: Date()) } catch let e as MailStoreError {
            #expect(e.code == .unavailable)
        }
        await c.close()
        await d.close()
        await h.cleanUp()
    }
}

@Suite("Cluster RPC transport", .serialized)
struct RPCTransportTests {
    @Test("a client without a certificate, or with one from another CA, gets nothing")
    func refusedWithoutCertificate() async throws {
        let h = try await ClusterHarness()
        // No client certificate at all.
        var noCert = TLSConfiguration.makeClientConfiguration()
        noCert.trustRoots = .certificates(h.frontendTLS.ca)
        noCert.minimumTLSVersion = .tlsv13
        var wsConfiguration = WebSocketClientConfiguration()
        wsConfiguration.sniHostname = "storage-1"
        let reached = ManagedAtomicFlag()
        await #expect(throws: (any Error).self) {
            try await WebSocketClient.connect(url: "wss://127.0.0.1:\(h.endpoint.port)\(ClusterRPCServer.path)", configuration: wsConfiguration,
                                              tlsConfiguration: noCert, logger: Logger(label: "test")) { inbound, outbound, _ in
                reached.set()
                try await outbound.write(.binary(ByteBuffer(bytes: RPCFrame(kind: .request, id: 1, method: RPCMethod.ping.rawValue).encoded())))
                for try await _ in inbound { reached.set() }
                throw CancellationError()
            }
        }
        // A certificate from another cluster's CA.
        let other = h.root + "/other"
        try ClusterCertificates.createCA(directory: other)
        try ClusterCertificates.issueNodeCertificate(caDirectory: other, name: "intruder", addresses: [], outDirectory: other)
        let intruderTLS = ClusterTLS(certificateChain: try NIOSSLCertificate.fromPEMFile(other + "/intruder.pem"),
                                     privateKey: try NIOSSLPrivateKey(file: other + "/intruder.key", format: .pem), ca: h.frontendTLS.ca)
        let intruder = RPCClient(endpoint: h.endpoint, tls: intruderTLS, logger: Logger(label: "test"))
        do {
            _ = try await intruder.call(.ping, [])
            Issue.record("a foreign certificate was accepted")
        } catch let e as MailStoreError {
            #expect(e.code == .unavailable)
        }
        #expect(!reached.isSet, "no frame reached a client without a certificate")
        // The frontend's own certificate works.
        #expect(try await h.pool.client(h.endpoint).call(.ping, []) == [])
        await intruder.close()
        await h.cleanUp()
    }

    @Test("many requests in flight on one connection, a cancelled one, and an unknown method")
    func concurrency() async throws {
        let h = try await ClusterHarness()
        let session = try await h.remote.unlock(address: try EmailAddress(h.address), password: h.password)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0 ..< 50 {
                group.addTask {
                    _ = try await session.append(to: "INBOX", message: Array("Subject: \(i)\r\n\r\nx\r\n".utf8), flags: [], keywords: [], internalDate: nil)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await session.status(of: "INBOX").messages == 50)
        let client = h.pool.client(h.endpoint)
        await #expect(throws: MailStoreError.self) { try await client.call(.subscribe, [0, 0, 0, 0, 0, 0, 0, 9, 0]) }
        let task = Task { try await session.messages(in: "INBOX", uids: nil, changedSince: nil) }
        task.cancel()
        _ = try? await task.value
        // The connection goes on.
        #expect(try await session.messages(in: "INBOX", uids: nil, changedSince: nil).count == 50)
        await session.close()
        await h.cleanUp()
    }
}

/// A flag set from a handler.
final class ManagedAtomicFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// The MX's side: the inbound commit through the RPC, on one node and split across two.
@Suite("Inbound mail through the cluster RPC", .serialized)
struct RemoteInboundTests {
    /// Routes each mailbox id to its own endpoint (both served by the harness's one node).
    struct SplitRouter: StorageRouter {
        let first: StorageEndpoint, second: StorageEndpoint, secondMailbox: String
        func endpoint(forAddress address: EmailAddress) async throws -> StorageEndpoint { first }
        func endpoint(forMailboxID mailboxID: String) async throws -> StorageEndpoint { mailboxID == secondMailbox ? second : first }
        func anyEndpoint() async throws -> StorageEndpoint { first }
    }

    @Test("acceptInbound commits on the storage node (prefix in front), quota and disk checks answer; split across nodes, a partial failure is unavailable")
    func acceptInbound() async throws {
        let h = try await ClusterHarness()
        let other = try EmailAddress("other@example.com")
        let otherAlias = try await h.node.directory.addAlias(other, store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let otherPassword = try await h.node.mailboxes.createMailbox(for: otherAlias, label: "test").password
        let user = try #require(try await h.node.directory.alias(address: try EmailAddress(h.address)))
        let second = try #require(try await h.node.directory.alias(address: other))
        let userBox = InboundMailbox(mailboxID: try #require(user.mailboxID), publicKey: try #require(user.publicKey))
        let otherBox = InboundMailbox(mailboxID: try #require(second.mailboxID), publicKey: try #require(second.publicKey),
                                      delivery: InboundDelivery(flags: ["\\Flagged"]))
        let message = Array("From: a@example.org\r\nSubject: inbound\r\n\r\nhello\r\n".utf8)
        let prefix = Array("Return-Path: <a@example.org>\r\n".utf8)
        try await h.remote.acceptInbound(message: message, prefix: prefix, internalDate: Date(), mailboxes: [userBox], jobs: [])
        #expect(try await h.remote.storedBytes(mailboxID: userBox.mailboxID) > 0)
        #expect(await h.remote.storageIsLow() == false)
        let session = try await h.remote.unlock(address: try EmailAddress(h.address), password: h.password)
        let bytes = try #require(try await session.messageBytes(in: "INBOX", uid: 1))
        #expect(bytes == prefix + message)
        await session.close()

        // A second RPC listener on the same node stands for a second storage node.
        let (group2, task2, port2) = try await ClusterHarness.startServer(node: h.node, tls: h.storageTLS, port: 0)
        let node2 = StorageEndpoint(name: "storage-1", host: "127.0.0.1", port: port2)
        let split = RemoteMailboxService(router: SplitRouter(first: h.endpoint, second: node2, secondMailbox: otherBox.mailboxID), pool: h.pool)
        let job = OutboundJob(kind: .smtp, sender: "a@example.org", originalSender: "a@example.org", recipients: ["fwd@example.net"], message: message)
        let ids = try await split.acceptInbound(message: message, prefix: [], internalDate: Date(), mailboxes: [userBox, otherBox], jobs: [job])
        #expect(ids.count == 1)
        let otherSession = try await split.unlock(address: other, password: otherPassword)
        let records = try await otherSession.messages(in: "INBOX", uids: nil, changedSince: nil)
        #expect(records.count == 1 && records.first?.flags.contains(.flagged) == true)
        await otherSession.close()
        // The second node goes away: the commit fails as unavailable (the MX answers 451 4.3.0).
        await group2.triggerGracefulShutdown()
        _ = try? await task2.value
        do {
            try await split.acceptInbound(message: message, prefix: [], internalDate: Date(), mailboxes: [userBox, otherBox], jobs: [])
            Issue.record("a commit with an unreachable node succeeded")
        } catch let e as MailStoreError {
            #expect(e.code == .unavailable)
        }
        await h.cleanUp()
    }
}

/// Gathers a change stream's changes in the background.
final class ChangeCollector: Sendable {
    final class State: Sendable { let value = Mutex<(changes: [MailboxChange], finished: Bool)>(([], false)) }
    private let state = State()
    private let task: Task<Void, Never>
    init(_ stream: AsyncStream<MailboxChange>) {
        let state = self.state
        task = Task {
            for await change in stream { state.value.withLock { $0.changes.append(change) } }
            state.value.withLock { $0.finished = true }
        }
    }
    var changes: [MailboxChange] { state.value.withLock { $0.changes } }
    var finished: Bool { state.value.withLock { $0.finished } }
    deinit { task.cancel() }
}

/// Waits (bounded: 2 minutes) until `condition` holds; records an issue and throws otherwise.
func eventually(_ condition: () async -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let deadline = ContinuousClock.now + .seconds(300)
    while !(await condition()) {
        if ContinuousClock.now > deadline {
            Issue.record("condition never held", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}
