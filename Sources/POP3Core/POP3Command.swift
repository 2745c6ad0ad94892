/// A POP3 command (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH).
public enum POP3Command: Sendable, Equatable {
    case user(String)
    /// The rest of the line after `PASS `: passwords may contain spaces.
    case pass(String)
    case apop(name: String, digest: String)
    /// `AUTH` alone lists the mechanisms (a de facto extension clients such as Outlook use).
    case auth(mechanism: String?, initialResponse: String?)
    case stls
    case capa
    case quit
    case stat
    case list(Int?)
    case retr(Int)
    case dele(Int)
    case noop
    case rset
    case top(Int, lines: Int)
    case uidl(Int?)

    /// The keyword, upper case, for logs.
    public var keyword: String {
        switch self {
        case .user: "USER"
        case .pass: "PASS"
        case .apop: "APOP"
        case .auth: "AUTH"
        case .stls: "STLS"
        case .capa: "CAPA"
        case .quit: "QUIT"
        case .stat: "STAT"
        case .list: "LIST"
        case .retr: "RETR"
        case .dele: "DELE"
        case .noop: "NOOP"
        case .rset: "RSET"
        case .top: "TOP"
        case .uidl: "UIDL"
        }
    }
}

/// Why a command line was refused; `message` is the text for `-ERR`.
public struct POP3ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Parses one command line (without its line ending). Keywords are case-insensitive; arguments
/// are separated by spaces. Never traps: anything malformed is a `POP3ParseError`.
public enum POP3CommandParser {
    public static func parse(_ line: [UInt8], limits: POP3Limits = POP3Limits()) -> Result<POP3Command, POP3ParseError> {
        guard line.count < limits.maxLineLength else { return .failure(.init("Line too long")) }
        guard !line.contains(0) else { return .failure(.init("NUL in command")) }
        guard let text = String(validating: line, as: UTF8.self) else { return .failure(.init("Command is not valid UTF-8")) }
        let keywordEnd = text.firstIndex(of: " ") ?? text.endIndex
        let keyword = text[..<keywordEnd].uppercased()
        let rest = keywordEnd < text.endIndex ? String(text[text.index(after: keywordEnd)...]) : ""
        let args = rest.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if let long = args.first(where: { $0.utf8.count > limits.maxArgumentLength }) {
            _ = long
            return .failure(.init("Argument too long"))
        }

        func none(_ command: POP3Command) -> Result<POP3Command, POP3ParseError> {
            args.isEmpty ? .success(command) : .failure(.init("\(keyword) takes no arguments"))
        }
        func number(_ s: String, allowZero: Bool = false) -> Int? {
            guard !s.isEmpty, s.utf8.count <= 10, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let n = Int(s), n <= limits.maxNumber, allowZero || n > 0 else { return nil }
            return n
        }
        func optionalNumber(_ make: (Int?) -> POP3Command) -> Result<POP3Command, POP3ParseError> {
            switch args.count {
            case 0: return .success(make(nil))
            case 1:
                guard let n = number(args[0]) else { return .failure(.init("Invalid message number")) }
                return .success(make(n))
            default: return .failure(.init("Too many arguments"))
            }
        }
        func oneNumber(_ make: (Int) -> POP3Command) -> Result<POP3Command, POP3ParseError> {
            guard args.count == 1 else { return .failure(.init(args.isEmpty ? "Message number required" : "Too many arguments")) }
            guard let n = number(args[0]) else { return .failure(.init("Invalid message number")) }
            return .success(make(n))
        }

        switch keyword {
        case "USER":
            guard args.count == 1 else { return .failure(.init("USER takes one argument")) }
            return .success(.user(args[0]))
        case "PASS":
            guard !rest.isEmpty else { return .failure(.init("PASS needs a password")) }
            return .success(.pass(rest))
        case "APOP":
            guard args.count == 2 else { return .failure(.init("APOP takes a name and a digest")) }
            return .success(.apop(name: args[0], digest: args[1]))
        case "AUTH":
            switch args.count {
            case 0: return .success(.auth(mechanism: nil, initialResponse: nil))
            case 1: return .success(.auth(mechanism: args[0].uppercased(), initialResponse: nil))
            case 2: return .success(.auth(mechanism: args[0].uppercased(), initialResponse: args[1]))
            default: return .failure(.init("Too many arguments"))
            }
        case "STLS": return none(.stls)
        case "CAPA": return none(.capa)
        case "QUIT": return none(.quit)
        case "STAT": return none(.stat)
        case "NOOP": return none(.noop)
        case "RSET": return none(.rset)
        case "LIST": return optionalNumber { .list($0) }
        case "UIDL": return optionalNumber { .uidl($0) }
        case "RETR": return oneNumber { .retr($0) }
        case "DELE": return oneNumber { .dele($0) }
        case "TOP":
            guard args.count == 2 else { return .failure(.init("TOP takes a message number and a line count")) }
            guard let n = number(args[0]) else { return .failure(.init("Invalid message number")) }
            guard let lines = number(args[1], allowZero: true) else { return .failure(.init("Invalid line count")) }
            return .success(.top(n, lines: lines))
        case "":
            return .failure(.init("Empty command"))
        default:
            return .failure(.init("Unknown command"))
        }
    }
}
