import DNSCore
import Foundation
import Logging
import MailCore

/// A domain's mail exchangers, as DNS tells them (RFC 5321 §5.1).
public struct MailExchanger: Sendable, Equatable {
    public var preference: Int
    public var host: String
    public init(preference: Int, host: String) { self.preference = preference; self.host = host }
}

/// A domain's MX answer: the records (nil when it has none: NODATA, deliver to the domain's own
/// addresses) and whether DNSSEC validated it (`secure`: DANE may apply).
public struct MXAnswer: Sendable, Equatable {
    public var exchangers: [MailExchanger]?
    public var secure: Bool
    public init(exchangers: [MailExchanger]?, secure: Bool = false) { self.exchangers = exchangers; self.secure = secure }
}

/// What direct delivery asks of DNS. The node's resolver implements it; the tests give fixed answers.
public protocol DeliveryResolver: Sendable {
    /// The domain's MX records. Throws `DeliveryDNSError`.
    func mailExchangers(of domain: String) async throws -> MXAnswer
    /// The TLSA records of `_PORT._tcp.HOST` and whether they are DNSSEC-secure; none when the
    /// name has none (secure NXDOMAIN/NODATA). Throws `DeliveryDNSError` when the lookup fails.
    func tlsa(port: Int, host: String) async throws -> (records: [TLSARecord], secure: Bool)
    /// The host's IPv6 and IPv4 addresses, as literals, in the order to try. Throws `DeliveryDNSError`.
    func addresses(of host: String) async throws -> [String]
}

/// A DNS failure as delivery sees it: `permanent` for a name that does not exist (NXDOMAIN), else
/// temporary (SERVFAIL, timeout, DNSSEC bogus).
public struct DeliveryDNSError: Error, Sendable, CustomStringConvertible {
    public var permanent: Bool
    public var description: String
    public init(permanent: Bool, description: String) { self.permanent = permanent; self.description = description }
}

/// Delivers a message to the mail exchangers of one recipient domain (RFC 5321 §5): MX by
/// preference with equal ones in random order, the domain's own address when it has no MX, a
/// null MX (RFC 7505) refused at once; each host's addresses in turn; opportunistic STARTTLS
/// (RFC 7435: encrypted when offered, in clear when not or when the handshake fails); one
/// session carries every recipient of the domain.
public struct DirectDelivery: Sendable {
    public struct Configuration: Sendable {
        /// The name in EHLO: `server.hostname`.
        public var heloName: String
        /// 25 on the Internet; another port only for tests on loopback.
        public var port: Int = 25
        public var connectTimeout: Duration = .seconds(30)
        public var commandTimeout: Duration = .seconds(300)
        /// MX hosts tried per attempt, and addresses per host (RFC 5321 §5.1 asks for a limit).
        public var maxHosts = 10
        public var maxAddressesPerHost = 4
        /// PEM CA files trusted besides the system's when a certificate must be verified (MTA-STS);
        /// for tests and private CAs.
        public var trustRoots: [String] = []
        public init(heloName: String) { self.heloName = heloName }
    }

    /// How a session was protected: recorded with every delivery.
    public enum Security: String, Sendable, Equatable {
        /// In clear: the host offered no STARTTLS (or its handshake failed) and nothing required it.
        case none
        /// STARTTLS, certificate not checked (RFC 7435).
        case opportunistic
        /// STARTTLS required, certificate verified for the MX name (the domain's MTA-STS policy
        /// in enforce mode, RFC 8461).
        case mtaSTS = "mta-sts"
        /// STARTTLS required, certificate matched against the host's DNSSEC-secured TLSA records
        /// (RFC 7672).
        case dane
    }

    /// What became of one recipient in one attempt.
    public enum Outcome: Sendable, Equatable {
        /// Accepted by `host` in a session protected as `security` says.
        case delivered(host: String, security: Security)
        /// Try again later.
        case deferred(diagnostic: String)
        /// Bounce: `status` is the enhanced status code (RFC 3463).
        case failed(status: String, diagnostic: String)
    }

    public let configuration: Configuration
    let resolver: any DeliveryResolver
    let mtaSTS: MTASTSPolicyCache?
    let logger: Logger

    public init(configuration: Configuration, resolver: any DeliveryResolver, mtaSTS: MTASTSPolicyCache? = nil,
                logger: Logger = Logger(label: "sealbox.delivery")) {
        self.configuration = configuration; self.resolver = resolver; self.mtaSTS = mtaSTS; self.logger = logger
    }

    /// The recipients grouped by domain (lower-cased ASCII form), in the order first seen.
    public static func byDomain(_ recipients: [String]) -> [(domain: String, recipients: [String])] {
        var order: [String] = [], groups: [String: [String]] = [:]
        for recipient in recipients {
            guard let at = recipient.lastIndex(of: "@") else { continue }
            let part = String(recipient[recipient.index(after: at)...])
            let domain = (try? Domain(part).ascii) ?? part.lowercased()
            if groups[domain] == nil { order.append(domain) }
            groups[domain, default: []].append(recipient)
        }
        return order.map { ($0, groups[$0]!) }
    }

    /// The hosts to try, in order: MX by preference, equal preferences shuffled (RFC 5321 §5.1).
    static func ordered(_ exchangers: [MailExchanger]) -> [MailExchanger] {
        Dictionary(grouping: exchangers, by: \.preference).sorted { $0.key < $1.key }.flatMap { $0.value.shuffled() }
    }

    /// Delivers `message` to `recipients`, all of `domain`; an outcome for each recipient.
    public func deliver(from sender: String, to recipients: [String], domain: String, message: [UInt8]) async -> [String: Outcome] {
        func all(_ outcome: Outcome) -> [String: Outcome] { Dictionary(uniqueKeysWithValues: Set(recipients).map { ($0, outcome) }) }
        var hosts: [MailExchanger]
        var secureMX = false
        do {
            let answer = try await resolver.mailExchangers(of: domain)
            secureMX = answer.secure
            if let mx = answer.exchangers, !mx.isEmpty {
                // RFC 7505: a single MX of "." says the domain takes no mail.
                if mx.count == 1, mx[0].host == "." || mx[0].host.isEmpty {
                    return all(.failed(status: "5.1.10", diagnostic: "\(domain) accepts no mail (null MX, RFC 7505)"))
                }
                hosts = Self.ordered(mx.filter { $0.host != "." && !$0.host.isEmpty })
            } else {
                hosts = [MailExchanger(preference: 0, host: domain)]  // the implicit MX (RFC 5321 §5.1)
            }
        } catch let error as DeliveryDNSError {
            return all(error.permanent ? .failed(status: "5.1.2", diagnostic: "\(domain): \(error.description)")
                                       : .deferred(diagnostic: "DNS for \(domain): \(error.description)"))
        } catch {
            return all(.deferred(diagnostic: "DNS for \(domain): \(error)"))
        }

        // MTA-STS (RFC 8461 §5): in enforce mode only the policy's MX hosts, over verified TLS.
        let policy = await mtaSTS?.policy(for: domain)
        let enforce = policy?.mode == .enforce
        if let policy, policy.mode != .none {
            let allowed = hosts.filter { policy.allows($0.host) }
            if allowed.count < hosts.count {
                logger.notice("MX hosts outside the MTA-STS policy", metadata: [
                    "delivery.domain": "\(domain)", "mtasts.mode": "\(policy.mode.rawValue)",
                    "delivery.hosts": "\(hosts.filter { !policy.allows($0.host) }.map(\.host))"])
            }
            if enforce {
                guard !allowed.isEmpty else {
                    return all(.deferred(diagnostic: "no MX host of \(domain) matches its MTA-STS policy"))
                }
                hosts = allowed
            }
        }

        var lastError = "no mail exchanger of \(domain) could be reached"
        for exchanger in hosts.prefix(configuration.maxHosts) {
            let host = exchanger.host.hasSuffix(".") ? String(exchanger.host.dropLast()) : exchanger.host
            let addresses: [String]
            do {
                addresses = try await resolver.addresses(of: host)
            } catch {
                lastError = "\(host): \(error)"
                continue
            }
            if addresses.isEmpty { lastError = "\(host) has no address"; continue }
            // DANE (RFC 7672 §2.2): with a secure MX answer, the host's secure TLSA records make
            // verified TLS mandatory for it (and take precedence over MTA-STS); a failed TLSA
            // lookup makes the host unusable.
            var dane: [TLSARecord] = []
            if secureMX {
                do {
                    let tlsa = try await resolver.tlsa(port: configuration.port, host: host)
                    if tlsa.secure { dane = tlsa.records.filter(\.isUsableForSMTP) }
                } catch {
                    lastError = "TLSA of \(host): \(error)"
                    continue
                }
            }
            for address in addresses.prefix(configuration.maxAddressesPerHost) {
                switch await attempt(host: host, address: address, sender: sender, recipients: recipients, message: message,
                                     verified: enforce, dane: dane) {
                case .answered(let results, let security):
                    // A host that answered decides; a 4xx for a recipient waits for the next attempt.
                    var outcomes: [String: Outcome] = [:]
                    for recipient in recipients {
                        switch results[recipient] ?? .rejected(code: 451, enhanced: "4.4.0", text: "no reply") {
                        case .accepted: outcomes[recipient] = .delivered(host: host, security: security)
                        case .rejected(let code, let enhanced, let text):
                            let diagnostic = "\(host) said \(code) \(enhanced.map { $0 + " " } ?? "")\(text)"
                            if code >= 500 {
                                outcomes[recipient] = .failed(status: enhanced ?? "5.0.0", diagnostic: diagnostic)
                            } else {
                                outcomes[recipient] = .deferred(diagnostic: diagnostic)
                            }
                        }
                    }
                    return outcomes
                case .refused(let status, let diagnostic):
                    return all(.failed(status: status, diagnostic: diagnostic))
                case .unreachable(let diagnostic):
                    lastError = diagnostic
                }
            }
        }
        return all(.deferred(diagnostic: lastError))
    }

    enum Attempt {
        case answered([String: SMTPRelayClient.RecipientResult], Security)
        /// A 5xx for the whole transaction (MAIL, DATA, the message's end).
        case refused(status: String, diagnostic: String)
        /// Try the next address or host.
        case unreachable(String)
    }

    /// One session with one address of `host`. `verified`: STARTTLS required and the certificate
    /// checked for `host` (no clear-text fallback: a failure defers).
    func attempt(host: String, address: String, sender: String, recipients: [String], message: [UInt8], verified: Bool,
                 dane: [TLSARecord] = []) async -> Attempt {
        var client = SMTPRelayClient.Configuration(host: host, port: configuration.port)
        client.connectAddress = address
        client.security = verified || !dane.isEmpty ? .starttls : .opportunistic
        client.verifyCertificate = verified
        client.trustRoots = configuration.trustRoots
        if !dane.isEmpty { client.certificateCheck = DANE.check(records: dane, host: host) }
        client.heloName = configuration.heloName
        client.connectTimeout = configuration.connectTimeout
        client.commandTimeout = configuration.commandTimeout
        for round in 0..<2 {
            do {
                let report = try await SMTPRelayClient(configuration: client, logger: logger)
                    .sendReporting(from: sender, recipients: recipients, message: message)
                return .answered(report.results, !dane.isEmpty ? .dane : verified ? .mtaSTS : report.tls ? .opportunistic : .none)
            } catch let error as SMTPRelayClient.RelayError {
                if error.tlsHandshakeFailed && round == 0 {
                    // RFC 7435 §4: a failed opportunistic handshake falls back to clear text.
                    logger.notice("TLS handshake failed; sending in clear", metadata: ["delivery.host": "\(host)", "delivery.error": "\(error.description)"])
                    client.security = .none
                    continue
                }
                if error.permanent && !error.beforeTransaction {
                    // A 5xx to MAIL, DATA or the message's end is about the message: final.
                    return .refused(status: error.enhanced ?? (error.code == 552 ? "5.3.4" : "5.0.0"), diagnostic: error.description)
                }
                return .unreachable("\(host) [\(address)]: \(error.description)")
            } catch {
                return .unreachable("\(host) [\(address)]: \(error)")
            }
        }
        return .unreachable("\(host) [\(address)]: TLS and clear text both failed")
    }
}

extension DirectDelivery {
    /// `ordered`, for the tests.
    public static func orderedForTesting(_ exchangers: [MailExchanger]) -> [MailExchanger] { ordered(exchangers) }
}
