/// Where `include` (RFC 6609) looks for a script.
public enum SieveIncludeLocation: String, Sendable, Hashable { case personal, global }

/// Compile options: what `require` may name, limits, and how `include` finds scripts.
public struct SieveCompileOptions: Sendable {
    public var extensions: Set<String>
    public var limits: SieveLimits
    /// The text of an included script, or nil when it does not exist. Includes are resolved at
    /// compile time, as Pigeonhole does (a missing non-`:optional` include is a compile error).
    public var includeLoader: @Sendable (_ name: String, _ location: SieveIncludeLocation) -> String?

    public init(extensions: Set<String> = Set(SieveExtensions.supported), limits: SieveLimits = .default,
                includeLoader: @escaping @Sendable (String, SieveIncludeLocation) -> String? = { _, _ in nil }) {
        self.extensions = extensions; self.limits = limits; self.includeLoader = includeLoader
    }
}

/// A compiled script: parsed, validated (commands, arguments, `require`), ready to run any number
/// of times from any thread.
public struct SieveScript: Sendable {
    public let name: String
    /// Warnings found while compiling (the script is usable).
    public let warnings: [SieveDiagnostic]

    /// Compiles `text` (UTF-8). Throws every error found, Pigeonhole-style line numbers.
    public static func compile(_ text: String, name: String = "script", options: SieveCompileOptions = .init()) throws(SieveCompileError) -> SieveScript {
        // Placeholder until the interpreter lands: nothing compiles.
        throw SieveCompileError(diagnostics: [SieveDiagnostic(line: 1, severity: .error, message: "Sieve is not implemented yet")])
    }

    /// Runs the script over one message. Never throws: a run-time error gives the implicit keep
    /// with `errors` set.
    public func run(_ context: SieveRunContext) -> SieveResult {
        .implicitKeep()
    }
}
