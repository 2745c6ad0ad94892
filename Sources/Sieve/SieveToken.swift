/// One lexical token of a Sieve script (RFC 5228 §8.1), with the line it starts on.
struct SieveToken: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case identifier(String)
        case tag(String)
        case number(Int)
        case string(String)
        case leftBracket, rightBracket, leftParen, rightParen, leftBrace, rightBrace, comma, semicolon
        case end
    }

    var kind: Kind
    var line: Int

    var display: String {
        switch kind {
        case .identifier(let s): return "identifier '\(s)'"
        case .tag(let s): return "tag ':\(s)'"
        case .number(let n): return "number \(n)"
        case .string: return "string"
        case .leftBracket: return "'['"
        case .rightBracket: return "']'"
        case .leftParen: return "'('"
        case .rightParen: return "')'"
        case .leftBrace: return "'{'"
        case .rightBrace: return "'}'"
        case .comma: return "','"
        case .semicolon: return "';'"
        case .end: return "end of script"
        }
    }
}
