import Foundation

/// What a listener's port setting (`imap.port`, `imaps.port`, `pop3.port`, `pop3s.port`,
/// `smtp.port`) says: a port, any free port, or no listener at all. Like Dovecot's `port = 0`,
/// `0` (or `off`) turns that one listener off; `auto` asks the system for a free port (the port
/// bound is reported when the listener starts).
public enum ListenerPort: Sendable, Hashable, CustomStringConvertible {
    /// 1…65535.
    case fixed(Int)
    /// Any free port the system gives.
    case auto
    /// No listener.
    case off

    /// Reads a setting's text: a number 1…65535, `0` or `off`, `auto` (case and surrounding spaces
    /// ignored). nil when it is none of these.
    public init?(text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch t {
        case "off": self = .off
        case "auto": self = .auto
        default:
            guard let n = Int(t) else { return nil }
            self.init(number: n)
        }
    }

    /// 0 is off, 1…65535 a port; anything else nil.
    public init?(number: Int) {
        switch number {
        case 0: self = .off
        case 1...65535: self = .fixed(number)
        default: return nil
        }
    }

    /// The port to bind in MailNet's terms: nil for no listener, 0 for any free port.
    public var bindPort: Int? {
        switch self {
        case .fixed(let port): port
        case .auto: 0
        case .off: nil
        }
    }

    public var isOff: Bool { self == .off }

    public var description: String {
        switch self {
        case .fixed(let port): String(port)
        case .auto: "auto"
        case .off: "off"
        }
    }

    /// What the setting accepts, for the reference and for errors.
    static let accepted = "a port 1…65535, 0 or off (no listener), or auto (any free port)"
}
