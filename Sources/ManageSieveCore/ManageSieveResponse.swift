/// ManageSieve responses (RFC 5804 §1.2–1.4, §4): `OK`/`NO`/`BYE` with an optional response
/// code and human text, capability lines, script lists and literals. Text is a quoted string when
/// it can be one, else a literal (multi-line diagnostics), as Dovecot sends it.
public enum ManageSieveResponse {
    public enum Status: String, Sendable {
        case ok = "OK", no = "NO", bye = "BYE"
    }

    /// Response codes (RFC 5804 §1.3; `QUOTA/MAXSTORAGE` is Pigeonhole's, a `QUOTA` to clients
    /// that do not know it).
    public enum Code: Sendable, Equatable {
        case authTooWeak
        case encryptNeeded
        case quota
        case quotaMaxScripts
        case quotaMaxSize
        case quotaMaxStorage
        case active
        case nonexistent
        case alreadyExists
        case tryLater
        case warnings
        /// `TAG string`: NOOP's tag (§2.13).
        case tag([UInt8])
        /// `SASL string`: the server's last SASL data on success (§2.1).
        case sasl([UInt8])

        func encode(into out: inout [UInt8]) {
            switch self {
            case .authTooWeak: out += Array("AUTH-TOO-WEAK".utf8)
            case .encryptNeeded: out += Array("ENCRYPT-NEEDED".utf8)
            case .quota: out += Array("QUOTA".utf8)
            case .quotaMaxScripts: out += Array("QUOTA/MAXSCRIPTS".utf8)
            case .quotaMaxSize: out += Array("QUOTA/MAXSIZE".utf8)
            case .quotaMaxStorage: out += Array("QUOTA/MAXSTORAGE".utf8)
            case .active: out += Array("ACTIVE".utf8)
            case .nonexistent: out += Array("NONEXISTENT".utf8)
            case .alreadyExists: out += Array("ALREADYEXISTS".utf8)
            case .tryLater: out += Array("TRYLATER".utf8)
            case .warnings: out += Array("WARNINGS".utf8)
            case .tag(let tag):
                out += Array("TAG ".utf8)
                ManageSieveResponse.string(tag, into: &out)
            case .sasl(let data):
                out += Array("SASL ".utf8)
                ManageSieveResponse.string(data, into: &out)
            }
        }
    }

    /// `OK|NO|BYE [(CODE)] [text]` CRLF.
    public static func status(_ status: Status, code: Code? = nil, text: String, into out: inout [UInt8]) {
        out += Array(status.rawValue.utf8)
        if let code {
            out += Array(" (".utf8)
            code.encode(into: &out)
            out.append(UInt8(ascii: ")"))
        }
        if !text.isEmpty {
            out.append(32)
            string(Array(text.utf8), into: &out)
        }
        out += crlf
    }

    /// A string: quoted when it has no CR, LF or NUL and is short, else a literal `{n}` CRLF bytes.
    public static func string(_ bytes: [UInt8], into out: inout [UInt8]) {
        if bytes.count <= 1024, !bytes.contains(where: { $0 == 0 || $0 == 10 || $0 == 13 }) {
            out.append(UInt8(ascii: "\""))
            for b in bytes {
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(b)
            }
            out.append(UInt8(ascii: "\""))
        } else {
            literal(bytes, into: &out)
        }
    }

    /// `{n}` CRLF and the bytes (no CRLF after them: the caller ends the line).
    public static func literal(_ bytes: [UInt8], into out: inout [UInt8]) {
        out += Array("{\(bytes.count)}".utf8)
        out += crlf
        out += bytes
    }

    /// A capability line: `"NAME"` or `"NAME" "value"` CRLF.
    public static func capability(_ name: String, _ value: String?, into out: inout [UInt8]) {
        string(Array(name.utf8), into: &out)
        if let value {
            out.append(32)
            string(Array(value.utf8), into: &out)
        }
        out += crlf
    }

    /// A LISTSCRIPTS line: `"name"` or `"name" ACTIVE` CRLF.
    public static func scriptListEntry(_ name: String, active: Bool, into out: inout [UInt8]) {
        string(Array(name.utf8), into: &out)
        if active { out += Array(" ACTIVE".utf8) }
        out += crlf
    }

    /// GETSCRIPT's data: the script as a literal, then CRLF (the `OK` follows).
    public static func script(_ bytes: [UInt8], into out: inout [UInt8]) {
        literal(bytes, into: &out)
        out += crlf
    }

    /// A SASL challenge (§2.1): a string CRLF (`""` for an empty one).
    public static func challenge(_ base64: [UInt8], into out: inout [UInt8]) {
        string(base64, into: &out)
        out += crlf
    }

    static let crlf: [UInt8] = [13, 10]
}
