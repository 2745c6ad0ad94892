/// Character classes of RFC 3501 §9.
enum IMAPGrammar {
    /// ATOM-CHAR: any CHAR except atom-specials (`(` `)` `{` SP CTL `%` `*` `"` `\` `]`).
    static func isAtomChar(_ c: UInt8) -> Bool {
        guard c > 0x20, c < 0x7f else { return false }
        switch c {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "{"), UInt8(ascii: "%"), UInt8(ascii: "*"),
             UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "]"):
            return false
        default:
            return true
        }
    }
    /// ASTRING-CHAR = ATOM-CHAR / resp-specials (`]`).
    static func isAStringChar(_ c: UInt8) -> Bool { isAtomChar(c) || c == UInt8(ascii: "]") }
    /// list-char = ATOM-CHAR / list-wildcards / resp-specials.
    static func isListChar(_ c: UInt8) -> Bool { isAStringChar(c) || c == UInt8(ascii: "%") || c == UInt8(ascii: "*") }

    /// Whether `s` can be sent as an atom.
    static func isAtom(_ s: String) -> Bool { !s.isEmpty && s.utf8.allSatisfy(isAtomChar) }
}
