import Crypto
import Directory
import Foundation
import MailCore
import Outbound

/// The DNS records a domain hosted here should publish (`sealbox domain dns DOMAIN`): where its
/// mail goes (MX), who may send it (SPF), its DKIM keys, its DMARC policy, MTA-STS and TLS-RPT,
/// and the RFC 6186/8314 SRV records mail clients use to find the servers.
public struct DomainDNSRecords: Sendable {
    public struct Record: Sendable, Equatable {
        /// Fully qualified, with the final dot.
        public var name: String
        public var type: String
        /// For TXT, the character-strings (each at most 255 bytes); otherwise one value.
        public var values: [String]
        public var comment: String?

        /// One zone-file line.
        public var zoneLine: String {
            let data = type == "TXT" ? values.map { "\"\($0)\"" }.joined(separator: " ") : values.joined(separator: " ")
            return "\(name) 3600 IN \(type) \(data)" + (comment.map { " ; \($0)" } ?? "")
        }

        /// The TXT value as a resolver joins it.
        public var text: String { values.joined() }
    }

    /// The ports mail clients should be sent to (nil: not offered).
    public struct Ports: Sendable {
        public var imap: Int?, imaps: Int?, pop3: Int?, pop3s: Int?, submission: Int?, submissions: Int?
        public init(imap: Int?, imaps: Int?, pop3: Int?, pop3s: Int?, submission: Int?, submissions: Int?) {
            self.imap = imap; self.imaps = imaps; self.pop3 = pop3; self.pop3s = pop3s
            self.submission = submission; self.submissions = submissions
        }
        public static let standard = Ports(imap: 143, imaps: 993, pop3: 110, pop3s: 995, submission: 587, submissions: 465)
    }

    public enum MTASTSMode: String, Sendable, CaseIterable { case testing, enforce, none }

    public var domain: Domain
    /// The node's `server.hostname`: the MX host and the server every SRV record names.
    public var hostname: String
    public var keys: [DKIMKeyRecord]
    public var ports: Ports
    public var mtaSTSMode: MTASTSMode
    public var now: Date

    public init(domain: Domain, hostname: String, keys: [DKIMKeyRecord], ports: Ports = .standard,
                mtaSTSMode: MTASTSMode = .testing, now: Date = Date()) {
        self.domain = domain; self.hostname = hostname; self.keys = keys; self.ports = ports
        self.mtaSTSMode = mtaSTSMode; self.now = now
    }

    var host: String { hostname.hasSuffix(".") ? hostname : hostname + "." }
    var zone: String { domain.ascii + "." }

    /// The MTA-STS policy (RFC 8461 §3.2) to serve at `https://mta-sts.<domain>/.well-known/mta-sts.txt`.
    public var mtaSTSPolicy: String {
        "version: STSv1\r\nmode: \(mtaSTSMode.rawValue)\r\nmx: \(hostname)\r\nmax_age: \(mtaSTSMode == .none ? 86_400 : 604_800)\r\n"
    }

    /// The policy's id: derived from its text, so it changes exactly when the policy does.
    public var mtaSTSPolicyID: String {
        SHA256.hash(data: Array(mtaSTSPolicy.utf8)).prefix(10).map { String(format: "%02x", $0) }.joined()
    }

    public var records: [Record] {
        var out: [Record] = []
        out.append(Record(name: zone, type: "MX", values: ["10", host], comment: "mail for \(domain.ascii) is received by \(hostname)"))
        out.append(Record(name: zone, type: "TXT", values: ["v=spf1 mx ~all"],
                          comment: "SPF: the MX host sends the domain's mail (add your relay's SPF if smtp.relay.host is set)"))
        for key in keys where key.isActive || (key.retired.map { now.timeIntervalSince($0) < DKIMKeyRecord.publishedAfterRetirement } ?? false) {
            guard let signing = try? DomainKeys.signingKey(key) else { continue }
            let note = key.isActive ? "DKIM (\(key.algorithm)), signing" : "DKIM (\(key.algorithm)), retired: keep until \(DirectoryDate.string(key.retired!.addingTimeInterval(DKIMKeyRecord.publishedAfterRetirement)))"
            out.append(Record(name: "\(key.selector)._domainkey.\(zone)", type: "TXT", values: Self.chunks(signing.dnsRecord), comment: note))
        }
        out.append(Record(name: "_dmarc.\(zone)", type: "TXT", values: ["v=DMARC1; p=quarantine; rua=mailto:postmaster@\(domain.ascii)"],
                          comment: "DMARC: unauthenticated mail claiming this domain goes to Junk; reports to postmaster"))
        if mtaSTSMode != .none {
            out.append(Record(name: "_mta-sts.\(zone)", type: "TXT", values: ["v=STSv1; id=\(mtaSTSPolicyID)"],
                              comment: "MTA-STS (mode \(mtaSTSMode.rawValue)); the policy is served at https://mta-sts.\(domain.ascii)/.well-known/mta-sts.txt"))
            out.append(Record(name: "mta-sts.\(zone)", type: "CNAME", values: [host], comment: "the web host of the MTA-STS policy"))
        }
        out.append(Record(name: "_smtp._tls.\(zone)", type: "TXT", values: ["v=TLSRPTv1; rua=mailto:postmaster@\(domain.ascii)"],
                          comment: "TLS reporting (RFC 8460)"))
        let services: [(String, Int?)] = [("_submissions._tcp", ports.submissions), ("_submission._tcp", ports.submission),
                                          ("_imaps._tcp", ports.imaps), ("_imap._tcp", ports.imap),
                                          ("_pop3s._tcp", ports.pop3s), ("_pop3._tcp", ports.pop3)]
        for (service, port) in services {
            // RFC 6186 §4: a service not offered is published with the target ".".
            if let port {
                out.append(Record(name: "\(service).\(zone)", type: "SRV", values: ["0", "1", String(port), host]))
            } else {
                out.append(Record(name: "\(service).\(zone)", type: "SRV", values: ["0", "0", "0", "."], comment: "not offered"))
            }
        }
        return out
    }

    /// A TXT value as character-strings of at most 255 bytes (RFC 1035 §3.3.14).
    static func chunks(_ text: String) -> [String] {
        var out: [String] = [], rest = Substring(text)
        while !rest.isEmpty {
            out.append(String(rest.prefix(255)))
            rest = rest.dropFirst(255)
        }
        return out.isEmpty ? [""] : out
    }

    /// The records as a zone-file fragment, with the MTA-STS policy text after them.
    public var text: String {
        var lines = ["; DNS records for \(domain.ascii) (sealbox domain dns \(domain.ascii))"]
        lines += records.map(\.zoneLine)
        if mtaSTSMode != .none {
            lines.append("")
            lines.append("; the MTA-STS policy, served over HTTPS at https://mta-sts.\(domain.ascii)/.well-known/mta-sts.txt:")
            lines += mtaSTSPolicy.split(separator: "\r\n").map { "; " + $0 }
            if mtaSTSMode == .testing {
                lines.append("; switch to mode enforce (--mta-sts enforce) once the certificate of \(hostname) is signed by a public CA")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension SealboxConfiguration {
    /// The ports the SRV records name: each listener's fixed port; none for one that is off or on
    /// a port the system picks.
    public var publishedPorts: DomainDNSRecords.Ports {
        func fixed(_ port: ListenerPort, _ enabled: Bool = true) -> Int? {
            guard enabled, case .fixed(let n) = port else { return nil }
            return n
        }
        return DomainDNSRecords.Ports(imap: fixed(imap.port), imaps: fixed(imap.implicitTLSPort),
                                      pop3: fixed(pop3.port, pop3.enabled), pop3s: fixed(pop3.implicitTLSPort, pop3.enabled),
                                      submission: fixed(submission.port), submissions: fixed(submission.implicitTLSPort))
    }
}

import DNSCore

extension DomainDNSRecords {
    /// One record compared with DNS.
    public struct Check: Sendable, Equatable {
        public enum State: String, Sendable { case ok, missing, wrong, unknown }
        public var state: State
        public var record: Record
        /// What DNS has instead, or why it could not say.
        public var detail: String?

        public var line: String {
            let what = "\(record.type) \(record.name)"
            switch state {
            case .ok: return "ok       \(what)"
            case .missing: return "missing  \(what): publish \(record.zoneLine.components(separatedBy: " ; ").first ?? "")"
            case .wrong: return "wrong    \(what): published \(detail ?? "?"); expected \(record.values.joined(separator: record.type == "TXT" ? "" : " "))"
            case .unknown: return "unknown  \(what): \(detail ?? "DNS did not answer")"
            }
        }
    }

    /// Each expected record compared with what `dns` answers (`sealbox domain dns --check`).
    /// Retired DKIM keys count as missing only while they should still be published.
    public func check(with dns: any DNSResolving) async -> [Check] {
        var out: [Check] = []
        for record in records {
            out.append(await check(record, dns))
        }
        return out
    }

    func check(_ record: Record, _ dns: any DNSResolving) async -> Check {
        func result(_ ok: Bool, _ published: String) -> Check {
            Check(state: ok ? .ok : .wrong, record: record, detail: ok ? nil : published)
        }
        do {
            let name = try DNSName(record.name.hasSuffix(".") ? String(record.name.dropLast()) : record.name)
            switch record.type {
            case "MX":
                let answer = try await dns.mx(name)
                let hosts = answer.records.map { $0.exchange.absoluteText.lowercased() }
                return result(hosts.contains(record.values[1].lowercased()), hosts.joined(separator: ", "))
            case "TXT":
                let texts = try await dns.txt(name).records.map(\.text)
                let expected = record.text
                // The record of the same kind (v=spf1, v=DKIM1, v=DMARC1, …) is compared.
                let kind = String(expected.prefix { $0 != ";" && $0 != " " })
                let sameKind = texts.filter { $0.hasPrefix(kind) }
                if sameKind.isEmpty { return Check(state: .missing, record: record) }
                if kind == "v=DKIM1" {
                    // The key is what matters; tags may be written in another order.
                    let key = { (t: String) in t.components(separatedBy: "p=").last?.replacingOccurrences(of: " ", with: "") ?? "" }
                    return result(sameKind.contains { key($0) == key(expected) }, sameKind.joined(separator: " | "))
                }
                let normal = { (t: String) in t.replacingOccurrences(of: " ", with: "").lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ";")) }
                return result(sameKind.contains { normal($0) == normal(expected) }, sameKind.joined(separator: " | "))
            case "CNAME":
                // The host must resolve to where the target does; following the alias is enough.
                let answer = try await dns.a(name)
                return result(!answer.records.isEmpty, "no address")
            case "SRV":
                let answer = try await dns.srv(name)
                let published = answer.records.map { "\($0.priority) \($0.weight) \($0.port) \($0.target.absoluteText)" }
                let expected = record.values
                return result(answer.records.contains { String($0.port) == expected[2] && $0.target.absoluteText.lowercased() == expected[3].lowercased() },
                              published.joined(separator: ", "))
            default:
                return Check(state: .unknown, record: record, detail: "not checked")
            }
        } catch let error as DNSError where error.isNotFound {
            return Check(state: .missing, record: record)
        } catch {
            return Check(state: .unknown, record: record, detail: "\(error)")
        }
    }
}
