import NIOCore
import Testing
@testable import IMAPCore

/// A readable form of frames; consecutive append chunks are merged (their sizes are tested apart).
private func describe(_ frames: [IMAPFrame]) -> [String] {
    var out: [String] = []
    for f in frames {
        switch f {
        case .command(let b): out.append("cmd:" + String(buffer: b))
        case .continuationRequest: out.append("+")
        case .appendBegin(let b, let n): out.append("begin:\(String(buffer: b)):\(n)")
        case .appendChunk(let b):
            if let last = out.last, last.hasPrefix("chunk:") {
                out[out.count - 1] = last + String(buffer: b)
            } else {
                out.append("chunk:" + String(buffer: b))
            }
        case .appendNext(let b, let n): out.append("next:\(String(buffer: b)):\(n)")
        case .appendEnd(let b): out.append("end:" + String(buffer: b))
        case .tooLarge(let tag, let n, let isAppend): out.append("tooLarge:\(tag ?? "-"):\(n):\(isAppend)")
        case .lineTooLong(let tag): out.append("lineTooLong:\(tag ?? "-")")
        }
    }
    return out
}

/// Feeds `input` in pieces of `step` bytes (0: all at once), draining after each piece.
private func frames(_ input: [UInt8], step: Int, limits: IMAPLimits = IMAPLimits()) throws -> [IMAPFrame] {
    var framer = IMAPFramer(limits: limits)
    var out: [IMAPFrame] = []
    var i = 0
    repeat {
        let n = step == 0 ? input.count : min(step, input.count - i)
        var b = ByteBuffer(bytes: input[i ..< i + n])
        i += n
        framer.append(&b)
        while let f = try framer.next() { out.append(f) }
    } while i < input.count
    return out
}

private func framesAllWays(_ input: String, limits: IMAPLimits = IMAPLimits()) throws -> [String] {
    let bytes = Array(input.utf8)
    let whole = describe(try frames(bytes, step: 0, limits: limits))
    for step in [1, 2, 3, 7] {
        let parts = describe(try frames(bytes, step: step, limits: limits))
        #expect(parts == whole, "step \(step): \(parts) vs \(whole)")
    }
    return whole
}

@Suite("IMAPFramer")
struct IMAPFramerTests {
    @Test("REPLACE and UID REPLACE stream their message literal as APPEND does (RFC 8508)")
    func replaceStreams() throws {
        let frames = try framesAllWays("r1 REPLACE 3 Drafts (\\Draft) {5+}\r\nhello\r\nr2 uid replace 9 INBOX {2}\r\nhi\r\nr3 REPLACE 1:2 INBOX {2+}\r\nxy\r\n")
        #expect(frames.first == "begin:r1 REPLACE 3 Drafts (\\Draft) {5+}:5")
        #expect(frames.contains("begin:r2 uid replace 9 INBOX {2}:2"))
        // A REPLACE whose header does not parse is framed as a command (and answered BAD).
        #expect(frames.last == "cmd:r3 REPLACE 1:2 INBOX {2+}\r\nxy")
        var limits = IMAPLimits()
        limits.maxAppendSize = 4
        #expect(try framesAllWays("r4 UID REPLACE 1 INBOX {5+}\r\nhello\r\n", limits: limits) == ["tooLarge:r4:5:true"])
    }

    @Test("plain lines, CRLF and bare LF")
    func lines() throws {
        // An empty line is ignored (nothing to answer).
        #expect(try framesAllWays("a1 NOOP\r\na2 CAPABILITY\nDONE\r\n\r\n") ==
            ["cmd:a1 NOOP", "cmd:a2 CAPABILITY", "cmd:DONE"])
    }

    @Test("incomplete line waits")
    func incomplete() throws {
        #expect(try framesAllWays("a1 NOOP\r\na2 NO") == ["cmd:a1 NOOP"])
        var f = IMAPFramer()
        var b = ByteBuffer(string: "a1 NOOP\r\na2 NO")
        f.append(&b)
        _ = try f.next()
        #expect(try f.next() == nil)
        #expect(f.bufferedByteCount == 5)
    }

    @Test("synchronizing literal: continuation request, literal inline")
    func syncLiteral() throws {
        #expect(try framesAllWays("a LOGIN {4}\r\nuser {4}\r\npass\r\nb NOOP\r\n") ==
            ["+", "+", "cmd:a LOGIN {4}\r\nuser {4}\r\npass", "cmd:b NOOP"])
    }

    @Test("continuation is emitted before the literal bytes arrive")
    func continuationEarly() throws {
        var f = IMAPFramer()
        var b = ByteBuffer(string: "a LOGIN {4}\r\n")
        f.append(&b)
        #expect(try f.next() == .continuationRequest)
        #expect(try f.next() == nil)
        var rest = ByteBuffer(string: "user pw\r\n")
        f.append(&rest)
        #expect(describe([try #require(try f.next())]) == ["cmd:a LOGIN {4}\r\nuser pw"])
    }

    @Test("non-synchronizing and binary literals need no continuation")
    func nonSyncLiteral() throws {
        #expect(try framesAllWays("a LOGIN {4+}\r\nuser {2+}\r\npw\r\n") == ["cmd:a LOGIN {4+}\r\nuser {2+}\r\npw"])
        #expect(try framesAllWays("a SEARCH TEXT {3}\nx\r\n\r\n") == ["+", "cmd:a SEARCH TEXT {3}\nx\r\n"])
        #expect(try framesAllWays("a X ~{2+}\r\n\r\n\r\n") == ["cmd:a X ~{2+}\r\n\r\n"])
    }

    @Test("literal bytes that look like line ends or markers stay inside")
    func literalContent() throws {
        #expect(try framesAllWays("a LOGIN {6+}\r\n{9}\r\n pw\r\n") == ["cmd:a LOGIN {6+}\r\n{9}\r\n pw"])
        #expect(try framesAllWays("a X {0}\r\n\r\n") == ["+", "cmd:a X {0}\r\n"])
    }

    @Test("APPEND streams the message literal")
    func append() throws {
        let message = String(repeating: "x", count: 100)
        #expect(try framesAllWays("A1 APPEND INBOX (\\Seen) {100}\r\n\(message)\r\nA2 NOOP\r\n") ==
            ["+", "begin:A1 APPEND INBOX (\\Seen) {100}:100", "chunk:\(message)", "end:", "cmd:A2 NOOP"])
        #expect(try framesAllWays("A1 append \"Sent\" \"17-Jul-1996 02:44:25 -0700\" {3+}\r\nabc\r\n") ==
            ["begin:A1 append \"Sent\" \"17-Jul-1996 02:44:25 -0700\" {3+}:3", "chunk:abc", "end:"])
        #expect(try framesAllWays("A1 APPEND INBOX ~{2}\r\n\0\0\r\n") == ["+", "begin:A1 APPEND INBOX ~{2}:2", "chunk:\0\0", "end:"])
        #expect(try framesAllWays("A1 APPEND INBOX {0}\r\n\r\n") == ["+", "begin:A1 APPEND INBOX {0}:0", "end:"])
    }

    @Test("APPEND with a mailbox literal: the mailbox stays inline")
    func appendMailboxLiteral() throws {
        #expect(try framesAllWays("A1 APPEND {5}\r\nDraft (\\Draft) {2}\r\nhi\r\n") ==
            ["+", "+", "begin:A1 APPEND {5}\r\nDraft (\\Draft) {2}:2", "chunk:hi", "end:"])
    }

    @Test("APPEND rest of line goes to appendEnd; a literal after text that is no next message is skipped")
    func appendRest() throws {
        #expect(try framesAllWays("A1 APPEND INBOX {2+}\r\nhi INBOX {3+}\r\nabc\r\nA2 NOOP\r\n") ==
            ["begin:A1 APPEND INBOX {2+}:2", "chunk:hi", "end: INBOX {3+}", "cmd:A2 NOOP"])
        #expect(try framesAllWays("A1 APPEND INBOX {2+}\r\nhi junk\r\nA2 NOOP\r\n") ==
            ["begin:A1 APPEND INBOX {2+}:2", "chunk:hi", "end: junk", "cmd:A2 NOOP"])
    }

    @Test("MULTIAPPEND: each next message announced by appendNext, its literal streamed")
    func multiAppend() throws {
        #expect(try framesAllWays("A1 APPEND INBOX {2+}\r\nhi (\\Seen) \"01-Jan-2020 10:00:00 +0000\" ~{3+}\r\nabc {0+}\r\n\r\nA2 NOOP\r\n") ==
            ["begin:A1 APPEND INBOX {2+}:2", "chunk:hi", "next: (\\Seen) \"01-Jan-2020 10:00:00 +0000\" ~{3+}:3", "chunk:abc",
             "next: {0+}:0", "end:", "cmd:A2 NOOP"])
        // Synchronizing literals: a continuation for each.
        #expect(try framesAllWays("A1 APPEND INBOX {2}\r\nhi {3}\r\nabc\r\n") ==
            ["+", "begin:A1 APPEND INBOX {2}:2", "chunk:hi", "next: {3}:3", "+", "chunk:abc", "end:"])
    }

    @Test("MULTIAPPEND: a message over maxAppendSize, or the command over maxMultiAppendSize or -Messages, is tooLarge")
    func multiAppendLimits() throws {
        var limits = IMAPLimits()
        limits.maxAppendSize = 5
        limits.maxMultiAppendSize = 8
        limits.maxMultiAppendMessages = 3
        // Non-synchronizing: the literal and the rest of the line are skipped, never commands.
        #expect(try framesAllWays("A1 APPEND INBOX {2+}\r\nhi {6+}\r\nA3 BAD {2+}\r\nxy\r\nA2 NOOP\r\n", limits: limits) ==
            ["begin:A1 APPEND INBOX {2+}:2", "chunk:hi", "tooLarge:A1:6:true", "cmd:A2 NOOP"])
        #expect(try framesAllWays("A1 APPEND INBOX {4+}\r\nabcd {5+}\r\nA3 BA\r\nA2 NOOP\r\n", limits: limits) ==
            ["begin:A1 APPEND INBOX {4+}:4", "chunk:abcd", "tooLarge:A1:5:true", "cmd:A2 NOOP"])
        #expect(try framesAllWays("A1 APPEND INBOX {1+}\r\na {1+}\r\nb {1+}\r\nc {1+}\r\nd\r\nA2 NOOP\r\n", limits: limits) ==
            ["begin:A1 APPEND INBOX {1+}:1", "chunk:a", "next: {1+}:1", "chunk:b", "next: {1+}:1", "chunk:c", "tooLarge:A1:1:true",
             "cmd:A2 NOOP"])
        // Synchronizing: no continuation; the client sends its next command.
        #expect(try framesAllWays("A1 APPEND INBOX {2}\r\nhi {6}\r\nA2 NOOP\r\n", limits: limits) ==
            ["+", "begin:A1 APPEND INBOX {2}:2", "chunk:hi", "tooLarge:A1:6:true", "cmd:A2 NOOP"])
    }

    @Test("APPEND chunks are at most appendChunkSize")
    func appendChunks() throws {
        var limits = IMAPLimits()
        limits.appendChunkSize = 10
        let input = Array("a APPEND INBOX {35+}\r\n".utf8) + Array(repeating: UInt8(0x41), count: 35) + Array("\r\n".utf8)
        let all = try frames(input, step: 0, limits: limits)
        let sizes = all.compactMap { f -> Int? in if case .appendChunk(let b) = f { b.readableBytes } else { nil } }
        #expect(sizes == [10, 10, 10, 5])
        let small = try frames(input, step: 4, limits: limits)
        let sizes4 = small.compactMap { f -> Int? in if case .appendChunk(let b) = f { b.readableBytes } else { nil } }
        #expect(sizes4.allSatisfy { $0 <= 10 } && sizes4.reduce(0, +) == 35)
    }

    @Test("APPEND streaming buffers nothing of the message")
    func appendBufferedCount() throws {
        var f = IMAPFramer()
        var b = ByteBuffer(string: "a APPEND INBOX {1000+}\r\n" + String(repeating: "y", count: 600))
        f.append(&b)
        var got = 0
        while let frame = try f.next() { if case .appendChunk(let c) = frame { got += c.readableBytes } }
        #expect(got == 600)
        #expect(f.bufferedByteCount == 0)
    }

    @Test("line over maxLineLength is skipped")
    func lineTooLong() throws {
        var limits = IMAPLimits()
        limits.maxLineLength = 20
        #expect(try framesAllWays("t1 SEARCH " + String(repeating: "A", count: 50) + "\r\nt2 NOOP\r\n", limits: limits) ==
            ["lineTooLong:t1", "cmd:t2 NOOP"])
        #expect(try framesAllWays(String(repeating: "(", count: 50) + "\r\nt2 NOOP\r\n", limits: limits) ==
            ["lineTooLong:-", "cmd:t2 NOOP"])
        // the skipped line announced a non-synchronizing literal: its bytes are skipped too
        #expect(try framesAllWays("t1 X " + String(repeating: "A", count: 30) + " {5+}\r\nt9 NO\r\nt2 NOOP\r\n", limits: limits) ==
            ["lineTooLong:t1", "cmd:t2 NOOP"])
    }

    @Test("inline literal over maxInlineLiteral")
    func inlineTooLarge() throws {
        var limits = IMAPLimits()
        limits.maxInlineLiteral = 10
        #expect(try framesAllWays("a LOGIN {11}\r\nb NOOP\r\n", limits: limits) == ["tooLarge:a:11:false", "cmd:b NOOP"])
        #expect(try framesAllWays("a LOGIN {11+}\r\n01234567890 rest {2+}\r\nxx more\r\nb NOOP\r\n", limits: limits) ==
            ["tooLarge:a:11:false", "cmd:b NOOP"])
    }

    @Test("APPEND over maxAppendSize")
    func appendTooLarge() throws {
        var limits = IMAPLimits()
        limits.maxAppendSize = 10
        #expect(try framesAllWays("a APPEND INBOX {11}\r\nb NOOP\r\n", limits: limits) == ["tooLarge:a:11:true", "cmd:b NOOP"])
        #expect(try framesAllWays("a APPEND INBOX {11+}\r\n01234567890\r\nb NOOP\r\n", limits: limits) ==
            ["tooLarge:a:11:true", "cmd:b NOOP"])
    }

    @Test("command over maxCommandSize")
    func commandTooLarge() throws {
        var limits = IMAPLimits()
        limits.maxCommandSize = 30
        #expect(try framesAllWays("a LOGIN {10+}\r\n0123456789 {10+}\r\n0123456789\r\nb NOOP\r\n", limits: limits) ==
            ["tooLarge:a:10:false", "cmd:b NOOP"])
    }

    @Test("skipping counts bytes without buffering them")
    func skipNoBuffer() throws {
        var limits = IMAPLimits()
        limits.maxAppendSize = 10
        var f = IMAPFramer(limits: limits)
        var b = ByteBuffer(string: "a APPEND INBOX {100000+}\r\n" + String(repeating: "z", count: 50_000))
        f.append(&b)
        #expect(try f.next() == nil)
        #expect(f.bufferedByteCount == 0)
    }

    // `{x}`, `{}` and `{+}` are not literal markers: such a line is a command (the parser answers BAD).
    @Test("absurd literal sizes close the connection", arguments: ["a LOGIN {99999999999999}\r\n", "a LOGIN {1099511627777}\r\n"])
    func invalidLiteral(_ input: String) {
        #expect(throws: IMAPFramingError.self) { _ = try frames(Array(input.utf8), step: 0) }
        #expect(throws: IMAPFramingError.self) { _ = try frames(Array(input.utf8), step: 1) }
    }

    @Test("an absurd synchronizing literal in any command is refused at once, without a continuation",
          arguments: [("a LOGIN {99999999999}\r\n", false), ("a SEARCH TEXT {99999999999}\r\n", false),
                      ("a APPEND INBOX {99999999999}\r\n", true)])
    func absurdSyncLiteral(_ input: String, isAppend: Bool) throws {
        #expect(try framesAllWays(input + "b NOOP\r\n") == ["tooLarge:a:99999999999:\(isAppend)", "cmd:b NOOP"])
    }

    @Test("an absurd non-synchronizing literal in any command throws [TOOBIG] as soon as its marker is read",
          arguments: ["a LOGIN {99999999999+}\r\n", "a SEARCH TEXT {99999999999+}\r\n", "a APPEND INBOX {99999999999+}\r\n",
                      "a LOGIN {3+}\r\nbob {99999999999+}\r\n", "a APPEND INBOX {1+}\r\nx {99999999999+}\r\n",
                      "a APPEND INBOX {1+}\r\nx junk {99999999999+}\r\n"])
    func absurdNonSyncLiteral(_ input: String) {
        for step in [0, 1, 5] {
            do {
                _ = try frames(Array(input.utf8), step: step)
                Issue.record("no error for \(input) at step \(step)")
            } catch {
                #expect((error as? IMAPFramingError)?.isTooBig == true, "\(error)")
            }
        }
    }

    @Test("a refused non-synchronizing literal is skipped up to maxSkippedLiteral, and not past it")
    func skipBound() throws {
        var limits = IMAPLimits()
        limits.maxInlineLiteral = 10
        limits.maxAppendSize = 10
        limits.maxLineLength = 40
        limits.maxSkippedLiteral = 20
        let twenty = String(repeating: "z", count: 20)
        #expect(try framesAllWays("a LOGIN {20+}\r\n\(twenty)\r\nb NOOP\r\n", limits: limits) == ["tooLarge:a:20:false", "cmd:b NOOP"])
        #expect(try framesAllWays("a APPEND INBOX {20+}\r\n\(twenty)\r\nb NOOP\r\n", limits: limits) == ["tooLarge:a:20:true", "cmd:b NOOP"])
        let long = "t1 X " + String(repeating: "A", count: 50)
        for input in ["a LOGIN {21+}\r\n", "a APPEND INBOX {21+}\r\n", long + " {21+}\r\n", long + " {99999999999999+}\r\n"] {
            for step in [0, 1, 3] {
                #expect(throws: IMAPFramingError.self, "\(input) step \(step)") { _ = try frames(Array(input.utf8), step: step, limits: limits) }
            }
        }
    }

    @Test("a closing brace that is not a literal marker is text")
    func braceText() throws {
        #expect(try framesAllWays("a LOGIN x} \"{1 }\"\r\n") == ["cmd:a LOGIN x} \"{1 }\""])
    }

    /// A quadratic framer would take minutes here; the bound is the test's time limit, not an assertion.
    @Test("an APPEND with thousands of literals is framed in linear time", .timeLimit(.minutes(1)))
    func manyLiterals() throws {
        var limits = IMAPLimits()
        limits.maxCommandSize = 1 << 20
        let input = "a APPEND {1+}\r\nX Y" + String(repeating: " {0+}\r\n", count: 40_000) + "\r\n"
        let out = describe(try frames(Array(input.utf8), step: 0, limits: limits))
        #expect(!out.isEmpty)
    }

    @Test("bufferedByteCount reports pipelined bytes")
    func buffered() throws {
        var f = IMAPFramer()
        var b = ByteBuffer(string: "a STARTTLS\r\nb LOGIN x y\r\n")
        f.append(&b)
        _ = try f.next()
        #expect(f.bufferedByteCount == 13)
    }
}
