import MailNet
import NIOCore
import POP3Core

/// Frames the client's bytes into lines with the pure `POP3LineFramer`: the NIO end of the codec.
/// Counts the frames it passes on, so STLS can tell whether the client pipelined.
final class POP3FrameHandler: FrameCountingHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = POP3Frame

    private var framer: POP3LineFramer
    private var framesEmitted = 0

    init(limits: POP3Limits) { framer = POP3LineFramer(limits: limits) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        framer.append(bytes.readableBytesView)
        while let frame = framer.next() {
            framesEmitted += 1
            context.fireChannelRead(wrapInboundOut(frame))
        }
    }

    func hasInputBeyond(consumed: Int) -> Bool {
        framer.bufferedByteCount > 0 || framesEmitted != consumed
    }
}
