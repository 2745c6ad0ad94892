import Foundation
@testable import Sieve

/// `test_result_execute`: carries out the result against the in-memory store and SMTP queue.
extension PigeonholeHarness {
    func execute(_ run: SieveInterpreter) -> Bool {
        errors = []
        let result = run.currentResult
        let message = run.currentMessageBytes
        let ctx = run.runContext
        var ok = true
        for a in result.actions {
            switch a {
            case .keep(let flags):
                folders["INBOX", default: []].append((message, flags))
            case .fileinto(let f):
                if !mailboxes.contains(f.mailbox) && f.mailbox != "INBOX" {
                    if f.create {
                        mailboxes.insert(f.mailbox)
                        run.setMailboxExists(existence)
                    } else {
                        errors.append("failed to store into mailbox '\(f.mailbox)': Mailbox doesn't exist: \(f.mailbox)")
                        ok = false
                        continue
                    }
                }
                folders[f.mailbox, default: []].append((message, f.flags))
            case .redirect(let address, _):
                smtp.append(OutgoingMail(from: ctx.envelope.from, to: address, message: message))
            case .reject(let reason, _):
                guard !ctx.envelope.from.isEmpty else { continue }
                smtp.append(OutgoingMail(from: "", to: ctx.envelope.from, message: rejectMessage(reason, ctx: ctx, original: message)))
            case .vacation(let v):
                if let reply = vacationReply(v, ctx: ctx, original: message) {
                    smtp.append(OutgoingMail(from: "", to: ctx.envelope.from, message: reply))
                }
            case .discard:
                break
            }
        }
        return ok
    }

    private func header(_ lines: [String], body: String) -> [UInt8] {
        Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
    }

    func rejectMessage(_ reason: String, ctx: SieveRunContext, original: [UInt8]) -> [UInt8] {
        let orig = SieveMessage(original)
        return header([
            "From: Postmaster <postmaster@example.com>",
            "To: <\(ctx.envelope.from)>",
            "Subject: Rejected: \(orig.values("subject").first ?? "")",
            "Auto-Submitted: auto-replied (rejected)",
            "MIME-Version: 1.0",
            "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"frop\"",
        ], body: "--frop\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\(reason)\r\n--frop--\r\n")
    }

    /// A test-only vacation reply (RFC 5230 §4, §5): the MX's own composition is SieveVacationResponder's.
    func vacationReply(_ v: SieveVacation, ctx: SieveRunContext, original: [UInt8]) -> [UInt8]? {
        let sender = ctx.envelope.from
        guard !sender.isEmpty else { return nil }
        let orig = SieveMessage(original)
        let lowerSender = sender.lowercased()
        if lowerSender.hasPrefix("mailer-daemon@") || lowerSender.hasPrefix("owner-") || lowerSender.contains("-request@") { return nil }
        if let auto = orig.values("auto-submitted").first, auto.lowercased() != "no" { return nil }
        if let prec = orig.values("precedence").first, ["bulk", "list", "junk"].contains(prec.lowercased()) { return nil }
        if orig.exists("list-id") { return nil }
        // the user must be a recipient
        var mine = [ctx.envelope.to.lowercased()]
        mine += v.addresses.map { Self.path($0).lowercased() }
        var recipients = [String]()
        for h in ["to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"] {
            for raw in orig.rawValues(h) {
                recipients += String(decoding: raw, as: UTF8.self).split(separator: ",").compactMap { MailAddressLite.first(Array($0.utf8))?.lowercased() }
            }
        }
        guard recipients.contains(where: { mine.contains($0) }) else { return nil }
        let subject = v.subject ?? "Auto: " + (orig.values("subject").first ?? "")
        var lines = ["From: " + (v.from ?? "<\(ctx.envelope.to)>"), "To: <\(sender)>", "Subject: \(subject)",
                     "Auto-Submitted: auto-replied (vacation)", "Precedence: bulk"]
        if let id = orig.values("message-id").first {
            lines.append("In-Reply-To: \(id)")
            lines.append("References: \(id)")
        }
        if v.mime { return header(lines, body: v.reason) }
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: text/plain; charset=utf-8")
        return header(lines, body: v.reason)
    }
}
