import CompressNIO
@testable import MailNet
import NIOCore
import NIOEmbedded
import Testing

/// COMPRESS=DEFLATE's channel handler (RFC 4978): raw deflate both ways, inflated input handed on
/// in bounded pieces, a corrupt stream closes the connection.
@Suite("DeflateHandler")
struct DeflateHandlerTests {
    /// What a client sends: raw deflate, sync-flushed.
    static func deflate(_ bytes: [UInt8], with compressor: ZlibCompressor) throws -> ByteBuffer {
        var input = ByteBuffer(bytes: bytes)
        var out = ByteBuffer()
        out.reserveCapacity(compressor.maxSize(from: input))
        try compressor.deflate(from: &input, to: &out, flush: .sync)
        return out
    }

    static func inflate(_ buffer: ByteBuffer, with decompressor: ZlibDecompressor) throws -> [UInt8] {
        var input = buffer, result: [UInt8] = []
        while true {
            var out = ByteBuffer()
            out.reserveCapacity(64 * 1024)
            do {
                try decompressor.inflate(from: &input, to: &out)
                result += out.readableBytesView
                if input.readableBytes == 0 { return result }
            } catch let e as CompressNIOError where e == .bufferOverflow {
                result += out.readableBytesView
            } catch let e as CompressNIOError where e == .inputBufferOverflow {
                return result + out.readableBytesView
            }
        }
    }

    func inbound(_ channel: EmbeddedChannel) throws -> [ByteBuffer] {
        var pieces: [ByteBuffer] = []
        while let piece = try channel.readInbound(as: ByteBuffer.self) { pieces.append(piece) }
        return pieces
    }

    @Test("commands in and replies out round-trip through raw deflate, across several writes")
    func roundTrip() throws {
        let channel = EmbeddedChannel(handler: try DeflateHandler())
        let client = try ZlibCompressor(algorithm: .deflate)
        let clientIn = try ZlibDecompressor(algorithm: .deflate)
        for command in ["a1 NOOP\r\n", "a2 SELECT INBOX\r\n", "a3 FETCH 1:* (FLAGS)\r\n"] {
            try channel.writeInbound(try Self.deflate(Array(command.utf8), with: client))
            #expect(try inbound(channel).flatMap { Array($0.readableBytesView) } == Array(command.utf8))
        }
        // A reply split across bytes the client receives in odd pieces still decodes.
        for reply in ["* OK ready\r\n", String(repeating: "* 1 FETCH (FLAGS (\\Seen))\r\n", count: 500)] {
            try channel.writeOutbound(ByteBuffer(string: reply))
            let wire = try #require(try channel.readOutbound(as: ByteBuffer.self))
            #expect(wire.readableBytes < max(reply.utf8.count, 32))
            var decoded: [UInt8] = []
            var rest = wire
            while rest.readableBytes > 0 {
                let piece = rest.readSlice(length: min(7, rest.readableBytes))!
                decoded += try Self.inflate(piece, with: clientIn)
            }
            #expect(decoded == Array(reply.utf8))
        }
        _ = try channel.finish()
    }

    @Test("a highly compressed input is handed on in pieces of at most 64 KiB, and none is lost")
    func bombIsChunked() throws {
        let channel = EmbeddedChannel(handler: try DeflateHandler())
        let client = try ZlibCompressor(algorithm: .deflate)
        let plain = [UInt8](repeating: UInt8(ascii: "a"), count: 5_000_000)
        let wire = try Self.deflate(plain, with: client)
        #expect(wire.readableBytes < 10_000)
        try channel.writeInbound(wire)
        let pieces = try inbound(channel)
        #expect(pieces.allSatisfy { $0.readableBytes <= DeflateHandler.chunkSize })
        #expect(pieces.reduce(0) { $0 + $1.readableBytes } == plain.count)
        _ = try channel.finish()
    }

    @Test("a corrupt stream closes the connection instead of passing garbage on")
    func corruptCloses() throws {
        let channel = EmbeddedChannel(handler: try DeflateHandler())
        // 0xff: a reserved block type (BTYPE 11) in raw deflate.
        try channel.writeInbound(ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff]))
        #expect(try inbound(channel).isEmpty)
        #expect(!channel.isActive)
    }
}
