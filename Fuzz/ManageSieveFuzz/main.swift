// libFuzzer entry point over the ManageSieve codec (ManageSieveCore). Built by scripts/fuzz.sh with
// `swiftc -sanitize=fuzzer,address -parse-as-library Sources/ManageSieveCore/*.swift Fuzz/ManageSieveFuzz/main.swift`.
// Besides crashes and hangs it checks invariants, trapping when one breaks:
// - framing: the same frames (or the same unrecoverable error) whether the input arrives at once
//   or in pieces, before and after login; buffering stays under a line and the stage's literals;
// - parsing: never traps; a HAVESPACE size is in RFC 5804's range; a SASL response parses or not,
//   never traps;
// - responses: every string the encoder writes (quoted or literal) parses back to the same bytes.

@_cdecl("LLVMFuzzerTestOneInput")
public func manageSieveFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var limits = ManageSieveLimits()
    limits.maxLineLength = 64
    limits.maxLiteralBeforeLogin = 16
    limits.maxLiteral = 128
    limits.maxSkippedLiteralBeforeLogin = 256
    limits.maxSkippedLiteral = 1024
    limits.maxArguments = 4

    for authenticated in [false, true] {
        let accept = limits.literalLimits(authenticated: authenticated).accept
        let bound = (limits.maxLiterals + 1) * (limits.maxLineLength + 2) + limits.maxLiterals * accept
        func frames(chunk: Int) -> (frames: [ManageSieveFrame], error: ManageSieveFramingError?) {
            var framer = ManageSieveFramer(limits: limits)
            framer.authenticated = authenticated
            var out: [ManageSieveFrame] = []
            var i = 0
            while i < bytes.count {
                framer.append(bytes[i..<min(i + chunk, bytes.count)])
                do {
                    while let f = try framer.next() { out.append(f) }
                } catch {
                    return (out, error)
                }
                precondition(framer.bufferedByteCount <= bound + chunk, "the framer holds more than a command")
                i += chunk
            }
            return (out, nil)
        }
        let whole = frames(chunk: max(bytes.count, 1))
        let split = frames(chunk: Int(bytes.first ?? 1) % 7 + 1)
        precondition(whole.frames == split.frames && whole.error == split.error, "framing depends on how the input is split")
        for frame in whole.frames {
            guard case .command(let command) = frame else { continue }
            switch ManageSieveParser.parse(command, limits: limits) {
            case .success(.haveSpace(_, let size)): precondition(size >= 0 && size <= 4_294_967_296)
            case .success(let parsed): precondition(!parsed.verb.isEmpty)
            case .failure(let error): precondition(!error.message.isEmpty)
            }
            _ = ManageSieveParser.parseSASLResponse(command)
        }
    }

    // The encoder's strings parse back.
    var encoded = Array("NOOP ".utf8)
    ManageSieveResponse.string(bytes, into: &encoded)
    if case .success(.noop(let tag)) = ManageSieveParser.parse(encoded) {
        precondition(tag == bytes, "a NOOP tag does not round-trip")
    } else {
        preconditionFailure("an encoded string does not parse")
    }
    return 0
}
