// libFuzzer entry point over the POP3 codec (POP3Core). Built by scripts/fuzz.sh with
// `swiftc -sanitize=fuzzer,address -parse-as-library Sources/POP3Core/*.swift Sources/MailCore/DotStuffer.swift Fuzz/POP3Fuzz/main.swift`.
// Besides crashes and hangs it checks invariants, trapping when one breaks:
// - framing: the same frames whether the input arrives at once or in pieces; no frame holds a LF
//   or reaches the line limit; buffering stays under the limit;
// - parsing: never traps; numbers in parsed commands are in range;
// - dot-stuffing: the same output whatever the chunking; every line ends in CRLF, no bare CR or LF,
//   no line is a lone "." before the terminator; un-stuffing gives back the input with its line
//   endings made CRLF; TOP's output is a prefix of RETR's.

@_cdecl("LLVMFuzzerTestOneInput")
public func pop3FuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var limits = POP3Limits()
    limits.maxLineLength = 64
    limits.maxArgumentLength = 16

    // Framing, at once and in pieces of a size taken from the input.
    func frames(chunk: Int) -> [POP3Frame] {
        var framer = POP3LineFramer(limits: limits)
        var out: [POP3Frame] = []
        var i = 0
        while i < bytes.count {
            framer.append(bytes[i..<min(i + chunk, bytes.count)])
            precondition(framer.bufferedByteCount < limits.maxLineLength)
            while let f = framer.next() { out.append(f) }
            i += chunk
        }
        return out
    }
    let whole = frames(chunk: max(bytes.count, 1))
    let split = frames(chunk: Int(bytes.first ?? 1) % 7 + 1)
    precondition(whole == split, "framing depends on how the input is split")
    for frame in whole {
        guard case .line(let line) = frame else { continue }
        precondition(!line.contains(0x0A) && line.count < limits.maxLineLength)
        switch POP3CommandParser.parse(line, limits: limits) {
        case .success(let command):
            switch command {
            case .list(let n?), .uidl(let n?), .retr(let n), .dele(let n): precondition(n >= 1 && n <= limits.maxNumber)
            case .top(let n, let lines): precondition(n >= 1 && lines >= 0 && lines <= limits.maxNumber)
            default: break
            }
        case .failure(let error):
            precondition(!error.message.isEmpty)
        }
    }

    // Dot-stuffing.
    func stuff(chunk: Int, bodyLines: Int?) -> [UInt8] {
        var stuffer = DotStuffer(bodyLines: bodyLines)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count && !stuffer.isComplete {
            stuffer.feed(bytes[i..<min(i + chunk, bytes.count)], into: &out)
            i += chunk
        }
        stuffer.finish(into: &out)
        return out
    }
    let full = stuff(chunk: max(bytes.count, 1), bodyLines: nil)
    precondition(full == stuff(chunk: 3, bodyLines: nil), "dot-stuffing depends on chunking")
    precondition(full.count >= 3 && Array(full.suffix(3)) == [0x2E, 0x0D, 0x0A])
    let body = Array(full.dropLast(3))
    var lines: [[UInt8]] = []
    var current: [UInt8] = []
    var i = 0
    while i < body.count {
        let b = body[i]
        if b == 0x0D {
            precondition(i + 1 < body.count && body[i + 1] == 0x0A, "bare CR in the output")
            lines.append(current); current = []; i += 2; continue
        }
        precondition(b != 0x0A, "bare LF in the output")
        current.append(b); i += 1
    }
    precondition(current.isEmpty, "the last line does not end in CRLF")
    var unstuffed: [UInt8] = []
    for line in lines {
        precondition(line != [0x2E], "a lone dot before the terminator")
        unstuffed += (line.first == 0x2E ? Array(line.dropFirst()) : line) + [0x0D, 0x0A]
    }
    // The input with every CRLF, bare CR and bare LF made CRLF, and a final CRLF if missing.
    var normalized: [UInt8] = []
    var j = 0
    while j < bytes.count {
        if bytes[j] == 0x0D {
            normalized += [0x0D, 0x0A]
            j += (j + 1 < bytes.count && bytes[j + 1] == 0x0A) ? 2 : 1
        } else if bytes[j] == 0x0A {
            normalized += [0x0D, 0x0A]; j += 1
        } else {
            normalized.append(bytes[j]); j += 1
        }
    }
    if let last = normalized.last, last != 0x0A { normalized += [0x0D, 0x0A] }
    precondition(unstuffed == normalized, "un-stuffing does not give back the input")
    let top = stuff(chunk: 5, bodyLines: Int(bytes.last ?? 0) % 4)
    precondition(top.count <= full.count && Array(full.prefix(top.count - 3)) == Array(top.dropLast(3)), "TOP is not a prefix of RETR")
    return 0
}
