import IMAPCore
import Logging
import MailNet
import NIOCore

/// IMAP as MailNet's `ProtocolServer` serves it: `imap` (STARTTLS) and `imaps` (implicit TLS).
public enum IMAP: ServedProtocol {
    public static let listenerNames = (plain: "imap", implicit: "imaps")
    public static let standardPorts = (plain: 143, implicit: 993)
    public static let sessionIDKey = "imap.session.id"

    public static var refusal: ByteBuffer {
        var refusal = ByteBuffer()
        IMAPResponseEncoder.encode(.untagged(.condition(status: .bye, code: .unavailable, text: "Too many connections")), into: &refusal)
        return refusal
    }

    public static func makeFramer(_ configuration: IMAPSessionConfiguration) -> IMAPFrameHandler {
        IMAPFrameHandler(limits: configuration.limits)
    }

    public static func runSession(configuration: IMAPSessionConfiguration, context: SessionContext<IMAPFrame>) async {
        await IMAPSession(configuration: configuration, context: context).run()
    }
}

/// The IMAP listeners and sessions.
public typealias IMAPServer = ProtocolServer<IMAP>
