import Foundation
import IMAPCore
import MIMEParser

/// `swift run -c release SealboxBench mime [--corpus DIR] [--seconds S]`
/// Parse throughput over a corpus of .eml / msg_*.txt files: structure only (parse + BODYSTRUCTURE +
/// ENVELOPE) and full text extraction (parse + searchText). Without --corpus it uses CPython's email
/// test messages (Debian's libpython3.11-testsuite, else python3's stdlib), enmime's (Debian's
/// golang-github-jhillyerd-enmime-dev) plus Tests/MIMEParserTests/Fixtures.
func mimeBenchmark(arguments: [String]) async throws {
    var corpusDirs: [String] = []
    var seconds = 3.0
    var i = 0
    while i < arguments.count {
        switch arguments[i] {
        case "--corpus" where i + 1 < arguments.count: corpusDirs.append(arguments[i + 1]); i += 2
        case "--seconds" where i + 1 < arguments.count: seconds = Double(arguments[i + 1]) ?? 3; i += 2
        default: print("usage: SealboxBench mime [--corpus DIR]... [--seconds S]"); return
        }
    }
    if corpusDirs.isEmpty, FileManager.default.fileExists(atPath: "/usr/lib/python3.11/test/test_email/data") {
        corpusDirs = ["/usr/lib/python3.11/test/test_email/data", "Tests/MIMEParserTests/Fixtures"]
        let enmime = "/usr/share/gocode/src/github.com/jhillyerd/enmime/testdata"
        for sub in ["mail", "low-quality"] where FileManager.default.fileExists(atPath: enmime + "/" + sub) {
            corpusDirs.append(enmime + "/" + sub)
        }
    }
    if corpusDirs.isEmpty {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"] ?? "python3", "-c",
                       "import os, test.test_email as t; print(os.path.join(os.path.dirname(t.__file__), 'data'))"]
        let pipe = Pipe(); p.standardOutput = pipe
        try? p.run(); p.waitUntilExit()
        let dir = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if !dir.isEmpty { corpusDirs.append(dir) }
        corpusDirs.append("Tests/MIMEParserTests/Fixtures")
    }
    var messages: [[UInt8]] = []
    for dir in corpusDirs {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        for n in names.sorted() where n.hasSuffix(".eml") || n.hasSuffix(".raw") || (n.hasPrefix("msg_") && n.hasSuffix(".txt")) {
            if let d = FileManager.default.contents(atPath: dir + "/" + n) { messages.append([UInt8](d)) }
        }
    }
    guard !messages.isEmpty else { print("mime benchmark: no messages found"); return }
    let totalBytes = messages.reduce(0) { $0 + $1.count }
    print("mime benchmark: \(messages.count) messages, \(totalBytes) bytes, from \(corpusDirs.joined(separator: ", "))")

    func measure(_ label: String, _ body: ([UInt8]) -> Int) {
        var sink = 0
        for m in messages { sink &+= body(m) }   // warm-up
        var bytes = 0
        let start = Date()
        var rounds = 0
        while Date().timeIntervalSince(start) < seconds {
            for m in messages { sink &+= body(m) }
            bytes += totalBytes
            rounds += 1
        }
        let elapsed = Date().timeIntervalSince(start)
        let mbps = Double(bytes) / elapsed / 1_000_000
        let msgs = Double(rounds * messages.count) / elapsed
        print(String(format: "%@: %.1f MB/s, %.0f messages/s (%d rounds, sink %d)", label, mbps, msgs, rounds, sink & 1))
    }
    measure("structure only (parse + ENVELOPE + BODYSTRUCTURE)") { b in
        let m = MIMEMessage.parse(b)
        return m.imapBodyStructure(extended: true).utf8.count + m.imapEnvelope().utf8.count
    }
    measure("full text extraction (parse + searchText)") { b in
        let t = MIMEMessage.parse(b).searchText()
        return t.body.utf8.count + t.subject.utf8.count
    }
    // one large synthetic message: throughput on big attachments
    var big = Array("From: a@b\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n".utf8)
    let line = Array(String(repeating: "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=", count: 2).utf8) + [13, 10]
    for _ in 0..<(20_000_000 / line.count) { big += line }
    big += Array("--x--\r\n".utf8)
    messages = [big]
    let bigStart = Date()
    let bm = MIMEMessage.parse(big)
    _ = bm.imapBodyStructure(extended: true)
    let bigElapsed = Date().timeIntervalSince(bigStart)
    print(String(format: "20 MB attachment message, structure only: %.1f MB/s", Double(big.count) / bigElapsed / 1_000_000))
}
