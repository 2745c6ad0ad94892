import ClusterRPCCore
import Foundation
import MailboxAPI
import MailCore

/// One file of a mailbox being moved: the suffix after the mailbox file's path ("" for the file
/// itself, "-wal"…), its size and SHA-256 (hex).
public struct MovedFile: Sendable, Hashable {
    public var suffix: String
    public var size: Int64
    public var sha256: String
    public init(suffix: String, size: Int64, sha256: String) { self.suffix = suffix; self.size = size; self.sha256 = sha256 }
}

/// What a storage node does for the cluster beyond serving mailboxes (docs/cluster.md): make a new
/// mailbox that the placement put on it, move one of its mailboxes to another node, and receive
/// one moved to it. Errors are `MailStoreError`s (their kind crosses the RPC).
public protocol StorageNodeAdmin: Sendable {
    /// Makes the mailbox of the storing alias `aliasID` here (its first password, returned once).
    func createMailbox(aliasID: String, label: String?) async throws -> (password: String, passwordID: String)
    /// Moves a mailbox this node owns to the node named `target`; a summary line.
    func moveOut(mailboxID: String, target: String) async throws -> String
    /// A move into this node: the files to expect, the mail queued for the mailbox, and the source
    /// queue's high-water mark (new mail here is numbered above it). Returns a transfer handle.
    func receiveBegin(mailboxID: String, files: [MovedFile], queueSequence: Int64) async throws -> UInt64
    func receiveChunk(_ handle: UInt64, file: Int, offset: Int64, bytes: [UInt8]) async throws
    func receiveQueued(_ handle: UInt64, blobs: [[UInt8]]) async throws
    /// Checks every file's size and SHA-256 and puts the mailbox in place (still unplaced here: the
    /// source moves the lease next).
    func receiveCommit(_ handle: UInt64) async throws
    /// Forgets a transfer (and removes what `receiveCommit` put in place, while the lease has not moved).
    func receiveAbort(_ handle: UInt64) async
    /// Mail that reached the source's queue during the move, after the lease moved.
    func receiveLate(mailboxID: String, blobs: [[UInt8]]) async throws
}

/// The wire side of `StorageNodeAdmin`: the storage node's decoding and the caller's encoding.
enum StorageNodeAdminCodec {
    static func dispatch(_ method: RPCMethod, _ admin: any StorageNodeAdmin, _ r: inout RPCReader, _ w: inout RPCWriter) async throws {
        switch method {
        case .createMailbox:
            let aliasID = try r.string(), label = try r.optional { try $0.string() }
            try r.finish()
            let (password, id) = try await admin.createMailbox(aliasID: aliasID, label: label)
            w.string(password); w.string(id)
        case .moveOut:
            let mailboxID = try r.string(), target = try r.string()
            try r.finish()
            w.string(try await admin.moveOut(mailboxID: mailboxID, target: target))
        case .receiveBegin:
            let mailboxID = try r.string()
            let files = try r.array(minSize: 12) { r in MovedFile(suffix: try r.string(), size: try r.i64(), sha256: try r.string()) }
            let sequence = try r.i64()
            try r.finish()
            w.u64(try await admin.receiveBegin(mailboxID: mailboxID, files: files, queueSequence: sequence))
        case .receiveChunk:
            let handle = try r.u64(), file = try r.u32(), offset = try r.i64(), bytes = try r.bytes()
            try r.finish()
            try await admin.receiveChunk(handle, file: Int(file), offset: offset, bytes: bytes)
        case .receiveQueued:
            let handle = try r.u64(), blobs = try r.array(minSize: 4) { try $0.bytes() }
            try r.finish()
            try await admin.receiveQueued(handle, blobs: blobs)
        case .receiveCommit:
            let handle = try r.u64()
            try r.finish()
            try await admin.receiveCommit(handle)
        case .receiveAbort:
            let handle = try r.u64()
            try r.finish()
            await admin.receiveAbort(handle)
        case .receiveLate:
            let mailboxID = try r.string(), blobs = try r.array(minSize: 4) { try $0.bytes() }
            try r.finish()
            try await admin.receiveLate(mailboxID: mailboxID, blobs: blobs)
        default:
            throw RPCProtocolError("not an administration method", code: .unknownMethod)
        }
    }
}

/// A storage node's administration, called over the RPC (`StorageNodeAdmin` on another node).
public struct RemoteStorageNodeAdmin: StorageNodeAdmin {
    public let client: RPCClient
    /// How long a whole-file step may take (a big chunk on a slow link).
    let timeout: Duration

    public init(client: RPCClient, timeout: Duration = .seconds(600)) { self.client = client; self.timeout = timeout }

    func call(_ method: RPCMethod, _ write: (inout RPCWriter) -> Void) async throws -> RPCReader {
        var w = RPCWriter()
        write(&w)
        return RPCReader(try await client.call(method, w.bytes, timeout: timeout), limits: client.configuration.limits)
    }

    public func createMailbox(aliasID: String, label: String?) async throws -> (password: String, passwordID: String) {
        var r = try await call(.createMailbox) { $0.string(aliasID); $0.optional(label) { $0.string($1) } }
        let result = (try r.string(), try r.string())
        try r.finish()
        return result
    }

    public func moveOut(mailboxID: String, target: String) async throws -> String {
        var r = try await call(.moveOut) { $0.string(mailboxID); $0.string(target) }
        let line = try r.string()
        try r.finish()
        return line
    }

    public func receiveBegin(mailboxID: String, files: [MovedFile], queueSequence: Int64) async throws -> UInt64 {
        var r = try await call(.receiveBegin) { w in
            w.string(mailboxID)
            w.array(files) { w, f in w.string(f.suffix); w.i64(f.size); w.string(f.sha256) }
            w.i64(queueSequence)
        }
        let handle = try r.u64()
        try r.finish()
        return handle
    }

    public func receiveChunk(_ handle: UInt64, file: Int, offset: Int64, bytes: [UInt8]) async throws {
        _ = try await call(.receiveChunk) { $0.u64(handle); $0.u32(UInt32(file)); $0.i64(offset); $0.bytes(bytes) }
    }

    public func receiveQueued(_ handle: UInt64, blobs: [[UInt8]]) async throws {
        _ = try await call(.receiveQueued) { $0.u64(handle); $0.array(blobs) { $0.bytes($1) } }
    }

    public func receiveCommit(_ handle: UInt64) async throws {
        _ = try await call(.receiveCommit) { $0.u64(handle) }
    }

    public func receiveAbort(_ handle: UInt64) async {
        _ = try? await call(.receiveAbort) { $0.u64(handle) }
    }

    public func receiveLate(mailboxID: String, blobs: [[UInt8]]) async throws {
        _ = try await call(.receiveLate) { $0.string(mailboxID); $0.array(blobs) { $0.bytes($1) } }
    }
}
