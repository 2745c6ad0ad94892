import NIOCore
import Testing
@testable import IMAPCore

/// The framer and the parser together, on command streams as real clients send them.
@Suite("IMAP codec: framer + parser")
struct IMAPCodecSessionTests {
    /// Frames `input` (fed in pieces of `step`, 0 = at once) and parses every command.
    private func run(_ input: String, step: Int, limits: IMAPLimits = IMAPLimits()) throws -> [String] {
        var framer = IMAPFramer(limits: limits)
        let bytes = Array(input.utf8)
        var out: [String] = []
        var appendBytes = 0
        var i = 0
        repeat {
            let n = step == 0 ? bytes.count : min(step, bytes.count - i)
            var b = ByteBuffer(bytes: bytes[i ..< i + n])
            i += n
            framer.append(&b)
            while let f = try framer.next() {
                switch f {
                case .command(let c):
                    switch IMAPCommandParser.parse(c, limits: limits) {
                    case .success(let cmd): out.append("\(cmd.tag) \(cmd.kind)")
                    case .failure(let e): out.append("BAD \(e.tag ?? "*") \(e.message)")
                    }
                case .continuationRequest: out.append("+")
                case .appendBegin(let prefix, let size):
                    let h = try IMAPCommandParser.parseAppendHeader(prefix, literalSize: size, limits: limits).get()
                    out.append("APPEND \(h.tag) \(h.mailbox) \(h.flags) \(h.literalSize)")
                    appendBytes = 0
                case .appendChunk(let c): appendBytes += c.readableBytes
                case .appendNext(_, let size):
                    out.append("NEXT \(appendBytes) \(size)")
                    appendBytes = 0
                case .appendEnd(let rest): out.append("END \(appendBytes) \(rest.readableBytes)")
                case .tooLarge(let tag, let size, let isAppend): out.append("TOOLARGE \(tag ?? "*") \(size) \(isAppend)")
                case .lineTooLong(let tag): out.append("LONG \(tag ?? "*")")
                }
            }
        } while i < bytes.count
        return out
    }

    @Test("a Thunderbird-like session, fed at once and byte by byte")
    func session() throws {
        let input = """
        1 capability\r
        2 authenticate PLAIN\r
        AGZyZWQAc2VjcmV0\r
        3 ID ("name" "Thunderbird" "version" "128.0")\r
        4 LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN SPECIAL-USE)\r
        5 select "INBOX" (CONDSTORE)\r
        6 UID fetch 1:* (FLAGS) (CHANGEDSINCE 4)\r
        7 APPEND "Sent" (\\Seen) {12}\r
        Subject: x\r
        \r
        8 IDLE\r
        DONE\r
        9 UID STORE 3 +FLAGS.SILENT (\\Deleted)\r
        10 UID EXPUNGE 3\r
        11 logout\r

        """
        let whole = try run(input, step: 0)
        #expect(try run(input, step: 1) == whole)
        #expect(whole.count == 15, "\(whole)")
        #expect(whole[1] == "2 authenticate(mechanism: \"PLAIN\", initialResponse: nil)")
        #expect(whole[2] == "BAD * Invalid tag" || whole[2].hasPrefix("BAD"))
        #expect(whole[7] == "+")
        #expect(whole[8] == "APPEND 7 Sent [IMAPCore.IMAPFlag.seen] 12")
        #expect(whole[9] == "END 12 0")
        #expect(whole[11] == "BAD DONE Missing command")
        #expect(whole.last == "11 logout")
    }

    @Test("APPEND rest over the line limit still ends the APPEND")
    func appendRestTooLong() throws {
        var limits = IMAPLimits()
        limits.maxLineLength = 20
        let input = "a APPEND X {2+}\r\nhi" + String(repeating: " x", count: 20) + "\r\nb NOOP\r\n"
        let whole = try run(input, step: 0, limits: limits)
        #expect(whole == ["APPEND a X [] 2", "END 2 20", "b noop"])
        #expect(try run(input, step: 1, limits: limits) == whole)
    }

    @Test("a refused synchronizing APPEND: the client's next command is read normally")
    func refusedAppend() throws {
        var limits = IMAPLimits()
        limits.maxAppendSize = 100
        let out = try run("a APPEND INBOX {1000}\r\nb NOOP\r\n", step: 0, limits: limits)
        #expect(out == ["TOOLARGE a 1000 true", "b noop"])
    }
}
