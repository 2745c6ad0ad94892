import Foundation

/// A PostgreSQL connection URL as `directory.url` takes it:
/// `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=MODE&sslrootcert=PATH&connect_timeout=S`
/// (`postgresql://` too). The password is percent-decoded and never shown: `description` is the
/// redacted form, the one to log or put in an error.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, without checking its certificate (libpq's default).
        case prefer
        /// TLS, the certificate not checked (libpq's `require`).
        case require
        /// TLS, the certificate checked against the trusted roots (`sslrootcert` or the system's), not the name.
        case verifyCA = "verify-ca"
        /// TLS, the certificate and the host name checked.
        case verifyFull = "verify-full"
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public static let maxLength = 2048

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// A PEM file of trusted roots for `verify-ca` / `verify-full`.
    public var sslRootCertificate: String?
    /// Seconds to wait for a connection (default 10).
    public var connectTimeout: Int

    /// Parses `text`; a failure never repeats the URL (it may hold a password).
    public init(_ text: String) throws {
        guard text.utf8.count <= Self.maxLength else { throw Failure(description: "the PostgreSQL URL is longer than \(Self.maxLength) characters") }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "postgres" || scheme == "postgresql" else {
            throw Failure(description: "a PostgreSQL URL looks like postgres://user:password@host:5432/database?sslmode=require")
        }
        guard let host = components.host, !host.isEmpty else { throw Failure(description: "the PostgreSQL URL has no host") }
        guard let user = components.user.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw Failure(description: "the PostgreSQL URL has no user name (postgres://user:password@host/database)")
        }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw Failure(description: "the PostgreSQL URL's port is out of range") }
        self.user = user
        password = components.password.flatMap { $0.removingPercentEncoding ?? $0 }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? user : (path.removingPercentEncoding ?? path)
        guard !database.contains("/") else { throw Failure(description: "the PostgreSQL URL's path is one database name") }
        sslMode = .prefer
        sslRootCertificate = nil
        connectTimeout = 10
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw Failure(description: "sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert":
                sslRootCertificate = value
            case "connect_timeout":
                guard let seconds = Int(value), (1...600).contains(seconds) else {
                    throw Failure(description: "connect_timeout is 1 to 600 seconds")
                }
                connectTimeout = seconds
            case "application_name": break
            default:
                let name = String(item.name.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(40).map(Character.init))
                throw Failure(description: "unknown PostgreSQL URL parameter \(name) (known: sslmode, sslrootcert, connect_timeout)")
            }
        }
    }

    /// The URL with the password replaced by `***`.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)\(password == nil ? "" : ":***")@\(hostPart):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    /// `text` with any password in it replaced by `***`, for a URL that did not parse.
    public static func redact(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let schemeEnd = text.range(of: "://") else { return text }
        let userInfo = text[schemeEnd.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
