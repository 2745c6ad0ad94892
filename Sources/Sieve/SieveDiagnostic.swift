/// A compile-time or run-time error or warning, with the line it was found at. Its description is
/// Pigeonhole's wording shape (`line 3: error: unknown command 'foo'.`), which ManageSieve
/// clients show as is.
public struct SieveDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable { case error, warning }

    public var line: Int
    public var severity: Severity
    /// One sentence, no line break, never the message's content beyond a short quoted value.
    public var message: String

    /// `message` is kept on one line (control characters of quoted values become spaces) and short.
    public init(line: Int, severity: Severity, message: String) {
        self.line = line; self.severity = severity; self.message = Self.oneLine(message)
    }

    static let maxMessageLength = 400

    static func oneLine(_ m: String) -> String {
        guard m.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) || m.count > maxMessageLength else { return m }
        var out = String.UnicodeScalarView()
        for s in m.unicodeScalars { out.append(s.value < 0x20 || s.value == 0x7f ? " " : s) }
        let text = String(out)
        return text.count > maxMessageLength ? String(text.prefix(maxMessageLength)) + "…" : text
    }

    public var description: String { "line \(line): \(severity.rawValue): \(message)" }
}

/// Why a script does not compile: every error found (and the warnings before them), in order.
public struct SieveCompileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var diagnostics: [SieveDiagnostic]

    /// True when the script did not parse (as opposed to failing validation).
    package var parseFailed = false

    public init(diagnostics: [SieveDiagnostic]) { self.diagnostics = diagnostics }

    public var errors: [SieveDiagnostic] { diagnostics.filter { $0.severity == .error } }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
