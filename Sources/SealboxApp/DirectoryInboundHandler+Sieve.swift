import Directory
import Foundation
import MailboxAPI
import MailCore
import MailStore
import MIMEParser
import Outbound
import Sieve
import SMTPCore
import SMTPServer

/// What the MX needs to run the recipients' Sieve scripts: where the scripts come from, the key
/// of the memories (vacation, `duplicate`), the node's host name (replies' Message-IDs, DSNs,
/// the `host` environment item) and the clock.
public struct SieveDelivery: Sendable {
    public var filtering: any SieveFiltering
    public var hasher: SieveMemoryHasher
    public var hostname: String
    public var limits: SieveLimits
    public var now: @Sendable () -> Date

    public init(filtering: any SieveFiltering, hasher: SieveMemoryHasher, hostname: String, limits: SieveLimits = .default,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.filtering = filtering; self.hasher = hasher; self.hostname = hostname; self.limits = limits; self.now = now
    }

    /// RFC 5183 `version`: Sealbox has no release numbers yet.
    public static let version = "1"
    /// The header field a kept copy carries when the script failed for it (`withSieveErrorField`).
    public static let errorField = "X-Sealbox-Sieve-Error"
    /// `spamtest` (RFC 5235 0…10) / `spamtestplus` (0…100) for a message the MX's checks passed
    /// or did not judge (`1`: tested, not spam) and for one DMARC sent to Junk (`p=quarantine`).
    public static let cleanScore = (score: 1, percent: 0)
    public static let junkScore = (score: 9, percent: 90)
    /// Longest `reject` reason put in an SMTP reply or a DSN line.
    static let maxReasonLength = 200
}

/// The recipients' scripts' decisions, from `filter` to `commit` (`InboundTransaction.filterPlan`).
struct SievePlan: Sendable {
    /// Recipient index → where its copies go (empty: no copy). Absent: the default copy.
    var copies: [Int: [InboundDelivery]] = [:]
    /// Recipient index → the message its copies store (header edited by the script).
    var edited: [Int: [UInt8]] = [:]
    /// Redirects, vacation replies, rejection notices.
    var jobs: [OutboundJob] = []
    /// Recorded once the commit succeeded.
    var duplicateMarks: [(aliasID: String, entries: [SieveMemoryEntry])] = []
    /// Vacation replies claimed in the memory before the commit: taken back if it fails.
    var claims: [(aliasID: String, digest: [UInt8])] = []
    var errors: [(aliasID: String, record: SieveRunErrorRecord)] = []
}

extension DirectoryInboundHandler {
    /// Runs the active script of every storing recipient (see `SMTPInboundHandler.filter`).
    public func filter(_ transaction: inout InboundTransaction) async -> SMTPReply? {
        guard let sieve else { return nil }
        let now = sieve.now()
        var plan = SievePlan()
        var runs: [(index: Int, recipient: InboundRecipient, script: String, result: SieveResult)] = []
        for (index, recipient) in transaction.recipients.enumerated() where recipient.mailboxID != nil && !recipient.aliasID.isEmpty {
            let script: SieveFilterScript
            do {
                guard let active = try await sieve.filtering.activeScript(aliasID: recipient.aliasID) else { continue }
                script = active
            } catch let failure as SieveFilterFailure {
                plan.errors.append((recipient.aliasID, SieveRunErrorRecord(at: now, script: failure.script, message: failure.message)))
                // Kept as without a script, with the reason where the owner sees it (their own sealed copy).
                plan.copies[index] = [transaction.fileAsJunk ? .junk : .inbox]
                plan.edited[index] = Self.withSieveErrorField(script: failure.script, problem: failure.message, message: transaction.message)
                continue
            } catch {
                continue  // the directory could not be read: the message is kept as if there were no script
            }
            var seen: Set<[UInt8]> = []
            if script.usesDuplicate {
                seen = (try? await directory.sieveMemories(aliasID: recipient.aliasID, kind: .duplicate, now: now)) ?? []
            }
            let context = runContext(transaction, recipient: recipient, now: now, seen: seen, sieve: sieve)
            runs.append((index, recipient, script.name, script.run(context)))
        }
        guard !runs.isEmpty || !plan.errors.isEmpty else { return nil }
        // A lone recipient's reject is the SMTP reply, and nothing is committed (RFC 5429 §2.1).
        if transaction.recipients.count == 1, let run = runs.first,
           let reason = run.result.actions.lazy.compactMap({ if case .reject(let r, _) = $0 { r } else { nil } }).first {
            let errors = plan.errors + run.result.errors.map { (run.recipient.aliasID, SieveRunErrorRecord(at: now, script: run.script, message: $0.description)) }
            await record(errors)
            return SMTPReply(550, "5.7.1", Self.replyText(reason))
        }
        for run in runs {
            await apply(run.result, index: run.index, recipient: run.recipient, script: run.script, transaction: transaction,
                        now: now, sieve: sieve, plan: &plan)
        }
        transaction.filterPlan = plan
        return nil
    }

    func runContext(_ t: InboundTransaction, recipient: InboundRecipient, now: Date, seen: Set<[UInt8]>, sieve: SieveDelivery) -> SieveRunContext {
        let domain = recipient.aliasAddress.split(separator: "@").last.map(String.init) ?? ""
        var environment = ["domain": domain, "host": sieve.hostname, "location": "MTA", "name": "Sealbox", "phase": "during",
                           "remote-ip": t.remoteIP, "version": SieveDelivery.version]
        if let name = t.clientName { environment["remote-host"] = name }
        let checked = t.forwardContext["auth.results"] != nil
        let score = t.fileAsJunk ? SieveDelivery.junkScore : SieveDelivery.cleanScore
        let hasher = sieve.hasher, aliasID = recipient.aliasID
        // Every mailbox has the default folders; the others are inside the locked mailbox.
        let folders = Set(MailboxDatabase.defaultFolders.map { $0.path.lowercased() })
        let uses = Set(MailboxDatabase.defaultFolders.compactMap { $0.use?.rawValue.lowercased() })
        return SieveRunContext(
            message: t.message, envelope: SieveEnvelope(from: t.mailFrom, to: recipient.rcpt), now: now, timeZone: .current,
            environment: environment,
            mailboxExists: { folders.contains($0.lowercased()) },
            specialUseExists: { uses.contains($0.lowercased()) },
            duplicateSeen: { key in seen.contains(hasher.digest(aliasID: aliasID, kind: .duplicate, key: key)) },
            spamScore: checked ? score.score : nil, spamPercent: checked ? score.percent : nil, virusScore: nil,
            limits: sieve.limits)
    }

    /// Turns one recipient's result into copies, jobs and memories.
    func apply(_ result: SieveResult, index: Int, recipient: InboundRecipient, script: String, transaction t: InboundTransaction,
               now: Date, sieve: SieveDelivery, plan: inout SievePlan) async {
        let aliasID = recipient.aliasID
        let domain = recipient.aliasAddress.split(separator: "@").last.map { String($0).lowercased() } ?? ""
        var problems: [String] = []
        func note(_ text: String) {
            problems.append(text)
            plan.errors.append((aliasID, SieveRunErrorRecord(at: now, script: script, message: text)))
        }
        for error in result.errors { note(error.description) }
        let message = result.editedMessage ?? t.message
        var copies: [InboundDelivery] = []
        var redirects = 0
        var marked: [UInt8]?  // the redirected message, made once and shared by every redirect (copy on write)
        let base = ["remoteAddress": t.remoteIP, "helo": t.helo, "queueID": t.queueID]
        for action in result.actions {
            switch action {
            case .keep(let flags):
                let junk = result.implicitKeep && t.fileAsJunk
                copies.append(InboundDelivery(specialUse: junk ? .junk : nil, flags: flags))
            case .fileinto(let f):
                let use = f.specialUse.flatMap { SpecialUse(rawValue: $0) }
                copies.append(InboundDelivery(specialUse: use, folder: f.mailbox, flags: f.flags, create: f.create, aliasID: aliasID, script: script))
            case .discard:
                break
            case .redirect(let address, _):
                guard redirects < sieve.limits.maxRedirects else { note("redirect: more than \(sieve.limits.maxRedirects) redirects; \(address) skipped"); continue }
                if Self.wasDeliveredTo(recipient.aliasAddress, message: t.message) {
                    note("redirect: the message already passed through \(recipient.aliasAddress) (a redirect loop); kept instead")
                    copies.append(InboundDelivery(specialUse: t.fileAsJunk ? .junk : nil))
                    continue
                }
                redirects += 1
                var context = base.merging(t.forwardContext) { own, _ in own }
                context["signingDomain"] = domain
                if marked == nil { marked = Array("Delivered-To: \(recipient.aliasAddress)\r\n".utf8) + message }
                plan.jobs.append(OutboundJob(kind: .smtp, sender: rewriteSender(t.mailFrom), originalSender: t.mailFrom, recipients: [address],
                                             context: context, message: marked ?? message, created: t.receivedAt))
            case .reject(let reason, _):
                // Several recipients: accepted, and the refusal goes back as a DSN (never to <>).
                guard !t.mailFrom.isEmpty else { continue }
                let text = Self.replyText(reason)
                let dsn = DeliveryStatusNotification.bounce(
                    original: t.message, envelopeSender: t.mailFrom,
                    failures: [.init(recipient: recipient.rcpt, status: "5.7.1", diagnostic: "550 5.7.1 " + text)],
                    reportingMTA: sieve.hostname, arrivalDate: t.receivedAt, now: now,
                    messageID: "\(t.queueID).\(index).reject@\(sieve.hostname)")
                plan.jobs.append(OutboundJob(kind: .smtp, sender: "", originalSender: "", recipients: [t.mailFrom],
                                             context: base, message: dsn, created: t.receivedAt))
            case .vacation(let vacation):
                if t.fileAsJunk { continue }  // no answers to mail DMARC sent to Junk: that would be backscatter
                let decision = SieveVacationResponder.decide(vacation, message: t.message, envelope: SieveEnvelope(from: t.mailFrom, to: recipient.rcpt),
                                                             userAddresses: [recipient.aliasAddress], now: now, hostname: sieve.hostname)
                guard case .send(let reply) = decision else { continue }
                let digest = sieve.hasher.digest(aliasID: aliasID, kind: .vacation, key: reply.memoryKey)
                let entry = SieveMemoryEntry(digest: digest, expires: now.addingTimeInterval(Double(max(reply.periodSeconds, 1))))
                guard (try? await directory.claimSieveMemory(aliasID: aliasID, kind: .vacation, entry: entry, now: now)) == true else { continue }
                plan.claims.append((aliasID, digest))
                var context = base
                context["signingDomain"] = domain
                plan.jobs.append(OutboundJob(kind: .smtp, sender: reply.returnPath, originalSender: reply.returnPath, recipients: [reply.to],
                                             context: context, message: reply.message, created: now))
            }
        }
        plan.copies[index] = copies
        if let problem = problems.first, !copies.isEmpty {
            plan.edited[index] = Self.withSieveErrorField(script: script, problem: problem, message: message)
        } else if result.editedMessage != nil, !copies.isEmpty {
            plan.edited[index] = message
        }
        if !result.duplicateMarks.isEmpty {
            plan.duplicateMarks.append((aliasID, result.duplicateMarks.map { mark in
                SieveMemoryEntry(digest: sieve.hasher.digest(aliasID: aliasID, kind: .duplicate, key: mark.key),
                                 expires: now.addingTimeInterval(Double(max(mark.seconds, 1))))
            }))
        }
    }

    /// For a filtered transaction that will not be committed after all (a limit refused it): the
    /// vacation claims are taken back and the run errors recorded.
    public func abandon(_ transaction: InboundTransaction) async {
        if let plan = transaction.filterPlan as? SievePlan { await finish(plan, committed: false) }
    }

    /// After the commit: the memories that depend on it, and the run errors (or, when it failed,
    /// the vacation claims taken back).
    func finish(_ plan: SievePlan, committed: Bool) async {
        let now = sieve?.now() ?? Date()
        if committed {
            for marks in plan.duplicateMarks {
                try? await directory.rememberSieve(aliasID: marks.aliasID, kind: .duplicate, entries: marks.entries, now: now)
            }
        } else {
            for claim in plan.claims { try? await directory.forgetSieveMemory(aliasID: claim.aliasID, kind: .vacation, digest: claim.digest) }
        }
        await record(plan.errors)
    }

    func record(_ errors: [(aliasID: String, record: SieveRunErrorRecord)]) async {
        for error in errors { try? await directory.recordSieveRunError(aliasID: error.aliasID, error.record) }
    }

    /// The message with `X-Sealbox-Sieve-Error` on top: why the owner's script did not do what it
    /// says (a run-time error, a skipped redirect), in the copy only they can read, so that a mail
    /// client shows it (the same text `sealbox sieve log` lists). One line, at most 300 characters.
    static func withSieveErrorField(script: String, problem: String, message: [UInt8]) -> [UInt8] {
        let text = "script \"\(script)\": \(problem)".unicodeScalars
            .map { $0.value < 0x20 || $0.value == 0x7F ? " " : String($0) }.joined()
        return Array("\(SieveDelivery.errorField): \(String(text.prefix(300)))\r\n".utf8) + message
    }

    /// Whether the message carries `Delivered-To: <address>` (ours, from an earlier redirect).
    static func wasDeliveredTo(_ address: String, message: [UInt8]) -> Bool {
        let parsed = MIMEMessage.parse(message)
        return parsed.headerValues("delivered-to").contains { value in
            String(decoding: value, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: " \t<>")).lowercased() == address.lowercased()
        }
    }

    /// A `reject` reason as SMTP reply text: one line of printable ASCII, bounded.
    static func replyText(_ reason: String) -> String {
        let flat = String(String.UnicodeScalarView(reason.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? $0 : " " }))
            .split(separator: " ").joined(separator: " ")
        let text = String(flat.prefix(SieveDelivery.maxReasonLength))
        return text.isEmpty ? "Message rejected by the recipient's filter" : text
    }
}
