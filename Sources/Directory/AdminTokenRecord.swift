import Crypto
import Foundation

/// An admin API token as stored: its id, label and dates, and the SHA-256 of the secret (never the
/// secret itself: `sealbox admin token create` prints it once).
public struct AdminTokenRecord: Sendable, Hashable {
    /// Short random lower-case hex, shown by `admin token list` and used by `revoke`.
    public var id: String
    public var label: String?
    public var created: Date { didSet { created = DirectoryDate.normalized(created) } }
    public var lastUsed: Date? { didSet { lastUsed = lastUsed.map(DirectoryDate.normalized) } }
    /// SHA-256 of the token's bytes (32 bytes).
    public var hash: [UInt8]

    public init(id: String = DirectoryID.randomPasswordID(), label: String?, created: Date = Date(), lastUsed: Date? = nil, hash: [UInt8]) {
        self.id = id
        self.label = label
        self.created = DirectoryDate.normalized(created)
        self.lastUsed = lastUsed.map(DirectoryDate.normalized)
        self.hash = hash
    }
}

extension AdminTokenRecord: CustomStringConvertible {
    /// Never shows the hash.
    public var description: String { "AdminTokenRecord(id: \(id), label: \(label.map { "\"\($0)\"" } ?? "nil"))" }
}

/// Admin tokens: 32 random bytes, base64url, prefixed `sbx_` so that a leaked one is recognisable.
public enum AdminToken {
    public static let prefix = "sbx_"
    /// At most this many tokens (an admin who needs more has lost track of them).
    public static let maxTokens = 100
    public static let maxLabelLength = 100

    /// A new token's secret and its record (to store); the secret is shown once.
    public static func generate(label: String?, now: Date = Date()) -> (token: String, record: AdminTokenRecord) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let token = prefix + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return (token, AdminTokenRecord(label: label, created: now, hash: hash(token)))
    }

    /// SHA-256 of the token text.
    public static func hash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }

    /// At most one write a minute per token: an API client's every request is not a write.
    public static func shouldRecordUse(_ record: AdminTokenRecord, now: Date) -> Bool {
        record.lastUsed.map { now.timeIntervalSince($0) >= 60 } ?? true
    }

    /// Compares two hashes in time independent of where they differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

