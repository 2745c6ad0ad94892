import Foundation

/// Key material that is zeroed when the last reference goes away.
///
/// Used for data keys (DEKs), the node key and key-encryption keys. The bytes never appear in a
/// `description` (so they cannot reach a log through string interpolation by accident).
public final class SecretBytes: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    // @unchecked: `storage` is written only in init and deinit; every other access is a read.
    private var storage: [UInt8]

    public init(_ bytes: [UInt8]) { storage = bytes }

    /// `count` cryptographically random bytes.
    public static func random(count: Int) -> SecretBytes {
        var rng = SystemRandomNumberGenerator()
        return SecretBytes((0..<count).map { _ in UInt8.random(in: .min ... .max, using: &rng) })
    }

    public var count: Int { storage.count }

    /// Calls `body` with the bytes; do not let them escape.
    public func withBytes<R>(_ body: ([UInt8]) throws -> R) rethrows -> R { try body(storage) }

    /// Lower-case hexadecimal, for `PRAGMA hexkey`. The caller owns the copy it gets.
    public func hexString() -> String {
        storage.map { String(format: "%02x", $0) }.joined()
    }

    public var description: String { "SecretBytes(\(storage.count) bytes)" }
    public var debugDescription: String { description }

    deinit {
        storage.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            memset_s_portable(base, buffer.count)
        }
    }
}

/// memset that the optimiser may not remove.
@inline(never)
func memset_s_portable(_ pointer: UnsafeMutableRawPointer, _ count: Int) {
    let volatile = pointer.bindMemory(to: UInt8.self, capacity: count)
    for i in 0..<count { volatile[i] = 0 }
    withExtendedLifetime(pointer) {}
}
