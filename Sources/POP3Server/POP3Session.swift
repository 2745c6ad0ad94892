import Foundation
import Logging
import MailCore
import MailNet
import MailboxAPI
import NIOCore
import POP3Core

/// One client connection's POP3 session (RFC 1939 §3: AUTHORIZATION, TRANSACTION, UPDATE). Owned
/// by one task: it reads events from its inbox and answers through its transport.
///
/// The maildrop is INBOX, as it stood at login (after the sealed queue was drained into it).
/// Message numbers stay fixed for the session; DELE only marks, and the marked messages are
/// expunged (and retrieved ones marked \Seen) when QUIT enters the UPDATE state. A connection
/// that ends any other way changes nothing.
final class POP3Session {
    enum State { case authorization, transaction, closed }

    struct Message {
        let uid: UID
        let size: Int
        var deleted = false
        var retrieved = false
    }

    let configuration: POP3SessionConfiguration
    /// The connection, the login service and the session's logger (given metadata at login).
    var context: SessionContext<POP3Frame>

    var state: State = .authorization
    var pendingUser: String?
    /// The logged-in mailbox (`login.session`), nil before authentication.
    var mailbox: (any MailboxSession)? { login?.session }
    var login: MailboxLogin?
    var messages: [Message] = []
    var uidValidity: UInt32 = 0
    var revoked = false
    var out: [UInt8] = []
    var lastActivity: ContinuousClock.Instant

    init(configuration: POP3SessionConfiguration, context: SessionContext<POP3Frame>) {
        self.configuration = configuration
        self.context = context
        self.lastActivity = configuration.clock.now()
    }

    var insecureAuthBlocked: Bool { !context.isTLS && !configuration.allowInsecureAuth }

    // MARK: - Output

    func ok(_ text: String) { POP3Response.ok(text, into: &out) }
    func err(_ text: String, code: POP3Response.Code? = nil) { POP3Response.err(text, code: code, into: &out) }

    func flush() async throws { try await context.transport.flush(&out) }

    // MARK: - Main loop

    func run() async {
        ok("Sealbox POP3 ready")
        await runLoop()
    }

    func forgetMailbox() { state = .closed }

    func handle(_ frame: POP3Frame) async throws {
        switch frame {
        case .lineTooLong:
            err("Line too long")
        case .line(let line):
            context.meter.countCommand()
            if revoked {
                err("The password of this session was revoked", code: .auth)
                state = .closed
                return
            }
            switch POP3CommandParser.parse(line, limits: configuration.limits) {
            case .success(let command):
                try await execute(command)
            case .failure(let error):
                err(error.message)
            }
        }
    }

    func execute(_ command: POP3Command) async throws {
        switch command {
        case .capa:
            ok("Capability list follows")
            POP3Response.lines(capabilities, into: &out)
            return
        case .quit:
            try await quit()
            return
        default:
            break
        }
        switch state {
        case .authorization: try await executeAuthorization(command)
        case .transaction: try await executeTransaction(command)
        case .closed: break
        }
    }

    /// RFC 2449 capabilities; USER and SASL only where authentication may proceed.
    var capabilities: [String] {
        var caps = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER",
                    "IMPLEMENTATION Sealbox-\(configuration.version)"]
        if state == .authorization {
            if !context.isTLS && context.transport.canStartTLS { caps.append("STLS") }
            if !insecureAuthBlocked { caps += ["USER", "SASL PLAIN"] }
        }
        return caps
    }

    // MARK: - AUTHORIZATION

    func executeAuthorization(_ command: POP3Command) async throws {
        switch command {
        case .stls:
            try await startTLS()
        case .user(let name):
            guard !insecureAuthBlocked else { refuseInsecure(); return }
            pendingUser = name
            ok("Send PASS")
        case .pass(let password):
            guard !insecureAuthBlocked else { refuseInsecure(); return }
            guard let user = pendingUser else { err("Send USER first"); return }
            pendingUser = nil
            try await authenticate(user: user, password: password)
        case .apop:
            err("APOP is not supported; use USER/PASS or AUTH PLAIN over TLS")
        case .auth(let mechanism, let initialResponse):
            try await auth(mechanism: mechanism, initialResponse: initialResponse)
        default:
            err("Log in first")
        }
    }

    func refuseInsecure() {
        err("Plaintext authentication is disallowed without TLS; use STLS or port 995", code: .auth)
    }

    func startTLS() async throws {
        guard !context.isTLS else { err("TLS is already active"); return }
        guard context.transport.canStartTLS else { err("TLS is not available"); return }
        try await flush()
        var reply: [UInt8] = []
        POP3Response.ok("Begin TLS negotiation now", into: &reply)
        // Anything the client sent after STLS came in plaintext and must not be obeyed.
        guard !context.inbox.hasPendingFrame,
              try await context.transport.startTLS(reply: ByteBuffer(bytes: reply), framesConsumed: context.inbox.framesTaken) else {
            err("STLS must be the last command before the TLS handshake")
            try await flush()
            state = .closed
            return
        }
        context.isTLS = true
        pendingUser = nil
    }

    func auth(mechanism: String?, initialResponse: String?) async throws {
        guard let mechanism else {
            // Bare AUTH: the mechanisms, one per line.
            ok("Supported mechanisms follow")
            POP3Response.lines(insecureAuthBlocked ? [] : ["PLAIN"], into: &out)
            return
        }
        guard mechanism == "PLAIN" else { err("Unsupported authentication mechanism"); return }
        guard !insecureAuthBlocked else { refuseInsecure(); return }
        let response: String
        if let initialResponse {
            response = initialResponse
        } else {
            POP3Response.continuation("", into: &out)
            try await flush()
            guard let line = try await nextLine() else { return }
            response = line
        }
        switch SASLPlain.decode(response) {
        case .success(let credentials): try await authenticate(user: credentials.user, password: credentials.password)
        case .failure(.cancelled): err("Authentication cancelled")
        case .failure(.invalidBase64): err("Invalid base64 in the SASL response")
        case .failure(.malformed): err("Malformed PLAIN response")
        case .failure(.authorizationMismatch): err("Authorization identity must match the authentication identity", code: .auth)
        }
    }

    /// The SASL response line; nil when the session must end.
    func nextLine() async throws -> String? {
        while true {
            switch await context.inbox.next() {
            case .frame(.line(let bytes)):
                lastActivity = clock.now()
                return String(decoding: bytes, as: UTF8.self)
            case .frame(.lineTooLong):
                return ""
            case .changes, .tick:
                continue
            case .shutdown:
                err("Server shutting down", code: .sysTemp)
                try await flush(); state = .closed; return nil
            case .closed:
                state = .closed; return nil
            }
        }
    }

    func authenticate(user: String, password: String) async throws {
        let session: any MailboxSession
        switch await context.authenticator.authenticate(user: user, password: password, remoteIP: context.remoteIP,
                                                           audit: AuthAudit(protocolName: "pop3", logger: context.logger)) {
        case .authenticated(let login):
            self.login = login
            session = login.session
        case .throttled(let wait):
            err("Too many failed logins; try again in \(max(1, Int(wait.components.seconds))) seconds", code: .sysTemp)
            return
        case .failed:
            err("Authentication failed", code: .auth)
            return
        case .tooManySessions:
            err("Too many sessions for this mailbox", code: .inUse)
            return
        case .unavailable(let error):
            context.logger.error("unlock failed", metadata: ["pop3.error": "\(type(of: error))"])
            err("Mailbox unavailable; try again later", code: .sysTemp)
            return
        }
        context.logger[metadataKey: "pop3.mailbox"] = "\(session.mailboxID)"
        do {
            guard let folder = try await session.folder("INBOX") else { throw MailStoreError(.noSuchFolder, "no INBOX") }
            uidValidity = folder.uidValidity
            messages = try await session.messages(in: "INBOX", uids: nil, changedSince: nil)
                .sorted { $0.uid < $1.uid }
                .map { Message(uid: $0.uid, size: $0.size) }
        } catch {
            context.logger.error("maildrop listing failed", metadata: ["pop3.error": "\(type(of: error))"])
            err("Cannot open the maildrop; try again later", code: .sysTemp)
            state = .closed
            return
        }
        // Revocation of this session's password ends it at its next command.
        let inbox = context.inbox
        login?.watch(folder: "INBOX") { revoked in if revoked { inbox.pushChange(revoked: true) } }
        state = .transaction
        let (count, size) = totals
        ok("Logged in; maildrop has \(count) message\(count == 1 ? "" : "s") (\(size) octets)")
    }

    // MARK: - TRANSACTION

    var totals: (count: Int, size: Int) {
        messages.reduce(into: (0, 0)) { t, m in if !m.deleted { t.0 += 1; t.1 += m.size } }
    }

    /// The message numbered `n` unless it does not exist or is marked deleted (then the error is sent).
    func message(_ n: Int) -> Int? {
        guard n >= 1, n <= messages.count else { err("No such message"); return nil }
        guard !messages[n - 1].deleted else { err("Message \(n) is deleted"); return nil }
        return n - 1
    }

    func uidl(_ m: Message) -> String { "\(uidValidity).\(m.uid)" }

    func executeTransaction(_ command: POP3Command) async throws {
        switch command {
        case .stat:
            let (count, size) = totals
            ok("\(count) \(size)")
        case .list(let n):
            if let n {
                guard let i = message(n) else { return }
                ok("\(n) \(messages[i].size)")
            } else {
                let (count, size) = totals
                ok("\(count) message\(count == 1 ? "" : "s") (\(size) octets)")
                POP3Response.lines(messages.enumerated().filter { !$0.element.deleted }.map { "\($0.offset + 1) \($0.element.size)" }, into: &out)
            }
        case .uidl(let n):
            if let n {
                guard let i = message(n) else { return }
                ok("\(n) \(uidl(messages[i]))")
            } else {
                ok("Unique-ID listing follows")
                POP3Response.lines(messages.enumerated().filter { !$0.element.deleted }.map { "\($0.offset + 1) \(uidl($0.element))" }, into: &out)
            }
        case .retr(let n):
            guard let i = message(n) else { return }
            if try await send(index: i, bodyLines: nil) { messages[i].retrieved = true }
        case .top(let n, let lines):
            guard let i = message(n) else { return }
            _ = try await send(index: i, bodyLines: lines)
        case .dele(let n):
            guard let i = message(n) else { return }
            messages[i].deleted = true
            ok("Message \(n) deleted")
        case .rset:
            for i in messages.indices { messages[i].deleted = false }
            let (count, size) = totals
            ok("Maildrop has \(count) message\(count == 1 ? "" : "s") (\(size) octets)")
        case .noop:
            ok("")
        case .user, .pass, .auth, .apop, .stls:
            err("Already authenticated")
        case .capa, .quit:
            break  // handled in every state
        }
    }

    /// RETR / TOP: the message dot-stuffed, in bounded pieces. False when it is gone.
    func send(index i: Int, bodyLines: Int?) async throws -> Bool {
        guard let mailbox else { return false }
        let bytes: [UInt8]?
        do {
            if bodyLines == 0 {
                // TOP n 0 (a header preview): the stored header block, without assembling the body.
                bytes = try await mailbox.searchFields(in: "INBOX", uids: UIDSet([messages[i].uid]), includeHeader: true).first?.header
            } else {
                bytes = try await mailbox.messageBytes(in: "INBOX", uid: messages[i].uid)
            }
        } catch {
            context.logger.error("message read failed", metadata: ["pop3.error": "\(type(of: error))"])
            err("Cannot read the message; try again later", code: .sysTemp)
            return false
        }
        guard let bytes else {
            err("Message \(i + 1) was removed by another session")
            return false
        }
        ok(bodyLines == nil ? "\(messages[i].size) octets" : "Top of message follows")
        var stuffer = DotStuffer(bodyLines: bodyLines)
        let chunk = 256 * 1024
        var offset = 0
        while offset < bytes.count && !stuffer.isComplete {
            let end = min(offset + chunk, bytes.count)
            stuffer.feed(bytes[offset..<end], into: &out)
            offset = end
            if out.count >= chunk { try await flush() }
        }
        stuffer.finish(into: &out)
        return true
    }

    // MARK: - QUIT and UPDATE

    func quit() async throws {
        defer { state = .closed }
        guard state == .transaction, let mailbox else {
            ok("Sealbox POP3 signing off")
            return
        }
        let deleted = messages.filter(\.deleted).map(\.uid)
        let retrieved = messages.filter { $0.retrieved && !$0.deleted }.map(\.uid)
        do {
            if !retrieved.isEmpty {
                _ = try await mailbox.storeFlags(in: "INBOX", uids: UIDSet(retrieved), operation: .add, flags: .seen, keywords: [], unchangedSince: nil)
            }
            if !deleted.isEmpty {
                let set = UIDSet(deleted)
                _ = try await mailbox.storeFlags(in: "INBOX", uids: set, operation: .add, flags: .deleted, keywords: [], unchangedSince: nil)
                _ = try await mailbox.expunge(in: "INBOX", uids: set)
            }
        } catch {
            context.logger.error("update failed", metadata: ["pop3.error": "\(type(of: error))"])
            err("Some deleted messages were not removed", code: .sysTemp)
            return
        }
        let left = messages.count - deleted.count
        ok("Sealbox POP3 signing off (\(left) message\(left == 1 ? "" : "s") left)")
    }
}

/// The shared run loop (MailNet's `MailSession`): what POP3 says and does at each event.
extension POP3Session: LoginSession {
    var clock: SessionClock { configuration.clock }
    var isFinished: Bool { state == .closed }
    var idleLimit: Duration { state == .authorization ? configuration.preAuthTimeout : configuration.idleTimeout }
    /// PIPELINING (RFC 2449 §6.6): answers to commands sent together go out together.
    func flushAfterFrame() async throws {
        if !context.inbox.hasPendingFrame || out.count >= 256 * 1024 { try await flush() }
    }
    /// A revoked password ends the session at its next command (POP3 has no untagged BYE).
    func mailboxChanged(revoked: Bool) async throws { if revoked { self.revoked = true } }
    func tick() async throws {
        if let mailbox, await !mailbox.isStillAuthorized() { revoked = true }
    }
    /// RFC 1939 §3: the autologout timer closes the connection without UPDATE.
    func sayIdleTimeout() { err("Autologout; idle for too long") }
    func sayShutdown() { err("Server shutting down", code: .sysTemp) }
    func sessionFailed(_ error: any Error) { context.logger.debug("session ended", metadata: ["pop3.error": "\(type(of: error))"]) }
}
