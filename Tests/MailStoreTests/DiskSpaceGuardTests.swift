import Directory
import Foundation
import MailboxAPI
import MailCore
import MailStore
import SQLiteCipher
import Synchronization
import Testing

/// Issue 15 item 3: below the free-space floor nothing new is stored.
@Suite("Free-space floor")
struct DiskSpaceGuardTests {
    final class FakeDisk: Sendable {
        let free = Mutex<Int64>(10 << 30)
        let crossings = Mutex<[Bool]>([])
    }

    @Test("low below the floor, measured at most once per interval, each crossing reported once; the default floor")
    func crossing() {
        let disk = FakeDisk()
        let guardian = DiskSpaceGuard(path: "/", floor: 1 << 30, interval: .seconds(1),
                                      measure: { _ in .init(free: disk.free.withLock { $0 }, total: 100 << 30) },
                                      onChange: { low, _, _ in disk.crossings.withLock { $0.append(low) } })
        let t0 = ContinuousClock.now
        #expect(!guardian.isLow(now: t0))
        disk.free.withLock { $0 = 512 << 20 }
        #expect(!guardian.isLow(now: t0 + .milliseconds(500)))  // not measured again yet
        #expect(guardian.isLow(now: t0 + .seconds(2)))
        #expect(guardian.isLow(now: t0 + .seconds(4)))
        disk.free.withLock { $0 = 2 << 30 }
        #expect(!guardian.isLow(now: t0 + .seconds(6)))
        #expect(disk.crossings.withLock { $0 } == [true, false])
        #expect(DiskSpaceGuard.defaultFloor(total: 10 << 30) == (10 << 30) / 20)
        #expect(DiskSpaceGuard.defaultFloor(total: 1 << 40) == 2 << 30)
        #expect(DiskSpaceGuard.statfs(NSTemporaryDirectory()).map { $0.total > 0 && $0.free >= 0 } == true)
    }

    @Test("a full disk: APPEND, COPY and the MX's commit are refused with insufficientStorage; reading goes on")
    func refusals() async throws {
        let dir = TemporaryDirectory()
        let key = SecretBytes.random(count: 32)
        let directory = try SQLiteDirectory(path: dir.path + "/directory.sqlite", key: key)
        let service = LocalMailboxService(storageRoot: dir.path + "/mailboxes", directory: directory,
                                          queue: try SealedQueue(path: dir.path + "/queue.sqlite", key: key))
        _ = try await directory.addDomain(try Domain("example.com"))
        let alias = try await directory.addAlias(try EmailAddress("u@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let password = try await service.createMailbox(for: alias, label: nil).password
        let session = try await service.unlock(address: alias.address, password: password)
        _ = try await session.append(to: "INBOX", message: sampleMessage(subject: "before"), flags: [], keywords: [], internalDate: nil)
        let disk = FakeDisk()
        disk.free.withLock { $0 = 1 << 20 }
        service.spaceGuard = DiskSpaceGuard(path: dir.path, floor: 1 << 30, measure: { _ in .init(free: disk.free.withLock { $0 }, total: 100 << 30) })
        #expect(await service.storageIsLow())
        let full = MailStoreError(.insufficientStorage, "the server is low on disk space")
        await #expect(throws: full) { _ = try await session.append(to: "INBOX", message: sampleMessage(subject: "x"), flags: [], keywords: [], internalDate: nil) }
        await #expect(throws: full) { _ = try await session.copy(from: "INBOX", uids: UIDSet(1...1), to: "Archive") }
        await #expect(throws: full) {
            _ = try await service.acceptInbound(message: sampleMessage(subject: "mx"), internalDate: Date(),
                                                mailboxes: [InboundMailbox(mailboxID: alias.mailboxID ?? "", publicKey: [])], jobs: [])
        }
        #expect(try await session.messages(in: "INBOX", uids: nil, changedSince: nil).count == 1)
        await session.close()
    }
}
