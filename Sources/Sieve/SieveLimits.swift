/// Every limit of compiling and running a script, in one place. A script over a compile limit is
/// refused with a clear error; a run over a run limit stops with a run-time error, and the message
/// is kept (implicit keep, RFC 5228 §2.10.6).
public struct SieveLimits: Sendable, Hashable {
    /// Bytes of one script (Pigeonhole's `sieve_max_script_size` default: 1 MiB).
    public var maxScriptBytes = 1 << 20
    /// Nesting of blocks and tests (`if` inside `if`, `anyof(allof(…))`).
    public var maxNesting = 32
    /// Actions one run may perform (Pigeonhole's `sieve_max_actions`).
    public var maxActions = 32
    /// Redirects one run may perform (Pigeonhole's `sieve_max_redirects`).
    public var maxRedirects = 4
    /// `include` depth (RFC 6609 §3.1) and distinct scripts included by one run.
    public var maxIncludeDepth = 10
    public var maxIncludedScripts = 255
    /// Wall time of one run (counted in steps and checked against the clock: a loop-free language,
    /// but `foreverypart` and big bodies still cost).
    public var maxRunSeconds = 2.0
    /// A regular expression's source, and the bytes one regex match may scan.
    public var maxRegexPatternBytes = 1024
    public var maxMatchSubjectBytes = 1 << 20
    /// Steps of the regex automaton one run may spend (all matches together); past it the run
    /// stops with an error. About 10 ms of work per million steps.
    public var maxRegexSteps = 20_000_000
    /// Variables (RFC 5229): how many, and bytes of one value (Pigeonhole: 255 and 4096).
    public var maxVariables = 255
    public var maxVariableBytes = 4096
    /// Header fields one `addheader` may write (RFC 5293) and bytes of the edited header block.
    public var maxHeaderEditBytes = 64 << 10

    /// `vacation` periods (RFC 5230 §4.1, RFC 6131): the minimum and maximum a script may ask for
    /// (0: no maximum) and the default; Pigeonhole's defaults.
    public var vacationMinPeriod = 86_400
    public var vacationMaxPeriod = 0
    public var vacationDefaultPeriod = 7 * 86_400

    public init() {}

    public static let `default` = SieveLimits()
}
