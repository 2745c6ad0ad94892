import Foundation

/// Writes a payload: fixed-width big-endian integers, length-prefixed bytes and strings, counts
/// before lists. No I/O.
public struct RPCWriter: Sendable {
    public var bytes: [UInt8] = []
    public init() {}

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    // Big-endian, appended from the value's own bytes (an array literal here was a heap allocation
    // per integer: a few thousand for one answer of message states).
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    public mutating func int(_ v: Int) { i64(Int64(v)) }
    public mutating func count(_ n: Int) { u32(UInt32(clamping: n)) }
    public mutating func bytes(_ b: [UInt8]) { count(b.count); bytes.append(contentsOf: b) }
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in count(utf8.count); bytes.append(contentsOf: utf8) }
    }
    public mutating func date(_ d: Date) { u64(d.timeIntervalSince1970.bitPattern) }
    public mutating func uuid(_ u: UUID) { withUnsafeBytes(of: u.uuid) { bytes.append(contentsOf: $0) } }

    public mutating func optional<T>(_ v: T?, _ write: (inout RPCWriter, T) -> Void) {
        if let v { u8(1); write(&self, v) } else { u8(0) }
    }
    public mutating func array<S: Collection>(_ xs: S, _ write: (inout RPCWriter, S.Element) -> Void) {
        count(xs.count)
        for x in xs { write(&self, x) }
    }
    public mutating func strings(_ xs: [String]) { array(xs) { $0.string($1) } }
}

/// Reads a payload written by `RPCWriter`, within `RPCLimits`: every length and count is checked
/// against what is left and the limits before anything is allocated.
public struct RPCReader: Sendable {
    let data: [UInt8]
    var index: Int
    public let limits: RPCLimits

    public init(_ bytes: [UInt8], limits: RPCLimits) { self.data = bytes; self.index = 0; self.limits = limits }

    public var remaining: Int { data.count - index }
    public var isAtEnd: Bool { index == data.count }

    /// Throws unless every byte was read (a payload with trailing bytes is malformed).
    public func finish() throws {
        guard isAtEnd else { throw RPCProtocolError("\(remaining) unexpected bytes after the payload") }
    }

    public mutating func u8() throws -> UInt8 {
        guard index < data.count else { throw RPCProtocolError("payload ends early") }
        defer { index += 1 }
        return data[index]
    }
    public mutating func bool() throws -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        default: throw RPCProtocolError("not a boolean")
        }
    }
    public mutating func u32() throws -> UInt32 {
        guard remaining >= 4 else { throw RPCProtocolError("payload ends early") }
        defer { index += 4 }
        return data.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: index, as: UInt32.self)) }
    }
    public mutating func u64() throws -> UInt64 {
        guard remaining >= 8 else { throw RPCProtocolError("payload ends early") }
        defer { index += 8 }
        return data.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: index, as: UInt64.self)) }
    }
    public mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    public mutating func int() throws -> Int {
        let v = try i64()
        guard let i = Int(exactly: v) else { throw RPCProtocolError("integer out of range") }
        return i
    }
    /// A non-negative integer that must fit in 32 bits (sizes, counts of messages).
    public mutating func nonNegative() throws -> Int {
        let v = try i64()
        guard v >= 0, v <= Int64(Int32.max) * 1024 else { throw RPCProtocolError("integer out of range") }
        return Int(v)
    }
    /// A list's element count: at most `maxElements`, and at most one element per `minSize` bytes left.
    public mutating func count(minSize: Int = 1) throws -> Int {
        let n = Int(try u32())
        guard n <= limits.maxElements, n <= remaining / max(1, minSize) else { throw RPCProtocolError("list count over the limit", code: .tooLarge) }
        return n
    }
    public mutating func bytes() throws -> [UInt8] {
        let n = Int(try u32())
        guard n <= remaining else { throw RPCProtocolError("byte field longer than the payload") }
        defer { index += n }
        return Array(data[index ..< index + n])
    }
    public mutating func string() throws -> String {
        let n = Int(try u32())
        guard n <= limits.maxStringBytes else { throw RPCProtocolError("string over the limit", code: .tooLarge) }
        guard n <= remaining else { throw RPCProtocolError("string longer than the payload") }
        defer { index += n }
        guard let s = String(validating: data[index ..< index + n], as: UTF8.self) else { throw RPCProtocolError("string is not UTF-8") }
        return s
    }
    public mutating func date() throws -> Date {
        let t = Double(bitPattern: try u64())
        guard t.isFinite, abs(t) < 1e12 else { throw RPCProtocolError("date out of range") }
        return Date(timeIntervalSince1970: t)
    }
    public mutating func uuid() throws -> UUID {
        guard remaining >= 16 else { throw RPCProtocolError("payload ends early") }
        let b = data[index ..< index + 16].map { $0 }
        index += 16
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
    public mutating func optional<T>(_ read: (inout RPCReader) throws -> T) throws -> T? {
        switch try u8() {
        case 0: return nil
        case 1: return try read(&self)
        default: throw RPCProtocolError("bad optional tag")
        }
    }
    public mutating func array<T>(minSize: Int = 1, _ read: (inout RPCReader) throws -> T) throws -> [T] {
        let n = try count(minSize: minSize)
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0 ..< n { out.append(try read(&self)) }
        return out
    }
    public mutating func strings() throws -> [String] { try array(minSize: 4) { try $0.string() } }
}
