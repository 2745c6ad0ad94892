/// Why a domain or an email address was refused. One line, fit for an admin or an SMTP reply text.
public struct AddressError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case address
        case domain
    }

    public let kind: Kind
    /// The text that was refused, as given (the description shows a sanitised, shortened copy).
    public let input: String
    public let reason: String

    public init(_ kind: Kind, _ input: String, _ reason: String) {
        self.kind = kind
        self.input = input
        self.reason = reason
    }

    /// e.g. `invalid address 'x': missing @`
    public var description: String {
        "invalid \(kind == .address ? "address" : "domain") '\(Self.printable(input))': \(reason)"
    }

    /// Control characters escaped, at most 100 characters: user input must not break a log line.
    static func printable(_ text: String) -> String {
        var out = ""
        for (index, scalar) in text.unicodeScalars.enumerated() {
            if index == 100 { out += "…"; break }
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned:
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default:
                if scalar == "'" || scalar == "\\" { out += "\\" }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
