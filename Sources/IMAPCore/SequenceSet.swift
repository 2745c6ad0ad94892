/// One end of an IMAP sequence range: a number or `*` (the largest number in use).
public enum SequenceBound: Sendable, Hashable {
    case number(UInt32)
    case star
}

/// `seq-range` (RFC 3501 §9): `a:b`, `a:*`, `*` or a single number; the ends may come in either order.
public struct SequenceRange: Sendable, Hashable {
    public var first: SequenceBound
    public var last: SequenceBound
    public init(_ first: SequenceBound, _ last: SequenceBound) { self.first = first; self.last = last }
    public init(_ single: SequenceBound) { self.init(single, single) }
}

/// `sequence-set` (RFC 3501 §9) as written by the client: message sequence numbers or UIDs,
/// depending on the command. Resolve it against the current maximum with `resolved(max:)`.
/// `$` (RFC 5182 SEARCHRES) is `lastSearchResult`.
public struct SequenceSet: Sendable, Hashable {
    public var ranges: [SequenceRange]
    public var lastSearchResult: Bool
    public init(_ ranges: [SequenceRange]) { self.ranges = ranges; self.lastSearchResult = false }
    public static let lastResult: SequenceSet = { var s = SequenceSet([]); s.lastSearchResult = true; return s }()

    /// Closed ranges with `*` replaced by `max`, each ordered low...high, sorted and merged.
    /// With `max == 0` (empty folder) `*` stands for 0 and the result may contain 0, which
    /// callers reject (sequence numbers) or ignore (UIDs) as RFC 3501 §6.4.8 says.
    public func resolved(max: UInt32) -> [ClosedRange<UInt32>] {
        func value(_ b: SequenceBound) -> UInt32 { if case .number(let n) = b { return n } else { return max } }
        let raw = ranges.map { r -> ClosedRange<UInt32> in
            let a = value(r.first), b = value(r.last)
            return Swift.min(a, b) ... Swift.max(a, b)
        }.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for r in raw {
            if let l = merged.last, l.upperBound == .max || r.lowerBound <= l.upperBound + 1 {
                merged[merged.count - 1] = l.lowerBound ... Swift.max(l.upperBound, r.upperBound)
            } else { merged.append(r) }
        }
        return merged
    }

    /// Whether `*` appears (RFC 7162's known-uids and seq-match-data forbid it).
    public var containsStar: Bool {
        ranges.contains { $0.first == .star || $0.last == .star }
    }

    /// The numbers as written, range by range (each range low to high), `*` standing for `max`;
    /// lazily, however large the ranges.
    public func numbers(max: UInt32 = .max) -> some Sequence<UInt32> {
        func value(_ b: SequenceBound) -> UInt32 { if case .number(let n) = b { return n } else { return max } }
        return ranges.lazy.flatMap { r in Swift.min(value(r.first), value(r.last)) ... Swift.max(value(r.first), value(r.last)) }
    }

    /// How many numbers `numbers(max:)` yields.
    public func count(max: UInt32 = .max) -> UInt64 {
        func value(_ b: SequenceBound) -> UInt32 { if case .number(let n) = b { return n } else { return max } }
        return ranges.reduce(0) { $0 + UInt64(Swift.max(value($1.first), value($1.last)) - Swift.min(value($1.first), value($1.last))) + 1 }
    }
}
