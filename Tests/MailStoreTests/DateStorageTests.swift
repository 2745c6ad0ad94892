import Foundation
@testable import MailStore
import Testing

@Suite("Stored dates")
struct DateStorageTests {
    @Test("the fast reader of stored dates agrees with Foundation's, and refuses other forms")
    func fastISOAgrees() throws {
        var state: UInt64 = 12345
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 20 }
        var dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -1), Date(timeIntervalSince1970: 951_782_400),  // 2000-02-29
                     Date(timeIntervalSince1970: -2_208_988_800), Date(timeIntervalSince1970: 4_102_444_799)]                    // 1900, 2099
        for _ in 0..<2_000 { dates.append(Date(timeIntervalSince1970: Double(Int64(next() % 8_000_000_000)) - 3_000_000_000)) }
        for date in dates {
            let text = isoString(date)
            let slow = try #require(try? Date(text, strategy: .iso8601))
            #expect(fastISO(text) == slow, "\(text)")
            #expect(parseISO(text) == slow)
        }
        for other in ["2025-01-02T03:04:05+01:00", "2025-01-02 03:04:05Z", "2025-13-02T03:04:05Z", "2025-01-02T03:04:05.123Z", "x", ""] {
            #expect(fastISO(other) == nil, "\(other)")
        }
        #expect(parseISO("2025-01-02T03:04:05+01:00") == (try? Date("2025-01-02T03:04:05+01:00", strategy: .iso8601)))
    }
}
