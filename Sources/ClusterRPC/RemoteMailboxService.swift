import ClusterRPCCore
import Foundation
import Logging
import MailboxAPI
import MailCore
import MIMEParser
import Synchronization

/// Which storage node holds what: the caller's to say (the lead implements it over the node
/// registry and the mailbox leases). Throw `MailStoreError(.unavailable)` when the placement is
/// unknown for now; `.authenticationFailed` (unlock) or `.noMailbox` when there is no such mailbox.
public protocol StorageRouter: Sendable {
    /// The node holding the mailbox of `address` (unlock, local delivery).
    func endpoint(forAddress address: EmailAddress) async throws -> StorageEndpoint
    /// The node holding mailbox `mailboxID` (inbound copies, quota checks).
    func endpoint(forMailboxID mailboxID: String) async throws -> StorageEndpoint
    /// Any reachable storage node: outbound jobs committed without a mailbox, `storageIsLow`.
    func anyEndpoint() async throws -> StorageEndpoint
}

/// One storage node for everything (a two-machine setup, the tests).
public struct SingleNodeRouter: StorageRouter {
    public let node: StorageEndpoint
    public init(_ node: StorageEndpoint) { self.node = node }
    public func endpoint(forAddress address: EmailAddress) async throws -> StorageEndpoint { node }
    public func endpoint(forMailboxID mailboxID: String) async throws -> StorageEndpoint { node }
    public func anyEndpoint() async throws -> StorageEndpoint { node }
}

/// The RPC clients of a frontend, one per storage node, made when first needed.
public final class RPCClientPool: Sendable {
    let tls: ClusterTLS
    let configuration: RPCClient.Configuration
    let logger: Logger
    let clients = Mutex<[StorageEndpoint: RPCClient]>([:])

    public init(tls: ClusterTLS, configuration: RPCClient.Configuration = .init(), logger: Logger) {
        self.tls = tls; self.configuration = configuration; self.logger = logger
    }

    public func client(_ endpoint: StorageEndpoint) -> RPCClient {
        clients.withLock { clients in
            if let c = clients[endpoint] { return c }
            let c = RPCClient(endpoint: endpoint, tls: tls, configuration: configuration, logger: logger)
            clients[endpoint] = c
            return c
        }
    }

    /// Closes every connection.
    public func closeAll() async {
        for c in clients.withLock({ Array($0.values) }) { await c.close() }
    }
}

/// `MailboxService` over the cluster RPC: what a frontend's IMAP, POP3, MX and HTTP use. Each
/// call goes to the storage node the router names; the node's errors come back as the same
/// `MailStoreError`; a node that cannot be reached is `MailStoreError(.unavailable)`.
///
/// `acceptInbound` with mailboxes on several nodes: one call per node, in parallel, each atomic on
/// its node; the outbound jobs go with the first mailbox's node (or `anyEndpoint()` when there are
/// no mailboxes). When one node fails, the call fails (`.unavailable`; the MX answers 451 and the
/// sender retries) even though other nodes may have committed their copies: the retry then
/// delivers those again. Across nodes, delivery is at least once, never lost after a 250.
public final class RemoteMailboxService: MailboxService {
    public let router: any StorageRouter
    public let pool: RPCClientPool

    public init(router: any StorageRouter, pool: RPCClientPool) {
        self.router = router; self.pool = pool
    }

    func client(_ endpoint: StorageEndpoint) -> RPCClient { pool.client(endpoint) }

    public func unlock(address: EmailAddress, password: String) async throws -> any MailboxSession {
        let client = client(try await router.endpoint(forAddress: address))
        var w = RPCWriter()
        w.address(address); w.string(password)
        let (payload, generation) = try await client.callWithGeneration(.unlock, w.bytes)
        var r = RPCReader(payload, limits: client.configuration.limits)
        let handle = try r.u64(), id = try r.uuid(), addr = try r.address(), mailboxID = try r.string(), passwordID = try r.string()
        try r.finish()
        return RemoteMailboxSession(client: client, handle: handle, generation: generation, id: id, address: addr,
                                    mailboxID: mailboxID, passwordID: passwordID)
    }

    public func deliver(to recipient: EmailAddress, message: [UInt8], internalDate: Date) async throws -> DeliveryOutcome {
        let client = client(try await router.endpoint(forAddress: recipient))
        var w = RPCWriter()
        w.address(recipient); w.bytes(message); w.date(internalDate)
        var r = RPCReader(try await client.call(.deliver, w.bytes), limits: client.configuration.limits)
        let outcome = try r.deliveryOutcome()
        try r.finish()
        return outcome
    }

    @discardableResult
    public func acceptInbound(message: [UInt8], prefix: [UInt8], internalDate: Date, mailboxes: [InboundMailbox],
                              jobs: [OutboundJob]) async throws -> [Int64] {
        // Group by node, in the order the mailboxes came; the jobs ride with the first group.
        var groups: [(endpoint: StorageEndpoint, mailboxes: [InboundMailbox])] = []
        for m in mailboxes {
            let e = try await router.endpoint(forMailboxID: m.mailboxID)
            if let i = groups.firstIndex(where: { $0.endpoint == e }) { groups[i].mailboxes.append(m) } else { groups.append((e, [m])) }
        }
        if groups.isEmpty {
            guard !jobs.isEmpty else { return [] }
            groups.append((try await router.anyEndpoint(), []))
        }
        let calls = groups.enumerated().map { (i, g) in (client(g.endpoint), g.mailboxes, i == 0 ? jobs : []) }
        return try await withThrowingTaskGroup(of: (Int, [Int64]).self) { group in
            for (i, (client, boxes, jobs)) in calls.enumerated() {
                group.addTask {
                    var w = RPCWriter()
                    w.bytes(message); w.bytes(prefix); w.date(internalDate)
                    w.array(boxes) { $0.inboundMailbox($1) }
                    w.array(jobs) { $0.outboundJob($1) }
                    var r = RPCReader(try await client.call(.acceptInbound, w.bytes), limits: client.configuration.limits)
                    let ids = try r.array(minSize: 8) { try $0.i64() }
                    try r.finish()
                    return (i, ids)
                }
            }
            var jobIDs: [Int64] = []
            for try await (i, ids) in group where i == 0 { jobIDs = ids }
            return jobIDs
        }
    }

    public func storedBytes(mailboxID: String) async throws -> Int64 {
        let client = client(try await router.endpoint(forMailboxID: mailboxID))
        var w = RPCWriter()
        w.string(mailboxID)
        var r = RPCReader(try await client.call(.storedBytes, w.bytes), limits: client.configuration.limits)
        let n = try r.i64()
        try r.finish()
        return n
    }

    /// Asks one storage node (`anyEndpoint()`); false when none answers (the commit then fails
    /// on its own, with 451).
    public func storageIsLow() async -> Bool {
        guard let endpoint = try? await router.anyEndpoint(),
              let payload = try? await client(endpoint).call(.storageIsLow, []) else { return false }
        return payload == [1]
    }
}

/// A session on a storage node, used from a frontend. Lives as long as the connection it was
/// opened on: once that drops, its calls fail with `.mailboxClosed` and `isStillAuthorized()` is
/// false, so the protocol session ends and the user logs in again (through any frontend).
public final class RemoteMailboxSession: MailboxSession {
    public let id: UUID
    public let address: EmailAddress
    public let mailboxID: String
    public let passwordID: String
    let client: RPCClient
    let handle: UInt64
    let generation: Int
    let closed = Mutex(false)

    init(client: RPCClient, handle: UInt64, generation: Int, id: UUID, address: EmailAddress, mailboxID: String, passwordID: String) {
        self.client = client; self.handle = handle; self.generation = generation
        self.id = id; self.address = address; self.mailboxID = mailboxID; self.passwordID = passwordID
    }

    var limits: RPCLimits { client.configuration.limits }

    /// Calls a session method: the handle, then what `write` adds; the answer to `read`.
    func call<T>(_ method: RPCMethod, _ write: (inout RPCWriter) -> Void = { _ in },
                 _ read: (inout RPCReader) throws -> T) async throws -> T {
        guard !closed.withLock({ $0 }) else { throw MailStoreError(.mailboxClosed, "session closed") }
        guard await client.generation == generation else {
            throw MailStoreError(.mailboxClosed, "the connection to the storage node was lost; log in again")
        }
        var w = RPCWriter()
        w.u64(handle)
        write(&w)
        let (payload, generation) = try await client.callWithGeneration(method, w.bytes)
        guard generation == self.generation else { throw MailStoreError(.mailboxClosed, "the connection to the storage node was lost; log in again") }
        var r = RPCReader(payload, limits: limits)
        let value = try read(&r)
        try r.finish()
        return value
    }

    func call(_ method: RPCMethod, _ write: (inout RPCWriter) -> Void = { _ in }) async throws {
        try await call(method, write) { _ in () }
    }

    public func folders() async throws -> [FolderInfo] { try await call(.folders) { try $0.array(minSize: 30) { try $0.folderInfo() } } }
    public func folder(_ path: String) async throws -> FolderInfo? {
        try await call(.folder, { $0.string(path) }) { try $0.optional { try $0.folderInfo() } }
    }
    public func createFolder(_ path: String, specialUse: SpecialUse?) async throws -> FolderInfo {
        try await call(.createFolder, { $0.string(path); $0.optionalString(specialUse?.rawValue) }) { try $0.folderInfo() }
    }
    public func renameFolder(_ from: String, to: String) async throws { try await call(.renameFolder) { $0.string(from); $0.string(to) } }
    public func deleteFolder(_ path: String) async throws { try await call(.deleteFolder) { $0.string(path) } }
    public func setSubscribed(_ path: String, _ subscribed: Bool) async throws {
        try await call(.setSubscribed) { $0.string(path); $0.bool(subscribed) }
    }
    public func subscriptions() async throws -> [String] { try await call(.subscriptions) { try $0.strings() } }

    public func append(to folder: String, message: [UInt8], flags: MessageFlags, keywords: [String], internalDate: Date?) async throws -> AppendResult {
        let request = AppendRequest(folder: folder, message: message, flags: flags, keywords: keywords, internalDate: internalDate)
        return try await call(.append, { $0.appendRequest(request) }) { try $0.appendResult() }
    }
    public func append(_ batch: [AppendRequest]) async throws -> [Result<AppendResult, MailStoreError>] {
        try await call(.appendBatch, { w in w.array(batch) { $0.appendRequest($1) } }) { r in
            try r.array(minSize: 3) { r -> Result<AppendResult, MailStoreError> in
                switch try r.u8() {
                case 0: return .success(try r.appendResult())
                case 1: return .failure(try r.mailStoreError())
                default: throw RPCProtocolError("bad result tag")
                }
            }
        }
    }
    public func appendAll(_ batch: [AppendRequest]) async throws -> [AppendResult] {
        try await call(.appendAll, { w in w.array(batch) { $0.appendRequest($1) } }) { try $0.array(minSize: 8) { try $0.appendResult() } }
    }
    public func replace(in folder: String, uid: UID, with request: AppendRequest) async throws -> AppendResult {
        try await call(.replace, { $0.string(folder); $0.u32(uid); $0.appendRequest(request) }) { try $0.appendResult() }
    }
    public func messages(in folder: String, uids: UIDSet?, changedSince: Int64?) async throws -> [MessageRecord] {
        try await call(.messages, { $0.string(folder); $0.optionalUIDSet(uids); $0.optionalI64(changedSince) }) { try $0.records() }
    }
    public func messageStates(in folder: String, uids: UIDSet?, changedSince: Int64?) async throws -> [MessageRecord] {
        try await call(.messageStates, { $0.string(folder); $0.optionalUIDSet(uids); $0.optionalI64(changedSince) }) { try $0.records() }
    }
    public func messageBytes(in folder: String, uid: UID) async throws -> [UInt8]? {
        try await call(.messageBytes, { $0.string(folder); $0.u32(uid) }) { try $0.optionalBytes() }
    }
    public func messageStates(in folder: String, uids: UIDSet?, changedSince: Int64?, prefetch: BytesPrefetch) async throws
        -> (records: [MessageRecord], bytes: [UID: [UInt8]]) {
        try await call(.messageStatesPrefetch, { $0.string(folder); $0.optionalUIDSet(uids); $0.optionalI64(changedSince); $0.prefetch(prefetch) }) {
            (records: try $0.records(), bytes: try $0.uidBytes())
        }
    }
    public func messageStates(in folder: String, uids: UIDSet, changedSince: Int64?, derived kinds: [String]) async throws
        -> (records: [MessageRecord], derived: [String: [UID: [UInt8]]]) {
        try await call(.messageStatesDerived, { $0.string(folder); $0.uidSet(uids); $0.optionalI64(changedSince); $0.strings(kinds) }) {
            (records: try $0.records(), derived: try $0.derived())
        }
    }
    public func messageBytes(in folder: String, uids: UIDSet, prefetch: BytesPrefetch) async throws -> [UID: [UInt8]] {
        try await call(.messageBytesPrefetch, { $0.string(folder); $0.uidSet(uids); $0.prefetch(prefetch) }) { try $0.uidBytes() }
    }
    public func messageReader(in folder: String, uid: UID) async throws -> MessageReader? {
        let opened: (UInt64, Int)? = try await call(.readerOpen, { $0.string(folder); $0.u32(uid) }) { r in
            try r.optional { (try $0.u64(), try $0.nonNegative()) }
        }
        guard let (reader, size) = opened else { return nil }
        let client = self.client, limits = self.limits
        let done = Mutex(false)
        return MessageReader(size: size) {
            guard !done.withLock({ $0 }) else { return nil }
            var w = RPCWriter()
            w.u64(reader)
            var r = RPCReader(try await client.call(.readerNext, w.bytes), limits: limits)
            let piece = try r.bytes()
            try r.finish()
            if piece.isEmpty { done.withLock { $0 = true }; return nil }
            return piece
        }
    }
    public func structures(in folder: String, uids: UIDSet) async throws -> [UID: MessageStructure] {
        try await call(.structures, { $0.string(folder); $0.uidSet(uids) }) { r in
            let pairs: [(UID, MessageStructure)] = try r.array(minSize: 8) { r in
                let uid = try r.u32()
                guard let s = MessageStructure(encoded: try r.bytes()) else { throw RPCProtocolError("unreadable message structure") }
                return (uid, s)
            }
            return Dictionary(pairs, uniquingKeysWith: { a, _ in a })
        }
    }
    public func messageHeaders(in folder: String, uids: UIDSet) async throws -> [UID: [UInt8]] {
        try await call(.messageHeaders, { $0.string(folder); $0.uidSet(uids) }) { try $0.uidBytes() }
    }
    public func derived(_ kinds: [String], in folder: String, uids: UIDSet) async throws -> [String: [UID: [UInt8]]] {
        try await call(.derived, { $0.strings(kinds); $0.string(folder); $0.uidSet(uids) }) { try $0.derived() }
    }
    public func keepDerived(_ kind: String, in folder: String, values: [UID: [UInt8]]) async throws {
        try await call(.keepDerived) { $0.string(kind); $0.string(folder); $0.uidBytes(values) }
    }
    public func storeFlags(in folder: String, uids: UIDSet, operation: FlagOperation, flags: MessageFlags, keywords: [String],
                           unchangedSince: Int64?) async throws -> StoreResult {
        try await call(.storeFlags, {
            $0.string(folder); $0.uidSet(uids); $0.flagOperation(operation); $0.int(flags.rawValue); $0.strings(keywords); $0.optionalI64(unchangedSince)
        }) { try $0.storeResult() }
    }
    public func copy(from source: String, uids: UIDSet, to target: String) async throws -> CopyResult {
        try await call(.copy, { $0.string(source); $0.uidSet(uids); $0.string(target) }) { try $0.copyResult() }
    }
    public func move(from source: String, uids: UIDSet, to target: String) async throws -> CopyResult {
        try await call(.move, { $0.string(source); $0.uidSet(uids); $0.string(target) }) { try $0.copyResult() }
    }
    /// `expungeWithModSeq` (67); `expunge` (63, the UIDs alone) is still answered for older frontends.
    public func expunge(in folder: String, uids: UIDSet?) async throws -> (uids: [UID], modSeq: Int64?) {
        try await call(.expungeWithModSeq, { $0.string(folder); $0.optionalUIDSet(uids) }) { (try $0.uids(), try $0.optionalI64()) }
    }
    public func expunged(in folder: String, since modSeq: Int64) async throws -> [UID] {
        try await call(.expunged, { $0.string(folder); $0.i64(modSeq) }) { try $0.uids() }
    }
    public func changes(in folder: String, since modSeq: Int64) async throws -> FolderChanges {
        try await call(.changesSince, { $0.string(folder); $0.i64(modSeq) }) { try $0.folderChanges() }
    }
    public func expungeHistoryStart(in folder: String) async throws -> Int64 {
        try await call(.expungeHistoryStart, { $0.string(folder) }) { try $0.i64() }
    }
    public func status(of folder: String) async throws -> FolderStatus {
        try await call(.status, { $0.string(folder) }) { try $0.folderStatus() }
    }
    public func claimRecent(in folder: String) async throws -> [UID] {
        try await call(.claimRecent, { $0.string(folder) }) { try $0.uids() }
    }
    public func fullTextSearch(in folder: String, text: String, field: FullTextField) async throws -> [UID]? {
        try await call(.fullTextSearch, { $0.string(folder); $0.string(text); $0.string(field.rawValue) }) { try $0.optional { try $0.uids() } }
    }
    public func searchFields(in folder: String, uids: UIDSet?, includeHeader: Bool) async throws -> [MessageSearchFields] {
        try await call(.searchFields, { $0.string(folder); $0.optionalUIDSet(uids); $0.bool(includeHeader) }) {
            try $0.array(minSize: 10) { try $0.searchFields() }
        }
    }
    public func searchFields(in folder: String, excluding known: UIDSet) async throws -> (existing: [UID], fields: [MessageSearchFields]) {
        try await call(.searchFieldsExcluding, { $0.string(folder); $0.uidSet(known) }) { r in
            let existing = try r.uidSet()
            guard existing.uidCount <= r.limits.maxElements else { throw RPCProtocolError("UID set over the limit", code: .tooLarge) }
            return (existing.ranges.flatMap { Array($0) }, try r.array(minSize: 10) { try $0.searchFields() })
        }
    }
    public func sentDays(in folder: String) async throws -> [UID: Int] {
        try await call(.sentDays, { $0.string(folder) }) { r in
            let pairs: [(UID, Int)] = try r.array(minSize: 12) { (try $0.u32(), try $0.int()) }
            return Dictionary(pairs, uniquingKeysWith: { a, _ in a })
        }
    }
    /// False once the connection the session rode on is gone (the session cannot come back) or
    /// when the storage node says so; true when the node is only slow to answer.
    public func isStillAuthorized() async -> Bool {
        do {
            return try await call(.isStillAuthorized) { try $0.bool() }
        } catch let error as MailStoreError where error.code == .mailboxClosed {
            return false
        } catch {
            return await client.generation == generation
        }
    }
    public func quota() async throws -> (used: Int64, limit: Int64?) {
        try await call(.quota) { (used: try $0.i64(), limit: try $0.optionalI64()) }
    }

    /// The storage node's changes, pushed (a delivery made on any frontend or on the node itself
    /// shows here at once). The stream ends when the connection drops. Every session of this
    /// frontend watching the same mailbox and folder shares one subscription on the storage node
    /// (`RPCClient.watch`): one push per change reaches this frontend, however many watch.
    public func changes(folder: String?) -> AsyncStream<MailboxChange> {
        let (stream, continuation) = AsyncStream<MailboxChange>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        guard !closed.withLock({ $0 }) else {
            continuation.finish()
            return stream
        }
        let client = self.client, handle = self.handle, generation = self.generation, mailboxID = self.mailboxID
        let token = UInt64.random(in: 1 ... .max)
        let task = Task {
            await client.watch(handle: handle, generation: generation, mailboxID: mailboxID, folder: folder, token: token, continuation: continuation)
        }
        continuation.onTermination = { _ in
            // Cancelled first: a watch that has not run yet then adds nothing.
            task.cancel()
            Task { await client.unwatch(generation: generation, mailboxID: mailboxID, folder: folder, token: token) }
        }
        return stream
    }

    public func close() async {
        guard !closed.withLock({ let was = $0; $0 = true; return was }) else { return }
        await client.unwatchSession(handle, generation: generation)
        guard await client.generation == generation else { return }
        var w = RPCWriter()
        w.u64(handle)
        _ = try? await client.call(.close, w.bytes)
    }
}
