import DNSCore
import Foundation
import MailAuth
import TestSupport
import Testing

/// Sealbox's inbound results (`InboundAuthenticator.check`: SPF, each DKIM signature, DMARC, ARC)
/// compared with PyPI authheaders (pyspf, dkimpy, its own DMARC) on the corpus Scripts/auth_corpus.py
/// makes at test time: direct mail, alignment and policy cases, spoofs, several signatures, a
/// mailing list and a forwarder sealing ARC with dkimpy, broken chains, several authors; and
/// forwards through our own ARC sealer and DKIM signer, judged by authheaders in turn.
///
/// Every result agrees, or the case is listed in `deliberate` with why we differ on purpose.
@Suite("authheaders comparison")
struct AuthheadersComparisonTests {
    static let script = ReferenceCorpus.repositoryRoot.appendingPathComponent("Tests/MailAuthTests/Scripts/auth_corpus.py").path
    static let hasAuthheaders = ReferenceCorpus.pythonHas("authheaders, authres, dkim, spf, nacl, cryptography")

    /// Where Sealbox and authheaders part ways on purpose: case → compared result → why.
    static let deliberate: [String: [String: String]] = [
        "rsa-sha1 signature, SPF aligned": [
            "dkim": "RFC 8301 §3.1: verifiers must not accept rsa-sha1 (we say permerror); dkimpy still verifies it",
        ],
        "two signatures, a bad one first": [
            "dmarc": "authheaders checks the first DKIM-Signature only and DMARC sees only that one; RFC 7489 §4.2 and §6.6.2 pass "
                + "DMARC on any aligned signature that verifies (the second here)",
        ],
        "Sealbox forwarder: ARC sealed and signed, unmodified": [
            "dmarc": "the same first-signature-only check: our forwarder DKIM-signs on top (d=sealboxfwd.net, unaligned) and "
                + "authheaders never looks at the author's signature below it, which still verifies and aligns",
        ],
        "spoofed, record at the From domain with sp=": [
            "dmarc.policy": "authheaders applies sp= to the From domain itself when the record is the From domain's own "
                + "(dmarc_per_from sets orgdomain to the From domain, then takes sp=); RFC 7489 §6.3: sp= is for subdomains",
        ],
        "ARC chain sealed with cv=fail": [
            "arc": "dkimpy's ARC.verify returns no cv for a chain a seal with cv=fail ended, and authheaders writes arc=none; "
                + "RFC 8617 §5.2 step 2: an ARC-Seal with cv=fail makes the chain fail",
        ],
        "two From addresses: p=reject passes, p=quarantine fails": [
            "dmarc": "several authors (RFC 7489 §6.6.1): authheaders reports the domain with the strictest published policy "
                + "(exampleauthor.com, p=reject, which passes); we report the worst outcome of all authors (exampleshop.com fails)",
            "dmarc.policy": "the same choice of author domain: its p=reject, our failing domain's p=quarantine",
            "dmarc.from": "the same choice of author domain",
        ],
        "two From addresses, SPF pass unaligned": [
            "dmarc": "authheaders.authenticate_message raises on this message (dmarc_per_from rewrites the SPF result's "
                + "smtp.mailfrom to a domain for the first author, to None for the second, and authres cannot write None); "
                + "its check_dmarc alone picks the strictest-policy author as above; we report the worst outcome",
            "dmarc.policy": "as for dmarc: another author domain",
            "dmarc.from": "as for dmarc: another author domain",
        ],
        "From domain with a hyphen, aligned DKIM": [
            "dmarc": "authheaders' get_domain_part reads the From domain with [a-z0-9.]+, stops at the hyphen of my-bank.com "
                + "and finds no DMARC record for \"my\"; the domain's record is p=reject and its aligned DKIM signature passes",
        ],
        "null MAIL FROM, HELO SPF pass aligned": [
            "dmarc": "authheaders raises (TypeError in get_domain_part: the SPF result of a null MAIL FROM has no smtp.mailfrom); "
                + "the SPF identity of <> is postmaster@HELO (RFC 7208 §2.4), which we align with the From domain",
        ],
    ]

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The script's JSON for `mode` (stdin: `input`).
    static func run(_ mode: String, input: [UInt8]? = nil) async throws -> [String: Any] {
        let result = try await ChildProcess.run(ReferenceCorpus.python, [script, mode], stdin: input, timeout: .seconds(300))
        guard result.ok else { throw Failure(description: "auth_corpus.py \(mode) failed: \(result.stderr)") }
        guard let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw Failure(description: "auth_corpus.py \(mode): not a JSON object")
        }
        return json
    }

    /// A resolver answering a case's table ({NAME: {"TXT": [...], "A": [...], "MX": [[pref, host]], "PTR": [...]}}).
    static func resolver(_ table: [String: Any]) throws -> InMemoryDNSResolver {
        var resolver = InMemoryDNSResolver()
        for (name, value) in table {
            let types = value as? [String: Any] ?? [:]
            var records: [DNSRecord] = []
            for text in types["TXT"] as? [String] ?? [] { records.append(.txt(TXTRecord(text: text))) }
            for ip in types["A"] as? [String] ?? [] { records.append(.a(try #require(IPAddress(ip)))) }
            for ip in types["AAAA"] as? [String] ?? [] { records.append(.aaaa(try #require(IPAddress(ip)))) }
            for mx in types["MX"] as? [[Any]] ?? [] {
                let preference = try #require(mx.first as? Int), host = try #require(mx.last as? String)
                records.append(.mx(MXRecord(preference: UInt16(preference), exchange: try DNSName(host))))
            }
            for host in types["PTR"] as? [String] ?? [] { records.append(.ptr(try DNSName(host))) }
            resolver.add(try DNSName(name), records)
        }
        return resolver
    }

    /// Debian's list, as the MX uses it (and as the script makes authheaders use it); else the suffixes of the corpus.
    static func publicSuffixList() throws -> PublicSuffixList {
        if FileManager.default.fileExists(atPath: PublicSuffixList.debianPath) {
            return try PublicSuffixList(contentsOf: PublicSuffixList.debianPath)
        }
        return PublicSuffixList(text: "com\nnet\norg\nuk\nco.uk")
    }

    static func authenticator(_ table: [String: Any]) throws -> InboundAuthenticator {
        InboundAuthenticator(resolver: try resolver(table), publicSuffixList: try publicSuffixList(),
                             configuration: .unhurried("mx.test"), dmarcSample: { 0 })
    }

    /// One compared result: what we say, what authheaders says.
    struct Comparison {
        var key: String
        var ours: String
        var theirs: String
        var agrees: Bool { ours == theirs }
    }

    /// authheaders and dkimpy name DKIM results pass, fail (every DKIMException, including what RFC 8601 calls
    /// permerror) and temperror (DNS): ours folded the same way.
    static func folded(_ result: DKIMResult) -> String {
        switch result {
        case .pass: "pass"
        case .none: "none"
        case .temperror: "temperror"
        case .fail, .permerror, .neutral, .policy: "fail"
        }
    }

    /// Our report against authheaders' verdict (`authheaders`) and dkimpy's per-signature results (`dkimpy`).
    static func compare(_ report: InboundAuthenticator.Report, _ entry: [String: Any]) -> [Comparison] {
        let theirs = entry["authheaders"] as? [String: Any] ?? [:]
        let dkimpy = entry["dkimpy"] as? [String] ?? []
        var out: [Comparison] = []
        out.append(Comparison(key: "spf", ours: report.spf?.result.rawValue ?? "none", theirs: theirs["spf"] as? String ?? "nil"))

        // authheaders' one DKIM result is the first signature's. With no signature at all it writes dkim=fail with an empty
        // header.d (dkimpy's verify() returns False): that is RFC 8601's none.
        let theirDKIM = (theirs["dkim"] as? [[String: Any]])?.first ?? [:]
        var theirFirst = "\(theirDKIM["result"] as? String ?? "nil") d=\(theirDKIM["d"] as? String ?? "")"
        if dkimpy.isEmpty, theirFirst == "fail d=" { theirFirst = "none d=" }
        let ourFirst = report.dkim.first.map { "\(folded($0.result)) d=\($0.domain)" } ?? "none d="
        out.append(Comparison(key: "dkim", ours: ourFirst, theirs: theirFirst))
        // Every later signature: dkimpy's check, the one authheaders makes for the first.
        for index in 1..<max(1, max(report.dkim.count, dkimpy.count)) {
            out.append(Comparison(key: "dkim[\(index)]", ours: index < report.dkim.count ? folded(report.dkim[index].result) : "missing",
                                  theirs: index < dkimpy.count ? dkimpy[index] : "missing"))
        }

        let dmarc = theirs["dmarc"] as? [String: Any] ?? [:]
        let theirResult = dmarc["result"] as? String ?? "nil"
        out.append(Comparison(key: "dmarc", ours: report.dmarc.result.rawValue, theirs: theirResult))
        // Policy and author domain where both found a record (authheaders leaves them empty without one, and has none
        // where it raised).
        if theirResult != "none", report.dmarc.result != .none, !theirResult.hasPrefix("raises") {
            out.append(Comparison(key: "dmarc.policy", ours: report.dmarc.requestedPolicy?.rawValue ?? "",
                                  theirs: dmarc["policy"] as? String ?? ""))
            out.append(Comparison(key: "dmarc.from", ours: report.dmarc.fromDomain ?? "", theirs: dmarc["from"] as? String ?? ""))
        }
        out.append(Comparison(key: "arc", ours: report.arc.result.rawValue, theirs: theirs["arc"] as? String ?? "nil"))
        return out
    }

    struct Tally {
        var total = 0, agree = 0, deliberate = 0
        var used: Set<String> = []
        var lines: [String] = []

        /// Counts one case; records an issue for a difference not listed, and for a listed one that did not happen.
        mutating func add(_ name: String, _ comparisons: [Comparison], entry: [String: Any]) {
            let listed = AuthheadersComparisonTests.deliberate[name] ?? [:]
            var notes: [String] = []
            for c in comparisons {
                total += 1
                if c.agrees {
                    agree += 1
                    #expect(listed[c.key] == nil, "\(name): \(c.key) is listed as a deliberate difference but agrees (\(c.ours))")
                    continue
                }
                if let why = listed[c.key] {
                    deliberate += 1
                    used.insert("\(name)/\(c.key)")
                    notes.append("\(c.key): ours \(c.ours), authheaders \(c.theirs) (\(why.prefix(60))…)")
                } else {
                    Issue.record("""
                        \(name): \(c.key) differs: ours \(c.ours), authheaders \(c.theirs)
                        authheaders: \(entry["field"] as? String ?? "raised \(entry["error"] as? String ?? "?")")
                        """)
                    notes.append("\(c.key): ours \(c.ours), authheaders \(c.theirs) UNEXPECTED")
                }
            }
            if let error = entry["error"] as? String { notes.append("authheaders raised \(error)") }
            lines.append("\(name): " + (notes.isEmpty ? "agree" : notes.joined(separator: "; ")))
        }
    }

    @Test("every result agrees with authheaders, or differs on purpose for a listed reason",
          .enabled(if: hasAuthheaders, "authheaders/authres/dkimpy/pyspf are not installed (scripts/setup-test-deps.sh)"))
    func corpus() async throws {
        let corpus = try await Self.run("corpus")
        let cases = corpus["cases"] as? [[String: Any]] ?? []
        #expect(cases.count >= 30)
        var tally = Tally()
        var byName: [String: [String: Any]] = [:]
        for entry in cases {
            let name = entry["name"] as? String ?? "?"
            byName[name] = entry
            let auth = try Self.authenticator(entry["dns"] as? [String: Any] ?? [:])
            let report = await auth.check(message: ReferenceCorpus.bytes(entry["message"]), clientIP: entry["ip"] as? String ?? "",
                                          helo: entry["helo"] as? String ?? "", mailFrom: entry["mailFrom"] as? String ?? "")
            #expect(!report.timedOut, "\(name)")
            tally.add(name, Self.compare(report, entry), entry: entry)
        }

        // Forwards through our own forwarder: the MX's results sealed with ARCSealer, then DKIM-signed (OutboundWorker's
        // order), relayed from our address with an SRS MAIL FROM; authheaders judges them in turn.
        let direct = try #require(byName["aligned DKIM and SPF pass, p=reject"])
        let listed = try #require(byName["mailing list: modified, ARC sealed, re-signed by the list"])
        let key = try DKIMSigningKey.generate(domain: "sealboxfwd.net", selector: "arc", algorithm: .rsa)
        let forwards: [(String, [String: Any], (([UInt8]) -> [UInt8])?)] = [
            ("Sealbox forwarder: ARC sealed and signed, unmodified", direct, nil),
            ("Sealbox forwarder after the list: a dkimpy set then ours", listed, nil),
            ("Sealbox forwarder: body changed after our seal", direct, { message in
                Array(String(decoding: message, as: UTF8.self).replacingOccurrences(of: "Q2  14", with: "Q2  41").utf8)
            }),
        ]
        for (name, upstream, change) in forwards {
            var table = upstream["dns"] as? [String: Any] ?? [:]
            let received = try await Self.authenticator(table).check(
                message: ReferenceCorpus.bytes(upstream["message"]), clientIP: upstream["ip"] as? String ?? "",
                helo: upstream["helo"] as? String ?? "", mailFrom: upstream["mailFrom"] as? String ?? "")
            let sealed = try ARCSealer.seal(ReferenceCorpus.bytes(upstream["message"]), key: key, authservID: "mx.sealboxfwd.net",
                                            authenticationResults: received.results.resultsText, chain: received.arc)
            var forwarded = try DKIMSigner.sign(sealed, keys: [key])
            if let change { forwarded = change(forwarded) }
            table["arc._domainkey.sealboxfwd.net"] = ["TXT": [key.dnsRecord]]
            table["sealboxfwd.net"] = ["TXT": ["v=spf1 ip4:192.0.2.200 -all"]]
            var entry: [String: Any] = ["message": Data(forwarded).base64EncodedString(), "ip": "192.0.2.200", "helo": "mx.sealboxfwd.net",
                                        "mailFrom": "SRS0=HHH=TT=exampleauthor.com=alice@sealboxfwd.net", "dns": table]
            let judged = try await Self.run("authenticate", input: Array(try JSONSerialization.data(withJSONObject: entry)))
            entry.merge(judged) { _, new in new }
            let report = try await Self.authenticator(table).check(message: forwarded, clientIP: "192.0.2.200", helo: "mx.sealboxfwd.net",
                                                                   mailFrom: "SRS0=HHH=TT=exampleauthor.com=alice@sealboxfwd.net")
            #expect(report.arc.result == (change == nil ? .pass : .fail), "\(name): \(report.arc)")
            tally.add(name, Self.compare(report, entry), entry: entry)
        }

        // Every listed difference still happens (the list does not outlive what it explains).
        for (name, keys) in Self.deliberate {
            for key in keys.keys { #expect(tally.used.contains("\(name)/\(key)"), "\(name)/\(key) is listed but no longer differs") }
        }
        print("authheaders comparison (public suffix list: \(corpus["psl"] as? String ?? "?")):\n  " + tally.lines.joined(separator: "\n  "))
        print("authheaders comparison: \(tally.agree) of \(tally.total) results agree, \(tally.deliberate) deliberate differences")
        #expect(tally.agree + tally.deliberate == tally.total)
    }
}
