import CompressNIO
import NIOCore

/// COMPRESS=DEFLATE (RFC 4978) on a channel: raw deflate (RFC 1951, no zlib or gzip wrapper) in
/// both directions, placed between TLS and the protocol's framer. Every write is compressed and
/// ends with a sync flush, so the client can decode each reply as soon as it arrives.
///
/// Inflated input goes to the framer in pieces of at most `chunkSize` bytes, so the framer's limits
/// (line length, literal size) apply to the expanded bytes piece by piece; one read of the socket
/// (64 KiB at most) cannot expand to more than deflate's maximum ratio (about 1,032:1).
/// A corrupt stream closes the connection.
public final class DeflateHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    static let chunkSize = 64 * 1024

    private let inflater: ZlibDecompressor
    private let deflater: ZlibCompressor
    private var failed = false

    public init() throws {
        inflater = try ZlibDecompressor(algorithm: .deflate)
        deflater = try ZlibCompressor(algorithm: .deflate, configuration: .init(compressionLevel: .compressionLevel6))
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var input = unwrapInboundIn(data)
        do {
            while true {
                var out = context.channel.allocator.buffer(capacity: Self.chunkSize)
                do {
                    try inflater.inflate(from: &input, to: &out)
                    if out.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(out)) }
                    if input.readableBytes == 0 { break }
                } catch let e as CompressNIOError where e == .bufferOverflow {
                    // The piece is full; zlib may hold more output for the input it has taken.
                    context.fireChannelRead(wrapInboundOut(out))
                } catch let e as CompressNIOError where e == .inputBufferOverflow {
                    // All input taken and nothing more to give until the next read.
                    if out.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(out)) }
                    break
                }
            }
        } catch {
            failed = true
            context.close(promise: nil)
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var input = unwrapOutboundIn(data)
        var out = context.channel.allocator.buffer(capacity: deflater.maxSize(from: input))
        do {
            // deflateBound covers a sync-flushed write; the loop is only a guard against a short buffer.
            while true {
                do {
                    try deflater.deflate(from: &input, to: &out, flush: .sync)
                    if input.readableBytes == 0 && out.writableBytes > 0 { break }
                } catch let e as CompressNIOError where e == .bufferOverflow {}
                out.reserveCapacity(minimumWritableBytes: Self.chunkSize)
            }
            context.write(wrapOutboundOut(out), promise: promise)
        } catch {
            promise?.fail(error)
            context.close(promise: nil)
        }
    }
}
