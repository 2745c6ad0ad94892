/// Every bound the ManageSieve codec applies to client input, in one place. Before login the
/// bounds are small (CVE-2026-27858 class: memory during authentication stays bounded whatever
/// the client sends); after login a script literal may be as large as a script may be.
public struct ManageSieveLimits: Sendable, Equatable {
    /// Longest line of a command (its text between literals), CRLF excluded. Dovecot's
    /// `managesieve_max_line_length` is 64 KiB; names and SASL responses need far less.
    public var maxLineLength = 8192
    /// Largest literal before login (a SASL response, a script name).
    public var maxLiteralBeforeLogin = 8192
    /// Largest literal after login: a script (`SieveScriptRecord.maxScriptBytes`, Pigeonhole's
    /// `sieve_max_script_size`). A larger one is skipped and answered `NO (QUOTA/MAXSIZE)`.
    public var maxLiteral = 1 << 20
    /// A literal over the limit is read and discarded (the client sends it without waiting) up
    /// to this size; a larger one ends the connection (`BYE`) instead of holding it for as long
    /// as the client likes.
    public var maxSkippedLiteralBeforeLogin = 64 << 10
    public var maxSkippedLiteral = 16 << 20
    /// Literals in one command (PUTSCRIPT and RENAMESCRIPT have two strings, the most of any).
    public var maxLiterals = 2
    /// Arguments of one command (the longest command, HAVESPACE/PUTSCRIPT/RENAMESCRIPT, has two).
    public var maxArguments = 8
    /// Invalid commands in a row before the server says `BYE` (Dovecot: 3 before login, 20 after).
    public var maxBadCommands = 10

    public init() {}

    /// The literal limit and the skip limit in the session's current stage.
    public func literalLimits(authenticated: Bool) -> (accept: Int, skip: Int) {
        authenticated ? (maxLiteral, maxSkippedLiteral) : (maxLiteralBeforeLogin, maxSkippedLiteralBeforeLogin)
    }
}
