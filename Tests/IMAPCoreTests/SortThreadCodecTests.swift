import Foundation
import MIMEParser
import NIOCore
import Testing
@testable import IMAPCore

/// SORT/THREAD in the codec: command parsing, the THREAD response grammar, the stored sort facts
/// and the two THREAD algorithms on small cases (the Dovecot corpus is in IMAPServerTests).
@Suite("SORT and THREAD codec")
struct SortThreadCodecTests {
    typealias Tree = ThreadForest.Tree

    static func parse(_ line: String) -> Result<IMAPCommand, IMAPParseError> {
        IMAPCommandParser.parse(ByteBuffer(string: line))
    }

    @Test("SORT and THREAD commands")
    func commands() throws {
        let sort = try Self.parse("a UID SORT RETURN (MIN COUNT) (REVERSE date subject DISPLAYFROM) utf-8 FROM x").get()
        #expect(sort.kind == .sort(SortCommand(
            criteria: [SortCriterion(.date, reverse: true), SortCriterion(.subject), SortCriterion(.displayFrom)], charset: "utf-8",
            key: .from("x"), uid: true, returnOptions: ["MIN", "COUNT"])))
        let partial = try Self.parse("a UID SORT RETURN (PARTIAL 21:40 UPDATE context) (DATE) UTF-8 ALL").get()
        #expect(partial.kind == .sort(SortCommand(criteria: [SortCriterion(.date)], charset: "UTF-8", key: .all, uid: true,
                                                  returnOptions: ["PARTIAL", "UPDATE", "CONTEXT"], partial: PartialRange(21, 40))))
        let thread = try Self.parse("b THREAD references US-ASCII ALL").get()
        #expect(thread.kind == .thread(ThreadCommand(algorithm: .references, charset: "US-ASCII", key: .all, uid: false)))
        for bad in ["a SORT", "a SORT (DATE)", "a SORT (DATE) UTF-8", "a SORT (DATE UTF-8 ALL", "a SORT (REVERSE REVERSE DATE) UTF-8 ALL",
                    "a THREAD", "a THREAD REFERENCES", "a THREAD ORDEREDSUBJECT UTF-8 ALL extra(", "a UID THREAD X UTF-8 ALL",
                    "a SORT RETURN (ALL (DATE) UTF-8 ALL", "a SORT RETURN (ALL PARTIAL 1:2) (DATE) UTF-8 ALL",
                    "a SORT RETURN (PARTIAL 1:0) (DATE) UTF-8 ALL", "a SORT RETURN (SAVE FOO) (DATE) UTF-8 ALL", "a SORT (" + String(repeating: "DATE ", count: 20_000) + ") UTF-8 ALL"] {
            #expect(throws: IMAPParseError.self, "\(bad)") { try Self.parse(bad).get() }
        }
    }

    static func wire(_ forest: ThreadForest) -> String {
        String(buffer: IMAPResponseEncoder.encode(.untagged(.thread(forest))))
    }

    static func forest(_ trees: [Tree]) -> ThreadForest {
        var f = ThreadForest()
        func add(_ t: Tree) -> Int { let kids = t.children.map(add); return f.add(t.number, children: kids) }
        f.roots = trees.map(add)
        return f
    }

    @Test("THREAD response grammar (RFC 5256 §4)")
    func threadResponse() {
        #expect(Self.wire(ThreadForest()) == "* THREAD\r\n")
        #expect(Self.wire(Self.forest([Tree(1, [Tree(2, [Tree(3)])]), Tree(4)])) == "* THREAD (1 2 3)(4)\r\n")
        #expect(Self.wire(Self.forest([Tree(1, [Tree(2), Tree(3, [Tree(5)])])])) == "* THREAD (1 (2)(3 5))\r\n")
        #expect(Self.wire(Self.forest([Tree(0, [Tree(4), Tree(3, [Tree(6), Tree(7)])])])) == "* THREAD ((4)(3 (6)(7)))\r\n")
        // RFC 5256's example
        let example = Self.forest([Tree(2), Tree(3, [Tree(6, [Tree(4, [Tree(23)]), Tree(44, [Tree(7, [Tree(96)])])])])])
        #expect(Self.wire(example) == "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n")
        #expect(IMAPResponseEncoder.sortedSet([5, 1, 2, 3, 9, 8, 10]) == "5,1:3,9,8,10")
    }

    @Test("a chain of 100,000 replies is threaded and encoded without recursion")
    func deepChain() {
        let n = 100_000
        let messages = (1...n).map { i in
            ThreadMessage(number: UInt32(i), sentDate: Int64(i), subject: Array("X".utf8), isReplyOrForward: i > 1,
                          messageID: "\(i)@x", references: i > 1 ? ["\(i - 1)@x"] : [])
        }
        let forest = MessageThreading.references(messages)
        #expect(forest.roots.count == 1)
        let text = Self.wire(forest)
        #expect(text.hasPrefix("* THREAD (1 2 3 4 "))
        #expect(text.hasSuffix(" 99999 100000)\r\n"))
    }

    @Test("50,000 pairs of originals with the same subject each get a dummy, in linear time")
    func manyPairs() {
        let n = 50_000
        let messages = (0..<(2 * n)).map { i in
            ThreadMessage(number: UInt32(i + 1), sentDate: Int64(i), subject: Array("S\(i / 2)".utf8), isReplyOrForward: false,
                          messageID: nil, references: [])
        }
        let forest = MessageThreading.references(messages)
        #expect(forest.roots.count == n)
        #expect(forest.trees.prefix(2) == [Tree(0, [Tree(1), Tree(2)]), Tree(0, [Tree(3), Tree(4)])])
    }

    static func m(_ n: UInt32, _ date: Int64, _ subject: String, id: String?, refs: [String] = []) -> ThreadMessage {
        let base = BaseSubject(raw: Array(subject.utf8))
        return ThreadMessage(number: n, sentDate: date, subject: base.key, isReplyOrForward: base.isReplyOrForward, messageID: id, references: refs)
    }

    @Test("REFERENCES: dummies, pruning, subject grouping, loops")
    func references() {
        // 1 and 2 answer a missing parent: a dummy root holds them.
        #expect(MessageThreading.references([Self.m(1, 20, "Re: x", id: "1@x", refs: ["0@x"]), Self.m(2, 10, "Re: x", id: "2@x", refs: ["0@x"])]).trees
                == [Tree(0, [Tree(2), Tree(1)])])
        // A missing message in the middle of a chain is pruned away.
        #expect(MessageThreading.references([Self.m(1, 1, "a", id: "1@x"), Self.m(2, 2, "Re: a", id: "2@x", refs: ["1@x", "gone@x"])]).trees
                == [Tree(1, [Tree(2)])])
        // A reply by subject only goes under the original; two originals share a dummy.
        #expect(MessageThreading.references([Self.m(1, 1, "a", id: "1@x"), Self.m(2, 2, "Re: a", id: "2@x")]).trees == [Tree(1, [Tree(2)])])
        #expect(MessageThreading.references([Self.m(1, 1, "a", id: nil), Self.m(2, 2, "A", id: nil)]).trees == [Tree(0, [Tree(1), Tree(2)])])
        // Self-reference and a loop make no links; a duplicate Message-ID counts once.
        #expect(MessageThreading.references([Self.m(1, 1, "s", id: "s@x", refs: ["s@x"])]).trees == [Tree(1)])
        #expect(MessageThreading.references([Self.m(1, 1, "p", id: "f@x", refs: ["g@x"]), Self.m(2, 2, "q", id: "g@x", refs: ["f@x"])]).trees
                == [Tree(2, [Tree(1)])])
        #expect(MessageThreading.references([Self.m(1, 1, "p", id: "d@x"), Self.m(2, 2, "q", id: "d@x"), Self.m(3, 3, "r", id: "3@x", refs: ["d@x"])]).trees
                == [Tree(1, [Tree(3)]), Tree(2)])
        // Equal dates: sequence order.
        #expect(MessageThreading.references([Self.m(5, 1, "b", id: nil), Self.m(6, 1, "a", id: nil)]).trees == [Tree(5), Tree(6)])
    }

    @Test("ORDEREDSUBJECT")
    func orderedSubject() {
        let f = MessageThreading.orderedSubject([Self.m(1, 30, "b", id: nil), Self.m(2, 10, "Re: b", id: nil), Self.m(3, 20, "a", id: nil),
                                                  Self.m(4, 40, "[x] B", id: nil), Self.m(5, 5, "c", id: nil), Self.m(6, 50, "c", id: nil),
                                                  Self.m(7, 1, "c", id: nil)])
        #expect(f.trees == [Tree(7, [Tree(5), Tree(6)]), Tree(2, [Tree(1), Tree(4)]), Tree(3)])
    }

    @Test("sort facts from a header, and their stored form")
    func facts() throws {
        let header = Array("""
            From: =?UTF-8?Q?=C3=A9mile?= <emile@example.org>\r
            To: undisclosed-recipients:;\r
            Cc: <cc@example.org>, x@y\r
            Subject: Re: [list] Hello\r
            Date: Tue, 9 Jan 2024 23:30:00 -0800\r
            Message-ID: <m@x>\r
            In-Reply-To: <p@x> <q@x>\r
            \r

            """.utf8)
        let f = MessageSortFacts(header: header)
        #expect(f.sentDate == 1_704_871_800)
        #expect(f.subject == Array("HELLO".utf8) && f.isReplyOrForward)
        #expect(f.from == Array("EMILE".utf8) && f.displayFrom == UnicodeCasemap.key("émile"))
        #expect(f.to == Array("UNDISCLOSED-RECIPIENTS".utf8) && f.displayTo == Array("UNDISCLOSED-RECIPIENTS".utf8))
        #expect(f.cc == Array("CC".utf8))
        #expect(f.messageID == "m@x" && f.references == ["p@x"])
        #expect(MessageSortFacts(encoded: f.encoded()) == f)
        let bare = MessageSortFacts(header: Array("X: y\r\n\r\n".utf8))
        #expect(bare.sentDate == nil && bare.subject.isEmpty && bare.messageID == nil)
        #expect(MessageSortFacts(encoded: bare.encoded()) == bare)
        // Anything else is not decoded (the caller derives the facts again).
        let bytes = f.encoded()
        for cut in [0, 1, 9, 10, bytes.count - 1] { #expect(MessageSortFacts(encoded: Array(bytes.prefix(cut))) == nil) }
        #expect(MessageSortFacts(encoded: bytes + [0]) == nil)
        #expect(MessageSortFacts(encoded: [2] + bytes.dropFirst()) == nil)
    }
}
