/// A message flag as written on the wire (RFC 3501 §2.3.2, `flag` / `flag-fetch` / `flag-perm`).
public enum IMAPFlag: Sendable, Hashable {
    case answered, flagged, deleted, seen, draft
    /// `\Recent`: only ever sent by the server; a client may not set it.
    case recent
    /// A keyword (an atom without backslash), e.g. `$Forwarded`, `NonJunk`. Case preserved.
    case keyword(String)
    /// An unknown `\Name` flag (`flag-extension`); name without the backslash.
    case extensionFlag(String)
    /// `\*` in PERMANENTFLAGS: new keywords may be created.
    case wildcard

    /// The wire form: `\Seen`, `$Forwarded`, `\*`.
    public var wire: String {
        switch self {
        case .answered: "\\Answered"
        case .flagged: "\\Flagged"
        case .deleted: "\\Deleted"
        case .seen: "\\Seen"
        case .draft: "\\Draft"
        case .recent: "\\Recent"
        case .keyword(let k): k
        case .extensionFlag(let e): "\\" + e
        case .wildcard: "\\*"
        }
    }
}
