import ClusterRegistry
import ClusterRPC
import Directory
import Foundation
import MailboxAPI
import MailCore
import Synchronization

/// Where a frontend's calls go (issue 19): the owner of a mailbox as the node registry places it,
/// looked up through the directory for an address. Answers are kept for `cacheFor` (a mailbox
/// that moved is found again within that time; the calls in between fail as unavailable and the
/// clients retry). The registry or directory away: `MailStoreError(.unavailable)`.
///
/// The address → mailbox step is cached too (only addresses that have a stored mailbox, at most
/// `maxCachedAddresses`): a login within `cacheFor` of the last one for the address costs no
/// directory round trip, only the unlock. It only routes: the storage node checks the address and
/// the password itself, so an alias deleted or moved meanwhile is refused there as it would be
/// here (an unknown address is never cached: one created a moment ago is found at once).
public final class RegistryRouter: StorageRouter {
    public let directory: any MailDirectory
    public let registry: any ClusterRegistry
    /// A node heard from within this many seconds takes new mailboxes.
    public let liveWithin: TimeInterval
    public let cacheFor: TimeInterval
    struct Cached<T: Sendable>: Sendable { var value: T; var until: Date }
    let placements = Mutex<[String: Cached<StorageEndpoint>]>([:])
    let nodes = Mutex<Cached<[String: NodeRecord]>?>(nil)
    let any = Mutex<Cached<StorageEndpoint>?>(nil)
    let mailboxOfAddress = Mutex<[String: Cached<String>]>([:])
    static let maxCachedAddresses = 100_000

    public init(directory: any MailDirectory, registry: any ClusterRegistry, liveWithin: TimeInterval, cacheFor: TimeInterval = 2) {
        self.directory = directory; self.registry = registry; self.liveWithin = liveWithin; self.cacheFor = cacheFor
    }

    /// The node holding the address's mailbox; an address without one goes to any storage node,
    /// which answers as for a wrong password (and spends the same time on it).
    public func endpoint(forAddress address: EmailAddress) async throws -> StorageEndpoint {
        let now = Date(), key = address.canonical
        if let hit = mailboxOfAddress.withLock({ $0[key] }), hit.until > now { return try await endpoint(forMailboxID: hit.value) }
        let alias: AliasRecord?
        do { alias = try await directory.alias(address: address) } catch {
            throw MailStoreError(.unavailable, "the directory cannot be reached")
        }
        guard let mailboxID = alias?.mailboxID, alias?.store == true else { return try await anyEndpoint() }
        mailboxOfAddress.withLock { cache in
            if cache.count >= Self.maxCachedAddresses { cache = cache.filter { $0.value.until > now } }
            if cache.count >= Self.maxCachedAddresses { cache.removeAll() }
            cache[key] = Cached(value: mailboxID, until: now.addingTimeInterval(cacheFor))
        }
        return try await endpoint(forMailboxID: mailboxID)
    }

    public func endpoint(forMailboxID mailboxID: String) async throws -> StorageEndpoint {
        let now = Date()
        if let hit = placements.withLock({ $0[mailboxID] }), hit.until > now { return hit.value }
        let placement: MailboxPlacement?
        do { placement = try await registry.placement(mailboxID: mailboxID) } catch {
            throw MailStoreError(.unavailable, "the node registry cannot be reached")
        }
        guard let placement else { throw MailStoreError(.unavailable, "the mailbox is on no storage node yet") }
        guard let node = try await node(id: placement.nodeID), let endpoint = Self.endpoint(node) else {
            throw MailStoreError(.unavailable, "the mailbox's storage node is not registered")
        }
        placements.withLock { $0[mailboxID] = Cached(value: endpoint, until: now.addingTimeInterval(cacheFor)) }
        return endpoint
    }

    public func anyEndpoint() async throws -> StorageEndpoint {
        let now = Date()
        if let hit = any.withLock({ $0 }), hit.until > now { return hit.value }
        let record: NodeRecord
        do { record = try await registry.chooseNode(named: nil, liveWithin: liveWithin) } catch {
            throw MailStoreError(.unavailable, "no storage node is available")
        }
        guard let endpoint = Self.endpoint(record) else { throw MailStoreError(.unavailable, "no storage node is available") }
        any.withLock { $0 = Cached(value: endpoint, until: now.addingTimeInterval(cacheFor)) }
        return endpoint
    }

    func node(id: String) async throws -> NodeRecord? {
        let now = Date()
        if let hit = nodes.withLock({ $0 }), hit.until > now, let node = hit.value[id] { return node }
        let all: [NodeRecord]
        do { all = try await registry.nodes() } catch { throw MailStoreError(.unavailable, "the node registry cannot be reached") }
        let byID = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        nodes.withLock { $0 = Cached(value: byID, until: now.addingTimeInterval(cacheFor)) }
        return byID[id]
    }

    /// A registered storage node's RPC endpoint: dialled at its address, checked against its name.
    static func endpoint(_ node: NodeRecord) -> StorageEndpoint? {
        guard node.role.holdsMailboxes, let (host, port) = ClusterSettings.hostPort(node.rpcAddress) else { return nil }
        return StorageEndpoint(name: node.name, host: host, port: port)
    }
}
