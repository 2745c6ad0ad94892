import ManageSieveCore
import Testing

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Feeds `input` in one piece, or byte by byte, and collects the frames.
private func frames(_ input: [UInt8], limits: ManageSieveLimits = ManageSieveLimits(), authenticated: Bool = true,
                    byteByByte: Bool = false) throws(ManageSieveFramingError) -> [ManageSieveFrame] {
    var framer = ManageSieveFramer(limits: limits)
    framer.authenticated = authenticated
    var out: [ManageSieveFrame] = []
    let pieces: [[UInt8]] = byteByByte ? input.map { [$0] } : [input]
    for piece in pieces {
        framer.append(piece)
        while let frame = try framer.next() { out.append(frame) }
    }
    return out
}

@Suite("ManageSieve framer")
struct ManageSieveFramerTests {
    /// Found by the fuzzer: a line too long for the limit ending in a literal size of 21 digits was
    /// refused (the stream cannot resync) when it came whole, but read as a too-long line when it
    /// came in pieces (its CR was counted among the last 24 bytes, pushing the `{` out).
    @Test("a too-long line ending in an oversized literal: the same error whole or in pieces", arguments: [1, 2, 3, 7, 64])
    func tooLongLineWithOversizedLiteral(chunk: Int) {
        var limits = ManageSieveLimits()
        limits.maxLineLength = 64
        let input = bytes("N1111111111111111111111111111OOP {994P {9994P {999999999999999999999+}\r\n")
        var framer = ManageSieveFramer(limits: limits)
        var error: ManageSieveFramingError?
        var i = 0
        while i < input.count, error == nil {
            framer.append(input[i..<min(i + chunk, input.count)])
            do { while try framer.next() != nil {} } catch let e { error = e }
            i += chunk
        }
        #expect(error?.description == "literal size too large", "chunk \(chunk): \(String(describing: error))")
    }

    @Test("lines and literals, whole or byte by byte", arguments: [false, true])
    func commands(byteByByte: Bool) throws {
        let input = bytes("CAPABILITY\r\nPUTSCRIPT \"a\" {7+}\r\nkeep;\r\n\r\nlistscripts\nPUTSCRIPT {1}\r\nb {0+}\r\n\r\n\r\nLOGOUT\r\n")
        #expect(try frames(input, byteByByte: byteByByte) == [
            .command(bytes("CAPABILITY")),
            .command(bytes("PUTSCRIPT \"a\" {7+}\r\nkeep;\r\n")),
            .command(bytes("listscripts")),
            .command(bytes("PUTSCRIPT {1}\r\nb {0+}\r\n")),
            .command(bytes("LOGOUT")),
        ])
    }

    @Test("a line over the limit is skipped to its end, and a literal at its end with it", arguments: [false, true])
    func longLine(byteByByte: Bool) throws {
        var limits = ManageSieveLimits()
        limits.maxLineLength = 64
        let long = "NOOP \"" + String(repeating: "x", count: 200) + "\" {5+}\r\nNOOP!\r\nNOOP\r\n"
        #expect(try frames(bytes(long), limits: limits, byteByByte: byteByByte) == [
            .tooLarge(verb: "NOOP", literalSize: nil), .command(bytes("NOOP")),
        ])
    }

    /// Found by the fuzzer: the CR of a line of exactly the limit arrived before its LF and the
    /// line was taken for too long only when it came in pieces.
    @Test("a line of exactly the limit is a command however it arrives", arguments: [false, true])
    func lineAtLimit(byteByByte: Bool) throws {
        var limits = ManageSieveLimits()
        limits.maxLineLength = 16
        let line = "NOOP \"" + String(repeating: "x", count: 9) + "\""
        #expect(line.utf8.count == 16)
        #expect(try frames(bytes(line + "\r\n" + line + "x\r\nNOOP\r\n"), limits: limits, byteByByte: byteByByte)
                == [.command(bytes(line)), .tooLarge(verb: "NOOP", literalSize: nil), .command(bytes("NOOP"))])
    }

    /// Found by the fuzzer: a long line's literal marker was read whole when the line came at once
    /// and by its last bytes when it came in pieces; now by its last bytes either way.
    @Test("a too-long line ending in a marker with absurdly many digits: the same however it arrives", arguments: [false, true])
    func longLineLongMarker(byteByByte: Bool) throws {
        var limits = ManageSieveLimits()
        limits.maxLineLength = 16
        let line = "NOOP " + String(repeating: "x", count: 20) + " {" + String(repeating: "9", count: 30) + "+}"
        #expect(try frames(bytes(line + "\r\nNOOP\r\n"), limits: limits, byteByByte: byteByByte)
                == [.tooLarge(verb: "NOOP", literalSize: nil), .command(bytes("NOOP"))])
    }

    @Test("a literal over the limit is skipped whole (never read as commands), then answered", arguments: [false, true])
    func literalTooLarge(byteByByte: Bool) throws {
        var limits = ManageSieveLimits()
        limits.maxLiteral = 10
        let input = bytes("PUTSCRIPT \"a\" {17+}\r\nLOGOUT\r\nLOGOUT\r\nx\r\nNOOP\r\n")
        #expect(try frames(input, limits: limits, byteByByte: byteByByte) == [
            .tooLarge(verb: "PUTSCRIPT", literalSize: 17), .command(bytes("NOOP")),
        ])
    }

    @Test("a skipped command's second literal is skipped too")
    func secondLiteralSkipped() throws {
        var limits = ManageSieveLimits()
        limits.maxLiteral = 4
        let input = bytes("PUTSCRIPT {9+}\r\nLOGOUT\r\nX {6+}\r\nLOGOUT\r\nNOOP\r\n")
        #expect(try frames(input, limits: limits) == [.tooLarge(verb: "PUTSCRIPT", literalSize: 9), .command(bytes("NOOP"))])
    }

    @Test("before login, literals are small (memory during authentication stays bounded)")
    func beforeLogin() throws {
        let big = String(repeating: "A", count: 9000)
        let input = bytes("AUTHENTICATE \"PLAIN\" {9000+}\r\n\(big)\r\nNOOP\r\n")
        #expect(try frames(input, authenticated: false) == [.tooLarge(verb: "AUTHENTICATE", literalSize: 9000), .command(bytes("NOOP"))])
        #expect(try frames(input, authenticated: true) == [.command(bytes("AUTHENTICATE \"PLAIN\" {9000+}\r\n\(big)")), .command(bytes("NOOP"))])
    }

    @Test("a literal too large even to skip ends the stream", arguments: [
        ("AUTHENTICATE \"PLAIN\" {100000+}\r\n", false),
        ("PUTSCRIPT \"a\" {4294967295+}\r\n", true),
        ("PUTSCRIPT \"a\" {99999999999+}\r\n", true),
    ])
    func unskippable(text: String, authenticated: Bool) {
        #expect(throws: ManageSieveFramingError.self) { try frames(bytes(text), authenticated: authenticated) }
    }

    @Test("more literals than a command may have: skipped")
    func tooManyLiterals() throws {
        let input = bytes("NOOP {1+}\r\na {1+}\r\nb {1+}\r\nc\r\nNOOP\r\n")
        #expect(try frames(input) == [.tooLarge(verb: "NOOP", literalSize: nil), .command(bytes("NOOP"))])
    }

    @Test("memory stays bounded while a long line trickles in")
    func boundedBuffer() throws {
        var framer = ManageSieveFramer()
        for _ in 0..<1000 {
            framer.append(bytes(String(repeating: "x", count: 1000)))
            _ = try framer.next()
            #expect(framer.bufferedByteCount <= framer.limits.maxLineLength + 1000)
        }
        framer.append(bytes("\r\nNOOP\r\n"))
        #expect(try framer.next() == .tooLarge(verb: nil, literalSize: nil))
        #expect(try framer.next() == .command(bytes("NOOP")))
        #expect(!framer.isMidCommand)
    }

    @Test("mid-command state for the input deadline")
    func midCommand() throws {
        var framer = ManageSieveFramer()
        framer.authenticated = true
        framer.append(bytes("PUTSCRIPT \"a\" {7+}\r\nkee"))
        #expect(try framer.next() == nil)
        #expect(framer.isMidCommand)
        framer.append(bytes("p;\r\n\r\n\r\n"))
        #expect(try framer.next() == .command(bytes("PUTSCRIPT \"a\" {7+}\r\nkeep;\r\n")))
        #expect(try framer.next() == nil)  // the empty lines after it
        #expect(!framer.isMidCommand)
    }
}

@Suite("ManageSieve responses")
struct ManageSieveResponseTests {
    func encoded(_ body: (inout [UInt8]) -> Void) -> String {
        var out: [UInt8] = []
        body(&out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("status lines with response codes, as Dovecot writes them")
    func statusLines() {
        #expect(encoded { ManageSieveResponse.status(.ok, text: "Logged in.", into: &$0) } == "OK \"Logged in.\"\r\n")
        #expect(encoded { ManageSieveResponse.status(.no, code: .nonexistent, text: "Sieve script `missing' not found", into: &$0) }
                == "NO (NONEXISTENT) \"Sieve script `missing' not found\"\r\n")
        #expect(encoded { ManageSieveResponse.status(.no, code: .active, text: "Cannot delete the active Sieve script.", into: &$0) }
                == "NO (ACTIVE) \"Cannot delete the active Sieve script.\"\r\n")
        #expect(encoded { ManageSieveResponse.status(.no, code: .alreadyExists, text: "x", into: &$0) } == "NO (ALREADYEXISTS) \"x\"\r\n")
        #expect(encoded { ManageSieveResponse.status(.no, code: .quotaMaxScripts, text: "x", into: &$0) } == "NO (QUOTA/MAXSCRIPTS) \"x\"\r\n")
        #expect(encoded { ManageSieveResponse.status(.no, code: .quotaMaxSize, text: "x", into: &$0) } == "NO (QUOTA/MAXSIZE) \"x\"\r\n")
        #expect(encoded { ManageSieveResponse.status(.ok, code: .tag(Array("probe-1".utf8)), text: "Done", into: &$0) }
                == "OK (TAG \"probe-1\") \"Done\"\r\n")
        #expect(encoded { ManageSieveResponse.status(.ok, code: .sasl(Array("dGVzdA==".utf8)), text: "", into: &$0) } == "OK (SASL \"dGVzdA==\")\r\n")
        #expect(encoded { ManageSieveResponse.status(.bye, code: .tryLater, text: "Server shutting down.", into: &$0) }
                == "BYE (TRYLATER) \"Server shutting down.\"\r\n")
        #expect(encoded { ManageSieveResponse.status(.ok, text: "a \"quoted\" \\ text", into: &$0) } == "OK \"a \\\"quoted\\\" \\\\ text\"\r\n")
    }

    @Test("multi-line text goes as a literal (diagnostics, warnings)")
    func literalText() {
        let text = "line 1: error: unknown command 'foo'.\r\n"
        #expect(encoded { ManageSieveResponse.status(.no, text: text, into: &$0) } == "NO {\(text.utf8.count)}\r\n\(text)\r\n")
        #expect(encoded { ManageSieveResponse.status(.ok, code: .warnings, text: text, into: &$0) } == "OK (WARNINGS) {\(text.utf8.count)}\r\n\(text)\r\n")
    }

    @Test("capabilities, script lists, scripts and challenges")
    func dataLines() {
        #expect(encoded { ManageSieveResponse.capability("VERSION", "1.0", into: &$0) } == "\"VERSION\" \"1.0\"\r\n")
        #expect(encoded { ManageSieveResponse.capability("STARTTLS", nil, into: &$0) } == "\"STARTTLS\"\r\n")
        #expect(encoded { ManageSieveResponse.scriptListEntry("a", active: true, into: &$0) } == "\"a\" ACTIVE\r\n")
        #expect(encoded { ManageSieveResponse.scriptListEntry("Ünïcode", active: false, into: &$0) } == "\"Ünïcode\"\r\n")
        #expect(encoded { ManageSieveResponse.script(Array("keep;\n".utf8), into: &$0) } == "{6}\r\nkeep;\n\r\n")
        #expect(encoded { ManageSieveResponse.challenge([], into: &$0) } == "\"\"\r\n")
    }

    /// Every response the encoder writes parses back (as a client would read its strings).
    @Test("strings round-trip through the parser", arguments: ["", "plain", "with \"quotes\" and \\", "two\r\nlines", String(repeating: "y", count: 2000)])
    func roundTrip(text: String) {
        var out = Array("NOOP ".utf8)
        ManageSieveResponse.string(Array(text.utf8), into: &out)
        #expect(ManageSieveParser.parse(out) == .success(.noop(tag: Array(text.utf8))))
    }
}
