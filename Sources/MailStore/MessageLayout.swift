import Crypto
import Foundation
import MIMEParser

/// How a message's bytes are stored so that the exact original comes back (FETCH BODY[] is
/// byte-exact), with large MIME leaf bodies de-duplicated.
///
/// The header block is stored as is. The body becomes a layout: a sequence of inline byte runs and
/// references (by ordinal) to `parts` rows holding a leaf part's *encoded* body bytes, keyed by their
/// SHA-256. Encoding: version byte `0x01`, then records `0x00 ‖ u32 length ‖ bytes` (inline) or
/// `0x01 ‖ u32 ordinal` (part reference), integers big-endian. Stored compressed when that saves
/// (`stored`, version 2), as parts and their chunks are (`parts.codec`, `part_chunks.codec`: BlobCodec).
enum MessageLayout {
    /// Leaf bodies of at least this many encoded bytes are stored once per mailbox.
    static let dedupThreshold = 8 * 1024
    static let version: UInt8 = 1

    struct Split {
        var header: [UInt8]
        var layout: [UInt8]
        /// Parts in ordinal order: their SHA-256 and encoded bytes.
        var parts: [(sha256: [UInt8], bytes: ArraySlice<UInt8>)]
    }

    static func split(_ message: MIMEMessage) -> Split {
        let bytes = message.bytes
        let headerEnd = min(max(message.headerLength, 0), bytes.count)
        let ranges = message.leafParts.map(\.bodyRange)
            .filter { $0.count >= dedupThreshold && $0.lowerBound >= headerEnd && $0.upperBound <= bytes.count }
            .sorted { $0.lowerBound < $1.lowerBound }
        var layout: [UInt8] = [version]
        var parts: [(sha256: [UInt8], bytes: ArraySlice<UInt8>)] = []
        var cursor = headerEnd
        for range in ranges where range.lowerBound >= cursor {
            appendInline(bytes[cursor..<range.lowerBound], to: &layout)
            let slice = bytes[range]
            layout.append(1)
            appendUInt32(UInt32(parts.count), to: &layout)
            parts.append((Array(SHA256.hash(data: slice)), slice))
            cursor = range.upperBound
        }
        appendInline(bytes[cursor...], to: &layout)
        return Split(header: Array(bytes[..<headerEnd]), layout: layout, parts: parts)
    }

    /// A layout as stored: version 1 as is, or, when that saves (BlobCodec), version 2:
    /// `0x02 ‖ Zstandard frame of the version 1 layout`.
    static func stored(_ layout: [UInt8]) -> Data {
        let encoded = BlobCodec.encode(layout)
        return encoded.codec == BlobCodec.plain ? encoded.bytes : Data([2]) + encoded.bytes
    }

    /// A stored layout as version 1.
    static func plain(_ stored: [UInt8]) throws -> [UInt8] {
        guard stored.first == 2 else { return stored }
        return try stored.withUnsafeBytes { raw in
            var out: [UInt8] = []
            try BlobCodec.decode(UnsafeRawBufferPointer(rebasing: raw.dropFirst()), codec: BlobCodec.zstd, into: &out)
            return out
        }
    }

    struct Corrupt: Error, CustomStringConvertible {
        var description: String { "stored message layout is damaged" }
    }

    /// Part bodies larger than this are stored in chunks of this size (`part_chunks`), so that a
    /// large message is read piece by piece (FETCH streams it in bounded memory).
    static let chunkSize = 1 << 20

    /// One record of a layout: inline bytes (a range of the layout) or a stored part by ordinal.
    enum Record: Equatable {
        case inline(Range<Int>)
        case part(Int)
    }

    static func records(_ layout: [UInt8]) throws -> [Record] {
        guard layout.first == version else { throw Corrupt() }
        var i = 1
        func readUInt32() throws -> Int {
            guard i + 4 <= layout.count else { throw Corrupt() }
            let v = layout[i..<(i + 4)].reduce(0) { ($0 << 8) | Int($1) }
            i += 4
            return v
        }
        var out: [Record] = []
        while i < layout.count {
            let tag = layout[i]; i += 1
            switch tag {
            case 0:
                let n = try readUInt32()
                guard i + n <= layout.count else { throw Corrupt() }
                out.append(.inline(i..<(i + n)))
                i += n
            case 1:
                out.append(.part(try readUInt32()))
            default:
                throw Corrupt()
            }
        }
        return out
    }

    /// Re-assembles the original bytes. `part(ordinal)` returns the stored part's bytes.
    static func assemble(header: [UInt8], layout: [UInt8], size: Int, part: (Int) throws -> [UInt8]) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(size)
        out.append(contentsOf: header)
        try assembleBody(layout: layout, into: &out) { ordinal, out in out.append(contentsOf: try part(ordinal)) }
        return out
    }

    /// Appends the body's bytes to `out` (after the header): the inline runs of the layout, and
    /// each stored part as `appendPart(ordinal, &out)` appends it (straight from where it is
    /// read, without a copy of its own).
    static func assembleBody(layout: [UInt8], into out: inout [UInt8], appendPart: (Int, inout [UInt8]) throws -> Void) throws {
        for record in try records(layout) {
            switch record {
            case .inline(let range): out.append(contentsOf: layout[range])
            case .part(let ordinal): try appendPart(ordinal, &out)
            }
        }
    }

    private static func appendInline(_ run: ArraySlice<UInt8>, to layout: inout [UInt8]) {
        guard !run.isEmpty else { return }
        layout.append(0)
        appendUInt32(UInt32(run.count), to: &layout)
        layout.append(contentsOf: run)
    }

    private static func appendUInt32(_ v: UInt32, to out: inout [UInt8]) {
        out.append(contentsOf: [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)])
    }
}
