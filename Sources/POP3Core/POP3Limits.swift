/// Every bound the POP3 codec applies to client input, in one place.
public struct POP3Limits: Sendable, Equatable {
    /// Longest command line, CRLF included. RFC 2449 §4 caps commands at 255 octets; SASL
    /// responses (AUTH PLAIN with a long password) may be longer, so the bound is looser.
    public var maxLineLength: Int = 4096
    /// Longest argument (user name, mechanism) in octets.
    public var maxArgumentLength: Int = 1024
    /// Largest message number or line count accepted.
    public var maxNumber: Int = 1 << 31 - 1
    public init() {}
}
