import Foundation
import SMTPCore
import Testing

@Suite("SMTP input decoder: command lines, DATA content, BDAT chunks")
struct SMTPInputDecoderTests {
    /// Feeds `input` in pieces of `piece` bytes; DATA mode starts after the first line when
    /// `dataAfterFirstLine`. Returns the command lines, the content and whether DATA ended.
    func run(_ input: [UInt8], piece: Int, dataAfterFirstLine: Bool = true) -> (lines: [[UInt8]], content: [UInt8], ended: Bool, after: [[UInt8]], bare: Int) {
        var decoder = SMTPInputDecoder()
        var lines: [[UInt8]] = [], after: [[UInt8]] = [], content: [UInt8] = [], ended = false
        var bare = 0
        var i = 0
        while i < input.count {
            decoder.append(Array(input[i..<min(i + piece, input.count)]))
            i += piece
            while let event = decoder.next() {
                switch event {
                case .line(let l):
                    if ended { after.append(l) } else { lines.append(l); if dataAfterFirstLine && lines.count == 1 { decoder.beginData() } }
                case .data(let d): content += d
                case .dataEnd: ended = true; bare = decoder.bareLineEndings
                default: Issue.record("unexpected \(event)")
                }
            }
        }
        return (lines, content, ended, after, bare)
    }

    static let pieces = [1, 2, 3, 7, 64, 100_000]

    @Test("content is unstuffed and ends at CRLF.CRLF, whatever the split", arguments: pieces)
    func stuffing(piece: Int) {
        let input = Array("DATA\r\nSubject: x\r\n\r\n..leading dot\r\n...two\r\n.\r\nNOOP\r\n".utf8)
        let r = run(input, piece: piece)
        #expect(r.lines == [Array("DATA".utf8)])
        #expect(r.ended)
        #expect(String(decoding: r.content, as: UTF8.self) == "Subject: x\r\n\r\n.leading dot\r\n..two\r\n")
        #expect(r.after == [Array("NOOP".utf8)])
    }

    @Test("an empty message ends at once", arguments: pieces)
    func empty(piece: Int) {
        let r = run(Array("DATA\r\n.\r\n".utf8), piece: piece)
        #expect(r.ended && r.content.isEmpty)
    }

    /// SMTP smuggling: none of these ends the message; the "smuggled" commands stay content.
    @Test("bare LF / bare CR end-of-data forms are content, never the end", arguments: [
        "hello\n.\nMAIL FROM:<a@b>\r\n",
        "hello\r.\rMAIL FROM:<a@b>\r\n",
        "hello\n.\r\nMAIL FROM:<a@b>\r\n",
        "hello\r\n.\nMAIL FROM:<a@b>\r\n",
        "hello\r\n.\rMAIL FROM:<a@b>\r\n",
        "hello\r.\r\nMAIL FROM:<a@b>\r\n",
    ])
    func smuggling(body: String) {
        for piece in Self.pieces {
            let input = Array(("DATA\r\n" + body + "real end\r\n.\r\n").utf8)
            let r = run(input, piece: piece)
            #expect(r.ended)
            let text = String(decoding: r.content, as: UTF8.self)
            #expect(text.contains("MAIL FROM:<a@b>\r\n"), "piece \(piece): \(text.debugDescription)")
            #expect(text.hasSuffix("real end\r\n"))
            #expect(!text.contains("\r\r") && !text.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "line endings are CRLF")
            #expect(r.bare > 0)
        }
    }

    @Test("bare line endings in content become CRLF", arguments: pieces)
    func normalise(piece: Int) {
        let r = run(Array("DATA\r\na\nb\rc\r\n.\r\n".utf8), piece: piece)
        #expect(String(decoding: r.content, as: UTF8.self) == "a\r\nb\r\nc\r\n")
        #expect(r.bare == 2)
    }

    @Test("command lines: CRLF or bare LF; an overlong line is refused and skipped")
    func lines() {
        var limits = SMTPLimits()
        limits.maxCommandLineLength = 16
        var decoder = SMTPInputDecoder(limits: limits)
        decoder.append(Array("NOOP\r\nRSET\n".utf8) + Array(repeating: UInt8(ascii: "A"), count: 40) + Array("\r\nQUIT\r\n".utf8))
        var events: [SMTPInput] = []
        while let e = decoder.next() { events.append(e) }
        #expect(events == [.line(Array("NOOP".utf8)), .line(Array("RSET".utf8)), .lineTooLong, .line(Array("QUIT".utf8))])
        // A long line arriving in pieces is dropped without being held.
        decoder.append(Array(repeating: UInt8(ascii: "B"), count: 1000))
        #expect(decoder.next() == .lineTooLong)
        decoder.append(Array(repeating: UInt8(ascii: "B"), count: 1000))
        #expect(decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 0)
        decoder.append(Array("\r\nNOOP\r\n".utf8))
        #expect(decoder.next() == .line(Array("NOOP".utf8)))
    }

    @Test("BDAT chunks are read by count, as sent, then commands resume", arguments: [1, 5, 1000])
    func chunks(piece: Int) {
        let input = Array("BDAT 7\r\na\nb.\r\nzNOOP\r\n".utf8)
        var decoder = SMTPInputDecoder()
        var chunk: [UInt8] = [], lines: [String] = [], ends = 0
        var i = 0
        while i < input.count {
            decoder.append(Array(input[i..<min(i + piece, input.count)])); i += piece
            while let e = decoder.next() {
                switch e {
                case .line(let l):
                    let s = String(decoding: l, as: UTF8.self); lines.append(s)
                    if s == "BDAT 7" { decoder.beginChunk(size: 7) }
                case .chunk(let c): chunk += c
                case .chunkEnd: ends += 1
                default: Issue.record("unexpected \(e)")
                }
            }
        }
        #expect(String(decoding: chunk, as: UTF8.self) == "a\nb.\r\nz")
        #expect(ends == 1)
        #expect(lines == ["BDAT 7", "NOOP"])
    }
}
