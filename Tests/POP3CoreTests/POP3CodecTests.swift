import Foundation
import MailCore
import POP3Core
import Testing

@Suite struct POP3LineFramerTests {
    func frames(_ input: String, limits: POP3Limits = POP3Limits(), split: Int? = nil) -> [POP3Frame] {
        var framer = POP3LineFramer(limits: limits)
        var out: [POP3Frame] = []
        let bytes = Array(input.utf8)
        if let split {
            var i = 0
            while i < bytes.count {
                framer.append(bytes[i..<min(i + split, bytes.count)])
                while let f = framer.next() { out.append(f) }
                i += split
            }
        } else {
            framer.append(bytes)
            while let f = framer.next() { out.append(f) }
        }
        return out
    }

    @Test func linesEndAtCRLFOrBareLF() {
        let expected: [POP3Frame] = [.line(Array("USER a".utf8)), .line(Array("PASS b c".utf8)), .line([])]
        #expect(frames("USER a\r\nPASS b c\n\r\n") == expected)
        for split in 1...5 { #expect(frames("USER a\r\nPASS b c\n\r\n", split: split) == expected) }
    }

    @Test func partialLineIsHeld() {
        var framer = POP3LineFramer()
        framer.append(Array("STAT".utf8))
        #expect(framer.next() == nil)
        #expect(framer.bufferedByteCount == 4)
        framer.append(Array("\r\n".utf8))
        #expect(framer.next() == .line(Array("STAT".utf8)))
        #expect(framer.bufferedByteCount == 0)
    }

    @Test func overlongLineIsOneFrameAndSkipped() {
        var limits = POP3Limits()
        limits.maxLineLength = 16
        let input = String(repeating: "x", count: 100) + "\r\nNOOP\r\n"
        #expect(frames(input, limits: limits) == [.lineTooLong, .line(Array("NOOP".utf8))])
        #expect(frames(input, limits: limits, split: 7) == [.lineTooLong, .line(Array("NOOP".utf8))])
        // Memory stays bounded while the long line streams in.
        var framer = POP3LineFramer(limits: limits)
        for _ in 0..<1000 { framer.append(Array(repeating: UInt8(0x41), count: 1000)) }
        #expect(framer.bufferedByteCount < 16)
    }
}

@Suite struct POP3CommandParserTests {
    func parse(_ s: String) -> Result<POP3Command, POP3ParseError> { POP3CommandParser.parse(Array(s.utf8)) }

    @Test(arguments: [
        ("USER alice@example.com", POP3Command.user("alice@example.com")),
        ("user alice", .user("alice")),
        ("PASS secret with spaces ", .pass("secret with spaces ")),
        ("APOP mrose c4c9334bac560ecc979e58001b3e22fb", .apop(name: "mrose", digest: "c4c9334bac560ecc979e58001b3e22fb")),
        ("AUTH", .auth(mechanism: nil, initialResponse: nil)),
        ("AUTH plain", .auth(mechanism: "PLAIN", initialResponse: nil)),
        ("AUTH PLAIN AGFsaWNlAHNlY3JldA==", .auth(mechanism: "PLAIN", initialResponse: "AGFsaWNlAHNlY3JldA==")),
        ("AUTH PLAIN =", .auth(mechanism: "PLAIN", initialResponse: "=")),
        ("STLS", .stls), ("capa", .capa), ("QUIT", .quit), ("STAT", .stat), ("NOOP", .noop), ("RSET", .rset),
        ("LIST", .list(nil)), ("LIST 2", .list(2)), ("UIDL", .uidl(nil)), ("UIDL 10", .uidl(10)),
        ("RETR 1", .retr(1)), ("DELE 3", .dele(3)), ("TOP 1 0", .top(1, lines: 0)), ("TOP 2 10", .top(2, lines: 10)),
        ("LIST  2", .list(2)),
    ])
    func valid(_ line: String, _ expected: POP3Command) {
        #expect(parse(line) == .success(expected))
    }

    @Test(arguments: [
        "", "FOO", "STAT 1", "LIST 0", "LIST -1", "LIST x", "LIST 1 2", "RETR", "RETR 0", "RETR 99999999999",
        "DELE", "TOP 1", "TOP 1 -1", "TOP a 1", "USER", "USER a b", "PASS", "APOP a", "AUTH A B C", "QUIT now",
        "RETR +1", "RETR 1.5", "STLS x", "NOOP\u{0}",
    ])
    func invalid(_ line: String) {
        guard case .failure = parse(line) else { Issue.record("\(line.debugDescription) parsed"); return }
    }

    @Test func limits() {
        var limits = POP3Limits()
        limits.maxArgumentLength = 8
        #expect(POP3CommandParser.parse(Array("USER abcdefghij".utf8), limits: limits) == .failure(.init("Argument too long")))
        #expect(POP3CommandParser.parse([0x55, 0x53, 0x45, 0x52, 0x20, 0xFF]) == .failure(.init("Command is not valid UTF-8")))
    }
}

@Suite struct POP3ResponseTests {
    func stuff(_ s: String, bodyLines: Int? = nil, chunk: Int = 1 << 20) -> String {
        var stuffer = DotStuffer(bodyLines: bodyLines)
        var out: [UInt8] = []
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count && !stuffer.isComplete {
            stuffer.feed(bytes[i..<min(i + chunk, bytes.count)], into: &out)
            i += chunk
        }
        stuffer.finish(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func statusLines() {
        var out: [UInt8] = []
        POP3Response.ok("2 320", into: &out)
        POP3Response.err("Authentication failed", code: .auth, into: &out)
        POP3Response.err("bad\r\ninjected", into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "+OK 2 320\r\n-ERR [AUTH] Authentication failed\r\n-ERR bad  injected\r\n")
    }

    @Test func multilineListIsDotStuffed() {
        var out: [UInt8] = []
        POP3Response.lines(["TOP", ".hidden"], into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "TOP\r\n..hidden\r\n.\r\n")
    }

    @Test func dotStuffing() {
        let message = "Subject: x\r\n\r\n.leading dot\r\n..two\r\nplain\r\n.\r\n"
        let expected = "Subject: x\r\n\r\n..leading dot\r\n...two\r\nplain\r\n..\r\n.\r\n"
        for chunk in [1, 2, 3, 7, 1 << 20] { #expect(stuff(message, chunk: chunk) == expected) }
    }

    @Test func lineEndingsAreMadeCRLF() {
        #expect(stuff("a\nb\rc\r\n.d") == "a\r\nb\r\nc\r\n..d\r\n.\r\n")
        #expect(stuff("") == ".\r\n")
        #expect(stuff("no newline at end") == "no newline at end\r\n.\r\n")
        for chunk in [1, 2] { #expect(stuff("x\r", chunk: chunk) == "x\r\n.\r\n") }
    }

    @Test func topCountsBodyLines() {
        let message = "From: a\r\nSubject: s\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n"
        #expect(stuff(message, bodyLines: 0) == "From: a\r\nSubject: s\r\n\r\n.\r\n")
        #expect(stuff(message, bodyLines: 2) == "From: a\r\nSubject: s\r\n\r\nline 1\r\n..line 2\r\n.\r\n")
        #expect(stuff(message, bodyLines: 99) == message.replacingOccurrences(of: "\n.line", with: "\n..line") + ".\r\n")
        for chunk in [1, 3] { #expect(stuff(message, bodyLines: 1, chunk: chunk) == "From: a\r\nSubject: s\r\n\r\nline 1\r\n.\r\n") }
        // No blank line: the whole message is header.
        #expect(stuff("Subject: only\r\n", bodyLines: 0) == "Subject: only\r\n.\r\n")
    }
}
