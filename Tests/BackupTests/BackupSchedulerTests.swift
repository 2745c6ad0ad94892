import Foundation
import Logging
@testable import SealboxApp
import ServiceLifecycle
import Testing

@Suite("backup schedule")
struct BackupSchedulerTests {
    @Test("each mailbox has a fixed slot in the interval: the same across restarts, spread across mailboxes")
    func slots() {
        let day = Duration.seconds(86_400)
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        let ids = (0..<200).map { _ in UUID().uuidString.lowercased() }
        var offsets: [Double] = []
        for id in ids {
            let slot = BackupScheduler.nextSlot(mailboxID: id, interval: day, after: now)
            #expect(slot >= now && slot < now.addingTimeInterval(86_400))
            // Deterministic, and one interval later comes the next one.
            #expect(BackupScheduler.nextSlot(mailboxID: id, interval: day, after: now) == slot)
            #expect(BackupScheduler.nextSlot(mailboxID: id, interval: day, after: slot.addingTimeInterval(1)) == slot.addingTimeInterval(86_400))
            offsets.append(slot.timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400))
        }
        // Spread: 200 mailboxes over 24 hours land in at least 18 different hours.
        #expect(Set(offsets.map { Int($0 / 3600) }).count >= 18)
    }

    /// Issue 15 item 12: with a backup destination set, `serve` stopped only after the schedule's
    /// 30 s tick (or the upload under way) ran out.
    @Test("a graceful shutdown ends the schedule at once, not after its tick")
    func shutdown() async throws {
        let h = try await BackupHarness()
        let scheduler = BackupScheduler(service: try h.service(), interval: .seconds(86_400), logger: Logger(label: "test"), tick: .seconds(3600))
        let group = ServiceGroup(configuration: .init(services: [.init(service: scheduler)], logger: Logger(label: "test")))
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(300))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(ContinuousClock.now - started < .seconds(60))  // not the hour of its tick
        await h.cleanUp()
    }
}
