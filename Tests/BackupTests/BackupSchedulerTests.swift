import Foundation
@testable import SealboxApp
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
}
