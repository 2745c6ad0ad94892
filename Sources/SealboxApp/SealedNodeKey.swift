import Crypto
import CryptoExtras
import Foundation
import SQLiteCipher

/// The node key wrapped with a passphrase: `<data-dir>/node.key.sealed`, useless without the
/// passphrase, so it may stay in the data directory.
///
/// `KEK = scrypt(NFC(passphrase), salt, N, r, p)`, `sealed = ChaChaPoly.seal(nodeKey, KEK, aad)`,
/// where the AAD names the format, its version and the scrypt parameters (changing any of them
/// makes the file fail to open rather than open differently). The file is one JSON object:
///
/// ```
/// {"format":"sealbox-node-key","version":1,"kdf":"scrypt","logN":17,"r":8,"p":1,
///  "salt":"<base64, 16 bytes>","aead":"chacha20-poly1305","sealed":"<base64, 60 bytes>"}
/// ```
///
/// Reading it is bounded: at most `maximumFileBytes`, parameters within `Parameters.accepted`
/// (a damaged or hostile file cannot ask for gigabytes of scrypt memory).
public struct SealedNodeKey: Sendable, Equatable {
    public struct Parameters: Sendable, Equatable {
        public var logN: Int
        public var blockSize: Int
        public var parallelism: Int

        public init(logN: Int, blockSize: Int, parallelism: Int) {
            self.logN = logN; self.blockSize = blockSize; self.parallelism = parallelism
        }

        /// scrypt N=2^17, r=8, p=1: 128 MiB and about a third of a second (release build) per
        /// guess, paid once at start. Four times the mailbox passwords' N: a passphrase is chosen
        /// by a person (weaker than the generated mailbox passwords) and is tried far less often.
        public static let standard = Parameters(logN: 17, blockSize: 8, parallelism: 1)

        /// What a file may ask for: at most N=2^20 with r=8 (1 GiB) and p=4.
        static func accepted(_ p: Parameters) -> Bool {
            (10...20).contains(p.logN) && (1...16).contains(p.blockSize) && (1...4).contains(p.parallelism)
                && (1 << p.logN) * 128 * p.blockSize <= 1 << 30
        }
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public enum Code: Sendable, Equatable { case damaged, wrongPassphrase, weakPassphrase }
        public let code: Code
        public let description: String
    }

    public static let formatName = "sealbox-node-key"
    public static let version = 1
    public static let maximumFileBytes = 4096
    public static let minimumPassphraseLength = 10
    static let saltBytes = 16

    public let parameters: Parameters
    let salt: [UInt8]
    let sealed: [UInt8]

    /// Wraps `key` under `passphrase` with a fresh salt.
    public static func seal(_ key: SecretBytes, passphrase: String, parameters: Parameters = .standard) throws -> SealedNodeKey {
        guard passphrase.count >= minimumPassphraseLength else {
            throw Failure(code: .weakPassphrase, description: "the node key passphrase must have at least \(minimumPassphraseLength) characters")
        }
        precondition(Parameters.accepted(parameters), "scrypt parameters out of range")
        var rng = SystemRandomNumberGenerator()
        let salt = (0..<saltBytes).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        let kek = try deriveKEK(passphrase: passphrase, salt: salt, parameters: parameters)
        let box = try key.withBytes { try ChaChaPoly.seal($0, using: kek, authenticating: aad(parameters)) }
        return SealedNodeKey(parameters: parameters, salt: salt, sealed: Array(box.combined))
    }

    /// The node key, or `Failure(.wrongPassphrase)`.
    public func open(passphrase: String) throws -> SecretBytes {
        let kek = try Self.deriveKEK(passphrase: passphrase, salt: salt, parameters: parameters)
        guard let box = try? ChaChaPoly.SealedBox(combined: sealed),
              let key = try? ChaChaPoly.open(box, using: kek, authenticating: Self.aad(parameters)) else {
            throw Failure(code: .wrongPassphrase, description: "wrong passphrase")
        }
        guard key.count == 32 else { throw Failure(code: .damaged, description: "it does not hold a 32-byte key") }
        return SecretBytes(Array(key))
    }

    // MARK: The file

    private struct File: Codable {
        var format: String
        var version: Int
        var kdf: String
        var logN: Int
        var r: Int
        var p: Int
        var salt: String
        var aead: String
        var sealed: String
    }

    public var encoded: [UInt8] {
        let file = File(format: Self.formatName, version: Self.version, kdf: "scrypt", logN: parameters.logN, r: parameters.blockSize,
                        p: parameters.parallelism, salt: Data(salt).base64EncodedString(), aead: "chacha20-poly1305",
                        sealed: Data(sealed).base64EncodedString())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings and integers cannot fail.
        return Array((try? encoder.encode(file)) ?? Data()) + [0x0A]
    }

    /// Parses the file's bytes; every problem is `Failure(.damaged)` with a short reason.
    public init(encoded bytes: [UInt8]) throws {
        func damaged(_ why: String) -> Failure { Failure(code: .damaged, description: why) }
        guard bytes.count <= Self.maximumFileBytes else { throw damaged("it is larger than \(Self.maximumFileBytes) bytes") }
        guard let file = try? JSONDecoder().decode(File.self, from: Data(bytes)) else { throw damaged("it is not a sealed node key") }
        guard file.format == Self.formatName else { throw damaged("it is not a sealed node key") }
        guard file.version == Self.version else { throw damaged("its version \(file.version) is not known to this Sealbox") }
        guard file.kdf == "scrypt", file.aead == "chacha20-poly1305" else { throw damaged("unknown algorithms \(file.kdf)/\(file.aead)") }
        let parameters = Parameters(logN: file.logN, blockSize: file.r, parallelism: file.p)
        guard Parameters.accepted(parameters) else { throw damaged("its scrypt parameters are out of range") }
        guard let salt = Data(base64Encoded: file.salt), salt.count == Self.saltBytes,
              let sealed = Data(base64Encoded: file.sealed), sealed.count == 12 + 32 + 16 else {
            throw damaged("its salt or sealed key has the wrong length")
        }
        self.init(parameters: parameters, salt: Array(salt), sealed: Array(sealed))
    }

    private init(parameters: Parameters, salt: [UInt8], sealed: [UInt8]) {
        self.parameters = parameters; self.salt = salt; self.sealed = sealed
    }

    static func aad(_ p: Parameters) -> [UInt8] {
        Array("\(formatName) v\(version) scrypt logN=\(p.logN) r=\(p.blockSize) p=\(p.parallelism)".utf8)
    }

    static func deriveKEK(passphrase: String, salt: [UInt8], parameters p: Parameters) throws -> SymmetricKey {
        // NFC, as mailbox passwords: the same passphrase typed on two keyboards opens the key.
        try KDF.Scrypt.deriveKey(from: Array(passphrase.precomposedStringWithCanonicalMapping.utf8), salt: salt, outputByteCount: 32,
                                 rounds: 1 << p.logN, blockSize: p.blockSize, parallelism: p.parallelism)
    }
}
