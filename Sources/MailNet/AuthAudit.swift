import Foundation
import Logging

/// The audit log of logins: one `notice` line (shown at the default level) per failed or refused
/// login and per lockout, in a format that stays stable for fail2ban (`docs/fail2ban/sealbox.conf`):
///
///     auth failure: protocol=imap ip=203.0.113.5 user="x@example.org" reason=bad-credentials
///     auth lockout: protocol=pop3 ip=203.0.113.5 user="x@example.org" scope=ip until=2026-05-01T10:15:00Z
///
/// `reason` is `bad-credentials` (unknown address and wrong password alike) or `throttled` (the
/// password was not tried: too many failures); `scope` is `ip` or `account`. `user` is what the
/// client sent, cut at 256 bytes, every byte outside `!`…`~` and `"`, `\` and `=` written `\xHH`:
/// a crafted name can neither break the line nor look like another field. The password is never
/// given to this type.
public struct AuthAudit: Sendable {
    public enum Reason: String, Sendable {
        case badCredentials = "bad-credentials"
        case throttled
    }

    /// `imap`, `pop3` or `smtp`.
    public var protocolName: String
    public var logger: Logger

    public init(protocolName: String, logger: Logger) {
        self.protocolName = protocolName
        self.logger = logger
    }

    public func failure(ip: String, user: String, reason: Reason) {
        logger.notice("\(Self.failureLine(protocolName: protocolName, ip: ip, user: user, reason: reason))")
    }

    public func lockout(ip: String, user: String, _ lockout: AuthLockout, now: Date = Date()) {
        logger.notice("\(Self.lockoutLine(protocolName: protocolName, ip: ip, user: user, lockout: lockout, now: now))")
    }

    static func failureLine(protocolName: String, ip: String, user: String, reason: Reason) -> String {
        "auth failure: protocol=\(protocolName) ip=\(ip) user=\"\(escape(user))\" reason=\(reason.rawValue)"
    }

    static func lockoutLine(protocolName: String, ip: String, user: String, lockout: AuthLockout, now: Date) -> String {
        let seconds = Double(lockout.duration.components.seconds)
        let until = now.addingTimeInterval(seconds).formatted(.iso8601)
        return "auth lockout: protocol=\(protocolName) ip=\(ip) user=\"\(escape(user))\" scope=\(lockout.scope.rawValue) until=\(until)"
    }

    /// The address as sent, made safe for one log field.
    public static func escape(_ user: String) -> String {
        var out = ""
        for byte in user.utf8.prefix(256) {
            if byte >= 0x21, byte <= 0x7E, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte != UInt8(ascii: "=") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "\\x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

/// A lockout a failed login just caused: the IP, or the account for IPs that never logged in to
/// it, refused for `duration`.
public struct AuthLockout: Sendable, Hashable {
    public enum Scope: String, Sendable { case ip, account }
    public var scope: Scope
    public var duration: Duration
    public init(scope: Scope, duration: Duration) { self.scope = scope; self.duration = duration }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
