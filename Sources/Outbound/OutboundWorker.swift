import AsyncHTTPClient
import Foundation
import Logging
import MIMEParser
import MailAuth
import MailboxAPI
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Works through the outbound jobs the MX committed with inbound mail: forwards go to the
/// smarthost (`smtp.relay.*`) with an SRS envelope sender, webhooks are POSTed with an HMAC
/// signature. Jobs live in the queue database, so a restart loses none. A temporary failure (4xx,
/// a network error, a timeout, an HTTP 5xx/408/429) waits `retryInterval`, doubling up to
/// `maxRetryInterval`; a permanent one (5xx, other HTTP 4xx), or still failing after `maxAge`,
/// ends the job: a forward then bounces to its envelope sender (RFC 3464), a webhook is dropped
/// with an error in the log.
public final class OutboundWorker: Service, Sendable {
    public struct Settings: Sendable {
        public var relay: SMTPRelayClient.Configuration?
        /// Delivery to the recipients' MX hosts, when built (nil today: without a smarthost,
        /// SMTP jobs wait).
        public var directRoute: (any OutboundRoute)?
        public var hostname: String
        public var webhookSecret: [UInt8]
        public var webhookIncludeRaw: Bool
        public var retryInterval: Duration
        public var maxRetryInterval: Duration
        public var maxAge: Duration
        /// Jobs worked on at once.
        public var concurrency = 8
        public var webhookTimeout: Duration = .seconds(30)
        /// The active DKIM signing keys of a domain (empty: not ours, nothing to sign with).
        /// nil: messages leave unsigned.
        public var dkimKeys: (@Sendable (String) async throws -> [DKIMSigningKey])?
        /// Forwards of received mail get an ARC set (RFC 8617) signed with the forwarding domain's
        /// key, repeating the MX's authentication results (`auth.arcSeal`).
        public var arcSeal = false

        public init(relay: SMTPRelayClient.Configuration?, hostname: String, webhookSecret: [UInt8], webhookIncludeRaw: Bool,
                    retryInterval: Duration, maxRetryInterval: Duration, maxAge: Duration) {
            self.relay = relay; self.hostname = hostname; self.webhookSecret = webhookSecret; self.webhookIncludeRaw = webhookIncludeRaw
            self.retryInterval = retryInterval; self.maxRetryInterval = maxRetryInterval; self.maxAge = maxAge
        }

        /// The way out for SMTP jobs: the smarthost when one is set (everything goes through it),
        /// else direct delivery once it exists; nil: no route yet.
        public var route: (any OutboundRoute)? {
            if let relay { return RelayRoute(configuration: relay) }
            return directRoute
        }
    }

    /// Why an SMTP job waits when there is no route (`queue list` shows it as the job's last error).
    public static let noRouteReason = "waiting: no route out (no smtp.relay.host and no DNS resolver for direct delivery)"

    let queue: any OutboundJobStore
    let settings: Settings
    let srs: SRS
    let logger: Logger
    let metrics = OutboundMetrics()
    private let wakeup = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init(queue: any OutboundJobStore, settings: Settings, srs: SRS, logger: Logger) {
        self.queue = queue; self.settings = settings; self.srs = srs; self.logger = logger
    }

    private let local = Mutex<(any LocalDelivery)?>(nil)

    /// Recipients of the node's own domains (a bounce to a local sender, a forward to a local
    /// alias) are delivered through `delivery`, never over the network. Set once the node's
    /// inbound handler exists (it needs this worker's SRS).
    public func deliverLocally(through delivery: any LocalDelivery) { local.withLock { $0 = delivery } }

    /// The envelope sender a forwarded message goes out with (SRS; the null sender stays null).
    public var rewriteSender: @Sendable (String) -> String {
        let srs = self.srs
        return { sender in sender.isEmpty ? "" : srs.forward(sender) }
    }

    /// The original sender of an SRS address of ours (nil: not one, tampered with or expired).
    public var reverseSender: @Sendable (String) -> String? {
        let srs = self.srs
        return { srs.reverse($0) }
    }

    public var srsDomain: String { srs.domain }

    /// Called after new jobs were committed: work on them now rather than at the next tick.
    public var wake: @Sendable () -> Void {
        { [weak self] in self?.signal() }
    }

    private func signal() {
        let waiter = wakeup.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter { s.waiter = nil; return w }
            s.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Sleeps until `deadline` or a wake-up, whichever comes first.
    private func sleep(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(until: deadline) }
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let now = self.wakeup.withLock { s -> Bool in
                        if s.pending { s.pending = false; return true }
                        s.waiter = c
                        return false
                    }
                    if now { c.resume() }
                }
            }
            await group.next()
            group.cancelAll()
            signal()  // releases the waiter if the timer won (the group waits for it)
        }
    }

    public func run() async throws {
        if settings.route == nil, let jobs = try? await queue.outboundJobs(), jobs.contains(where: { $0.kind == .smtp }) {
            logger.warning("outbound mail is waiting: no route out (no smtp.relay.host and no DNS resolver for direct delivery)")
        }
        // The webhooks' own HTTP client, for the worker's lifetime (not shared with backups: its
        // timeouts, pool and shutdown are the worker's).
        let http = Self.makeHTTPClient()
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var worked = 0
                do {
                    worked = try await self.runDueJobs(http: http)
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.warning("outbound queue failed", metadata: ["outbound.error": "\(error)"])
                }
                if Task.isCancelled { return }
                if worked > 0 { continue }  // more may be due
                var deadline = ContinuousClock.now + .seconds(30)
                if let next = try? await self.queue.nextJobDue() {
                    let wait = max(0, next.timeIntervalSinceNow)
                    deadline = min(deadline, ContinuousClock.now + .milliseconds(Int(wait * 1000) + 50))
                }
                await self.sleep(until: deadline)
            }
        }
        try? await http.shutdown()
    }

    static func makeHTTPClient() -> HTTPClient {
        var config = HTTPClient.Configuration()
        config.timeout = .init(connect: .seconds(15), read: .seconds(120))
        config.decompression = .disabled
        // A receiver that is down is retried with the job's own backoff, not inside the client.
        config.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
    }

    /// Works on the jobs due now, `concurrency` at a time. Returns how many were worked on.
    func runDueJobs(http: HTTPClient) async throws -> Int {
        let jobs = try await queue.dueJobs(now: Date(), limit: settings.concurrency * 4)
        guard !jobs.isEmpty else { return 0 }
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for job in jobs {
                if running >= settings.concurrency { await group.next(); running -= 1 }
                group.addTask { await self.work(job, http: http) }
                running += 1
            }
        }
        return jobs.count
    }

    func work(_ job: OutboundJob, http: HTTPClient) async {
        do {
            switch job.kind {
            case .smtp: try await relay(job)
            case .webhook: try await post(job, http: http)
            }
        } catch {
            logger.error("outbound job failed to update", metadata: ["outbound.job": "\(job.id)", "outbound.error": "\(error)"])
        }
    }

    /// The wait before the next attempt after `attempts` failed ones.
    func backoff(attempts: Int) -> Duration {
        var wait = settings.retryInterval
        for _ in 0..<min(attempts, 30) where wait < settings.maxRetryInterval { wait *= 2 }
        return min(wait, settings.maxRetryInterval)
    }

    func expired(_ job: OutboundJob, now: Date = Date()) -> Bool {
        now.timeIntervalSince(job.created) >= Double(settings.maxAge.components.seconds)
    }

    func nextAttempt(_ job: OutboundJob) -> Date {
        Date().addingTimeInterval(Double(backoff(attempts: job.attempts).components.seconds))
    }

    // MARK: - Forwards

    func relay(_ job: OutboundJob) async throws {
        let id = job.context["queueID"] ?? "\(job.id)"
        let localDelivery = local.withLock { $0 }
        let localRecipients = await localDelivery?.localRecipients(job.recipients) ?? []
        let remoteRecipients = job.recipients.filter { !localRecipients.contains($0) }
        let route = settings.route
        if route == nil && !remoteRecipients.isEmpty && localRecipients.isEmpty {
            if job.isSubmission {
                // A message a user submitted is never dropped nor bounced for want of a route: it
                // waits (deferred, `queue list` says why) until a route is configured.
                logger.notice("submitted mail deferred: no route out (no smtp.relay.host and no DNS resolver for direct delivery)",
                              metadata: ["outbound.id": "\(id)", "outbound.attempts": "\(job.attempts + 1)"])
                metrics.deferred.increment(by: job.recipients.count)
                try await queue.reschedule(jobID: job.id, nextAttempt: nextAttempt(job), error: Self.noRouteReason, remainingRecipients: nil)
                return
            }
            if expired(job) {
                metrics.bounced.increment(by: job.recipients.count)
                try await give(up: job, failures: job.recipients.map {
                    .init(recipient: $0, status: "4.4.1", diagnostic: "no smarthost is configured (smtp.relay.host)", action: "failed")
                })
            } else {
                metrics.deferred.increment(by: job.recipients.count)
                try await queue.reschedule(jobID: job.id, nextAttempt: nextAttempt(job), error: "no smtp.relay.host configured", remainingRecipients: nil)
            }
            return
        }
        var failures: [DeliveryStatusNotification.Failure] = []
        var remaining: [String] = []
        var lastError = ""
        let message = await signed(job)
        var results: [String: SMTPRelayClient.RecipientResult] = [:]
        if let localDelivery, !localRecipients.isEmpty {
            let local = job.recipients.filter { localRecipients.contains($0) }
            results.merge(await localDelivery.deliver(from: job.sender, recipients: local, message: message, queueID: id)) { a, _ in a }
        }
        if !remoteRecipients.isEmpty {
            if let route {
                do {
                    results.merge(try await route.send(from: job.sender, recipients: remoteRecipients, message: message)) { a, _ in a }
                } catch let error as SMTPRelayClient.RelayError {
                    for recipient in remoteRecipients {
                        results[recipient] = error.permanent ? .rejected(code: 550, enhanced: error.enhanced ?? "5.0.0", text: error.description)
                                                             : .rejected(code: 451, enhanced: "4.4.0", text: error.description)
                    }
                } catch {
                    for recipient in remoteRecipients { results[recipient] = .rejected(code: 451, enhanced: "4.4.0", text: "\(error)") }
                }
            } else {
                for recipient in remoteRecipients { results[recipient] = .rejected(code: 451, enhanced: "4.4.1", text: Self.noRouteReason) }
            }
        }
        for recipient in job.recipients {
            switch results[recipient] ?? .rejected(code: 451, enhanced: "4.4.0", text: "no reply") {
            case .accepted:
                metrics.sent.increment()
                logger.info(job.isSubmission ? "sent" : "forwarded",
                            metadata: ["outbound.id": "\(id)", "outbound.attempts": "\(job.attempts + 1)",
                                       "outbound.route": "\(localRecipients.contains(recipient) ? "local" : route?.name ?? "none")"])
            case .rejected(let code, let enhanced, let text):
                let diagnostic = "\(code) \(enhanced.map { $0 + " " } ?? "")\(text)"
                if code >= 500 {
                    failures.append(.init(recipient: recipient, status: enhanced ?? "5.0.0", diagnostic: diagnostic))
                } else {
                    remaining.append(recipient); lastError = diagnostic
                }
            }
        }
        if !remaining.isEmpty && expired(job) {
            failures += remaining.map { .init(recipient: $0, status: "4.4.7", diagnostic: "gave up after \(job.attempts + 1) attempts: \(lastError)") }
            remaining = []
        }
        metrics.bounced.increment(by: failures.count)
        metrics.deferred.increment(by: remaining.count)
        if remaining.isEmpty {
            if failures.isEmpty { try await queue.finish(jobID: job.id, replacement: nil) } else { try await give(up: job, failures: failures) }
            return
        }
        logger.notice(job.isSubmission ? "submitted mail deferred" : "forward deferred", metadata: ["outbound.id": "\(id)", "outbound.attempts": "\(job.attempts + 1)", "outbound.error": "\(lastError)"])
        // The recipients refused for good are bounced now; the others wait. (One job keeps the
        // rest, so a bounce is never sent twice for the same recipient.)
        if !failures.isEmpty, let bounce = bounce(for: job, failures: failures) {
            try await queue.enqueue([bounce])
        }
        try await queue.reschedule(jobID: job.id, nextAttempt: nextAttempt(job), error: lastError, remainingRecipients: remaining)
    }

    /// Ends a forward that failed: the job is replaced by a bounce to its envelope sender (none for
    /// a bounce that failed: RFC 5321 §4.5.5 / §6.1, no mail loops of notifications).
    func give(up job: OutboundJob, failures: [DeliveryStatusNotification.Failure]) async throws {
        logger.warning("forward failed", metadata: ["outbound.id": "\(job.context["queueID"] ?? "\(job.id)")",
                                                    "outbound.recipients": "\(failures.count)"])
        try await queue.finish(jobID: job.id, replacement: bounce(for: job, failures: failures))
    }

    /// The message as it leaves: DKIM-signed (RFC 6376) by the domain the job names
    /// (`signingDomain`: the alias's domain for a forward), else by its `From:` domain when that
    /// is one of ours; unsigned when neither has keys. Signed at each attempt, so `t=` is the time
    /// it left and a rotated key is never used.
    func signed(_ job: OutboundJob) async -> [UInt8] {
        let message = Self.outgoingForm(job)
        guard let lookup = settings.dkimKeys else { return message }
        var candidates: [String] = []
        if let domain = job.context["signingDomain"] { candidates.append(domain) }
        let (_, bodyStart) = DKIMCanonicalization.split(message)
        if let host = MIMEMessage.parse(Array(message[..<bodyStart])).from.first?.host?.lowercased(), !candidates.contains(host) {
            candidates.append(host)
        }
        for domain in candidates {
            do {
                let keys = try await lookup(domain)
                guard !keys.isEmpty else { continue }
                return try DKIMSigner.sign(arcSealed(message, job: job, keys: keys), keys: keys)
            } catch {
                logger.error("DKIM signing failed; the message leaves unsigned",
                             metadata: ["outbound.id": "\(job.context["queueID"] ?? "\(job.id)")", "dkim.domain": "\(domain)", "error": "\(error)"])
                return message
            }
        }
        return message
    }

    /// A forward of received mail with an ARC set on top, sealed with the domain's RSA key (the
    /// algorithm RFC 8617 verifiers know; Ed25519 when it has none), its results the MX's own.
    /// Not a forward (no results in the job), or sealing off: as it is.
    func arcSealed(_ message: [UInt8], job: OutboundJob, keys: [DKIMSigningKey]) -> [UInt8] {
        guard settings.arcSeal, let results = job.context["auth.results"],
              let key = keys.first(where: { $0.algorithm == .rsa }) ?? keys.first else { return message }
        let chain = ARCOutcome(result: ARCResult(rawValue: job.context["auth.arc"] ?? "none") ?? .none,
                               instances: Int(job.context["auth.arcInstances"] ?? "0") ?? 0, reason: nil, oldestPass: nil, domains: [])
        do {
            return try ARCSealer.seal(message, key: key, authservID: settings.hostname, authenticationResults: results, chain: chain)
        } catch {
            logger.error("ARC sealing failed; the forward leaves without an ARC set",
                         metadata: ["outbound.id": "\(job.context["queueID"] ?? "\(job.id)")", "error": "\(error)"])
            return message
        }
    }

    /// What leaves: a message a user submitted with 8-bit body content goes 7-bit (quoted-printable
    /// or base64 parts, `SevenBitDowngrade`) before it is signed, so that it reaches servers
    /// without 8BITMIME and no relay has to re-encode (and break) it. Forwards keep their bytes
    /// (re-encoding would break their author's signatures): to a server without 8BITMIME they bounce.
    static func outgoingForm(_ job: OutboundJob) -> [UInt8] {
        guard job.isSubmission, SevenBitDowngrade.needsDowngrade(job.message), let seven = SevenBitDowngrade.convert(job.message) else {
            return job.message
        }
        return seven
    }

    func bounce(for job: OutboundJob, failures: [DeliveryStatusNotification.Failure]) -> OutboundJob? {
        guard !job.originalSender.isEmpty else { return nil }
        let messageID = "<\(UUID().uuidString.lowercased())@\(settings.hostname)>"
        let dsn = DeliveryStatusNotification.bounce(original: job.message, envelopeSender: job.originalSender, failures: failures,
                                                    reportingMTA: settings.hostname, arrivalDate: job.created, messageID: messageID)
        return OutboundJob(kind: .smtp, sender: "", originalSender: "", recipients: [job.originalSender],
                           context: ["queueID": "bounce-\(job.context["queueID"] ?? "\(job.id)")"], message: dsn)
    }

    // MARK: - Webhooks

    func post(_ job: OutboundJob, http: HTTPClient) async throws {
        guard let url = job.target else { try await queue.finish(jobID: job.id, replacement: nil); return }
        let body = WebhookPayload.json(message: job.message, mailFrom: job.originalSender, recipients: job.recipients,
                                       receivedAt: job.created, remoteIP: job.context["remoteAddress"], helo: job.context["helo"],
                                       includeRaw: settings.webhookIncludeRaw)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Sealbox")
        request.headers.add(name: "X-Sealbox-Signature",
                            value: WebhookSignature.header(body: body, secret: settings.webhookSecret, timestamp: Int(Date().timeIntervalSince1970)))
        // Retries carry the same id: a receiver can drop duplicates (a post may be delivered and
        // its answer lost).
        request.headers.add(name: "X-Sealbox-Delivery", value: "\(job.context["queueID"] ?? "")-\(job.id)")
        request.headers.add(name: "X-Sealbox-Attempt", value: "\(job.attempts + 1)")
        request.body = .bytes(ByteBuffer(bytes: body))
        var problem: String
        var permanent = false
        do {
            let response = try await http.execute(request, timeout: .seconds(Int64(settings.webhookTimeout.components.seconds)))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let code = Int(response.status.code)
            if (200..<300).contains(code) {
                metrics.webhookOK.increment()
                try await queue.finish(jobID: job.id, replacement: nil)
                logger.info("webhook delivered", metadata: ["outbound.id": "\(job.context["queueID"] ?? "")", "outbound.attempts": "\(job.attempts + 1)"])
                return
            }
            problem = "HTTP \(code)"
            permanent = (400..<500).contains(code) && code != 408 && code != 429
        } catch {
            problem = "\(type(of: error)): \(error)"
        }
        metrics.webhookFailed.increment()
        let host = URL(string: url)?.host ?? "?"
        if permanent || expired(job) {
            metrics.webhookDropped.increment()
            logger.error("webhook dropped", metadata: ["outbound.id": "\(job.context["queueID"] ?? "")", "webhook.host": "\(host)",
                                                       "outbound.error": "\(problem)", "outbound.attempts": "\(job.attempts + 1)"])
            try await queue.finish(jobID: job.id, replacement: nil)
            return
        }
        logger.notice("webhook deferred", metadata: ["outbound.id": "\(job.context["queueID"] ?? "")", "webhook.host": "\(host)",
                                                     "outbound.error": "\(problem)"])
        try await queue.reschedule(jobID: job.id, nextAttempt: nextAttempt(job), error: problem, remainingRecipients: nil)
    }
}
