/// A ManageSieve command (RFC 5804 §2). Script names are UTF-8 text; script content and SASL
/// data are bytes as sent.
public enum ManageSieveCommand: Sendable, Equatable {
    /// `AUTHENTICATE mechanism [initial-response]` (§2.1); the mechanism upper case.
    case authenticate(mechanism: String, initialResponse: [UInt8]?)
    case startTLS
    case logout
    case capability
    case haveSpace(name: String, size: Int)
    case putScript(name: String, content: [UInt8])
    case listScripts
    /// `SETACTIVE ""` deactivates (name empty).
    case setActive(name: String)
    case getScript(name: String)
    case deleteScript(name: String)
    case renameScript(from: String, to: String)
    case checkScript(content: [UInt8])
    /// `NOOP [tag]` (§2.13): the tag comes back as `OK (TAG …)`.
    case noop(tag: [UInt8]?)
    case unauthenticate

    /// The verb, upper case, for replies and logs.
    public var verb: String {
        switch self {
        case .authenticate: "AUTHENTICATE"
        case .startTLS: "STARTTLS"
        case .logout: "LOGOUT"
        case .capability: "CAPABILITY"
        case .haveSpace: "HAVESPACE"
        case .putScript: "PUTSCRIPT"
        case .listScripts: "LISTSCRIPTS"
        case .setActive: "SETACTIVE"
        case .getScript: "GETSCRIPT"
        case .deleteScript: "DELETESCRIPT"
        case .renameScript: "RENAMESCRIPT"
        case .checkScript: "CHECKSCRIPT"
        case .noop: "NOOP"
        case .unauthenticate: "UNAUTHENTICATE"
        }
    }

    /// Whether the command is valid only after login (§2: the authenticated state).
    public var needsLogin: Bool {
        switch self {
        case .authenticate, .startTLS, .logout, .capability, .noop: false
        case .haveSpace, .putScript, .listScripts, .setActive, .getScript, .deleteScript, .renameScript, .checkScript, .unauthenticate: true
        }
    }
}

/// One argument as the grammar reads it (RFC 5804 §4): an atom (a number is an atom of digits),
/// or a string (quoted, escapes removed, or a literal).
public enum ManageSieveArgument: Sendable, Equatable {
    case atom(String)
    case string([UInt8])
}

/// Why a command was refused; `description` is the reply text, in Dovecot's words
/// (`Error in MANAGESIEVE command PUTSCRIPT: Invalid arguments.`).
public struct ManageSieveParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The verb as sent (upper case), empty when there is none.
    public var verb: String
    public var message: String
    public init(verb: String, _ message: String) { self.verb = verb; self.message = message }
    public var description: String { "Error in MANAGESIEVE command \(verb): \(message)" }
}
