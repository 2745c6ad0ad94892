import DNSCore
import Foundation
@testable import MailAuth
import Testing

/// ARC (RFC 8617): chains sealed by dkimpy's arc_sign checked against dkimpy's arc_verify, and our
/// sealer's sets checked by arc_verify and by our own verifier.
@Suite("ARC")
struct ARCTests {
    @Test("the dkimpy ARC corpus: 1–3 hops pass, tampered and broken chains fail, as dkimpy's arc_verify says",
          .enabled(if: ReferenceCorpus.hasARCSigner, "dkimpy/PyNaCl/authres are not installed (scripts/setup-test-deps.sh)"))
    func dkimpyCorpus() async throws {
        let corpus = try await ReferenceCorpus.run("arc")
        let verifier = ARCVerifier(resolver: try ReferenceCorpus.resolver(corpus["records"] as? [String: Any] ?? [:]))
        let cases = corpus["messages"] as? [[String: Any]] ?? []
        #expect(cases.count >= 12)
        var summary: [String] = []
        for entry in cases {
            let name = entry["name"] as? String ?? "?"
            let want = entry["expect"] as? [String: Any] ?? [:]
            let outcome = await verifier.verify(ReferenceCorpus.bytes(entry["message"]))
            // dkimpy: "pass", "fail", "none", or "None" for a chain a cv=fail ended (a failed chain).
            let dkimpy = entry["dkimpy"] as? String ?? "?"
            #expect(outcome.result.rawValue == (dkimpy == "None" ? "fail" : dkimpy), "\(name): \(outcome) but dkimpy says \(dkimpy)")
            #expect(outcome.result.rawValue == want["result"] as? String, "\(name): \(outcome)")
            #expect(outcome.instances == want["instances"] as? Int, "\(name): \(outcome)")
            if let oldest = want["oldestPass"] as? Int { #expect(outcome.oldestPass == oldest, "\(name): \(outcome)") }
            if let reason = want["reason"] as? String { #expect(outcome.reason?.contains(reason) == true, "\(name): \(outcome)") }
            if outcome.result != .none { #expect(outcome.domains.first == "fwd1.example", "\(name): \(outcome.domains)") }
            summary.append("\(name): \(outcome.result.rawValue)\(outcome.oldestPass.map { " oldest-pass=\($0)" } ?? "")")
        }
        print("ARC corpus: \(cases.count) messages agree with dkimpy: \(summary.joined(separator: "; "))")
    }

    static let message = Array([
        "From: Alice <alice@example.org>",
        "To: list@lists.example.net",
        "Subject: forwarded",
        "Date: Mon, 07 Dec 2026 10:00:00 +0000",
        "Message-ID: <arc-own@example.org>",
        "",
        "Hello,",
        "",
    ].map { $0 + "\r\n" }.joined().utf8)

    static let results = "spf=pass smtp.mailfrom=alice@example.org; dkim=pass header.d=example.org header.b=\"abc;def\"; dmarc=pass header.from=example.org"

    func arcVerify(_ message: [UInt8], records: [String: [String]]) async throws -> (cv: String, reason: String) {
        let request: [String: Any] = ["message": Data(message).base64EncodedString(), "records": records]
        let json = try await ReferenceCorpus.run("arc-verify", input: Array(try JSONSerialization.data(withJSONObject: request)))
        return (json["cv"] as? String ?? "?", json["reason"] as? String ?? "")
    }

    @Test("our sealer: a first hop and a second on top of it pass arc_verify and our verifier; a failed chain is sealed cv=fail",
          .enabled(if: ReferenceCorpus.hasDkimpy, "dkimpy/PyNaCl are not installed (scripts/setup-test-deps.sh)"))
    func sealerAgainstDkimpy() async throws {
        let first = try DKIMSigningKey.generate(domain: "relay.example", selector: "arc1", algorithm: .rsa)
        let second = try DKIMSigningKey.generate(domain: "list.example", selector: "arc2", algorithm: .rsa)
        let records = [first, second].reduce(into: [String: [String]]()) { $0["\($1.selector)._domainkey.\($1.domain)"] = [$1.dnsRecord] }
        let verifier = ARCVerifier(resolver: try ReferenceCorpus.resolver(records))

        let none = await verifier.verify(Self.message)
        #expect(none == ARCOutcome(result: .none, instances: 0))
        let hop1 = try ARCSealer.seal(Self.message, key: first, authservID: "mx.relay.example", authenticationResults: Self.results, chain: none)
        let text = String(decoding: hop1, as: UTF8.self)
        #expect(text.hasPrefix("ARC-Seal: i=1; a=rsa-sha256; t="), "\(text)")
        #expect(text.contains("cv=none") && text.contains("ARC-Message-Signature: i=1;"))
        #expect(text.contains("ARC-Authentication-Results: i=1; mx.relay.example;\r\n\tspf=pass smtp.mailfrom=alice@example.org;\r\n\tdkim=pass"))
        #expect(text.contains("header.b=\"abc;def\";\r\n\tdmarc=pass"))
        for line in text.prefix(text.count - Self.message.count).split(separator: "\r\n") where line.count > 78 {
            Issue.record("line over 78: \(line)")
        }
        let verified1 = await verifier.verify(hop1)
        #expect(verified1 == ARCOutcome(result: .pass, instances: 1, oldestPass: 0, domains: ["relay.example"]))
        #expect(try await arcVerify(hop1, records: records).cv == "pass")

        let hop2 = try ARCSealer.seal(hop1, key: second, authservID: "mx.list.example", authenticationResults: "arc=pass", chain: verified1)
        let verified2 = await verifier.verify(hop2)
        #expect(verified2 == ARCOutcome(result: .pass, instances: 2, oldestPass: 0, domains: ["relay.example", "list.example"]))
        #expect(try await arcVerify(hop2, records: records).cv == "pass")

        // A changed body after the first hop: the chain fails; the next hop seals cv=fail over its own set.
        let changed = Array(String(decoding: hop1, as: UTF8.self).replacingOccurrences(of: "Hello,", with: "Hello!").utf8)
        let failed = await verifier.verify(changed)
        #expect(failed.result == .fail && failed.reason?.contains("ARC-Message-Signature i=1") == true, "\(failed)")
        let hop2f = try ARCSealer.seal(changed, key: second, authservID: "mx.list.example", authenticationResults: "arc=fail", chain: failed)
        #expect(String(decoding: hop2f, as: UTF8.self).hasPrefix("ARC-Seal: i=2; a=rsa-sha256;"))
        #expect(String(decoding: hop2f, as: UTF8.self).contains("cv=fail"))
        let afterFail = await verifier.verify(hop2f)
        #expect(afterFail.result == .fail && afterFail.reason == "ARC-Seal i=2 has cv=fail", "\(afterFail)")
        let dkimpyFail = try await arcVerify(hop2f, records: records)
        #expect(dkimpyFail.cv == "None" || dkimpyFail.cv == "fail", "\(dkimpyFail)")
        // …and that new seal is valid over its own set alone (RFC 8617 §5.1.2).
        var prepared = DKIMMessage(hop2f)
        let seal = DKIMSignatureFields.parse(prepared.fields[0].raw, kind: .arcSeal)
        let input = ARCHeaderSets.sealInput(previous: [], aar: prepared.fields[2].raw, ams: prepared.fields[1].raw, ownSeal: seal.withoutSignature)
        let key = try DKIMKeyRecord.parse(Array(second.dnsRecord.utf8))
        #expect(DKIMSignatureCheck.check(seal, key: .success(key), message: &prepared, minimumRSABits: 1024,
                                         now: Int64(Date().timeIntervalSince1970), sealInput: input) == nil)
    }

    @Test("our sealer on top of a chain dkimpy made: arc_verify and our verifier pass it",
          .enabled(if: ReferenceCorpus.hasARCSigner, "dkimpy/PyNaCl/authres are not installed (scripts/setup-test-deps.sh)"))
    func sealerOnDkimpyChain() async throws {
        let corpus = try await ReferenceCorpus.run("arc")
        var records = (corpus["records"] as? [String: [String]]) ?? [:]
        let key = try DKIMSigningKey.generate(domain: "sealbox.example", selector: "arc", algorithm: .rsa)
        records["arc._domainkey.sealbox.example"] = [key.dnsRecord]
        let verifier = ARCVerifier(resolver: try ReferenceCorpus.resolver(records))
        let cases = corpus["messages"] as? [[String: Any]] ?? []
        for name in ["2 hops", "3 hops", "subject rewritten between hops"] {
            let message = ReferenceCorpus.bytes(cases.first { $0["name"] as? String == name }?["message"])
            let chain = await verifier.verify(message)
            #expect(chain.result == .pass, "\(name): \(chain)")
            let sealed = try ARCSealer.seal(message, key: key, authservID: "mx.sealbox.example", authenticationResults: "arc=pass", chain: chain)
            let ours = await verifier.verify(sealed)
            #expect(ours.result == .pass && ours.instances == chain.instances + 1 && ours.domains.last == "sealbox.example", "\(name): \(ours)")
            let theirs = try await arcVerify(sealed, records: records)
            #expect(theirs.cv == "pass", "\(name): dkimpy says \(theirs)")
        }
    }

    @Test("an Ed25519 sealer: our verifier accepts it")
    func ed25519Seal() async throws {
        let key = try DKIMSigningKey.generate(domain: "relay.example", selector: "e", algorithm: .ed25519)
        var resolver = InMemoryDNSResolver()
        try resolver.add(DNSName("e._domainkey.relay.example"), [.txt(TXTRecord(text: key.dnsRecord))])
        let verifier = ARCVerifier(resolver: resolver)
        var message = Self.message
        var chain = ARCOutcome(result: .none, instances: 0)
        for hop in 1...3 {
            message = try ARCSealer.seal(message, key: key, authservID: "mx\(hop).relay.example", authenticationResults: "", chain: chain)
            chain = await verifier.verify(message)
            #expect(chain.result == .pass && chain.instances == hop, "\(chain)")
        }
        #expect(String(decoding: message, as: UTF8.self).contains("ARC-Authentication-Results: i=3; mx3.relay.example; none\r\n"))
    }

    @Test("structure: gaps, duplicates, out-of-range instances, a bad cv=, 50 at most; the sealer refuses a 51st set")
    func structure() async throws {
        let key = try DKIMSigningKey.generate(domain: "relay.example", selector: "e", algorithm: .ed25519)
        var resolver = InMemoryDNSResolver()
        try resolver.add(DNSName("e._domainkey.relay.example"), [.txt(TXTRecord(text: key.dnsRecord))])
        let verifier = ARCVerifier(resolver: resolver)
        let hop1 = try ARCSealer.seal(Self.message, key: key, authservID: "a.example", authenticationResults: "", chain: ARCOutcome(result: .none, instances: 0))
        let text = String(decoding: hop1, as: UTF8.self)

        func outcome(_ transform: (String) -> String) async -> ARCOutcome { await verifier.verify(Array(transform(text).utf8)) }
        #expect(await outcome { $0.replacingOccurrences(of: "i=1;", with: "i=2;") }.reason == "instance 1 has no ARC-Seal")
        #expect(await outcome { $0.replacingOccurrences(of: "ARC-Seal: i=1;", with: "ARC-Seal: i=0;") }.reason?.contains("out of range") == true)
        #expect(await outcome { $0.replacingOccurrences(of: "ARC-Seal: i=1;", with: "ARC-Seal: i=51;") }.reason?.contains("out of range") == true)
        #expect(await outcome { $0.replacingOccurrences(of: "cv=none", with: "cv=pass") }.reason == "ARC-Seal i=1 has cv=pass, not none")
        #expect(await outcome { $0.replacingOccurrences(of: "ARC-Authentication-Results: i=1;", with: "ARC-Authentication-Results: i=x;") }
            .reason?.contains("without a valid i=") == true)
        #expect(await outcome { "ARC-Authentication-Results: i=1; b.example; none\r\n" + $0 }.reason == "instance 1 has 2 ARC-Authentication-Results fields")
        #expect(await outcome { $0.replacingOccurrences(of: "ARC-Seal: i=1;", with: "ARC-Seal: i=1; h=from;") }.reason?.contains("h=") == true)
        #expect(await outcome { $0 }.result == .pass)

        // The sealer stops at 50 sets.
        #expect(throws: ARCSealer.Failure.self) {
            try ARCSealer.seal(hop1, key: key, authservID: "a.example", authenticationResults: "", chain: ARCOutcome(result: .pass, instances: 50))
        }
        #expect(throws: ARCSealer.Failure.self) {
            try ARCSealer.seal(hop1, key: key, authservID: "a.example\r\nX-Injected: 1", authenticationResults: "", chain: ARCOutcome(result: .pass, instances: 1))
        }
    }
}
