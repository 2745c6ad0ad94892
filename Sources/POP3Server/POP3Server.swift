import Logging
import MailNet
import NIOCore
import POP3Core

/// POP3 as MailNet's `ProtocolServer` serves it: `pop3` (STLS) and `pop3s` (implicit TLS).
public enum POP3: ServedProtocol {
    public static let listenerNames = (plain: "pop3", implicit: "pop3s")
    public static let standardPorts = (plain: 110, implicit: 995)
    public static let sessionIDKey = "pop3.session.id"

    public static var refusal: ByteBuffer {
        var refusal: [UInt8] = []
        POP3Response.err("Too many connections", code: .sysTemp, into: &refusal)
        return ByteBuffer(bytes: refusal)
    }

    public static func makeFramer(_ configuration: POP3SessionConfiguration) -> POP3FrameHandler {
        POP3FrameHandler(limits: configuration.limits)
    }

    public static func runSession(configuration: POP3SessionConfiguration, context: SessionContext<POP3Frame>) async {
        await POP3Session(configuration: configuration, context: context).run()
    }
}

/// The POP3 listeners and sessions.
public typealias POP3Server = ProtocolServer<POP3>
