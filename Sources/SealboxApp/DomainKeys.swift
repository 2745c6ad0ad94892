import Directory
import Foundation
import Logging
import MailAuth
import MailCore
import Outbound

/// The DKIM keys of the node's domains: made at `domain add`, rotated by `domain dkim rotate`,
/// made at start for a domain that has none (a directory from before DKIM), and handed to the
/// outbound worker when it signs.
///
/// Every domain has one active pair, Ed25519 (RFC 8463) and RSA 2048: receivers that know
/// Ed25519 check it, the others the RSA signature. Selectors name the day the pair was made
/// (`sb20261206e`, `sb20261206r`, then `sb20261206-2e` for a second rotation that day).
public enum DomainKeys {
    /// A new active pair for `domain`, with selectors no existing key of the domain uses.
    public static func newPair(domain: Domain, existing: [DKIMKeyRecord], now: Date = Date()) throws -> [DKIMKeyRecord] {
        let day = dayStamp(now)
        let taken = Set(existing.map(\.selector))
        var base = "sb" + day
        var n = 1
        while taken.contains(base + "e") || taken.contains(base + "r") {
            n += 1
            base = "sb\(day)-\(n)"
        }
        return try [DKIMSigningKey.Algorithm.ed25519, .rsa].map { algorithm in
            let key = try DKIMSigningKey.generate(domain: domain.ascii, selector: base + (algorithm == .ed25519 ? "e" : "r"), algorithm: algorithm)
            return DKIMKeyRecord(domain: domain, selector: key.selector, algorithm: algorithm.rawValue, privateKey: key.privateKeyBytes, created: now)
        }
    }

    /// Makes a new active pair for `domain`; the old pair is retired (still published for
    /// `DKIMKeyRecord.publishedAfterRetirement`), keys retired longer ago are removed.
    @discardableResult
    public static func rotate(directory: any MailDirectory, domain: Domain, now: Date = Date()) async throws -> [DKIMKeyRecord] {
        let pair = try newPair(domain: domain, existing: try await directory.dkimKeys(domain: domain), now: now)
        try await directory.rotateDKIMKeys(domain: domain, adding: pair, retiring: now,
                                           removingRetiredBefore: now.addingTimeInterval(-DKIMKeyRecord.publishedAfterRetirement))
        return pair
    }

    /// Gives every domain without an active key a pair (a directory from before DKIM signing);
    /// the names of the domains that got one.
    @discardableResult
    public static func ensureEveryDomainHasKeys(directory: any MailDirectory, logger: Logger? = nil) async throws -> [Domain] {
        var made: [Domain] = []
        for record in try await directory.domains() where !(try await directory.dkimKeys(domain: record.domain)).contains(where: \.isActive) {
            try await rotate(directory: directory, domain: record.domain)
            made.append(record.domain)
            logger?.notice("made DKIM keys for \(record.domain.ascii): publish them (sealbox domain dns \(record.domain.ascii))")
        }
        return made
    }

    /// The active signing keys of `domain` (none when it is not a domain of this node).
    public static func signingKeys(directory: any MailDirectory, domain name: String) async throws -> [DKIMSigningKey] {
        guard let domain = try? Domain(name) else { return [] }
        return try await directory.dkimKeys(domain: domain).filter(\.isActive).map(signingKey)
    }

    public static func signingKey(_ record: DKIMKeyRecord) throws -> DKIMSigningKey {
        guard let algorithm = DKIMSigningKey.Algorithm(rawValue: record.algorithm) else {
            throw DKIMSigningKey.Failure(description: "unknown DKIM algorithm \(record.algorithm) for \(record.domain.ascii)")
        }
        return try DKIMSigningKey(domain: record.domain.ascii, selector: record.selector, algorithm: algorithm, privateKey: record.privateKey)
    }

    static func dayStamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }
}
