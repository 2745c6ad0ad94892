import Foundation
import MailNet
import ManageSieveCore

/// AUTHENTICATE (RFC 5804 §2.1) with PLAIN (RFC 4616) and LOGIN: an initial response as a quoted
/// string or a literal, or a challenge (`""`, `"VXNlcm5hbWU6"`) answered by a string; `"*"`
/// cancels. Passwords only over TLS unless insecure logins are allowed.
extension ManageSieveSession {
    static let usernameChallenge = Array("VXNlcm5hbWU6".utf8)  // "Username:"
    static let passwordChallenge = Array("UGFzc3dvcmQ6".utf8)  // "Password:"

    func authenticate(mechanism: String, initialResponse: [UInt8]?) async throws {
        guard !insecureAuthBlocked else {
            reply(.no, .encryptNeeded, "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.")
            return
        }
        switch mechanism {
        case "PLAIN":
            if let initialResponse {
                try await finishPlain(initialResponse)
            } else {
                ManageSieveResponse.challenge([], into: &out)
                sasl = .plain
            }
        case "LOGIN":
            if let initialResponse {
                guard let user = Self.base64Text(initialResponse) else { reply(.no, nil, "Invalid base64 in the SASL response."); return }
                ManageSieveResponse.challenge(Self.passwordChallenge, into: &out)
                sasl = .loginPassword(user: user)
            } else {
                ManageSieveResponse.challenge(Self.usernameChallenge, into: &out)
                sasl = .loginUser
            }
        default:
            reply(.no, nil, "Unsupported authentication mechanism.")
        }
    }

    /// The client's answer to a challenge.
    func continueSASL(_ step: SASLStep, response bytes: [UInt8]) async throws {
        let response: [UInt8]
        switch ManageSieveParser.parseSASLResponse(bytes) {
        case .success(nil):
            reply(.no, nil, "Authentication aborted by client.")
            return
        case .success(let r?):
            response = r
        case .failure(let error):
            reply(.no, nil, error.description)
            return
        }
        switch step {
        case .plain:
            try await finishPlain(response)
        case .loginUser:
            guard let user = Self.base64Text(response) else { reply(.no, nil, "Invalid base64 in the SASL response."); return }
            ManageSieveResponse.challenge(Self.passwordChallenge, into: &out)
            sasl = .loginPassword(user: user)
        case .loginPassword(let user):
            guard let password = Self.base64Text(response) else { reply(.no, nil, "Invalid base64 in the SASL response."); return }
            try await checkPassword(user: user, password: password)
        }
    }

    func finishPlain(_ response: [UInt8]) async throws {
        switch SASLPlain.decode(String(decoding: response, as: UTF8.self)) {
        case .success(let credentials): try await checkPassword(user: credentials.user, password: credentials.password)
        case .failure(.cancelled): reply(.no, nil, "Authentication aborted by client.")
        case .failure(.invalidBase64): reply(.no, nil, "Invalid base64 in the SASL response.")
        case .failure(.malformed): reply(.no, nil, "Malformed PLAIN response.")
        case .failure(.authorizationMismatch): reply(.no, nil, "Authorization identity must match the authentication identity.")
        }
    }

    static func base64Text(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard let data = Data(base64Encoded: text) else { return nil }
        return String(data: data, encoding: .utf8)
    }

    /// Checks the password with the node's authenticator. The mailbox it unlocks is closed at
    /// once: scripts need only who the login is, and the password's id (its revocation is checked
    /// at each command against the directory).
    func checkPassword(user: String, password: String) async throws {
        try await flush()  // the replies before this one do not wait for the throttle's delay
        switch await context.authenticator.authenticate(user: user, password: password, remoteIP: context.remoteIP,
                                                         audit: AuthAudit(protocolName: "managesieve", logger: context.logger)) {
        case .authenticated(let login):
            let who = SieveAccount(address: login.session.address.description, mailboxID: login.session.mailboxID,
                                   passwordID: login.session.passwordID)
            await login.end()
            account = who
            context.meter.account = who.address  // for the session's summary line
            state = .authenticated
            framer.authenticated = true
            context.logger[metadataKey: "managesieve.mailbox"] = "\(who.mailboxID)"
            reply(.ok, nil, "Logged in.")
        case .throttled(let wait):
            reply(.no, .tryLater, "Too many failed logins; try again in \(max(1, Int(wait.components.seconds))) seconds.")
        case .failed:
            reply(.no, nil, "Authentication failed.")
        case .tooManySessions:
            reply(.no, .tryLater, "Too many sessions for this mailbox; try again later.")
        case .unavailable(let error):
            context.logger.error("unlock failed", metadata: ["managesieve.error": "\(type(of: error))"])
            reply(.no, .tryLater, "Temporary authentication failure; try again later.")
        }
    }
}
