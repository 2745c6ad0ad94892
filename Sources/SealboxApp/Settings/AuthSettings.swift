import Foundation
import MailAuth

/// Inbound mail authentication at the MX: SPF, DKIM, DMARC and ARC, their Authentication-Results,
/// what DMARC failures do, and ARC sealing of forwarded mail.
public struct AuthSettings: ComponentSettings {
    public static let title = "Inbound authentication"
    enum Key {
        static let enabled = SettingKey("auth.enabled", .boolean, default: "true",
                                        "Check SPF, DKIM, DMARC and ARC of every message the MX receives and add an Authentication-Results header; `false`: store mail as received.")
        static let dmarcReject = SettingKey("auth.dmarcReject", .choice(["reject", "junk"]), default: "reject",
                                            "A message failing DMARC of a `p=reject` domain: `reject` answers `550 5.7.1` at the end of DATA; `junk` files it in the recipient's Junk folder like `p=quarantine`.")
        static let dnsFailure = SettingKey("auth.dnsFailure", .choice(["defer", "accept"]), default: "defer",
                                           "When the checks cannot finish (DNS failing or slower than `auth.timeout`) and the sender's DMARC policy could matter: `defer` answers `451 4.4.3` (the sender retries); `accept` stores the message with `temperror` results.")
        static let timeout = SettingKey("auth.timeout", .seconds(1...120), default: "20",
                                        "Seconds all of one message's checks may take together, DNS included.")
        static let publicSuffixList = SettingKey("auth.publicSuffixList", .text, default: "`\(PublicSuffixList.debianPath)` (Debian's publicsuffix)",
                                                 "The Public Suffix List DMARC finds organizational domains with; read at start.")
        static let arcSeal = SettingKey("auth.arcSeal", .boolean, default: "true",
                                        "Add an ARC set (RFC 8617) signed with the forwarding domain's DKIM key to every message Sealbox forwards, so that it keeps passing DMARC at the destination.")
    }
    public static let keys = [Key.enabled, Key.dmarcReject, Key.dnsFailure, Key.timeout, Key.publicSuffixList, Key.arcSeal]

    public var enabled: Bool
    /// `p=reject` failures go to Junk instead of being refused.
    public var rejectToJunk: Bool
    public var deferOnDNSFailure: Bool
    public var timeout: Duration
    public var publicSuffixListPath: String
    public var arcSeal: Bool

    init(_ r: SettingsReader) throws {
        enabled = try r.bool(Key.enabled, default: true)
        rejectToJunk = try r.choice(Key.dmarcReject, default: "reject") == "junk"
        deferOnDNSFailure = try r.choice(Key.dnsFailure, default: "defer") == "defer"
        timeout = try r.seconds(Key.timeout, default: 20)
        publicSuffixListPath = r.string(Key.publicSuffixList) ?? PublicSuffixList.debianPath
        arcSeal = try r.bool(Key.arcSeal, default: true)
    }
}
