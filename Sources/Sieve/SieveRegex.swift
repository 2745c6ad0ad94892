/// POSIX extended regular expressions (the `regex` extension; Pigeonhole uses libc's regcomp with
/// REG_EXTENDED) run by a bounded matcher of our own: the pattern is compiled to a small program
/// (at most `maxInstructions`) and run as a Thompson/Pike automaton over Unicode scalars, so one
/// match costs at most (subject length × program size) steps, never exponential time. Back-references
/// (the construct that makes libc's matcher exponential) are refused at compile time, the pattern's
/// size is capped (`SieveLimits.maxRegexPatternBytes`), and a match stops with an error after
/// `stepBudget` steps. Overall match: leftmost-longest as POSIX; sub-matches prefer greedy choices.
struct SieveRegex: Sendable {
    struct CompileError: Error { var message: String }
    struct BudgetExceeded: Error {}

    static let maxInstructions = 20_000

    enum Inst: Sendable {
        case char(Unicode.Scalar)
        case any
        case set(SieveRegexCharSet)
        case split(Int, Int)
        case jump(Int)
        case save(Int)
        case lineStart, lineEnd
        case match
    }

    let program: [Inst]
    let groupCount: Int
    let caseInsensitive: Bool

    init(_ pattern: String, caseInsensitive: Bool, limits: SieveLimits) throws(CompileError) {
        guard pattern.utf8.count <= limits.maxRegexPatternBytes else {
            throw CompileError(message: "pattern longer than \(limits.maxRegexPatternBytes) bytes")
        }
        var parser = SieveRegexParser(Array(pattern.unicodeScalars), caseInsensitive: caseInsensitive)
        let tree = try parser.parse()
        var compiler = SieveRegexCompiler()
        try compiler.emit(.group(tree, 0))
        compiler.program.append(.match)
        program = compiler.program
        groupCount = parser.groupCount + 1
        self.caseInsensitive = caseInsensitive
    }

    /// The match (group 0 and the groups, nil for a group that did not take part) or nil.
    /// Throws `BudgetExceeded` after `stepBudget` automaton steps.
    func firstMatch(in text: String, stepBudget: inout Int) throws(BudgetExceeded) -> [String?]? {
        let s = Array(text.unicodeScalars)
        let n = program.count
        typealias Thread = (pc: Int, caps: [Int])
        var clist = [Thread](), nlist = [Thread]()
        var mark = [Int](repeating: -1, count: n)
        var best: [Int]? = nil

        func add(_ list: inout [Thread], _ pc: Int, _ caps: [Int], at pos: Int, _ gen: Int, _ budget: inout Int) {
            var stack: [(Int, [Int])] = [(pc, caps)]
            while let (pc, caps) = stack.popLast() {
                if mark[pc] == gen { continue }
                mark[pc] = gen
                budget -= 1
                switch program[pc] {
                case .jump(let t): stack.append((t, caps))
                case .split(let a, let b): stack.append((b, caps)); stack.append((a, caps))
                case .save(let k):
                    var c = caps
                    if k < c.count { c[k] = pos }
                    stack.append((pc + 1, c))
                case .lineStart:
                    if pos == 0 || s[pos - 1] == "\n" { stack.append((pc + 1, caps)) }
                case .lineEnd:
                    if pos == s.count || s[pos] == "\n" { stack.append((pc + 1, caps)) }
                default:
                    list.append((pc, caps))
                }
            }
        }

        let empty = [Int](repeating: -1, count: groupCount * 2)
        var gen = 1
        var pos = 0
        while pos <= s.count {
            if best == nil { add(&clist, 0, empty, at: pos, gen, &stepBudget) }   // a new start, lowest priority
            if stepBudget < 0 { throw BudgetExceeded() }
            gen += 1
            if clist.isEmpty {
                if best != nil { break }
                pos += 1
                continue
            }
            nlist.removeAll(keepingCapacity: true)
            for t in clist {
                stepBudget -= 1
                switch program[t.pc] {
                case .match:
                    let end = t.caps[1]
                    if best == nil || end > best![1] { best = t.caps }
                case .char(let c):
                    if pos < s.count && (s[pos] == c || (caseInsensitive && Self.fold(s[pos]) == c)) {
                        add(&nlist, t.pc + 1, t.caps, at: pos + 1, gen, &stepBudget)
                    }
                case .any:
                    if pos < s.count { add(&nlist, t.pc + 1, t.caps, at: pos + 1, gen, &stepBudget) }
                case .set(let set):
                    if pos < s.count && set.contains(s[pos], caseInsensitive: caseInsensitive) {
                        add(&nlist, t.pc + 1, t.caps, at: pos + 1, gen, &stepBudget)
                    }
                default: break
                }
            }
            if stepBudget < 0 { throw BudgetExceeded() }
            swap(&clist, &nlist)
            pos += 1
        }
        guard let caps = best else { return nil }
        var out = [String?]()
        for g in 0..<groupCount {
            let a = caps[2 * g], b = caps[2 * g + 1]
            if a >= 0 && b >= a {
                var str = String.UnicodeScalarView()
                str.append(contentsOf: s[a..<b])
                out.append(String(str))
            } else { out.append(nil) }
        }
        return out
    }

    static func fold(_ c: Unicode.Scalar) -> Unicode.Scalar {
        if c.value >= 65 && c.value <= 90 { return Unicode.Scalar(c.value + 32)! }
        return c
    }
}
