/// The range of a `PARTIAL` return option (RFC 5267 §4.4, RFC 9394 §3.1): results `lower` to
/// `upper` (1-based, in the order the command returns them), or, `fromEnd`, counted back from the
/// last result (`-1:-10`, the last ten). `500:400` is the same as `400:500`; never `*` or 0.
public struct PartialRange: Sendable, Hashable, CustomStringConvertible {
    public var lower: UInt32
    public var upper: UInt32
    public var fromEnd: Bool

    public init(_ a: UInt32, _ b: UInt32, fromEnd: Bool = false) {
        precondition(a > 0 && b > 0, "partial-range numbers are non-zero")
        lower = min(a, b); upper = max(a, b); self.fromEnd = fromEnd
    }

    /// As the PARTIAL return data echoes it: `1:10`, `-1:-10`.
    public var description: String { fromEnd ? "-\(lower):-\(upper)" : "\(lower):\(upper)" }

    /// The positions (0-based, ascending) of a result of `count` items that the range covers;
    /// empty when it lies beyond the result.
    public func indices(count: Int) -> Range<Int> {
        let first: Int, end: Int
        if fromEnd {
            first = max(count - Int(upper), 0)
            end = max(count - Int(lower) + 1, 0)
        } else {
            first = min(Int(lower) - 1, count)
            end = min(Int(upper), count)
        }
        return first..<max(first, end)
    }
}
