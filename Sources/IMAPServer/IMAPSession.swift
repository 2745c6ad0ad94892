import Foundation
import IMAPCore
import Logging
import MailCore
import MailNet
import MailboxAPI
import NIOCore

/// One client connection's IMAP session (RFC 3501 §3 states). Owned by one task: it reads events
/// from its `SessionInbox`, answers commands through its transport, and keeps the selected
/// folder's view (`SelectedMailbox`) in step with the mailbox.
final class IMAPSession {
    enum State { case notAuthenticated, authenticated, selected, logout }

    let configuration: IMAPSessionConfiguration
    /// The connection, the login service and the session's logger (given metadata at login).
    var context: SessionContext<IMAPFrame>

    var state: State = .notAuthenticated
    /// The logged-in mailbox (`login.session`), nil before LOGIN.
    var mailbox: (any MailboxSession)? { login?.session }
    var login: MailboxLogin?
    var selected: SelectedMailbox?
    var enabled: Set<String> = []
    /// COMPRESS=DEFLATE is on (RFC 4978: once per connection).
    var compressing = false
    /// CONDSTORE was just enabled while a mailbox was selected: the command's tagged reply
    /// carries [HIGHESTMODSEQ] (RFC 7162 §3.1).
    var highestModSeqDue = false
    /// A FETCH response with MODSEQ went out since the last tagged reply.
    var modSeqSent = false
    /// NOTIFY SET in force (RFC 5465), nil after NOTIFY NONE; `notifyLog` collects the changes.
    var notify: NotifyCommand?
    let notifyLog = NotifyChangeLog()
    var out = ByteBuffer()
    /// The mailbox changed since the selected view was last brought up to date.
    var changesPending = false
    var lastActivity: ContinuousClock.Instant
    /// Result of the last SEARCH with RETURN (SAVE) (RFC 5182), as UIDs.
    var savedSearch: [UID] = []
    /// The search fields of the selected folder's messages, kept between SEARCH commands.
    var searchFieldCache = SearchFieldCache()
    /// APPENDs read but not yet committed (pipelined ones go in one transaction), with their tags.
    var pendingAppends: [(tag: String, request: AppendRequest)] = []
    /// What `pendingAppends` hold of the server's APPEND budget (`configuration.appendMemory`).
    var pendingAppendBytes = 0

    init(configuration: IMAPSessionConfiguration, context: SessionContext<IMAPFrame>) {
        self.configuration = configuration
        self.context = context
        self.lastActivity = configuration.clock.now()
    }

    deinit { configuration.appendMemory.release(pendingAppendBytes) }  // a connection lost before they were stored

    // MARK: - Capabilities

    var insecureAuthBlocked: Bool { !context.isTLS && !configuration.allowInsecureAuth }

    var capabilities: [String] {
        var caps = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE"]
        if state == .notAuthenticated {
            if !context.isTLS && context.transport.canStartTLS { caps.append("STARTTLS") }
            if insecureAuthBlocked { caps.append("LOGINDISABLED") } else { caps.append("AUTH=PLAIN") }
        } else {
            caps += ["NAMESPACE", "UIDPLUS", "MOVE", "SPECIAL-USE", "CREATE-SPECIAL-USE", "UNSELECT", "CHILDREN",
                     "LIST-EXTENDED", "LIST-STATUS", "ESEARCH", "SEARCHRES", "BINARY", "CONDSTORE", "QRESYNC", "STATUS=SIZE", "UNAUTHENTICATE",
                     "MULTIAPPEND", "NOTIFY", "APPENDLIMIT=\(configuration.limits.maxAppendSize)", "QUOTA", "QUOTA=RES-STORAGE",
                     "SAVEDATE", "OBJECTID", "PREVIEW", "REPLACE", "UTF8=ACCEPT"]
            if context.transport.canCompress && !compressing { caps.append("COMPRESS=DEFLATE") }
            caps += ["SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "ESORT", "CONTEXT=SEARCH", "CONTEXT=SORT", "WITHIN"]
        }
        return caps
    }

    // MARK: - Output

    func send(_ response: IMAPResponse) {
        if case .untagged(.fetch(_, let items)) = response, items.contains(where: \.isModSeq) { modSeqSent = true }
        IMAPResponseEncoder.encode(response, into: &out, utf8Names: utf8Names)
    }
    func untagged(_ r: UntaggedResponse) { send(.untagged(r)) }
    func ok(_ tag: String, _ text: String, code: ResponseCode? = nil) {
        let due = takeHighestModSeqDue(untagged: code != nil)
        send(.tagged(tag: tag, status: .ok, code: code ?? due.map(ResponseCode.highestModSeq), text: text))
    }
    func no(_ tag: String, _ text: String, code: ResponseCode? = nil) {
        _ = takeHighestModSeqDue(untagged: true)
        send(.tagged(tag: tag, status: .no, code: code, text: text))
    }
    func bad(_ tag: String?, _ text: String, code: ResponseCode? = nil) {
        _ = takeHighestModSeqDue(untagged: true)
        if let tag { send(.tagged(tag: tag, status: .bad, code: code, text: text)) }
        else { untagged(.condition(status: .bad, code: code, text: text)) }
    }

    /// The selected mailbox's HIGHESTMODSEQ when CONDSTORE was just enabled (`highestModSeqDue`),
    /// once; `untagged` sends it as `* OK [HIGHESTMODSEQ n]` (the tagged reply has a code of its own).
    /// Also, once MODSEQ values went out while expunges are held back (FETCH, STORE, SEARCH),
    /// `* OK [HIGHESTMODSEQ n]` below those expunges (RFC 7162 §3.2.10; RFC 5162 erratum 1810):
    /// a client takes that value over the MODSEQs it saw, so it never skips the expunges.
    func takeHighestModSeqDue(untagged asUntagged: Bool) -> UInt64? {
        let heldBack = modSeqSent && selected?.condStore == true && selected?.expungeFloor != nil
        modSeqSent = false
        guard highestModSeqDue || heldBack else { return nil }
        let asked = highestModSeqDue
        highestModSeqDue = false
        guard let view = selected else { return nil }
        let modSeq = UInt64(view.reportableModSeq)
        if asUntagged || !asked { untagged(.condition(status: .ok, code: .highestModSeq(modSeq), text: "Highest")) }
        modSeqSent = false
        return asked ? modSeq : nil
    }

    /// RFC 7162 §3.1: a CONDSTORE enabling command turns CONDSTORE on for the rest of the session;
    /// the first one while a mailbox is selected reports the mailbox's HIGHESTMODSEQ in its
    /// tagged OK (SELECT/EXAMINE (CONDSTORE) report it with the other SELECT data instead).
    func enableCondStore() {
        guard !enabled.contains("CONDSTORE") else { return }
        enabled.insert("CONDSTORE")
        if selected != nil { selected?.condStore = true; highestModSeqDue = true }
    }

    func flush() async throws {
        guard out.readableBytes > 0 else { return }
        let buffer = out
        out = ByteBuffer()
        out.reserveCapacity(4096)
        try await context.transport.write(buffer)
    }

    /// Flushes when a large response has built up (FETCH of many bodies).
    func flushIfLarge() async throws {
        if out.readableBytes >= 256 * 1024 { try await flush() }
    }

    // MARK: - Main loop

    func run() async {
        untagged(.condition(status: .ok, code: .capability(capabilities), text: "Sealbox ready."))
        await runLoop()
    }

    func revokedBye() async throws {
        untagged(.condition(status: .bye, code: nil, text: "The password of this session was revoked"))
        try await flush()
        state = .logout
    }

    func forgetMailbox() {
        selected = nil
        state = .logout
    }

    // MARK: - Frames

    func handle(_ frame: IMAPFrame) async throws {
        switch frame {
        case .appendBegin, .continuationRequest: break
        default: try await commitAppends()  // answers in order: the APPENDs before it first
        }
        switch frame {
        case .continuationRequest:
            send(.continuation("Ready for literal data"))
            try await flush()  // the client waits for it (whatever else it has sent)
        case .command(let bytes):
            context.meter.countCommand()
            switch IMAPCommandParser.parse(bytes, limits: configuration.limits, utf8Names: utf8Names) {
            case .success(let command):
                try await execute(command)
            case .failure(let error):
                bad(error.tag, error.message)
            }
        case .appendBegin(let prefix, let size):
            context.meter.countCommand()
            try await append(prefix: prefix, literalSize: size)
        case .appendChunk, .appendNext, .appendEnd:
            break  // the rest of an APPEND that was already answered
        case .tooLarge(let tag, let size, let isAppend):
            if isAppend {
                no(tag ?? "*", "Message too large (\(size) bytes; the limit is \(configuration.limits.maxAppendSize))", code: .tooBig)
            } else {
                bad(tag, "Literal or command too large", code: .tooBig)
            }
        case .lineTooLong(let tag):
            bad(tag, "Command line too long")
        }
    }

    func execute(_ command: IMAPCommand) async throws {
        let tag = command.tag
        switch command.kind {
        case .capability:
            untagged(.capability(capabilities))
            ok(tag, "CAPABILITY completed")
        case .noop, .check:
            if state == .selected || !(command.kind == .check) {
                try await sendUpdates(expungeAllowed: true)
                if command.kind == .noop { try await deliverNotifications() }
                ok(tag, command.kind == .noop ? "NOOP completed" : "CHECK completed")
            } else {
                bad(tag, "No mailbox selected")
            }
        case .logout:
            untagged(.condition(status: .bye, code: nil, text: "Logging out"))
            ok(tag, "LOGOUT completed")
            state = .logout
        case .id:
            untagged(.id([.init(key: "name", value: "Sealbox"), .init(key: "version", value: configuration.version),
                          .init(key: "vendor", value: "Sealbox"), .init(key: "support-url", value: "https://github.com/sealbox")]))
            ok(tag, "ID completed")
        case .startTLS:
            try await startTLS(tag)
        case .compress(let mechanism) where state != .notAuthenticated:
            try await compress(tag, mechanism: mechanism)
        case .login(let user, let password):
            try await login(tag, user: user, password: password)
        case .authenticate(let mechanism, let initial):
            try await authenticate(tag, mechanism: mechanism, initialResponse: initial)
        case .unauthenticate:
            guard state != .notAuthenticated else { bad(tag, "Not authenticated"); return }
            await unauthenticate(tag)
        default:
            guard state != .notAuthenticated else { bad(tag, "Log in first"); return }
            try await executeAuthenticated(command)
        }
    }

    // MARK: - STARTTLS and authentication

    func startTLS(_ tag: String) async throws {
        guard state == .notAuthenticated else { bad(tag, "Already authenticated"); return }
        guard !context.isTLS else { bad(tag, "TLS is already active"); return }
        guard context.transport.canStartTLS else { no(tag, "TLS is not available"); return }
        // Anything the client sent after STARTTLS came in plaintext and must not be obeyed.
        try await flush()
        var reply = ByteBuffer()
        IMAPResponseEncoder.encode(.tagged(tag: tag, status: .ok, code: nil, text: "Begin TLS negotiation now"), into: &reply)
        guard !context.inbox.hasPendingFrame, try await context.transport.startTLS(reply: reply, framesConsumed: context.inbox.framesTaken) else {
            bad(tag, "STARTTLS must be the last command before the TLS handshake")
            try await flush()
            state = .logout
            return
        }
        context.isTLS = true
    }

    /// RFC 4978: the OK goes out uncompressed, everything after it (both ways) is raw deflate.
    func compress(_ tag: String, mechanism: String) async throws {
        guard mechanism == "DEFLATE" else { bad(tag, "Unknown compression mechanism"); return }
        guard !compressing else { no(tag, "Compression is already active", code: .compressionActive); return }
        guard context.transport.canCompress else { no(tag, "Compression is not available", code: .cannot); return }
        try await flush()
        var reply = ByteBuffer()
        IMAPResponseEncoder.encode(.tagged(tag: tag, status: .ok, code: nil, text: "DEFLATE active"), into: &reply)
        guard !context.inbox.hasPendingFrame,
              try await context.transport.startCompression(reply: reply, framesConsumed: context.inbox.framesTaken) else {
            bad(tag, "COMPRESS must be the last command before compressed data")
            try await flush()
            state = .logout
            return
        }
        compressing = true
    }

    func login(_ tag: String, user: String, password: String) async throws {
        guard state == .notAuthenticated else { bad(tag, "Already authenticated"); return }
        guard !insecureAuthBlocked else {
            no(tag, "Plaintext authentication is disallowed without TLS; use STARTTLS or port 993", code: .privacyRequired); return
        }
        try await authenticateUser(tag, user: user, password: password)
    }

    func authenticate(_ tag: String, mechanism: String, initialResponse: String?) async throws {
        guard state == .notAuthenticated else { bad(tag, "Already authenticated"); return }
        guard mechanism.uppercased() == "PLAIN" else { no(tag, "Unsupported authentication mechanism", code: .cannot); return }
        guard !insecureAuthBlocked else {
            no(tag, "Plaintext authentication is disallowed without TLS; use STARTTLS or port 993", code: .privacyRequired); return
        }
        let response: String
        if let initialResponse {
            response = initialResponse  // the parser already maps "=" to ""
        } else {
            send(.continuation(""))
            try await flush()
            guard let line = try await nextLine() else { return }
            response = line
        }
        switch SASLPlain.decode(response) {
        case .success(let credentials): try await authenticateUser(tag, user: credentials.user, password: credentials.password)
        case .failure(.cancelled): bad(tag, "Authentication cancelled")
        case .failure(.invalidBase64): bad(tag, "Invalid base64 in the SASL response")
        case .failure(.malformed): bad(tag, "Malformed PLAIN response")
        case .failure(.authorizationMismatch):
            no(tag, "Authorization identity must match the authentication identity", code: .authorizationFailed)
        }
    }

    /// The next line the client sends while a command waits for it (SASL response, IDLE's DONE);
    /// nil when the session must end.
    func nextLine() async throws -> String? {
        while true {
            switch await context.inbox.next() {
            case .frame(.command(let bytes)):
                lastActivity = clock.now()
                return String(buffer: bytes)
            case .frame(.continuationRequest):
                send(.continuation("Ready for literal data")); try await flush()
            case .frame:
                return ""
            case .changes(let revoked):
                if revoked { try await revokedBye(); return nil }
                changesPending = true
            case .tick:
                continue
            case .shutdown:
                untagged(.condition(status: .bye, code: nil, text: "Server shutting down"))
                try await flush(); state = .logout; return nil
            case .closed:
                state = .logout; return nil
            }
        }
    }

    /// RFC 8437: the mailbox closes (no expunge), the login ends and the session starts over as if
    /// just connected (ENABLEd extensions and the saved search forgotten; TLS stays).
    func unauthenticate(_ tag: String) async {
        let ending = login
        login = nil
        selected = nil
        enabled = []
        savedSearch = []
        notify = nil
        notifyLog.setActive(false)
        changesPending = false
        state = .notAuthenticated
        context.logger[metadataKey: "imap.mailbox"] = nil
        await ending?.end()
        ok(tag, "UNAUTHENTICATE completed")
    }

    static func isMessageChange(_ kind: MailboxChange.Kind) -> Bool {
        switch kind {
        case .appended, .flagsChanged, .expunged: true
        case .folderCreated, .folderDeleted, .folderRenamed, .passwordRevoked: false
        }
    }

    func authenticateUser(_ tag: String, user: String, password: String) async throws {
        switch await context.authenticator.authenticate(user: user, password: password, remoteIP: context.remoteIP,
                                                           audit: AuthAudit(protocolName: "imap", logger: context.logger)) {
        case .authenticated(let login):
            self.login = login
            state = .authenticated
            context.logger[metadataKey: "imap.mailbox"] = "\(login.session.mailboxID)"
            let inbox = context.inbox, log = notifyLog, sessionID = login.session.id
            login.watch(folder: nil) { change, revoked in
                log.record(change)
                // Messages this session appended, flagged, copied, moved or expunged itself: each of
                // those commands already brought the view up to date (or read after itself), so its
                // own change event would only cost a catch-up read (an RPC through a frontend).
                if !revoked, change.origin == sessionID, Self.isMessageChange(change.kind) { return }
                inbox.pushChange(revoked: revoked)
            }
            ok(tag, "Logged in", code: .capability(capabilities))
        case .throttled(let wait):
            no(tag, "Too many failed logins; try again in \(max(1, Int(wait.components.seconds))) seconds", code: .unavailable)
        case .failed:
            no(tag, "Authentication failed", code: .authenticationFailed)
        case .tooManySessions:
            no(tag, "Too many sessions for this mailbox", code: .limit)
        case .unavailable(let error):
            context.logger.error("unlock failed", metadata: ["imap.error": "\(type(of: error))"])
            no(tag, "Mailbox unavailable; try again later", code: .unavailable)
        }
    }
}
/// Maps store errors to tagged replies (the one place where they become wire text).
extension IMAPSession {
    func reply(_ tag: String, error: Error) {
        if error is FetchStreamAborted {
            context.logger.error("streamed FETCH aborted; closing the connection")
            state = .logout
            return
        }
        if let e = error as? MailStoreError {
            switch e.code {
            case .noSuchFolder: no(tag, "Mailbox does not exist", code: .nonExistent)
            case .folderExists: no(tag, "Mailbox already exists", code: .alreadyExists)
            case .invalidFolderName: no(tag, "Invalid mailbox name", code: .cannot)
            case .cannotDeleteInbox: no(tag, "INBOX cannot be deleted", code: .cannot)
            case .overQuota: no(tag, "Quota exceeded", code: .overQuota)
            case .insufficientStorage: no(tag, "The server is low on disk space; try again later", code: .limit)
            case .messageTooLarge: no(tag, "Message too large", code: .tooBig)
            case .mailboxClosed: no(tag, "Mailbox is closed", code: .unavailable)
            case .unavailable: no(tag, "Mailbox unavailable; try again later", code: .unavailable)
            default: no(tag, "Operation failed", code: .serverBug)
            }
        } else {
            context.logger.error("command failed", metadata: ["imap.error": "\(type(of: error))"])
            no(tag, "Internal error; try again", code: .serverBug)
        }
    }
}

/// The shared run loop (MailNet's `MailSession`): what IMAP says and does at each event.
extension IMAPSession: LoginSession {
    var clock: SessionClock { configuration.clock }
    var isFinished: Bool { state == .logout }
    var idleLimit: Duration { state == .notAuthenticated ? configuration.preAuthTimeout : configuration.idleTimeout }
    func flushAfterFrame() async throws {
        if !pendingAppends.isEmpty, !context.inbox.hasPendingFrame { try await commitAppends() }
        // More commands already read (a client pipelining, as mbsync does when it downloads): their
        // answers go out together, one write instead of one per command, until 64 KiB wait.
        // (A command that waits for the client, IDLE or a literal's continuation, flushes itself.)
        if state != .logout, out.readableBytes < Self.corkedBytes, context.inbox.hasPendingFrame { return }
        try await flush()
    }
    /// Output held back while pipelined commands wait (see `flushAfterFrame`).
    static let corkedBytes = 64 * 1024
    func mailboxChanged(revoked: Bool) async throws {
        if revoked { try await revokedBye() } else { changesPending = true; try await notifyBetweenCommands() }
    }
    func tick() async throws {
        if let mailbox, await !mailbox.isStillAuthorized() { try await revokedBye() }
    }
    func sayIdleTimeout() { untagged(.condition(status: .bye, code: nil, text: "Autologout; idle for too long")) }
    func sayShutdown() { untagged(.condition(status: .bye, code: nil, text: "Server shutting down")) }
    func sessionFailed(_ error: any Error) { context.logger.debug("session ended", metadata: ["imap.error": "\(type(of: error))"]) }
}
