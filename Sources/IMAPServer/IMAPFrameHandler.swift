import IMAPCore
import MailNet
import NIOCore

/// Frames the client's bytes into `IMAPFrame`s with the pure `IMAPFramer`: the NIO end of the
/// codec. Counts the frames it passes on, so STARTTLS can tell whether the client pipelined.
public final class IMAPFrameHandler: FrameCountingHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = IMAPFrame

    private(set) var framer: IMAPFramer
    private(set) var framesEmitted = 0
    private var failed = false

    init(limits: IMAPLimits) { framer = IMAPFramer(limits: limits) }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var bytes = unwrapInboundIn(data)
        framer.append(&bytes)
        do {
            while let frame = try framer.next() {
                framesEmitted += 1
                context.fireChannelRead(wrapInboundOut(frame))
            }
        } catch {
            // The stream cannot be resynchronised (e.g. an absurd literal size): say so and close.
            failed = true
            var bye = ByteBuffer()
            let code: ResponseCode? = error.isTooBig ? .tooBig : nil
            IMAPResponseEncoder.encode(.untagged(.condition(status: .bye, code: code, text: "Protocol error: \(error.description)")), into: &bye)
            let channel = context.channel
            context.writeAndFlush(NIOAny(bye)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Whether anything arrived beyond the `consumed` frames (STARTTLS pipelining check).
    public func hasInputBeyond(consumed: Int) -> Bool {
        framer.bufferedByteCount > 0 || framesEmitted != consumed
    }
}
