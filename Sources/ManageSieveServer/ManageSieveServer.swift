import Logging
import MailNet
import ManageSieveCore
import NIOCore

/// ManageSieve (RFC 5804) as MailNet's `ProtocolServer` serves it: one listener, `managesieve`
/// (port 4190, STARTTLS). RFC 5804 has no implicit-TLS port: the pair's implicit listener is
/// always off.
public enum ManageSieve: ServedProtocol {
    public static let listenerNames = (plain: "managesieve", implicit: "managesieves")
    public static let standardPorts = (plain: 4190, implicit: 4190)
    public static let sessionIDKey = "managesieve.session.id"

    public static var refusal: ByteBuffer {
        var out: [UInt8] = []
        ManageSieveResponse.status(.bye, code: .tryLater, text: "Too many connections.", into: &out)
        return ByteBuffer(bytes: out)
    }

    public static func makeFramer(_ configuration: ManageSieveSessionConfiguration) -> ManageSieveFrameHandler {
        ManageSieveFrameHandler()
    }

    public static func runSession(configuration: ManageSieveSessionConfiguration, context: SessionContext<[UInt8]>) async {
        guard let store = configuration.store else {
            var out: [UInt8] = []
            ManageSieveResponse.status(.bye, code: .tryLater, text: "Sieve scripts are not available.", into: &out)
            try? await context.transport.flush(&out)
            await context.transport.close()
            return
        }
        await ManageSieveSession(configuration: configuration, store: store, context: context).run()
    }
}

/// The ManageSieve listener and its sessions.
public typealias ManageSieveServer = ProtocolServer<ManageSieve>

extension ProtocolServer.Configuration where P == ManageSieve {
    /// Port 4190 with STARTTLS, no implicit-TLS listener, scripts in `store`.
    public init(store: any SieveScriptStore) {
        self.init()
        session.store = store
    }

    /// Port 4190 with STARTTLS and no implicit-TLS listener (the pair's second port is never bound).
    public init() {
        self.init(session: ManageSieveSessionConfiguration())
        listeners.implicitTLSPort = nil
    }
}

/// Passes the client's bytes on as they arrive: the session frames them itself with the pure
/// `ManageSieveFramer`, because how large a literal may be depends on whether it has logged in
/// (memory before login stays small). Counts what it passed on, so STARTTLS can tell whether the
/// client pipelined anything after the command.
public final class ManageSieveFrameHandler: FrameCountingHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = [UInt8]

    private var framesEmitted = 0

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard buffer.readableBytes > 0 else { return }
        framesEmitted += 1
        context.fireChannelRead(wrapInboundOut(Array(buffer.readableBytesView)))
    }

    public func hasInputBeyond(consumed: Int) -> Bool { framesEmitted != consumed }
}
