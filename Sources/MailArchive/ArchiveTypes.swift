import Foundation
import MailboxAPI

/// One message as an archive format carries it.
public struct ArchivedMessage: Sendable, Equatable {
    /// The RFC 5322 message, with CRLF line endings (as Sealbox stores it).
    public var bytes: [UInt8]
    public var flags: MessageFlags
    /// IMAP keywords (`$Forwarded`, `$Junk`, custom ones) where the format keeps them.
    public var keywords: [String]
    public var internalDate: Date?

    public init(bytes: [UInt8], flags: MessageFlags = [], keywords: [String] = [], internalDate: Date? = nil) {
        self.bytes = bytes; self.flags = flags; self.keywords = keywords; self.internalDate = internalDate
    }
}

/// The names the eml-zip metadata gives the system flags (one flag type: the mailbox's own).
extension MessageFlags {
    static let archiveNames: [(MessageFlags, String)] = [(.seen, "seen"), (.answered, "answered"), (.flagged, "flagged"),
                                                         (.deleted, "deleted"), (.draft, "draft")]
    var archiveNames: [String] { Self.archiveNames.filter { contains($0.0) }.map(\.1) }
    init(archiveNames names: [String]) {
        self = []
        for (flag, name) in Self.archiveNames where names.contains(name) { insert(flag) }
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
