import Foundation

/// Where a mail client finds the node's servers: the public host name and the ports it listens on
/// (nil: that listener is off). The same names and ports as the RFC 6186 SRV records
/// `sealbox domain dns` prints (`_imaps._tcp`, `_imap._tcp`, `_submissions._tcp`, `_submission._tcp`,
/// `_pop3s._tcp`, `_pop3._tcp`). Implicit TLS is preferred (RFC 8314 §3); STARTTLS is offered as an
/// alternative.
public struct MailClientSetup: Sendable, Equatable {
    public struct Ports: Sendable, Equatable {
        public var imap: Int?, imaps: Int?, pop3: Int?, pop3s: Int?, submission: Int?, submissions: Int?
        public init(imap: Int? = nil, imaps: Int? = nil, pop3: Int? = nil, pop3s: Int? = nil,
                    submission: Int? = nil, submissions: Int? = nil) {
            self.imap = imap; self.imaps = imaps; self.pop3 = pop3; self.pop3s = pop3s
            self.submission = submission; self.submissions = submissions
        }
        public static let standard = Ports(imap: 143, imaps: 993, pop3: 110, pop3s: 995, submission: 587, submissions: 465)
    }

    /// One server a client may use.
    public struct Server: Sendable, Equatable {
        public enum Kind: String, Sendable { case imap, pop3, smtp }
        public enum Security: String, Sendable {
            /// TLS from the first byte (imaps, pop3s, submissions).
            case implicitTLS
            case startTLS
        }
        public var kind: Kind
        public var hostname: String
        public var port: Int
        public var security: Security

        /// Thunderbird's `socketType`.
        var socketType: String { security == .implicitTLS ? "SSL" : "STARTTLS" }
        /// For people: "SSL/TLS" or "STARTTLS".
        public var securityName: String { security == .implicitTLS ? "TLS (implicit)" : "STARTTLS" }
    }

    public var hostname: String
    public var ports: Ports

    public init(hostname: String, ports: Ports) {
        self.hostname = hostname.hasSuffix(".") ? String(hostname.dropLast()) : hostname
        self.ports = ports
    }

    /// The incoming servers, best first: IMAP (implicit TLS, then STARTTLS), then POP3 the same way.
    public var incoming: [Server] {
        var out: [Server] = []
        if let p = ports.imaps { out.append(Server(kind: .imap, hostname: hostname, port: p, security: .implicitTLS)) }
        if let p = ports.imap { out.append(Server(kind: .imap, hostname: hostname, port: p, security: .startTLS)) }
        if let p = ports.pop3s { out.append(Server(kind: .pop3, hostname: hostname, port: p, security: .implicitTLS)) }
        if let p = ports.pop3 { out.append(Server(kind: .pop3, hostname: hostname, port: p, security: .startTLS)) }
        return out
    }

    /// The submission servers, best first: implicit TLS, then STARTTLS.
    public var outgoing: [Server] {
        var out: [Server] = []
        if let p = ports.submissions { out.append(Server(kind: .smtp, hostname: hostname, port: p, security: .implicitTLS)) }
        if let p = ports.submission { out.append(Server(kind: .smtp, hostname: hostname, port: p, security: .startTLS)) }
        return out
    }

    /// The preferred IMAP server (nil: IMAP is off).
    public var bestIMAP: Server? { incoming.first { $0.kind == .imap } }
    /// The preferred submission server.
    public var bestSubmission: Server? { outgoing.first }

    // MARK: Thunderbird autoconfig

    /// Thunderbird's autoconfig file (`config-v1.1.xml`) for `domain`. The user name is the whole
    /// address (`%EMAILADDRESS%`, which Thunderbird fills in).
    public func thunderbirdConfig(domain: String) -> String {
        let d = XMLText.escape(domain)
        var lines = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<clientConfig version="1.1">"#,
            #"  <emailProvider id="\#(d)">"#,
            "    <domain>\(d)</domain>",
            "    <displayName>\(d)</displayName>",
            "    <displayShortName>\(d)</displayShortName>",
        ]
        func server(_ element: String, _ s: Server) {
            lines += [
                #"    <\#(element) type="\#(s.kind.rawValue)">"#,
                "      <hostname>\(XMLText.escape(s.hostname))</hostname>",
                "      <port>\(s.port)</port>",
                "      <socketType>\(s.socketType)</socketType>",
                "      <authentication>password-cleartext</authentication>",
                "      <username>%EMAILADDRESS%</username>",
                "    </\(element)>",
            ]
        }
        for s in incoming { server("incomingServer", s) }
        for s in outgoing { server("outgoingServer", s) }
        lines += ["  </emailProvider>", "</clientConfig>"]
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Microsoft Autodiscover (POX)

    static let autodiscoverResponseSchema = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

    /// The Autodiscover (plain old XML) answer for `address`: the preferred IMAP and SMTP servers.
    public func autodiscoverResponse(address: String) -> String {
        let a = XMLText.escape(address)
        var lines = [
            #"<?xml version="1.0" encoding="utf-8"?>"#,
            #"<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">"#,
            #"  <Response xmlns="\#(Self.autodiscoverResponseSchema)">"#,
            "    <Account>",
            "      <AccountType>email</AccountType>",
            "      <Action>settings</Action>",
        ]
        for s in [bestIMAP, bestSubmission].compactMap({ $0 }) {
            lines += [
                "      <Protocol>",
                "        <Type>\(s.kind == .imap ? "IMAP" : "SMTP")</Type>",
                "        <Server>\(XMLText.escape(s.hostname))</Server>",
                "        <Port>\(s.port)</Port>",
                "        <LoginName>\(a)</LoginName>",
                "        <DomainRequired>off</DomainRequired>",
                "        <SPA>off</SPA>",
                "        <SSL>on</SSL>",
                // SSL: TLS from the start; TLS: STARTTLS.
                "        <Encryption>\(s.security == .implicitTLS ? "SSL" : "TLS")</Encryption>",
                "        <AuthRequired>on</AuthRequired>",
                "      </Protocol>",
            ]
        }
        lines += ["    </Account>", "  </Response>", "</Autodiscover>"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The address in an Autodiscover request (`<EMailAddress>…</EMailAddress>`), nil when there
    /// is none. The request is small; anything above `maxRequestBytes` is refused before this.
    public static func autodiscoverRequestAddress(_ body: String) -> String? {
        guard let open = body.range(of: "<EMailAddress>", options: .caseInsensitive),
              let close = body.range(of: "</EMailAddress>", options: .caseInsensitive, range: open.upperBound..<body.endIndex)
        else { return nil }
        let text = XMLText.unescape(String(body[open.upperBound..<close.lowerBound]))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    static let maxRequestBytes = 16 * 1024

    // MARK: Apple configuration profile

    /// An Apple configuration profile (`.mobileconfig`, unsigned) with one IMAP account for
    /// `address`: IMAP and SMTP submission, TLS, password authentication. No password is inside:
    /// the device asks for it. Its identifier is derived from the host and the address, so that
    /// installing a newer download replaces the older profile.
    public func mobileConfig(address: String, uuid: () -> UUID = UUID.init) throws -> Data {
        let reverseHost = hostname.split(separator: ".").reversed().joined(separator: ".")
        let identifier = "\(reverseHost.isEmpty ? "sealbox" : reverseHost).mail.\(address)"
        let imap = bestIMAP, smtp = bestSubmission
        let account = AppleMailPayload(
            EmailAccountDescription: address, EmailAccountName: address, EmailAccountType: "EmailTypeIMAP",
            EmailAddress: address,
            IncomingMailServerAuthentication: "EmailAuthPassword", IncomingMailServerHostName: imap?.hostname ?? hostname,
            IncomingMailServerPortNumber: imap?.port ?? 993, IncomingMailServerUseSSL: true,
            IncomingMailServerUsername: address,
            OutgoingMailServerAuthentication: "EmailAuthPassword", OutgoingMailServerHostName: smtp?.hostname ?? hostname,
            OutgoingMailServerPortNumber: smtp?.port ?? 465, OutgoingMailServerUseSSL: true,
            OutgoingMailServerUsername: address, OutgoingPasswordSameAsIncomingPassword: true,
            PayloadDisplayName: "Mail (\(address))", PayloadIdentifier: identifier + ".account",
            PayloadType: "com.apple.mail.managed", PayloadUUID: uuid().uuidString, PayloadVersion: 1)
        let profile = AppleProfile(
            PayloadContent: [account], PayloadDescription: "The mail servers of \(hostname) for \(address); the device asks for the password.",
            PayloadDisplayName: "Mail: \(address)", PayloadIdentifier: identifier, PayloadOrganization: hostname,
            PayloadRemovalDisallowed: false, PayloadType: "Configuration", PayloadUUID: uuid().uuidString, PayloadVersion: 1)
        let encoder = PropertyListEncoder()
        encoder.outputFormat = .xml
        return try encoder.encode(profile)
    }
}

/// The keys of an Apple `com.apple.mail.managed` payload (Configuration Profile Reference).
struct AppleMailPayload: Codable {
    var EmailAccountDescription: String
    var EmailAccountName: String
    var EmailAccountType: String
    var EmailAddress: String
    var IncomingMailServerAuthentication: String
    var IncomingMailServerHostName: String
    var IncomingMailServerPortNumber: Int
    var IncomingMailServerUseSSL: Bool
    var IncomingMailServerUsername: String
    var OutgoingMailServerAuthentication: String
    var OutgoingMailServerHostName: String
    var OutgoingMailServerPortNumber: Int
    var OutgoingMailServerUseSSL: Bool
    var OutgoingMailServerUsername: String
    var OutgoingPasswordSameAsIncomingPassword: Bool
    var PayloadDisplayName: String
    var PayloadIdentifier: String
    var PayloadType: String
    var PayloadUUID: String
    var PayloadVersion: Int
}

/// The top level of an Apple configuration profile.
struct AppleProfile: Codable {
    var PayloadContent: [AppleMailPayload]
    var PayloadDescription: String
    var PayloadDisplayName: String
    var PayloadIdentifier: String
    var PayloadOrganization: String
    var PayloadRemovalDisallowed: Bool
    var PayloadType: String
    var PayloadUUID: String
    var PayloadVersion: Int
}

/// XML character escaping (element text and attribute values alike).
enum XMLText {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // Characters XML 1.0 does not allow are dropped.
            case _ where c.value < 0x20 && c != "\t" && c != "\n" && c != "\r": continue
            case _ where c.value == 0xFFFE || c.value == 0xFFFF: continue
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The five predefined entities back to characters (enough for an address).
    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
