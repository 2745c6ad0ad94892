import CZstd
import Foundation
import Synchronization

/// How a stored message's bodies are kept in the file: compressed with Zstandard (libzstd) when
/// that saves enough, else as they are.
///
/// Every stored byte is written twice (the WAL, then the file) and encrypted page by page, so a
/// body that compresses well saves on both, and on the disk: text and HTML compress to between a
/// half and a tenth. A base64 attachment of random bytes (a PDF, a JPEG) would only lose a quarter
/// (base64's 6 bits a byte), for a slow decode on every read: it stays as it is (`encode`).
/// Compression is per blob (one message's layout, one part, one 1 MiB chunk of a part), never
/// across messages, so the size of one blob says nothing about another message's content. The
/// blob is compressed before it is encrypted (SQLite3 Multiple Ciphers encrypts the pages).
enum BlobCodec {
    /// Stored as given.
    static let plain = 0
    /// A Zstandard frame (with its content size).
    static let zstd = 1

    /// Zstandard's fastest standard level: about half a gigabyte a second per core.
    static let level: Int32 = 1
    /// Blobs under this are stored as given (a frame's overhead eats the gain).
    static let minimumSize = 128

    struct Corrupt: Error, CustomStringConvertible {
        var description: String { "stored message body does not decompress" }
    }

    /// The blob as stored: its codec and bytes. Compressed when that saves at least a third: text
    /// and HTML (a half to nine tenths) are; a base64 attachment of random bytes (a quarter, all of
    /// it Huffman-coded literals, the slowest thing to decode) is not: on a download, decoding it
    /// cost more CPU than the pages it spared from decryption (measured: a fifth more per message).
    /// The bytes come back as the `Data` SQLite is given: a blob stored as it is is copied once.
    ///
    /// A blob of `probeAbove` bytes or more is first tried on its first `probeSize` bytes: when
    /// they do not shrink by `probeSaving`, the blob is stored as it is without compressing the
    /// rest (a base64 attachment of random bytes cost zstd about 2 µs a kilobyte for nothing).
    static func encode(_ bytes: some Collection<UInt8>) -> (codec: Int, bytes: Data) {
        guard bytes.count >= minimumSize else { return (plain, Data(bytes)) }
        func shrinks(_ source: UnsafeRawBufferPointer) -> Data? {
            if source.count >= probeAbove {
                let sample = UnsafeRawBufferPointer(rebasing: source.prefix(probeSize))
                guard let packed = compress(sample), packed.count <= sample.count - Int(Double(sample.count) * probeSaving) else { return nil }
            }
            guard let packed = compress(source), packed.count <= source.count - source.count / 3 else { return nil }
            return packed
        }
        let packed = bytes.withContiguousStorageIfAvailable { shrinks(UnsafeRawBufferPointer($0)) } ?? Array(bytes).withUnsafeBytes(shrinks)
        guard let packed else { return (plain, Data(bytes)) }
        return (zstd, packed)
    }

    /// The probe of a large blob: its first 4 KiB must save 30 % (base64 of random bytes saves
    /// about a fifth, text and HTML half or more), a little less than the whole's third, so that a
    /// blob that would pass is not turned away by its start alone.
    static let probeAbove = 16 << 10
    static let probeSize = 4 << 10
    static let probeSaving = 0.30

    /// A Zstandard frame of `source`; nil if libzstd fails.
    private static func compress(_ source: UnsafeRawBufferPointer) -> Data? {
        let bound = ZSTD_compressBound(source.count)
        var out = Data(count: bound)
        let context = compressors.take() ?? ZSTD_createCCtx()
        defer { compressors.give(context) { ZSTD_freeCCtx($0) } }
        let written = out.withUnsafeMutableBytes { dst in ZSTD_compressCCtx(context, dst.baseAddress, bound, source.baseAddress, source.count, level) }
        guard ZSTD_isError(written) == 0 else { return nil }
        out.count = written
        return out
    }

    /// Appends the plain bytes of a stored blob to `out`.
    static func decode(_ stored: UnsafeRawBufferPointer, codec: Int, into out: inout [UInt8]) throws {
        switch codec {
        case plain:
            out.append(contentsOf: stored)
        case zstd:
            let size = ZSTD_getFrameContentSize(stored.baseAddress, stored.count)
            // unknown or error sizes are the top values; no stored blob is over a chunk of a part
            guard size <= UInt64(MessageLayout.chunkSize) * 64 else { throw Corrupt() }
            let count = Int(size)
            var failed = false
            let plainBytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                let context = decompressors.take() ?? ZSTD_createDCtx()
                defer { decompressors.give(context) { ZSTD_freeDCtx($0) } }
                let written = ZSTD_decompressDCtx(context, buffer.baseAddress, count, stored.baseAddress, stored.count)
                failed = ZSTD_isError(written) != 0 || written != count
                initialized = failed ? 0 : count
            }
            guard !failed else { throw Corrupt() }
            if out.isEmpty { out = plainBytes } else { out.append(contentsOf: plainBytes) }
        default:
            throw Corrupt()
        }
    }

    static func decode(_ stored: some ContiguousBytes, codec: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        try stored.withUnsafeBytes { try decode($0, codec: codec, into: &out) }
        return out
    }

    /// libzstd's contexts, kept for the next call: making one per blob (what ZSTD_compress and
    /// ZSTD_decompress do) was a good part of a small message's cost.
    private static let compressors = ContextPool()
    private static let decompressors = ContextPool()
}

/// Idle libzstd contexts (at most `limit`), taken by one call at a time.
final class ContextPool: Sendable {
    // OpaquePointer is not Sendable: the pool hands each context to one caller at a time.
    private struct Idle: @unchecked Sendable { var contexts: [OpaquePointer] = [] }
    private let idle = Mutex(Idle())
    let limit = 8

    func take() -> OpaquePointer? { idle.withLock { $0.contexts.popLast() } }

    func give(_ context: OpaquePointer?, free: (OpaquePointer) -> Void) {
        guard let context else { return }
        let kept = idle.withLock { i -> Bool in
            guard i.contexts.count < limit else { return false }
            i.contexts.append(context)
            return true
        }
        if !kept { free(context) }
    }
}
