import Foundation
import MIMEParser

/// What SORT and THREAD read of one message, derived once from its header and kept with it by
/// the store (`MailboxSession.keepDerived`, kind `MessageSortFacts.kind`): a SORT or THREAD of a
/// folder then reads these few hundred bytes per message, never the message itself.
/// Strings that are compared are kept as their i;unicode-casemap keys (`UnicodeCasemap`).
public struct MessageSortFacts: Sendable, Hashable {
    /// The derived-bytes kind; a new encoding or new rules get a new kind.
    public static let kind = "imap.sortfacts.1"
    /// At most this many References are kept (the last ones: the parent is the last).
    public static let maxReferences = 256

    /// The Date: header as seconds since 1970 (UTC), nil when missing or unparsable.
    public var sentDate: Int64?
    /// The base subject (RFC 5256 §2.1), casemapped.
    public var subject: [UInt8]
    public var isReplyOrForward: Bool
    /// addr-mailbox of the first From / To / Cc address (RFC 5256), casemapped.
    public var from: [UInt8]
    public var to: [UInt8]
    public var cc: [UInt8]
    /// RFC 5957: the display name of the first From / To address (decoded), else its addr-spec.
    public var displayFrom: [UInt8]
    public var displayTo: [UInt8]
    /// The first valid Message-ID (without angle brackets).
    public var messageID: String?
    /// THREAD=REFERENCES's references: the References header's ids, or else the first valid
    /// In-Reply-To id (RFC 5256 §3 step 1.A).
    public var references: [String]

    public init(sentDate: Int64?, subject: [UInt8], isReplyOrForward: Bool, from: [UInt8], to: [UInt8], cc: [UInt8],
                displayFrom: [UInt8], displayTo: [UInt8], messageID: String?, references: [String]) {
        self.sentDate = sentDate; self.subject = subject; self.isReplyOrForward = isReplyOrForward
        self.from = from; self.to = to; self.cc = cc; self.displayFrom = displayFrom; self.displayTo = displayTo
        self.messageID = messageID; self.references = references
    }

    /// The facts of a message's header block (the whole message works too; only its header is read).
    public init(header: [UInt8]) {
        let m = MIMEMessage.parse(header)
        let envelope = m.envelope
        let base = envelope.rawSubject.map { BaseSubject(raw: $0) } ?? BaseSubject(text: "", isReplyOrForward: false)
        // The first entry; a group's is its name (`undisclosed-recipients:;` sorts by that name, as Dovecot does).
        func first(_ list: [EnvelopeAddress]?) -> EnvelopeAddress? { list?.first { !$0.isGroupEnd } }
        func mailbox(_ list: [EnvelopeAddress]?) -> [UInt8] { UnicodeCasemap.key(first(list)?.mailboxString ?? "") }
        func display(_ list: [EnvelopeAddress]?) -> [UInt8] {
            guard let a = first(list) else { return [] }
            if let name = a.name, !name.isEmpty { return UnicodeCasemap.key(name) }
            let spec = [a.mailboxString, a.hostString].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "@")
            return UnicodeCasemap.key(spec)
        }
        self.sentDate = m.date.map { Int64($0.timeIntervalSince1970.rounded(.down)) }
        self.subject = base.key
        self.isReplyOrForward = base.isReplyOrForward
        self.from = mailbox(envelope.from)
        self.to = mailbox(envelope.to)
        self.cc = mailbox(envelope.cc)
        self.displayFrom = display(envelope.from)
        self.displayTo = display(envelope.to)
        self.messageID = Self.validIDs(m.headerValues("message-id").first).first
        var refs = Self.validIDs(m.headerValues("references").first)
        if refs.isEmpty, let parent = Self.validIDs(m.headerValues("in-reply-to").first).first { refs = [parent] }
        self.references = Array(refs.suffix(Self.maxReferences))
    }

    /// The `<id-left@id-right>` message ids of a header value, without their brackets.
    static func validIDs(_ value: [UInt8]?) -> [String] {
        guard let value, value.contains(UInt8(ascii: "<")) else { return [] }
        return MIMEMessage.messageIDs(value).filter { $0.contains("@") }
    }

    // MARK: stored form

    public func encoded() -> [UInt8] {
        var out: [UInt8] = [1, (sentDate == nil ? 0 : 1) | (isReplyOrForward ? 2 : 0)]
        var date = UInt64(bitPattern: sentDate ?? 0).littleEndian
        withUnsafeBytes(of: &date) { out.append(contentsOf: $0) }
        func put(_ bytes: [UInt8]) {
            var n = UInt32(bytes.count).littleEndian
            withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
            out.append(contentsOf: bytes)
        }
        for field in [subject, from, to, cc, displayFrom, displayTo, Array((messageID ?? "").utf8)] { put(field) }
        var n = UInt32(references.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        for r in references { put(Array(r.utf8)) }
        return out
    }

    /// Decodes `encoded()`; nil for anything else (the caller derives the facts again).
    public init?(encoded b: [UInt8]) {
        var i = 0
        func u32() -> Int? {
            guard i + 4 <= b.count else { return nil }
            defer { i += 4 }
            return Int(UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
        }
        func bytes() -> [UInt8]? {
            guard let n = u32(), n <= b.count - i else { return nil }
            defer { i += n }
            return Array(b[i..<(i + n)])
        }
        guard b.count >= 10, b[0] == 1 else { return nil }
        let flags = b[1]
        var date: UInt64 = 0
        for k in 0..<8 { date |= UInt64(b[2 + k]) << (8 * UInt64(k)) }
        i = 10
        guard let subject = bytes(), let from = bytes(), let to = bytes(), let cc = bytes(), let displayFrom = bytes(),
              let displayTo = bytes(), let id = bytes(), let count = u32(), count <= Self.maxReferences else { return nil }
        var refs: [String] = []
        for _ in 0..<count {
            guard let r = bytes() else { return nil }
            refs.append(String(decoding: r, as: UTF8.self))
        }
        guard i == b.count else { return nil }
        self.init(sentDate: flags & 1 != 0 ? Int64(bitPattern: date) : nil, subject: subject, isReplyOrForward: flags & 2 != 0,
                  from: from, to: to, cc: cc, displayFrom: displayFrom, displayTo: displayTo,
                  messageID: id.isEmpty ? nil : String(decoding: id, as: UTF8.self), references: refs)
    }
}
