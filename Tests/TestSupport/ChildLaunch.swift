import Foundation

/// Starts child processes one at a time. Concurrent `Process.run()` calls from several test
/// threads left children unreaped in swift-corelibs-foundation on this platform: their exit was
/// never seen, `isRunning` stayed true and `waitUntilExit()` hung the whole test process (CI hung
/// this way once the SMTP suites added more concurrent launches).
public enum ChildLaunch {
    public static let lock = NSLock()

    public static func run(_ process: Process) throws {
        try lock.withLock { try process.run() }
    }
}
