import Crypto
import Foundation
import HTTPTypes

/// Signed-in mailbox owners of the web pages and the API: a random session id (32 bytes,
/// base64url) in the `sealbox_session` cookie, mapped to the owner's open login. A session ends
/// after `idleTimeout` without a request, after `absoluteTimeout` whatever happens, at sign-out,
/// or when its password is revoked; at most `maxSessions` live at once (the oldest goes first).
/// The ids are compared by their SHA-256 (a dictionary lookup on a hash: no timing on the secret).
public actor OwnerSessions {
    public struct Policy: Sendable {
        public var idleTimeout: Duration = .seconds(15 * 60)
        public var absoluteTimeout: Duration = .seconds(8 * 3600)
        public var maxSessions = 10_000
        public init() {}
    }

    public static let cookieName = "sealbox_session"

    struct Entry {
        let login: OwnerLogin
        let created: ContinuousClock.Instant
        var lastUsed: ContinuousClock.Instant
    }

    public let policy: Policy
    private var entries: [Data: Entry] = [:]
    private let now: @Sendable () -> ContinuousClock.Instant
    /// Called with every login that ends here (expiry, sign-out, eviction): closes its mailbox.
    private let onEnd: @Sendable (OwnerLogin) async -> Void

    public init(policy: Policy = .init(), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
                onEnd: @escaping @Sendable (OwnerLogin) async -> Void = { _ in }) {
        self.policy = policy
        self.now = now
        self.onEnd = onEnd
    }

    /// A new session for `login`; returns its id (the cookie value).
    public func create(_ login: OwnerLogin) async -> String {
        await expire()
        var evicted: [OwnerLogin] = []
        while entries.count >= policy.maxSessions, let oldest = entries.min(by: { $0.value.created < $1.value.created }) {
            entries[oldest.key] = nil
            evicted.append(oldest.value.login)
        }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let id = Self.base64url(bytes)
        let t = now()
        entries[Self.key(id)] = Entry(login: login, created: t, lastUsed: t)
        for login in evicted { await onEnd(login) }
        return id
    }

    /// The login of a live session (and it counts as used now); nil when unknown or expired.
    public func login(for id: String) async -> OwnerLogin? {
        guard id.utf8.count <= 128 else { return nil }
        let key = Self.key(id)
        guard var entry = entries[key] else { return nil }
        let t = now()
        if t - entry.lastUsed > policy.idleTimeout || t - entry.created > policy.absoluteTimeout {
            entries[key] = nil
            await onEnd(entry.login)
            return nil
        }
        entry.lastUsed = t
        entries[key] = entry
        return entry.login
    }

    /// Ends a session (sign-out); false when it did not exist.
    @discardableResult
    public func end(_ id: String) async -> Bool {
        guard let entry = entries.removeValue(forKey: Self.key(id)) else { return false }
        await onEnd(entry.login)
        return true
    }

    /// Ends every session of `address` logged in with `passwordID` (its password was revoked).
    public func end(address: String, passwordID: String) async {
        let gone = entries.filter { $0.value.login.address == address && $0.value.login.passwordID == passwordID }
        for (key, entry) in gone {
            entries[key] = nil
            await onEnd(entry.login)
        }
    }

    /// Drops expired sessions.
    public func expire() async {
        let t = now()
        let gone = entries.filter { t - $0.value.lastUsed > policy.idleTimeout || t - $0.value.created > policy.absoluteTimeout }
        for (key, entry) in gone {
            entries[key] = nil
            await onEnd(entry.login)
        }
    }

    /// Ends every session (shutdown).
    public func endAll() async {
        let all = entries.values
        entries = [:]
        for entry in all { await onEnd(entry.login) }
    }

    public var count: Int { entries.count }

    /// The `Set-Cookie` value of a new session.
    public nonisolated func cookie(for id: String, secure: Bool) -> String {
        let maxAge = Int(policy.absoluteTimeout.components.seconds)
        return "\(Self.cookieName)=\(id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)" + (secure ? "; Secure" : "")
    }

    /// The `Set-Cookie` value that removes the cookie.
    public nonisolated func clearingCookie(secure: Bool) -> String {
        "\(Self.cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + (secure ? "; Secure" : "")
    }

    /// The session id in a request's `Cookie` fields, if any.
    public nonisolated static func sessionID(in fields: HTTPFields) -> String? {
        for header in fields[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == cookieName else { continue }
                let value = parts[1].trimmingCharacters(in: .whitespaces)
                if !value.isEmpty { return value }
            }
        }
        return nil
    }

    static func key(_ id: String) -> Data { Data(SHA256.hash(data: Array(id.utf8))) }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
