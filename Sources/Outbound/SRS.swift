import Crypto
import Foundation

/// Sender Rewriting Scheme for the envelope sender of forwarded mail, in the format of libsrs2
/// (Shevek's reference implementation, which postsrsd uses), so that bounces of mail we forward
/// come back to us and SPF checks at the next hop see our domain.
///
///     user@example.org                      → SRS0=HHHH=TT=example.org=user@forward.example
///     SRS0=HHHH=TT=example.org=user@other   → SRS1=GGGG=other==HHHH=TT=example.org=user@forward.example
///
/// HHHH: the first 4 characters of the base64 HMAC-SHA1, keyed with the secret, of the
/// concatenated fields (SRS0: timestamp, host, local part; SRS1: the first forwarder's host and
/// what followed "SRS0" in its local part), each ASCII-lower-cased. TT: the day number
/// (Unix time / 86400) modulo 1024 in two base32 characters ("A"…"Z", "2"…"7"). The hash is
/// compared case-insensitively (mail systems change the case of local parts), the timestamp must
/// be at most `maxAgeDays` old. An SRS1 address reverses to the SRS0 address at the first
/// forwarder (its inner hash is that forwarder's to check), and carries no timestamp of its own.
///
/// The separator after "SRS0"/"SRS1" is "=" in what we write; "-" and "+" are accepted there, as
/// libsrs2 does.
public struct SRS: Sendable {
    /// The number of days an SRS0 address stays valid.
    public static let maxAgeDays = 21
    /// Characters of the hash written (and the minimum accepted).
    public static let hashLength = 4

    private let secret: [UInt8]
    /// Our forwarding domain (what follows "@" in the addresses we write).
    public let domain: String

    /// `domain`: our forwarding domain; a leading "user@" part is ignored, as libsrs2 does.
    public init(secret: [UInt8], domain: String) {
        self.secret = secret
        if let at = domain.lastIndex(of: "@") {
            self.domain = String(domain[domain.index(after: at)...])
        } else {
            self.domain = domain
        }
    }

    /// The rewritten envelope sender. The null sender stays null; an address in our own domain
    /// and a string without "@" are returned unchanged.
    public func forward(_ sender: String, now: Date = Date()) -> String {
        guard !sender.isEmpty, let at = sender.firstIndex(of: "@") else { return sender }
        let local = String(sender[..<at])
        let host = String(sender[sender.index(after: at)...])
        if Self.asciiLowercased(host) == Self.asciiLowercased(domain) { return sender }

        if Self.hasTag(local, "srs1") {
            // SRS1=hash=host=rest: keep the first forwarder's host and the rest, hash them anew.
            let fields = local.dropFirst(5)
            if let sep1 = fields.firstIndex(of: "=") {
                let afterHash = fields[fields.index(after: sep1)...]
                if let sep2 = afterHash.firstIndex(of: "="), sep2 != afterHash.startIndex {
                    let srsHost = String(afterHash[..<sep2])
                    let srsUser = String(afterHash[afterHash.index(after: sep2)...])
                    if !srsUser.isEmpty {
                        return "SRS1=\(hash([srsHost, srsUser]))=\(srsHost)=\(srsUser)@\(domain)"
                    }
                }
            }
            // A malformed SRS1 address is treated like any other local part.
        } else if Self.hasTag(local, "srs0") {
            // SRS0 at another forwarder: we become the second hop.
            let srsUser = String(local.dropFirst(4))   // keeps the separator: "=HHHH=TT=host=user"
            return "SRS1=\(hash([host, srsUser]))=\(host)=\(srsUser)@\(domain)"
        }
        let stamp = Self.timestamp(now)
        return "SRS0=\(hash([stamp, host, local]))=\(stamp)=\(host)=\(local)@\(domain)"
    }

    /// The address an SRS address stands for, when its hash is ours and (SRS0) its timestamp is at
    /// most `maxAgeDays` old; nil for anything else. The domain after "@" is not checked.
    public func reverse(_ address: String, now: Date = Date()) -> String? {
        let local: Substring
        if let at = address.firstIndex(of: "@") { local = address[..<at] } else { local = address[...] }
        guard local.count > 5 else { return nil }
        let tag = Self.asciiLowercased(String(local.prefix(4)))
        let fields = local.dropFirst(5).split(separator: "=", maxSplits: tag == "srs1" ? 2 : 3,
                                              omittingEmptySubsequences: false)
        switch tag {
        case "srs1":
            // hash = host = rest (rest begins with the SRS0 separator, so it may start with "=")
            guard fields.count == 3, !fields[1].isEmpty, !fields[2].isEmpty else { return nil }
            let host = String(fields[1]), rest = String(fields[2])
            guard hashMatches(fields[0], [host, rest]) else { return nil }
            return "SRS0\(rest)@\(host)"
        case "srs0":
            guard fields.count == 4, !fields[2].isEmpty, !fields[3].isEmpty else { return nil }
            let stamp = String(fields[1]), host = String(fields[2]), user = String(fields[3])
            guard Self.timestampIsValid(stamp, now: now) else { return nil }
            guard hashMatches(fields[0], [stamp, host, user]) else { return nil }
            return "\(user)@\(host)"
        default:
            return nil
        }
    }

    // MARK: hash and timestamp

    /// The first `hashLength` characters of the base64 HMAC-SHA1 of the lower-cased fields.
    func hash(_ fields: [String]) -> String {
        var data = [UInt8]()
        for f in fields { data += f.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 } }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: data, using: SymmetricKey(data: secret))
        return String(Data(mac).base64EncodedString().prefix(Self.hashLength))
    }

    /// Case-insensitive, constant-time over the compared length; at least `hashLength` characters
    /// must be given, only the first `hashLength` are compared.
    private func hashMatches(_ given: Substring, _ fields: [String]) -> Bool {
        let given = Array(given.utf8)
        guard given.count >= Self.hashLength else { return false }
        let expected = Array(hash(fields).utf8)
        var diff: UInt8 = 0
        for i in 0..<Self.hashLength {
            diff |= Self.lowerASCII(given[i]) ^ Self.lowerASCII(expected[i])
        }
        return diff == 0
    }

    static let timeAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
    static let timeSlots = 1024   // two base32 characters

    /// Two base32 characters of the day number modulo 1024.
    static func timestamp(_ now: Date) -> String {
        let day = Int((now.timeIntervalSince1970 / 86_400).rounded(.down))
        let slot = ((day % timeSlots) + timeSlots) % timeSlots
        return String(decoding: [timeAlphabet[slot >> 5], timeAlphabet[slot & 31]], as: UTF8.self)
    }

    /// A timestamp from today or the last `maxAgeDays` days (modulo 1024 days; one from the
    /// future counts as 1024 days old, as in libsrs2).
    static func timestampIsValid(_ stamp: String, now: Date) -> Bool {
        let chars = Array(stamp.utf8)
        guard chars.count == 2 else { return false }
        var then = 0
        for c in chars {
            let upper = c >= 0x61 && c <= 0x7A ? c - 0x20 : c
            guard let v = timeAlphabet.firstIndex(of: upper) else { return false }
            then = then << 5 | v
        }
        let day = Int((now.timeIntervalSince1970 / 86_400).rounded(.down))
        var today = ((day % timeSlots) + timeSlots) % timeSlots
        while today < then { today += timeSlots }
        return today <= then + maxAgeDays
    }

    // MARK: helpers

    /// "SRS0" / "SRS1" (any case) followed by one of the separators "=", "-", "+".
    private static func hasTag(_ local: String, _ tag: String) -> Bool {
        let b = Array(local.utf8.prefix(5))
        guard b.count == 5, asciiLowercased(String(decoding: b[0..<4], as: UTF8.self)) == tag else { return false }
        return b[4] == 0x3D || b[4] == 0x2D || b[4] == 0x2B
    }

    private static func lowerASCII(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }

    private static func asciiLowercased(_ s: String) -> String {
        String(decoding: s.utf8.map(lowerASCII), as: UTF8.self)
    }
}
