import Foundation
import Testing
import IMAPCore  // the wire forms of ENVELOPE and BODYSTRUCTURE
@testable import MIMEParser

private func crlf(_ s: String) -> [UInt8] { Array(s.replacingOccurrences(of: "\n", with: "\r\n").utf8) }

@Suite("MIME structure, sections and BINARY")
struct StructureTests {
    static let nested = crlf("""
        From: outer@example.com
        Subject: forwarded
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="outer"

        preamble
        --outer
        Content-Type: text/plain

        See forwarded message.
        --outer
        Content-Type: message/rfc822

        From: inner@example.com
        Subject: inner
        MIME-Version: 1.0
        Content-Type: multipart/alternative; boundary="inner"

        --inner
        Content-Type: text/plain; charset=iso-8859-1
        Content-Transfer-Encoding: quoted-printable

        Caf=E9 =
        soft
        --inner
        Content-Type: text/html; charset=utf-8
        Content-Transfer-Encoding: base64

        PHA+SGVsbG8gJmFtcDsgd29ybGQ8L3A+
        --inner--
        --outer
        Content-Type: application/octet-stream; name=data.bin
        Content-Transfer-Encoding: base64

        AAECAw==
        --outer--
        epilogue
        """)

    @Test("part numbers follow RFC 3501 §6.4.5")
    func partNumbers() throws {
        let m = MIMEMessage.parse(Self.nested)
        #expect(m.partList().map(\.number) == [[], [1], [2], [2, 1], [2, 2], [3]])
        #expect(m.part([2])?.isEncapsulatedMessage == true)
        #expect(m.part([2, 1])?.subtype == "plain")
        #expect(m.part([2, 2])?.subtype == "html")
        #expect(m.part([4]) == nil)
        #expect(m.part([2, 3]) == nil)
        #expect(m.leafParts.map(\.partNumber) == [[1], [2, 1], [2, 2], [3]])
    }

    @Test("a message whose body is message/rfc822: the body is part 1, the encapsulated message's parts 1.1, 1.2")
    func topLevelEncapsulatedMessage() {
        let single = MIMEMessage.parse(crlf("From: a@example.com\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\nSubject: inner\n\nbody\n"))
        #expect(single.partList().map(\.number) == [[1], [1, 1]])
        #expect(single.section(IMAPSection(part: [1, 1], kind: .full)) == crlf("body\n"))   // Dovecot's BODY[1.1]
        let multi = MIMEMessage.parse(crlf("""
            From: a@example.com
            MIME-Version: 1.0
            Content-Type: message/rfc822

            Subject: inner
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary=b

            --b

            one
            --b

            two
            --b--
            """))
        #expect(multi.partList().map(\.number) == [[1], [1, 1], [1, 2]])
        #expect(multi.section(IMAPSection(part: [1, 2], kind: .full)) == crlf("two"))
    }

    @Test("sections")
    func sections() throws {
        let m = MIMEMessage.parse(Self.nested)
        let s = { (spec: String) -> String? in
            IMAPSection(imapSpec: spec).flatMap { m.section($0) }.map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(s("") == String(decoding: Self.nested, as: UTF8.self))
        #expect(s("1") == "See forwarded message.")
        #expect(s("1.MIME") == "Content-Type: text/plain\r\n\r\n")
        #expect(s("2.HEADER")?.hasPrefix("From: inner@example.com\r\n") == true)
        #expect(s("2.HEADER")?.hasSuffix("\r\n\r\n") == true)
        #expect(s("2.HEADER.FIELDS (SUBJECT from)") == "From: inner@example.com\r\nSubject: inner\r\n\r\n")
        #expect(s("HEADER.FIELDS.NOT (From Subject MIME-Version)") == "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n")
        #expect(s("2.TEXT")?.hasPrefix("--inner\r\n") == true)
        #expect(s("2.TEXT")?.hasSuffix("--inner--\r\n") == true)   // an empty epilogue: the close line's CRLF stays
        #expect(s("2.1") == "Caf=E9 =\r\nsoft")
        #expect(s("2.2.MIME")?.hasPrefix("Content-Type: text/html") == true)
        #expect(s("TEXT")?.hasPrefix("preamble\r\n--outer") == true)
        #expect(s("1.HEADER") == nil)     // not a message/rfc822 part
        #expect(s("9") == nil)
        let header = try #require(s("HEADER"))
        #expect(header.utf8.count == m.headerLength)
    }

    @Test("BINARY decodes the transfer encoding")
    func binary() {
        let m = MIMEMessage.parse(Self.nested)
        #expect(m.binary(part: [2, 1]) == Array("Caf\u{E9} soft".unicodeScalars.map { UInt8($0.value) }))
        #expect(m.binary(part: [3]) == [0, 1, 2, 3])
        #expect(m.binarySize(part: [3]) == 4)
        #expect(m.binarySize(part: [1]) == 22)
        #expect(String(decoding: m.binary(part: [2, 2]) ?? [], as: UTF8.self) == "<p>Hello &amp; world</p>")
        let unknown = MIMEMessage.parse(crlf("MIME-Version: 1.0\nContent-Transfer-Encoding: x-uuencode\n\nbegin"))
        #expect(unknown.binary(part: [1]) == nil)
        #expect(unknown.binarySize(part: [1]) == nil)
    }

    @Test("partial helper")
    func partial() {
        let c = Array("0123456789".utf8)
        #expect(MIMEMessage.partial(c, offset: 2, count: 3) == Array("234".utf8))
        #expect(MIMEMessage.partial(c, offset: 8, count: 10) == Array("89".utf8))
        #expect(MIMEMessage.partial(c, offset: 20, count: 1) == [])
    }

    @Test("section spec parser", arguments: [
        ("", IMAPSection(part: [], kind: .full)),
        ("1.2.3", IMAPSection(part: [1, 2, 3], kind: .full)),
        ("header", IMAPSection(part: [], kind: .header)),
        ("1.2.HEADER.FIELDS (From To)", IMAPSection(part: [1, 2], kind: .headerFields(["From", "To"]))),
        ("HEADER.FIELDS.NOT (\"X-A\" Received)", IMAPSection(part: [], kind: .headerFieldsNot(["X-A", "Received"]))),
        ("4.MIME", IMAPSection(part: [4], kind: .mime)),
        ("3.TEXT", IMAPSection(part: [3], kind: .text)),
    ])
    func parsesSpec(_ spec: String, _ expected: IMAPSection) {
        #expect(IMAPSection(imapSpec: spec) == expected)
    }

    @Test("invalid section specs", arguments: ["MIME", "0", "1.", "1..2", "1.FOO", "HEADER.FIELDS", "HEADER.FIELDS ()", "1HEADER"])
    func rejectsSpec(_ spec: String) {
        #expect(IMAPSection(imapSpec: spec) == nil)
    }

    @Test("leaf body ranges re-assemble the message byte-exact")
    func reassembly() throws {
        for m in Corpus.load() {
            let msg = MIMEMessage.parse(m.bytes)
            var rebuilt = [UInt8]()
            var pos = 0
            for leaf in msg.leafParts {
                rebuilt += msg.bytes[pos..<leaf.bodyRange.lowerBound]
                rebuilt += msg.bytes[leaf.bodyRange]     // what the store keeps de-duplicated
                pos = leaf.bodyRange.upperBound
            }
            rebuilt += msg.bytes[pos...]
            #expect(rebuilt == m.bytes, "\(m.name)")
            var last = 0
            for leaf in msg.leafParts {
                #expect(leaf.bodyRange.lowerBound >= last, "\(m.name): leaves overlap")
                last = leaf.bodyRange.upperBound
            }
        }
    }

    @Test("attachments are identified")
    func attachments() {
        let m = MIMEMessage.parse(Self.nested)
        #expect(m.leafParts.filter(\.isAttachment).map(\.partNumber) == [[3]])
        #expect(m.part([3])?.filename == "data.bin")
    }

    @Test("message without a blank line is all header")
    func headerOnly() {
        let m = MIMEMessage.parse(crlf("From: a@b\nSubject: x"))
        #expect(m.headerLength == m.bytes.count)
        #expect(m.root.bodyRange.isEmpty)
        #expect(m.subject == "x")
    }

    @Test("bare LF sizes count as CRLF, like IMAP servers")
    func bareLF() {
        let m = MIMEMessage.parse(Array("Subject: a\n\nline1\nline2\n".utf8))
        #expect(m.rfc822Size == 28)   // 24 bytes + 4 bare LFs
        #expect(m.imapBodyStructure(extended: false) == "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2)")
    }
}

@Suite("Search text")
struct SearchTextTests {
    @Test("plain and HTML text, charsets, attachment names")
    func extraction() {
        let m = MIMEMessage.parse(StructureTests.nested)
        let t = m.searchText()
        #expect(t.subject == "forwarded")
        #expect(t.addresses.contains("outer@example.com"))
        #expect(t.body.contains("See forwarded message."))
        #expect(t.body.contains("Café soft"))
        #expect(t.body.contains("Hello & world"))
        #expect(!t.body.contains("<p>"))
        #expect(t.attachmentNames == ["data.bin"])
    }

    @Test("HTML to text", arguments: [
        ("<p>a&nbsp;b</p><script>var x = '<p>';</script><p>c &#x41;&#66; &euro;</p>", "a\u{A0}b\nc AB €"),
        ("<!-- hidden --><b>bold</b> <i>it</i>", "bold it"),
        ("<<<<<", "<<<<<"),
        ("a < b & c > d", "a < b & c > d"),
    ])
    func html(_ html: String, _ text: String) {
        #expect(HTMLText.toText(html) == text)
    }
}

@Suite("Robustness and limits")
struct RobustnessTests {
    @Test("deep nesting stops at maxDepth")
    func deepNesting() {
        var s = "Content-Type: multipart/mixed; boundary=b0\n\n"
        for i in 1...500 { s += "--b\(i - 1)\nContent-Type: multipart/mixed; boundary=b\(i)\n\n" }
        let m = MIMEMessage.parse(crlf(s), limits: MIMELimits(maxDepth: 10))
        var depth = 0
        var p = m.root
        while let c = p.children.first { depth += 1; p = c }
        #expect(depth <= 10)
        _ = m.imapBodyStructure(extended: true)
    }

    @Test("a message/rfc822 past the depth limit goes out as application/octet-stream, as Dovecot sends it past its own")
    func deepMessageNesting() {
        var s = "Subject: leaf\n\nbody\n"
        for i in 0..<12 { s = "Subject: level \(i)\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\n" + s }
        let m = MIMEMessage.parse(crlf(s), limits: MIMELimits(maxDepth: 5))
        let bs = m.imapBodyStructure(extended: true)
        // every "message" "rfc822" is followed by its body fields and an envelope (RFC 3501 body-type-msg)
        let messages = bs.components(separatedBy: #""message" "rfc822" NIL NIL NIL "7bit" "#).dropFirst()
        #expect(messages.count == 5)
        for m in messages { #expect(m.drop { $0.isNumber }.hasPrefix(" (NIL \"level ")) }
        #expect(bs.contains(#"("application" "octet-stream" NIL NIL NIL "7bit" "#))
    }

    @Test("part count is capped")
    func manyParts() {
        var s = "Content-Type: multipart/mixed; boundary=b\n\n"
        for _ in 0..<20_000 { s += "--b\n\nx\n" }
        let m = MIMEMessage.parse(crlf(s), limits: MIMELimits(maxParts: 100))
        #expect(m.root.children.count < 100)
    }

    @Test("header field count is capped")
    func manyFields() {
        let s = String(repeating: "X-A: b\n", count: 50_000) + "\nbody"
        let m = MIMEMessage.parse(crlf(s), limits: MIMELimits(maxHeaderFields: 1000))
        #expect(m.root.headerFields.count == 1000)
        #expect(m.headerLength == m.bytes.count - 4)
    }

    /// A guard against quadratic blow-ups, bounded by the whole test's time limit rather than by
    /// a timed assertion per input (which failed at 12 s on a machine busy with three builds):
    /// any quadratic path on these 2 MB inputs takes far longer than the minute.
    @Test("pathological inputs stay fast", .timeLimit(.minutes(1)))
    func pathological() {
        let big = 2_000_000
        let inputs: [[UInt8]] = [
            Array(repeating: UInt8(ascii: "("), count: big),
            Array(("Subject: " + String(repeating: "=?utf-8?q?", count: big / 10)).utf8),
            Array(("Subject: " + String(repeating: "=?a?q?xyz", count: big / 9) + " end").utf8),
            Array(("Content-Type: text/plain; MIME-Version: 1.0; name=\"" + String(repeating: "=?a?b?", count: big / 6) + "\"\n\n").utf8),
            Array(("To: " + String(repeating: "<", count: big)).utf8),
            Array(("To: " + String(repeating: "a,", count: big / 2)).utf8),
            Array(("Content-Type: text/html\nMIME-Version: 1.0\n\n" + String(repeating: "<", count: big)).utf8),
            Array(("Content-Type: multipart/mixed; boundary=a\n\n" + String(repeating: "--a\n", count: big / 4)).utf8),
            Array(repeating: UInt8(ascii: "\n"), count: big),
            Array(repeating: 0, count: big),
        ]
        for input in inputs {
            let m = MIMEMessage.parse(input)
            _ = m.imapEnvelope(); _ = m.imapBodyStructure(extended: true); _ = m.searchText()
            _ = m.from; _ = m.to; _ = m.subject
            #expect(m.bytes.count == input.count)
        }
    }

    @Test("random bytes never crash")
    func random() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("\r\n-=?:;<>@\"()\\ aB=?utf-8?b?Content-Type: multipart/mixed; boundary=x--x".utf8)
        for _ in 0..<300 {
            let n = Int.random(in: 0..<2000, using: &rng)
            let bytes = (0..<n).map { _ in Bool.random() ? alphabet.randomElement()! : UInt8.random(in: 0...255) }
            let m = MIMEMessage.parse(bytes)
            _ = m.imapBodyStructure(extended: true); _ = m.imapEnvelope(); _ = m.searchText()
        }
    }
}

@Suite("Inspector")
struct InspectorTests {
    @Test("report shows what IMAP sends")
    func report() {
        let r = MIMEInspector.report(for: StructureTests.nested)
        let m = MIMEMessage.parse(StructureTests.nested)
        #expect(r.contains("ENVELOPE " + m.imapEnvelope()))
        #expect(r.contains("BODYSTRUCTURE " + m.imapBodyStructure(extended: true)))
        #expect(r.contains("\n    2.2 text/html"))
        #expect(r.contains("3 application/octet-stream"))
        #expect(r.contains("binary.size=4 attachment filename=\"data.bin\""))
    }
}

@Suite("Line endings")
struct LineEndingTests {
    @Test("canonicalCRLF makes section bytes agree with IMAP sizes")
    func canonical() {
        let lf = Array("Subject: a\n\nline1\r\nline2\n".utf8)
        let c = MIMEMessage.canonicalCRLF(lf)
        #expect(c == Array("Subject: a\r\n\r\nline1\r\nline2\r\n".utf8))
        #expect(MIMEMessage.parse(lf).rfc822Size == c.count)
        #expect(MIMEMessage.canonicalCRLF(c) == c)
    }
}
