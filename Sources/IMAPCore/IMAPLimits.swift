/// Every limit the IMAP codec and server apply, in one place.
public struct IMAPLimits: Sendable, Hashable {
    /// Longest command line (without literals), in bytes. Dovecot: 64 KiB.
    public var maxLineLength: Int = 64 * 1024
    /// Largest literal inside a non-APPEND command (search strings, passwords, mailbox names).
    public var maxInlineLiteral: Int = 64 * 1024
    /// Largest total size of one non-APPEND command, literals included.
    public var maxCommandSize: Int = 256 * 1024
    /// Largest APPEND message (announced as APPENDLIMIT).
    public var maxAppendSize: Int = 64 * 1024 * 1024
    /// Largest total of the messages of one APPEND command (MULTIAPPEND, RFC 3502), which are
    /// held until the command ends (all are appended or none); never less than `maxAppendSize`.
    public var maxMultiAppendSize: Int = 128 * 1024 * 1024
    /// Most messages in one APPEND command.
    public var maxMultiAppendMessages: Int = 1_000
    /// Deepest nesting of parentheses (SEARCH, FETCH, BODY.PEEK[…]).
    public var maxNesting: Int = 32
    /// Most items in a sequence set / flag list / fetch attribute list / search key tree.
    public var maxListItems: Int = 10_000
    /// Largest refused non-synchronizing literal (`{n+}` over its limit, or ending a refused line)
    /// that is read and discarded so the connection can go on; past it the client, already sending,
    /// gets `* BYE [TOOBIG]` and the connection closes.
    public var maxSkippedLiteral: Int = 1024 * 1024
    /// Bytes handed on per `appendChunk` frame.
    public var appendChunkSize: Int = 64 * 1024
    /// Most RFC 5267 update contexts (SEARCH/SORT RETURN (UPDATE)) one session keeps at once;
    /// past it a search is answered without updates (`* NO [NOUPDATE "tag"]`).
    public var maxUpdateContexts: Int = 16
    public init() {}
}
