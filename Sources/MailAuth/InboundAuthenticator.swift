import DNSCore
import Foundation
import MIMEParser

/// What the MX runs on every message at the end of DATA (RFC 7208 SPF, RFC 6376 DKIM, RFC 8617
/// ARC, RFC 7489 DMARC), and what follows from it: the Authentication-Results field, and whether
/// the message is delivered, filed as Junk, refused or deferred. All DNS work is bounded by one
/// time budget per message.
public struct InboundAuthenticator: Sendable {
    public struct Configuration: Sendable {
        /// The authserv-id of Authentication-Results: `server.hostname`.
        public var authservID: String
        /// `p=reject` failures are filed as Junk instead of refused (`auth.dmarcReject = junk`).
        public var rejectToJunk = false
        /// When the checks cannot finish and the sender's policy could matter: `451 4.4.3`.
        public var deferOnDNSFailure = true
        /// All checks of one message together (`auth.timeout`).
        public var timeout: Duration = .seconds(20)

        public init(authservID: String) { self.authservID = authservID }
    }

    /// What to do with the message.
    public enum Verdict: Sendable, Equatable {
        case deliver
        case junk
        case refuse(code: Int, enhanced: String, text: String)
    }

    /// Every result, the header field made of them, and the verdict.
    public struct Report: Sendable {
        public var spf: SPFOutcome?
        public var dkim: [DKIMSignatureOutcome]
        public var arc: ARCOutcome
        public var dmarc: DMARCOutcome
        public var results: AuthenticationResults
        public var verdict: Verdict
        /// The budget ran out before the checks finished.
        public var timedOut = false
    }

    let configuration: Configuration
    let spf: SPFVerifier
    let dkim: DKIMVerifier
    let arc: ARCVerifier
    let dmarc: DMARCVerifier
    let resolver: any DNSResolving
    /// The authserv-id its Authentication-Results fields carry.
    public var authservID: String { configuration.authservID }

    public init(resolver: any DNSResolving, publicSuffixList: PublicSuffixList, configuration: Configuration,
                dmarcSample: @escaping @Sendable () -> Int = { Int.random(in: 0..<100) }) {
        self.configuration = configuration
        self.resolver = resolver
        spf = SPFVerifier(resolver: resolver, receivingHost: configuration.authservID)
        dkim = DKIMVerifier(resolver: resolver)
        arc = ARCVerifier(resolver: resolver)
        dmarc = DMARCVerifier(resolver: resolver, publicSuffixList: publicSuffixList, sample: dmarcSample)
    }

    /// Checks one message as received from `clientIP` (text form), which greeted with `helo`, with
    /// the envelope sender `mailFrom` ("" for `<>`).
    public func check(message: [UInt8], clientIP: String, helo: String, mailFrom: String) async -> Report {
        let budget = configuration.timeout
        return await withTaskGroup(of: Report?.self) { group in
            group.addTask { await self.checkUnbounded(message: message, clientIP: clientIP, helo: helo, mailFrom: mailFrom) }
            group.addTask {
                try? await Task.sleep(for: budget)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? timedOutReport(mailFrom: mailFrom, helo: helo)
        }
    }

    func checkUnbounded(message: [UInt8], clientIP: String, helo: String, mailFrom: String) async -> Report {
        async let spfOutcome: SPFOutcome? = {
            guard let ip = IPAddress(clientIP) else { return nil }
            return await spf.verify(ip: ip, helo: helo, mailFrom: mailFrom)
        }()
        async let signatures = dkim.verify(message)
        async let chain = arc.verify(message)
        let spfResult = await spfOutcome, dkimResults = await signatures, arcResult = await chain

        let spfPassDomain = spfResult.flatMap { $0.result == .pass ? $0.domain : nil }
        let dkimPassDomains = dkimResults.filter { $0.result == .pass }.map(\.domain)
        let authors = Self.fromDomains(message)
        var outcome: DMARCOutcome
        if authors.isEmpty {
            outcome = DMARCOutcome(result: .permerror, reason: "no From address with a domain")
        } else {
            var outcomes: [DMARCOutcome] = []
            for domain in authors {
                outcomes.append(await dmarc.evaluate(fromDomain: domain, spfPassDomain: spfPassDomain, dkimPassDomains: dkimPassDomains))
            }
            outcome = outcomes.max { Self.severity($0) < Self.severity($1) } ?? outcomes[0]
        }
        // A failure while SPF or DKIM could not be checked is not a failure: the checks did not finish.
        if outcome.result == .fail, spfResult?.result == .temperror || dkimResults.contains(where: { $0.result == .temperror }) {
            outcome.result = .temperror
            outcome.disposition = .none
            outcome.reason = "SPF or DKIM could not be checked (DNS): " + (outcome.reason ?? "")
        }
        return Report(spf: spfResult, dkim: dkimResults, arc: arcResult, dmarc: outcome,
                      results: results(spf: spfResult, dkim: dkimResults, arc: arcResult, dmarc: outcome),
                      verdict: verdict(outcome))
    }

    func verdict(_ outcome: DMARCOutcome) -> Verdict {
        switch outcome.result {
        case .fail:
            switch outcome.disposition {
            case .reject:
                if configuration.rejectToJunk { return .junk }
                return .refuse(code: 550, enhanced: "5.7.1",
                               text: "Message refused: it fails the DMARC policy of \(outcome.fromDomain ?? "its From domain") (no aligned SPF or DKIM pass)")
            case .quarantine: return .junk
            case .none: return .deliver
            }
        case .temperror:
            if configuration.deferOnDNSFailure, (outcome.requestedPolicy ?? .reject) != .none {
                return .refuse(code: 451, enhanced: "4.4.3", text: "Sender authentication could not be checked (DNS), try again later")
            }
            return .deliver
        case .pass, .none, .permerror:
            return .deliver
        }
    }

    func timedOutReport(mailFrom: String, helo: String) -> Report {
        let identity: SPFOutcome.Identity = mailFrom.isEmpty ? .helo : .mailFrom
        let domain = mailFrom.isEmpty ? helo : String(mailFrom[mailFrom.index(after: mailFrom.lastIndex(of: "@") ?? mailFrom.startIndex)...])
        let spfOutcome = SPFOutcome(result: .temperror, identity: identity, domain: domain, sender: mailFrom.isEmpty ? "postmaster@\(helo)" : mailFrom,
                                    explanation: nil, reason: "checks took longer than \(configuration.timeout)")
        let dmarcOutcome = DMARCOutcome(result: .temperror, reason: "checks took longer than \(configuration.timeout)")
        let arcOutcome = ARCOutcome(result: .none, instances: 0, reason: nil, oldestPass: nil, domains: [])
        var report = Report(spf: spfOutcome, dkim: [], arc: arcOutcome, dmarc: dmarcOutcome,
                            results: AuthenticationResults(authservID: configuration.authservID, methods: [
                                .init("spf", "temperror", comment: "checks timed out"),
                                .init("dkim", "temperror", comment: "checks timed out"),
                                .init("dmarc", "temperror", comment: "checks timed out"),
                            ]),
                            verdict: configuration.deferOnDNSFailure
                                ? .refuse(code: 451, enhanced: "4.4.3", text: "Sender authentication timed out (DNS), try again later") : .deliver)
        report.timedOut = true
        return report
    }

    /// The Authentication-Results of a check (RFC 8601 §2.7 method properties).
    func results(spf: SPFOutcome?, dkim: [DKIMSignatureOutcome], arc: ARCOutcome, dmarc: DMARCOutcome) -> AuthenticationResults {
        var methods: [AuthenticationResults.Method] = []
        if let spf {
            let property = spf.identity == .mailFrom ? ("smtp.mailfrom", spf.sender) : ("smtp.helo", spf.domain)
            methods.append(.init("spf", spf.result.rawValue, comment: spf.reason, properties: [property]))
        } else {
            methods.append(.init("spf", "none", comment: "client address not checkable"))
        }
        if dkim.isEmpty {
            methods.append(.init("dkim", "none", comment: "no signature"))
        }
        // One entry per signature checked; signatures past the verifier's limit are one entry, so a
        // message with thousands of DKIM-Signature fields does not get a header as long.
        let listed = dkim.prefix(Self.maxListedSignatures)
        for signature in listed {
            var properties = [("header.d", signature.domain), ("header.s", signature.selector)]
            if let identity = signature.identity { properties.append(("header.i", identity)) }
            properties.append(("header.a", signature.algorithm))
            if !signature.headerB.isEmpty { properties.append(("header.b", signature.headerB)) }
            methods.append(.init("dkim", signature.result.rawValue, comment: signature.result == .pass ? nil : signature.reason, properties: properties))
        }
        if dkim.count > listed.count {
            methods.append(.init("dkim", "permerror", comment: "\(dkim.count - listed.count) more signatures not checked"))
        }
        var dmarcComment: [String] = []
        if let policy = dmarc.requestedPolicy { dmarcComment.append("p=\(policy.rawValue) dis=\(dmarc.disposition.rawValue)") }
        if dmarc.result != .pass, dmarc.result != .fail, let reason = dmarc.reason { dmarcComment.append(reason) }
        methods.append(.init("dmarc", dmarc.result.rawValue, comment: dmarcComment.isEmpty ? nil : dmarcComment.joined(separator: "; "),
                             properties: dmarc.fromDomain.map { [("header.from", $0)] } ?? []))
        var arcComment: String?
        if arc.instances > 0 {
            arcComment = "i=\(arc.instances)" + (arc.domains.isEmpty ? "" : " " + arc.domains.joined(separator: ",")) + (arc.result == .fail ? (arc.reason.map { ": \($0)" } ?? "") : "")
        }
        methods.append(.init("arc", arc.result.rawValue, comment: arcComment))
        return AuthenticationResults(authservID: configuration.authservID, methods: methods)
    }

    /// DKIM entries in Authentication-Results at most (the verifier checks 8 signatures).
    static let maxListedSignatures = 10

    /// fail (by disposition) > temperror > permerror > none > pass: the outcome that decides when
    /// a message names several author domains.
    static func severity(_ o: DMARCOutcome) -> Int {
        switch o.result {
        case .fail: 10 + (o.disposition == .reject ? 2 : o.disposition == .quarantine ? 1 : 0)
        case .temperror: 5
        case .permerror: 3
        case .none: 2
        case .pass: 0
        }
    }

    /// The domains of the message's `From:` addresses (RFC 7489 §6.6.1), lower-case, each once.
    public static func fromDomains(_ message: [UInt8]) -> [String] {
        let header = MIMEMessage.parse(SubmissionHeaderFacts.headerBlock(message))
        var out: [String] = []
        for address in header.from {
            guard let host = address.host?.lowercased(), !host.isEmpty, host != "missing_domain", !out.contains(host) else { continue }
            out.append(host)
        }
        return out
    }

    /// The client's name by forward-confirmed reverse DNS (RFC 8601 §3 "iprev"): a PTR name whose
    /// A/AAAA records include the address; nil otherwise.
    public func clientName(for ip: String) async -> String? {
        guard let address = IPAddress(ip), let names = try? await resolver.ptr(address).records else { return nil }
        for name in names.prefix(10) {
            let forward = (try? await resolver.a(name).records) ?? []
            let forward6 = forward.contains(address) ? [] : ((try? await resolver.aaaa(name).records) ?? [])
            if forward.contains(address) || forward6.contains(address) { return name.description }
        }
        return nil
    }
}
