/// Parses POSIX ERE (regcomp REG_EXTENDED syntax as glibc reads it, without back-references).
struct SieveRegexParser {
    private let s: [Unicode.Scalar]
    private var i = 0
    private let caseInsensitive: Bool
    private(set) var groupCount = 0
    private var depth = 0

    init(_ s: [Unicode.Scalar], caseInsensitive: Bool) { self.s = s; self.caseInsensitive = caseInsensitive }

    typealias Failure = SieveRegex.CompileError

    mutating func parse() throws(Failure) -> SieveRegexNode {
        let n = try alternation()
        if i < s.count { throw Failure(message: "unmatched ( or )") }
        return n
    }

    private mutating func alternation() throws(Failure) -> SieveRegexNode {
        var branches = [try branch()]
        while i < s.count && s[i] == "|" { i += 1; branches.append(try branch()) }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func branch() throws(Failure) -> SieveRegexNode {
        var items = [SieveRegexNode]()
        while i < s.count && s[i] != "|" && s[i] != ")" {
            var atom = try self.atom(first: items.isEmpty)
            while i < s.count {
                let c = s[i]
                if c == "*" { i += 1; atom = .repetition(atom, min: 0, max: nil) }
                else if c == "+" { i += 1; atom = .repetition(atom, min: 1, max: nil) }
                else if c == "?" { i += 1; atom = .repetition(atom, min: 0, max: 1) }
                else if c == "{", let (lo, hi, next) = bound(at: i + 1) {
                    i = next
                    guard lo <= 1000, (hi ?? lo) <= 1000 else { throw Failure(message: "repetition count too large") }
                    if let hi, hi < lo { throw Failure(message: "invalid repetition count(s)") }
                    atom = .repetition(atom, min: lo, max: hi)
                } else { break }
            }
            items.append(atom)
        }
        return items.count == 1 ? items[0] : (items.isEmpty ? .empty : .concat(items))
    }

    /// `{n}`, `{n,}`, `{n,m}` starting after the `{`.
    private func bound(at start: Int) -> (Int, Int?, Int)? {
        var j = start
        func num() -> Int? {
            var v = 0, any = false
            while j < s.count, let d = Int(String(s[j])), s[j].value >= 48 && s[j].value <= 57 { v = min(v * 10 + d, 100_000); j += 1; any = true }
            return any ? v : nil
        }
        guard let lo = num() else { return nil }
        if j < s.count && s[j] == "}" { return (lo, lo, j + 1) }
        guard j < s.count && s[j] == "," else { return nil }
        j += 1
        let hi = num()
        guard j < s.count && s[j] == "}" else { return nil }
        return (lo, hi, j + 1)
    }

    private mutating func atom(first: Bool) throws(Failure) -> SieveRegexNode {
        let c = s[i]
        i += 1
        switch c {
        case "(":
            depth += 1
            if depth > 100 { throw Failure(message: "parentheses nested too deeply") }
            groupCount += 1
            let index = groupCount
            let inner = i < s.count && s[i] == ")" ? SieveRegexNode.empty : try alternation()
            guard i < s.count && s[i] == ")" else { throw Failure(message: "unmatched ( or )") }
            i += 1
            depth -= 1
            return .group(inner, index)
        case ".": return .any
        case "^": return .lineStart
        case "$": return .lineEnd
        case "[": return .set(try bracket())
        case "\\":
            guard i < s.count else { throw Failure(message: "trailing backslash (\\)") }
            let e = s[i]
            i += 1
            if e.value >= 49 && e.value <= 57 { throw Failure(message: "back-references are not supported") }
            switch e {
            case "w": return .set(SieveRegexCharSet(classes: ["word"]))
            case "W": return .set(SieveRegexCharSet(negated: true, classes: ["word"]))
            case "s": return .set(SieveRegexCharSet(classes: ["space"]))
            case "S": return .set(SieveRegexCharSet(negated: true, classes: ["space"]))
            case "b", "B", "<", ">", "`", "'": throw Failure(message: "word-boundary anchors are not supported")
            default: return literal(e)
            }
        case "*", "+", "?":
            throw Failure(message: "invalid preceding regular expression")
        case "{":
            return literal(c)
        default:
            return literal(c)
        }
    }

    private func literal(_ c: Unicode.Scalar) -> SieveRegexNode {
        .char(caseInsensitive ? SieveRegex.fold(c) : c)
    }

    private mutating func bracket() throws(Failure) -> SieveRegexCharSet {
        var set = SieveRegexCharSet()
        if i < s.count && s[i] == "^" { set.negated = true; i += 1 }
        var firstItem = true
        while true {
            guard i < s.count else { throw Failure(message: "unmatched [, [^, [:, [., or [=") }
            let c = s[i]
            if c == "]" && !firstItem { i += 1; break }
            firstItem = false
            if c == "[" && i + 1 < s.count && (s[i + 1] == ":" || s[i + 1] == "=" || s[i + 1] == ".") {
                let kind = s[i + 1]
                var j = i + 2
                var name = ""
                while j + 1 < s.count && !(s[j] == kind && s[j + 1] == "]") { name.unicodeScalars.append(s[j]); j += 1 }
                guard j + 1 < s.count else { throw Failure(message: "unmatched [, [^, [:, [., or [=") }
                i = j + 2
                if kind == ":" {
                    guard SieveRegexCharSet.knownClasses.contains(name) else { throw Failure(message: "invalid character class") }
                    set.classes.append(name)
                    continue
                }
                guard let only = name.unicodeScalars.first, name.unicodeScalars.count == 1 else {
                    throw Failure(message: "invalid collation character")
                }
                set.scalars.insert(only.value)
                continue
            }
            i += 1
            if i + 1 < s.count && s[i] == "-" && s[i + 1] != "]" {
                let hi = s[i + 1]
                i += 2
                guard hi.value >= c.value else { throw Failure(message: "invalid range end") }
                set.ranges.append(c.value...hi.value)
            } else {
                set.scalars.insert(c.value)
            }
        }
        return set
    }
}
