/// An SMTP path as the `envelope` test reads it (RFC 5321 §4.1.2): optional angle brackets, an
/// ignored source route, `local@domain`. The null path (`<>` or empty) is "".
enum SieveEnvelopePath {
    /// The mailbox of `text`, "" for the null path, nil when it is not a valid path.
    static func parse(_ text: String) -> String? {
        var s = Substring(text)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        let bracketed = s.first == "<"
        if bracketed {
            guard s.last == ">", s.count >= 2 else { return nil }
            s = s.dropFirst().dropLast()
        } else if s.last == ">" { return nil }
        if s.isEmpty { return "" }
        if s.first == "@" {
            // source route: "@a,@b:" — every hop a domain
            guard let colon = s.firstIndex(of: ":") else { return nil }
            for hop in s[..<colon].split(separator: ",", omittingEmptySubsequences: false) {
                guard hop.first == "@", isDomain(hop.dropFirst()) else { return nil }
            }
            s = s[s.index(after: colon)...]
        }
        guard let at = s.lastIndex(of: "@") else {
            // a local part alone (`<MAILER-DAEMON>`, `<postmaster>`), as Pigeonhole accepts
            return isLocalPart(s) ? String(s) : nil
        }
        let local = s[..<at], domain = s[s.index(after: at)...]
        guard isLocalPart(local), isDomain(domain) else { return nil }
        return String(s)
    }

    /// Atoms with dots anywhere (the "Japanese" local parts `.a..b.` are accepted) or a quoted string.
    static func isLocalPart(_ local: Substring) -> Bool {
        guard !local.isEmpty else { return false }
        if local.first == "\"" { return local.count >= 2 && local.last == "\"" }
        return local.utf8.allSatisfy { $0 == UInt8(ascii: ".") || SieveAddressCheck.isAtext($0) }
    }

    static func isDomain(_ d: Substring) -> Bool {
        if d.first == "[" { return d.last == "]" && d.count > 2 }
        let labels = d.split(separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty && labels.allSatisfy { l in
            !l.isEmpty && l.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 || $0 >= 0x80 }
        }
    }
}
