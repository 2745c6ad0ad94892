import Crypto
import Directory
import Foundation

/// The keys every node of a cluster must share, derived from `cluster.secretFile` with HKDF-SHA256
/// (one label each): a forwarded message's SRS address made by one frontend is undone by another,
/// a webhook signed by any storage node checks with one key, and a Sieve vacation memory written
/// by one node is recognised by the next.
public struct ClusterSecrets: Sendable {
    let secret: [UInt8]

    public init(_ secret: [UInt8]) { self.secret = secret }

    func derive(_ label: String) -> [UInt8] {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), info: Array(label.utf8), outputByteCount: 32)
            .withUnsafeBytes { Array($0) }
    }

    public var srs: [UInt8] { derive("sealbox cluster srs v1") }
    public var webhook: [UInt8] { derive("sealbox cluster webhook v1") }
    public var sieveMemory: SieveMemoryHasher { SieveMemoryHasher(secret: derive("sealbox cluster sieve memory v1")) }
}
