import Crypto
import CryptoExtras
import Directory
import Dispatch
import Foundation
import MailCore
import SQLiteCipher

/// The mailbox key hierarchy (DESIGN.md §2).
///
/// - Each mailbox has a random 256-bit data key (DEK); sqlite3mc is keyed with it.
/// - Each password wraps the DEK: `KEK = scrypt(password, salt)`,
///   `wrapped = ChaChaPoly.seal(DEK, KEK, aad: aliasID ‖ 0x00 ‖ passwordID)`.
///   A password is verified by unwrapping; there is no separate hash.
/// - Adding, changing or revoking a password adds, re-wraps or drops one entry: the mailbox file
///   is never re-encrypted.
public enum KeyHierarchy {
    public struct Parameters: Sendable, Hashable {
        public var rounds: Int
        public var blockSize: Int
        public var parallelism: Int
        /// scrypt N=2^15, r=8, p=1: 32 MiB and ~70 ms per guess (release build).
        public static let standard = Parameters(rounds: 1 << 15, blockSize: 8, parallelism: 1)

        /// The `kdf` string stored with a password entry.
        public var encoded: String { "scrypt:N=\(rounds),r=\(blockSize),p=\(parallelism)" }

        public init(rounds: Int, blockSize: Int, parallelism: Int) {
            self.rounds = rounds; self.blockSize = blockSize; self.parallelism = parallelism
        }

        /// Parses `scrypt:N=…,r=…,p=…`; nil for anything else.
        public init?(encoded: String) {
            guard encoded.hasPrefix("scrypt:") else { return nil }
            var values: [String: Int] = [:]
            for pair in encoded.dropFirst("scrypt:".count).split(separator: ",") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, let v = Int(kv[1]), v > 0 else { return nil }
                values[String(kv[0])] = v
            }
            guard let n = values["N"], let r = values["r"], let p = values["p"],
                  n.nonzeroBitCount == 1, n <= 1 << 20, r <= 32, p <= 16 else { return nil }
            self.init(rounds: n, blockSize: r, parallelism: p)
        }
    }

    public static let dataKeyBytes = 32
    static let saltBytes = 16

    /// A fresh random data key.
    public static func newDataKey() -> SecretBytes { SecretBytes.random(count: dataKeyBytes) }

    /// Wraps `dataKey` under `password` for the entry (aliasID, passwordID).
    public static func wrap(
        dataKey: SecretBytes, password: String, aliasID: String, passwordID: String,
        label: String?, parameters: Parameters = .standard, now: Date = Date()
    ) throws -> PasswordRecord {
        let salt = randomBytes(saltBytes)
        let kek = try deriveKEK(password: password, salt: salt, parameters: parameters)
        let sealed = try dataKey.withBytes { dek in
            try ChaChaPoly.seal(dek, using: kek, authenticating: aad(aliasID: aliasID, passwordID: passwordID))
        }
        return PasswordRecord(
            id: passwordID, aliasID: aliasID, label: label, created: now, lastUsed: nil,
            kdf: parameters.encoded, salt: salt, wrappedKey: Array(sealed.combined))
    }

    /// Unwraps the data key with `password`; nil when the password does not open this entry.
    public static func unwrap(_ record: PasswordRecord, password: String) -> SecretBytes? {
        guard let parameters = Parameters(encoded: record.kdf),
              let kek = try? deriveKEK(password: password, salt: record.salt, parameters: parameters),
              let box = try? ChaChaPoly.SealedBox(combined: record.wrappedKey),
              let dek = try? ChaChaPoly.open(box, using: kek, authenticating: aad(aliasID: record.aliasID, passwordID: record.id)),
              dek.count == dataKeyBytes
        else { return nil }
        return SecretBytes(Array(dek))
    }

    /// `unwrap` off the Swift concurrency pool: scrypt takes ~70 ms of CPU and 32 MiB, so it runs
    /// on its own threads (at most one per core at a time) and never stalls other sessions' tasks.
    public static func unwrapOffPool(_ record: PasswordRecord, password: String) async -> SecretBytes? {
        await KDFExecutor.shared.run { unwrap(record, password: password) }
    }

    /// Where the holder of `password` finds `address`'s backups: `index/<locator>.json` at the
    /// backup destination. HMAC-SHA256 of the address under scrypt(password, a salt made from the
    /// address), so that whoever can list the bucket learns nothing from the names (a guessed
    /// address is not enough: its password is needed too), while a restore with the address and a
    /// password alone computes it. One scrypt (~70 ms); 64 lower-case hex digits.
    public static func backupLocator(address: EmailAddress, password: String, parameters: Parameters = .standard) -> String {
        let canonical = Array(address.canonical.utf8)
        let salt = Array(SHA256.hash(data: Array("sealbox backup locator v1".utf8) + [0] + canonical))
        guard let key = try? deriveKEK(password: password, salt: salt, parameters: parameters) else { return "" }
        return HMAC<SHA256>.authenticationCode(for: canonical, using: key).map { String(format: "%02x", $0) }.joined()
    }

    /// `backupLocator` off the Swift concurrency pool (scrypt).
    public static func backupLocatorOffPool(address: EmailAddress, password: String) async -> String {
        await KDFExecutor.shared.run { backupLocator(address: address, password: password) }
    }

    /// Spends the same time as a real unwrap, so that a login for an unknown address costs the same.
    public static func burnEquivalentWork(password: String) {
        _ = try? deriveKEK(password: password, salt: [UInt8](repeating: 0, count: saltBytes), parameters: .standard)
    }

    static func deriveKEK(password: String, salt: [UInt8], parameters: Parameters) throws -> SymmetricKey {
        try KDF.Scrypt.deriveKey(
            from: Array(normalized(password).utf8), salt: salt, outputByteCount: 32,
            rounds: parameters.rounds, blockSize: parameters.blockSize, parallelism: parameters.parallelism)
    }

    /// Passwords are compared after Unicode NFC normalisation (a password typed on two keyboards
    /// may arrive composed or decomposed).
    static func normalized(_ password: String) -> String { password.precomposedStringWithCanonicalMapping }

    static func aad(aliasID: String, passwordID: String) -> [UInt8] {
        Array(aliasID.utf8) + [0] + Array(passwordID.utf8)
    }

    /// A strong random password: 5 groups of 5 characters from a 32-letter alphabet without
    /// look-alikes (125 bits), e.g. `k7mqt-x3bn9-…`. Easy to read out and type on a phone.
    public static func generatePassword() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")  // 31 letters…
            + ["4"]                                                 // …plus one: 32
        var rng = SystemRandomNumberGenerator()
        return (0..<5).map { _ in
            String((0..<5).map { _ in alphabet[Int(rng.next(upperBound: UInt32(alphabet.count)))] })
        }.joined(separator: "-")
    }
}

func randomBytes(_ count: Int) -> [UInt8] {
    var rng = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
}

/// Runs key derivations on dedicated threads, bounded to the number of cores.
final class KDFExecutor: Sendable {
    static let shared = KDFExecutor()
    private let queue = DispatchQueue(label: "sealbox.kdf", attributes: .concurrent)
    private let slots = DispatchSemaphore(value: max(1, ProcessInfo.processInfo.activeProcessorCount))

    func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async {
                self.slots.wait()
                defer { self.slots.signal() }
                continuation.resume(returning: work())
            }
        }
    }
}
