/// The client side of a reply: reading what a server sent (the outbound SMTP client, tests).
extension SMTPReply {
    /// Splits one reply line (without its CRLF) into its code, whether more lines follow ("250-")
    /// and its text. Nil for a line that is not a reply line: no three-digit code in 200…599, or
    /// something other than a space or a hyphen after it.
    public static func parseLine(_ line: String) -> (code: Int, more: Bool, text: String)? {
        let u = Array(line.utf8)
        guard u.count >= 3, u[0...2].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let code = Int(String(decoding: u[0...2], as: UTF8.self)), (200...599).contains(code) else { return nil }
        if u.count == 3 { return (code, false, "") }
        guard u[3] == 0x20 || u[3] == 0x2D else { return nil }
        return (code, u[3] == 0x2D, String(decoding: u[4...], as: UTF8.self))
    }

    /// The RFC 3463 status code ("x.y.z") that begins `text`, when its class matches the reply
    /// code's first digit (RFC 2034: a 550 reply carries 5.y.z).
    public static func enhancedCode(_ text: String, code: Int) -> String? {
        let token = text.utf8.prefix { $0 != 0x20 }
        let parts = token.split(separator: 0x2E, omittingEmptySubsequences: false)
        guard parts.count == 3,
              parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
              parts[0].count == 1, Int(parts[0][parts[0].startIndex] - 0x30) == code / 100 else { return nil }
        return String(decoding: token, as: UTF8.self)
    }

    /// A reply as received: `texts` are the lines after "250-" / "250 ". The enhanced code that
    /// begins the first line is taken out of every line that starts with it, so `lines` holds the
    /// texts alone, as in a reply this server builds.
    public init(code: Int, received texts: [String]) {
        let enhanced = texts.first.flatMap { SMTPReply.enhancedCode($0, code: code) }
        let lines = texts.map { line -> String in
            guard let enhanced, line.hasPrefix(enhanced) else { return line }
            let rest = line.dropFirst(enhanced.count)
            guard rest.isEmpty || rest.first == " " else { return line }
            return String(rest.drop { $0 == " " })
        }
        self.init(code, enhanced, lines)
    }

    /// The first line's text, without the enhanced code.
    public var text: String { (lines.first ?? "").trimmingSpaces }
    /// 2xx or 3xx.
    public var isPositive: Bool { (200..<400).contains(code) }
    /// "550 5.1.1 no such user": the first line as a log shows it.
    public var summary: String {
        "\(code) \(enhanced.map { $0 + " " } ?? "")\(lines.first ?? "")".trimmingSpaces
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
