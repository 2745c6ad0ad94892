/// Emits automaton instructions for a syntax tree, within `SieveRegex.maxInstructions`.
struct SieveRegexCompiler {
    var program: [SieveRegex.Inst] = []

    mutating func emit(_ n: SieveRegexNode) throws(SieveRegex.CompileError) {
        if program.count > SieveRegex.maxInstructions { throw SieveRegex.CompileError(message: "regular expression too big") }
        switch n {
        case .empty: break
        case .char(let c): program.append(.char(c))
        case .any: program.append(.any)
        case .set(let s): program.append(.set(s))
        case .lineStart: program.append(.lineStart)
        case .lineEnd: program.append(.lineEnd)
        case .concat(let items): for x in items { try emit(x) }
        case .group(let inner, let k):
            program.append(.save(2 * k))
            try emit(inner)
            program.append(.save(2 * k + 1))
        case .alternation(let branches):
            var jumps = [Int]()
            for (idx, b) in branches.enumerated() {
                if idx < branches.count - 1 {
                    let split = program.count
                    program.append(.split(split + 1, -1))
                    try emit(b)
                    jumps.append(program.count)
                    program.append(.jump(-1))
                    program[split] = .split(split + 1, program.count)
                } else {
                    try emit(b)
                }
            }
            for j in jumps { program[j] = .jump(program.count) }
        case .repetition(let inner, let lo, let hi):
            for _ in 0..<lo { try emit(inner) }
            if let hi {
                var splits = [Int]()
                for _ in lo..<hi {
                    splits.append(program.count)
                    program.append(.split(program.count + 1, -1))
                    try emit(inner)
                    if program.count > SieveRegex.maxInstructions { throw SieveRegex.CompileError(message: "regular expression too big") }
                }
                for sp in splits { program[sp] = .split(sp + 1, program.count) }
            } else {
                let start = program.count
                program.append(.split(start + 1, -1))
                try emit(inner)
                program.append(.jump(start))
                program[start] = .split(start + 1, program.count)
            }
        }
    }
}
