import Foundation

/// An IMAP UID (RFC 3501 §2.3.1.1): 32-bit, non-zero, strictly ascending within a folder.
public typealias UID = UInt32

/// A set of UIDs as ascending, non-overlapping closed ranges (an IMAP uid-set).
public struct UIDSet: Sendable, Hashable, CustomStringConvertible {
    public private(set) var ranges: [ClosedRange<UID>]

    public init(_ ranges: [ClosedRange<UID>]) {
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UID>] = []
        for r in sorted {
            if let last = merged.last, last.upperBound == .max || r.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound ... max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        self.ranges = merged
    }
    public init(_ uids: [UID]) { self.init(uids.map { $0 ... $0 }) }
    public init(_ range: ClosedRange<UID>) { self.init([range]) }
    /// Every UID (`1:*`).
    public static let all = UIDSet([1 ... UID.max])

    public var isEmpty: Bool { ranges.isEmpty }
    /// How many UIDs the set names (`1:*` names 2³² − 1 of them).
    public var uidCount: Int { ranges.reduce(0) { $0 + $1.count } }
    public func contains(_ uid: UID) -> Bool {
        // The ranges are sorted and disjoint: the last one starting at or below `uid` decides.
        var lo = 0, hi = ranges.count
        while lo < hi { let mid = (lo + hi) / 2; if ranges[mid].lowerBound <= uid { lo = mid + 1 } else { hi = mid } }
        return lo > 0 && ranges[lo - 1].contains(uid)
    }

    public var description: String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound):\($0.upperBound)" }.joined(separator: ",")
    }
}

/// IMAP system flags (RFC 3501 §2.3.2), stored as a bit set. \Recent is not stored per message:
/// a folder's `recentUID` says which messages are still recent.
public struct MessageFlags: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let seen = MessageFlags(rawValue: 1 << 0)
    public static let answered = MessageFlags(rawValue: 1 << 1)
    public static let flagged = MessageFlags(rawValue: 1 << 2)
    public static let deleted = MessageFlags(rawValue: 1 << 3)
    public static let draft = MessageFlags(rawValue: 1 << 4)

    public static let systemFlagNames: [(MessageFlags, String)] = [
        (.seen, "\\Seen"), (.answered, "\\Answered"), (.flagged, "\\Flagged"), (.deleted, "\\Deleted"), (.draft, "\\Draft"),
    ]
    public var names: [String] { Self.systemFlagNames.filter { contains($0.0) }.map(\.1) }
}

/// RFC 6154 special-use attributes.
public enum SpecialUse: String, Sendable, CaseIterable {
    case all = "\\All", archive = "\\Archive", drafts = "\\Drafts", flagged = "\\Flagged"
    case junk = "\\Junk", sent = "\\Sent", trash = "\\Trash"
}

public struct FolderInfo: Sendable, Hashable {
    public var id: Int64
    public var path: String
    public var specialUse: SpecialUse?
    public var subscribed: Bool
    public var uidValidity: UInt32
    public var uidNext: UID
    public var highestModSeq: Int64
    /// Messages with this UID or higher are \Recent (RFC 3501) until a session claims them.
    public var recentUID: UID

    /// RFC 8474 MAILBOXID: UIDVALIDITY is a mailbox-wide counter, never reused by another folder
    /// (a folder deleted and created again gets a new one) and kept by RENAME, as a MAILBOXID
    /// must be; RENAME of INBOX makes a new folder, with a new one. Not a secret.
    public var objectID: String { "F\(uidValidity)" }

    public init(id: Int64, path: String, specialUse: SpecialUse?, subscribed: Bool, uidValidity: UInt32, uidNext: UID,
                highestModSeq: Int64, recentUID: UID) {
        self.id = id; self.path = path; self.specialUse = specialUse; self.subscribed = subscribed
        self.uidValidity = uidValidity; self.uidNext = uidNext; self.highestModSeq = highestModSeq; self.recentUID = recentUID
    }
}

public struct FolderStatus: Sendable, Hashable {
    public var messages: Int
    public var recent: Int
    public var unseen: Int
    public var deleted: Int
    public var uidNext: UID
    public var uidValidity: UInt32
    public var highestModSeq: Int64
    public var sizeBytes: Int64
    /// RFC 8474 MAILBOXID (see `FolderInfo.objectID`).
    public var objectID: String { "F\(uidValidity)" }

    public init(messages: Int, recent: Int, unseen: Int, deleted: Int, uidNext: UID, uidValidity: UInt32, highestModSeq: Int64,
                sizeBytes: Int64) {
        self.messages = messages; self.recent = recent; self.unseen = unseen; self.deleted = deleted; self.uidNext = uidNext
        self.uidValidity = uidValidity; self.highestModSeq = highestModSeq; self.sizeBytes = sizeBytes
    }
}

/// One message as listed by FETCH-like calls: everything but the bytes.
public struct MessageRecord: Sendable, Hashable {
    public var uid: UID
    public var modSeq: Int64
    public var flags: MessageFlags
    public var keywords: [String]
    public var internalDate: Date
    public var size: Int
    public var sentDate: Date?
    public var subject: String?
    public var from: String?
    public var messageID: String?
    /// The message's thread (RFC 8474 THREADID): fixed when the message was stored, kept by its
    /// copies; never reused for another thread. Read with the message states.
    public var threadID: Int64?
    /// When the message was saved into this folder (RFC 8514 SAVEDATE: APPEND, COPY/MOVE target,
    /// delivery); nil where the store does not know (messages stored before it kept save dates).
    public var saveDate: Date?
    /// The stored content's id (RFC 8474 EMAILID): the same for a message and its copies, never
    /// reused for other content. Read with the message states.
    public var emailID: Int64?

    public init(uid: UID, modSeq: Int64, flags: MessageFlags, keywords: [String], internalDate: Date, size: Int,
                sentDate: Date? = nil, subject: String? = nil, from: String? = nil, messageID: String? = nil, threadID: Int64? = nil,
                saveDate: Date? = nil, emailID: Int64? = nil) {
        self.uid = uid; self.modSeq = modSeq; self.flags = flags; self.keywords = keywords; self.internalDate = internalDate
        self.size = size; self.sentDate = sentDate; self.subject = subject; self.from = from; self.messageID = messageID
        self.threadID = threadID; self.saveDate = saveDate; self.emailID = emailID
    }
}

/// What a full-text search looks in (SEARCH SUBJECT/FROM/TO/BODY/TEXT backed by the index).
/// Where a full-text search looks: one decoded column, `any` of the four (subject, addresses, body
/// text, attachment names), or `text`: those and the raw header block (IMAP SEARCH TEXT).
public enum FullTextField: String, Sendable { case subject, addresses, body, attachments, any, text }

/// The fields SEARCH's header keys match against (see `MailboxSession.searchFields`).
public struct MessageSearchFields: Sendable, Hashable {
    public var uid: UID
    /// Decoded (RFC 2047) subject; address lists as `Name <addr>, …`.
    public var subject: String?
    public var from: String?
    public var to: String?
    public var cc: String?
    public var bcc: String?
    /// The raw header block (when asked for).
    public var header: [UInt8]?

    public init(uid: UID, subject: String?, from: String?, to: String?, cc: String?, bcc: String?, header: [UInt8]?) {
        self.uid = uid; self.subject = subject; self.from = from; self.to = to; self.cc = cc; self.bcc = bcc; self.header = header
    }
}

public struct AppendResult: Sendable, Hashable {
    public var uidValidity: UInt32
    public var uid: UID
    public init(uidValidity: UInt32, uid: UID) { self.uidValidity = uidValidity; self.uid = uid }
}

public struct CopyResult: Sendable, Hashable {
    public var uidValidity: UInt32
    /// (source UID, destination UID) pairs in source order (RFC 4315 COPYUID).
    public var mapping: [(source: UID, destination: UID)]
    public init(uidValidity: UInt32, mapping: [(source: UID, destination: UID)]) { self.uidValidity = uidValidity; self.mapping = mapping }
    public static func == (a: CopyResult, b: CopyResult) -> Bool {
        a.uidValidity == b.uidValidity && a.mapping.map(\.source) == b.mapping.map(\.source)
            && a.mapping.map(\.destination) == b.mapping.map(\.destination)
    }
    public func hash(into h: inout Hasher) { h.combine(uidValidity); h.combine(mapping.map(\.destination)) }
}

public enum FlagOperation: Sendable, Hashable { case add, remove, replace }

public struct StoreResult: Sendable, Hashable {
    /// Messages whose flags changed, with their new state and MODSEQ.
    public var updated: [MessageRecord]
    /// UIDs not changed because their MODSEQ was above UNCHANGEDSINCE (RFC 7162 MODIFIED).
    public var modified: [UID]
    public init(updated: [MessageRecord], modified: [UID]) { self.updated = updated; self.modified = modified }
}

/// What changed in a mailbox, told to every session watching it (IDLE, NOOP updates).
/// `MailboxSession.changes(in:since:)`: a folder's changes after a MODSEQ.
public struct FolderChanges: Sendable {
    /// nil when the folder is gone (deleted or renamed).
    public var folder: FolderInfo?
    /// States (as `messageStates` reads them) of the messages changed or added, in UID order.
    public var changed: [MessageRecord]
    public var expunged: [UID]
    public init(folder: FolderInfo?, changed: [MessageRecord], expunged: [UID]) {
        self.folder = folder; self.changed = changed; self.expunged = expunged
    }
}

public struct MailboxChange: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case appended(uids: [UID])
        case flagsChanged(uids: [UID])
        case expunged(uids: [UID])
        case folderCreated, folderDeleted
        case folderRenamed(to: String)
        /// Mailbox-wide (`folder == ""`): a password was revoked; its sessions must end (IMAP BYE).
        case passwordRevoked(passwordID: String)
    }
    public var folder: String
    public var kind: Kind
    public var modSeq: Int64
    /// The session that made the change (nil for deliveries); a session may skip its own changes.
    public var origin: UUID?
    public init(folder: String, kind: Kind, modSeq: Int64, origin: UUID?) {
        self.folder = folder; self.kind = kind; self.modSeq = modSeq; self.origin = origin
    }
}

public struct MailStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: Sendable, Equatable {
        case authenticationFailed, noSuchFolder, folderExists, invalidFolderName, cannotDeleteInbox
        case overQuota, noMailbox, notStored, messageTooLarge, mailboxClosed, lastPassword, noSuchPassword
        /// The message named (REPLACE) is not in the folder (any more).
        case noSuchMessage
        /// The node's disk is below its free-space floor: nothing new is stored until space comes back.
        case insufficientStorage
        /// The storage node that holds the mailbox cannot be reached (a cluster's remote service):
        /// nothing was done, or it is not known whether it was; try again later. IMAP answers
        /// `NO [UNAVAILABLE]`, POP3 `-ERR [SYS/TEMP]`, the MX `451 4.3.0`.
        case unavailable
    }
    public var code: Code
    public var detail: String
    public init(_ code: Code, _ detail: String) { self.code = code; self.detail = detail }
    public var description: String { detail }
}
