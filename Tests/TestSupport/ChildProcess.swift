import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The tests' one way to run a child process: posix_spawn, output to temporary files (no pipes,
/// no reader threads), and an async wait that polls `waitpid(WNOHANG)` between `Task.sleep`s, so
/// no thread of the cooperative pool blocks and nothing depends on Foundation's SIGCHLD
/// handling (which left children unreaped when several tests launched at once). The child gets
/// an empty signal mask and default dispositions (a test runner may block or ignore signals) and
/// leads its own process group, so a timeout kills it and everything it started.
public struct ChildProcess: Sendable {
    public let pid: pid_t
    let outputPath: String
    let errorPath: String
    let inputPath: String?
    /// Whether the output files are temporary ones of ours (removed once read) or the caller's.
    let ownsFiles: Bool

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public struct Result: Sendable {
        /// The exit status, or 128 + the signal that ended it.
        public var status: Int32
        /// The signal that ended it (nil: it exited).
        public var signal: Int32?
        public var timedOut: Bool
        public var stdout: String
        public var stderr: String
        public var ok: Bool { status == 0 && signal == nil && !timedOut }
    }

    /// Starts `executable` (a path, or a name looked up on PATH) with `arguments`. `stdin`: bytes
    /// to read (nil: /dev/null), or `stdinPath` a file to read. `directory`: the working
    /// directory. `outputFiles`: where stdout and stderr go (the caller's files, left in place;
    /// nil: temporary files of ours).
    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                             directory: String? = nil, stdin: [UInt8]? = nil, stdinPath: String? = nil,
                             outputFiles: (stdout: String, stderr: String)? = nil) throws -> ChildProcess {
        let base = NSTemporaryDirectory() + "sealbox-child-" + UUID().uuidString
        let outputPath = outputFiles?.stdout ?? base + ".out", errorPath = outputFiles?.stderr ?? base + ".err"
        var inputPath: String? = stdinPath
        if let stdin {
            inputPath = base + ".in"
            try Data(stdin).write(to: URL(fileURLWithPath: inputPath!))
        }
        // /usr/bin/env finds the executable on PATH and changes directory (-C): glibc's
        // posix_spawn_file_actions_addchdir_np is not visible from Swift here.
        var argv = ["/usr/bin/env"]
        if let directory { argv += ["-C", directory] }
        argv += [executable] + arguments
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputPath ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        let rc = posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else { throw Failure(description: "posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        return ChildProcess(pid: pid, outputPath: outputPath, errorPath: errorPath, inputPath: stdin == nil ? nil : inputPath,
                            ownsFiles: outputFiles == nil)
    }

    /// Runs to the end (bounded by `timeout`) and returns its status and output.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           directory: String? = nil, stdin: [UInt8]? = nil, timeout: Duration) async throws -> Result {
        let child = try spawn(executable, arguments, environment: environment, directory: directory, stdin: stdin)
        return await child.wait(timeout: timeout)
    }

    /// Removes our temporary files (not the caller's).
    func removeFiles() {
        if let inputPath { unlink(inputPath) }
        if ownsFiles { unlink(outputPath); unlink(errorPath) }
    }

    /// Sends `signal` to the child.
    public func send(_ signal: Int32) { kill(pid, signal) }

    /// The child's exit, or nil while it runs (reaps it when it has ended).
    public func poll() -> (status: Int32, signal: Int32?)? {
        var raw: Int32 = 0
        let r = waitpid(pid, &raw, WNOHANG)
        if r == -1 && errno == ECHILD { return (255, nil) }  // reaped elsewhere: gone, status unknown
        guard r == pid else { return nil }
        let termSignal = raw & 0x7F
        if termSignal == 0 { return ((raw >> 8) & 0xFF, nil) }
        return (128 + termSignal, termSignal)
    }

    /// The same wait blocking the calling thread: only where no `await` is possible (a `defer`, a
    /// static initializer) and the child is quick.
    public func waitBlocking(timeout: Duration) -> Result {
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        var exit = poll()
        while exit == nil {
            if !timedOut && ContinuousClock.now > deadline {
                timedOut = true
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
            }
            usleep(10_000)
            exit = poll()
        }
        return collect(exit!, timedOut: timedOut, timeout: timeout)
    }

    /// Waits for the end; past `timeout` kills the child's process group and the child.
    public func wait(timeout: Duration) async -> Result {
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        var exit: (status: Int32, signal: Int32?)?
        while exit == nil {
            exit = poll()
            if exit != nil { break }
            if !timedOut && ContinuousClock.now > deadline {
                timedOut = true
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return collect(exit!, timedOut: timedOut, timeout: timeout)
    }

    private func collect(_ exit: (status: Int32, signal: Int32?), timedOut: Bool, timeout: Duration) -> Result {
        defer { removeFiles() }
        let out = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        var err = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        if timedOut { err += "\n[killed after \(timeout)]" }
        return Result(status: exit.status, signal: exit.signal, timedOut: timedOut, stdout: out, stderr: err)
    }
}

/// A long-running child (a server under test) with Foundation.Process's shape — `isRunning`,
/// `terminate()`, `waitUntilExit()`, `terminationStatus` — over `ChildProcess`: its exit is seen
/// by `waitpid` on its own pid, never missed. Its stdout and stderr go to files read at any time.
public final class ChildHandle: @unchecked Sendable {
    // @unchecked: `exit` is guarded by `lock`.
    public let child: ChildProcess
    private let lock = NSLock()
    private var exit: (status: Int32, signal: Int32?)?

    public init(_ child: ChildProcess) { self.child = child }

    /// Starts `executable arguments` (see `ChildProcess.spawn`).
    public convenience init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                            directory: String? = nil) throws {
        self.init(try ChildProcess.spawn(executable, arguments, environment: environment, directory: directory))
    }

    public var processIdentifier: pid_t { child.pid }

    private func refresh() -> (status: Int32, signal: Int32?)? {
        lock.withLock {
            if exit == nil { exit = child.poll() }
            return exit
        }
    }

    public var isRunning: Bool { refresh() == nil }
    public func terminate() { if isRunning { kill(child.pid, SIGTERM) } }
    public func interrupt() { if isRunning { kill(child.pid, SIGINT) } }
    public func kill9() { if isRunning { kill(child.pid, SIGKILL) } }

    /// Blocks (polling) until the child has exited: for a `defer`; elsewhere `exited(within:)`.
    public func waitUntilExit() { while refresh() == nil { usleep(5_000) } }

    /// Waits without blocking a thread; false when it still runs after `timeout`.
    public func exited(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while refresh() == nil {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// The exit status, or the signal's number when a signal ended it (as Foundation reports it).
    public var terminationStatus: Int32 {
        guard let e = refresh() else { return -1 }
        return e.signal ?? e.status
    }
    public var terminationReason: Process.TerminationReason { refresh()?.signal == nil ? .exit : .uncaughtSignal }

    /// What it wrote so far.
    public var stdoutText: String { (try? String(contentsOfFile: child.outputPath, encoding: .utf8)) ?? "" }
    public var stderrText: String { (try? String(contentsOfFile: child.errorPath, encoding: .utf8)) ?? "" }

    deinit {
        if exit == nil, child.poll() == nil { kill(child.pid, SIGKILL); while child.poll() == nil { usleep(5_000) } }
        child.removeFiles()
    }
}
