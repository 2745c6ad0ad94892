import Foundation
import MIMEParser

/// One parsed client command (RFC 3501 §6 and the extensions the server announces).
public struct IMAPCommand: Sendable, Hashable {
    public var tag: String
    public var kind: Kind
    public init(tag: String, kind: Kind) { self.tag = tag; self.kind = kind }

    public enum Kind: Sendable, Hashable {
        // any state
        case capability, noop, logout
        /// RFC 2971: nil is `ID NIL`.
        case id([IDField]?)
        // not authenticated
        case startTLS
        /// RFC 4978 `COMPRESS mechanism`
        case compress(mechanism: String)
        /// `AUTHENTICATE mech [initial-response]` (RFC 4959 SASL-IR; "=" is an empty response).
        case authenticate(mechanism: String, initialResponse: String?)
        case login(user: String, password: String)
        // authenticated
        case enable([String])
        /// `SELECT name [(CONDSTORE)]` or `[(QRESYNC (…))]` (RFC 7162).
        case select(mailbox: String, condStore: Bool, qresync: QResyncParameters? = nil)
        case examine(mailbox: String, condStore: Bool, qresync: QResyncParameters? = nil)
        /// `CREATE name [(USE (\Drafts …))]` (RFC 6154 CREATE-SPECIAL-USE).
        case create(mailbox: String, specialUse: [String])
        case delete(mailbox: String)
        case rename(from: String, to: String)
        case subscribe(mailbox: String)
        case unsubscribe(mailbox: String)
        case list(ListCommand)
        case lsub(reference: String, pattern: String)
        case namespace
        case status(mailbox: String, attributes: [StatusAttribute])
        /// APPEND arrives as a stream (`IMAPFrame.appendBegin`…); the parser turns its prefix into
        /// an `AppendHeader`; this case never comes out of `IMAPCommandParser.parse`.
        case getQuota(root: String)
        case getQuotaRoot(mailbox: String)
        case setQuota(root: String, limits: [QuotaLimit])
        case idle
        /// RFC 8437: back to the not-authenticated state.
        case unauthenticate
        /// RFC 5465 NOTIFY (`groups` empty: NOTIFY NONE).
        case notify(NotifyCommand)
        // selected
        case check, close, unselect, expunge
        case uidExpunge(SequenceSet)
        /// `partial`: the RFC 5267 `PARTIAL` range ("PARTIAL" is then among `returnOptions`).
        case search(charset: String?, key: SearchKey, uid: Bool, returnOptions: [String]?, partial: PartialRange? = nil)
        /// RFC 5267 §4.3.5 `CANCELUPDATE "tag" …`: ends the update contexts of those commands.
        case cancelUpdate([String])
        /// RFC 5256 SORT (RFC 5957 DISPLAY keys, RFC 5267 ESORT RETURN) and THREAD.
        case sort(SortCommand)
        case thread(ThreadCommand)
        /// `(CHANGEDSINCE n [VANISHED])` modifiers (RFC 7162 §3.1.4.1, §3.2.6).
        case fetch(SequenceSet, [FetchAttribute], uid: Bool, changedSince: UInt64?, vanished: Bool = false)
        case store(SequenceSet, StoreData, uid: Bool)
        case copy(SequenceSet, mailbox: String, uid: Bool)
        case move(SequenceSet, mailbox: String, uid: Bool)
    }

    public struct IDField: Sendable, Hashable {
        public var key: String
        public var value: String?
        public init(key: String, value: String?) { self.key = key; self.value = value }
    }
}

/// `LIST` in RFC 3501 form or RFC 5258 LIST-EXTENDED form. Option names are upper-cased.
public struct ListCommand: Sendable, Hashable {
    public var reference: String
    public var patterns: [String]
    /// e.g. SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE.
    public var selectOptions: [String]
    /// e.g. SUBSCRIBED, CHILDREN, SPECIAL-USE; `STATUS (…)` (RFC 5819) goes to `returnStatus`.
    public var returnOptions: [String]
    public var returnStatus: [StatusAttribute]?
    public init(reference: String, patterns: [String], selectOptions: [String] = [], returnOptions: [String] = [], returnStatus: [StatusAttribute]? = nil) {
        self.reference = reference; self.patterns = patterns; self.selectOptions = selectOptions
        self.returnOptions = returnOptions; self.returnStatus = returnStatus
    }
}

public enum StatusAttribute: String, Sendable, Hashable, CaseIterable {
    case messages = "MESSAGES", recent = "RECENT", uidNext = "UIDNEXT", uidValidity = "UIDVALIDITY"
    case unseen = "UNSEEN", deleted = "DELETED", size = "SIZE", highestModSeq = "HIGHESTMODSEQ"
    /// RFC 8474
    case mailboxID = "MAILBOXID"
}

/// The `QRESYNC (uidvalidity modseq [known-uids] [seq-match-data])` SELECT/EXAMINE parameter
/// (RFC 7162 §3.2.5). None of the sets contains `*` (the parser refuses it).
public struct QResyncParameters: Sendable, Hashable {
    public var uidValidity: UInt32
    public var modSeq: UInt64
    /// The UIDs the client knows of (nil: all).
    public var knownUIDs: SequenceSet?
    /// `seq-match-data`: message numbers and the UIDs the client believes they have, pairwise, in
    /// the order written.
    public var knownSequenceNumbers: SequenceSet?
    public var knownSequenceUIDs: SequenceSet?
    public init(uidValidity: UInt32, modSeq: UInt64, knownUIDs: SequenceSet? = nil,
                knownSequenceNumbers: SequenceSet? = nil, knownSequenceUIDs: SequenceSet? = nil) {
        self.uidValidity = uidValidity; self.modSeq = modSeq; self.knownUIDs = knownUIDs
        self.knownSequenceNumbers = knownSequenceNumbers; self.knownSequenceUIDs = knownSequenceUIDs
    }
}

public struct StoreData: Sendable, Hashable {
    public enum Operation: Sendable, Hashable { case add, remove, replace }
    public var operation: Operation
    public var silent: Bool
    public var flags: [IMAPFlag]
    /// RFC 7162 `(UNCHANGEDSINCE n)`.
    public var unchangedSince: UInt64?
    public init(operation: Operation, silent: Bool, flags: [IMAPFlag], unchangedSince: UInt64? = nil) {
        self.operation = operation; self.silent = silent; self.flags = flags; self.unchangedSince = unchangedSince
    }
}

public struct QuotaLimit: Sendable, Hashable {
    public var resource: String
    public var limit: UInt64
    public init(resource: String, limit: UInt64) { self.resource = resource; self.limit = limit }
}

/// The part of an APPEND command before its message literal:
/// `tag APPEND mailbox [flag-list] [date-time] {n}` or `{n+}` (RFC 3501 §6.3.11, RFC 7888).
public struct AppendHeader: Sendable, Hashable {
    public var tag: String
    public var mailbox: String
    public var flags: [IMAPFlag]
    public var internalDate: Date?
    public var literalSize: Int
    public var synchronizing: Bool
    /// RFC 3516 `~{n}` literal8 (binary content).
    public var binary: Bool
    /// RFC 8508 `REPLACE seq mailbox …` / `UID REPLACE uid mailbox …`: the message of the selected
    /// mailbox the appended one replaces (nil: an APPEND).
    public var replacing: ReplaceTarget?
    /// The literal came as RFC 9755's `UTF8 (~{n}`: its closing `)` follows the literal.
    public var utf8: Bool
    public init(tag: String, mailbox: String, flags: [IMAPFlag], internalDate: Date?, literalSize: Int, synchronizing: Bool, binary: Bool = false,
                replacing: ReplaceTarget? = nil, utf8: Bool = false) {
        self.tag = tag; self.mailbox = mailbox; self.flags = flags; self.internalDate = internalDate
        self.literalSize = literalSize; self.synchronizing = synchronizing; self.binary = binary; self.replacing = replacing
        self.utf8 = utf8
    }
}

/// The message a REPLACE names (RFC 8508): a message sequence number, or a UID (UID REPLACE).
public struct ReplaceTarget: Sendable, Hashable {
    public var set: SequenceSet
    public var uid: Bool
    public init(set: SequenceSet, uid: Bool) { self.set = set; self.uid = uid }
}
