// libFuzzer entry point over the SMTP codec (SMTPCore). Built by scripts/fuzz.sh with
// `swiftc -sanitize=fuzzer,address -parse-as-library Sources/SMTPCore/*.swift Fuzz/SMTPFuzz/main.swift`.
// The input is read as a client would send it, with the mode switches a session makes (DATA →
// content, BDAT n → a chunk). Besides crashes and hangs it checks invariants, trapping when one breaks:
// - the same events (content pieces joined) whether the input arrives at once or in pieces;
// - command lines hold no LF and stay within the limit; buffering in command mode stays bounded;
// - DATA content has only CRLF line endings; dot-stuffing it again and decoding gives it back;
// - parsing never traps; every refusal is a 5xx reply; replies never hold a bare CR or LF.

@_cdecl("LLVMFuzzerTestOneInput")
public func smtpFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var limits = SMTPLimits()
    limits.maxCommandLineLength = 64
    limits.dataPieceSize = 16

    func events(chunk: Int) -> [SMTPInput] {
        var decoder = SMTPInputDecoder(limits: limits)
        var out: [SMTPInput] = []
        var i = 0
        while i < bytes.count {
            decoder.append(Array(bytes[i..<min(i + chunk, bytes.count)]))
            i += chunk
            while let e = decoder.next() {
                out.append(e)
                if case .line(let line) = e {
                    precondition(!line.contains(0x0A) && line.count <= limits.maxCommandLineLength)
                    switch SMTPCommandParser.parse(line) {
                    case .success(.data): decoder.beginData()
                    case .success(.bdat(let n, _)): decoder.beginChunk(size: min(n, 300))
                    case .success: break
                    case .failure(let error):
                        precondition(error.reply.code >= 500 && error.reply.code < 600)
                        precondition(!error.reply.encoded.dropLast(2).contains(0x0A))
                    }
                }
                if decoder.mode == .command { precondition(decoder.bufferedByteCount <= limits.maxCommandLineLength + chunk) }
            }
        }
        return out
    }
    // Pieces of content depend on how bytes arrive; their concatenation must not.
    func merged(_ events: [SMTPInput]) -> [SMTPInput] {
        var out: [SMTPInput] = []
        for e in events {
            switch (out.last, e) {
            case (.data(let a)?, .data(let b)): out[out.count - 1] = .data(a + b)
            case (.chunk(let a)?, .chunk(let b)): out[out.count - 1] = .chunk(a + b)
            default: out.append(e)
            }
        }
        return out
    }
    let whole = events(chunk: max(bytes.count, 1))
    let split = events(chunk: Int(bytes.first ?? 1) % 7 + 1)
    precondition(merged(whole) == merged(split), "decoding depends on how the input is split")

    // Every complete DATA content: CRLF only, and a stuff/decode round trip gives it back.
    var content: [UInt8] = []
    var inData = false
    for e in whole {
        switch e {
        case .data(let d): content += d; inData = true
        case .dataEnd:
            var i = 0
            while i < content.count {
                if content[i] == 0x0D { precondition(i + 1 < content.count && content[i + 1] == 0x0A); i += 2; continue }
                precondition(content[i] != 0x0A)
                i += 1
            }
            precondition(content.isEmpty || content.suffix(2) == [0x0D, 0x0A])
            var stuffed: [UInt8] = Array("DATA\r\n".utf8)
            var atStart = true
            for b in content {
                if atStart && b == 0x2E { stuffed.append(0x2E) }
                stuffed.append(b)
                atStart = b == 0x0A
            }
            stuffed += Array(".\r\n".utf8)
            var decoder = SMTPInputDecoder(limits: limits)
            decoder.append(stuffed)
            var again: [UInt8] = []
            var ended = false
            while let e2 = decoder.next() {
                switch e2 {
                case .line: decoder.beginData()
                case .data(let d): again += d
                case .dataEnd: ended = true
                default: preconditionFailure("unexpected event")
                }
            }
            precondition(ended && again == content, "stuffing round trip")
            content = []; inData = false
        default: break
        }
    }
    _ = inData
    return 0
}
