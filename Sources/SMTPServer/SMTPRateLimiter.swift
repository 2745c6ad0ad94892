import Foundation
import Synchronization

/// Events per client address in a sliding window: messages per minute (counted at MAIL), unknown
/// recipients per hour (counted at each refused RCPT). Memory is bounded: addresses idle for a
/// window are forgotten, and at most `maxTracked` are kept.
public final class SMTPRateLimiter: Sendable {
    let limit: Int
    let window: Duration
    let maxTracked: Int
    private let state = Mutex<[String: [ContinuousClock.Instant]]>([:])

    public init(limit: Int, window: Duration, maxTracked: Int = 100_000) {
        self.limit = limit; self.window = window; self.maxTracked = maxTracked
    }

    public convenience init(perMinute: Int, maxTracked: Int = 100_000) {
        self.init(limit: perMinute, window: .seconds(60), maxTracked: maxTracked)
    }

    /// Whether `ip` may have another event now (and counts it if so).
    public func allow(_ ip: String, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { table in
            let horizon = now - window
            if table.count >= maxTracked {
                table = table.filter { $0.value.last.map { $0 > horizon } ?? false }
                if table.count >= maxTracked { table.removeAll() }
            }
            var times = table[ip, default: []].filter { $0 > horizon }
            guard times.count < limit else { table[ip] = times; return false }
            times.append(now)
            table[ip] = times
            return true
        }
    }
}
