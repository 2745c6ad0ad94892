/// A client command (RFC 5321 §4.1 and the extensions the server offers).
public enum SMTPCommand: Sendable, Equatable {
    case ehlo(String)
    case helo(String)
    /// `MAIL FROM:<reverse-path> [parameters]`; `from` is nil for the null reverse-path `<>`.
    case mail(from: SMTPMailbox?, parameters: [SMTPParameter])
    /// `RCPT TO:<forward-path> [parameters]`.
    case rcpt(to: SMTPMailbox, parameters: [SMTPParameter])
    case data
    /// RFC 3030 CHUNKING: `BDAT <size> [LAST]`.
    case bdat(size: Int, last: Bool)
    case rset
    case noop
    case quit
    case vrfy(String)
    case expn(String)
    case help
    case startTLS
    case auth(String)
}

/// An ESMTP parameter (`SIZE=1000`, `BODY=8BITMIME`, `SMTPUTF8`): the keyword upper-cased.
public struct SMTPParameter: Sendable, Hashable {
    public var keyword: String
    public var value: String?
    public init(_ keyword: String, _ value: String? = nil) { self.keyword = keyword.uppercased(); self.value = value }
}

/// A mailbox of a path: local part and domain as sent (a quoted local part keeps its quotes).
/// `isUTF8` when it holds non-ASCII octets (allowed only with SMTPUTF8, RFC 6531).
public struct SMTPMailbox: Sendable, Hashable, CustomStringConvertible {
    public var localPart: String
    /// The domain, or an address literal such as `[192.0.2.1]`; empty for `<postmaster>`.
    public var domain: String
    public var isUTF8: Bool

    public init(localPart: String, domain: String) {
        self.localPart = localPart; self.domain = domain
        isUTF8 = !(localPart.utf8.allSatisfy { $0 < 0x80 } && domain.utf8.allSatisfy { $0 < 0x80 })
    }

    public var description: String { domain.isEmpty ? localPart : localPart + "@" + domain }
}

/// Why a command line was refused: the reply to send.
public struct SMTPCommandError: Error, Sendable, Equatable {
    public var reply: SMTPReply
    public init(_ reply: SMTPReply) { self.reply = reply }
    static func syntax(_ text: String) -> Self { .init(SMTPReply(501, "5.5.4", text)) }
}

/// Parses one command line (without its line ending). Pure; every malformed line gives a reply.
public enum SMTPCommandParser {
    public static func parse(_ line: [UInt8]) -> Result<SMTPCommand, SMTPCommandError> {
        guard let text = String(validating: line, as: UTF8.self) else {
            return .failure(.init(SMTPReply(500, "5.5.2", "Command line is not valid UTF-8")))
        }
        if text.utf8.contains(where: { $0 == 0 || $0 == 0x0D }) {
            return .failure(.init(SMTPReply(500, "5.5.2", "Command line holds a NUL or a bare CR")))
        }
        let verbEnd = text.firstIndex(of: " ") ?? text.endIndex
        let verb = text[..<verbEnd].uppercased()
        let rest = text[verbEnd...].drop(while: { $0 == " " })
        // Trailing spaces off, on the bytes (the end after the last non-space byte is a character
        // boundary: the byte after it is a space, or there is none).
        let argument = rest.utf8.lastIndex(where: { $0 != 0x20 }).map { String(rest[..<rest.utf8.index(after: $0)]) } ?? ""
        do {
            return .success(try command(verb: verb, argument: argument))
        } catch let error as SMTPCommandError {
            return .failure(error)
        } catch {
            return .failure(.syntax("Syntax error"))
        }
    }

    static func command(verb: String, argument: String) throws -> SMTPCommand {
        func noArgument(_ c: SMTPCommand) throws -> SMTPCommand {
            guard argument.isEmpty else { throw SMTPCommandError.syntax("\(verb) takes no argument") }
            return c
        }
        switch verb {
        case "EHLO", "HELO":
            guard !argument.isEmpty, !argument.contains(" ") || argument.hasPrefix("[") else {
                throw SMTPCommandError.syntax("Syntax: \(verb) hostname")
            }
            return verb == "EHLO" ? .ehlo(argument) : .helo(argument)
        case "MAIL":
            let (path, parameters) = try pathAndParameters(argument, prefix: "FROM:", verb: "MAIL FROM:<address>")
            if path.isEmpty { return .mail(from: nil, parameters: parameters) }
            return .mail(from: try mailbox(path, allowPostmaster: false), parameters: parameters)
        case "RCPT":
            let (path, parameters) = try pathAndParameters(argument, prefix: "TO:", verb: "RCPT TO:<address>")
            guard !path.isEmpty else { throw SMTPCommandError.syntax("The null path <> is not a recipient") }
            return .rcpt(to: try mailbox(path, allowPostmaster: true), parameters: parameters)
        case "DATA": return try noArgument(.data)
        case "BDAT":
            let parts = argument.split(separator: " ")
            guard (1...2).contains(parts.count), parts[0].allSatisfy(\.isASCII), parts[0].allSatisfy(\.isNumber),
                  parts[0].count <= 12, let size = Int(parts[0]) else {
                throw SMTPCommandError.syntax("Syntax: BDAT size [LAST]")
            }
            if parts.count == 2 {
                guard parts[1].uppercased() == "LAST" else { throw SMTPCommandError.syntax("Syntax: BDAT size [LAST]") }
                return .bdat(size: size, last: true)
            }
            return .bdat(size: size, last: false)
        case "RSET": return try noArgument(.rset)
        case "NOOP": return .noop  // RFC 5321 §4.1.1.9: a parameter is allowed and ignored
        case "QUIT": return try noArgument(.quit)
        case "VRFY":
            guard !argument.isEmpty else { throw SMTPCommandError.syntax("Syntax: VRFY address") }
            return .vrfy(argument)
        case "EXPN":
            guard !argument.isEmpty else { throw SMTPCommandError.syntax("Syntax: EXPN list") }
            return .expn(argument)
        case "HELP": return .help
        case "STARTTLS": return try noArgument(.startTLS)
        case "AUTH": return .auth(argument)
        default:
            throw SMTPCommandError(SMTPReply(500, "5.5.2", "Command not recognized"))
        }
    }

    /// `FROM:<path> params` (a space after the colon is tolerated, as most servers do).
    static func pathAndParameters(_ argument: String, prefix: String, verb: String) throws -> (String, [SMTPParameter]) {
        guard argument.uppercased().hasPrefix(prefix) else { throw SMTPCommandError.syntax("Syntax: \(verb)") }
        var rest = Substring(argument.dropFirst(prefix.count)).drop(while: { $0 == " " })
        guard rest.first == "<" else { throw SMTPCommandError.syntax("Syntax: \(verb) (the address goes in angle brackets)") }
        // The path ends at the first '>' outside a quoted string.
        var inQuotes = false, escaped = false
        var close: Substring.Index?
        var i = rest.index(after: rest.startIndex)
        while i < rest.endIndex {
            let c = rest[i]
            if escaped { escaped = false } else if c == "\\" && inQuotes { escaped = true } else if c == "\"" { inQuotes.toggle() } else if c == ">" && !inQuotes { close = i; break }
            i = rest.index(after: i)
        }
        guard let close else { throw SMTPCommandError.syntax("Syntax: \(verb) (no closing '>')") }
        var path = String(rest[rest.index(after: rest.startIndex)..<close])
        rest = rest[rest.index(after: close)...]
        // A source route (`<@a,@b:user@c>`, RFC 5321 §4.1.1.3) is accepted and ignored.
        if path.hasPrefix("@"), let colon = path.firstIndex(of: ":") { path = String(path[path.index(after: colon)...]) }
        guard rest.isEmpty || rest.first == " " else { throw SMTPCommandError.syntax("Syntax: \(verb) (text after '>')") }
        var parameters: [SMTPParameter] = []
        for word in rest.split(separator: " ") {
            let pieces = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let keyword = String(pieces[0])
            guard !keyword.isEmpty, keyword.count <= 64, keyword.first!.isASCII, keyword.first!.isLetter || keyword.first!.isNumber,
                  keyword.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                throw SMTPCommandError(SMTPReply(555, "5.5.4", "Malformed parameter \(word.prefix(64))"))
            }
            if pieces.count == 2 {
                let value = String(pieces[1])
                guard !value.isEmpty, value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x3D && $0.value != 0x7F }) else {
                    throw SMTPCommandError(SMTPReply(555, "5.5.4", "Malformed value of parameter \(keyword.prefix(64))"))
                }
                parameters.append(SMTPParameter(keyword, value))
            } else {
                parameters.append(SMTPParameter(keyword))
            }
        }
        return (path, parameters)
    }

    /// `local@domain`: a dot-string or quoted-string local part, a domain or an address literal.
    static func mailbox(_ path: String, allowPostmaster: Bool) throws -> SMTPMailbox {
        if allowPostmaster && path.lowercased() == "postmaster" { return SMTPMailbox(localPart: "postmaster", domain: "") }
        guard let at = path.lastIndex(of: "@") else { throw SMTPCommandError.syntax("Address \(path.prefix(64)) has no domain") }
        let local = String(path[..<at]), domain = String(path[path.index(after: at)...])
        guard !local.isEmpty, local.utf8.count <= 64 || local.hasPrefix("\"") else {
            throw SMTPCommandError(SMTPReply(501, "5.1.3", "Bad local part in \(path.prefix(64))"))
        }
        guard local.utf8.count <= 256 else { throw SMTPCommandError(SMTPReply(501, "5.1.3", "Local part too long")) }
        if local.hasPrefix("\"") {
            guard local.count >= 2, local.hasSuffix("\""), validQuoted(local.dropFirst().dropLast()) else {
                throw SMTPCommandError(SMTPReply(501, "5.1.3", "Bad quoted local part in \(path.prefix(64))"))
            }
        } else {
            let atoms = local.split(separator: ".", omittingEmptySubsequences: false)
            guard atoms.allSatisfy({ !$0.isEmpty && $0.unicodeScalars.allSatisfy(isAtext) }) else {
                throw SMTPCommandError(SMTPReply(501, "5.1.3", "Bad local part in \(path.prefix(64))"))
            }
        }
        guard validDomain(domain) else { throw SMTPCommandError(SMTPReply(501, "5.1.2", "Bad domain in \(path.prefix(64))")) }
        return SMTPMailbox(localPart: local, domain: domain)
    }

    static func isAtext(_ s: Unicode.Scalar) -> Bool {
        if s.value >= 0x80 { return true }  // RFC 6531 UTF8-non-ascii
        if s.properties.isAlphabetic && s.isASCII { return true }
        if ("0"..."9").contains(s) { return true }
        return "!#$%&'*+-/=?^_`{|}~".unicodeScalars.contains(s)
    }

    static func validQuoted(_ body: Substring) -> Bool {
        var escaped = false
        for s in body.unicodeScalars {
            if escaped { escaped = false; guard s.value >= 0x20 && s.value != 0x7F else { return false }; continue }
            if s == "\\" { escaped = true; continue }
            if s == "\"" || s.value < 0x20 || s.value == 0x7F { return false }
        }
        return !escaped
    }

    static func validDomain(_ domain: String) -> Bool {
        guard !domain.isEmpty, domain.utf8.count <= 255 else { return false }
        if domain.hasPrefix("[") {
            guard domain.hasSuffix("]"), domain.count > 2 else { return false }
            return domain.dropFirst().dropLast().unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && $0 != "[" && $0 != "]" && $0 != "\\" }
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { $0.value >= 0x80 || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")) }
        }
    }
}
