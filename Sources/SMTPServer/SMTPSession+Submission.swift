import Foundation
import Logging
import MailNet
import SMTPCore

/// AUTH (RFC 4954) on the submission ports: PLAIN (RFC 4616) and LOGIN, each with an initial
/// response (SASL-IR) or over 334 challenges, checked by the node's one `SessionAuthenticator`
/// (the failed-login throttle IMAP and POP3 use, the same audit lines).
extension SMTPSession {
    enum SASLExchange {
        case plain
        case loginUser
        case loginPassword(user: String)
    }

    /// AUTH is offered (and accepted) on a submission session over TLS, or in clear when allowed.
    var authOffered: Bool {
        guard let submission else { return false }
        return isTLS || submission.allowInsecureAuth
    }

    func copiesHeld(for recipients: [InboundRecipient]) -> Int {
        submission?.handler.copiesHeld(for: recipients) ?? handler.copiesHeld(for: recipients)
    }

    func auth(_ argument: String) async throws {
        guard helo != nil, esmtp else { reply(503, "5.5.1", "Send EHLO first"); idle(); return }
        guard submitter == nil else { reply(503, "5.5.1", "Already authenticated"); idle(); return }
        guard transaction == nil else { reply(503, "5.5.1", "AUTH is not allowed during a mail transaction"); idle(); return }
        guard authOffered else {
            // RFC 4954 §6: 538 5.7.11, encryption required for the mechanism.
            reply(538, "5.7.11", "Encryption required: issue STARTTLS first"); idle(); return
        }
        let words = argument.split(separator: " ", omittingEmptySubsequences: true)
        guard let first = words.first, words.count <= 2 else { reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]"); idle(); return }
        let initial = words.count == 2 ? String(words[1]) : nil
        switch first.uppercased() {
        case "PLAIN":
            if let initial { try await finishPlain(initial) } else { sasl = .plain; reply(334, nil, "") }
        case "LOGIN":
            if let initial {
                guard let user = Self.base64Text(initial) else { reply(501, "5.5.2", "Invalid base64 in the SASL response"); idle(); return }
                sasl = .loginPassword(user: user); reply(334, nil, "UGFzc3dvcmQ6")  // "Password:"
            } else {
                sasl = .loginUser; reply(334, nil, "VXNlcm5hbWU6")  // "Username:"
            }
        default:
            reply(504, "5.5.4", "Unrecognized authentication type (PLAIN and LOGIN are offered)"); idle()
        }
    }

    /// A line answering a 334 challenge.
    func continueSASL(_ line: [UInt8]) async throws {
        guard let exchange = sasl else { return }
        sasl = nil
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        if text == "*" { reply(501, "5.0.0", "Authentication cancelled"); idle(); return }
        switch exchange {
        case .plain:
            try await finishPlain(text)
        case .loginUser:
            guard let user = Self.base64Text(text) else { reply(501, "5.5.2", "Invalid base64 in the SASL response"); idle(); return }
            sasl = .loginPassword(user: user); reply(334, nil, "UGFzc3dvcmQ6")
        case .loginPassword(let user):
            guard let password = Self.base64Text(text) else { reply(501, "5.5.2", "Invalid base64 in the SASL response"); idle(); return }
            try await authenticate(user: user, password: password)
        }
    }

    func finishPlain(_ response: String) async throws {
        switch SASLPlain.decode(response) {
        case .success(let credentials): try await authenticate(user: credentials.user, password: credentials.password)
        case .failure(.cancelled): reply(501, "5.0.0", "Authentication cancelled"); idle()
        case .failure(.invalidBase64): reply(501, "5.5.2", "Invalid base64 in the SASL response"); idle()
        case .failure(.malformed): reply(501, "5.5.2", "Malformed PLAIN response"); idle()
        case .failure(.authorizationMismatch):
            reply(535, "5.7.8", "Authorization identity must match the authentication identity"); idle()
        }
    }

    static func base64Text(_ text: String) -> String? {
        guard let data = Data(base64Encoded: text == "=" ? "" : text) else { return nil }
        return String(data: data, encoding: .utf8)
    }

    /// Checks the password with the node's authenticator. The mailbox it unlocks is closed at once:
    /// sending needs only who the login is, and the password's id (its revocation is checked at
    /// each MAIL against the directory).
    func authenticate(user: String, password: String) async throws {
        guard let submission else { return }
        idle()
        try await flush()  // the replies before this one do not wait for the throttle's delay
        let outcome = await submission.authenticator.authenticate(user: user, password: password, remoteIP: remoteIP,
                                                                   audit: AuthAudit(protocolName: "smtp", logger: logger))
        switch outcome {
        case .authenticated(let login):
            let who = SMTPSubmitter(user: login.session.address.description, mailboxID: login.session.mailboxID, passwordID: login.session.passwordID)
            await login.end()
            submitter = who
            idleCommands = 0
            logger[metadataKey: "smtp.mailbox"] = "\(who.mailboxID)"
            reply(235, "2.7.0", "Authentication successful")
        case .throttled(let wait):
            reply(454, "4.7.0", "Too many failed logins; try again in \(max(1, Int(wait.components.seconds))) seconds")
        case .failed:
            reply(535, "5.7.8", "Authentication credentials invalid")
        case .tooManySessions:
            reply(454, "4.7.0", "Too many sessions for this mailbox; try again later")
        case .unavailable(let error):
            logger.error("unlock failed", metadata: ["smtp.error": "\(type(of: error))"])
            reply(454, "4.7.0", "Temporary authentication failure; try again later")
        }
    }

    /// The submission hop's trace header (RFC 5321 §4.4, `with` per RFC 3848: ESMTPA, ESMTPSA).
    /// It names neither the client's IP address nor its HELO name: they would tell every
    /// recipient where the sender is (home, office, travel). The log keeps the IP with the
    /// queue id (`smtp.client.ip`), for the admin.
    func submissionReceivedHeader(for t: Transaction, queueID: String, at date: Date) -> [UInt8] {
        var with = t.utf8 ? "UTF8SMTPA" : "ESMTPA"
        if isTLS { with = t.utf8 ? "UTF8SMTPSA" : "ESMTPSA" }
        let header = "Received: from authenticated-user (submission)\r\n\tby \(configuration.hostname) (Sealbox) with \(with) id \(queueID); "
            + "\(Self.rfc5322Date(date))\r\n"
        return Array(header.utf8)
    }
}
