import Foundation
import NIOCore

/// A command that could not be parsed: answer `tag BAD message` (untagged `* BAD` without a tag).
public struct IMAPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var tag: String?
    public var message: String
    public init(tag: String?, message: String) { self.tag = tag; self.message = message }
    public var description: String { message }
}

/// Parses one framed command (RFC 3501 §9 grammar and the announced extensions). Pure.
///
/// The grammar is followed strictly (single spaces, no trailing garbage), with these tolerances:
/// a bare LF after a literal marker (the framer accepts LF line ends), 8-bit bytes inside quoted
/// strings (RFC 6855 / RFC 9051), and a day of one digit in an APPEND date-time.
public enum IMAPCommandParser {
    /// Parses a `.command` frame's bytes.
    public static func parse(_ command: ByteBuffer, limits: IMAPLimits = IMAPLimits()) -> Result<IMAPCommand, IMAPParseError> {
        var c = IMAPCursor(Array(command.readableBytesView), limits: limits)
        if c.bytes.isEmpty { return .failure(IMAPParseError(tag: nil, message: "Empty command line")) }
        let tag: String
        do { tag = try c.tag() } catch { return .failure(IMAPParseError(tag: nil, message: "Invalid tag")) }
        guard c.peek == IMAPChar.space else {
            return .failure(IMAPParseError(tag: c.atEnd ? tag : nil, message: c.atEnd ? "Missing command" : "Invalid tag"))
        }
        c.pos += 1
        do throws(ParseFailure) {
            let kind = try c.command()
            guard c.atEnd else { throw ParseFailure("Unexpected characters after the command") }
            return .success(IMAPCommand(tag: tag, kind: kind))
        } catch {
            return .failure(IMAPParseError(tag: tag, message: error.message))
        }
    }

    /// Parses an `.appendBegin` frame's bytes (`tag APPEND mailbox [flags] [date] {n}`).
    public static func parseAppendHeader(_ prefix: ByteBuffer, literalSize: Int, limits: IMAPLimits = IMAPLimits()) -> Result<AppendHeader, IMAPParseError> {
        var c = IMAPCursor(Array(prefix.readableBytesView), limits: limits)
        let tag: String
        do {
            tag = try c.tag()
            try c.space()
        } catch { return .failure(IMAPParseError(tag: nil, message: "Invalid tag")) }
        do throws(ParseFailure) {
            guard c.skipKeyword("APPEND") else { throw ParseFailure("Not an APPEND command") }
            try c.space("Missing mailbox name")
            let mailbox = try c.mailbox()
            try c.space("Missing message literal")
            var flags: [IMAPFlag] = []
            if c.peek == IMAPChar.openParen {
                flags = try c.flagList()
                try c.space("Missing message literal")
            }
            var date: Date?
            if c.peek == IMAPChar.dquote {
                date = try c.dateTime()
                try c.space("Missing message literal")
            }
            let marker = try c.literalMarker(allowBinary: true)
            guard c.atEnd else { throw ParseFailure("Unexpected characters after the message literal") }
            guard marker.size == literalSize else { throw ParseFailure("Literal size mismatch") }
            return .success(AppendHeader(tag: tag, mailbox: mailbox, flags: flags, internalDate: date,
                                         literalSize: literalSize, synchronizing: marker.sync, binary: marker.binary))
        } catch {
            return .failure(IMAPParseError(tag: tag, message: error.message))
        }
    }

    /// The tag at the start of a line, if it is a valid tag (for BAD replies to unparsable lines).
    public static func tag(of line: ByteBuffer) -> String? {
        let view = line.readableBytesView
        var end = view.startIndex
        while end < view.endIndex, IMAPChar.isTagChar(view[end]) { end += 1 }
        guard end > view.startIndex, end == view.endIndex || view[end] == IMAPChar.space else { return nil }
        return String(decoding: view[view.startIndex ..< end], as: UTF8.self)
    }

    /// The tag of raw bytes (framer use).
    static func tag(ofBytes line: some Collection<UInt8>) -> String? {
        var t: [UInt8] = []
        for b in line {
            if b == IMAPChar.space || b == IMAPChar.cr || b == IMAPChar.lf { break }
            guard IMAPChar.isTagChar(b), t.count < 64 else { return nil }
            t.append(b)
        }
        return t.isEmpty ? nil : String(decoding: t, as: UTF8.self)
    }
}

extension IMAPCursor {
    /// `command` after `tag SP`.
    mutating func command() throws(ParseFailure) -> IMAPCommand.Kind {
        let nameBytes = take(while: IMAPChar.isAtomChar)
        guard !nameBytes.isEmpty else { throw ParseFailure("Missing command") }
        let name = String(decoding: nameBytes, as: UTF8.self).uppercased()
        switch name {
        case "CAPABILITY": return .capability
        case "NOOP": return .noop
        case "LOGOUT": return .logout
        case "STARTTLS": return .startTLS
        case "IDLE": return .idle
        case "NAMESPACE": return .namespace
        case "CHECK": return .check
        case "CLOSE": return .close
        case "UNSELECT": return .unselect
        case "EXPUNGE": return .expunge
        case "ID": return try idCommand()
        case "AUTHENTICATE": return try authenticate()
        case "LOGIN":
            try space("Missing user name")
            let user = try astringText("Missing user name")
            try space("Missing password")
            let password = try astringText("Missing password")
            return .login(user: user, password: password)
        case "ENABLE":
            var caps: [String] = []
            try space("Missing capability")
            repeat {
                try countItem()
                caps.append(try atom("Invalid capability").uppercased())
            } while optionalSpace()
            return .enable(caps)
        case "SELECT", "EXAMINE":
            try space("Missing mailbox name")
            let mailbox = try mailbox()
            var condStore = false
            if optionalSpace() {
                try expect(IMAPChar.openParen, "Invalid SELECT parameters")
                repeat {
                    let p = try atom("Invalid SELECT parameter").uppercased()
                    guard p == "CONDSTORE" else { throw ParseFailure("Unsupported SELECT parameter \(Self.printable(p))") }
                    condStore = true
                } while optionalSpace()
                try expect(IMAPChar.closeParen, "Invalid SELECT parameters")
            }
            return name == "SELECT" ? .select(mailbox: mailbox, condStore: condStore) : .examine(mailbox: mailbox, condStore: condStore)
        case "CREATE":
            try space("Missing mailbox name")
            let mailbox = try mailbox()
            var uses: [String] = []
            if optionalSpace() {
                try expect(IMAPChar.openParen, "Invalid CREATE parameters")
                repeat {
                    guard skipKeyword("USE") else { throw ParseFailure("Unsupported CREATE parameter") }
                    try space()
                    try expect(IMAPChar.openParen, "Invalid USE attributes")
                    if !skip(IMAPChar.closeParen) {
                        repeat {
                            try expect(IMAPChar.backslash, "Invalid USE attribute")
                            try countItem()
                            uses.append("\\" + (try atom("Invalid USE attribute")))
                        } while optionalSpace()
                        try expect(IMAPChar.closeParen, "Invalid USE attributes")
                    }
                } while optionalSpace()
                try expect(IMAPChar.closeParen, "Invalid CREATE parameters")
            }
            return .create(mailbox: mailbox, specialUse: uses)
        case "DELETE":
            try space("Missing mailbox name")
            return .delete(mailbox: try mailbox())
        case "RENAME":
            try space("Missing mailbox name")
            let from = try mailbox()
            try space("Missing new mailbox name")
            return .rename(from: from, to: try mailbox("Missing new mailbox name"))
        case "SUBSCRIBE":
            try space("Missing mailbox name")
            return .subscribe(mailbox: try mailbox())
        case "UNSUBSCRIBE":
            try space("Missing mailbox name")
            return .unsubscribe(mailbox: try mailbox())
        case "LIST": return .list(try listCommand())
        case "LSUB":
            try space("Missing reference")
            let reference = try mailbox("Missing reference")
            try space("Missing mailbox pattern")
            return .lsub(reference: reference, pattern: try listMailbox())
        case "STATUS":
            try space("Missing mailbox name")
            let mailbox = try mailbox()
            try space("Missing status attributes")
            return .status(mailbox: mailbox, attributes: try statusAttributes())
        case "GETQUOTA":
            try space("Missing quota root")
            return .getQuota(root: try astringText("Missing quota root"))
        case "GETQUOTAROOT":
            try space("Missing mailbox name")
            return .getQuotaRoot(mailbox: try mailbox())
        case "SETQUOTA":
            try space("Missing quota root")
            let root = try astringText("Missing quota root")
            try space("Missing quota limits")
            try expect(IMAPChar.openParen, "Missing quota limits")
            var limits: [QuotaLimit] = []
            if !skip(IMAPChar.closeParen) {
                repeat {
                    try countItem()
                    let resource = try atom("Invalid quota resource").uppercased()
                    try space()
                    limits.append(QuotaLimit(resource: resource, limit: try number64("Invalid quota limit")))
                } while optionalSpace()
                try expect(IMAPChar.closeParen, "Invalid quota limits")
            }
            return .setQuota(root: root, limits: limits)
        case "SEARCH": return try searchCommand(uid: false)
        case "FETCH": return try fetchCommand(uid: false)
        case "STORE": return try storeCommand(uid: false)
        case "COPY", "MOVE": return try copyOrMove(name, uid: false)
        case "UID": return try uidCommand()
        case "APPEND": throw ParseFailure("APPEND needs a message literal")
        default:
            throw ParseFailure("Unknown command \(Self.printable(name))")
        }
    }

    /// Up to 32 printable characters of a client-supplied word, for error messages.
    static func printable(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.prefix(32).filter { $0.value >= 0x20 && $0.value < 0x7F }))
    }

    mutating func uidCommand() throws(ParseFailure) -> IMAPCommand.Kind {
        try space("Missing command after UID")
        let name = try atom("Missing command after UID").uppercased()
        switch name {
        case "SEARCH": return try searchCommand(uid: true)
        case "FETCH": return try fetchCommand(uid: true)
        case "STORE": return try storeCommand(uid: true)
        case "COPY", "MOVE": return try copyOrMove(name, uid: true)
        case "EXPUNGE":
            try space("Missing UID set")
            return .uidExpunge(try sequenceSet())
        default: throw ParseFailure("Unknown command UID \(Self.printable(name))")
        }
    }

    mutating func copyOrMove(_ name: String, uid: Bool) throws(ParseFailure) -> IMAPCommand.Kind {
        try space("Missing sequence set")
        let set = try sequenceSet()
        try space("Missing mailbox name")
        let mailbox = try mailbox()
        return name == "COPY" ? .copy(set, mailbox: mailbox, uid: uid) : .move(set, mailbox: mailbox, uid: uid)
    }

    /// `id = "ID" SP id-params-list`; `id-params-list = "(" *(string SP nstring) ")" / nil`.
    mutating func idCommand() throws(ParseFailure) -> IMAPCommand.Kind {
        try space("Missing ID parameters")
        if skipKeyword("NIL") { return .id(nil) }
        try expect(IMAPChar.openParen, "Invalid ID parameters")
        var fields: [IMAPCommand.IDField] = []
        if skip(IMAPChar.closeParen) { return .id(fields) }
        repeat {
            try countItem()
            let key = String(decoding: try string(), as: UTF8.self)
            try space()
            let value = try nstring().map { String(decoding: $0, as: UTF8.self) }
            fields.append(IMAPCommand.IDField(key: key, value: value))
        } while optionalSpace()
        try expect(IMAPChar.closeParen, "Invalid ID parameters")
        return .id(fields)
    }

    /// `authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]` (RFC 4959). The mechanism is
    /// upper-cased; the initial response "=" (empty) comes out as "".
    mutating func authenticate() throws(ParseFailure) -> IMAPCommand.Kind {
        try space("Missing authentication mechanism")
        let mechanism = try atom("Missing authentication mechanism").uppercased()
        guard optionalSpace() else { return .authenticate(mechanism: mechanism, initialResponse: nil) }
        if peek == 0x3D, pos + 1 == bytes.count { pos += 1; return .authenticate(mechanism: mechanism, initialResponse: "") }
        let b64 = take { IMAPChar.isAlpha($0) || IMAPChar.isDigit($0) || $0 == 0x2B || $0 == 0x2F || $0 == 0x3D }
        guard !b64.isEmpty, atEnd else { throw ParseFailure("Invalid initial response") }
        return .authenticate(mechanism: mechanism, initialResponse: String(decoding: b64, as: UTF8.self))
    }

    /// `status-att-list = status-att *(SP status-att)` in parentheses.
    mutating func statusAttributes() throws(ParseFailure) -> [StatusAttribute] {
        try expect(IMAPChar.openParen, "Missing status attributes")
        var out: [StatusAttribute] = []
        repeat {
            try countItem()
            let a = try atom("Invalid status attribute").uppercased()
            guard let att = StatusAttribute(rawValue: a) else { throw ParseFailure("Unknown status attribute \(Self.printable(a))") }
            out.append(att)
        } while optionalSpace()
        try expect(IMAPChar.closeParen, "Invalid status attributes")
        return out
    }

    /// `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]` (RFC 5258).
    mutating func listCommand() throws(ParseFailure) -> ListCommand {
        try space("Missing reference")
        var selectOptions: [String] = []
        if skip(IMAPChar.openParen) {
            if !skip(IMAPChar.closeParen) {
                repeat {
                    try countItem()
                    selectOptions.append(try atom("Invalid LIST selection option").uppercased())
                } while optionalSpace()
                try expect(IMAPChar.closeParen, "Invalid LIST selection options")
            }
            try space("Missing reference")
        }
        let reference = try mailbox("Missing reference")
        try space("Missing mailbox pattern")
        var patterns: [String] = []
        if skip(IMAPChar.openParen) {
            repeat {
                try countItem()
                patterns.append(try listMailbox())
            } while optionalSpace()
            try expect(IMAPChar.closeParen, "Invalid mailbox patterns")
        } else {
            patterns.append(try listMailbox())
        }
        var returnOptions: [String] = []
        var returnStatus: [StatusAttribute]?
        if optionalSpace() {
            guard skipKeyword("RETURN") else { throw ParseFailure("Expected RETURN") }
            try space()
            try expect(IMAPChar.openParen, "Invalid LIST return options")
            if !skip(IMAPChar.closeParen) {
                repeat {
                    try countItem()
                    let o = try atom("Invalid LIST return option").uppercased()
                    if o == "STATUS" {
                        try space("Missing status attributes")
                        returnStatus = try statusAttributes()
                    } else {
                        returnOptions.append(o)
                    }
                } while optionalSpace()
                try expect(IMAPChar.closeParen, "Invalid LIST return options")
            }
        }
        return ListCommand(reference: reference, patterns: patterns, selectOptions: selectOptions,
                           returnOptions: returnOptions, returnStatus: returnStatus)
    }

    /// `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags` (RFC 3501, RFC 7162).
    mutating func storeCommand(uid: Bool) throws(ParseFailure) -> IMAPCommand.Kind {
        try space("Missing sequence set")
        let set = try sequenceSet()
        try space("Missing STORE data")
        var unchangedSince: UInt64?
        if skip(IMAPChar.openParen) {
            repeat {
                guard skipKeyword("UNCHANGEDSINCE") else { throw ParseFailure("Unsupported STORE modifier") }
                try space()
                unchangedSince = try number64("Invalid UNCHANGEDSINCE value")
            } while optionalSpace()
            try expect(IMAPChar.closeParen, "Invalid STORE modifiers")
            try space("Missing STORE data")
        }
        let operation: StoreData.Operation
        if skip(0x2B) { operation = .add } else if skip(0x2D) { operation = .remove } else { operation = .replace }
        let item = word()
        let silent: Bool
        switch item {
        case "FLAGS": silent = false
        case "FLAGS.SILENT": silent = true
        default: throw ParseFailure("Invalid STORE data item")
        }
        try space("Missing flags")
        var flags: [IMAPFlag]
        if peek == IMAPChar.openParen {
            flags = try flagList()
        } else {
            flags = []
            repeat { flags.append(try storeFlag()) } while optionalSpace()
        }
        return .store(set, StoreData(operation: operation, silent: silent, flags: flags, unchangedSince: unchangedSince), uid: uid)
    }
}
