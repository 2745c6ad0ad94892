import NIOCore
import Synchronization

/// One SMTP reply (RFC 5321 §4.2): a three-digit code and its text lines; for a multi-line reply
/// every line's text in order. `enhanced` is the RFC 3463 status code that begins the first line's
/// text (RFC 2034), when there is one.
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    var enhanced: String? { SMTPReply.enhancedCode(lines.first ?? "", code: code) }
    /// The first line without the enhanced code.
    var text: String {
        let first = lines.first ?? ""
        if let e = enhanced { return String(first.dropFirst(e.count)).trimmingCharacters(in: .whitespaces) }
        return first
    }
    var isPositive: Bool { (200..<400).contains(code) }
    var isPermanent: Bool { code >= 500 }
    /// "550 5.1.1 no such user" (the first line, as a server log would show it).
    var summary: String { "\(code) \(lines.first ?? "")".trimmingCharacters(in: .whitespaces) }

    /// "x.y.z" at the start of `text` whose class matches the reply code's first digit.
    static func enhancedCode(_ text: String, code: Int) -> String? {
        let token = text.prefix { $0 != " " }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigitChar) }),
              parts[0].count == 1, let cls = Int(parts[0]), cls == code / 100 else { return nil }
        return String(token)
    }

    /// Splits one reply line into its code, whether more lines follow, and its text.
    static func parseLine(_ line: String) -> (code: Int, more: Bool, text: String)? {
        let u = Array(line.utf8)
        guard u.count >= 3, u[0...2].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let code = Int(String(decoding: u[0...2], as: UTF8.self)), (200...599).contains(code) else { return nil }
        if u.count == 3 { return (code, false, "") }
        guard u[3] == 0x20 || u[3] == 0x2D else { return nil }
        return (code, u[3] == 0x2D, String(decoding: u[4...], as: UTF8.self))
    }
}

extension Character {
    var isASCIIDigitChar: Bool { isASCII && isNumber }
}

/// Counts of what the line decoder has produced, read on the event loop before STARTTLS to make
/// sure that the server sent nothing after its "220" (RFC 3207 §4.2's injection class, client side).
final class LineStatistics: Sendable {
    private let state = Mutex((emitted: 0, pending: 0))
    func record(emitted: Int = 0, pending: Int) {
        state.withLock { $0.emitted += emitted; $0.pending = pending }
    }
    var snapshot: (emitted: Int, pending: Int) { state.withLock { $0 } }
}

/// Splits the server's bytes into lines (LF-terminated; a CR before the LF is dropped). A line
/// longer than `maxLineLength` is an error: no legitimate server sends one, and buffering stays
/// bounded.
struct SMTPLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxLineLength: Int
    let statistics: LineStatistics

    struct LineTooLong: Error, CustomStringConvertible {
        var description: String { "the server sent a line longer than the limit" }
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let lf = buffer.readableBytesView.firstIndex(of: 0x0A) else {
            guard buffer.readableBytes <= maxLineLength else { throw LineTooLong() }
            statistics.record(pending: buffer.readableBytes)
            return .needMoreData
        }
        var length = lf - buffer.readerIndex
        guard length <= maxLineLength + 1 else { throw LineTooLong() }
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if length > 0, line.getInteger(at: line.readerIndex + length - 1, as: UInt8.self) == 0x0D {
            length -= 1
            line = line.getSlice(at: line.readerIndex, length: length)!
        }
        statistics.record(emitted: 1, pending: buffer.readableBytes)
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData   // an unterminated last line is dropped
    }
}
