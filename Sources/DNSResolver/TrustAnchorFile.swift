import Foundation

/// A DNSSEC trust anchor file as libunbound's `ub_ctx_add_ta_file` reads it: zone-file lines of DS
/// or DNSKEY records (`. IN DNSKEY 257 3 8 AwEA…`, `example. 3600 IN DS 12345 13 2 AB…`), `;`
/// comments. libunbound only reads it at the first query, where a bad file would fail every
/// lookup; checking it when the resolver is made gives one clear error at start instead.
public enum TrustAnchorFile {
    /// Debian's dns-root-data: the root zone's key-signing keys, kept current by the package.
    public static let debianRootKey = "/usr/share/dns/root.key"

    /// How many DS/DNSKEY records the file holds; throws if it is unreadable, too large, or holds none.
    @discardableResult
    public static func check(path: String) throws -> Int {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UnboundResolver.ConfigurationError(description: "DNS trust anchor file \(path) cannot be read")
        }
        guard data.count <= 1 << 20 else {
            throw UnboundResolver.ConfigurationError(description: "DNS trust anchor file \(path) is larger than 1 MB")
        }
        var count = 0
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let fields = line.prefix { $0 != ";" }.split(whereSeparator: \.isWhitespace).map { $0.uppercased() }
            // owner [ttl] [class] TYPE rdata…
            if fields.count >= 3, fields[1...min(3, fields.count - 1)].contains(where: { $0 == "DS" || $0 == "DNSKEY" }) { count += 1 }
        }
        guard count > 0 else {
            throw UnboundResolver.ConfigurationError(description: "DNS trust anchor file \(path) holds no DS or DNSKEY record")
        }
        return count
    }
}
