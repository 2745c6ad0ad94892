import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL server for the tests: Debian's `postgresql-15` (scripts/setup-test-deps.sh),
/// `initdb` in a temporary directory, `postgres` on 127.0.0.1 with a free port and its unix socket
/// inside that directory, password (SCRAM) authentication over TCP.
///
/// One server per test process (`PostgresServer.shared()`), each test its own database
/// (`createDatabase()`), so the suite pays for `initdb` once. The server is started under a small
/// shell watchdog that stops it (SIGINT: fast shutdown) and removes its directory when the test
/// process is gone, so nothing outlives the run; `stop()` does it at once.
///
/// As root (CI, this machine) `initdb` and `postgres` refuse to run, so both run as `nobody`
/// through `setpriv`, in a directory given to `nobody`.
public final class PostgresServer: Sendable {
    public struct Failure: Error, CustomStringConvertible { public let description: String }

    public let port: Int
    /// The superuser's name and password (the tests' URLs carry them).
    public let user = "sealbox"
    public let password: String
    /// The temporary directory: data/, the socket, the password file.
    public let root: String
    let process: ChildHandle

    /// The binaries of Debian's postgresql-15, or nil when it is not installed.
    public static var binDirectory: String? {
        let candidates = [ProcessInfo.processInfo.environment["SEALBOX_TEST_PG_BIN"], "/usr/lib/postgresql/15/bin"].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0 + "/postgres") }
    }

    public static var isAvailable: Bool { binDirectory != nil }

    private static let sharedServer = Mutex<Result<PostgresServer, Failure>?>(nil)

    /// The server shared by every test of this process, started on first use.
    public static func shared() async throws -> PostgresServer {
        // Started at most once: the Mutex is held while it starts (seconds, once per process).
        let result = sharedServer.withLock { state -> Result<PostgresServer, Failure> in
            if let state { return state }
            let started: Result<PostgresServer, Failure>
            do { started = .success(try PostgresServer()) } catch let error as Failure { started = .failure(error) } catch {
                started = .failure(Failure(description: "\(error)"))
            }
            state = started
            return started
        }
        return try result.get()
    }

    /// With `tls`, the server's self-signed certificate (CN localhost, SAN IP 127.0.0.1): the trust root for `verify-full`.
    public let certificatePath: String?

    /// `initdb`, start, wait until it accepts connections (bounded). `tls`: a self-signed
    /// certificate made with openssl, and `ssl=on` (clients may still connect without TLS).
    public init(tls: Bool = false) throws {
        guard let bin = Self.binDirectory else { throw Failure(description: "PostgreSQL 15 is not installed (scripts/setup-test-deps.sh)") }
        let base = URL(fileURLWithPath: "/tmp").appendingPathComponent("sealbox-pg-" + UUID().uuidString.prefix(8).lowercased()).path
        root = base
        password = "pw-" + UUID().uuidString.lowercased()
        let fm = FileManager.default
        try fm.createDirectory(atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: base + "/pwfile"))
        let asRoot = geteuid() == 0
        // As root: everything below runs as nobody, who must own the directory.
        let prefix: [String] = asRoot ? ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] : []
        if asRoot {
            guard let nobody = getpwnam("nobody") else { throw Failure(description: "no user nobody to run PostgreSQL as") }
            _ = chown(base, nobody.pointee.pw_uid, nobody.pointee.pw_gid)
            _ = chown(base + "/pwfile", nobody.pointee.pw_uid, nobody.pointee.pw_gid)
        }
        let initdb = try ChildProcess.spawn(prefix.first ?? bin + "/initdb", Array(prefix.dropFirst()) + (asRoot ? [bin + "/initdb"] : []) + [
            "-D", base + "/data", "-U", user, "--pwfile=" + base + "/pwfile", "--auth-local=trust", "--auth-host=scram-sha-256",
            "-E", "UTF8", "--no-locale", "--no-sync",
        ], environment: ["PATH": "/usr/bin:/bin", "LANG": "C"], directory: base)
        let done = initdb.waitBlocking(timeout: .seconds(120))
        guard done.ok else {
            try? fm.removeItem(atPath: base)
            throw Failure(description: "initdb failed: \(done.stderr.suffix(2000))")
        }
        var tlsFlags: [String] = []
        if tls {
            let made = try ChildProcess.spawn("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                                          "-keyout", base + "/server.key", "-out", base + "/server.crt", "-days", "2",
                                                          "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                                              environment: ["PATH": "/usr/bin:/bin"]).waitBlocking(timeout: .seconds(60))
            guard made.ok else {
                try? fm.removeItem(atPath: base)
                throw Failure(description: "openssl could not make the test certificate: \(made.stderr.suffix(1000))")
            }
            if asRoot, let nobody = getpwnam("nobody") {
                _ = chown(base + "/server.key", nobody.pointee.pw_uid, nobody.pointee.pw_gid)
                _ = chown(base + "/server.crt", nobody.pointee.pw_uid, nobody.pointee.pw_gid)
            }
            _ = chmod(base + "/server.key", 0o600)
            tlsFlags = ["-c", "ssl=on", "-c", "ssl_cert_file=" + base + "/server.crt", "-c", "ssl_key_file=" + base + "/server.key"]
            certificatePath = base + "/server.crt"
        } else {
            certificatePath = nil
        }
        port = MotoServer.freePort()
        // The watchdog: postgres in the background; when this test process is gone (or postgres
        // ended), stop postgres and remove the directory. Bounded: postgres' fast shutdown, then KILL.
        let postgres = (prefix + [bin + "/postgres", "-D", base + "/data", "-h", "127.0.0.1", "-p", String(port), "-k", base,
                                  "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                                  "-c", "max_connections=300", "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning"] + tlsFlags)
            .map { "'" + $0 + "'" }.joined(separator: " ")
        // `pause` (a file): postgres is stopped (fast shutdown) and started again once the file is
        // gone (`pause()`/`resume()`: a database restart under load).
        let script = """
            while :; do
              \(postgres) >>"\(base)/postgres.log" 2>&1 &
              pg=$!
              while kill -0 \(getpid()) 2>/dev/null && kill -0 $pg 2>/dev/null && [ ! -e "\(base)/stop" ] && [ ! -e "\(base)/pause" ]; do sleep 0.2; done
              kill -INT $pg 2>/dev/null
              i=0; while kill -0 $pg 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
              kill -KILL $pg 2>/dev/null; wait $pg 2>/dev/null
              [ -e "\(base)/pause" ] || break
              while [ -e "\(base)/pause" ] && [ ! -e "\(base)/stop" ] && kill -0 \(getpid()) 2>/dev/null; do sleep 0.2; done
              [ -e "\(base)/stop" ] && break
              kill -0 \(getpid()) 2>/dev/null || break
            done
            rm -rf "\(base)"
            """
        process = try ChildHandle("/bin/sh", ["-c", script], environment: ["PATH": "/usr/bin:/bin", "LANG": "C"])
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let ready = try ChildProcess.spawn(bin + "/pg_isready", ["-h", "127.0.0.1", "-p", String(port), "-U", user, "-t", "2"],
                                               environment: ["PATH": "/usr/bin:/bin"]).waitBlocking(timeout: .seconds(10))
            if ready.ok { return }
            if !process.isRunning { break }
            usleep(100_000)  // init is synchronous (shared() holds a lock while it runs)
        }
        let log = (try? String(contentsOfFile: base + "/postgres.log", encoding: .utf8)) ?? ""
        stop()
        throw Failure(description: "postgres did not start on port \(port): \(log.suffix(2000))")
    }

    /// Stops postgres (fast shutdown, bounded) until `resume()`; only for a server of the test's own
    /// (`init`), never the shared one.
    public func pause() async {
        _ = FileManager.default.createFile(atPath: root + "/pause", contents: nil)
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, ready() { try? await Task.sleep(for: .milliseconds(100)) }
    }

    /// Starts postgres again after `pause()` and waits until it accepts connections (bounded).
    public func resume() async {
        try? FileManager.default.removeItem(atPath: root + "/pause")
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, !ready() { try? await Task.sleep(for: .milliseconds(100)) }
    }

    func ready() -> Bool {
        guard let bin = Self.binDirectory,
              let check = try? ChildProcess.spawn(bin + "/pg_isready", ["-h", "127.0.0.1", "-p", String(port), "-U", user, "-t", "2"],
                                                  environment: ["PATH": "/usr/bin:/bin"]) else { return false }
        return check.waitBlocking(timeout: .seconds(10)).ok
    }

    /// Stops the server and removes its directory (bounded).
    public func stop() {
        _ = FileManager.default.createFile(atPath: root + "/stop", contents: nil)
        if !process.isRunning { return }
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning && ContinuousClock.now < deadline { usleep(50_000) }
        if process.isRunning { process.kill9(); process.waitUntilExit() }
    }

    /// A new empty database (a random name unless given) owned by the superuser.
    public func createDatabase(_ name: String? = nil) async throws -> String {
        let name = name ?? "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await psql("CREATE DATABASE \"\(name)\"")
        return name
    }

    /// Runs SQL as the superuser over the unix socket (trust), in `database`; its output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        guard let bin = Self.binDirectory else { throw Failure(description: "PostgreSQL is not installed") }
        let result = try await ChildProcess.run(bin + "/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", root, "-p", String(port),
                                                                "-U", user, "-d", database, "-c", sql],
                                                environment: ["PATH": "/usr/bin:/bin", "LANG": "C"], timeout: .seconds(60))
        guard result.ok else { throw Failure(description: "psql failed: \(result.stderr.suffix(1000))") }
        return result.stdout
    }

    /// `postgres://user:password@127.0.0.1:port/database?sslmode=disable&connect_timeout=60` (a
    /// generous connect bound: the whole suite shares two cores).
    public func url(database: String) -> String {
        "postgres://\(user):\(password)@127.0.0.1:\(port)/\(database)?sslmode=disable&connect_timeout=60"
    }
}
