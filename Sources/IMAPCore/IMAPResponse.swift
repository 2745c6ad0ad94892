import Foundation

/// A server response (RFC 3501 §7), encoded by `IMAPResponseEncoder`.
public enum IMAPResponse: Sendable, Hashable {
    /// `tag OK|NO|BAD [code] text`
    case tagged(tag: String, status: IMAPStatus, code: ResponseCode?, text: String)
    case untagged(UntaggedResponse)
    /// `+ text` (or `+ base64` for SASL challenges).
    case continuation(String)
}

public enum IMAPStatus: String, Sendable, Hashable {
    case ok = "OK", no = "NO", bad = "BAD", preauth = "PREAUTH", bye = "BYE"
}

/// Response codes (RFC 3501 §7.1, RFC 5530, RFC 4315, RFC 7162, RFC 7889, RFC 9208).
public enum ResponseCode: Sendable, Hashable {
    case alert, parse, readOnly, readWrite, tryCreate, uidNotSticky, closed
    case badCharset([String])
    case capability([String])
    case permanentFlags([IMAPFlag])
    case uidNext(UInt32)
    case uidValidity(UInt32)
    case unseen(UInt32)
    case highestModSeq(UInt64)
    case noModSeq
    /// RFC 4315
    case appendUID(uidValidity: UInt32, uid: UInt32)
    /// RFC 4315 APPENDUID with a uid-set (MULTIAPPEND), e.g. `"7:9"`.
    case appendUIDs(uidValidity: UInt32, uids: String)
    /// RFC 4315; the sets are already in uid-set wire form (`1:3,7`).
    case copyUID(uidValidity: UInt32, source: String, destination: String)
    /// RFC 7162 MODIFIED (uid-set wire form).
    case modified(String)
    /// RFC 5530
    case unavailable, authenticationFailed, authorizationFailed, expired, privacyRequired, contactAdmin
    case noPerm, inUse, expungeIssued, corruption, serverBug, clientBug, cannot, limit, overQuota
    case alreadyExists, nonExistent
    /// RFC 7889
    case tooBig
    /// RFC 4978
    case compressionActive
    case appendLimit(Int)
    /// RFC 8474 `MAILBOXID (id)`.
    case mailboxID(String)
    /// Any other `[ATOM text]`.
    case other(String)
}

public enum UntaggedResponse: Sendable, Hashable {
    /// `* OK|NO|BAD|BYE|PREAUTH [code] text`
    case condition(status: IMAPStatus, code: ResponseCode?, text: String)
    case capability([String])
    case enabled([String])
    /// `* LIST (attrs) "/" name` or `* LSUB …`; attributes with their backslash (`\HasNoChildren`).
    /// `childInfo` adds RFC 5258 `("CHILDINFO" ("SUBSCRIBED"))`.
    case list(attributes: [String], delimiter: Character?, mailbox: String, lsub: Bool, childInfoSubscribed: Bool = false)
    /// `* STATUS name (MESSAGES n …)`
    case status(mailbox: String, items: [StatusItem])
    /// `* SEARCH n n …` (with RFC 7162 `(MODSEQ n)` when given).
    case search([UInt32], highestModSeq: UInt64?)
    /// `* ESEARCH (TAG "t") UID MIN n MAX n COUNT n ALL set` (RFC 4731); items are preformatted.
    case esearch(tag: String, uid: Bool, items: [(String, String)])
    /// `* SORT n n …` (RFC 5256; with RFC 7162 `(MODSEQ n)` when given).
    case sort([UInt32], highestModSeq: UInt64?)
    /// `* THREAD (…)(…)` (RFC 5256 §4).
    case thread(ThreadForest)
    case flags([IMAPFlag])
    case exists(Int)
    case recent(Int)
    case expunge(UInt32)
    /// RFC 7162 `* VANISHED (EARLIER) uid-set`
    case vanished(earlier: Bool, uids: String)
    case fetch(sequenceNumber: UInt32, items: [FetchResponseItem])
    /// RFC 2342, personal namespace only: `* NAMESPACE (("" "/")) NIL NIL`
    case namespace(personalPrefix: String, delimiter: Character)
    /// RFC 2971: `* ID ("name" "Sealbox" …)` or `* ID NIL`.
    case id([IMAPCommand.IDField]?)
    /// RFC 9208: `* QUOTA "" (STORAGE used limit)` (in KiB as the RFC says for STORAGE).
    case quota(root: String, resources: [QuotaResource])
    case quotaRoot(mailbox: String, roots: [String])

    public static func == (a: UntaggedResponse, b: UntaggedResponse) -> Bool { String(describing: a) == String(describing: b) }
    public func hash(into h: inout Hasher) { h.combine(String(describing: self)) }
}

public struct StatusItem: Sendable, Hashable {
    public var attribute: StatusAttribute
    public var value: UInt64
    /// A value that is not a number, as it goes on the wire (RFC 8474 MAILBOXID's `(id)`).
    public var text: String?
    public init(_ attribute: StatusAttribute, _ value: UInt64) { self.attribute = attribute; self.value = value }
    public init(_ attribute: StatusAttribute, text: String) { self.attribute = attribute; self.value = 0; self.text = text }
}

public struct QuotaResource: Sendable, Hashable {
    public var name: String
    public var usage: UInt64
    public var limit: UInt64
    public init(name: String, usage: UInt64, limit: UInt64) { self.name = name; self.usage = usage; self.limit = limit }
}

/// One item of a FETCH response. Structures come preformatted from the message model.
public enum FetchResponseItem: Sendable, Hashable {
    case uid(UInt32)
    case flags([IMAPFlag])
    /// Encoded as `"17-Jul-1996 02:44:25 +0000"` (UTC).
    case internalDate(Date)
    case rfc822Size(Int)
    case envelope([UInt8])
    case body([UInt8])
    case bodyStructure([UInt8])
    /// A section with its response name as the client should see it, e.g. `BODY[HEADER.FIELDS (FROM TO)]`,
    /// `BODY[]`, `RFC822`, `RFC822.HEADER`, `BINARY[1]`; `origin` is the partial's offset (`BODY[]<0>`).
    /// nil data is `NIL`. `literal8` sends `~{n}` (RFC 3516, content with NUL).
    case section(name: String, origin: Int?, data: [UInt8]?, literal8: Bool)
    case binarySize(part: [Int], size: Int)
    case modSeq(UInt64)
    /// RFC 8514 `SAVEDATE "date-time"` or `SAVEDATE NIL`.
    case saveDate(Date?)
    /// RFC 8474 `EMAILID (id)`, `THREADID (id)` or `THREADID NIL`.
    case emailID(String)
    case threadID(String?)
    /// RFC 8970 `PREVIEW` text (UTF-8), NIL when not available (LAZY).
    case preview(String?)
}
