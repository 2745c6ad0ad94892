import Foundation
import Synchronization

/// Whether the file system holding the mailboxes has fallen below its free-space floor, so that
/// nobody can fill the disk: below it the MX answers `452 4.3.1` and APPEND, COPY and REPLACE are
/// refused (`NO [LIMIT]`) until space comes back; reading, flagging and expunging go on. Checked
/// with `statvfs` at most once per `interval`; `onChange` hears each crossing (the node logs it).
public final class DiskSpaceGuard: Sendable {
    public struct Space: Sendable, Equatable {
        public var free: Int64
        public var total: Int64
        public init(free: Int64, total: Int64) { self.free = free; self.total = total }
    }

    /// The default floor: 5 % of the file system, at most 2 GiB.
    public static func defaultFloor(total: Int64) -> Int64 { min(total / 20, 2 << 30) }

    let path: String
    let explicitFloor: Int64?
    let interval: Duration
    let measure: @Sendable (String) -> Space?
    let onChange: @Sendable (_ low: Bool, _ space: Space, _ floor: Int64) -> Void
    private let state = Mutex<(checked: ContinuousClock.Instant?, low: Bool)>((nil, false))

    /// `floor` nil: `defaultFloor` of the file system's size.
    public init(path: String, floor: Int64?, interval: Duration = .seconds(1),
                measure: @escaping @Sendable (String) -> Space? = DiskSpaceGuard.statfs,
                onChange: @escaping @Sendable (_ low: Bool, _ space: Space, _ floor: Int64) -> Void = { _, _, _ in }) {
        self.path = path; self.explicitFloor = floor; self.interval = interval; self.measure = measure; self.onChange = onChange
    }

    /// Free and total bytes of the file system of `path` (for an unprivileged process).
    public static func statfs(_ path: String) -> Space? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Space(free: Int64(s.f_bavail) * Int64(s.f_frsize), total: Int64(s.f_blocks) * Int64(s.f_frsize))
    }

    /// Whether free space is below the floor (measured again when the last look is `interval` old;
    /// a file system that cannot be measured counts as not low).
    public func isLow(now: ContinuousClock.Instant = .now) -> Bool {
        let due = state.withLock { s -> Bool in
            if let checked = s.checked, now - checked < interval { return false }
            s.checked = now
            return true
        }
        guard due else { return state.withLock { $0.low } }
        guard let space = measure(path) else { return state.withLock { $0.low } }
        let floor = explicitFloor ?? Self.defaultFloor(total: space.total)
        let low = space.free < floor
        let changed = state.withLock { s -> Bool in
            defer { s.low = low }
            return s.low != low
        }
        if changed { onChange(low, space, floor) }
        return low
    }
}
