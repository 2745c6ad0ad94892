import DNSCore
import Foundation
@testable import MailAuth
import Testing

/// DKIM verification (RFC 6376 §6, RFC 8463, RFC 8301) against dkimpy's corpus and our own signer,
/// plus the parsers and edge cases one at a time.
@Suite("DKIM verification")
struct DKIMVerifierTests {
    @Test("the dkimpy corpus: every signature as dkimpy says (pass ⇔ dkimpy verifies), tampered ones with their reason",
          .enabled(if: ReferenceCorpus.hasDkimpy, "dkimpy/PyNaCl are not installed (scripts/setup-test-deps.sh)"))
    func dkimpyCorpus() async throws {
        let corpus = try await ReferenceCorpus.run("dkim")
        let resolver = try ReferenceCorpus.resolver(corpus["records"] as? [String: Any] ?? [:])
        let verifier = DKIMVerifier(resolver: resolver)
        let cases = corpus["messages"] as? [[String: Any]] ?? []
        #expect(cases.count >= 90)
        var signatures = 0, passes = 0, refused = 0, agreed = 0, deviations: [String] = []
        for entry in cases {
            let name = entry["name"] as? String ?? "?"
            let expected = entry["signatures"] as? [[String: Any]] ?? []
            let outcomes = await verifier.verify(ReferenceCorpus.bytes(entry["message"]))
            #expect(outcomes.count == expected.count, "\(name): \(outcomes.count) outcomes for \(expected.count) signatures")
            for (outcome, want) in zip(outcomes, expected) {
                signatures += 1
                let dkimpy = want["dkimpy"] as? Bool ?? false
                let result = want["expect"] as? String ?? "pass"
                let deviation = want["deviation"] as? String
                #expect(outcome.result.rawValue == result, "\(name): \(outcome.result) (\(outcome.reason ?? "")), expected \(result)")
                if let reason = want["reason"] as? String {
                    #expect(outcome.reason?.contains(reason) == true, "\(name): reason \(outcome.reason ?? "nil"), expected …\(reason)…")
                }
                if let deviation {
                    #expect((outcome.result == .pass) != dkimpy, "\(name): marked as a deviation but we agree with dkimpy")
                    deviations.append("\(name): \(deviation)")
                } else {
                    #expect((outcome.result == .pass) == dkimpy, "\(name): \(outcome.result) (\(outcome.reason ?? "")) but dkimpy says \(dkimpy)")
                    if (outcome.result == .pass) == dkimpy { agreed += 1 }
                }
                if outcome.result == .pass { passes += 1 } else { refused += 1 }
                #expect(!outcome.domain.isEmpty && outcome.headerB.count == 12 || outcome.result == .permerror, "\(name): \(outcome)")
            }
        }
        print("DKIM corpus: \(cases.count) messages, \(signatures) signatures: \(passes) pass, \(refused) refused; "
              + "\(agreed) agree with dkimpy, \(deviations.count) deliberate deviations: \(deviations.joined(separator: "; "))")
    }

    static let message = Array([
        "From: Alice <alice@example.org>",
        "To: bob@example.net",
        "Subject: signed by Sealbox",
        "Date: Mon, 07 Dec 2026 10:00:00 +0000",
        "Message-ID: <own@example.org>",
        "",
        "Hello Bob,  ",
        "",
        "",
    ].map { $0 + "\r\n" }.joined().utf8)

    func resolver(_ keys: [DKIMSigningKey]) throws -> InMemoryDNSResolver {
        var resolver = InMemoryDNSResolver()
        for key in keys {
            try resolver.add(DNSName("\(key.selector)._domainkey.\(key.domain)"), [.txt(TXTRecord(text: key.dnsRecord))])
        }
        return resolver
    }

    @Test("our own DKIMSigner's signatures verify, both key types; a changed body fails both")
    func ownSigner() async throws {
        let keys = [try DKIMSigningKey.generate(domain: "example.org", selector: "e", algorithm: .ed25519),
                    try DKIMSigningKey.generate(domain: "example.org", selector: "r", algorithm: .rsa)]
        let signed = try DKIMSigner.sign(Self.message, keys: keys)
        let verifier = DKIMVerifier(resolver: try resolver(keys))
        let outcomes = await verifier.verify(signed)
        #expect(outcomes.map(\.result) == [.pass, .pass], "\(outcomes)")
        #expect(outcomes.map(\.algorithm) == ["ed25519-sha256", "rsa-sha256"])
        #expect(outcomes.allSatisfy { $0.domain == "example.org" && $0.identity == nil && $0.headerB.count == 12 })
        let text = String(decoding: signed, as: UTF8.self)
        #expect(outcomes[0].headerB == String(text.components(separatedBy: "\tb=")[1].prefix(12)))

        let tampered = Array(text.replacingOccurrences(of: "Hello Bob", with: "Hello Rob").utf8)
        #expect(await verifier.verify(tampered).map(\.reason) == ["body hash mismatch", "body hash mismatch"])
        #expect(await verifier.verify(Self.message).isEmpty)
    }

    @Test("DNS: NXDOMAIN is permerror (no key), a server failure temperror; several signatures fetch concurrently")
    func dnsErrors() async throws {
        let key = try DKIMSigningKey.generate(domain: "example.org", selector: "e", algorithm: .ed25519)
        let signed = try DKIMSigner.sign(Self.message, keys: [key])
        #expect(await DKIMVerifier(resolver: InMemoryDNSResolver()).verify(signed).first?.result == .permerror)
        var failing = InMemoryDNSResolver()
        failing.fail(try DNSName("e._domainkey.example.org"), .txt, with: .serverFailure)
        let outcome = await DKIMVerifier(resolver: failing).verify(signed)
        #expect(outcome.first?.result == .temperror && outcome.first?.reason?.contains("serverFailure") == true, "\(outcome)")
    }

    @Test("x= and t= against the verifier's clock, with a small skew")
    func clock() async throws {
        let key = try DKIMSigningKey.generate(domain: "example.org", selector: "e", algorithm: .ed25519)
        let signedAt = Date(timeIntervalSince1970: 1_800_000_000)
        let signed = try DKIMSigner.sign(Self.message, keys: [key], time: signedAt)
        let resolver = try resolver([key])
        func result(at seconds: TimeInterval) async -> DKIMResult? {
            await DKIMVerifier(resolver: resolver, now: { Date(timeIntervalSince1970: seconds) }).verify(signed).first?.result
        }
        #expect(await result(at: 1_800_000_000) == .pass)
        #expect(await result(at: 1_800_000_000 - 200) == .pass)  // within the skew
        #expect(await result(at: 1_800_000_000 - 4000) == .permerror)  // t= an hour ahead of us
    }

    @Test("more signatures than maxSignatures: the rest are permerror, in header order")
    func tooMany() async throws {
        let keys = try (0..<3).map { try DKIMSigningKey.generate(domain: "example.org", selector: "s\($0)", algorithm: .ed25519) }
        let signed = try DKIMSigner.sign(Self.message, keys: keys)
        let outcomes = await DKIMVerifier(resolver: try resolver(keys), maxSignatures: 2).verify(signed)
        #expect(outcomes.map(\.result) == [.pass, .pass, .permerror])
        #expect(outcomes.map(\.selector) == ["s0", "s1", "s2"])
        #expect(outcomes[2].reason == "too many signatures")
    }

    @Test("RSA keys under minimumRSABits fail")
    func minimumBits() async throws {
        let key = try DKIMSigningKey.generate(domain: "example.org", selector: "r", algorithm: .rsa)
        let signed = try DKIMSigner.sign(Self.message, keys: [key])
        let outcome = await DKIMVerifier(resolver: try resolver([key]), minimumRSABits: 3072).verify(signed)
        #expect(outcome.first?.result == .fail && outcome.first?.reason == "RSA key under 3072 bits")
    }

    // MARK: parsers

    @Test("tag lists: white space and folding, a trailing semicolon, duplicates and bad names refused")
    func tagList() throws {
        let list = try DKIMTagList.parse(Array(" v=1;\r\n\ta = rsa-sha256 ; b=ab\r\n\t cd ;".utf8))
        #expect(list.tags.map(\.name) == ["v", "a", "b"])
        #expect(list.text("a") == "rsa-sha256")
        #expect(list["b"] == Array("ab\r\n\t cd".utf8))
        #expect(DKIMTagList.compact(list["b"]!) == Array("abcd".utf8))
        #expect(try DKIMTagList.parse([]).tags.isEmpty)
        for bad in ["a=1; a=2", "a=1;;b=2", "1a=x", "a", "a=1; b", "a=\u{1}"] {
            #expect(throws: DKIMProblem.self, "\(bad)") { try DKIMTagList.parse(Array(bad.utf8)) }
        }
        #expect(throws: DKIMProblem.self) { try DKIMTagList.parse([UInt8](repeating: 0x61, count: DKIMLimits.maxTagListLength + 1)) }
        let many = (0...DKIMLimits.maxTags).map { "t\($0)=x" }.joined(separator: ";")
        #expect(throws: DKIMProblem.self) { try DKIMTagList.parse(Array(many.utf8)) }
    }

    @Test("b= is emptied exactly: its value goes, folding before and after the tag stays (RFC 6376 §3.7)")
    func removingSignature() {
        let raw = Array("DKIM-Signature: v=1; bh=AAAA;\r\n\tb=ab\r\n\t cd ;\r\n\tx=1".utf8)
        let fields = DKIMSignatureFields.parse(raw, kind: .dkim)
        #expect(String(decoding: fields.withoutSignature, as: UTF8.self) == "DKIM-Signature: v=1; bh=AAAA;\r\n\tb= ;\r\n\tx=1")
        let last = DKIMSignatureFields.parse(Array("DKIM-Signature: v=1; b=\r\n\tabcd".utf8), kind: .dkim)
        #expect(String(decoding: last.withoutSignature, as: UTF8.self) == "DKIM-Signature: v=1; b=")
    }

    @Test("signature fields: required tags, From in h=, i= within d=, algorithms, l=, canonicalizations")
    func signatureFields() {
        func problem(_ tags: String) -> String? {
            DKIMSignatureFields.parse(Array("DKIM-Signature: \(tags)".utf8), kind: .dkim).problem?.reason
        }
        let base = "v=1; a=rsa-sha256; d=example.org; s=s; h=from:to; bh=AAAA; b=AAAA"
        #expect(problem(base) == nil)
        #expect(problem(base + "; c=relaxed") == nil)
        #expect(DKIMSignatureFields.parse(Array("DKIM-Signature: \(base); c=relaxed".utf8), kind: .dkim).bodyCanonicalization == .simple)
        #expect(problem(base + "; c=fancy/simple")?.contains("canonicalization") == true)
        #expect(problem(base.replacingOccurrences(of: "v=1", with: "v=2"))?.contains("version") == true)
        #expect(problem(base.replacingOccurrences(of: "h=from:to", with: "h=to:subject")) == "From is not signed (h=)")
        #expect(problem(base.replacingOccurrences(of: "rsa-sha256", with: "rsa-sha1"))?.contains("RFC 8301") == true)
        #expect(problem(base.replacingOccurrences(of: "; s=s", with: "")) == "DKIM-Signature without s=")
        #expect(problem(base + "; i=user@mail.example.org") == nil)
        #expect(problem(base + "; i=user@badexample.org") == "i= is not within d=")
        #expect(problem(base + "; l=12x") == "invalid l=")
        #expect(problem(base + "; q=dns") == "q= without dns/txt")
        #expect(problem(base + "; t=100; x=50") == "x= before t=")
        #expect(problem(base.replacingOccurrences(of: "d=example.org", with: "d=exa mple.org")) != nil)
        let h = (0...DKIMLimits.maxSignedFields).map { _ in "from" }.joined(separator: ":")
        #expect(problem(base.replacingOccurrences(of: "h=from:to", with: "h=\(h)"))?.contains("h= lists more than") == true)
    }

    @Test("key records: v= first, k=, h=, s=, t=, p= empty is revoked; RSA modulus sizes from DER")
    func keyRecords() throws {
        let key = try DKIMSigningKey.generate(domain: "example.org", selector: "r", algorithm: .rsa)
        let record = try DKIMKeyRecord.parse(Array(key.dnsRecord.utf8))
        #expect(record.keyType == "rsa" && !record.isRevoked && record.allowsEmail)
        #expect(DKIMKeyRecord.rsaModulusBits(record.publicKey) == 2048)
        #expect(try DKIMKeyRecord.parse(Array("v=DKIM1; p=".utf8)).isRevoked)
        #expect(try DKIMKeyRecord.parse(Array("k=ed25519; t=y:s; s=email; h=sha256; p=AAAA".utf8)).isStrict)
        #expect(throws: DKIMProblem.self) { try DKIMKeyRecord.parse(Array("k=rsa; v=DKIM1; p=".utf8)) }
        #expect(throws: DKIMProblem.self) { try DKIMKeyRecord.parse(Array("v=DKIM2; p=".utf8)) }
        #expect(throws: DKIMProblem.self) { try DKIMKeyRecord.parse(Array("v=DKIM1; k=rsa".utf8)) }
        #expect(try DKIMKeyRecord.parse(Array("v=DKIM1; s=tlsrpt; p=AAAA".utf8)).allowsEmail == false)
        #expect(DKIMKeyRecord.rsaModulusBits([0x30, 0x03, 0x02, 0x01, 0x05]) == nil)
    }

    @Test("simple canonicalization: headers as written, body with empty lines at the end removed")
    func simpleCanonicalization() {
        #expect(DKIMCanonicalization.simpleHeader(Array("Subject:  Hi\r\n there".utf8)) == Array("Subject:  Hi\r\n there\r\n".utf8))
        #expect(DKIMCanonicalization.simpleBody([][...]) == Array("\r\n".utf8))
        #expect(DKIMCanonicalization.simpleBody(Array("\r\n\r\n".utf8)[...]) == Array("\r\n".utf8))
        #expect(DKIMCanonicalization.simpleBody(Array(" a  \r\n\r\nb\r\n\r\n \r\n\r\n".utf8)[...]) == Array(" a  \r\n\r\nb\r\n\r\n \r\n".utf8))
        #expect(DKIMCanonicalization.simpleBody(Array("a\nb".utf8)[...]) == Array("a\r\nb\r\n".utf8))
    }

    @Test("header selection: bottom up, absent fields as null")
    func selection() {
        let (fields, _) = DKIMCanonicalization.split(Array("To: 1\r\nFrom: f\r\nTo: 2\r\n\r\n".utf8))
        #expect(DKIMHeaderHash.select(fields, names: ["to", "from", "to", "to", "cc"]) == [2, 1, 0, nil, nil])
    }

    @Test("garbage never traps: random bytes and truncations of a signed message")
    func garbage() async throws {
        let key = try DKIMSigningKey.generate(domain: "example.org", selector: "e", algorithm: .ed25519)
        let signed = try DKIMSigner.sign(Self.message, keys: [key])
        let verifier = DKIMVerifier(resolver: try resolver([key]))
        var generator = SystemRandomNumberGenerator()
        for cut in stride(from: 0, to: signed.count, by: 7) {
            _ = await verifier.verify(Array(signed[..<cut]))
        }
        for _ in 0..<200 {
            var bytes = Array("DKIM-Signature:".utf8) + (0..<Int.random(in: 0..<300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            bytes += Array("\r\nFrom: a@b\r\n\r\nbody".utf8)
            let outcomes = await verifier.verify(bytes)
            #expect(outcomes.allSatisfy { $0.result != .pass })
        }
    }
}
