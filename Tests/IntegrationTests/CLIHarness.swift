import Foundation
import TestSupport
import Testing

/// Runs the real `sealbox` binary (built next to the test bundle) on a throwaway data directory.
struct CLIHarness: Sendable {
    let dataDir: String

    struct Result: Sendable {
        var status: Int32
        var killedBySignal: Bool
        var stdout: String
        var stderr: String
        var ok: Bool { status == 0 && !killedBySignal }
    }

    init() throws {
        dataDir = NSTemporaryDirectory() + "sealbox-it-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
    }

    /// On a given data directory (made when missing).
    init(dataDir: String) {
        self.dataDir = dataDir
        try? FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: dataDir) }

    static let binary = SealboxBinary.path

    /// Runs `sealbox ARGS` with `--data-dir` set by environment, waits for it (bounded, without
    /// blocking a thread: TestSupport's ChildProcess) and returns its output.
    @discardableResult
    func run(_ args: [String], stdin: [UInt8] = [], env: [String: String] = [:], directory: String? = nil,
             timeout: Duration = .seconds(60)) async throws -> Result {
        var environment = ProcessInfo.processInfo.environment
        environment["SEALBOX_DATA_DIR"] = dataDir
        environment.removeValue(forKey: "SEALBOX_PASSWORD")
        // `serve` run here: ManageSieve on any free port (its default, 4190 as root, is shared by every test).
        environment["SEALBOX_MANAGESIEVE_PORT"] = "auto"
        environment["SEALBOX_HTTP_PORT"] = "auto"
        for (k, v) in env { environment[k] = v }
        let r = try await ChildProcess.run(Self.binary, args, environment: environment, directory: directory, stdin: stdin, timeout: timeout)
        if r.timedOut { Issue.record("sealbox \(args) timed out") }
        return Result(status: r.status, killedBySignal: r.signal != nil, stdout: r.stdout, stderr: r.stderr)
    }

    /// Sets up `hello@example.com` with a mailbox and returns its first password.
    func setUpMailbox(_ address: String = "hello@example.com") async throws -> String {
        let domain = String(address.split(separator: "@")[1])
        _ = try await run(["domain", "add", domain])
        let alias = try await run(["alias", "add", address])
        #expect(alias.ok, "\(alias.stderr)")
        let generated = try await run(["password", "generate", address, "--label", "test"])
        #expect(generated.ok, "\(generated.stderr)")
        return generated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every file below the data directory with its bytes.
    func allFiles() -> [(path: String, bytes: Data)] {
        guard let e = FileManager.default.enumerator(atPath: dataDir) else { return [] }
        return e.compactMap { $0 as? String }.compactMap { rel in
            var isDir: ObjCBool = false
            let full = dataDir + "/" + rel
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue,
                  let data = FileManager.default.contents(atPath: full) else { return nil }
            return (rel, data)
        }
    }
}

func crlf(_ text: String) -> [UInt8] {
    Array(text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
}

func testMessage(subject: String, body: String = "Hello.") -> [UInt8] {
    crlf("""
        From: Alice <alice@example.org>
        To: hello@example.com
        Subject: \(subject)
        Date: Sun, 22 Nov 2026 08:00:00 +0000
        Message-ID: <\(UUID().uuidString)@example.org>
        MIME-Version: 1.0
        Content-Type: text/plain; charset=utf-8

        \(body)

        """)
}

/// Runs async work from a synchronous test (bounded by the work itself).
func runAsync<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = LockedResult<T>()
    Task { do { box.set(.success(try await body())) } catch { box.set(.failure(error)) } }
    return try box.wait().get()
}

final class LockedResult<T: Sendable>: @unchecked Sendable {
    // @unchecked: guarded by `condition`.
    private let condition = NSCondition()
    private var value: Result<T, any Error>?
    func set(_ v: Result<T, any Error>) { condition.lock(); value = v; condition.broadcast(); condition.unlock() }
    func wait() -> Result<T, any Error> {
        condition.lock(); defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}
