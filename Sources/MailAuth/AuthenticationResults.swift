/// An `Authentication-Results` header field (RFC 8601): the results of the checks this server ran,
/// under its authserv-id (`server.hostname`), for mail clients to show and filters to read.
public struct AuthenticationResults: Sendable, Equatable {
    /// One method's result: `spf=pass (reason) smtp.mailfrom=a@b.example`.
    public struct Method: Sendable, Equatable {
        public var name: String
        public var result: String
        public var comment: String?
        public var properties: [(String, String)]

        public init(_ name: String, _ result: String, comment: String? = nil, properties: [(String, String)] = []) {
            self.name = name; self.result = result; self.comment = comment; self.properties = properties
        }

        public static func == (a: Method, b: Method) -> Bool {
            a.name == b.name && a.result == b.result && a.comment == b.comment
                && a.properties.map(\.0) == b.properties.map(\.0) && a.properties.map(\.1) == b.properties.map(\.1)
        }

        /// `name=result (comment) ptype.prop=value…`
        public var text: String {
            var out = "\(name)=\(result)"
            if let comment, !comment.isEmpty { out += " (\(AuthenticationResults.commentSafe(comment)))" }
            for (key, value) in properties { out += " \(key)=\(AuthenticationResults.propertyValue(value))" }
            return out
        }
    }

    public var authservID: String
    public var methods: [Method]

    public init(authservID: String, methods: [Method]) { self.authservID = authservID; self.methods = methods }

    /// What follows the authserv-id, on one line: `spf=pass …; dkim=pass …` (the payload an
    /// ARC-Authentication-Results set repeats, RFC 8617 §4.1.1, which `ARCSealer.seal` takes and
    /// folds itself: it refuses line breaks), `none` when there is nothing.
    public var resultsText: String { methods.isEmpty ? "none" : methods.map(\.text).joined(separator: "; ") }

    /// The whole field with its line end, each method on a folded line of its own.
    public var field: String {
        "Authentication-Results: \(authservID);" + (methods.isEmpty ? " none" : "\r\n\t" + methods.map(\.text).joined(separator: ";\r\n\t")) + "\r\n"
    }

    /// A property value as written: a token or `local-part@domain` as is, anything else quoted.
    static func propertyValue(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9": true
            case "!", "#", "$", "%", "&", "'", "*", "+", "-", "/", "=", "?", "^", "_", "`", "{", "|", "}", "~", ".", "@": true
            default: scalar.value >= 0x80
            }
        }
        if plain { return value }
        var out = "\""
        for scalar in value.unicodeScalars where scalar.value >= 0x20 && scalar.value != 0x7F {
            if scalar == "\"" || scalar == "\\" { out += "\\" }
            out.unicodeScalars.append(scalar)
        }
        return out + "\""
    }

    /// A comment's text: parentheses and backslashes escaped, control characters dropped, cut at 200.
    static func commentSafe(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(200) where scalar.value >= 0x20 && scalar.value != 0x7F {
            if scalar == "(" || scalar == ")" || scalar == "\\" { out += "\\" }
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    /// The authserv-id of an `Authentication-Results` field's value: the first token after any
    /// comments and white space, up to `;`, white space or `(`.
    public static func authservID(ofValue value: [UInt8]) -> String {
        var i = 0, depth = 0
        while i < value.count {
            let byte = value[i]
            if depth > 0 {
                if byte == UInt8(ascii: "\\") { i += 2; continue }
                if byte == UInt8(ascii: "(") { depth += 1 } else if byte == UInt8(ascii: ")") { depth -= 1 }
                i += 1; continue
            }
            if byte == UInt8(ascii: "(") { depth = 1; i += 1; continue }
            if byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A { i += 1; continue }
            break
        }
        var end = i
        while end < value.count, ![0x20, 0x09, 0x0D, 0x0A, UInt8(ascii: ";"), UInt8(ascii: "(")].contains(value[end]) { end += 1 }
        return String(decoding: value[i..<end], as: UTF8.self)
    }

    /// The message without the `Authentication-Results` fields that claim `authservID` (they
    /// cannot be ours: this server adds its own after this; RFC 8601 §5 says to remove them), or
    /// nil when it has none (the common case: no copy).
    public static func removingForged(from message: [UInt8], authservID: String) -> [UInt8]? {
        let (fields, bodyStart) = DKIMCanonicalization.split(message)
        let ours = authservID.lowercased()
        let forged = fields.indices.filter { index in
            guard fields[index].name.lowercased() == "authentication-results" else { return false }
            let raw = fields[index].raw
            let colon = raw.firstIndex(of: UInt8(ascii: ":")) ?? raw.count
            return Self.authservID(ofValue: Array(raw[min(colon + 1, raw.count)...])).lowercased() == ours
        }
        guard !forged.isEmpty else { return nil }
        // Rebuild the header from the original lines (fields keep their exact bytes), then the body.
        var out: [UInt8] = []
        out.reserveCapacity(message.count)
        let skip = Set(forged)
        for (index, field) in fields.enumerated() where !skip.contains(index) {
            out.append(contentsOf: field.raw)
            out.append(contentsOf: [0x0D, 0x0A])
        }
        if bodyStart <= message.count, bodyStart > 0 || fields.isEmpty {
            out.append(contentsOf: [0x0D, 0x0A])
            out.append(contentsOf: message[bodyStart...])
        }
        return out
    }
}
