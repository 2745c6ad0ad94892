import DNSCore
import Foundation
import TestSupport

/// The dkimpy reference (Scripts/dkim_corpus.py) run through the test venv's Python, and the key
/// records it prints loaded into an in-memory resolver.
enum ReferenceCorpus {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let script = repositoryRoot.appendingPathComponent("Tests/MailAuthTests/Scripts/dkim_corpus.py").path

    /// The test venv's Python (scripts/setup-test-deps.sh), which has dkimpy.
    static var python: String {
        ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"]
            ?? repositoryRoot.appendingPathComponent(".deps/test-venv/bin/python").path
    }

    static func pythonHas(_ modules: String) -> Bool {
        let child = try? ChildProcess.spawn(python, ["-c", "import \(modules)"])
        return child?.waitBlocking(timeout: .seconds(30)).ok ?? false
    }

    /// dkimpy and PyNaCl (DKIM corpus).
    static let hasDkimpy = pythonHas("dkim, nacl")
    /// …and authres, which dkimpy's arc_sign needs (ARC corpus).
    static let hasARCSigner = pythonHas("dkim, nacl, authres")

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The script's JSON output for `mode` (stdin: `input`).
    static func run(_ mode: String, input: [UInt8]? = nil) async throws -> [String: Any] {
        let result = try await ChildProcess.run(python, [script, mode], stdin: input, timeout: .seconds(180))
        guard result.ok else { throw Failure(description: "dkim_corpus.py \(mode) failed: \(result.stderr)") }
        guard let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw Failure(description: "dkim_corpus.py \(mode): not a JSON object")
        }
        return json
    }

    /// A resolver answering the records (`NAME: [TXT, …]`).
    static func resolver(_ records: [String: Any]) throws -> InMemoryDNSResolver {
        var resolver = InMemoryDNSResolver()
        for (name, value) in records {
            let texts = value as? [String] ?? []
            try resolver.add(DNSName(name), texts.map { .txt(TXTRecord(text: $0)) })
        }
        return resolver
    }

    static func bytes(_ base64: Any?) -> [UInt8] {
        (base64 as? String).flatMap { Data(base64Encoded: $0) }.map { Array($0) } ?? []
    }
}
