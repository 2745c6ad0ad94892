/// A validated argument: strings already prepared (`SieveString`), numbers, tag switches.
enum SieveArgument: Sendable {
    case string(SieveString)
    case list([SieveString])
    case number(Int)
    case flag

    var strings: [SieveString] {
        switch self {
        case .string(let s): return [s]
        case .list(let l): return l
        default: return []
        }
    }
    var number: Int? { if case .number(let n) = self { return n }; return nil }
}

/// A validated command or test, ready to run.
struct SieveNode: Sendable {
    var name: String
    var line: Int
    /// Tagged arguments by tag name (without colon).
    var tags: [String: SieveArgument]
    var arguments: [SieveArgument]
    var tests: [SieveNode]
    var block: [SieveNode]?
    /// `if`: the `elsif`/`else` nodes that follow it.
    var chain: [SieveNode] = []
    /// Match type, comparator, address part of a test that has them.
    var match: SieveMatchSpec?
    /// `include`: the index of the included program in the script's program table.
    var include: Int?

    func tag(_ name: String) -> SieveArgument? { tags[name] }
    func has(_ name: String) -> Bool { tags[name] != nil }
}

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
