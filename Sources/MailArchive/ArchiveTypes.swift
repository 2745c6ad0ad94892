import Foundation

/// One message as an archive format carries it.
public struct ArchivedMessage: Sendable, Equatable {
    /// The RFC 5322 message, with CRLF line endings (as Sealbox stores it).
    public var bytes: [UInt8]
    public var flags: ArchiveFlags
    /// IMAP keywords (`$Forwarded`, `$Junk`, custom ones) where the format keeps them.
    public var keywords: [String]
    public var internalDate: Date?

    public init(bytes: [UInt8], flags: ArchiveFlags = [], keywords: [String] = [], internalDate: Date? = nil) {
        self.bytes = bytes; self.flags = flags; self.keywords = keywords; self.internalDate = internalDate
    }
}

/// The IMAP system flags an archive can carry.
public struct ArchiveFlags: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let seen = ArchiveFlags(rawValue: 1 << 0)
    public static let answered = ArchiveFlags(rawValue: 1 << 1)
    public static let flagged = ArchiveFlags(rawValue: 1 << 2)
    public static let deleted = ArchiveFlags(rawValue: 1 << 3)
    public static let draft = ArchiveFlags(rawValue: 1 << 4)

    static let names: [(ArchiveFlags, String)] = [(.seen, "seen"), (.answered, "answered"), (.flagged, "flagged"),
                                                   (.deleted, "deleted"), (.draft, "draft")]
    var names: [String] { Self.names.filter { contains($0.0) }.map(\.1) }
    init(names: [String]) {
        self = []
        for (flag, name) in Self.names where names.contains(name) { insert(flag) }
    }
}

/// A malformed or unreadable archive: one clear line, naming the file (and offset where known).
public struct ArchiveError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Bounds on what the readers accept.
public struct ArchiveLimits: Sendable {
    /// Largest single message (a bigger one is an error, never an unbounded buffer).
    public var maxMessageSize: Int = 256 << 20
    public init() {}
}
