import DNSCore
import Foundation
import MailAuth
import TestSupport
import Testing

/// The official RFC 7208 test suite (openspf.org release 2014.04, as shipped in PyPI pyspf 2.0.14's
/// source distribution, fetched by scripts/setup-test-deps.sh into .deps/spf-tests; never committed).
/// Each scenario's zone data is loaded into an `InMemoryDNSResolver` the way the suite's reference
/// driver (pyspf's test/testspf.py) serves it, and every case goes through `SPFVerifier.verify`
/// (check_host() on the MAIL FROM identity, or postmaster@HELO when MAIL FROM is empty, as the
/// driver's `spf.query(i, s, h).check()` does).
@Suite struct RFC7208SuiteTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let suitePath = root.appendingPathComponent(".deps/spf-tests/rfc7208-tests-2.0.14.yml").path

    /// Cases not run, with the reason. None: every case of the suite runs.
    static let skipped: [String: String] = [:]

    /// Cases whose explanation is compared without regard to case, with the reason.
    static let explanationIgnoringCase: [String: String] = [
        "v-macro-ip6": "the suite expects %{ir} of an IPv6 address in upper-case nibbles (pyspf's output); RFC 7208 §7.4's "
            + "example expands it in lower case, as Sealbox does (DNS names compare without case)",
    ]

    struct Case {
        var scenarioIndex: Int
        var scenario: String
        var name: String
        var host: String
        var helo: String
        var mailFrom: String
        var results: [String]
        var explanation: String?
    }

    @Test("every case of the RFC 7208 test suite passes") func suite() async throws {
        let (scenarios, cases) = try await Self.load()
        #expect(cases.count >= 190, "the suite has lost cases: \(cases.count)")
        var passed = 0, skipped = 0
        for (index, resolver) in scenarios.enumerated() {
            let verifier = SPFVerifier(resolver: resolver, receivingHost: "receiver.example.net")
            for test in cases where test.scenarioIndex == index {
                if Self.skipped[test.name] != nil { skipped += 1; continue }
                let ip = try #require(IPAddress(test.host), "\(test.name): host \(test.host)")
                let outcome = await verifier.verify(ip: ip, helo: test.helo, mailFrom: test.mailFrom)
                var ok = test.results.contains(outcome.result.rawValue)
                if let expected = test.explanation {
                    // The driver's default explanation is "DEFAULT": a fail without a usable exp=.
                    let got = outcome.explanation ?? "DEFAULT"
                    ok = ok && (Self.explanationIgnoringCase[test.name] != nil ? got.lowercased() == expected.lowercased() : got == expected)
                }
                if ok {
                    passed += 1
                } else {
                    Issue.record("""
                        \(test.name) (\(test.scenario)): expected \(test.results.joined(separator: " or "))\
                        \(test.explanation.map { " with explanation \"\($0)\"" } ?? ""), got \(outcome.result.rawValue)\
                        \(outcome.explanation.map { " with explanation \"\($0)\"" } ?? "") (\(outcome.reason ?? "no reason"))
                        """)
                }
            }
        }
        print("RFC 7208 test suite: \(passed) of \(cases.count) cases passed, \(skipped) skipped")
        #expect(passed + skipped == cases.count)
    }

    // MARK: - Loading

    /// The scenarios' resolvers (in file order) and every case.
    static func load() async throws -> ([InMemoryDNSResolver], [Case]) {
        guard FileManager.default.fileExists(atPath: suitePath) else {
            throw Failure(description: "\(suitePath) is missing: run scripts/setup-test-deps.sh")
        }
        let python = ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"] ?? root.appendingPathComponent(".deps/test-venv/bin/python").path
        let script = "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1], 'rb'))), sys.stdout)"
        let run = try await ChildProcess.run(python, ["-c", script, suitePath], timeout: .seconds(120))
        guard run.ok else { throw Failure(description: "YAML to JSON with \(python) failed: \(run.stderr)") }
        guard let documents = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]] else {
            throw Failure(description: "the suite is not a list of scenarios")
        }
        var resolvers: [InMemoryDNSResolver] = []
        var cases: [Case] = []
        for (index, document) in documents.enumerated() {
            let title = document["description"] as? String ?? "scenario \(index)"
            resolvers.append(try zone(document["zonedata"] as? [String: Any] ?? [:]))
            for (name, value) in document["tests"] as? [String: Any] ?? [:] {
                guard let fields = value as? [String: Any] else { throw Failure(description: "case \(name)") }
                let result = fields["result"]
                let results = (result as? [String]) ?? (result as? String).map { [$0] } ?? []
                cases.append(Case(scenarioIndex: index, scenario: title, name: name, host: fields["host"] as? String ?? "", helo: fields["helo"] as? String ?? "",
                                  mailFrom: fields["mailfrom"] as? String ?? "", results: results,
                                  explanation: fields["explanation"] as? String))
            }
        }
        return (resolvers, cases.sorted { ($0.scenario, $0.name) < ($1.scenario, $1.name) })
    }

    /// A scenario's zone data, served as testspf.py's DNSLookup serves it:
    /// - a name's SPF (type 99) records are not served (Sealbox asks for TXT only), but when the
    ///   name has no TXT entry at all they are served as TXT records: the suite relies on that
    ///   "auto-magic duplication of SPF to TXT records by test suite drivers" (its header);
    /// - `TXT: NONE` is no record (and stops that duplication);
    /// - a bare `TIMEOUT` makes every question about the name time out, except for types whose
    ///   records come before it in the list; `TYPE: TIMEOUT` makes that type time out;
    /// - TXT strings given as a list are the record's character-strings.
    static func zone(_ data: [String: Any]) throws -> InMemoryDNSResolver {
        var resolver = InMemoryDNSResolver()
        let queried: [(String, DNSRecordType)] = [("A", .a), ("AAAA", .aaaa), ("MX", .mx), ("TXT", .txt), ("PTR", .ptr), ("CNAME", .cname)]
        for (owner, value) in data {
            let name = try dnsName(owner)
            var records: [DNSRecord] = []
            var generated: [DNSRecord] = []
            var hasTXT = false
            var typesBeforeTimeout: Set<String>?
            var seen: Set<String> = []
            for entry in value as? [Any] ?? [] {
                if entry as? String == "TIMEOUT" {
                    if typesBeforeTimeout == nil { typesBeforeTimeout = seen }
                    continue
                }
                guard let map = entry as? [String: Any], map.count == 1, let first = map.first else {
                    throw Failure(description: "\(owner): \(entry)")
                }
                let (type, rdata) = (first.key, first.value)
                if type == "TXT" { hasTXT = true }
                if rdata as? String == "TIMEOUT" {
                    if let t = queried.first(where: { $0.0 == type }) { resolver.fail(name, t.1, with: .timedOut) }
                    continue
                }
                if rdata as? String == "NONE" { continue }
                seen.insert(type)
                switch type {
                case "SPF": generated.append(.txt(txt(rdata)))
                case "TXT": records.append(.txt(txt(rdata)))
                case "A":
                    guard let s = rdata as? String, let ip = IPAddress(s), ip.isIPv4 else { throw Failure(description: "A \(rdata)") }
                    records.append(.a(ip))
                case "AAAA":
                    guard let s = rdata as? String, let ip = IPAddress(s), !ip.isIPv4 else { throw Failure(description: "AAAA \(rdata)") }
                    records.append(.aaaa(ip))
                case "MX":
                    guard let pair = rdata as? [Any], pair.count == 2, let preference = pair[0] as? Int, let host = pair[1] as? String else {
                        throw Failure(description: "MX \(rdata)")
                    }
                    records.append(.mx(MXRecord(preference: UInt16(preference), exchange: try dnsName(host))))
                case "PTR": records.append(.ptr(try dnsName(rdata as? String ?? "")))
                case "CNAME": records.append(.cname(try dnsName(rdata as? String ?? "")))
                default: throw Failure(description: "record type \(type)")
                }
            }
            if !hasTXT { records += generated }
            resolver.add(name, records)  // with no records the name still exists: NODATA, not NXDOMAIN
            if let before = typesBeforeTimeout {
                for (label, type) in queried where !before.contains(label) { resolver.fail(name, type, with: .timedOut) }
            }
        }
        return resolver
    }

    /// Names as raw labels split on dots (the suite has names with spaces, colons and slashes).
    static func dnsName(_ text: String) throws -> DNSName {
        var text = Substring(text)
        if text.hasSuffix(".") { text = text.dropLast() }
        if text.isEmpty { return .root }
        return try DNSName(labels: text.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) })
    }

    /// A TXT record from a string or a list of strings (the YAML's "\xEF" is U+00EF: its UTF-8
    /// bytes, as the reference driver sends them).
    static func txt(_ value: Any) -> TXTRecord {
        let strings = (value as? [String]) ?? (value as? String).map { [$0] } ?? []
        return TXTRecord(strings: strings.map { Array($0.utf8) })
    }

    struct Failure: Error, CustomStringConvertible { var description: String }
}
