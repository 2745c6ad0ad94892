import Foundation
import TestSupport
@testable import MIMEParser

/// The test corpus: real-world messages that CPython ships as its email package's test data
/// (`test/test_email/data/msg_*.txt` from Debian's libpython3.11-testsuite, or the test Python's own
/// stdlib), the test messages of the Go library enmime (Debian's golang-github-jhillyerd-enmime-dev),
/// plus the hand-made
/// nasty cases committed under Fixtures/. Messages are normalized to CRLF line endings, as the store
/// does on ingest.
enum Corpus {
    struct Message: Sendable {
        var name: String
        var bytes: [UInt8]
    }

    static let python: String = ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"] ?? "python3"

    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Runs a command with a deadline; returns (status, stdout). The process is terminated on timeout.
    static func run(_ exe: String, _ args: [String], timeout: TimeInterval) throws -> (Int32, Data) {
        let r = try ChildProcess.spawn(exe, args).waitBlocking(timeout: .seconds(timeout))
        if !r.stderr.isEmpty { FileHandle.standardError.write(Data(r.stderr.utf8)) }
        return (r.status, Data(r.stdout.utf8))
    }

    /// Where CPython's email test messages are: Debian's libpython3.11-testsuite (installed by
    /// scripts/setup-test-deps.sh), else the test Python's own stdlib if it ships them.
    static func pythonEmailDataDir() -> URL? {
        let debian = "/usr/lib/python3.11/test/test_email/data"
        if FileManager.default.fileExists(atPath: debian) { return URL(fileURLWithPath: debian) }
        guard let (st, out) = try? run(python, ["-c", "import os, test.test_email as t; print(os.path.join(os.path.dirname(t.__file__), 'data'))"], timeout: 30),
              st == 0 else { return nil }
        let path = String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path) : nil
    }

    /// The test messages of the Go MIME library enmime, as Debian's golang-github-jhillyerd-enmime-dev
    /// installs them (real-world and deliberately low-quality mail).
    static let enmimeDataDir = "/usr/share/gocode/src/github.com/jhillyerd/enmime/testdata"

    static func fixturesDir() -> URL? {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)
    }

    static func toCRLF(_ b: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(b.count + b.count / 20)
        var prev: UInt8 = 0
        for c in b {
            if c == 10 && prev != 13 { out.append(13) }
            out.append(c)
            prev = c
        }
        return out
    }

    static func load() -> [Message] {
        var msgs = [Message]()
        let fm = FileManager.default
        if let dir = pythonEmailDataDir(), let names = try? fm.contentsOfDirectory(atPath: dir.path) {
            for n in names.sorted() where n.hasPrefix("msg_") && n.hasSuffix(".txt") {
                if let d = fm.contents(atPath: dir.appendingPathComponent(n).path) {
                    msgs.append(Message(name: "cpython/" + n, bytes: toCRLF(Array(d))))
                }
            }
        }
        for sub in ["mail", "low-quality", "parts"] {
            let dir = enmimeDataDir + "/" + sub
            guard let names = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            for n in names.sorted() where n.hasSuffix(".raw") {
                if let d = fm.contents(atPath: dir + "/" + n) {
                    msgs.append(Message(name: "enmime/\(sub)/" + n, bytes: toCRLF(Array(d))))
                }
            }
        }
        if let dir = fixturesDir(), let names = try? fm.contentsOfDirectory(atPath: dir.path) {
            for n in names.sorted() where n.hasSuffix(".eml") {
                if let d = fm.contents(atPath: dir.appendingPathComponent(n).path) {
                    msgs.append(Message(name: "fixtures/" + n, bytes: toCRLF(Array(d))))
                }
            }
        }
        return msgs
    }
}

/// A Sendable box for the reader thread's result. @unchecked: guarded by the lock.
final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}
