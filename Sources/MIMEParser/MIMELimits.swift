/// Every limit the parser applies, in one place. Input beyond a limit is never an error: the parser
/// stops descending (the rest is treated as an opaque leaf body) or ignores the excess fields.
public struct MIMELimits: Sendable, Hashable {
    /// Maximum nesting of multipart / message/rfc822 entities (the root is depth 0).
    public var maxDepth: Int
    /// Maximum number of MIME parts in one message (all levels together).
    public var maxParts: Int
    /// Maximum header fields parsed per header block; further lines still belong to the header.
    public var maxHeaderFields: Int
    /// Maximum bytes of one header block that are parsed into fields.
    public var maxHeaderBytes: Int
    /// Maximum number of parameters kept per Content-Type / Content-Disposition.
    public var maxParameters: Int
    /// Maximum addresses kept per address header.
    public var maxAddresses: Int
    /// Maximum length of a multipart boundary (RFC 2046 says 70; mainstream servers accept more).
    public var maxBoundaryLength: Int
    /// Maximum bytes of decoded body text collected for search per message.
    public var maxSearchTextBytes: Int

    public init(maxDepth: Int = 50, maxParts: Int = 5_000, maxHeaderFields: Int = 1_000,
                maxHeaderBytes: Int = 1 << 20, maxParameters: Int = 100, maxAddresses: Int = 10_000,
                maxBoundaryLength: Int = 1_000, maxSearchTextBytes: Int = 8 << 20) {
        self.maxDepth = maxDepth
        self.maxParts = maxParts
        self.maxHeaderFields = maxHeaderFields
        self.maxHeaderBytes = maxHeaderBytes
        self.maxParameters = maxParameters
        self.maxAddresses = maxAddresses
        self.maxBoundaryLength = maxBoundaryLength
        self.maxSearchTextBytes = maxSearchTextBytes
    }

    public static let `default` = MIMELimits()

    // Fixed bounds of the lexical layer (not per-message tunables):
    /// Longest encoded text accepted in one RFC 2047 encoded-word (RFC 2047 allows 75 bytes for the
    /// whole word; real mail exceeds that, so generous but bounded).
    public static let maxEncodedWordTextLength = 16_384
    /// Longest charset name in an encoded-word.
    public static let maxEncodedWordCharsetLength = 75
}
