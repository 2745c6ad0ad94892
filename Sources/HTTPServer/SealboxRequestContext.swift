import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core context and the client's address
/// (throttles, audit lines, the loopback exception of `allowInsecureAuth`).
public struct SealboxRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's address, nil when the channel has none.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text ("" when unknown).
    public var remoteIP: String { remoteAddress?.ipAddress ?? "" }

    /// Whether the client connects from this machine.
    public var isLoopback: Bool {
        guard let ip = remoteAddress?.ipAddress else { return false }
        return ip == "::1" || ip.hasPrefix("127.") || ip == "::ffff:127.0.0.1"
    }
}
