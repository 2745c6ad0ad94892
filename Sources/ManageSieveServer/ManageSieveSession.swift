import Foundation
import Logging
import MailNet
import ManageSieveCore
import NIOCore
import Sieve

/// One client connection's ManageSieve session (RFC 5804): non-authenticated, then authenticated
/// to one address's scripts. Owned by one task: it reads the client's bytes from its inbox,
/// frames them with its own `ManageSieveFramer` (literal limits follow the login state) and
/// answers through its transport.
///
/// A login checks the password with the node's `SessionAuthenticator` (the throttle, the audit
/// log and the answer delay every protocol shares) and keeps nothing of the mailbox: scripts live
/// in the directory. Every command after login looks the login up again, so a revoked password
/// or a removed address ends the session at its next command.
final class ManageSieveSession {
    enum State { case notAuthenticated, authenticated, closed }
    /// A SASL exchange waiting for the client's next string.
    enum SASLStep { case plain, loginUser, loginPassword(user: String) }

    let configuration: ManageSieveSessionConfiguration
    let manager: SieveScriptManager
    var context: SessionContext<[UInt8]>
    var login: MailboxLogin?  // never held: see the type's comment
    var state = State.notAuthenticated
    var account: SieveAccount?
    var sasl: SASLStep?
    var framer: ManageSieveFramer
    var out: [UInt8] = []
    var lastActivity: ContinuousClock.Instant
    /// When the command now arriving began (nil: none in progress).
    var commandStarted: ContinuousClock.Instant?
    var badCommands = 0

    init(configuration: ManageSieveSessionConfiguration, store: any SieveScriptStore, context: SessionContext<[UInt8]>) {
        self.configuration = configuration
        self.manager = SieveScriptManager(store: store)
        self.context = context
        self.framer = ManageSieveFramer(limits: configuration.limits)
        self.lastActivity = configuration.clock.now()
    }

    var insecureAuthBlocked: Bool { !context.isTLS && !configuration.allowInsecureAuth }

    // MARK: - Output

    func reply(_ status: ManageSieveResponse.Status, _ code: ManageSieveResponse.Code? = nil, _ text: String) {
        ManageSieveResponse.status(status, code: code, text: text, into: &out)
    }

    func flush() async throws { try await context.transport.flush(&out) }

    func capabilities() {
        ManageSieveResponse.capability("IMPLEMENTATION", "Sealbox \(configuration.version)", into: &out)
        ManageSieveResponse.capability("SIEVE", manager.extensions.count == SieveExtensions.supported.count
            ? SieveExtensions.capabilityString : SieveExtensions.supported.filter(manager.extensions.contains).joined(separator: " "), into: &out)
        ManageSieveResponse.capability("MAXREDIRECTS", String(configuration.maxRedirects), into: &out)
        if state == .notAuthenticated {
            ManageSieveResponse.capability("SASL", insecureAuthBlocked ? "" : "PLAIN LOGIN", into: &out)
            if !context.isTLS && context.transport.canStartTLS { ManageSieveResponse.capability("STARTTLS", nil, into: &out) }
        }
        ManageSieveResponse.capability("UNAUTHENTICATE", nil, into: &out)
        ManageSieveResponse.capability("VERSION", "1.0", into: &out)
    }

    // MARK: - Main loop

    func run() async {
        capabilities()
        reply(.ok, nil, "Sealbox ManageSieve ready.")
        await runLoop()
    }

    func forgetMailbox() { state = .closed; account = nil }

    /// Bytes from the client: every whole command in them is answered in turn.
    func handle(_ bytes: [UInt8]) async throws {
        framer.append(bytes)
        if commandStarted == nil { commandStarted = clock.now() }
        while state != .closed {
            let frame: ManageSieveFrame?
            do {
                frame = try framer.next()
            } catch {
                reply(.bye, nil, "Protocol error: \(error.description).")
                state = .closed
                return
            }
            guard let frame else { break }
            switch frame {
            case .command(let command): context.meter.countCommand(); try await handleCommand(command)
            case .tooLarge(let verb, let literalSize): tooLarge(verb: verb, literalSize: literalSize)
            }
            commandStarted = clock.now()  // the next command, if any, starts now
            // Pipelined GETSCRIPTs of big scripts: the answers go out as they are made, not all at once.
            if out.count >= 256 * 1024 { try await flush() }
        }
        if !framer.isMidCommand { commandStarted = nil }
    }

    func tooLarge(verb: String?, literalSize: Int?) {
        if sasl != nil {
            sasl = nil
            reply(.no, nil, "Authentication failed: the response is too long.")
            return
        }
        if state == .authenticated, literalSize != nil, verb == "PUTSCRIPT" || verb == "CHECKSCRIPT" {
            reply(.no, .quotaMaxSize, "Script is too large (max \(manager.store.quota.maxScriptBytes) bytes).")
            return
        }
        bad(ManageSieveParseError(verb: verb ?? "", "Too long argument."))
    }

    /// An invalid command: `NO`, and `BYE` after too many in a row.
    func bad(_ error: ManageSieveParseError) {
        badCommands += 1
        if badCommands >= configuration.limits.maxBadCommands {
            reply(.bye, nil, "Too many invalid MANAGESIEVE commands.")
            state = .closed
            return
        }
        reply(.no, nil, error.description)
    }

    func handleCommand(_ bytes: [UInt8]) async throws {
        if let step = sasl {
            sasl = nil
            try await continueSASL(step, response: bytes)
            return
        }
        let command: ManageSieveCommand
        switch ManageSieveParser.parse(bytes, limits: configuration.limits) {
        case .success(let c): command = c
        case .failure(let error): bad(error); return
        }
        badCommands = 0
        switch command {
        case .capability:
            capabilities()
            reply(.ok, nil, "Capability completed.")
            return
        case .logout:
            reply(.ok, nil, "Logout completed.")
            state = .closed
            return
        case .noop(let tag):
            if let tag { reply(.ok, .tag(tag), "Done") } else { reply(.ok, nil, "NOOP Completed") }
            return
        default:
            break
        }
        switch state {
        case .notAuthenticated:
            switch command {
            case .startTLS: try await startTLS()
            case .authenticate(let mechanism, let initial): try await authenticate(mechanism: mechanism, initialResponse: initial)
            default: reply(.no, nil, ManageSieveParseError(verb: command.verb, "Not logged in.").description)
            }
        case .authenticated:
            try await executeAuthenticated(command)
        case .closed:
            break
        }
    }

    // MARK: - STARTTLS (§2.2)

    func startTLS() async throws {
        guard !context.isTLS else { reply(.no, nil, "TLS is already active."); return }
        guard context.transport.canStartTLS else { reply(.no, nil, "TLS support isn't enabled."); return }
        try await flush()
        var answer: [UInt8] = []
        ManageSieveResponse.status(.ok, text: "Begin TLS negotiation now.", into: &answer)
        // Anything the client sent after STARTTLS came in plaintext and must not be obeyed.
        guard framer.bufferedByteCount == 0, !context.inbox.hasPendingFrame,
              try await context.transport.startTLS(reply: ByteBuffer(bytes: answer), framesConsumed: context.inbox.framesTaken) else {
            reply(.bye, nil, "STARTTLS must be the last command before the TLS handshake.")
            try await flush()
            state = .closed
            return
        }
        context.isTLS = true
        // RFC 5804 §2.2: the capabilities again, under TLS.
        capabilities()
        reply(.ok, nil, "TLS negotiation successful.")
    }

    // MARK: - Commands after login

    func executeAuthenticated(_ command: ManageSieveCommand) async throws {
        guard let account else { state = .closed; return }
        let owner: String
        do {
            guard let found = try await manager.store.owner(of: account) else {
                reply(.bye, nil, "The password of this session is no longer valid.")
                state = .closed
                return
            }
            owner = found
        } catch {
            storeFailed(error)
            return
        }
        do {
            switch command {
            case .haveSpace(let name, let size):
                try await manager.haveSpace(owner: owner, name: name, size: size).encode(into: &out)
            case .putScript(let name, let content):
                try await manager.put(owner: owner, name: name, content: content).encode(into: &out)
            case .checkScript(let content):
                try await manager.check(owner: owner, content: content).encode(into: &out)
            case .listScripts:
                for entry in try await manager.list(owner: owner) {
                    ManageSieveResponse.scriptListEntry(entry.name, active: entry.active, into: &out)
                }
                reply(.ok, nil, "Listscripts completed.")
            case .getScript(let name):
                switch try await manager.get(owner: owner, name: name) {
                case .success(let text):
                    ManageSieveResponse.script(Array(text.utf8), into: &out)
                    reply(.ok, nil, "Getscript completed.")
                case .failure(let refusal):
                    refusal.encode(into: &out)
                }
            case .setActive(let name):
                try await manager.setActive(owner: owner, name: name).encode(into: &out)
            case .deleteScript(let name):
                try await manager.delete(owner: owner, name: name).encode(into: &out)
            case .renameScript(let from, let to):
                try await manager.rename(owner: owner, from: from, to: to).encode(into: &out)
            case .unauthenticate:
                state = .notAuthenticated
                self.account = nil
                framer.authenticated = false
                context.logger[metadataKey: "managesieve.mailbox"] = nil
                reply(.ok, nil, "Unauthenticate completed.")
            case .authenticate, .startTLS:
                reply(.no, nil, ManageSieveParseError(verb: command.verb, "Already authenticated.").description)
            case .capability, .logout, .noop:
                break  // answered in every state
            }
        } catch {
            storeFailed(error)
        }
    }

    func storeFailed(_ error: any Error) {
        context.logger.error("script store failed", metadata: ["managesieve.error": "\(type(of: error))"])
        reply(.no, .tryLater, "Internal error occurred. Refer to server log for more information.")
    }
}

/// The shared run loop (MailNet's `MailSession`): what ManageSieve says and does at each event.
extension ManageSieveSession: LoginSession {
    var clock: SessionClock { configuration.clock }
    var isFinished: Bool { state == .closed }
    var idleLimit: Duration { state == .authenticated ? configuration.idleTimeout : configuration.preAuthTimeout }
    var inputDeadline: ContinuousClock.Instant? {
        guard let commandStarted, framer.isMidCommand else { return nil }
        return commandStarted + (state == .authenticated ? configuration.commandTimeout : min(configuration.commandTimeout, configuration.preAuthTimeout))
    }
    func flushAfterFrame() async throws {
        if !context.inbox.hasPendingFrame || out.count >= 256 * 1024 { try await flush() }
    }
    func mailboxChanged(revoked: Bool) async throws {}
    func tick() async throws {}
    func sayIdleTimeout() { reply(.bye, nil, "Disconnected for inactivity.") }
    func sayInputTimeout() { reply(.bye, nil, "Disconnected: the command took too long to arrive.") }
    func sayShutdown() { reply(.bye, .tryLater, "Server shutting down.") }
    func sessionFailed(_ error: any Error) {
        context.logger.debug("session ended", metadata: ["managesieve.error": "\(type(of: error))"])
    }
}
