/// One compiled script (the main one or an included one).
final class SieveProgram: Sendable {
    let name: String
    let commands: [SieveNode]
    /// Whether `variables` is required (match values and `${…}` only work then).
    let usesVariables: Bool
    /// Names declared `global` (RFC 6609 §3.3), lower-cased.
    let globals: Set<String>

    init(name: String, commands: [SieveNode], usesVariables: Bool, globals: Set<String>) {
        self.name = name; self.commands = commands; self.usesVariables = usesVariables; self.globals = globals
    }
}
