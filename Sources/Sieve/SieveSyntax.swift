/// The parse tree (RFC 5228 §8.2): commands with arguments, tests and an optional block.
struct SieveArgumentNode: Sendable {
    enum Value: Sendable {
        case tag(String)
        case number(Int)
        /// A single string or a `[...]` list (`isList`).
        case strings([String], isList: Bool)
    }

    var value: Value
    var line: Int
}

struct SieveTestNode: Sendable {
    var name: String
    var line: Int
    var arguments: [SieveArgumentNode]
    var tests: [SieveTestNode]
    /// True when the tests were written as a parenthesised test-list.
    var hasTestList: Bool
}

struct SieveCommandNode: Sendable {
    var name: String
    var line: Int
    var arguments: [SieveArgumentNode]
    var tests: [SieveTestNode]
    var hasTestList: Bool
    /// nil when the command ended with `;`.
    var block: [SieveCommandNode]?
}
