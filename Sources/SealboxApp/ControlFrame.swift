import Foundation

/// One frame of the control socket's protocol (`<data-dir>/control.sock`): a command line of the
/// CLI runs inside `serve`, its output and questions go back to the client that asked.
///
/// On the wire: one byte of kind, four bytes of payload length (big-endian), the payload.
/// ```
/// client → node   request      JSON ControlRequest (first frame, once)
/// node → client   stdout       bytes for the client's standard output
/// node → client   stderr       bytes for the client's standard error
/// node → client   askSecret    JSON ControlSecretQuestion: the client answers from its
///                              environment variable, else its terminal (no echo)
/// client → node   secret       0x01 + UTF-8 (an answer) or 0x00 (none)
/// node → client   askStdin     8 bytes: the most the node takes
/// client → node   stdin        bytes of the client's standard input, in pieces
/// client → node   stdinEnd     0x00 at its end, 0x01 when it was larger than asked, 0x02 on a read error
/// node → client   exit         4 bytes: the command's exit status; the node then closes
/// ```
/// Secrets cross only this socket (mode 0600 in the 0700 data directory, peer checked by uid).
public struct ControlFrame: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case request = 1, stdout, stderr, askSecret, secret, askStdin, stdin, stdinEnd, exit
    }

    public var kind: Kind
    public var payload: [UInt8]

    public init(_ kind: Kind, _ payload: [UInt8] = []) {
        self.kind = kind
        self.payload = payload
    }

    /// The most one frame carries (a request, a piece of output or of standard input).
    public static let maxPayload = 1 << 20
    public static let headerSize = 5

    public var encoded: [UInt8] {
        var out = [kind.rawValue]
        out.reserveCapacity(Self.headerSize + payload.count)
        let n = UInt32(payload.count)
        out += [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        out += payload
        return out
    }

    public enum DecodeError: Error, CustomStringConvertible, Sendable {
        case unknownKind(UInt8), tooLarge(Int)
        public var description: String {
            switch self {
            case .unknownKind(let k): "control socket: unknown frame kind \(k)"
            case .tooLarge(let n): "control socket: a frame of \(n) bytes (at most \(ControlFrame.maxPayload))"
            }
        }
    }

    /// The frame at the start of `bytes`, with its length; nil when more bytes are needed.
    public static func decode(_ bytes: some Collection<UInt8>) throws -> (ControlFrame, Int)? {
        guard bytes.count >= headerSize else { return nil }
        let header = Array(bytes.prefix(headerSize))
        guard let kind = Kind(rawValue: header[0]) else { throw DecodeError.unknownKind(header[0]) }
        let length = Int(header[1]) << 24 | Int(header[2]) << 16 | Int(header[3]) << 8 | Int(header[4])
        guard length <= maxPayload else { throw DecodeError.tooLarge(length) }
        guard bytes.count >= headerSize + length else { return nil }
        return (ControlFrame(kind, Array(bytes.dropFirst(headerSize).prefix(length))), headerSize + length)
    }

    public static func exit(_ status: Int32) -> ControlFrame {
        let u = UInt32(bitPattern: status)
        return ControlFrame(.exit, [UInt8(u >> 24), UInt8((u >> 16) & 0xFF), UInt8((u >> 8) & 0xFF), UInt8(u & 0xFF)])
    }

    /// The status of an `exit` frame.
    public var exitStatus: Int32? {
        guard kind == .exit, payload.count == 4 else { return nil }
        return Int32(bitPattern: UInt32(payload[0]) << 24 | UInt32(payload[1]) << 16 | UInt32(payload[2]) << 8 | UInt32(payload[3]))
    }

    public static func askStdin(limit: Int) -> ControlFrame {
        let u = UInt64(max(0, limit))
        return ControlFrame(.askStdin, (0..<8).map { UInt8((u >> (8 * (7 - UInt64($0)))) & 0xFF) })
    }

    public var stdinLimit: Int? {
        guard kind == .askStdin, payload.count == 8 else { return nil }
        return Int(clamping: payload.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }
}

/// What a client asks the node to run: the CLI's arguments as typed, where it was typed.
public struct ControlRequest: Codable, Sendable, Equatable {
    /// The arguments after `sealbox`.
    public var arguments: [String]
    /// The client's working directory: relative paths in the arguments are relative to it.
    public var workingDirectory: String
    /// Whether the client's standard error is a terminal (progress lines).
    public var stderrIsTerminal: Bool
    /// The client's `SEALBOX_*` settings variables (not its passwords or passphrases: those are
    /// asked for when needed), so that the command reads the settings it would read in its own process.
    public var environment: [String: String]

    public init(arguments: [String], workingDirectory: String, stderrIsTerminal: Bool, environment: [String: String]) {
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.stderrIsTerminal = stderrIsTerminal
        self.environment = environment
    }

    /// Variables that never travel in a request.
    public static let secretVariables: Set<String> = ["SEALBOX_PASSWORD", "SEALBOX_NODE_KEY_PASSPHRASE", "SEALBOX_NODE_KEY_NEW_PASSPHRASE"]

    /// The `SEALBOX_*` variables of `environment` that a request carries.
    public static func settingsVariables(_ environment: [String: String]) -> [String: String] {
        environment.filter { $0.key.hasPrefix("SEALBOX_") && !secretVariables.contains($0.key) }
    }
}

/// A secret the command needs: the client answers from `environment` when set, else asks on its terminal.
public struct ControlSecretQuestion: Codable, Sendable, Equatable {
    public var prompt: String
    /// An environment variable of the client ("" for none: the terminal only).
    public var environment: String

    public init(prompt: String, environment: String) {
        self.prompt = prompt
        self.environment = environment
    }
}
