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
