import Foundation
@testable import Sieve

/// `test_result_execute`: carries out the result against the in-memory store and SMTP queue.
extension PigeonholeHarness {
    func execute(_ run: SieveInterpreter) -> Bool {
        errors = []
        let result = run.currentResult
        let ctx = run.runContext
        var ok = true
        for (index, a) in result.actions.enumerated() {
            let message = run.messageForAction(index)
            switch a {
            case .keep(let flags):
                folders["INBOX", default: []].append((message, flags))
            case .fileinto(let f):
                let segments = f.mailbox.split(separator: "/", omittingEmptySubsequences: false)
                if segments.contains(where: \.isEmpty) {
                    errors.append("failed to store into mailbox '\(f.mailbox)': Invalid mailbox name: empty hierarchy level")
                    ok = false
                    continue
                }
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
        if !ok {
            // a failed action: the original message is kept, without the edits (Pigeonhole's failsafe keep)
            folders["INBOX", default: []].append((run.runContext.message, []))
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
        if let suppress = orig.values("x-auto-response-suppress").first?.lowercased(),
           suppress.split(whereSeparator: { $0 == "," || $0 == " " }).contains(where: { $0 == "all" || $0 == "oof" }) { return nil }
        // the user must be a recipient
        var mine = [ctx.envelope.to.lowercased()]
        mine += v.addresses.map { (SieveAddressCheck.normalize($0) ?? $0).lowercased() }
        if let user = config["sieve_user_email"] { mine.append(user.lowercased()) }
        if config["sieve_vacation_use_original_recipient"] == "yes", let o = originalRecipient { mine.append(o.lowercased()) }
        // never answer oneself (RFC 5230 §4.5)
        if mine.contains(lowerSender) { return nil }
        var recipients = [String]()
        for h in ["to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"] {
            for raw in orig.rawValues(h) {
                recipients += String(decoding: raw, as: UTF8.self).split(separator: ",").compactMap { MailAddressLite.first(Array($0.utf8))?.lowercased() }
            }
        }
        if config["sieve_vacation_dont_check_recipient"] != "yes" {
            guard recipients.contains(where: { mine.contains($0) }) else { return nil }
        }
        var subject: String
        if let s = v.subject {
            subject = s
        } else if let s = orig.values("subject").first {
            let template = config["sieve_vacation_default_subject_template"].flatMap { $0.isEmpty ? nil : $0 } ?? "Auto: %$"
            subject = template.replacingOccurrences(of: "%$", with: s)
        } else {
            subject = config["sieve_vacation_default_subject"].flatMap { $0.isEmpty ? nil : $0 } ?? "Automated reply"
        }
        let maxCodepoints = config["sieve_vacation_max_subject_codepoints"].flatMap { Int($0) } ?? 256
        if subject.unicodeScalars.count > maxCodepoints {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: subject.unicodeScalars.prefix(maxCodepoints))
            subject = String(v) + "\u{2026}"
        }
        let me = recipients.first { mine.contains($0) } ?? config["sieve_user_email"] ?? ctx.envelope.to
        // reply to the header field that names the envelope sender, as written
        var to = "<\(sender)>"
        for h in ["reply-to", "sender", "from"] {
            if let raw = orig.rawValues(h).first, MailAddressLite.first(raw)?.lowercased() == lowerSender {
                to = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                break
            }
        }
        var lines = ["From: " + (v.from ?? "<\(me)>"), "To: \(to)", "Subject: \(SieveMessageEncoding.header(subject))",
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

/// RFC 2047 encoding of a header value for the harness' replies (non-ASCII as UTF-8 base64 words).
enum SieveMessageEncoding {
    static func header(_ s: String) -> String {
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return s }
        return "=?UTF-8?B?" + Data(s.utf8).base64EncodedString() + "?="
    }
}
