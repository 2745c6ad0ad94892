/// The cluster RPC's frames (docs/cluster-rpc.md): one or more whole frames per WebSocket binary
/// message (a sender packs the frames it has ready into one message, `encodeBatch`; a receiver
/// splits them, `decodeBatch`).
///
///     offset  size  field
///     0       1     version (2)
///     1       1     kind (request, response, error, stream chunk, stream end, push, cancel)
///     2       1     flags (bit 0: `more`, the message goes on in stream chunk frames; others 0)
///     3       1     reserved (0)
///     4       4     request id (big-endian; the caller's, unique among its requests in flight;
///                   for a push, the id of the subscribing request)
///     8       2     method (big-endian)
///     10      4     payload length (big-endian; equal to the bytes that follow)
///     14      n     payload
///
/// A message (request, response, error or push) larger than one frame's payload limit travels as
/// its first frame with `more` set, then `streamChunk` frames, the last piece in a `streamEnd`
/// frame, all with the same id; `RPCAssembler` puts it back together, within its own limit.
public struct RPCFrame: Sendable, Hashable {
    /// 2: several frames per WebSocket message; a change subscription lives while any session of
    /// its mailbox is open on the connection (docs/cluster-rpc.md). 1 had one frame per message.
    public static let version: UInt8 = 2
    public static let headerSize = 14

    public enum Kind: UInt8, Sendable, CaseIterable {
        case request = 1, response = 2, error = 3, streamChunk = 4, streamEnd = 5, push = 6, cancel = 7
    }

    public var kind: Kind
    public var more: Bool
    public var id: UInt32
    public var method: UInt16
    public var payload: [UInt8]

    public init(kind: Kind, id: UInt32, method: UInt16 = 0, payload: [UInt8] = [], more: Bool = false) {
        self.kind = kind; self.id = id; self.method = method; self.payload = payload; self.more = more
    }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerSize + payload.count)
        encode(into: &out)
        return out
    }

    /// Appends the frame's bytes to `out`.
    public func encode(into out: inout [UInt8]) {
        out.append(Self.version)
        out.append(kind.rawValue)
        out.append(more ? 1 : 0)
        out.append(0)
        withUnsafeBytes(of: id.bigEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: method.bigEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(payload.count).bigEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: payload)
    }

    /// Packs `frames` into as few messages as fit, in order, each at most `maxMessage` bytes
    /// (`headerSize + maxFramePayload` at least: a frame larger than that goes alone).
    public static func encodeBatch(_ frames: [RPCFrame], maxMessage: Int) -> [[UInt8]] {
        var messages: [[UInt8]] = []
        var current: [UInt8] = []
        for frame in frames {
            let size = headerSize + frame.payload.count
            if !current.isEmpty && current.count + size > maxMessage {
                messages.append(current)
                current = []
            }
            if current.isEmpty { current.reserveCapacity(max(size, min(maxMessage, 4096))) }
            frame.encode(into: &current)
        }
        if !current.isEmpty { messages.append(current) }
        return messages
    }

    /// Decodes a message of one or more whole frames, back to back (each as `decode` reads one).
    /// An empty message, or a frame cut short, is an error.
    public static func decodeBatch<C: Collection>(_ bytes: C, limits: RPCLimits) throws -> [RPCFrame] where C.Element == UInt8 {
        if let frames = try bytes.withContiguousStorageIfAvailable({ try decodeBatch(UnsafeRawBufferPointer($0), limits: limits) }) { return frames }
        return try Array(bytes).withUnsafeBytes { try decodeBatch($0, limits: limits) }
    }

    /// The same on the message's bytes in place (what the connections call: a generic over another
    /// module's collection is not specialized, and every byte went through a witness table).
    public static func decodeBatch(_ bytes: UnsafeRawBufferPointer, limits: RPCLimits) throws -> [RPCFrame] {
        guard !bytes.isEmpty else { throw RPCProtocolError("empty message") }
        var frames: [RPCFrame] = []
        var start = 0
        while start < bytes.count {
            let left = bytes.count - start
            guard left >= headerSize else { throw RPCProtocolError("frame shorter than its header") }
            let length = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: start + 10, as: UInt32.self)))
            guard length <= limits.maxFramePayload else { throw RPCProtocolError("frame payload over the limit", code: .tooLarge) }
            guard left - headerSize >= length else { throw RPCProtocolError("frame length does not match its payload") }
            let end = start + headerSize + length
            frames.append(try decode(UnsafeRawBufferPointer(rebasing: bytes[start ..< end]), limits: limits))
            start = end
        }
        return frames
    }

    /// Decodes one whole frame (a WebSocket message): the header, then exactly `length` bytes.
    public static func decode<C: Collection>(_ bytes: C, limits: RPCLimits) throws -> RPCFrame where C.Element == UInt8 {
        if let frame = try bytes.withContiguousStorageIfAvailable({ try decode(UnsafeRawBufferPointer($0), limits: limits) }) { return frame }
        return try Array(bytes).withUnsafeBytes { try decode($0, limits: limits) }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer, limits: RPCLimits) throws -> RPCFrame {
        guard bytes.count >= headerSize else { throw RPCProtocolError("frame shorter than its header") }
        let version = bytes[0]
        guard version == Self.version else { throw RPCProtocolError("unsupported protocol version \(version)", code: .unsupportedVersion) }
        guard let kind = Kind(rawValue: bytes[1]) else { throw RPCProtocolError("unknown frame kind") }
        let flags = bytes[2]
        guard flags & ~1 == 0, bytes[3] == 0 else { throw RPCProtocolError("unknown frame flags") }
        let id = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let method = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        let length = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 10, as: UInt32.self))
        guard length <= UInt32(limits.maxFramePayload) else { throw RPCProtocolError("frame payload over the limit", code: .tooLarge) }
        guard bytes.count - headerSize == Int(length) else { throw RPCProtocolError("frame length does not match its payload") }
        let more = flags & 1 == 1
        if more && (kind == .streamEnd || kind == .cancel || kind == .streamChunk) {
            throw RPCProtocolError("`more` on a \(kind) frame")
        }
        return RPCFrame(kind: kind, id: id, method: method, payload: Array(bytes[headerSize...]), more: more)
    }

    /// The frames of one message: a single frame when `payload` fits, else a first frame with
    /// `more`, chunks, and the end.
    public static func frames(kind: Kind, id: UInt32, method: UInt16, payload: [UInt8], chunkSize: Int) -> [RPCFrame] {
        precondition(kind != .streamChunk && kind != .streamEnd && chunkSize > 0)
        guard payload.count > chunkSize else { return [RPCFrame(kind: kind, id: id, method: method, payload: payload)] }
        var frames: [RPCFrame] = []
        var offset = 0
        while offset < payload.count {
            let end = min(offset + chunkSize, payload.count)
            let piece = Array(payload[offset ..< end])
            if offset == 0 {
                frames.append(RPCFrame(kind: kind, id: id, method: method, payload: piece, more: true))
            } else {
                frames.append(RPCFrame(kind: end == payload.count ? .streamEnd : .streamChunk, id: id, method: method, payload: piece))
            }
            offset = end
        }
        return frames
    }
}

/// Every bound of the protocol. Both sides use the same defaults; a peer that goes over one gets
/// an error frame (or the connection closed, when the frame itself is unreadable).
public struct RPCLimits: Sendable, Hashable {
    /// Payload bytes in one frame.
    public var maxFramePayload: Int
    /// Bytes of one WebSocket message: a frame of the largest payload, or several smaller frames.
    public var maxWebSocketMessage: Int { RPCFrame.headerSize + maxFramePayload }
    /// The size of the pieces a sender cuts a larger message into (≤ `maxFramePayload`).
    public var chunkSize: Int
    /// Bytes of one whole message once its pieces are put together (a 50 MB APPEND fits).
    public var maxMessageBytes: Int
    /// Messages being put together at once on one connection.
    public var maxAssembling: Int
    /// Requests a client has in flight on one connection, and a server runs for one connection.
    public var maxInFlight: Int
    /// Bytes of one string field (folder names, subjects, addresses, keywords).
    public var maxStringBytes: Int
    /// Elements of one list or map field.
    public var maxElements: Int

    public init(maxFramePayload: Int = 1 << 20, chunkSize: Int = 256 * 1024, maxMessageBytes: Int = 96 << 20, maxAssembling: Int = 64,
                maxInFlight: Int = 512, maxStringBytes: Int = 1 << 20, maxElements: Int = 4_000_000) {
        self.maxFramePayload = maxFramePayload; self.chunkSize = min(chunkSize, maxFramePayload); self.maxMessageBytes = maxMessageBytes
        self.maxAssembling = maxAssembling; self.maxInFlight = maxInFlight; self.maxStringBytes = maxStringBytes; self.maxElements = maxElements
    }

    public static let `default` = RPCLimits()
}

/// A frame or payload that breaks the protocol: the peer is told (error frame) or, when the frame
/// cannot be read at all, the connection closes. Never carries message bytes or secrets.
public struct RPCProtocolError: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: RPCErrorCode
    public var detail: String
    public init(_ detail: String, code: RPCErrorCode = .badRequest) { self.code = code; self.detail = detail }
    public var description: String { "cluster RPC: \(detail)" }
}

/// One whole message, its pieces put together.
public struct RPCMessage: Sendable, Hashable {
    public var kind: RPCFrame.Kind
    public var id: UInt32
    public var method: UInt16
    public var payload: [UInt8]
    public init(kind: RPCFrame.Kind, id: UInt32, method: UInt16, payload: [UInt8]) {
        self.kind = kind; self.id = id; self.method = method; self.payload = payload
    }
}

/// Puts messages together from frames (one assembler per connection and direction), within
/// `maxMessageBytes` per message and `maxAssembling` messages at once.
public struct RPCAssembler: Sendable {
    struct Partial: Sendable { var kind: RPCFrame.Kind; var method: UInt16; var payload: [UInt8] }
    public let limits: RPCLimits
    var partials: [UInt32: Partial] = [:]

    public init(limits: RPCLimits) { self.limits = limits }

    /// How many messages are half received.
    public var assembling: Int { partials.count }

    /// The message `frame` completes (nil while pieces are missing). A cancel frame is a message
    /// of its own and drops what was gathered for its id.
    public mutating func add(_ frame: RPCFrame) throws -> RPCMessage? {
        switch frame.kind {
        case .streamChunk, .streamEnd:
            guard var partial = partials[frame.id] else { throw RPCProtocolError("stream piece for no message") }
            guard partial.payload.count + frame.payload.count <= limits.maxMessageBytes else {
                partials[frame.id] = nil
                throw RPCProtocolError("message over \(limits.maxMessageBytes) bytes", code: .tooLarge)
            }
            partial.payload.append(contentsOf: frame.payload)
            if frame.kind == .streamEnd {
                partials[frame.id] = nil
                return RPCMessage(kind: partial.kind, id: frame.id, method: partial.method, payload: partial.payload)
            }
            partials[frame.id] = partial
            return nil
        case .cancel:
            partials[frame.id] = nil
            return RPCMessage(kind: .cancel, id: frame.id, method: frame.method, payload: [])
        case .request, .response, .error, .push:
            guard partials[frame.id] == nil else { throw RPCProtocolError("new message for an id still being received") }
            if frame.more {
                guard partials.count < limits.maxAssembling else { throw RPCProtocolError("too many messages being received at once", code: .busy) }
                partials[frame.id] = Partial(kind: frame.kind, method: frame.method, payload: frame.payload)
                return nil
            }
            return RPCMessage(kind: frame.kind, id: frame.id, method: frame.method, payload: frame.payload)
        }
    }
}

/// The error codes of an error frame: the first ones are `MailStoreError`'s kinds (the frontend
/// rethrows the same error the local service threw), the others the protocol's own.
public enum RPCErrorCode: UInt8, Sendable, CaseIterable {
    case authenticationFailed = 1, noSuchFolder, folderExists, invalidFolderName, cannotDeleteInbox
    case overQuota, noMailbox, notStored, messageTooLarge, mailboxClosed, lastPassword, noSuchPassword
    case noSuchMessage, insufficientStorage, unavailable
    /// The request could not be decoded (or broke a limit).
    case badRequest = 100
    case unknownMethod = 101
    case unsupportedVersion = 102
    /// The session or reader handle is not (or no longer) open on this connection.
    case noSuchHandle = 103
    /// Any other failure on the storage node (its type only is logged there; no detail crosses).
    case internalError = 104
    case cancelled = 105
    case tooLarge = 106
    case busy = 107
}
