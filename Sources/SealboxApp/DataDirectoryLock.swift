import Foundation

/// An exclusive lock on a data directory (`sealbox.lock`, flock), held by `sealbox serve` and by
/// commands that open mailboxes, so that two processes never both act as a mailbox's writer.
public final class DataDirectoryLock: Sendable {
    private let fd: Int32

    public struct Locked: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public init(dataDirectory: String) throws {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = dataDirectory + "/sealbox.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Locked(description: "cannot open \(path)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let pid = String(decoding: buffer.prefix(max(n, 0)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw Locked(description: "the data directory \(dataDirectory) is locked by another sealbox process\(pid.isEmpty ? "" : " (pid \(pid))")")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        self.fd = fd
    }

    deinit {
        _ = ftruncate(fd, 0)
        close(fd)
    }
}
