/// The outcome of one run.
public struct SieveResult: Sendable, Hashable {
    /// In execution order. Includes `.keep` when the implicit keep applies (`implicitKeep`).
    /// After a run-time error this is exactly `[.keep(flags: [])]` (RFC 5228 §2.10.6).
    public var actions: [SieveAction]
    /// True when the `.keep` in `actions` is the implicit keep (no action cancelled it).
    public var implicitKeep: Bool
    /// The message as `addheader`/`deleteheader` (RFC 5293) left it, or nil when unchanged.
    /// Stored copies, `fileinto` and `keep` use it; `redirect` too (RFC 5293 §6).
    public var editedMessage: [UInt8]?
    /// Ids the `duplicate` test (RFC 7352) asked to remember, to record once delivery succeeded.
    public var duplicateMarks: [SieveDuplicateMark]
    /// Run-time errors (the script compiled but failed while running), for the user to see.
    public var errors: [SieveDiagnostic]
    /// Diagnostics that did not stop the run: warnings, and errors the run recovered from (an
    /// invalid regular expression built from a variable is reported with severity `.error` and
    /// does not match).
    public var warnings: [SieveDiagnostic]

    public init(actions: [SieveAction], implicitKeep: Bool, editedMessage: [UInt8]? = nil,
                duplicateMarks: [SieveDuplicateMark] = [], errors: [SieveDiagnostic] = [], warnings: [SieveDiagnostic] = []) {
        self.actions = actions; self.implicitKeep = implicitKeep; self.editedMessage = editedMessage
        self.duplicateMarks = duplicateMarks; self.errors = errors; self.warnings = warnings
    }

    /// Keep in INBOX, nothing else: what a failed run amounts to.
    public static func implicitKeep(errors: [SieveDiagnostic] = []) -> SieveResult {
        SieveResult(actions: [.keep(flags: [])], implicitKeep: true, errors: errors)
    }
}

/// One id the `duplicate` test saw (RFC 7352 §3): the host keys and stores it for `seconds`.
public struct SieveDuplicateMark: Sendable, Hashable {
    /// The tracking key: handle, header value or `:uniqueid`, already combined (not hashed: the
    /// host hashes it with its own key before storing anything).
    public var key: String
    public var seconds: Int

    public init(key: String, seconds: Int) { self.key = key; self.seconds = seconds }
}
