/// Where `include` (RFC 6609) looks for a script.
public enum SieveIncludeLocation: String, Sendable, Hashable { case personal, global }

/// Compile options: what `require` may name, limits, and how `include` finds scripts.
public struct SieveCompileOptions: Sendable {
    public var extensions: Set<String>
    public var limits: SieveLimits
    /// The text of an included script, or nil when it does not exist. Includes are resolved at
    /// compile time, as Pigeonhole does (a missing non-`:optional` include is a compile error).
    public var includeLoader: @Sendable (_ name: String, _ location: SieveIncludeLocation) -> String?
    /// Accept Pigeonhole's `vnd.dovecot.testsuite` language (the conformance runner only).
    package var testsuite = false

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
    let program: SieveProgram
    /// Scripts this one includes (RFC 6609), by index from `SieveNode.include`.
    let includes: [SieveProgram]
    /// What `ihave` answers true for (the extensions this compile allowed).
    let available: Set<String>

    /// Compiles `text` (UTF-8). Throws every error found, Pigeonhole-style line numbers.
    public static func compile(_ text: String, name: String = "script", options: SieveCompileOptions = .init()) throws(SieveCompileError) -> SieveScript {
        if text.utf8.count > options.limits.maxScriptBytes {
            throw SieveCompileError(diagnostics: [SieveDiagnostic(line: 1, severity: .error,
                message: "script is too large (max \(options.limits.maxScriptBytes) bytes).")])
        }
        let (nodes, parseDiagnostics) = SieveParser.parse(text, maxNesting: options.limits.maxNesting)
        if parseDiagnostics.contains(where: { $0.severity == .error }) {
            var e = SieveCompileError(diagnostics: parseDiagnostics)
            e.parseFailed = true
            throw e
        }
        let table = SieveValidator.IncludeTable()
        // the main script is not put on the include stack by name: where it came from is the host's
        // business (a script that includes itself is caught one level down)
        var validator = SieveValidator(options: options, includes: table, depth: 0)
        let commands = validator.validate(nodes, topLevel: true)
        if validator.errorCount > 0 { throw SieveCompileError(diagnostics: validator.diagnostics) }
        let program = SieveProgram(name: name, commands: commands, usesVariables: validator.usesVariables, globals: validator.globals)
        return SieveScript(name: name, warnings: validator.diagnostics, program: program, includes: table.programs,
                           available: options.extensions)
    }

    /// Runs the script over one message. Never throws: a run-time error gives the implicit keep
    /// with `errors` set.
    public func run(_ context: SieveRunContext) -> SieveResult {
        SieveInterpreter(script: self, context: context).run()
    }

    /// A run driven by the testsuite harness (tests only): the interpreter stays available to it.
    package func makeInterpreter(_ context: SieveRunContext, harness: any SieveTestHarness) -> SieveInterpreter {
        let i = SieveInterpreter(script: self, context: context)
        i.harness = harness
        return i
    }
}
