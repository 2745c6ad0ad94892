import Foundation
import Synchronization

/// Messages per client address per minute (a sliding one-minute window, counted at MAIL). Memory
/// is bounded: addresses idle for a minute are forgotten, and at most `maxTracked` are kept.
public final class SMTPRateLimiter: Sendable {
    let perMinute: Int
    let maxTracked: Int
    private let state = Mutex<[String: [ContinuousClock.Instant]]>([:])

    public init(perMinute: Int, maxTracked: Int = 100_000) {
        self.perMinute = perMinute; self.maxTracked = maxTracked
    }

    /// Whether `ip` may start another message now (and counts it if so).
    public func allow(_ ip: String, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { table in
            let horizon = now - .seconds(60)
            if table.count >= maxTracked {
                table = table.filter { $0.value.last.map { $0 > horizon } ?? false }
                if table.count >= maxTracked { table.removeAll() }
            }
            var times = table[ip, default: []].filter { $0 > horizon }
            guard times.count < perMinute else { table[ip] = times; return false }
            times.append(now)
            table[ip] = times
            return true
        }
    }
}
