import Crypto
import Foundation

/// Seals inbound messages to a mailbox's X-Wing (ML-KEM-768 + X25519) HPKE public key, so that the
/// queue holding them is unreadable to anyone without the mailbox's private key — which lives only
/// inside the encrypted mailbox file (DESIGN.md §3).
///
/// Blob format: `0x01 ‖ encapsulated key (1120 B) ‖ HPKE ciphertext`, the plaintext being
/// `internal date (Int64 ms since 1970, big-endian) ‖ raw message`. The mailbox id is the
/// authenticated data, so a blob cannot be replayed into another mailbox's queue.
public enum InboundSeal {
    public static let ciphersuite = HPKE.Ciphersuite.XWingMLKEM768X25519_SHA256_AES_GCM_256
    static let info = Data("sealbox inbound message v1".utf8)
    static let version: UInt8 = 1
    static let encapsulatedKeyBytes = 1120

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public struct KeyPair: Sendable {
        public let privateKey: XWingMLKEM768X25519.PrivateKey
        public var publicKeyBytes: [UInt8] { Array(privateKey.publicKey.rawRepresentation) }
        /// 64 bytes: seed ‖ hash of the public key (corruption is detected when it is read back).
        public var privateKeyBytes: [UInt8] { Array(privateKey.integrityCheckedRepresentation) }

        public static func generate() throws -> KeyPair { KeyPair(privateKey: try .generate()) }
        public init(privateKey: XWingMLKEM768X25519.PrivateKey) { self.privateKey = privateKey }
        public init(privateKeyBytes: [UInt8]) throws {
            privateKey = try XWingMLKEM768X25519.PrivateKey(integrityCheckedRepresentation: privateKeyBytes)
        }
    }

    /// Seals `prefix ‖ message` (the prefix: header fields added at final delivery, such as
    /// Return-Path, so that the caller does not copy the whole message to put them in front).
    ///
    /// Memory: at its peak this holds, besides `message`, the plaintext, the AEAD's ciphertext and
    /// its combined box (three more copies of the message's size); the blob it returns is a
    /// fourth, made once the plaintext is gone. `DirectoryInboundHandler.copiesHeld` counts them.
    public static func seal(message: [UInt8], prefix: [UInt8] = [], internalDate: Date, publicKey: [UInt8],
                            mailboxID: String) throws -> [UInt8] {
        let key = try XWingMLKEM768X25519.PublicKey(rawRepresentation: publicKey)
        var sender = try HPKE.Sender(recipientKey: key, ciphersuite: ciphersuite, info: info)
        let ciphertext: Data
        do {
            var plaintext = [UInt8]()
            plaintext.reserveCapacity(8 + prefix.count + message.count)
            let millis = Int64((internalDate.timeIntervalSince1970 * 1000).rounded())
            withUnsafeBytes(of: millis.bigEndian) { plaintext.append(contentsOf: $0) }
            plaintext.append(contentsOf: prefix)
            plaintext.append(contentsOf: message)
            ciphertext = try sender.seal(plaintext, authenticating: Array(mailboxID.utf8))
        }  // the plaintext is freed here, before the blob is made
        var blob = [version]
        blob.reserveCapacity(1 + encapsulatedKeyBytes + ciphertext.count)
        blob.append(contentsOf: sender.encapsulatedKey)
        blob.append(contentsOf: ciphertext)
        return blob
    }

    public static func open(_ blob: [UInt8], keyPair: KeyPair, mailboxID: String) throws -> (internalDate: Date, message: [UInt8]) {
        guard blob.count > 1 + encapsulatedKeyBytes + 16, blob[0] == version else {
            throw Failure(description: "sealed message has an unknown format")
        }
        let enc = Data(blob[1..<(1 + encapsulatedKeyBytes)])
        var recipient = try HPKE.Recipient(privateKey: keyPair.privateKey, ciphersuite: ciphersuite, info: info, encapsulatedKey: enc)
        let plaintext: Data
        do {
            plaintext = try recipient.open(blob[(1 + encapsulatedKeyBytes)...], authenticating: Array(mailboxID.utf8))
        } catch {
            throw Failure(description: "sealed message does not open with this mailbox's key (damaged or misrouted)")
        }
        guard plaintext.count >= 8 else { throw Failure(description: "sealed message is truncated") }
        let millis = plaintext.prefix(8).reduce(Int64(0)) { ($0 << 8) | Int64($1) }
        return (Date(timeIntervalSince1970: Double(millis) / 1000), Array(plaintext.dropFirst(8)))
    }
}
