/// The fixed limits of what DNSCore reads. DNS answers come from the network, so every reader
/// stops at these.
public enum DNSLimits {
    /// RFC 1035 §2.3.4.
    public static let maxLabelLength = 63
    /// RFC 1035 §2.3.4: the name on the wire, length bytes and the root's zero included.
    public static let maxNameWireLength = 255
    /// A record's data (RDLENGTH is 16 bits).
    public static let maxRDataLength = 65_535
    /// Records in one answer: a 64 KiB TCP answer of A records holds about 4,000.
    public static let maxRecordsPerAnswer = 4_096
}
