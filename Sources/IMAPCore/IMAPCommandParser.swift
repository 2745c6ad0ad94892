import Foundation
import MIMEParser
import NIOCore

/// A command that could not be parsed: answer `tag BAD message` (untagged `* BAD` without a tag).
public struct IMAPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var tag: String?
    public var message: String
    public init(tag: String?, message: String) { self.tag = tag; self.message = message }
    public var description: String { message }
}

/// Parses one framed command (RFC 3501 §9 grammar and the announced extensions). Pure.
public enum IMAPCommandParser {
    /// Parses a `.command` frame's bytes. `utf8Names`: mailbox names are UTF-8 on the wire (the
    /// session enabled UTF8=ACCEPT or IMAP4rev2), else modified UTF-7.
    public static func parse(_ command: ByteBuffer, limits: IMAPLimits = IMAPLimits(), utf8Names: Bool = false) -> Result<IMAPCommand, IMAPParseError> {
        var r = CommandReader(Array(command.readableBytesView), limits: limits, utf8Names: utf8Names)
        guard let tag = readTag(&r) else {
            return .failure(IMAPParseError(tag: nil, message: "Invalid tag"))
        }
        do throws(ParseFailure) {
            guard r.take(32) else { throw ParseFailure("Missing command") }
            let kind = try parseKind(&r)
            try r.end()
            return .success(IMAPCommand(tag: tag, kind: kind))
        } catch {
            return .failure(IMAPParseError(tag: tag, message: error.message))
        }
    }

    /// Parses an `.appendBegin` frame's bytes (`tag APPEND mailbox [flags] [date] {n}`), or those of
    /// a REPLACE (RFC 8508: `tag REPLACE seq-number mailbox …`, `tag UID REPLACE uniqueid mailbox …`).
    public static func parseAppendHeader(_ prefix: ByteBuffer, literalSize: Int, limits: IMAPLimits = IMAPLimits(),
                                         utf8Names: Bool = false) -> Result<AppendHeader, IMAPParseError> {
        var r = CommandReader(Array(prefix.readableBytesView), limits: limits, utf8Names: utf8Names)
        guard let tag = readTag(&r) else { return .failure(IMAPParseError(tag: nil, message: "Invalid tag")) }
        do throws(ParseFailure) {
            try r.sp()
            var replacing: ReplaceTarget?
            if !r.takeWord("APPEND") {
                let uid = r.takeWord("UID ")
                guard r.takeWord("REPLACE") else { throw ParseFailure("Expected APPEND") }
                try r.sp()
                replacing = ReplaceTarget(set: try replaceTarget(&r), uid: uid)
            }
            try r.sp()
            let mailbox = try r.mailbox()
            let m = try parseAppendMessage(&r, what: "the message literal")
            guard m.size == UInt64(literalSize) else { throw ParseFailure("Literal size mismatch") }
            return .success(AppendHeader(tag: tag, mailbox: mailbox, flags: m.flags, internalDate: m.date, literalSize: literalSize,
                                         synchronizing: m.synchronizing, binary: m.binary, replacing: replacing, utf8: m.utf8))
        } catch {
            return .failure(IMAPParseError(tag: tag, message: error.message))
        }
    }

    /// One message's part of APPEND/MULTIAPPEND (RFC 3502 `append-message` up to its literal):
    /// `SP [flag-list SP] [date-time SP] ["~"] "{" number ["+"] "}"`, to the end of the line; or
    /// with the RFC 9755 §4 (UTF8=ACCEPT) data item, `… "UTF8" SP "(" "~{" number ["+"] "}"`, whose
    /// closing parenthesis follows the literal.
    static func parseAppendMessage(_ r: inout CommandReader, what: String) throws(ParseFailure)
        -> (flags: [IMAPFlag], date: Date?, binary: Bool, size: UInt64, synchronizing: Bool, utf8: Bool) {
        try r.sp()
        var flags: [IMAPFlag] = []
        if r.peek() == UInt8(ascii: "(") { flags = try r.storableFlagList(); try r.sp() }
        var date: Date?
        if r.peek() == UInt8(ascii: "\"") { date = try r.dateTime(); try r.sp() }
        let utf8 = r.takeWord("UTF8 (")
        let binary = r.take(UInt8(ascii: "~"))
        if utf8 && !binary { throw ParseFailure("UTF8 takes a literal8 (~{n})") }
        try r.expect(UInt8(ascii: "{"), what)
        let n = try r.number()
        let sync = !r.take(UInt8(ascii: "+"))
        try r.expect(UInt8(ascii: "}"), "}")
        try r.end()
        return (flags, date, binary, n, sync, utf8)
    }

    /// One message of REPLACE: `seq-number` / `uniqueid`, a number or `*` (a set of one).
    static func replaceTarget(_ r: inout CommandReader) throws(ParseFailure) -> SequenceSet {
        let start = r.pos
        let set = try r.sequenceSet()
        guard !r.bytes[start..<r.pos].contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "$") }) else {
            throw ParseFailure("REPLACE names one message")
        }
        return set
    }

    /// Parses an `.appendNext` frame's bytes: the next message of a MULTIAPPEND (RFC 3502),
    /// `SP [flag-list SP] [date-time SP] literal-marker`, in the command whose previous message's
    /// header is `previous` (after a UTF8 data item, the line starts with its closing `)`).
    public static func parseAppendNext(_ rest: ByteBuffer, after previous: AppendHeader, limits: IMAPLimits = IMAPLimits())
        -> Result<AppendHeader, IMAPParseError> {
        var r = CommandReader(Array(rest.readableBytesView), limits: limits)
        do throws(ParseFailure) {
            if previous.utf8 { try r.expect(UInt8(ascii: ")"), "the ) closing UTF8 (") }
            let m = try parseAppendMessage(&r, what: "the next message literal")
            return .success(AppendHeader(tag: previous.tag, mailbox: previous.mailbox, flags: m.flags, internalDate: m.date,
                                         literalSize: Int(m.size), synchronizing: m.synchronizing, binary: m.binary, utf8: m.utf8))
        } catch {
            return .failure(IMAPParseError(tag: previous.tag, message: error.message))
        }
    }

    /// The tag at the start of a line, if it is a valid tag (for BAD replies to unparsable lines).
    public static func tag(of line: ByteBuffer) -> String? {
        var r = CommandReader(Array(line.readableBytesView.prefix(128)), limits: IMAPLimits())
        return readTag(&r)
    }

    static func readTag(_ r: inout CommandReader) -> String? {
        let start = r.pos
        while let c = r.peek(), IMAPGrammar.isAStringChar(c), c != UInt8(ascii: "+") { r.pos += 1 }
        guard r.pos > start, r.pos - start <= 64, r.peek() == nil || r.peek() == 32 else { return nil }
        return String(decoding: r.bytes[start..<r.pos], as: UTF8.self)
    }

    static func parseKind(_ r: inout CommandReader) throws(ParseFailure) -> IMAPCommand.Kind {
        let name = try r.word()
        switch name {
        case "CAPABILITY": return .capability
        case "NOOP": return .noop
        case "LOGOUT": return .logout
        case "STARTTLS": return .startTLS
        case "CHECK": return .check
        case "CLOSE": return .close
        case "EXPUNGE": return .expunge
        case "UNSELECT": return .unselect
        case "IDLE": return .idle
        case "UNAUTHENTICATE": return .unauthenticate
        case "NAMESPACE": return .namespace
        case "ID": return try parseID(&r)
        case "NOTIFY": return try parseNotify(&r)
        case "COMPRESS":
            try r.argument("compression mechanism")
            return .compress(mechanism: try r.atom().uppercased())
        case "AUTHENTICATE":
            try r.sp()
            let mechanism = try r.atom().uppercased()
            var initial: String?
            if r.take(32) {
                let start = r.pos
                while let c = r.peek(), c != 32 { r.pos += 1 }
                initial = String(decoding: r.bytes[start..<r.pos], as: UTF8.self)
                guard !(initial ?? "").isEmpty else { throw ParseFailure("Empty initial response") }
                if initial == "=" { initial = "" }  // RFC 4959: "=" is an empty initial response
            }
            return .authenticate(mechanism: mechanism, initialResponse: initial)
        case "LOGIN":
            try r.argument("user name")
            let user = try r.astringText()
            try r.sp()
            let password = try r.astringText()
            return .login(user: user, password: password)
        case "ENABLE":
            var names: [String] = []
            while r.take(32) { try r.countItem(); names.append(try r.atom().uppercased()) }
            guard !names.isEmpty else { throw ParseFailure("ENABLE needs at least one capability") }
            return .enable(names)
        case "SELECT", "EXAMINE":
            try r.argument("mailbox name")
            let mailbox = try r.mailbox()
            var condStore = false
            var qresync: QResyncParameters?
            if r.take(32) {
                try r.expect(UInt8(ascii: "("), "(")
                repeat {
                    let p = try r.word()
                    switch p {
                    case "CONDSTORE": condStore = true
                    case "QRESYNC" where qresync == nil: qresync = try qresyncParameters(&r)
                    default: throw ParseFailure("Unsupported SELECT parameter \(p)")
                    }
                } while r.take(32)
                try r.expect(UInt8(ascii: ")"), ")")
            }
            return name == "SELECT" ? .select(mailbox: mailbox, condStore: condStore, qresync: qresync)
                : .examine(mailbox: mailbox, condStore: condStore, qresync: qresync)
        case "CREATE":
            try r.argument("mailbox name")
            let mailbox = try r.mailbox()
            var uses: [String] = []
            if r.take(32) {
                try r.expect(UInt8(ascii: "("), "(")
                guard r.takeWord("USE") else { throw ParseFailure("Unsupported CREATE parameter") }
                try r.sp()
                try r.expect(UInt8(ascii: "("), "(")
                repeat {
                    try r.expect(UInt8(ascii: "\\"), "a special-use attribute")
                    uses.append("\\" + (try r.atom()))
                } while r.take(32)
                try r.expect(UInt8(ascii: ")"), ")")
                try r.expect(UInt8(ascii: ")"), ")")
            }
            return .create(mailbox: mailbox, specialUse: uses)
        case "DELETE": try r.argument("mailbox name"); return .delete(mailbox: try r.mailbox())
        case "SUBSCRIBE": try r.argument("mailbox name"); return .subscribe(mailbox: try r.mailbox())
        case "UNSUBSCRIBE": try r.argument("mailbox name"); return .unsubscribe(mailbox: try r.mailbox())
        case "RENAME":
            try r.argument("mailbox name")
            let from = try r.mailbox()
            try r.sp()
            return .rename(from: from, to: try r.mailbox())
        case "LIST": return try parseList(&r)
        case "LSUB":
            try r.sp()
            let reference = try r.mailbox()
            try r.sp()
            return .lsub(reference: reference == "INBOX" ? "INBOX" : reference, pattern: try r.listMailbox())
        case "STATUS":
            try r.argument("mailbox name")
            let mailbox = try r.mailbox()
            try r.sp()
            return .status(mailbox: mailbox, attributes: try statusAttributes(&r))
        case "GETQUOTA": try r.sp(); return .getQuota(root: try r.astringText())
        case "GETQUOTAROOT": try r.sp(); return .getQuotaRoot(mailbox: try r.mailbox())
        case "SETQUOTA":
            try r.sp()
            let root = try r.astringText()
            try r.sp()
            try r.expect(UInt8(ascii: "("), "(")
            var limits: [QuotaLimit] = []
            if !r.take(UInt8(ascii: ")")) {
                repeat {
                    let resource = try r.atom().uppercased()
                    try r.sp()
                    limits.append(QuotaLimit(resource: resource, limit: try r.number()))
                } while r.take(32)
                try r.expect(UInt8(ascii: ")"), ")")
            }
            return .setQuota(root: root, limits: limits)
        case "SEARCH": return try parseSearch(&r, uid: false)
        case "CANCELUPDATE": return try parseCancelUpdate(&r)
        case "SORT": return try parseSort(&r, uid: false)
        case "THREAD": return try parseThread(&r, uid: false)
        case "FETCH": return try parseFetch(&r, uid: false)
        case "STORE": return try parseStore(&r, uid: false)
        case "COPY", "MOVE": return try parseTransfer(&r, move: name == "MOVE", uid: false)
        case "UID":
            try r.sp()
            let sub = try r.word()
            switch sub {
            case "SEARCH": return try parseSearch(&r, uid: true)
            case "SORT": return try parseSort(&r, uid: true)
            case "THREAD": return try parseThread(&r, uid: true)
            case "FETCH": return try parseFetch(&r, uid: true)
            case "STORE": return try parseStore(&r, uid: true)
            case "COPY", "MOVE": return try parseTransfer(&r, move: sub == "MOVE", uid: true)
            case "REPLACE":
                throw ParseFailure("REPLACE needs a message literal")
            case "EXPUNGE":
                try r.sp()
                return .uidExpunge(try r.sequenceSet())
            default:
                throw ParseFailure("Unknown UID command \(sub)")
            }
        case "APPEND":
            throw ParseFailure("APPEND needs a message literal")
        case "REPLACE":
            throw ParseFailure("REPLACE needs a message literal")
        default:
            throw ParseFailure("Unknown command \(name)")
        }
    }

    /// RFC 7162 §3.2.5, after the word QRESYNC:
    /// `SP "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`,
    /// `seq-match-data = "(" known-sequence-set SP known-uid-set ")"`; no set may contain `*`.
    static func qresyncParameters(_ r: inout CommandReader) throws(ParseFailure) -> QResyncParameters {
        func set(_ r: inout CommandReader) throws(ParseFailure) -> SequenceSet {
            guard r.peek() != UInt8(ascii: "$") else { throw ParseFailure("Invalid QRESYNC parameter") }
            let s = try r.sequenceSet()
            guard !s.containsStar else { throw ParseFailure("* is not allowed in QRESYNC parameters") }
            return s
        }
        try r.sp()
        try r.expect(UInt8(ascii: "("), "(")
        var p = QResyncParameters(uidValidity: try r.nzNumber32(), modSeq: 0)
        try r.sp()
        p.modSeq = try r.number()
        var more = r.take(32)
        if more, r.peek() != UInt8(ascii: "(") {
            p.knownUIDs = try set(&r)
            more = r.take(32)
        }
        if more {
            try r.expect(UInt8(ascii: "("), "seq-match-data")
            let numbers = try set(&r)
            try r.sp()
            let uids = try set(&r)
            try r.expect(UInt8(ascii: ")"), ")")
            guard numbers.count() == uids.count() else { throw ParseFailure("seq-match-data sets differ in size") }
            p.knownSequenceNumbers = numbers; p.knownSequenceUIDs = uids
        }
        try r.expect(UInt8(ascii: ")"), ")")
        return p
    }

    /// `COPY` / `MOVE` sequence-set SP mailbox.
    static func parseTransfer(_ r: inout CommandReader, move: Bool, uid: Bool) throws(ParseFailure) -> IMAPCommand.Kind {
        try r.argument("sequence set")
        let set = try r.sequenceSet()
        try r.argument("mailbox name")
        let mailbox = try r.mailbox()
        return move ? .move(set, mailbox: mailbox, uid: uid) : .copy(set, mailbox: mailbox, uid: uid)
    }

    static func parseID(_ r: inout CommandReader) throws(ParseFailure) -> IMAPCommand.Kind {
        try r.sp()
        if r.takeWord("NIL") { return .id(nil) }
        try r.expect(UInt8(ascii: "("), "(")
        var fields: [IMAPCommand.IDField] = []
        if r.take(UInt8(ascii: ")")) { return .id([]) }
        repeat {
            guard fields.count < 30 else { throw ParseFailure("Too many ID fields") }
            let key = String(decoding: try r.string(), as: UTF8.self)
            try r.sp()
            let value = try r.nstring().map { String(decoding: $0, as: UTF8.self) }
            fields.append(.init(key: key, value: value))
        } while r.take(32)
        try r.expect(UInt8(ascii: ")"), ")")
        return .id(fields)
    }

    static func statusAttributes(_ r: inout CommandReader) throws(ParseFailure) -> [StatusAttribute] {
        try r.expect(UInt8(ascii: "("), "(")
        var attributes: [StatusAttribute] = []
        repeat {
            let name = try r.word()
            guard let a = StatusAttribute(rawValue: name) else { throw ParseFailure("Unknown status attribute \(name)") }
            attributes.append(a)
        } while r.take(32)
        try r.expect(UInt8(ascii: ")"), ")")
        return attributes
    }

    /// LIST-EXTENDED selection options (RFC 5258 §3, RFC 6154 SPECIAL-USE) and return options
    /// (RFC 5258 §3, RFC 6154; RFC 5819 STATUS is parsed on its own). Any other is BAD.
    static let listSelectOptions: Set<String> = ["SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"]
    static let listReturnOptions: Set<String> = ["SUBSCRIBED", "CHILDREN", "SPECIAL-USE"]

    /// RFC 3501 LIST and RFC 5258 LIST-EXTENDED (with RFC 5819 RETURN STATUS).
    static func parseList(_ r: inout CommandReader) throws(ParseFailure) -> IMAPCommand.Kind {
        try r.sp()
        var selectOptions: [String] = []
        if r.take(UInt8(ascii: "(")) {
            if !r.take(UInt8(ascii: ")")) {
                repeat {
                    let option = try r.word()
                    guard listSelectOptions.contains(option) else { throw ParseFailure("Unknown LIST selection option \(option)") }
                    selectOptions.append(option)
                } while r.take(32)
                try r.expect(UInt8(ascii: ")"), ")")
            }
            // RFC 5258 §3: RECURSIVEMATCH only means something with another selection option
            // (REMOTE does not count).
            if selectOptions.contains("RECURSIVEMATCH"), selectOptions.allSatisfy({ $0 == "RECURSIVEMATCH" || $0 == "REMOTE" }) {
                throw ParseFailure("RECURSIVEMATCH needs another selection option")
            }
            try r.sp()
        }
        let reference = try r.mailbox()
        try r.sp()
        var patterns: [String] = []
        if r.take(UInt8(ascii: "(")) {
            repeat { try r.countItem(); patterns.append(try r.listMailbox()) } while r.take(32)
            try r.expect(UInt8(ascii: ")"), ")")
        } else {
            patterns.append(try r.listMailbox())
        }
        var returnOptions: [String] = []
        var returnStatus: [StatusAttribute]?
        if r.take(32) {
            guard r.takeWord("RETURN") else { throw ParseFailure("Expected RETURN") }
            try r.sp()
            try r.expect(UInt8(ascii: "("), "(")
            if !r.take(UInt8(ascii: ")")) {
                repeat {
                    let option = try r.word()
                    if option == "STATUS" {
                        try r.sp()
                        returnStatus = try statusAttributes(&r)
                    } else {
                        guard listReturnOptions.contains(option) else { throw ParseFailure("Unknown LIST return option \(option)") }
                        returnOptions.append(option)
                    }
                } while r.take(32)
                try r.expect(UInt8(ascii: ")"), ")")
            }
        }
        return .list(ListCommand(reference: reference, patterns: patterns, selectOptions: selectOptions,
                                 returnOptions: returnOptions, returnStatus: returnStatus))
    }

    // MARK: SEARCH

    /// `"RETURN" SP "(" [option *(SP option)] ")" SP` when present (RFC 4731 for SEARCH, RFC 5267 for
    /// SORT), nil when absent. With `allowed`, an option outside it is refused and each counts
    /// against the item limit; without, SEARCH takes any (the session answers what it knows).
    /// `PARTIAL` takes its range (kept apart, the option itself listed); RFC 5267 §4.4 allows one
    /// PARTIAL or one ALL, not both; §4.3, one UPDATE.
    // modifier-partial = "PARTIAL" SP partial-range                                ; RFC 5267 §5
    // partial-range    = partial-range-first / partial-range-last                  ; RFC 9394 §4
    // partial-range-first = nz-number ":" nz-number
    // partial-range-last  = MINUS nz-number ":" MINUS nz-number
    /// The RETURN options of SEARCH and SORT: RFC 4731 (ESEARCH), RFC 5182 (SAVE), RFC 5267
    /// (CONTEXT, UPDATE, PARTIAL). Anything else is BAD, as Dovecot answers.
    static let searchReturns: Set<String> = ["MIN", "MAX", "ALL", "COUNT", "SAVE", "CONTEXT", "UPDATE", "PARTIAL"]

    static func searchReturnOptions(_ r: inout CommandReader) throws(ParseFailure)
        -> (options: [String], partial: PartialRange?)? {
        guard r.takeWord("RETURN ") else { return nil }
        try r.expect(UInt8(ascii: "("), "(")
        var options: [String] = []
        var partial: PartialRange?
        if !r.take(UInt8(ascii: ")")) {
            repeat {
                try r.countItem()
                let option = try r.word()
                guard searchReturns.contains(option) else { throw ParseFailure("Unknown RETURN option \(option)") }
                if option == "PARTIAL" {
                    guard partial == nil else { throw ParseFailure("PARTIAL can be used only once") }
                    try r.argument("PARTIAL range")
                    partial = try partialRange(&r)
                } else if option == "UPDATE", options.contains("UPDATE") {
                    throw ParseFailure("UPDATE can be used only once")
                }
                options.append(option)
            } while r.take(32)
            try r.expect(UInt8(ascii: ")"), ")")
        }
        if partial != nil, options.contains("ALL") { throw ParseFailure("PARTIAL conflicts with ALL") }
        try r.sp()
        return (options, partial)
    }

    static func partialRange(_ r: inout CommandReader) throws(ParseFailure) -> PartialRange {
        let minus = UInt8(ascii: "-")
        let fromEnd = r.take(minus)
        guard let a = try? r.nzNumber32(), r.take(UInt8(ascii: ":")), r.take(minus) == fromEnd, let b = try? r.nzNumber32() else {
            throw ParseFailure("Invalid PARTIAL range")
        }
        return PartialRange(a, b, fromEnd: fromEnd)
    }

    /// `search-key *(SP search-key)`, one key or their AND.
    static func searchKeys(_ r: inout CommandReader) throws(ParseFailure) -> SearchKey {
        try r.countItem()
        var keys: [SearchKey] = [try searchKey(&r)]
        while r.take(32) { try r.countItem(); keys.append(try searchKey(&r)) }
        return keys.count == 1 ? keys[0] : .and(keys)
    }

    static func parseSearch(_ r: inout CommandReader, uid: Bool) throws(ParseFailure) -> IMAPCommand.Kind {
        try r.argument("search criteria")
        let returns = try searchReturnOptions(&r)
        var charset: String?
        if r.takeWord("CHARSET ") {
            charset = try r.astringText()
            try r.sp()
        }
        return .search(charset: charset, key: try searchKeys(&r), uid: uid, returnOptions: returns?.options, partial: returns?.partial)
    }

    static func searchString(_ r: inout CommandReader) throws(ParseFailure) -> String {
        try r.sp()
        return try r.astringText()
    }

    static func searchKey(_ r: inout CommandReader) throws(ParseFailure) -> SearchKey {
        try r.enter()
        defer { r.leave() }
        if r.take(UInt8(ascii: "(")) {
            var keys: [SearchKey] = [try searchKey(&r)]
            while r.take(32) { try r.countItem(); keys.append(try searchKey(&r)) }
            try r.expect(UInt8(ascii: ")"), ")")
            return keys.count == 1 ? keys[0] : .and(keys)
        }
        if r.startsSequenceSet { return .sequenceNumbers(try r.sequenceSet()) }
        let name = try r.word()
        switch name {
        case "ALL": return .all
        case "ANSWERED": return .answered
        case "DELETED": return .deleted
        case "DRAFT": return .draft
        case "FLAGGED": return .flagged
        case "NEW": return .new
        case "OLD": return .old
        case "RECENT": return .recent
        case "SEEN": return .seen
        case "UNANSWERED": return .unanswered
        case "UNDELETED": return .undeleted
        case "UNDRAFT": return .undraft
        case "UNFLAGGED": return .unflagged
        case "UNSEEN": return .unseen
        case "BCC": return .bcc(try searchString(&r))
        case "CC": return .cc(try searchString(&r))
        case "FROM": return .from(try searchString(&r))
        case "TO": return .to(try searchString(&r))
        case "SUBJECT": return .subject(try searchString(&r))
        case "BODY": return .body(try searchString(&r))
        case "TEXT": return .text(try searchString(&r))
        case "BEFORE": try r.sp(); return .before(try r.date())
        case "ON": try r.sp(); return .on(try r.date())
        case "SINCE": try r.sp(); return .since(try r.date())
        case "SENTBEFORE": try r.sp(); return .sentBefore(try r.date())
        case "SENTON": try r.sp(); return .sentOn(try r.date())
        case "SENTSINCE": try r.sp(); return .sentSince(try r.date())
        case "HEADER":
            let field = try searchString(&r)
            return .header(name: field, value: try searchString(&r))
        case "KEYWORD": try r.sp(); return .keyword(try r.atom())
        case "UNKEYWORD": try r.sp(); return .unkeyword(try r.atom())
        case "LARGER": try r.sp(); return .larger(Int(clamping: try r.number()))
        case "SMALLER": try r.sp(); return .smaller(Int(clamping: try r.number()))
        case "NOT": try r.sp(); return .not(try searchKey(&r))
        case "OR":
            try r.sp()
            let a = try searchKey(&r)
            try r.sp()
            return .or(a, try searchKey(&r))
        case "UID": try r.sp(); return .uid(try r.sequenceSet())
        case "MODSEQ":
            try r.sp()
            if r.peek() == UInt8(ascii: "\"") {
                _ = try r.quoted()  // entry name, ignored
                try r.sp()
                let type = try r.word()
                guard ["PRIV", "SHARED", "ALL"].contains(type) else { throw ParseFailure("Invalid MODSEQ entry type") }
                try r.sp()
            }
            return .modSeq(try r.number())
        case "SAVEDBEFORE": try r.sp(); return .savedBefore(try r.date())
        case "SAVEDON": try r.sp(); return .savedOn(try r.date())
        case "SAVEDSINCE": try r.sp(); return .savedSince(try r.date())
        case "SAVEDATESUPPORTED": return .saveDateSupported
        case "EMAILID": try r.sp(); return .emailID(try objectID(&r))
        case "THREADID": try r.sp(); return .threadID(try objectID(&r))
        case "YOUNGER": try r.sp(); return .younger(Int(try r.nzNumber32()))
        case "OLDER": try r.sp(); return .older(Int(try r.nzNumber32()))
        default: throw ParseFailure("Unknown search key \(name)")
        }
    }

    /// RFC 8474 `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`.
    static func objectID(_ r: inout CommandReader) throws(ParseFailure) -> String {
        let start = r.pos
        while let c = r.peek(), (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") {
            r.pos += 1
        }
        guard r.pos > start, r.pos - start <= 255 else { throw ParseFailure("Expected an object id") }
        return String(decoding: r.bytes[start..<r.pos], as: UTF8.self)
    }

    // MARK: FETCH

    static func parseFetch(_ r: inout CommandReader, uid: Bool) throws(ParseFailure) -> IMAPCommand.Kind {
        try r.argument("sequence set")
        let set = try r.sequenceSet()
        try r.sp()
        var attributes: [FetchAttribute] = []
        if r.take(UInt8(ascii: "(")) {
            repeat { try r.countItem(); attributes += try fetchAttribute(&r) } while r.take(32)
            try r.expect(UInt8(ascii: ")"), ")")
        } else {
            attributes = try fetchAttribute(&r)
        }
        // fetch-modifier = "CHANGEDSINCE" SP mod-sequence-value / "VANISHED" (RFC 7162 §3.1.4.1, §3.2.6)
        var changedSince: UInt64?
        var vanished = false
        if r.take(32) {
            try r.expect(UInt8(ascii: "("), "(")
            repeat {
                if changedSince == nil, r.takeWord("CHANGEDSINCE ") {
                    changedSince = try r.number()
                } else if !vanished, r.takeWord("VANISHED") {
                    vanished = true
                } else {
                    throw ParseFailure("Unsupported FETCH modifier")
                }
            } while r.take(32)
            try r.expect(UInt8(ascii: ")"), ")")
        }
        if vanished && !uid { throw ParseFailure("VANISHED needs UID FETCH") }
        if vanished && changedSince == nil { throw ParseFailure("VANISHED needs CHANGEDSINCE") }
        return .fetch(set, attributes, uid: uid, changedSince: changedSince, vanished: vanished)
    }

    static func fetchAttribute(_ r: inout CommandReader) throws(ParseFailure) -> [FetchAttribute] {
        let name = try r.word()
        switch name {
        case "ALL": return [.flags, .internalDate, .rfc822Size, .envelope]
        case "FAST": return [.flags, .internalDate, .rfc822Size]
        case "FULL": return [.flags, .internalDate, .rfc822Size, .envelope, .body]
        case "ENVELOPE": return [.envelope]
        case "FLAGS": return [.flags]
        case "INTERNALDATE": return [.internalDate]
        case "RFC822": return [.rfc822]
        case "RFC822.HEADER": return [.rfc822Header]
        case "RFC822.SIZE": return [.rfc822Size]
        case "RFC822.TEXT": return [.rfc822Text]
        case "UID": return [.uid]
        case "BODYSTRUCTURE": return [.bodyStructure]
        case "MODSEQ": return [.modSeq]
        case "SAVEDATE": return [.saveDate]
        case "EMAILID": return [.emailID]
        case "THREADID": return [.threadID]
        case "PREVIEW":
            // RFC 8970: `PREVIEW [SP "(" preview-mod *(SP preview-mod) ")"]`, preview-mod = "LAZY".
            // (A bare PREVIEW may be followed by the FETCH modifiers' list: only "(LAZY" is its own.)
            guard r.takeWord(" (LAZY") else { return [.preview(lazy: false)] }
            try r.expect(UInt8(ascii: ")"), ")")
            return [.preview(lazy: true)]
        case "BODY", "BODY.PEEK":
            guard r.take(UInt8(ascii: "[")) else {
                guard name == "BODY" else { throw ParseFailure("BODY.PEEK needs a section") }
                return [.body]
            }
            let section = try sectionSpec(&r)
            try r.expect(UInt8(ascii: "]"), "]")
            return [.bodySection(section: section, partial: try partial(&r), peek: name == "BODY.PEEK")]
        case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
            try r.expect(UInt8(ascii: "["), "[")
            let part = try sectionPart(&r, allowTrailingDot: false)
            try r.expect(UInt8(ascii: "]"), "]")
            if name == "BINARY.SIZE" { return [.binarySize(part: part)] }
            return [.binary(part: part, partial: try partial(&r), peek: name == "BINARY.PEEK")]
        default:
            throw ParseFailure("Unknown FETCH item \(name)")
        }
    }

    static func sectionPart(_ r: inout CommandReader, allowTrailingDot: Bool) throws(ParseFailure) -> [Int] {
        var part: [Int] = []
        while let c = r.peek(), c >= 48, c <= 57 {
            try r.countItem()
            part.append(Int(try r.nzNumber32()))
            guard r.peek() == UInt8(ascii: ".") else { break }
            guard let next = r.peek(1) else { throw ParseFailure("Invalid section") }
            if next >= 48 && next <= 57 { r.pos += 1; continue }
            guard allowTrailingDot else { throw ParseFailure("Invalid section") }
            r.pos += 1
            break
        }
        guard part.count <= 64 else { throw ParseFailure("Section too deep") }
        return part
    }

    static func sectionSpec(_ r: inout CommandReader) throws(ParseFailure) -> IMAPSection {
        let part = try sectionPart(&r, allowTrailingDot: true)
        if r.peek() == UInt8(ascii: "]") {
            if !part.isEmpty, r.bytes[r.pos - 1] == UInt8(ascii: ".") { throw ParseFailure("Invalid section") }
            return IMAPSection(part: part, kind: .full)
        }
        if !part.isEmpty, r.bytes[r.pos - 1] != UInt8(ascii: ".") { throw ParseFailure("Invalid section") }
        let text = try r.word()
        switch text {
        case "HEADER": return IMAPSection(part: part, kind: .header)
        case "TEXT": return IMAPSection(part: part, kind: .text)
        case "MIME":
            guard !part.isEmpty else { throw ParseFailure("MIME needs a part number") }
            return IMAPSection(part: part, kind: .mime)
        case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
            try r.sp()
            try r.expect(UInt8(ascii: "("), "(")
            var names: [String] = []
            repeat {
                try r.countItem()
                names.append(try r.astringText())
            } while r.take(32)
            try r.expect(UInt8(ascii: ")"), ")")
            return IMAPSection(part: part, kind: text == "HEADER.FIELDS" ? .headerFields(names) : .headerFieldsNot(names))
        default:
            throw ParseFailure("Invalid section \(text)")
        }
    }

    static func partial(_ r: inout CommandReader) throws(ParseFailure) -> FetchAttribute.Partial? {
        guard r.take(UInt8(ascii: "<")) else { return nil }
        let offset = try r.number32()
        try r.expect(UInt8(ascii: "."), ".")
        let length = try r.nzNumber32()
        try r.expect(UInt8(ascii: ">"), ">")
        return FetchAttribute.Partial(offset: Int(offset), length: Int(length))
    }

    // MARK: STORE

    static func parseStore(_ r: inout CommandReader, uid: Bool) throws(ParseFailure) -> IMAPCommand.Kind {
        try r.argument("sequence set")
        let set = try r.sequenceSet()
        try r.sp()
        var unchangedSince: UInt64?
        if r.take(UInt8(ascii: "(")) {
            guard r.takeWord("UNCHANGEDSINCE ") else { throw ParseFailure("Unsupported STORE modifier") }
            unchangedSince = try r.number()
            try r.expect(UInt8(ascii: ")"), ")")
            try r.sp()
        }
        let operation: StoreData.Operation
        if r.take(UInt8(ascii: "+")) { operation = .add } else if r.take(UInt8(ascii: "-")) { operation = .remove } else { operation = .replace }
        let item = try r.word()
        guard item == "FLAGS" || item == "FLAGS.SILENT" else { throw ParseFailure("Expected FLAGS, +FLAGS or -FLAGS") }
        try r.sp()
        var flags: [IMAPFlag] = []
        if r.peek() == UInt8(ascii: "(") {
            flags = try r.storableFlagList()
        } else {
            repeat { try r.countItem(); flags.append(try r.storableFlag()) } while r.take(32)
        }
        return .store(set, StoreData(operation: operation, silent: item == "FLAGS.SILENT", flags: flags, unchangedSince: unchangedSince), uid: uid)
    }
}
