/// Builds the parse tree from tokens (RFC 5228 §8.2), with a nesting limit.
///
///     commands  = *command
///     command   = identifier arguments (";" / block)
///     arguments = *argument [ test / test-list ]
///     argument  = string-list / number / tag
///     block     = "{" commands "}"
///     test-list = "(" test *("," test) ")"
///     test      = identifier arguments
///     string-list = "[" string *("," string) "]" / string
struct SieveParser {
    private let tokens: [SieveToken]
    private var p = 0
    private let maxNesting: Int
    private(set) var diagnostics: [SieveDiagnostic] = []
    /// The script ended inside a block: reported once, then parsing stops.
    private var atEnd = false

    struct Failure: Error {}

    init(tokens: [SieveToken], maxNesting: Int) { self.tokens = tokens; self.maxNesting = maxNesting }

    static func parse(_ text: String, maxNesting: Int) -> (commands: [SieveCommandNode], diagnostics: [SieveDiagnostic]) {
        let (tokens, lexDiagnostics) = SieveLexer.tokenize(text)
        if !lexDiagnostics.isEmpty { return ([], lexDiagnostics) }
        var parser = SieveParser(tokens: tokens, maxNesting: maxNesting)
        do {
            let commands = try parser.commands(depth: 0, topLevel: true)
            return (commands, parser.diagnostics)
        } catch {
            return ([], parser.diagnostics)
        }
    }

    private var current: SieveToken { tokens[min(p, tokens.count - 1)] }

    private mutating func fail(_ message: String, line: Int? = nil) -> Failure {
        diagnostics.append(SieveDiagnostic(line: line ?? current.line, severity: .error, message: message))
        return Failure()
    }

    private mutating func commands(depth: Int, topLevel: Bool) throws(Failure) -> [SieveCommandNode] {
        var out = [SieveCommandNode]()
        while true {
            switch current.kind {
            case .end:
                if !topLevel {
                    if !atEnd { _ = fail("unexpected end of file, expecting '}'"); atEnd = true }
                    throw Failure()
                }
                return out
            case .rightBrace:
                if topLevel { throw fail("unexpected '}' found at top level") }
                return out
            case .identifier:
                do {
                    out.append(try command(depth: depth))
                } catch {
                    if atEnd { throw error }
                    try recover()
                }
            default:
                _ = fail("unexpected \(current.display) found while expecting command identifier")
                p += 1
                try recover()
            }
        }
    }

    /// After a syntax error: skip to the end of the broken command (a `;`, a balanced `{…}` block,
    /// or the `}` that closes the enclosing block, left for it) and go on, reporting further errors
    /// as Pigeonhole's parser does. Gives up after 20 errors.
    private mutating func recover() throws(Failure) {
        if diagnostics.count >= 20 { throw Failure() }
        var nesting = 0
        while true {
            switch current.kind {
            case .end: return
            case .semicolon where nesting == 0: p += 1; return
            case .rightBrace where nesting == 0: return
            case .leftBrace, .leftParen, .leftBracket: nesting += 1
            case .rightBrace:
                nesting -= 1
                if nesting == 0 { p += 1; return }
            case .rightParen, .rightBracket: nesting = max(0, nesting - 1)
            default: break
            }
            p += 1
        }
    }

    private mutating func command(depth: Int) throws(Failure) -> SieveCommandNode {
        guard case .identifier(let name) = current.kind else { throw fail("expecting command identifier") }
        let line = current.line
        p += 1
        let (args, tests, hasList) = try arguments(depth: depth, context: "command")
        switch current.kind {
        case .semicolon:
            p += 1
            return SieveCommandNode(name: name, line: line, arguments: args, tests: tests, hasTestList: hasList, block: nil)
        case .leftBrace:
            if depth + 1 > maxNesting { throw fail("cannot nest command blocks deeper than \(maxNesting) levels") }
            p += 1
            let block = try commands(depth: depth + 1, topLevel: false)
            p += 1   // '}'
            return SieveCommandNode(name: name, line: line, arguments: args, tests: tests, hasTestList: hasList, block: block)
        default:
            throw fail("expected ';' or '{' after command '\(name)', but found \(current.display)")
        }
    }

    private mutating func arguments(depth: Int, context: String) throws(Failure) -> ([SieveArgumentNode], [SieveTestNode], Bool) {
        var args = [SieveArgumentNode]()
        while true {
            let line = current.line
            switch current.kind {
            case .tag(let t): p += 1; args.append(SieveArgumentNode(value: .tag(t), line: line))
            case .number(let n): p += 1; args.append(SieveArgumentNode(value: .number(n), line: line))
            case .string(let s): p += 1; args.append(SieveArgumentNode(value: .strings([s], isList: false), line: line))
            case .leftBracket:
                p += 1
                var list = [String]()
                while true {
                    guard case .string(let s) = current.kind else {
                        throw fail("expecting string after '[' or ',' in string list, but found \(current.display)")
                    }
                    list.append(s); p += 1
                    if case .comma = current.kind { p += 1; continue }
                    if case .rightBracket = current.kind { p += 1; break }
                    throw fail("expecting ',' or end of string list ']', but found \(current.display)")
                }
                args.append(SieveArgumentNode(value: .strings(list, isList: true), line: line))
            default:
                // optional test or test-list
                if case .identifier = current.kind {
                    let t = try test(depth: depth + 1)
                    return (args, [t], false)
                }
                if case .leftParen = current.kind {
                    if depth + 1 > maxNesting { throw fail("cannot nest tests deeper than \(maxNesting) levels") }
                    p += 1
                    var tests = [SieveTestNode]()
                    while true {
                        guard case .identifier = current.kind else {
                            throw fail("expecting test identifier after '(' or ',' in test list, but found \(current.display)")
                        }
                        tests.append(try test(depth: depth + 1))
                        if case .comma = current.kind { p += 1; continue }
                        if case .rightParen = current.kind { p += 1; break }
                        throw fail("expecting ',' or end of test list ')', but found \(current.display)")
                    }
                    return (args, tests, true)
                }
                return (args, [], false)
            }
        }
    }

    private mutating func test(depth: Int) throws(Failure) -> SieveTestNode {
        if depth > maxNesting { throw fail("cannot nest tests deeper than \(maxNesting) levels") }
        guard case .identifier(let name) = current.kind else { throw fail("expecting test identifier") }
        let line = current.line
        p += 1
        let (args, tests, hasList) = try arguments(depth: depth, context: "test")
        return SieveTestNode(name: name, line: line, arguments: args, tests: tests, hasTestList: hasList)
    }
}
