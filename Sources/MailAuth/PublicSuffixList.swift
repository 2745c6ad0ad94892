import Foundation

/// The Public Suffix List (publicsuffix.org), which DMARC uses to find a domain's organizational
/// domain (RFC 7489 §3.2). Read from Debian's `publicsuffix` package at start; rules of the ICANN
/// and private sections alike (as OpenDMARC and mox do), with wildcards and exceptions.
public struct PublicSuffixList: Sendable {
    /// Where Debian's `publicsuffix` package puts the list.
    public static let debianPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    private var rules: Set<String> = []
    private var wildcards: Set<String> = []  // "*.ck" stored as "ck"
    private var exceptions: Set<String> = []  // "!www.ck" stored as "www.ck"

    public var ruleCount: Int { rules.count + wildcards.count + exceptions.count }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses the list's text: one rule per line, `//` comments, rules end at white space.
    public init(text: String) {
        for line in text.split(whereSeparator: \.isNewline) {
            guard let token = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first, !token.hasPrefix("//") else { continue }
            let rule = Self.normalize(String(token))
            if rule.hasPrefix("!") {
                exceptions.insert(String(rule.dropFirst()))
            } else if rule.hasPrefix("*.") {
                wildcards.insert(String(rule.dropFirst(2)))
            } else if !rule.isEmpty {
                rules.insert(rule)
            }
        }
    }

    /// Reads the list from a file (`debianPath` by default).
    public init(contentsOf path: String = PublicSuffixList.debianPath) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "cannot read the public suffix list at \(path) (Debian package publicsuffix)")
        }
        self.init(text: String(decoding: data, as: UTF8.self))
        guard ruleCount > 0 else { throw Failure(description: "the public suffix list at \(path) has no rules") }
    }

    /// The public suffix of `domain` (lower-case ASCII/A-label form): the longest matching rule,
    /// `*` ("the default rule": the last label) when none matches.
    public func publicSuffix(of domain: String) -> String {
        let labels = Self.normalize(domain).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !labels.isEmpty, !labels.contains(where: \.isEmpty) else { return Self.normalize(domain) }
        var best = 1  // the default rule "*"
        for count in 1...labels.count {
            let candidate = labels.suffix(count).joined(separator: ".")
            // An exception rule wins over every other: the suffix is the rule without its first label.
            if exceptions.contains(candidate) { return labels.suffix(count - 1).joined(separator: ".") }
            if rules.contains(candidate) { best = max(best, count) }
            if wildcards.contains(candidate), count < labels.count { best = max(best, count + 1) }
        }
        return labels.suffix(max(best, 1)).joined(separator: ".")
    }

    /// The organizational domain (RFC 7489 §3.2): the public suffix plus one label; the domain
    /// itself when it is a public suffix.
    public func organizationalDomain(of domain: String) -> String {
        let normalized = Self.normalize(domain)
        let labels = normalized.split(separator: ".").map(String.init)
        let suffixLabels = publicSuffix(of: normalized).split(separator: ".").count
        guard labels.count > suffixLabels else { return normalized }
        return labels.suffix(suffixLabels + 1).joined(separator: ".")
    }

    static func normalize(_ domain: String) -> String {
        var text = domain.lowercased()
        while text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
