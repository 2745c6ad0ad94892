/// A SORT key (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO).
public enum SortKey: String, Sendable, Hashable, CaseIterable {
    case arrival = "ARRIVAL", cc = "CC", date = "DATE", from = "FROM", size = "SIZE", subject = "SUBJECT", to = "TO"
    case displayFrom = "DISPLAYFROM", displayTo = "DISPLAYTO"

    /// Whether the key reads the message's header (`MessageSortFacts`), not only its index row.
    public var readsHeader: Bool { self != .arrival && self != .size }
}

/// `[REVERSE] key`.
public struct SortCriterion: Sendable, Hashable {
    public var key: SortKey
    public var reverse: Bool
    public init(_ key: SortKey, reverse: Bool = false) { self.key = key; self.reverse = reverse }
}

/// THREAD algorithms (RFC 5256 §3).
public enum ThreadAlgorithm: String, Sendable, Hashable, CaseIterable {
    case orderedSubject = "ORDEREDSUBJECT", references = "REFERENCES"
}

/// `[UID] SORT [RETURN (…)] (criteria) charset search-key…` (RFC 5256, RFC 5267 ESORT).
public struct SortCommand: Sendable, Hashable {
    public var criteria: [SortCriterion]
    public var charset: String
    public var key: SearchKey
    public var uid: Bool
    /// RFC 5267 RETURN options (upper-cased), nil without RETURN: a `* SORT` answer.
    public var returnOptions: [String]?
    /// RFC 5267 §4.4 `PARTIAL` range (CONTEXT=SORT); "PARTIAL" is then among `returnOptions`.
    public var partial: PartialRange?
    public init(criteria: [SortCriterion], charset: String, key: SearchKey, uid: Bool, returnOptions: [String]? = nil,
                partial: PartialRange? = nil) {
        self.criteria = criteria; self.charset = charset; self.key = key; self.uid = uid; self.returnOptions = returnOptions
        self.partial = partial
    }
}

/// `[UID] THREAD algorithm charset search-key…` (RFC 5256).
public struct ThreadCommand: Sendable, Hashable {
    public var algorithm: ThreadAlgorithm
    public var charset: String
    public var key: SearchKey
    public var uid: Bool
    public init(algorithm: ThreadAlgorithm, charset: String, key: SearchKey, uid: Bool) {
        self.algorithm = algorithm; self.charset = charset; self.key = key; self.uid = uid
    }
}
