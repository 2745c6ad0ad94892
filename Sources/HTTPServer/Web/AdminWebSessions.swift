import Crypto
import Foundation

/// Administrators signed in to the web pages: a random id (32 bytes, base64url) in the
/// `sealbox_admin` cookie, mapped to the admin token they signed in with. The token is checked
/// again on every request (a revoked token ends its sessions at once) and lives only in memory.
/// A session ends after `idleTimeout` without a request, after `absoluteTimeout`, or at sign-out;
/// at most `maxSessions` live at once (the oldest goes first). Ids are looked up by their SHA-256.
public actor AdminWebSessions {
    public static let cookieName = "sealbox_admin"
    public let idleTimeout: Duration = .seconds(15 * 60)
    public let absoluteTimeout: Duration = .seconds(4 * 3600)
    public let maxSessions = 1000

    struct Entry {
        let token: String
        let created: ContinuousClock.Instant
        var lastUsed: ContinuousClock.Instant
    }

    private var entries: [Data: Entry] = [:]

    public init() {}

    /// A new session for `token`; returns its id (the cookie value).
    public func create(token: String) -> String {
        expire()
        while entries.count >= maxSessions, let oldest = entries.min(by: { $0.value.created < $1.value.created }) {
            entries[oldest.key] = nil
        }
        let id = WebCSRF.randomID()
        let now = ContinuousClock.now
        entries[Self.key(id)] = Entry(token: token, created: now, lastUsed: now)
        return id
    }

    /// The token of a live session (now counted as used); nil when unknown or expired.
    public func token(for id: String) -> String? {
        guard id.utf8.count <= 128 else { return nil }
        let key = Self.key(id)
        guard var entry = entries[key] else { return nil }
        let now = ContinuousClock.now
        if now - entry.lastUsed > idleTimeout || now - entry.created > absoluteTimeout {
            entries[key] = nil
            return nil
        }
        entry.lastUsed = now
        entries[key] = entry
        return entry.token
    }

    public func end(_ id: String) {
        entries[Self.key(id)] = nil
    }

    func expire() {
        let now = ContinuousClock.now
        entries = entries.filter { now - $0.value.lastUsed <= idleTimeout && now - $0.value.created <= absoluteTimeout }
    }

    static func key(_ id: String) -> Data { Data(SHA256.hash(data: Array(id.utf8))) }
}
