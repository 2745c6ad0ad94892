import Foundation

/// DKIM signatures checked by an independent verifier (PyPI dkimpy, through
/// Tests/OutboundTests/Servers/dkim_verify.py) against the key records a node prints.
extension CLIHarness {
    /// The DKIM key records of `sealbox domain dns DOMAIN`, each as `NAME=TXT` (its character-strings
    /// joined), the form dkim_verify.py takes; and the command's own result.
    func dkimKeyRecords(_ domain: String) async throws -> (records: [String], listing: Result) {
        let listing = try await run(["domain", "dns", domain])
        let records = listing.stdout.split(separator: "\n").filter { $0.contains("._domainkey.") }.map { line -> String in
            "\(line.split(separator: " ")[0])=" + line.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map(\.element).joined()
        }
        return (records, listing)
    }

    /// dkimpy's verdict on every DKIM-Signature of the message file at `path`: one JSON object,
    /// `{"signatures": [{"d", "s", "a", "ok"}, …]}`.
    static func dkimpy(_ path: String, keyRecords: [String]) async throws -> ScriptRunner.Result {
        try await ScriptRunner.run(ScriptRunner.python, [ScriptRunner.clientsDirectory + "/../../OutboundTests/Servers/dkim_verify.py", path] + keyRecords,
                                   timeout: .seconds(60))
    }
}
