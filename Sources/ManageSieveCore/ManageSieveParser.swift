/// Parses one framed command (RFC 5804 §4) into a `ManageSieveCommand`. Pure and total: any
/// input gives a command or a `ManageSieveParseError`, never a trap.
///
///     command     = verb *(SP argument) CRLF
///     argument    = atom / string            ; a number is an atom of digits
///     string      = quoted / literal
///     quoted      = DQUOTE *(SAFE-CHAR / "\" QUOTED-SPECIALS) DQUOTE
///     literal     = "{" number ["+"] "}" CRLF *OCTET
public enum ManageSieveParser {
    /// The verb and arguments of a command, before each command's rules.
    public static func tokenize(_ bytes: [UInt8], limits: ManageSieveLimits = ManageSieveLimits())
        -> Result<(verb: String, arguments: [ManageSieveArgument]), ManageSieveParseError> {
        var reader = Reader(bytes: bytes)
        let verbBytes = reader.atom()
        guard !verbBytes.isEmpty else {
            return .failure(ManageSieveParseError(verb: "", reader.atEnd ? "Empty command." : "Invalid command."))
        }
        let verb = String(decoding: verbBytes.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self)
        var arguments: [ManageSieveArgument] = []
        while !reader.atEnd {
            guard reader.skipSpaces() else { return .failure(ManageSieveParseError(verb: verb, "Invalid arguments.")) }
            if reader.atEnd { break }  // trailing spaces
            guard arguments.count < limits.maxArguments else {
                return .failure(ManageSieveParseError(verb: verb, "Too many command arguments."))
            }
            switch reader.argument() {
            case .success(let argument): arguments.append(argument)
            case .failure(let problem): return .failure(ManageSieveParseError(verb: verb, problem.message))
            }
        }
        return .success((verb, arguments))
    }

    /// Parses a command.
    public static func parse(_ bytes: [UInt8], limits: ManageSieveLimits = ManageSieveLimits()) -> Result<ManageSieveCommand, ManageSieveParseError> {
        let verb: String, args: [ManageSieveArgument]
        switch tokenize(bytes, limits: limits) {
        case .success(let t): (verb, args) = t
        case .failure(let e): return .failure(e)
        }
        func fail(_ message: String) -> Result<ManageSieveCommand, ManageSieveParseError> {
            .failure(ManageSieveParseError(verb: verb, message))
        }
        /// Exactly `count` arguments, else the reply Dovecot gives.
        func count(_ n: Int) -> ManageSieveParseError? {
            if args.count < n { return ManageSieveParseError(verb: verb, "Invalid arguments.") }
            if args.count > n { return ManageSieveParseError(verb: verb, "Too many command arguments.") }
            return nil
        }
        func string(_ i: Int) -> [UInt8]? {
            if case .string(let s) = args[i] { return s }
            return nil
        }
        /// A script name: a string of UTF-8 (its rules, RFC 5804 §1.6, are the store's to check).
        func name(_ i: Int) -> Result<String, ManageSieveParseError> {
            guard let bytes = string(i) else { return .failure(ManageSieveParseError(verb: verb, "Invalid arguments.")) }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return .failure(ManageSieveParseError(verb: verb, "Script name is not valid UTF-8."))
            }
            return .success(text)
        }
        func none(_ command: ManageSieveCommand) -> Result<ManageSieveCommand, ManageSieveParseError> {
            args.isEmpty ? .success(command) : fail("Too many command arguments.")
        }

        switch verb {
        case "AUTHENTICATE":
            guard args.count == 1 || args.count == 2 else { return fail(args.isEmpty ? "Invalid arguments." : "Too many command arguments.") }
            let mechanism: [UInt8]
            switch args[0] {
            case .string(let s): mechanism = s
            case .atom(let a): mechanism = Array(a.utf8)
            }
            guard !mechanism.isEmpty, mechanism.count <= 64, mechanism.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                return fail("Invalid authentication mechanism.")
            }
            var initial: [UInt8]?
            if args.count == 2 {
                guard let s = string(1) else { return fail("Invalid arguments.") }
                initial = s
            }
            return .success(.authenticate(mechanism: String(decoding: mechanism.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self),
                                          initialResponse: initial))
        case "STARTTLS": return none(.startTLS)
        case "LOGOUT": return none(.logout)
        case "CAPABILITY": return none(.capability)
        case "LISTSCRIPTS": return none(.listScripts)
        case "UNAUTHENTICATE": return none(.unauthenticate)
        case "NOOP":
            if args.count > 1 { return fail("Too many command arguments.") }
            if args.isEmpty { return .success(.noop(tag: nil)) }
            guard let tag = string(0) else { return fail("Invalid arguments.") }
            return .success(.noop(tag: tag))
        case "HAVESPACE":
            if let e = count(2) { return .failure(e) }
            let n: String
            switch name(0) { case .success(let s): n = s; case .failure(let e): return .failure(e) }
            guard case .atom(let digits) = args[1], let size = number(digits) else { return fail("Invalid scriptsize argument.") }
            return .success(.haveSpace(name: n, size: size))
        case "PUTSCRIPT":
            if let e = count(2) { return .failure(e) }
            let n: String
            switch name(0) { case .success(let s): n = s; case .failure(let e): return .failure(e) }
            guard let content = string(1) else { return fail("Invalid arguments.") }
            return .success(.putScript(name: n, content: content))
        case "CHECKSCRIPT":
            if let e = count(1) { return .failure(e) }
            guard let content = string(0) else { return fail("Invalid arguments.") }
            return .success(.checkScript(content: content))
        case "SETACTIVE", "GETSCRIPT", "DELETESCRIPT":
            if let e = count(1) { return .failure(e) }
            let n: String
            switch name(0) { case .success(let s): n = s; case .failure(let e): return .failure(e) }
            switch verb {
            case "SETACTIVE": return .success(.setActive(name: n))
            case "GETSCRIPT": return .success(.getScript(name: n))
            default: return .success(.deleteScript(name: n))
            }
        case "RENAMESCRIPT":
            if let e = count(2) { return .failure(e) }
            let from: String, to: String
            switch name(0) { case .success(let s): from = s; case .failure(let e): return .failure(e) }
            switch name(1) { case .success(let s): to = s; case .failure(let e): return .failure(e) }
            return .success(.renameScript(from: from, to: to))
        default:
            return fail("Unknown command.")
        }
    }

    /// A client's SASL response (RFC 5804 §2.1): one string, quoted or literal. nil: the client
    /// cancelled (`"*"`).
    public static func parseSASLResponse(_ bytes: [UInt8]) -> Result<[UInt8]?, ManageSieveParseError> {
        var reader = Reader(bytes: bytes)
        if bytes == [UInt8(ascii: "*")] { return .success(nil) }
        guard !reader.atEnd, bytes[0] == UInt8(ascii: "\"") || bytes[0] == UInt8(ascii: "{") else {
            return .failure(ManageSieveParseError(verb: "AUTHENTICATE", "Invalid SASL response (expected a string)."))
        }
        switch reader.argument() {
        case .success(.string(let s)):
            _ = reader.skipSpaces()
            guard reader.atEnd else { return .failure(ManageSieveParseError(verb: "AUTHENTICATE", "Invalid SASL response (expected one string).")) }
            return .success(s == [UInt8(ascii: "*")] ? nil : s)
        case .success(.atom):
            return .failure(ManageSieveParseError(verb: "AUTHENTICATE", "Invalid SASL response (expected a string)."))
        case .failure(let problem):
            return .failure(ManageSieveParseError(verb: "AUTHENTICATE", problem.message))
        }
    }

    /// RFC 5804 `number`: 1*DIGIT, at most 4294967296.
    static func number(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 10, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(text),
              n <= 4_294_967_296 else { return nil }
        return n
    }

    /// Reads the grammar's pieces from one command's bytes.
    /// A malformed argument: the reply's message.
    struct Problem: Error { let message: String; init(_ message: String) { self.message = message } }

    struct Reader {
        let bytes: [UInt8]
        var i = 0
        var atEnd: Bool { i >= bytes.count }

        /// ATOM-CHAR: any CHAR except atom-specials ("(" / ")" / "{" / SP / CTL / DQUOTE / "\").
        static func isAtomChar(_ b: UInt8) -> Bool {
            b > 32 && b < 127 && b != UInt8(ascii: "(") && b != UInt8(ascii: ")") && b != UInt8(ascii: "{")
                && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\")
        }

        mutating func atom() -> [UInt8] {
            let start = i
            while i < bytes.count, Self.isAtomChar(bytes[i]) { i += 1 }
            return Array(bytes[start..<i])
        }

        /// At least one space (several are tolerated); false when something else is there.
        mutating func skipSpaces() -> Bool {
            let start = i
            while i < bytes.count, bytes[i] == 32 { i += 1 }
            return i > start
        }

        mutating func argument() -> Result<ManageSieveArgument, Problem> {
            switch bytes[i] {
            case UInt8(ascii: "\""): return quoted().map { .string($0) }
            case UInt8(ascii: "{"): return literal().map { .string($0) }
            default:
                let a = atom()
                guard !a.isEmpty else { return .failure(Problem("Invalid arguments.")) }
                // An atom runs up to a space or the end; anything else glued to it is malformed.
                guard atEnd || bytes[i] == 32 else { return .failure(Problem("Invalid arguments.")) }
                return .success(.atom(String(decoding: a, as: UTF8.self)))
            }
        }

        mutating func quoted() -> Result<[UInt8], Problem> {
            i += 1
            var out: [UInt8] = []
            while i < bytes.count {
                let b = bytes[i]
                switch b {
                case UInt8(ascii: "\""):
                    i += 1
                    guard atEnd || bytes[i] == 32 else { return .failure(Problem("Invalid arguments.")) }
                    return .success(out)
                case UInt8(ascii: "\\"):
                    guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\"") || bytes[i + 1] == UInt8(ascii: "\\") else {
                        return .failure(Problem("Escaped quoted-string character is not a QUOTED-SPECIAL."))
                    }
                    out.append(bytes[i + 1])
                    i += 2
                case 0, 10, 13:
                    return .failure(Problem("Invalid character in quoted string."))
                default:
                    out.append(b)
                    i += 1
                }
            }
            return .failure(Problem("Missing '\"'."))
        }

        mutating func literal() -> Result<[UInt8], Problem> {
            i += 1
            let start = i
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
            let digits = bytes[start..<i]
            guard !digits.isEmpty, digits.count <= 10 else { return .failure(Problem("Invalid literal size.")) }
            let size = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") { i += 1 }
            guard i < bytes.count, bytes[i] == UInt8(ascii: "}") else { return .failure(Problem("Invalid literal.")) }
            i += 1
            if i < bytes.count, bytes[i] == 13 { i += 1 }
            guard i < bytes.count, bytes[i] == 10 else { return .failure(Problem("Missing line break after a literal size.")) }
            i += 1
            guard bytes.count - i >= size else { return .failure(Problem("Literal is shorter than its size.")) }
            let data = Array(bytes[i..<(i + size)])
            i += size
            guard atEnd || bytes[i] == 32 else { return .failure(Problem("Invalid arguments.")) }
            return .success(data)
        }
    }
}
