import Foundation

/// A real S3-compatible server for the tests: PyPI moto's `moto_server` (scripts/test-requirements.txt)
/// on a free loopback port. Shared by the destination, engine and CLI tests.
public final class MotoServer: @unchecked Sendable {
    // @unchecked: `process`, `port` and `endpoint` are set in init and only read afterwards.
    public let process: ChildHandle
    public let port: Int
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    /// The `moto_server` beside `SEALBOX_TEST_PYTHON` (the test venv), else on PATH.
    public static var executable: String? {
        var candidates: [String] = []
        if let python = ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"] {
            candidates.append(URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("moto_server").path)
        }
        candidates += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/moto_server" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// Starts it and waits (bounded) until it accepts connections.
    public init() throws {
        guard let executable = Self.executable else { throw Failure(description: "moto_server is not installed") }
        port = Self.freePort()
        process = try ChildHandle(executable, ["-H", "127.0.0.1", "-p", String(port)])
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if Self.accepts(port) { return }
            usleep(100_000)  // init is synchronous (its callers are)
        }
        stop()
        throw Failure(description: "moto_server did not start on port \(port)")
    }

    /// SIGKILL: nothing of moto's state is worth a graceful end.
    public func stop() {
        guard process.isRunning else { return }
        process.kill9()
        process.waitUntilExit()
    }

    /// A port nothing listens on right now (bound and released).
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = in_port_t(UInt16(port).bigEndian)
        target.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
