import NIOCore
import Synchronization

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
