#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `SealboxBench imap [--sessions N] [--seconds S] [--messages M] [--users U] [--idle-sessions K]
///                    [--servers dovecot,sealbox]`
///
/// Starts Dovecot (scripts/dovecot-test.sh: Maildir, loopback) and Sealbox (`sealbox serve` built
/// next to this binary, fresh data directory, --allow-insecure-auth), seeds the same M messages
/// (StoreBench's MessageGenerator) into INBOX of U users on each by IMAP APPEND, then for S seconds
/// per server drives N concurrent sessions through a mix of LOGIN, SELECT, FETCH 1:* (FLAGS),
/// UID FETCH BODY.PEEK[], UID STORE +FLAGS \Seen, APPEND, UID SEARCH, IDLE+DONE and LOGOUT, and
/// prints ops/s and p50/p99 latency per operation with the ratio Sealbox/Dovecot. Then opens K
/// (default 1,000) IDLE sessions on each and reports resident memory per session.
func imapBenchmark(arguments: [String]) async throws {
    func option(_ name: String, _ fallback: Int) -> Int {
        guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let n = Int(arguments[i + 1]) else { return fallback }
        return n
    }
    let sessions = option("--sessions", 20)
    let seconds = option("--seconds", 20)
    let messageCount = option("--messages", 1000)
    let users = max(1, option("--users", 1))
    let idleSessions = option("--idle-sessions", 1000)
    var servers = ["dovecot", "sealbox"]
    if let i = arguments.firstIndex(of: "--servers"), i + 1 < arguments.count {
        servers = arguments[i + 1].split(separator: ",").map(String.init)
    }
    raiseFileLimit()

    print("generating \(messageCount) messages…")
    var generator = MessageGenerator(seed: 7)
    // IMAP-sized: 2–100 KB (the store benchmark's generator with attachments capped)
    var corpus: [[UInt8]] = []
    while corpus.count < messageCount {
        let m = generator.next()
        if m.count <= 100_000 { corpus.append(m) }
    }
    let totalBytes = corpus.reduce(0) { $0 + $1.count }
    print(String(format: "corpus: %d messages, %.1f MB (%.1f KB average); %d session(s), %d s per server, %d user(s)",
                 corpus.count, Double(totalBytes) / 1e6, Double(totalBytes) / Double(corpus.count) / 1e3,
                 sessions, seconds, users))

    var reports: [(String, MixReport, MemoryReport?)] = []
    for name in servers {
        let server: BenchServer
        do {
            // both servers get limits above the benchmark's own connection count (Dovecot: dovecot-test.sh)
            server = try name == "dovecot" ? DovecotServer(users: users)
                : SealboxServer(users: users, maxConnections: sessions + idleSessions + 100)
        } catch {
            print("\(name): not started: \(error)")
            continue
        }
        defer { server.stop() }
        print("\n\(server.name): IMAP on 127.0.0.1:\(server.port); seeding \(users) × \(corpus.count) messages by APPEND…")
        do {
            let seedRate = try seed(server, corpus: corpus)
            print(String(format: "  seed: %.0f APPEND/s (one session per user, LITERAL+)", seedRate))
            let mix = try runMix(server, sessions: sessions, seconds: seconds, corpus: corpus)
            mix.print(title: server.name)
            let memory = try measureIdleMemory(server, count: idleSessions)
            memory.print()
            reports.append((server.name, mix, memory))
        } catch {
            print("  \(server.name): benchmark failed: \(error)")
        }
    }
    if reports.count == 2 {
        let (dn, d, dm) = reports[0], (sn, s, sm) = reports[1]
        print("\nratio \(sn)/\(dn) (ops/s; p50 and p99 latency in ms):")
        print(pad("operation", 22) + pad(dn, 26) + pad(sn, 26) + "ratio")
        for op in MixOp.allCases + [nil] {
            let a = d.summary(op), b = s.summary(op)
            guard a.count > 0 || b.count > 0 else { continue }
            let label = op?.rawValue ?? "TOTAL"
            print(pad(label, 22)
                  + pad(String(format: "%8.1f %6.1f %7.1f", a.rate, a.p50, a.p99), 26)
                  + pad(String(format: "%8.1f %6.1f %7.1f", b.rate, b.p50, b.p99), 26)
                  + (a.rate > 0 ? String(format: "%.2f", b.rate / a.rate) : "-"))
        }
        if let dm, let sm {
            print(String(format: "memory per IDLE session: %@ %.1f KB, %@ %.1f KB (ratio %.2f)",
                         dn, dm.perSessionKB, sn, sm.perSessionKB, sm.perSessionKB / max(dm.perSessionKB, 0.001)))
        }
    }
}

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }

// MARK: - servers

protocol BenchServer: AnyObject, Sendable {
    var name: String { get }
    var port: Int { get }
    var credentials: [(user: String, password: String)] { get }
    /// Resident memory (KB) of the server's processes: (the figure reported, a second figure or nil).
    func residentKB() -> (rss: Int, pss: Int?)
    func stop()
}

final class DovecotServer: BenchServer {
    let name = "Dovecot"
    let port: Int
    let credentials: [(user: String, password: String)]
    let dir: String
    let env: [String: String]
    let script: String
    let masterPID: Int32

    init(users: Int) throws {
        script = repositoryRoot() + "/scripts/dovecot-test.sh"
        dir = NSTemporaryDirectory() + "sealbox-bench-dovecot-" + UUID().uuidString
        port = try benchFreePort()
        let imaps = try benchFreePort()
        env = ["DOVECOT_DIR": dir, "IMAP_PORT": String(port), "IMAPS_PORT": String(imaps), "NUSERS": String(max(users, 1))]
        let r = try runTool("/bin/bash", [script, "start", "--fresh"], env: env)
        guard r.status == 0 else { throw BenchError("dovecot-test.sh start failed: \(r.output)") }
        masterPID = Int32((try? String(contentsOfFile: dir + "/run/master.pid", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        credentials = users == 1 ? [("testuser", "pass")] : (1...users).map { ("testuser\($0)", "pass") }
    }

    /// imap, imap-login and auth processes under the master (the task's definition), RSS and PSS.
    func residentKB() -> (rss: Int, pss: Int?) {
        var rss = 0, pss = 0
        for pid in descendants(of: masterPID) {
            let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard ["imap", "imap-login", "auth"].contains(comm) else { continue }
            rss += procKB(pid, file: "status", key: "VmRSS:")
            pss += procKB(pid, file: "smaps_rollup", key: "Pss:")
        }
        return (rss, pss)
    }

    func stop() {
        _ = try? runTool("/bin/bash", [script, "stop"], env: env)
        try? FileManager.default.removeItem(atPath: dir)
    }
}

// @unchecked: every stored property is set in init and never mutated; Process is used from the
// bench's main flow only (stop), the stderr sink has its own lock.
final class SealboxServer: BenchServer, @unchecked Sendable {
    let name = "Sealbox"
    let port: Int
    let credentials: [(user: String, password: String)]
    let dataDir: String
    let process: Process
    let stderr: BenchOutput

    init(users: Int, maxConnections: Int) throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sealbox").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError("\(binary) not found: swift build -c release --product sealbox")
        }
        dataDir = NSTemporaryDirectory() + "sealbox-bench-serve-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let env = ["SEALBOX_DATA_DIR": dataDir]
        _ = try runTool(binary, ["domain", "add", "example.com"], env: env)
        var creds: [(String, String)] = []
        for i in 1...users {
            let address = users == 1 ? "bench@example.com" : "bench\(i)@example.com"
            let a = try runTool(binary, ["alias", "add", address], env: env)
            guard a.status == 0 else { throw BenchError("alias add: \(a.output)") }
            let p = try runTool(binary, ["password", "generate", address, "--label", "bench"], env: env, stderrToo: false)
            guard p.status == 0 else { throw BenchError("password generate: \(p.output)") }
            creds.append((address, p.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        credentials = creds
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--imap-port", "auto", "--imaps-port", "auto", "--pop3-port", "auto", "--pop3s-port", "auto", "--smtp-port", "auto", "--managesieve-port", "auto", "--http-port", "auto", "--allow-insecure-auth", "--listen", "127.0.0.1"]
        var environment = ProcessInfo.processInfo.environment
        environment["SEALBOX_DATA_DIR"] = dataDir
        environment["SEALBOX_IMAP_MAX_CONNECTIONS_PER_IP"] = String(maxConnections)
        environment["SEALBOX_IMAP_MAX_SESSIONS_PER_MAILBOX"] = String(maxConnections)
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardError = pipe
        stderr = BenchOutput()
        try process.run()
        let sink = stderr
        Thread { sink.consume(pipe.fileHandleForReading) }.start()
        let deadline = Date().addingTimeInterval(60)
        var found: Int?
        while Date() < deadline, process.isRunning, found == nil {
            for line in stderr.text.split(separator: "\n") {
                guard let r = line.range(of: "listening: imap ") else { continue }  // serve may prefix "sealbox: "
                found = line[r.upperBound...].split(separator: " ").first?.split(separator: ":").last.flatMap { Int($0) }
            }
            if found == nil { usleep(20_000) }
        }
        guard let found else {
            let text = stderr.text
            if process.isRunning { process.terminate(); process.waitUntilExit() }
            try? FileManager.default.removeItem(atPath: dataDir)
            throw BenchError("sealbox serve did not report an imap listener: \(text)")
        }
        port = found
    }

    func residentKB() -> (rss: Int, pss: Int?) {
        (procKB(process.processIdentifier, file: "status", key: "VmRSS:"), procKB(process.processIdentifier, file: "smaps_rollup", key: "Pss:"))
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(15)
            while process.isRunning, Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dataDir)
    }
}

// MARK: - seeding, mix, memory

func seed(_ server: BenchServer, corpus: [[UInt8]]) throws -> Double {
    let start = Date()
    let errors = BenchOutput()
    let threads: [@Sendable () -> Void] = server.credentials.map { cred in
        {
            do {
                let c = try IMAPBenchConnection(port: server.port)
                try c.login(user: cred.user, password: cred.password)
                for m in corpus { try c.append("INBOX", m) }
                try c.command("LOGOUT")
            } catch { errors.append("\(cred.user): \(error)\n") }
        }
    }
    try joinAll(threads)
    guard errors.text.isEmpty else { throw BenchError("seeding failed: \(errors.text)") }
    return Double(corpus.count * server.credentials.count) / Date().timeIntervalSince(start)
}

enum MixOp: String, CaseIterable {
    case login = "LOGIN", select = "SELECT", fetchFlags = "FETCH 1:* (FLAGS)", fetchBody = "UID FETCH BODY.PEEK[]"
    case store = "UID STORE +FLAGS", append = "APPEND", search = "UID SEARCH", idle = "IDLE+DONE", logout = "LOGOUT"
}

struct MixReport {
    var samples: [MixOp: [Double]] = [:]
    var errors: [String] = []
    var seconds: Double = 1

    struct Summary { var count: Int; var rate: Double; var p50: Double; var p99: Double }

    func summary(_ op: MixOp?) -> Summary {
        let values = op.map { samples[$0] ?? [] } ?? samples.values.flatMap { $0 }
        return Summary(count: values.count, rate: Double(values.count) / seconds,
                       p50: percentile(values, 0.5) * 1000, p99: percentile(values, 0.99) * 1000)
    }

    func print(title: String) {
        Swift.print("  \(title) mix over \(String(format: "%.1f", seconds)) s:")
        Swift.print("  " + pad("operation", 24) + pad("count", 9) + pad("ops/s", 10) + pad("p50 ms", 9) + "p99 ms")
        for op in MixOp.allCases + [nil] {
            let s = summary(op)
            Swift.print("  " + pad(op?.rawValue ?? "TOTAL", 24) + pad("\(s.count)", 9) + pad(String(format: "%.1f", s.rate), 10)
                        + pad(String(format: "%.2f", s.p50), 9) + String(format: "%.2f", s.p99))
        }
        if !errors.isEmpty {
            Swift.print("  \(errors.count) error(s); first: \(errors.prefix(3).joined(separator: " | "))")
        }
    }
}

/// N sessions, each a loop of weighted operations on a (shared) INBOX until the deadline.
func runMix(_ server: BenchServer, sessions: Int, seconds: Int, corpus: [[UInt8]]) throws -> MixReport {
    let results = BenchResults()
    let deadline = Date().addingTimeInterval(Double(seconds))
    let words = ["budget", "meeting", "invoice", "report", "holiday", "release"]
    let threads: [@Sendable () -> Void] = (0..<sessions).map { index in
        {
            var rng = SplitMix(seed: UInt64(index + 1) * 7919)
            var local: [MixOp: [Double]] = [:]
            var errors: [String] = []
            let cred = server.credentials[index % server.credentials.count]
            @discardableResult func timed<T>(_ op: MixOp, _ body: () throws -> T) rethrows -> T {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let r = try body()
                local[op, default: []].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                return r
            }
            while Date() < deadline {
                do {
                    let c = try timed(.login) { () throws -> IMAPBenchConnection in
                        let c = try IMAPBenchConnection(port: server.port)
                        try c.login(user: cred.user, password: cred.password)
                        return c
                    }
                    var uidNext = try timed(.select) { try c.select("INBOX").uidNext }
                    // a session lives for a while, then logs out and in again (5% per operation)
                    while Date() < deadline {
                        let roll = rng.next(100)
                        if roll < 5 { break }
                        switch roll {
                        case ..<15: try timed(.fetchFlags) { try c.command("FETCH 1:* (FLAGS)") }
                        case ..<45:
                            let uid = 1 + rng.next(max(uidNext - 1, 1))
                            try timed(.fetchBody) { try c.command("UID FETCH \(uid) (BODY.PEEK[])") }
                        case ..<60:
                            let uid = 1 + rng.next(max(uidNext - 1, 1))
                            try timed(.store) { try c.command("UID STORE \(uid) +FLAGS (\\Seen)") }
                        case ..<67:
                            let m = corpus[rng.next(corpus.count)]
                            try timed(.append) { try c.append("INBOX", m) }
                            uidNext += 1
                        case ..<90:
                            let w = words[rng.next(words.count)]
                            let key = ["SUBJECT \(w)", "FROM sender\(rng.next(500))", "BODY \(w)"][rng.next(3)]
                            try timed(.search) { try c.command("UID SEARCH \(key)") }
                        default:
                            try timed(.idle) { try c.endIdle(try c.startIdle()) }
                        }
                    }
                    try timed(.logout) { try c.command("LOGOUT") }
                } catch {
                    errors.append("\(error)")
                    usleep(10_000)
                }
            }
            results.merge(local, errors: errors)
        }
    }
    let start = Date()
    try joinAll(threads)
    var report = results.report
    report.seconds = max(Date().timeIntervalSince(start), 0.001)
    return report
}

struct MemoryReport {
    var sessions: Int
    var beforeKB: Int, afterKB: Int
    var pssBeforeKB: Int?, pssAfterKB: Int?
    var name: String
    var openSeconds: Double
    var perSessionKB: Double { Double(afterKB - beforeKB) / Double(max(sessions, 1)) }

    func print() {
        var line = String(format: "  memory: %d IDLE sessions opened in %.1f s; resident %.1f MB -> %.1f MB: %.1f KB per session (RSS)",
                          sessions, openSeconds, Double(beforeKB) / 1024, Double(afterKB) / 1024, perSessionKB)
        if let a = pssBeforeKB, let b = pssAfterKB {
            line += String(format: ", %.1f KB per session (PSS)", Double(b - a) / Double(max(sessions, 1)))
        }
        Swift.print(line + " [\(name)]")
    }
}

func measureIdleMemory(_ server: BenchServer, count: Int) throws -> MemoryReport {
    guard count > 0 else { return MemoryReport(sessions: 0, beforeKB: 0, afterKB: 0, name: "", openSeconds: 0) }
    usleep(1_000_000)  // let sessions of the mix finish closing
    let before = server.residentKB()
    var connections: [IMAPBenchConnection] = []
    connections.reserveCapacity(count)
    let start = Date()
    for i in 0..<count {
        let cred = server.credentials[i % server.credentials.count]
        let c = try IMAPBenchConnection(port: server.port)
        try c.login(user: cred.user, password: cred.password)
        _ = try c.select("INBOX")
        _ = try c.startIdle()
        connections.append(c)
    }
    let opened = Date().timeIntervalSince(start)
    usleep(2_000_000)  // let the servers settle (login processes exit, caches fill)
    let after = server.residentKB()
    let what = server is SealboxServer ? "VmRSS of sealbox serve" : "sum over Dovecot's imap, imap-login and auth processes"
    connections.removeAll()  // closes the sockets
    return MemoryReport(sessions: count, beforeKB: before.rss, afterKB: after.rss, pssBeforeKB: before.pss,
                        pssAfterKB: after.pss, name: what, openSeconds: opened)
}

// MARK: - plumbing

final class BenchResults: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var value = MixReport()
    func merge(_ samples: [MixOp: [Double]], errors: [String]) {
        lock.withLock {
            for (k, v) in samples { value.samples[k, default: []] += v }
            value.errors += errors
        }
    }
    var report: MixReport { lock.withLock { value } }
}

final class BenchOutput: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var data = Data()
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
    func append(_ s: String) { lock.withLock { data.append(contentsOf: Array(s.utf8)) } }
    func consume(_ handle: FileHandle) {
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { return }
            lock.withLock { data.append(chunk) }
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ upper: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(max(upper, 1)))
    }
}

/// Runs each body on its own thread and waits for all.
func joinAll(_ bodies: [@Sendable () -> Void]) throws {
    let group = DispatchGroup()
    let wrapped = bodies.map { body -> Thread in
        group.enter()
        return Thread { body(); group.leave() }
    }
    for t in wrapped { t.stackSize = 1 << 20; t.start() }
    group.wait()
}

func raiseFileLimit() {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

func procKB(_ pid: Int32, file: String, key: String) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix(key) {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
    }
    return 0
}

func descendants(of root: Int32) -> [Int32] {
    var children: [Int32: [Int32]] = [:]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let ppid = Int32(fields[1]) { children[ppid, default: []].append(pid) }
    }
    var out: [Int32] = [], queue = [root]
    while let p = queue.popLast() {
        for c in children[p] ?? [] { out.append(c); queue.append(c) }
    }
    return out
}

func repositoryRoot() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

func benchFreePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    guard ok == 0 else { throw BenchError("bind: errno \(errno)") }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Runs a tool to completion (bounded by the tool itself); stdout (and stderr unless told) captured.
func runTool(_ path: String, _ args: [String], env: [String: String], stderrToo: Bool = true) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    p.environment = environment
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = stderrToo ? pipe : FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
