import Directory
import Foundation
import MailboxAPI
import MailCore
import MailStore
import MIMEParser
import Outbound
import SealboxApp
import Sieve
import SMTPCore
import SMTPServer
import Synchronization
import Testing

/// A script whose result is fixed by the test (the compiler is not needed to test delivery).
struct FixedFiltering: SieveFiltering {
    let name: String
    let usesDuplicate: Bool
    let result: @Sendable (SieveRunContext) -> SieveResult
    /// The contexts the script was run with.
    let contexts = ContextLog()

    init(name: String = "main", usesDuplicate: Bool = false, _ result: @escaping @Sendable (SieveRunContext) -> SieveResult) {
        self.name = name; self.usesDuplicate = usesDuplicate; self.result = result
    }
    init(_ result: SieveResult) { self.init { _ in result } }

    func activeScript(aliasID: String) async throws -> SieveFilterScript? {
        let record = contexts, result = self.result
        return SieveFilterScript(name: name, usesDuplicate: usesDuplicate, run: { context in
            record.items.withLock { $0.append(context) }
            return result(context)
        })
    }
}

final class ContextLog: Sendable {
    let items = Mutex<[SieveRunContext]>([])
}

/// A node with example.com, `user@` and `other@` storing, and a handler running `filtering`.
final class SieveNode: Sendable {
    let dir: String
    let node: SealboxNode
    let passwords: [String: String]
    let handler: DirectoryInboundHandler

    init(_ filtering: any SieveFiltering, now: @escaping @Sendable () -> Date = { Date() }) async throws {
        dir = NSTemporaryDirectory() + "sealbox-sieve-" + UUID().uuidString
        node = try SealboxNode.open(dataDirectory: dir)
        _ = try await node.directory.addDomain(try Domain("example.com"))
        var passwords: [String: String] = [:]
        for name in ["user", "other"] {
            let alias = try await node.directory.addAlias(try EmailAddress("\(name)@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
            passwords[name] = try await node.mailboxes.createMailbox(for: alias, label: "t").password
        }
        self.passwords = passwords
        handler = DirectoryInboundHandler(directory: node.directory, mailboxes: node.mailboxes, postmaster: nil, rewriteSender: { "SRS0=x=\($0)" },
                                          sieve: SieveDelivery(filtering: filtering, hasher: node.sieveMemoryHasher, hostname: "mx.example.com", now: now))
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func aliasID(_ name: String) async throws -> String {
        try #require(try await node.directory.alias(address: try EmailAddress("\(name)@example.com"))).id
    }

    static func message(_ extra: String = "", to: String = "user@example.com") -> [UInt8] {
        Array("From: a@example.org\r\nTo: \(to)\r\nSubject: hello\r\nMessage-ID: <m1@example.org>\r\n\(extra)\r\nbody\r\n".utf8)
    }

    /// RCPT for each name, then filter and commit as the session does: the filter's refusal, if any.
    @discardableResult
    func deliver(_ names: [String] = ["user"], from: String = "a@example.org", message: [UInt8] = message(), junk: Bool = false) async throws -> SMTPReply? {
        var recipients: [InboundRecipient] = []
        for name in names {
            guard case .success(let r) = await handler.route(SMTPMailbox(localPart: name, domain: "example.com"), size: nil) else {
                Issue.record("route \(name)"); return nil
            }
            recipients.append(r)
        }
        var t = InboundTransaction(mailFrom: from, recipients: recipients, message: message, receivedAt: Date(), remoteIP: "192.0.2.1", helo: "client", queueID: "Q1")
        t.fileAsJunk = junk
        if let refusal = await handler.filter(&t) { return refusal }
        try await handler.commit(t)
        return nil
    }

    /// Folder → messages (flags and keywords) of `name`'s mailbox.
    func contents(_ name: String = "user") async throws -> [String: [MessageRecord]] {
        let session = try await node.mailboxes.unlock(address: try EmailAddress("\(name)@example.com"), password: passwords[name]!)
        var out: [String: [MessageRecord]] = [:]
        for folder in try await session.folders() {
            let records = try await session.messages(in: folder.path, uids: nil, changedSince: nil)
            if !records.isEmpty { out[folder.path] = records }
        }
        await session.close()
        return out
    }

    func bytes(_ name: String, folder: String) async throws -> [UInt8]? {
        let session = try await node.mailboxes.unlock(address: try EmailAddress("\(name)@example.com"), password: passwords[name]!)
        var bytes: [UInt8]?
        if let first = try await session.messages(in: folder, uids: nil, changedSince: nil).first {
            bytes = try await session.messageBytes(in: folder, uid: first.uid)
        }
        await session.close()
        return bytes
    }

    func jobs() async throws -> [OutboundJob] { try await node.queue.outboundJobs() }
}

@Suite("Sieve at the MX: what a script's result does to delivery")
struct SieveDeliveryTests {
    @Test("fileinto with flags, several targets (several copies), :create, a missing folder goes to INBOX and is logged")
    func fileinto() async throws {
        let n = try await SieveNode(FixedFiltering(SieveResult(actions: [
            .fileinto(SieveFileInto(mailbox: "Lists/dev", flags: ["\\Seen", "$Work"], create: true)),
            .fileinto(SieveFileInto(mailbox: "Nowhere")),
            .fileinto(SieveFileInto(mailbox: "Spam", specialUse: "\\Junk")),
        ], implicitKeep: false)))
        #expect(try await n.deliver() == nil)
        let folders = try await n.contents()
        #expect(folders["Lists/dev"]?.count == 1)
        #expect(folders["Lists/dev"]?.first?.flags == .seen && folders["Lists/dev"]?.first?.keywords == ["$Work"])
        #expect(folders["INBOX"]?.count == 1)
        #expect(folders["Junk"]?.count == 1)
        #expect(folders["Nowhere"] == nil)
        let log = try await n.node.directory.sieveRunErrors(aliasID: try await n.aliasID("user"))
        #expect(log.map(\.message) == ["fileinto: folder \"Nowhere\" does not exist (no :create); filed into INBOX"])
        #expect(log.first?.script == "main")
        await n.node.shutdown()
    }

    @Test("discard stores nothing; keep with flags; the DMARC junk verdict applies to the implicit keep only")
    func discardAndKeep() async throws {
        let n = try await SieveNode(FixedFiltering { context in
            let subject = MIMEMessage.parse(context.message).subject ?? ""
            if subject.contains("drop") { return SieveResult(actions: [.discard], implicitKeep: false) }
            if subject.contains("explicit") { return SieveResult(actions: [.keep(flags: ["\\Flagged"])], implicitKeep: false) }
            return .implicitKeep()
        })
        try await n.deliver(message: Array("Subject: drop\r\n\r\nx\r\n".utf8))
        try await n.deliver(message: Array("Subject: explicit\r\n\r\nx\r\n".utf8), junk: true)
        try await n.deliver(message: Array("Subject: implicit\r\n\r\nx\r\n".utf8), junk: true)
        let folders = try await n.contents()
        #expect(folders["INBOX"]?.map(\.subject) == ["explicit"])
        #expect(folders["INBOX"]?.first?.flags == .flagged)
        #expect(folders["Junk"]?.map(\.subject) == ["implicit"])
        #expect(try await n.jobs().isEmpty)
        await n.node.shutdown()
    }

    @Test("reject: one recipient is 550 5.7.1 with nothing committed; two recipients get a DSN to the sender; never to <>")
    func reject() async throws {
        let n = try await SieveNode(FixedFiltering { context in
            context.envelope.to.hasPrefix("user") ? SieveResult(actions: [.reject(reason: "Go away\r\nnow ☺", extended: false)], implicitKeep: false) : .implicitKeep()
        })
        let refusal = try await n.deliver()
        #expect(refusal == SMTPReply(550, "5.7.1", "Go away now"))
        #expect(try await n.jobs().isEmpty)
        #expect(try await n.contents().isEmpty)

        #expect(try await n.deliver(["user", "other"]) == nil)
        let jobs = try await n.jobs()
        #expect(jobs.count == 1)
        #expect(jobs.first?.sender == "" && jobs.first?.recipients == ["a@example.org"])
        let dsn = String(decoding: jobs.first?.message ?? [], as: UTF8.self)
        #expect(dsn.contains("Final-Recipient: rfc822; user@example.com") && dsn.contains("550 5.7.1 Go away now"))
        #expect(try await n.contents("user").isEmpty)
        #expect(try await n.contents("other")["INBOX"]?.count == 1)

        // A bounce (null sender) rejected for two recipients: no DSN.
        try await n.deliver(["user", "other"], from: "")
        #expect(try await n.jobs().count == 1)
        await n.node.shutdown()
    }

    @Test("redirect: an SRS-sender smtp job signed for the alias's domain, marked Delivered-To; a marked message is not redirected again")
    func redirect() async throws {
        let n = try await SieveNode(FixedFiltering(SieveResult(actions: [.redirect(address: "far@elsewhere.example", copy: false)], implicitKeep: false)))
        try await n.deliver()
        let jobs = try await n.jobs()
        #expect(jobs.count == 1)
        let job = try #require(jobs.first)
        #expect(job.kind == .smtp && job.recipients == ["far@elsewhere.example"])
        #expect(job.sender == "SRS0=x=a@example.org" && job.originalSender == "a@example.org")
        #expect(job.context["signingDomain"] == "example.com")
        #expect(job.message.starts(with: Array("Delivered-To: user@example.com\r\n".utf8)))
        #expect(try await n.contents().isEmpty)

        try await n.deliver(message: Array("Delivered-To: user@example.com\r\n".utf8) + SieveNode.message())
        #expect(try await n.jobs().count == 1)
        #expect(try await n.contents()["INBOX"]?.count == 1)
        #expect(try await n.node.directory.sieveRunErrors(aliasID: try await n.aliasID("user")).first?.message.contains("redirect loop") == true)
        await n.node.shutdown()
    }

    @Test("redirects beyond SieveLimits.maxRedirects are skipped")
    func redirectLimit() async throws {
        let many = (0..<6).map { SieveAction.redirect(address: "r\($0)@elsewhere.example", copy: true) }
        let n = try await SieveNode(FixedFiltering(SieveResult(actions: many + [.keep(flags: [])], implicitKeep: true)))
        try await n.deliver()
        #expect(try await n.jobs().count == SieveLimits.default.maxRedirects)
        await n.node.shutdown()
    }

    @Test("vacation: one reply per period to the envelope sender, null return path; none for bulk mail, <> or junk")
    func vacation() async throws {
        let clock = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        let n = try await SieveNode(FixedFiltering(SieveResult(actions: [.vacation(SieveVacation(reason: "Away", periodSeconds: 3600)), .keep(flags: [])],
                                                                implicitKeep: true)), now: { clock.withLock { $0 } })
        try await n.deliver(from: "bounce-a@example.org")
        try await n.deliver(from: "bounce-a@example.org")
        var jobs = try await n.jobs()
        #expect(jobs.count == 1)
        #expect(jobs.first?.sender == "" && jobs.first?.recipients == ["bounce-a@example.org"])
        #expect(jobs.first?.context["signingDomain"] == "example.com")
        let reply = MIMEMessage.parse(jobs.first?.message ?? [])
        #expect(reply.headerValues("auto-submitted").first == Array("auto-replied (vacation)".utf8))
        #expect(reply.to.first?.address == "bounce-a@example.org")
        try await n.deliver(from: "b@example.org", message: SieveNode.message("Precedence: bulk\r\n"))
        try await n.deliver(from: "")
        try await n.deliver(from: "c@example.org", junk: true)
        try await n.deliver(from: "d@example.org", message: SieveNode.message(to: "someone@example.net"))
        #expect(try await n.jobs().count == 1)
        // After the period, answered again.
        clock.withLock { $0 += 3601 }
        try await n.deliver(from: "bounce-a@example.org")
        jobs = try await n.jobs()
        #expect(jobs.count == 2)
        let folders = try await n.contents()
        #expect(folders["INBOX"]?.count == 6 && folders["Junk"]?.count == 1)
        await n.node.shutdown()
    }

    @Test("a run error keeps the message and is logged; editheader's message is the one stored; duplicate marks are remembered after the commit")
    func errorsEditsDuplicates() async throws {
        let diagnostic = SieveDiagnostic(line: 4, severity: .error, message: "too many actions")
        let failing = try await SieveNode(FixedFiltering(.implicitKeep(errors: [diagnostic])))
        try await failing.deliver()
        #expect(try await failing.contents()["INBOX"]?.count == 1)
        #expect(try await failing.node.directory.sieveRunErrors(aliasID: try await failing.aliasID("user")).map(\.message) == ["line 4: error: too many actions"])
        // The owner sees why in the kept copy itself.
        let kept = String(decoding: try #require(try await failing.bytes("user", folder: "INBOX")), as: UTF8.self)
        #expect(kept.hasPrefix("Return-Path: <a@example.org>\r\nX-Sealbox-Sieve-Error: script \"main\": line 4: error: too many actions\r\n"), "\(kept.prefix(200))")
        await failing.node.shutdown()

        let edited = Array("X-Filtered: yes\r\n".utf8) + SieveNode.message()
        let filtering = FixedFiltering(usesDuplicate: true) { context in
            if context.duplicateSeen("<m1@example.org>") { return SieveResult(actions: [.discard], implicitKeep: false) }
            return SieveResult(actions: [.keep(flags: [])], implicitKeep: true, editedMessage: edited,
                               duplicateMarks: [SieveDuplicateMark(key: "<m1@example.org>", seconds: 600)])
        }
        let n = try await SieveNode(filtering)
        try await n.deliver()
        try await n.deliver()
        let stored = try #require(try await n.bytes("user", folder: "INBOX"))
        #expect(String(decoding: stored, as: UTF8.self).hasPrefix("Return-Path: <a@example.org>\r\nX-Filtered: yes\r\n"))
        #expect(try await n.contents()["INBOX"]?.count == 1)
        // The memory holds a keyed hash, not the id.
        #expect(try await n.node.directory.sieveMemories(aliasID: try await n.aliasID("user"), kind: .duplicate, now: Date()).count == 1)
        // What the script was given.
        let context = try #require(filtering.contexts.items.withLock { $0.first })
        #expect(context.envelope == SieveEnvelope(from: "a@example.org", to: "user@example.com"))
        #expect(context.environment["location"] == "MTA" && context.environment["phase"] == "during" && context.environment["name"] == "Sealbox")
        #expect(context.environment["domain"] == "example.com" && context.environment["remote-ip"] == "192.0.2.1" && context.environment["host"] == "mx.example.com")
        #expect(context.mailboxExists("INBOX") && context.mailboxExists("junk") && !context.mailboxExists("Lists"))
        #expect(context.specialUseExists("\\Junk") && !context.specialUseExists("\\Flagged"))
        #expect(context.spamScore == nil)
        await n.node.shutdown()
    }

    @Test("the node's own filter: a stored script that does not compile keeps the message and logs why")
    func compileFailure() async throws {
        let dir = NSTemporaryDirectory() + "sealbox-sieve-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let node = try SealboxNode.open(dataDirectory: dir)
        _ = try await node.directory.addDomain(try Domain("example.com"))
        let alias = try await node.directory.addAlias(try EmailAddress("user@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let password = try await node.mailboxes.createMailbox(for: alias, label: "t").password
        try await node.directory.putSieveScript(aliasID: alias.id, name: "broken", content: "if true { nonsense; }", at: Date())
        try await node.directory.activateSieveScript(aliasID: alias.id, name: "broken")
        let handler = DirectoryInboundHandler(directory: node.directory, mailboxes: node.mailboxes, postmaster: nil, rewriteSender: { $0 },
                                              sieve: SieveDelivery(filtering: DirectorySieveFilter(directory: node.directory),
                                                                   hasher: node.sieveMemoryHasher, hostname: "mx.example.com"))
        guard case .success(let r) = await handler.route(SMTPMailbox(localPart: "user", domain: "example.com"), size: nil) else { Issue.record("route"); return }
        var t = InboundTransaction(mailFrom: "a@example.org", recipients: [r], message: SieveNode.message(), receivedAt: Date(),
                                   remoteIP: "192.0.2.1", helo: "c", queueID: "Q")
        #expect(await handler.filter(&t) == nil)
        try await handler.commit(t)
        let log = try await node.directory.sieveRunErrors(aliasID: alias.id)
        #expect(log.count == 1 && log.first?.script == "broken" && log.first?.message.contains("error") == true)
        let session = try await node.mailboxes.unlock(address: alias.address, password: password)
        let kept = try await session.messages(in: "INBOX", uids: nil, changedSince: nil)
        #expect(kept.count == 1)
        if let uid = kept.first?.uid {
            let text = String(decoding: try await session.messageBytes(in: "INBOX", uid: uid) ?? [], as: UTF8.self)
            #expect(text.contains("\r\nX-Sealbox-Sieve-Error: script \"broken\": line 1: error: "), "\(text.prefix(300))")
        }
        await session.close()
        await node.shutdown()
    }

    @Test("submission and the outbound queue's local delivery run the recipient's script: reject refuses a lone local recipient, fileinto files")
    func submissionAndLocalDelivery() async throws {
        let n = try await SieveNode(FixedFiltering { context in
            MIMEMessage.parse(context.message).subject == "refuse"
                ? SieveResult(actions: [.reject(reason: "not from you", extended: true)], implicitKeep: false)
                : SieveResult(actions: [.fileinto(SieveFileInto(mailbox: "Team", create: true))], implicitKeep: false)
        })
        let other = try #require(try await n.node.directory.alias(address: try EmailAddress("other@example.com")))
        let passwordID = try #require(try await n.node.directory.passwords(aliasID: other.id).first?.id)
        let submitter = SMTPSubmitter(user: "other@example.com", mailboxID: try #require(other.mailboxID), passwordID: passwordID)
        let submission = DirectorySubmissionHandler(directory: n.node.directory, inbound: n.handler,
                                                    limits: SubmissionLimits(maxMessagesPerHour: nil, maxRecipientsPerDay: nil))
        guard case .success(let user) = await submission.route(SMTPMailbox(localPart: "user", domain: "example.com"), submitter: submitter,
                                                                 accepted: 0, size: nil) else { Issue.record("route"); return }
        func submit(_ subject: String) async throws -> SMTPReply? {
            var t = InboundTransaction(mailFrom: "other@example.com", recipients: [user],
                                       message: Array("From: other@example.com\r\nSubject: \(subject)\r\n\r\nbody\r\n".utf8), receivedAt: Date(),
                                       remoteIP: "192.0.2.1", helo: "c", queueID: "S1")
            t.authors = ["other@example.com"]
            return try await submission.commit(t, submitter: submitter)
        }
        #expect(try await submit("refuse") == SMTPReply(550, "5.7.1", "not from you"))
        #expect(try await submit("team news") == nil)
        // The same through the outbound queue's local delivery (a forward or a reply to a local address).
        let local = DirectoryLocalDelivery(directory: n.node.directory, handler: n.handler, hostname: "mx.example.com", srsDomain: nil)
        let refused = await local.deliver(from: "far@elsewhere.example", recipients: ["user@example.com"],
                                          message: Array("Subject: refuse\r\n\r\nx\r\n".utf8), queueID: "L1")
        if case .rejected(let code, let enhanced, let text) = refused["user@example.com"] {
            #expect(code == 550 && enhanced == "5.7.1" && text == "not from you")
        } else { Issue.record("local delivery: \(refused)") }
        let filed = await local.deliver(from: "far@elsewhere.example", recipients: ["user@example.com"],
                                        message: Array("Subject: team two\r\n\r\nx\r\n".utf8), queueID: "L2")
        if case .accepted = filed["user@example.com"] {} else { Issue.record("local delivery: \(filed)") }
        #expect(try await n.contents()["Team"]?.map(\.subject) == ["team news", "team two"])
        await n.node.shutdown()
    }

    @Test("spamtest follows the MX's verdict when the checks ran (1 clean, 9 for DMARC quarantine), nothing when they did not; remote-host from FCrDNS")
    func spamScore() async throws {
        let filtering = FixedFiltering(.implicitKeep())
        let n = try await SieveNode(filtering)
        guard case .success(let r) = await n.handler.route(SMTPMailbox(localPart: "user", domain: "example.com"), size: nil) else { Issue.record("route"); return }
        for (checked, junk) in [(true, false), (true, true), (false, false)] {
            var t = InboundTransaction(mailFrom: "a@example.org", recipients: [r], message: SieveNode.message(), receivedAt: Date(),
                                       remoteIP: "192.0.2.1", helo: "c", queueID: "Q")
            if checked { t.forwardContext["auth.results"] = "mx.example.com; spf=pass" }
            t.fileAsJunk = junk
            t.clientName = "mail.example.org"
            _ = await n.handler.filter(&t)
        }
        let contexts = filtering.contexts.items.withLock { $0 }
        #expect(contexts.map(\.spamScore) == [1, 9, nil])
        #expect(contexts.map(\.spamPercent) == [0, 90, nil])
        #expect(contexts.allSatisfy { $0.environment["remote-host"] == "mail.example.org" })
        await n.node.shutdown()
    }
}
