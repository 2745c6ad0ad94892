// libFuzzer target over the IMAP codec: IMAPFramer (fed whole and in pieces), IMAPCommandParser
// (every framed command, every APPEND header, and the raw input as one command), ModifiedUTF7 and a
// response-encoder → parser round trip of mailbox names and strings. Besides crashes and hangs it checks invariants,
// trapping when one breaks. Built by scripts/fuzz.sh:
//   swift build --scratch-path .build-fuzz --product IMAPFuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DIMAP_FUZZ
// A plain build (no IMAP_FUZZ) makes a replay tool: `IMAPFuzz file…` runs each file through the same checks.
import Foundation
import IMAPCore
import NIOCore

/// Small limits, so that the fuzzer reaches every limit path with short inputs.
private let fuzzLimits: IMAPLimits = {
    var l = IMAPLimits()
    l.maxLineLength = 512
    l.maxInlineLiteral = 300
    l.maxCommandSize = 1024
    l.maxAppendSize = 700
    l.maxNesting = 16
    l.maxListItems = 64
    l.appendChunkSize = 50
    return l
}()

/// A comparable summary of frames; APPEND chunks are merged (their split depends on the feeding).
private func summary(_ frames: [IMAPFrame]) -> [String] {
    var out: [String] = []
    var chunk: [UInt8] = []
    for f in frames {
        if case .appendChunk(let b) = f { chunk += b.readableBytesView; continue }
        if !chunk.isEmpty { out.append("chunk \(chunk)"); chunk = [] }
        switch f {
        case .command(let b): out.append("cmd \(Array(b.readableBytesView))")
        case .continuationRequest: out.append("+")
        case .appendBegin(let b, let n): out.append("begin \(Array(b.readableBytesView)) \(n)")
        case .appendChunk: break
        case .appendNext(let b, let n): out.append("next \(Array(b.readableBytesView)) \(n)")
        case .appendEnd(let b): out.append("end \(Array(b.readableBytesView))")
        case .tooLarge(let t, let n, let a): out.append("tooLarge \(t ?? "-") \(n) \(a)")
        case .lineTooLong(let t): out.append("long \(t ?? "-")")
        }
    }
    if !chunk.isEmpty { out.append("chunk \(chunk)") }
    return out
}

/// Runs the framer over `bytes` in pieces of `step` (0: at once); nil when it threw.
private func frame(_ bytes: [UInt8], step: Int) -> [IMAPFrame]? {
    var framer = IMAPFramer(limits: fuzzLimits)
    var frames: [IMAPFrame] = []
    var i = 0
    let bound = fuzzLimits.maxLineLength + fuzzLimits.maxCommandSize + fuzzLimits.appendChunkSize + max(step, 1) + 64
    var appendRemaining: Int?
    repeat {
        let n = step == 0 ? bytes.count : min(step, bytes.count - i)
        var b = ByteBuffer(bytes: bytes[i ..< i + n])
        i += n
        framer.append(&b)
        do {
            while let f = try framer.next() {
                frames.append(f)
                switch f {
                case .appendBegin(_, let size):
                    precondition(appendRemaining == nil, "appendBegin inside an APPEND")
                    precondition(size <= fuzzLimits.maxAppendSize)
                    appendRemaining = size
                case .appendChunk(let c):
                    precondition(c.readableBytes > 0 && c.readableBytes <= fuzzLimits.appendChunkSize)
                    precondition(appendRemaining != nil && c.readableBytes <= appendRemaining!)
                    appendRemaining! -= c.readableBytes
                case .appendNext(_, let size):
                    precondition(appendRemaining == 0, "appendNext before the whole literal")
                    precondition(size <= fuzzLimits.maxAppendSize)
                    appendRemaining = size
                case .continuationRequest where appendRemaining != nil:
                    // only for the next message's synchronizing literal, before its bytes
                    precondition(frames.dropLast().last.map { if case .appendNext = $0 { true } else { false } } == true,
                                 "continuation inside an APPEND")
                case .tooLarge(_, _, true) where appendRemaining != nil:
                    precondition(appendRemaining == 0, "tooLarge before the whole literal")  // a MULTIAPPEND refused
                    appendRemaining = nil
                case .appendEnd:
                    precondition(appendRemaining == 0, "appendEnd before the whole literal")
                    appendRemaining = nil
                default:
                    precondition(appendRemaining == nil, "frame inside an APPEND")
                }
            }
        } catch {
            return nil
        }
        if step > 0 {
            precondition(framer.bufferedByteCount <= bound, "framer buffers too much: \(framer.bufferedByteCount)")
        }
    } while i < bytes.count
    return frames
}

private func parseAll(_ frames: [IMAPFrame]) {
    var append: AppendHeader?
    for f in frames {
        switch f {
        case .command(let b):
            for utf8Names in [false, true] {
                let r = IMAPCommandParser.parse(b, limits: fuzzLimits, utf8Names: utf8Names)
                if case .failure(let e) = r { precondition(!e.message.isEmpty && e.message.utf8.count < 200) }
            }
            _ = IMAPCommandParser.tag(of: b)
        case .appendBegin(let b, let n):
            guard case .success(let h) = IMAPCommandParser.parseAppendHeader(b, literalSize: n, limits: fuzzLimits) else {
                preconditionFailure("the framer streamed an APPEND whose header does not parse")
            }
            append = h
        case .appendNext(let b, let n):
            guard let previous = append, case .success(let h) = IMAPCommandParser.parseAppendNext(b, after: previous, limits: fuzzLimits),
                  h.literalSize == n else {
                preconditionFailure("the framer streamed a next message that does not parse")
            }
            append = h
        default: break
        }
    }
}

/// Encodes `s` where the grammar wants a mailbox (LIST) and parses it back with SELECT, in modified
/// UTF-7 and in UTF-8 (UTF8=ACCEPT: the name comes back in NFC).
private func roundTripMailbox(_ s: String) {
    roundTripMailbox(s, utf8Names: false)
    roundTripMailbox(s, utf8Names: true)
}

private func roundTripMailbox(_ s: String, utf8Names: Bool) {
    // INBOX and its children come back with INBOX upper-cased.
    guard !s.unicodeScalars.contains("\0"), s.uppercased() != "INBOX", !s.uppercased().hasPrefix("INBOX/") else { return }
    var out = ByteBuffer()
    IMAPResponseEncoder.encode(.untagged(.list(attributes: [], delimiter: "/", mailbox: s, lsub: false)), into: &out, utf8Names: utf8Names)
    let wire = out
    let bytes = Array(wire.readableBytesView)
    let prefix = Array("* LIST () \"/\" ".utf8)
    precondition(bytes.starts(with: prefix) && bytes.suffix(2) == [13, 10])
    let name = bytes[prefix.count ..< bytes.count - 2]
    var select = ByteBuffer(string: "t SELECT ")
    select.writeBytes(name)
    var limits = IMAPLimits()
    limits.maxInlineLiteral = 1 << 20
    guard case .success(let cmd) = IMAPCommandParser.parse(select, limits: limits, utf8Names: utf8Names),
          case .select(let mailbox, _, _) = cmd.kind else { preconditionFailure("encoded mailbox does not parse: \(s.debugDescription)") }
    let expected = utf8Names ? s.precomposedStringWithCanonicalMapping : s
    precondition(mailbox == expected, "mailbox round trip: \(s.debugDescription) → \(mailbox.debugDescription)")
}

/// Encodes `s` as an ID value (a string: quoted or literal) and parses it back with the ID command.
private func roundTripString(_ s: String) {
    guard !s.unicodeScalars.contains("\0") else { return }
    let wire = IMAPResponseEncoder.encode(.untagged(.id([.init(key: "k", value: s)])))
    let bytes = Array(wire.readableBytesView)
    let prefix = Array("* ID (\"k\" ".utf8)
    precondition(bytes.starts(with: prefix) && bytes.suffix(3) == [41, 13, 10])
    var id = ByteBuffer(string: "t ID (\"k\" ")
    id.writeBytes(bytes[prefix.count ..< bytes.count - 2])
    var limits = IMAPLimits()
    limits.maxInlineLiteral = 1 << 20
    guard case .success(let cmd) = IMAPCommandParser.parse(id, limits: limits),
          case .id(let fields?) = cmd.kind, fields.count == 1 else { preconditionFailure("encoded string does not parse: \(s.debugDescription)") }
    precondition(fields[0].value == s, "string round trip: \(s.debugDescription)")
}

func imapFuzzOne(_ bytes: [UInt8]) {
    guard let whole = frame(bytes, step: 0) else {
        // The framer threw: it must throw whatever the feeding.
        precondition(frame(bytes, step: 1) == nil, "framer threw only when fed at once")
        return
    }
    let step = 1 + Int(bytes.first ?? 0) % 13
    for s in [1, step] {
        guard let pieces = frame(bytes, step: s) else { preconditionFailure("framer threw only when fed in pieces") }
        precondition(summary(pieces) == summary(whole), "framing depends on the feeding (step \(s))")
    }
    parseAll(whole)
    _ = IMAPCommandParser.parse(ByteBuffer(bytes: bytes), limits: fuzzLimits)
    _ = IMAPCommandParser.parseAppendHeader(ByteBuffer(bytes: bytes), literalSize: bytes.count, limits: fuzzLimits)

    let text = String(decoding: bytes.prefix(300), as: UTF8.self)
    if let decoded = ModifiedUTF7.decode(text) {
        precondition(ModifiedUTF7.decode(ModifiedUTF7.encode(decoded)) == decoded)
    }
    let encoded = ModifiedUTF7.encode(text)
    precondition(ModifiedUTF7.decode(encoded) == text, "mUTF-7 round trip")
    roundTripMailbox(text)
    roundTripString(text)
}

#if IMAP_FUZZ
/// libFuzzer's driver (SwiftPM makes `main` an alias of this module's entry point, so libFuzzer's
/// own `main` is not used; see https://llvm.org/docs/LibFuzzer.html#using-libfuzzer-as-a-library).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@main
struct IMAPFuzzMain {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        let rc = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            imapFuzzOne(size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
            return 0
        }
        exit(rc)
    }
}
#else
@main
struct IMAPFuzzReplay {
    static func main() throws {
        for path in CommandLine.arguments.dropFirst() {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            imapFuzzOne(Array(data))
            print("ok \(path)")
        }
    }
}
#endif
