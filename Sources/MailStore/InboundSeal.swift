import Crypto
import Foundation
import MailboxAPI

/// Seals inbound messages to a mailbox's X-Wing (ML-KEM-768 + X25519) HPKE public key, so that the
/// queue holding them is unreadable to anyone without the mailbox's private key — which lives only
/// inside the encrypted mailbox file (DESIGN.md §3).
///
/// Blob format: `version ‖ encapsulated key (1120 B) ‖ HPKE ciphertext`. Version 1's plaintext is
/// `internal date (Int64 ms since 1970, big-endian) ‖ raw message`: a copy for INBOX. Version 2
/// (a copy filed elsewhere: Junk, or flags set) adds where it goes, sealed like the message:
/// `internal date ‖ length (UInt16, big-endian) ‖ InboundDelivery as JSON ‖ raw message`. The
/// mailbox id is the authenticated data, so a blob cannot be replayed into another mailbox's queue.
public enum InboundSeal {
    public static let ciphersuite = HPKE.Ciphersuite.XWingMLKEM768X25519_SHA256_AES_GCM_256
    static let info = Data("sealbox inbound message v1".utf8)
    static let version: UInt8 = 1
    static let versionWithDelivery: UInt8 = 2

    /// A sealed copy opened: when it arrived, where it goes, the message.
    public struct Opened: Sendable {
        public var internalDate: Date
        public var delivery: InboundDelivery
        public var message: [UInt8]
    }
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
                            mailboxID: String, delivery: InboundDelivery = .inbox) throws -> [UInt8] {
        let key = try XWingMLKEM768X25519.PublicKey(rawRepresentation: publicKey)
        var sender = try HPKE.Sender(recipientKey: key, ciphersuite: ciphersuite, info: info)
        let ciphertext: Data
        let instructions = delivery.isInbox ? nil : try JSONEncoder().encode(delivery)
        if let instructions, instructions.count > Int(UInt16.max) {
            throw Failure(description: "delivery instructions too long")
        }
        do {
            var plaintext = [UInt8]()
            plaintext.reserveCapacity(8 + 2 + (instructions?.count ?? 0) + prefix.count + message.count)
            let millis = Int64((internalDate.timeIntervalSince1970 * 1000).rounded())
            withUnsafeBytes(of: millis.bigEndian) { plaintext.append(contentsOf: $0) }
            if let instructions {
                withUnsafeBytes(of: UInt16(instructions.count).bigEndian) { plaintext.append(contentsOf: $0) }
                plaintext.append(contentsOf: instructions)
            }
            plaintext.append(contentsOf: prefix)
            plaintext.append(contentsOf: message)
            ciphertext = try sender.seal(plaintext, authenticating: Array(mailboxID.utf8))
        }  // the plaintext is freed here, before the blob is made
        var blob = [instructions == nil ? version : versionWithDelivery]
        blob.reserveCapacity(1 + encapsulatedKeyBytes + ciphertext.count)
        blob.append(contentsOf: sender.encapsulatedKey)
        blob.append(contentsOf: ciphertext)
        return blob
    }

    public static func open(_ blob: [UInt8], keyPair: KeyPair, mailboxID: String) throws -> Opened {
        guard blob.count > 1 + encapsulatedKeyBytes + 16, blob[0] == version || blob[0] == versionWithDelivery else {
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
        let date = Date(timeIntervalSince1970: Double(millis) / 1000)
        guard blob[0] == versionWithDelivery else { return Opened(internalDate: date, delivery: .inbox, message: Array(plaintext.dropFirst(8))) }
        let start = plaintext.startIndex + 8
        guard plaintext.count >= 10 else { throw Failure(description: "sealed message is truncated") }
        let length = Int(plaintext[start]) << 8 | Int(plaintext[start + 1])
        guard plaintext.count >= 10 + length,
              let delivery = try? JSONDecoder().decode(InboundDelivery.self, from: plaintext[(start + 2)..<(start + 2 + length)]) else {
            throw Failure(description: "sealed message has damaged delivery instructions")
        }
        return Opened(internalDate: date, delivery: delivery, message: Array(plaintext[(start + 2 + length)...]))
    }
}
