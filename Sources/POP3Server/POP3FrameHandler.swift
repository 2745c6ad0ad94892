import MailNet
import NIOCore
import POP3Core

/// Frames the client's bytes into lines with the pure `POP3LineFramer`: the NIO end of the codec.
/// Counts the frames it passes on, so STLS can tell whether the client pipelined.
public final class POP3FrameHandler: FrameCountingHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = POP3Frame

    private var framer: POP3LineFramer
    private var framesEmitted = 0

    init(limits: POP3Limits) { framer = POP3LineFramer(limits: limits) }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        framer.append(bytes.readableBytesView)
        while let frame = framer.next() {
            framesEmitted += 1
            context.fireChannelRead(wrapInboundOut(frame))
        }
    }

    public func hasInputBeyond(consumed: Int) -> Bool {
        framer.bufferedByteCount > 0 || framesEmitted != consumed
    }
}
