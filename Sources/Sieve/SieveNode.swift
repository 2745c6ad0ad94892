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
