import Testing
@testable import Sieve

@Suite("Sieve: lexer and parser")
struct SieveLexerParserTests {
    func kinds(_ text: String) -> [SieveToken.Kind] { SieveLexer.tokenize(text).tokens.map(\.kind) }

    @Test("numbers with K, M and G; overflow is an error")
    func numbers() {
        #expect(kinds("1 2K 3m 4G") == [.number(1), .number(2048), .number(3 << 20), .number(4 << 30), .end])
        #expect(!SieveLexer.tokenize("99999999999999999999").diagnostics.isEmpty)
        #expect(!SieveLexer.tokenize("9999999999G").diagnostics.isEmpty)
    }

    @Test("quoted strings: \\\" and \\\\ escapes, other backslashes dropped, line breaks kept")
    func quoted() {
        #expect(kinds(#""a\"b\\c\d""#) == [.string("a\"b\\cd"), .end])
        #expect(kinds("\"two\nlines\"") == [.string("two\nlines"), .end])
        #expect(!SieveLexer.tokenize("\"open").diagnostics.isEmpty)
    }

    @Test("text: strings: hash comment after text:, dot-unstuffing, the terminating dot")
    func multiline() {
        #expect(kinds("text: # comment\r\n..a\r\n.b\r\n.\r\n;") == [.string(".a\r\n.b\r\n"), .semicolon, .end])
        #expect(kinds("TEXT:\n.\n") == [.string(""), .end])
        #expect(!SieveLexer.tokenize("text: x\nbody\n.\n").diagnostics.isEmpty)
        #expect(!SieveLexer.tokenize("text:\nno end\n").diagnostics.isEmpty)
    }

    @Test("comments: hash and bracket, line numbers counted inside them")
    func comments() {
        let (tokens, diagnostics) = SieveLexer.tokenize("# one\n/* two\nthree */ keep")
        #expect(diagnostics.isEmpty)
        #expect(tokens.first?.kind == .identifier("keep") && tokens.first?.line == 3)
        #expect(!SieveLexer.tokenize("/* never closed").diagnostics.isEmpty)
    }

    @Test("tags, identifiers, punctuation")
    func punctuation() {
        #expect(kinds("if anyof(a :is [\"x\",\"y\"]) {}") == [
            .identifier("if"), .identifier("anyof"), .leftParen, .identifier("a"), .tag("is"), .leftBracket,
            .string("x"), .comma, .string("y"), .rightBracket, .rightParen, .leftBrace, .rightBrace, .end,
        ])
    }

    @Test("parse errors carry the line and the parser goes on after one")
    func recovery() {
        let (_, d) = SieveParser.parse("if true {\nkeep\n}\nkeep,\nkeep;\nif true { stop }\n", maxNesting: 32)
        #expect(d.map(\.line) == [3, 4, 6])
        let (_, eof) = SieveParser.parse("if true {\n keep;\n", maxNesting: 32)
        #expect(eof.count == 1 && eof[0].message.contains("end of file"))
    }

    @Test("test lists, nested blocks and string lists build the tree")
    func tree() {
        let (nodes, d) = SieveParser.parse("if allof(true, not false) { if true { keep; } } else { discard; }", maxNesting: 32)
        #expect(d.isEmpty)
        #expect(nodes.map(\.name) == ["if", "else"])
        #expect(nodes[0].tests.first?.tests.count == 2 && nodes[0].tests.first?.hasTestList == true)
        #expect(nodes[0].block?.first?.block?.first?.name == "keep")
    }

    @Test("encoded-character only when required, invalid sequences left as written")
    func encodedCharacter() throws {
        let r = try SieveFixture.run("require [\"encoded-character\", \"fileinto\"]; fileinto \"${hex:41}${hex:}${unicode:zz}${HEX: 42 43 }\";")
        #expect(r.actions == [.fileinto(SieveFileInto(mailbox: "A${hex:}${unicode:zz}BC"))])
        let plain = try SieveFixture.run("require \"fileinto\"; fileinto \"${hex:41}\";")
        #expect(plain.actions == [.fileinto(SieveFileInto(mailbox: "${hex:41}"))])
    }

    @Test("diagnostics stay on one line")
    func oneLine() {
        let errors = SieveFixture.compileErrors("require \"variables\"; set \"a\nb\" \"x\";")
        #expect(errors.count == 1 && !errors[0].contains("\n"))
    }
}
