import Foundation

/// The SASL PLAIN mechanism (RFC 4616) as IMAP AUTHENTICATE, POP3 AUTH and SMTP AUTH receive it:
/// one base64 response holding `authzid NUL authcid NUL password`.
public enum SASLPlain {
    public struct Credentials: Sendable, Equatable {
        public let user: String
        public let password: String
    }

    public enum Failure: Error, Sendable, Equatable {
        /// The client sent `*` (RFC 4954 / RFC 5034 / RFC 3501 cancellation).
        case cancelled
        case invalidBase64
        case malformed
        /// An authorization identity other than the authentication identity (no proxy logins).
        case authorizationMismatch
    }

    /// Decodes a response line (surrounding spaces ignored; `=` is the empty response).
    public static func decode(_ response: String) -> Result<Credentials, Failure> {
        let text = response.trimmingCharacters(in: .whitespaces)
        if text == "*" { return .failure(.cancelled) }
        guard let data = Data(base64Encoded: text == "=" ? "" : text) else { return .failure(.invalidBase64) }
        let parts = data.split(separator: 0, omittingEmptySubsequences: false)
        guard parts.count == 3, let authz = String(data: Data(parts[0]), encoding: .utf8),
              let authc = String(data: Data(parts[1]), encoding: .utf8),
              let password = String(data: Data(parts[2]), encoding: .utf8) else { return .failure(.malformed) }
        guard authz.isEmpty || authz.lowercased() == authc.lowercased() else { return .failure(.authorizationMismatch) }
        return .success(Credentials(user: authc, password: password))
    }
}
