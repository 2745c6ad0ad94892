import MailNet
import NIOCore

/// Passes the client's bytes on as they arrive: the session frames them itself with the pure
/// `SMTPInputDecoder`, because how bytes after a command are read (command lines, DATA content,
/// a BDAT chunk) depends on the session's answer to that command. Counts what it passed on, so
/// STARTTLS can tell whether the client pipelined anything after the command.
final class SMTPFrameHandler: FrameCountingHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = [UInt8]

    private var framesEmitted = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard buffer.readableBytes > 0 else { return }
        framesEmitted += 1
        context.fireChannelRead(wrapInboundOut(Array(buffer.readableBytesView)))
    }

    func hasInputBeyond(consumed: Int) -> Bool { framesEmitted != consumed }
}
