import Foundation
import Testing
import IMAPCore  // the wire forms of ENVELOPE and BODYSTRUCTURE
@testable import MIMEParser

/// Differential test against Dovecot 2.3 (Debian dovecot-imapd): the same corpus goes to both, and
/// ENVELOPE, BODY, BODYSTRUCTURE, RFC822.SIZE, BODY[HEADER], BODY[TEXT], BODY[HEADER.FIELDS (…)],
/// BODY[HEADER.FIELDS.NOT (…)], and per part BODY[n], BODY[n.MIME] and BINARY.SIZE[n] must be byte-identical,
/// except for the differences listed in `explained`, each a deliberate choice.
@Suite("Dovecot differential", .serialized)
struct DovecotDifferentialTests {
    /// Message name → why Sealbox deliberately answers differently from Dovecot.
    static let explained: [String: String] = [
        "cpython/msg_15.txt": nestedSameBoundary,
        "cpython/msg_39.txt": nestedSameBoundary,
        "fixtures/06-message-global.eml": """
            message/global (RFC 6532 §3.5) is an encapsulated message like message/rfc822, and RFC 9051's \
            body-type-msg covers it; Dovecot 2.3 sends it as an opaque leaf, Sealbox with envelope, body \
            and line count so that clients can show the inner structure.
            """,
        "fixtures/21-unknown-cte.eml": """
            One part has an unknown Content-Transfer-Encoding (x-uuencode). Dovecot then answers \
            UNKNOWN-CTE for BINARY.SIZE of every part of the message (BINARY of the others works); \
            Sealbox only for that part (RFC 3516 §4.3).
            """,
        "fixtures/22-invalid-encodings.eml": """
            Invalid base64 characters and a broken quoted-printable escape. Dovecot refuses BINARY for \
            the whole message ("NO [PARSE] Invalid data in MIME part"); Sealbox decodes leniently \
            (invalid base64 characters skipped, a broken "=XY" kept as is), as its search indexing does.
            """,
        "fixtures/10-encodings.eml": """
            A quoted-printable part whose last line ends in a soft line break just before the boundary. \
            Dovecot 2.3.19's imap process drops the connection on BINARY.SIZE of that message (the same \
            part without the final "=" gives 54, Sealbox's answer for it); every other item is identical.
            """,
        "enmime/mail/inlinemultipart.raw": truncatedEncoding,
        "enmime/mail/malformed-multiple-address-header-values.raw": truncatedEncoding,
        "enmime/mail/mime-bad-content-transfer-encoding.raw": truncatedEncoding,
        "enmime/mail/mime-bad-content-type.raw": truncatedEncoding,
        "enmime/mail/mime-blank-media-name.raw": truncatedEncoding,
        "enmime/mail/mime-duplicate-param.raw": truncatedEncoding,
        "enmime/mail/mime-unquoted-tspecials-param.raw": truncatedEncoding,
        "enmime/low-quality/malformed-base64-attach.raw": truncatedEncoding,
        "enmime/parts/quoted-printable-invalid.raw": truncatedEncoding,
        "enmime/low-quality/unk-encoding-part.raw": """
            One part has an unknown Content-Transfer-Encoding. Dovecot answers UNKNOWN-CTE for BINARY.SIZE \
            of every part of the message; Sealbox only for that part (RFC 3516 §4.3).
            """,
    ]
    /// Only BINARY.SIZE differs; everything else is identical.
    static let truncatedEncoding = """
        A base64 attachment whose data is truncated (not a multiple of 4) or invalid base64 / \
        quoted-printable. Dovecot 2.3.19 fails BINARY for the whole message: it answers "NO [PARSE] \
        Invalid data in MIME part" or drops the connection ("read(binary stream) failed: Base64 data \
        ends prematurely" in its log). Sealbox decodes leniently (what decodes, decodes), like its \
        search indexing and like clients do when they display such attachments.
        """
    static let nestedSameBoundary = """
        A nested multipart reuses its parent's boundary. Both servers build the same BODYSTRUCTURE, but \
        Dovecot then refuses BINARY on the message ("NO [PARSE] Invalid data in MIME part"); Sealbox \
        decodes each leaf as its structure says, so BINARY keeps working on a message clients can display.
        """

    /// A tagged answer's status and response code ("NO [UNKNOWN-CTE]"), without its human text
    /// (Dovecot's carries timings).
    static func statusAndCode(_ answer: String) -> String {
        guard let open = answer.firstIndex(of: "["), let close = answer[open...].firstIndex(of: "]") else { return answer }
        return String(answer[...close])
    }

    @Test("corpus matches Dovecot", .timeLimit(.minutes(5)))
    func corpusMatchesDovecot() throws {
        let dovecotPresent = FileManager.default.isExecutableFile(atPath: "/usr/sbin/dovecot")
        try #require(dovecotPresent, "dovecot-imapd is not installed (scripts/setup-test-deps.sh installs it)")
        let corpus = Corpus.load()
        #expect(corpus.count >= 40, "corpus too small: \(corpus.count)")
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("sealbox-mime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        var request: [[String: Any]] = []
        var parsed: [String: MIMEMessage] = [:]
        for (i, m) in corpus.enumerated() {
            let f = tmp.appendingPathComponent("\(i).eml")
            try Data(m.bytes).write(to: f)
            let msg = MIMEMessage.parse(m.bytes)
            parsed[f.path] = msg
            let parts = msg.partList().compactMap { $0.number.isEmpty ? nil : $0.number.map(String.init).joined(separator: ".") }
            let messageParts = msg.partList().compactMap { $0.part.isEncapsulatedMessage ? $0.number.map(String.init).joined(separator: ".") : nil }
            request.append(["file": f.path, "parts": parts, "messageParts": messageParts, "name": m.name])
        }
        let reqFile = tmp.appendingPathComponent("request.json")
        try JSONSerialization.data(withJSONObject: request).write(to: reqFile)
        let script = Corpus.repoRoot.appendingPathComponent("scripts/dovecot-mime-diff.py").path
        let (status, out) = try Corpus.run(Corpus.python, [script, reqFile.path], timeout: 240)
        try #require(status == 0, "dovecot-mime-diff.py failed with status \(status)")
        let results = try #require(try JSONSerialization.jsonObject(with: out) as? [[String: Any]])
        #expect(results.count == corpus.count)

        var identical = 0
        var report = ""
        var unexplained: [String] = []
        var total: [String: Int] = [:], same: [String: Int] = [:]
        var identicalButBinary = 0   // identical apart from BINARY.SIZE, where Dovecot often fails
        for (i, r) in results.enumerated() {
            let name = corpus[i].name
            let msg = parsed[r["file"] as! String]!
            var diffs: [String] = []
            func b64(_ k: String) -> String { String(decoding: Data(base64Encoded: r[k] as! String) ?? Data(), as: UTF8.self) }
            func cmp(_ what: String, _ theirs: String, _ ours: String) {
                if theirs != ours { diffs.append("\(what)\n  dovecot: \(theirs.debugDescription)\n  sealbox: \(ours.debugDescription)") }
            }
            func raw(_ k: String) -> [UInt8] { [UInt8](Data(base64Encoded: r[k] as! String) ?? Data()) }
            func cmpBytes(_ what: String, _ theirs: [UInt8], _ ours: [UInt8]) {
                if theirs != ours { cmp(what + " (bytes)", String(decoding: theirs, as: UTF8.self) + "\(theirs)", String(decoding: ours, as: UTF8.self) + "\(ours)") }
            }
            // byte-exact wire forms (literal lengths count bytes)
            cmpBytes("ENVELOPE", raw("envelope"), msg.imapEnvelopeBytes())
            cmpBytes("BODY", raw("body"), msg.imapBodyStructureBytes(extended: false))
            cmpBytes("BODYSTRUCTURE", raw("bodystructure"), msg.imapBodyStructureBytes(extended: true))
            cmp("ENVELOPE", b64("envelope"), msg.imapEnvelope())
            cmp("BODY", b64("body"), msg.imapBodyStructure(extended: false))
            cmp("BODYSTRUCTURE", b64("bodystructure"), msg.imapBodyStructure(extended: true))
            cmp("RFC822.SIZE", String(r["size"] as! Int), String(msg.rfc822Size))
            for (spec, v) in (r["sections"] as? [String: String] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let ours = IMAPSection(imapSpec: spec).flatMap { msg.section($0) }.map { String(decoding: MIMEMessage.imapLiteralSafe($0), as: UTF8.self) } ?? "<nil>"
                cmp("BODY[\(spec)]", String(decoding: Data(base64Encoded: v) ?? Data(), as: UTF8.self), ours)
            }
            for (p, v) in (r["parts"] as? [String: [String: Any]] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let path = p.split(separator: ".").compactMap { Int($0) }
                let ourMime = msg.section(IMAPSection(part: path, kind: .mime)).map { String(decoding: $0, as: UTF8.self) } ?? "<nil>"
                let theirMime = (v["mime"] as? String).map { String(decoding: Data(base64Encoded: $0) ?? Data(), as: UTF8.self) } ?? "<error>"
                cmp("BODY[\(p).MIME]", theirMime, ourMime)
                let ourBody = msg.section(IMAPSection(part: path, kind: .full)).map { String(decoding: MIMEMessage.imapLiteralSafe($0), as: UTF8.self) } ?? "<nil>"
                let theirBody = (v["body"] as? String).map { String(decoding: Data(base64Encoded: $0) ?? Data(), as: UTF8.self) } ?? "<error>"
                cmp("BODY[\(p)]", theirBody, ourBody)
                // BINARY of a multipart: Dovecot re-encodes the children's bodies to binary inside it
                // (a Dovecot extension of RFC 3516, which defines BINARY for leaf parts); Sealbox
                // compares leaves only and returns a multipart's raw body.
                // The same holds for message/rfc822 parts (Dovecot decodes the inner parts).
                if msg.part(path)?.isMultipartContainer == true || msg.part(path)?.isEncapsulatedMessage == true { continue }
                let ourSize = msg.binarySize(part: path).map(String.init)
                    ?? (msg.hasUnknownTransferEncoding(part: path) ? "NO [UNKNOWN-CTE]" : "<nil>")
                let theirSize = (v["binarySize"] as? Int).map(String.init) ?? Self.statusAndCode(v["binaryError"] as? String ?? "error")
                cmp("BINARY.SIZE[\(p)]", theirSize, ourSize)
            }
            let source = String(name.split(separator: "/").first ?? "")
            total[source, default: 0] += 1
            if diffs.allSatisfy({ $0.hasPrefix("BINARY.SIZE") }) { identicalButBinary += 1 }
            if diffs.isEmpty { identical += 1; same[source, default: 0] += 1; continue }
            report += "== \(name)\n" + diffs.joined(separator: "\n") + "\n"
            if Self.explained[name] == nil { unexplained.append(name) }
        }
        let pct = Double(identical) * 100 / Double(max(1, results.count))
        let summary = "dovecot differential: \(results.count) messages, \(identical) identical (\(String(format: "%.1f", pct))%), explained: \(results.count - identical - unexplained.count), unexplained: \(unexplained.count)"
        let bySource = total.keys.sorted().map { "\($0): \(same[$0, default: 0])/\(total[$0]!) identical" }.joined(separator: ", ")
        let structural = String(format: "%.1f", Double(identicalButBinary) * 100 / Double(max(1, results.count)))
        print(summary + " [" + bySource + "]; identical apart from BINARY.SIZE: \(identicalButBinary) (\(structural)%)")
        if let path = ProcessInfo.processInfo.environment["SEALBOX_MIME_DIFF_REPORT"] {
            try? (summary + "\n" + report).write(toFile: path, atomically: true, encoding: .utf8)
        }
        #expect(unexplained.isEmpty, "unexplained differences:\n\(report)")
    }
}
