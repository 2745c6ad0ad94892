import Foundation
import MailAuth
import Outbound
import Testing

/// DKIM signing (RFC 6376, RFC 8463): the relaxed canonicalizations against the RFC's own
/// example, and every signature checked by an independent verifier (dkimpy), both algorithms.
@Suite("DKIM signing")
struct DKIMTests {
    static let hasDkimpy: Bool = {
        let r = try? ChildProcessCheck.runs(TestEnvironment.venvPython, ["-c", "import dkim, nacl"])
        return r ?? false
    }()

    static let script = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/OutboundTests/Servers/dkim_verify.py").path

    @Test("relaxed canonicalization: the example of RFC 6376 §3.4.5")
    func rfcExample() {
        let message = Array("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n".utf8)
        let (fields, bodyStart) = DKIMCanonicalization.split(message)
        #expect(fields.map(\.name) == ["A", "B"])
        let headers = fields.map { String(decoding: DKIMCanonicalization.relaxedHeader($0.raw), as: UTF8.self) }
        #expect(headers == ["a:X\r\n", "b:Y Z\r\n"])
        #expect(String(decoding: DKIMCanonicalization.relaxedBody(message[bodyStart...]), as: UTF8.self) == " C\r\nD E\r\n")
    }

    @Test("relaxed body: an empty body, bare LF line ends, a last line without a line break")
    func bodyEdges() {
        #expect(DKIMCanonicalization.relaxedBody([][...]).isEmpty)
        #expect(DKIMCanonicalization.relaxedBody(Array("\r\n\r\n".utf8)[...]).isEmpty)
        #expect(String(decoding: DKIMCanonicalization.relaxedBody(Array("a  b\nc\t".utf8)[...]), as: UTF8.self) == "a b\r\nc\r\n")
    }

    static let message = Array([
        "From: Alice <alice@example.org>",
        "To: bob@example.net, \"Carol\" <carol@example.net>",
        "Subject: a signed message with a long subject that the verifier must see exactly as it was",
        "Date: Sun, 06 Dec 2026 10:00:00 +0000",
        "Message-ID: <1@example.org>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "X-Unsigned: not in h=",
        "",
        "Hello Bob,  ",
        "",
        "a line with  two spaces.",
        "",
        "",
    ].map { $0 + "\r\n" }.joined().utf8)

    func verify(_ message: [UInt8], keys: [DKIMSigningKey]) async throws -> [[String: Any]] {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("m.eml").path
        try Data(message).write(to: URL(fileURLWithPath: file))
        let records = keys.map { "\($0.selector)._domainkey.\($0.domain)=\($0.dnsRecord)" }
        let r = try await TestEnvironment.run(TestEnvironment.venvPython, [Self.script, file] + records)
        #expect(r.status == 0, "dkim_verify.py: \(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [String: Any]
        return json?["signatures"] as? [[String: Any]] ?? []
    }

    @Test("Ed25519-SHA256 and RSA-SHA256 signatures verify with dkimpy; a changed body or an added From fails both",
          .enabled(if: hasDkimpy, "dkimpy/PyNaCl are not installed (scripts/setup-test-deps.sh)"))
    func signaturesVerify() async throws {
        let keys = [try DKIMSigningKey.generate(domain: "example.org", selector: "sb20261206e", algorithm: .ed25519),
                    try DKIMSigningKey.generate(domain: "example.org", selector: "sb20261206r", algorithm: .rsa)]
        let signed = try DKIMSigner.sign(Self.message, keys: keys)
        let text = String(decoding: signed, as: UTF8.self)
        #expect(text.hasPrefix("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.org;") && text.contains("s=sb20261206e;"))
        #expect(text.contains("a=rsa-sha256"))
        #expect(text.hasSuffix(String(decoding: Self.message, as: UTF8.self)))
        // Every line of the new fields is short.
        for line in text.prefix(text.count - Self.message.count).split(separator: "\r\n") where line.count > 78 {
            Issue.record("line over 78: \(line)")
        }

        let results = try await verify(signed, keys: keys)
        #expect(results.count == 2)
        #expect(results.map { $0["a"] as? String } == ["ed25519-sha256", "rsa-sha256"])
        #expect(results.allSatisfy { $0["ok"] as? Bool == true }, "\(results)")

        // Transports may re-fold white space: relaxed canonicalization keeps it valid.
        let refolded = Array(text.replacingOccurrences(of: "Hello Bob,  ", with: "Hello Bob, ").utf8)
        #expect(try await verify(refolded, keys: keys).allSatisfy { $0["ok"] as? Bool == true })

        let tampered = Array(text.replacingOccurrences(of: "two spaces", with: "two  spacez").utf8)
        #expect(try await verify(tampered, keys: keys).allSatisfy { $0["ok"] as? Bool == false })

        // From is oversigned: a second From added above the signed one breaks the signatures.
        let extraFrom = Array(text.replacingOccurrences(of: "From: Alice", with: "From: Mallory <m@evil.example>\r\nFrom: Alice").utf8)
        #expect(try await verify(extraFrom, keys: keys).allSatisfy { $0["ok"] as? Bool == false })

        // A key from the wrong domain's record does not verify.
        let other = try DKIMSigningKey.generate(domain: "example.org", selector: "sb20261206e", algorithm: .ed25519)
        #expect(try await verify(signed, keys: [other, keys[1]]).map { $0["ok"] as? Bool } == [false, true])
    }

    @Test("a key survives its stored form; damaged bytes give an error that names no key material")
    func storedForm() throws {
        for algorithm in DKIMSigningKey.Algorithm.allCases {
            let key = try DKIMSigningKey.generate(domain: "example.org", selector: "s1", algorithm: algorithm)
            let again = try DKIMSigningKey(domain: "example.org", selector: "s1", algorithm: algorithm, privateKey: key.privateKeyBytes)
            #expect(again.publicKeyBase64 == key.publicKeyBase64)
            #expect(key.dnsRecord.hasPrefix("v=DKIM1; k=\(algorithm.rawValue); p="))
            #expect(throws: DKIMSigningKey.Failure.self) {
                try DKIMSigningKey(domain: "example.org", selector: "s1", algorithm: algorithm, privateKey: [1, 2, 3])
            }
        }
    }

    @Test("no keys: the message is unchanged; header lists keep every occurrence, bottom up")
    func noKeysAndRepeats() throws {
        #expect(try DKIMSigner.sign(Self.message, keys: []) == Self.message)
        let twoTo = Array("To: a@x.example\r\nFrom: f@example.org\r\nTo: b@x.example\r\n\r\nbody\r\n".utf8)
        let key = try DKIMSigningKey.generate(domain: "example.org", selector: "s", algorithm: .ed25519)
        let signed = String(decoding: try DKIMSigner.sign(twoTo, keys: [key]), as: UTF8.self)
        let h = signed.components(separatedBy: "h=")[1].components(separatedBy: ";")[0].replacingOccurrences(of: "\r\n\t", with: "")
        #expect(h == "from:to:to:from")
    }
}

/// Whether a command runs and exits 0 (for `.enabled(if:)`).
enum ChildProcessCheck {
    static func runs(_ executable: String, _ arguments: [String]) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
