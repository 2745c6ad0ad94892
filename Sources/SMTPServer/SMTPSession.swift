import Foundation
import Logging
import MailNet
import MIMEParser
import NIOCore
import SMTPCore

/// Settings of an SMTP session.
public struct SMTPSessionConfiguration: Sendable {
    public var hostname = "localhost"
    public var limits = SMTPLimits()
    /// RFC 5321 §4.5.3.2.7: at least 5 minutes waiting for a command or for more message data.
    public var idleTimeout: Duration = .seconds(300)
    /// A command line must be complete this long after its first byte, however steadily the bytes
    /// come (slowloris); RFC 5321 §4.5.3.2 asks for at least 5 minutes.
    public var commandTimeout: Duration = .seconds(300)
    /// DATA content (from the 354) or a BDAT chunk (from its command) must be complete within
    /// max(`dataTimeout`, bytes received / `minDataRate`): a transfer may take as long as it keeps
    /// an average of `minDataRate` bytes a second, and `dataTimeout` in any case. RFC 5321 §4.5.3.2
    /// asks for at least 3 minutes per block and 10 for the end of data.
    public var dataTimeout: Duration = .seconds(600)
    /// Bytes a second (see `dataTimeout`).
    public var minDataRate = 1024
    /// Recipient enumeration: tarpit, then 421 (see `SMTPProbePolicy`).
    public var probes = SMTPProbePolicy()
    /// How the tarpit waits (tests record the delays instead).
    public var sleep: @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }
    /// Refuse MAIL until STARTTLS (not for a public MX: most senders do TLS, but not all).
    public var requireTLS = false
    /// More Received headers than this is a mail loop (RFC 5321 §6.3).
    public var maxReceivedHeaders = 50
    /// The time timeouts are measured in (tests move a manual clock instead of sleeping).
    public var clock = SessionClock()
    public init() {}
}

/// One client connection's SMTP session (RFC 5321, with PIPELINING, SIZE, 8BITMIME, SMTPUTF8,
/// ENHANCEDSTATUSCODES, STARTTLS and CHUNKING). Owned by one task: it reads raw input from its
/// inbox, frames it with `SMTPInputDecoder`, and answers through its transport.
final class SMTPSession {
    enum Phase { case greeted, ready, closed }

    struct Transaction {
        var mailFrom: String
        var utf8: Bool
        var declaredSize: Int?
        var recipients: [InboundRecipient] = []
        var content: [UInt8] = []
        var receivedBytes = 0
        /// BDAT chunks were sent (DATA is then refused until the transaction ends).
        var chunking = false
        var chunkRefusal: SMTPReply?
        var lastChunk = false
        /// Bytes taken from the server's memory budget: `copies` for each byte of `content`.
        var reserved = 0
        /// Copies of the message the session and the commit hold at once (the handler's
        /// `copiesHeld`), fixed when the content begins (the recipients are known by then).
        var copies = 1
        /// The budget ran out: the message is answered 452 once its data has been read.
        var overBudget = false
    }

    let configuration: SMTPSessionConfiguration
    let transport: any SessionTransport
    let handler: any SMTPInboundHandler
    let remoteIP: String
    let inbox: SessionInbox<[UInt8]>
    let rateLimiter: SMTPRateLimiter?
    /// Refused recipients per client address across sessions (`SMTPProbePolicy.perIPLimit`).
    let probeLimiter: SMTPRateLimiter?
    let memory: SMTPMemoryBudget?
    /// Set on the submission ports (RFC 6409): AUTH, and who may send what.
    let submission: SMTPSubmissionContext?
    var logger: Logger
    /// The server's counters (nil: not counted, as in unit tests).
    let metrics: SMTPMetrics?
    /// What the session did, for the summary line its listener logs (nil: not counted).
    let meter: SessionMeter?

    var phase: Phase = .greeted
    var isTLS: Bool
    var helo: String?
    var esmtp = false
    var transaction: Transaction?
    var decoder: SMTPInputDecoder
    var framesTaken = 0
    var idleCommands = 0
    var out: [UInt8] = []
    var lastActivity: ContinuousClock.Instant
    /// When the command line in progress began (nil: none is).
    var lineStarted: ContinuousClock.Instant?
    /// When the DATA content or BDAT chunk in progress began, and its bytes so far.
    var transferStarted: ContinuousClock.Instant?
    var transferBytes = 0
    /// Recipients refused in this session (recipient enumeration).
    var refusedRecipients = 0
    /// Submission: who authenticated (nil: nobody yet), and the SASL exchange in progress.
    var submitter: SMTPSubmitter?
    var sasl: SASLExchange?
    /// MX: the client's forward-confirmed reverse DNS name, looked up from the connection's start
    /// (for Received; the greeting does not wait for it).
    var clientNameLookup: Task<String?, Never>?

    init(configuration: SMTPSessionConfiguration, transport: any SessionTransport, handler: any SMTPInboundHandler,
         remoteIP: String, isTLS: Bool, inbox: SessionInbox<[UInt8]>, rateLimiter: SMTPRateLimiter?,
         probeLimiter: SMTPRateLimiter? = nil, memory: SMTPMemoryBudget? = nil, submission: SMTPSubmissionContext? = nil,
         logger: Logger, metrics: SMTPMetrics? = nil, meter: SessionMeter? = nil) {
        self.configuration = configuration; self.transport = transport; self.handler = handler
        self.remoteIP = remoteIP; self.isTLS = isTLS; self.inbox = inbox; self.rateLimiter = rateLimiter
        self.probeLimiter = probeLimiter; self.memory = memory; self.submission = submission
        self.logger = logger; self.metrics = metrics; self.meter = meter
        self.lastActivity = configuration.clock.now()
        decoder = SMTPInputDecoder(limits: configuration.limits)
    }

    var limits: SMTPLimits { configuration.limits }

    func reply(_ code: Int, _ enhanced: String?, _ text: String) { SMTPReply(code, enhanced, text).encode(into: &out) }
    func reply(_ r: SMTPReply) { r.encode(into: &out) }

    func flush() async throws { try await transport.flush(&out) }

    // MARK: - Main loop

    func run() async {
        if submission == nil {
            let handler = handler, ip = remoteIP
            clientNameLookup = Task { await handler.clientName(forAddress: ip) }
        }
        defer { clientNameLookup?.cancel() }
        reply(220, nil, "\(configuration.hostname) ESMTP Sealbox ready")
        await runLoop()
    }

    func handle(_ bytes: [UInt8]) async throws {
        framesTaken += 1
        let now = clock.now()
        if lineStarted == nil { lineStarted = now }
        decoder.append(bytes)
        while phase != .closed, let input = decoder.next() {
            if case .line = input { lineStarted = now }  // what follows began in this frame at the earliest
            try await handle(input)
        }
        if !decoder.hasPartialLine { lineStarted = nil }
    }

    /// Times a DATA content or BDAT chunk from now.
    func beginTransfer() {
        transferStarted = clock.now(); transferBytes = 0
    }

    func end() async {
        if let submitter { meter?.account = submitter.user }
        phase = .closed
        endTransaction()
        await transport.close()
    }

    func handle(_ input: SMTPInput) async throws {
        switch input {
        case .line(let line):
            if sasl != nil { try await continueSASL(line); return }
            switch SMTPCommandParser.parse(line) {
            case .success(let command): try await execute(command)
            case .failure(let error): reply(error.reply); idle()
            }
        case .lineTooLong:
            if sasl != nil { sasl = nil; reply(501, "5.5.2", "Authentication response too long"); idle(); return }
            reply(500, "5.5.6", "Command line too long"); idle()
        case .data(let piece):
            transferBytes += piece.count
            guard var t = transaction else { return }
            transaction = nil
            t.receivedBytes += piece.count
            if t.receivedBytes <= limits.maxMessageSize { keep(piece, in: &t) }
            transaction = t
        case .dataEnd:
            transferStarted = nil
            try await finishMessage()
        case .chunk(let piece):
            transferBytes += piece.count
            guard var t = transaction else { return }
            transaction = nil
            t.receivedBytes += piece.count
            if t.chunkRefusal == nil && t.receivedBytes <= limits.maxMessageSize { keep(piece, in: &t) }
            transaction = t
        case .chunkEnd:
            transferStarted = nil
            try await chunkReceived()
        }
    }

    /// Adds a piece of the message, within the server's memory budget. Each byte is charged for
    /// every copy the message will take up to its commit (`Transaction.copies`), so that what the
    /// budget admits is what the messages take in memory at their peak; the copies themselves are
    /// made later, by then already paid for. Past the budget, the content so far is dropped (and
    /// its charge given back at once, for the other sessions) and the message is answered 452.
    func keep(_ piece: [UInt8], in t: inout Transaction) {
        guard !t.overBudget else { return }
        if let memory {
            guard charge(piece.count, to: &t, from: memory) else {
                t.overBudget = true
                memory.release(t.reserved); t.reserved = 0
                t.content = []
                return
            }
        }
        t.content += piece
    }

    /// Takes `bytes` times the message's copies from the budget for `t`.
    func charge(_ bytes: Int, to t: inout Transaction, from memory: SMTPMemoryBudget) -> Bool {
        let (cost, overflow) = bytes.multipliedReportingOverflow(by: t.copies)
        guard !overflow, memory.reserve(cost) else { return false }
        t.reserved += cost
        return true
    }

    /// Fixes the copies the message will take, when its content begins.
    func beginContent(_ t: inout Transaction) {
        t.copies = max(1, copiesHeld(for: t.recipients))
    }

    /// Room kept in front of a message's buffer for the Received header, so that it is put there
    /// in place (Received is at most about 700 bytes: HELO and recipient are cut at 255).
    static let headerRoom = 2048

    /// Ends the transaction (its bytes go back to the budget).
    func endTransaction() {
        if let t = transaction { memory?.release(t.reserved) }
        transaction = nil
    }

    /// A command that moves nothing forward; too many of them end the session.
    func idle() {
        idleCommands += 1
        if idleCommands > limits.maxIdleCommands {
            reply(421, "4.7.0", "\(configuration.hostname) Too many commands without mail, closing connection")
            phase = .closed
        }
    }

    // MARK: - Commands

    func execute(_ command: SMTPCommand) async throws {
        meter?.countCommand()
        switch command {
        case .ehlo(let name):
            helo = name; esmtp = true; endTransaction()
            var lines = ["\(configuration.hostname) greets \(name)", "PIPELINING", "SIZE \(limits.maxMessageSize)", "8BITMIME",
                         "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING"]
            if !isTLS && transport.canStartTLS { lines.insert("STARTTLS", at: 5) }
            if authOffered { lines.append("AUTH PLAIN LOGIN") }
            reply(SMTPReply(250, nil, lines))
            phase = .ready
        case .helo(let name):
            helo = name; esmtp = false; endTransaction()
            reply(250, nil, configuration.hostname)
            phase = .ready
        case .startTLS:
            guard !isTLS, transport.canStartTLS else { reply(502, "5.5.1", "STARTTLS not available"); return }
            guard transaction == nil else { reply(503, "5.5.1", "STARTTLS not allowed during a mail transaction"); return }
            try await flush()
            var ready: [UInt8] = []
            SMTPReply(220, "2.0.0", "Ready to start TLS").encode(into: &ready)
            // RFC 3207 §4.2: anything the client sent after STARTTLS must not be read as plaintext.
            guard decoder.bufferedByteCount == 0,
                  try await transport.startTLS(reply: ByteBuffer(bytes: ready), framesConsumed: framesTaken) else {
                reply(554, "5.5.1", "Command pipelined after STARTTLS, closing connection")
                phase = .closed
                return
            }
            isTLS = true
            // RFC 3207 §4.2: the session starts over (a login before it too); the client must EHLO again.
            helo = nil; esmtp = false; endTransaction(); phase = .greeted; submitter = nil
        case .mail(let from, let parameters):
            try await mail(from: from, parameters: parameters)
        case .rcpt(let to, let parameters):
            try await rcpt(to: to, parameters: parameters)
        case .data:
            guard var t = transaction else { reply(503, "5.5.1", "Send MAIL first"); idle(); return }
            guard !t.chunking else { reply(503, "5.5.1", "DATA is not allowed after BDAT"); return }
            guard !t.recipients.isEmpty else { reply(554, "5.5.1", "No valid recipients"); return }
            // Address space only until the bytes come (and are charged): pages are touched as
            // they are written.
            t.content.reserveCapacity(min(t.declaredSize ?? 64 * 1024, limits.maxMessageSize) + Self.headerRoom)
            beginContent(&t)
            transaction = t
            reply(354, nil, "End data with <CR><LF>.<CR><LF>")
            try await flush()  // the client waits for this before sending the message
            decoder.beginData()
            beginTransfer()
        case .bdat(let size, let last):
            // A chunk over the limit is refused before its bytes: reading and discarding what a
            // client announces (BDAT 99999999999) would hold the connection for as long as it
            // likes. The bytes are on their way, so the stream cannot be resynchronised: close.
            if (transaction?.receivedBytes ?? 0) + size > limits.maxMessageSize || size > limits.maxChunkSize {
                reply(552, "5.3.4", "Message too big for this server (limit \(limits.maxMessageSize) octets); "
                      + "the chunk cannot be skipped, closing connection")
                phase = .closed
                return
            }
            // RFC 3030: the chunk's bytes follow the command at once; they are read whatever
            // the answer, and the answer comes after them.
            decoder.beginChunk(size: size)
            beginTransfer()
            if transaction == nil {
                transaction = Transaction(mailFrom: "", utf8: false, declaredSize: nil)
                transaction?.chunkRefusal = SMTPReply(503, "5.5.1", "Send MAIL first")
            } else if transaction!.recipients.isEmpty {
                transaction?.chunkRefusal = SMTPReply(554, "5.5.1", "No valid recipients")
            } else if !transaction!.chunking {
                beginContent(&transaction!)
            }
            transaction?.chunking = true
            transaction?.lastChunk = last
        case .rset:
            endTransaction()
            reply(250, "2.0.0", "Ok"); idle()
        case .noop:
            reply(250, "2.0.0", "Ok"); idle()
        case .quit:
            reply(221, "2.0.0", "\(configuration.hostname) closing connection")
            phase = .closed
        case .vrfy:
            reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery"); idle()
        case .expn:
            reply(502, "5.5.1", "EXPN is not available"); idle()
        case .help:
            reply(214, "2.0.0", "Sealbox SMTP: see RFC 5321. Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY STARTTLS"
                  + (submission == nil ? "" : " AUTH")); idle()
        case .auth(let argument) where submission != nil:
            try await auth(argument)
        case .auth:
            reply(503, "5.5.1", "Authentication is not available on this port (it receives mail for this server's domains)"); idle()
        }
    }

    func mail(from: SMTPMailbox?, parameters: [SMTPParameter]) async throws {
        guard helo != nil else { reply(503, "5.5.1", "Send EHLO or HELO first"); idle(); return }
        guard transaction == nil else { reply(503, "5.5.1", "Nested MAIL command"); idle(); return }
        if configuration.requireTLS && !isTLS { reply(530, "5.7.0", "Must issue a STARTTLS command first"); return }
        if submission != nil && submitter == nil { reply(530, "5.7.0", "Authentication required"); idle(); return }
        var size: Int?, utf8 = false
        for parameter in parameters {
            switch parameter.keyword {
            case "SIZE" where esmtp:
                guard let value = parameter.value, value.count <= 15, let n = Int(value), n >= 0 else {
                    reply(501, "5.5.4", "Bad SIZE value"); return
                }
                size = n
            case "BODY" where esmtp:
                guard let value = parameter.value?.uppercased(), value == "7BIT" || value == "8BITMIME" else {
                    reply(555, "5.5.4", "Unsupported BODY type (7BIT and 8BITMIME are supported)"); return
                }
            case "SMTPUTF8" where esmtp:
                guard parameter.value == nil else { reply(501, "5.5.4", "SMTPUTF8 takes no value"); return }
                utf8 = true
            case "AUTH" where submission != nil:
                break  // RFC 4954 §5: the identity the message was submitted by; ours is the login's
            default:
                reply(555, "5.5.4", "Unsupported MAIL parameter \(parameter.keyword)"); return
            }
        }
        if let from, from.isUTF8, !utf8 {
            reply(553, "5.6.7", "Non-ASCII address requires the SMTPUTF8 parameter"); return
        }
        if let size, size > limits.maxMessageSize {
            reply(552, "5.3.4", "Message too big for this server (limit \(limits.maxMessageSize) octets)"); return
        }
        if let rateLimiter, !rateLimiter.allow(remoteIP) {
            reply(450, "4.7.1", "Too many messages from your address, try again later"); return
        }
        if let submission, let submitter, let refusal = await submission.handler.authorizeSender(from, submitter: submitter) {
            if refusal.code == 530 { self.submitter = nil }  // the password was revoked: no more mail on this login
            reply(refusal); return
        }
        transaction = Transaction(mailFrom: from?.description ?? "", utf8: utf8, declaredSize: size)
        idleCommands = 0
        reply(250, "2.1.0", "Ok")
    }

    func rcpt(to: SMTPMailbox, parameters: [SMTPParameter]) async throws {
        guard var t = transaction else { reply(503, "5.5.1", "Send MAIL first"); idle(); return }
        guard !t.chunking else { reply(503, "5.5.1", "RCPT is not allowed after BDAT"); return }
        if let parameter = parameters.first {
            reply(555, "5.5.4", "Unsupported RCPT parameter \(parameter.keyword)"); return
        }
        if to.isUTF8 && !t.utf8 {
            reply(553, "5.6.7", "Non-ASCII address requires the SMTPUTF8 parameter on MAIL"); return
        }
        guard t.recipients.count < limits.maxRecipients else {
            reply(452, "4.5.3", "Too many recipients"); return
        }
        transaction = nil
        defer { transaction = t }
        let route: Result<InboundRecipient, SMTPReply>
        if let submission, let submitter {
            route = await submission.handler.route(to, submitter: submitter, accepted: t.recipients.count, size: t.declaredSize)
            if case .failure(let refusal) = route {
                if refusal.code == 530 { self.submitter = nil }  // the password was revoked meanwhile
                reply(refusal); return
            }
        } else {
            route = await handler.route(to, size: t.declaredSize)
        }
        switch route {
        case .success(let recipient):
            // A message of the declared size to this many mailboxes would take more memory than
            // the whole budget (`copiesHeld`): the client sends it to the others in another
            // transaction (RFC 5321 §4.5.3.1.10), instead of a message that could never be taken.
            if let memory, let size = t.declaredSize, !t.recipients.isEmpty {
                let (cost, overflow) = size.multipliedReportingOverflow(by: copiesHeld(for: t.recipients + [recipient]))
                if overflow || cost > memory.limit {
                    reply(452, "4.5.3", "Too many recipients for a message of this size, send the others in another transaction")
                    return
                }
            }
            t.recipients.append(recipient)
            reply(250, "2.1.5", "Ok")
        case .failure(let refusal):
            try await refuseRecipient(refusal)
        }
    }

    func chunkReceived() async throws {
        guard let t = transaction else { return }
        if let refusal = t.chunkRefusal {
            reply(refusal)
            // A refused chunk ends the transaction (its content is gone).
            endTransaction()
            return
        }
        if t.lastChunk {
            try await finishMessage()
        } else {
            reply(250, "2.0.0", "\(t.receivedBytes) octets received")
        }
    }

    // MARK: - The message

    func finishMessage() async throws {
        guard var t = transaction else { return }
        transaction = nil
        defer { memory?.release(t.reserved) }  // all of it, BDAT's growth included, once the message is dropped
        idleCommands = 0
        let isSubmission = submission != nil
        if t.overBudget {
            metrics?.refuse(.storage, submission: isSubmission)
            reply(452, "4.3.1", "Insufficient system storage, try again later"); return
        }
        if t.receivedBytes > limits.maxMessageSize {
            metrics?.refuse(.size, submission: isSubmission)
            reply(552, "5.3.4", "Message too big for this server (limit \(limits.maxMessageSize) octets)"); return
        }
        // The session's buffer becomes the message as stored: taken out of `t` (so that it is the
        // only reference and changes in place), the Received header put in front of it.
        var message: [UInt8] = []
        swap(&message, &t.content)
        if t.chunking {
            // Bare line endings become CRLF: the message can grow, and the growth is charged.
            let length = Self.canonicalLength(message), grown = length - message.count
            if grown > 0, let memory, !charge(grown, to: &t, from: memory) {
                metrics?.refuse(.storage, submission: isSubmission)
                reply(452, "4.3.1", "Insufficient system storage, try again later"); return
            }
            if grown > 0 { message = Self.canonicalLineEndings(message, capacity: length + Self.headerRoom) }
        }
        if Self.countReceivedHeaders(message, upTo: configuration.maxReceivedHeaders + 1) > configuration.maxReceivedHeaders {
            metrics?.refuse(.loop, submission: isSubmission)
            reply(554, "5.4.6", "Too many Received headers: mail loop detected"); return
        }
        let queueID = Self.newQueueID()
        let now = Date()
        var authors: [String] = []
        if submission != nil {
            let headers = SubmissionHeaders(message)
            authors = headers.authors
            message.insert(contentsOf: headers.missingFields(hostname: configuration.hostname, queueID: queueID, date: now), at: 0)
            message.insert(contentsOf: submissionReceivedHeader(for: t, queueID: queueID, at: now), at: 0)
        } else {
            let clientName = await clientNameLookup?.value
            message.insert(contentsOf: receivedHeader(for: t, queueID: queueID, at: now, clientName: clientName), at: 0)
        }
        let size = message.count
        var inbound = InboundTransaction(mailFrom: t.mailFrom, recipients: t.recipients, message: message, receivedAt: now,
                                         remoteIP: remoteIP, helo: helo ?? "", queueID: queueID)
        inbound.authors = authors
        if submission == nil { inbound.clientName = await clientNameLookup?.value }
        if submission == nil, let refusal = await handler.authenticate(&inbound) {
            logger.info("message refused", metadata: ["smtp.queue.id": "\(queueID)", "smtp.reply": "\(refusal.code)"])
            metrics?.refuse(.authentication, submission: false)
            reply(refusal); return
        }
        if submission == nil, let refusal = await handler.filter(&inbound) {
            logger.info("message refused by a filter", metadata: ["smtp.queue.id": "\(queueID)", "smtp.reply": "\(refusal.code)"])
            metrics?.refuse(.filter, submission: false)
            reply(refusal); return
        }
        do {
            if let submission, let submitter {
                if let refusal = try await submission.handler.commit(inbound, submitter: submitter) {
                    if refusal.code == 530 { self.submitter = nil }
                    metrics?.refuse(.filter, submission: true)
                    reply(refusal); return
                }
            } else {
                try await handler.commit(inbound)
            }
        } catch {
            logger.error("inbound commit failed", metadata: ["smtp.queue.id": "\(queueID)", "smtp.error": "\(type(of: error))"])
            metrics?.refuse(.error, submission: isSubmission)
            reply(451, "4.3.0", "Local error in processing, try again later")
            return
        }
        var metadata: Logger.Metadata = ["smtp.queue.id": "\(queueID)", "smtp.size": "\(size)", "smtp.recipients": "\(t.recipients.count)"]
        if submission != nil { metadata["smtp.client.ip"] = "\(remoteIP)" }  // not in the message (see submissionReceivedHeader)
        logger.info(submission == nil ? "message accepted" : "message submitted", metadata: metadata)
        metrics?.accept(submission: isSubmission)
        reply(250, "2.0.0", "Ok: queued as \(queueID)")
    }

    /// RFC 5321 §4.4 trace header; `with` per RFC 3848 / RFC 6531. The recipient is named only when
    /// there is one (naming all would disclose Bcc recipients to each other).
    func receivedHeader(for t: Transaction, queueID: String, at date: Date, clientName: String? = nil) -> [UInt8] {
        var with = t.utf8 ? "UTF8SMTP" : (esmtp ? "ESMTP" : "SMTP")
        if isTLS { with += "S" }
        let client = clientName.map { Self.headerSafe($0) + " " } ?? ""
        var header = "Received: from \(Self.headerSafe(helo ?? "unknown")) (\(client)[\(remoteIP)])\r\n\tby \(configuration.hostname) (Sealbox) with \(with) id \(queueID)"
        if t.recipients.count == 1 { header += "\r\n\tfor <\(Self.headerSafe(t.recipients[0].rcpt))>" }
        header += "; \(Self.rfc5322Date(date))\r\n"
        return Array(header.utf8)
    }

    static func headerSafe(_ text: String) -> String {
        String(text.prefix(255).unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F || $0 == "(" || $0 == ")" ? "_" : Character($0) })
    }

    /// `Sun, 06 Dec 2026 09:05:03 +0000` (RFC 5322 §3.3, in UTC), by hand: once per message, and
    /// Foundation's format styles cost more than the rest of the header.
    static func rfc5322Date(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = CivilDate.date(daysSinceEpoch: Int(days))
        let weekday = Int(((days + 4) % 7 + 7) % 7)  // 1970-01-01 was a Thursday
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
        return "\(weekdayNames[weekday]), \(two(day)) \(monthNames[month - 1]) \(year) "
            + "\(two(secondOfDay / 3_600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }

    private static let weekdayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func newQueueID() -> String {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRSTVWXYZ")
        return String((0..<14).map { _ in alphabet[Int(rng.next(upperBound: UInt32(alphabet.count)))] })
    }

    /// Counts Received header fields in the header block (stops early at `limit`).
    static func countReceivedHeaders(_ message: [UInt8], upTo limit: Int) -> Int {
        let name = Array("received:".utf8)
        var count = 0, lineStart = 0, i = 0
        while i <= message.count {
            if i == message.count || message[i] == 0x0A {
                let line = message[lineStart..<i]
                if line.isEmpty || (line.count == 1 && line.first == 0x0D) { break }  // the header block ends
                if line.count >= name.count, zip(line.prefix(name.count), name).allSatisfy({ $0 | 0x20 == $1 }) {
                    count += 1
                    if count >= limit { return count }
                }
                lineStart = i + 1
            }
            i += 1
        }
        return count
    }

    /// The length of `bytes` once `canonicalLineEndings` made every line ending CRLF.
    static func canonicalLength(_ bytes: [UInt8]) -> Int {
        var length = bytes.count, i = 0
        while i < bytes.count {
            if bytes[i] == 0x0D {
                if i + 1 < bytes.count && bytes[i + 1] == 0x0A { i += 2; continue }
                length += 1
            } else if bytes[i] == 0x0A {
                length += 1
            }
            i += 1
        }
        return length
    }

    /// BDAT content is sent as is: bare LFs and CRs become CRLF, as DATA's content does.
    static func canonicalLineEndings(_ bytes: [UInt8], capacity: Int? = nil) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(capacity ?? bytes.count + bytes.count / 64)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x0D {
                result += [0x0D, 0x0A]
                i += (i + 1 < bytes.count && bytes[i + 1] == 0x0A) ? 2 : 1
            } else if b == 0x0A {
                result += [0x0D, 0x0A]; i += 1
            } else {
                result.append(b); i += 1
            }
        }
        return result
    }
}

/// The shared run loop (MailNet's `MailSession`): what SMTP says and does at each event.
extension SMTPSession: MailSession {
    var clock: SessionClock { configuration.clock }
    var isFinished: Bool { phase == .closed }
    var idleLimit: Duration { configuration.idleTimeout }
    var inputDeadline: ContinuousClock.Instant? {
        if let start = transferStarted {
            let byRate = Duration.seconds(Double(transferBytes) / Double(max(1, configuration.minDataRate)))
            return start + max(configuration.dataTimeout, byRate)
        }
        return lineStarted.map { $0 + configuration.commandTimeout }
    }
    /// PIPELINING (RFC 2920): replies to commands sent together go out together.
    func flushAfterFrame() async throws {
        if !inbox.hasPendingFrame || out.count >= 64 * 1024 { try await flush() }
    }
    func mailboxChanged(revoked: Bool) async throws {}
    func tick() async throws {}
    func sayIdleTimeout() { reply(421, "4.4.2", "\(configuration.hostname) Timeout waiting for input, closing connection") }
    func sayInputTimeout() {
        let what = transferStarted == nil ? "command line" : "message data"
        reply(421, "4.4.2", "\(configuration.hostname) Timeout: the \(what) came too slowly, closing connection")
    }
    func sayShutdown() { reply(421, "4.3.2", "\(configuration.hostname) Server shutting down, try again later") }
    func sessionFailed(_ error: any Error) { logger.debug("smtp session ended", metadata: ["smtp.error": "\(type(of: error))"]) }
}

/// The trace-header rules of the session, for the node's own deliveries that bypass it (outbound
/// jobs to local recipients).
public enum SMTPTrace {
    /// More Received headers than this is a mail loop (RFC 5321 §6.3), as the MX judges it.
    public static var maxReceivedHeaders: Int { SMTPSessionConfiguration().maxReceivedHeaders }
    public static func countReceivedHeaders(_ message: [UInt8], upTo limit: Int) -> Int { SMTPSession.countReceivedHeaders(message, upTo: limit) }
    public static func rfc5322Date(_ date: Date) -> String { SMTPSession.rfc5322Date(date) }
}
