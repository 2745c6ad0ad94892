import Backup
import BackupStore
import Directory
import Foundation
import MailboxAPI
import MailCore
import MailStore
import SealboxApp

/// `SealboxBench backup [--megabytes 1024] [--endpoint URL --bucket NAME]`: backup and restore
/// throughput of one large mailbox against a local S3 server (PyPI moto's `moto_server`, started
/// here on a free loopback port unless `--endpoint` names one).
///
/// 1. Fill a mailbox with generated mail (2–200 KB, a share with attachments) up to the size asked.
/// 2. Unlocked: the snapshot alone (checkpoint, VACUUM INTO, re-open with the key, read every row
///    into the content hash, SHA-256 of the file), then a whole backup (snapshot + upload).
/// 3. The same backup again: nothing changed, nothing uploaded (the cost of change detection).
/// 4. Locked: a backup of the quiescent file (copy + hash + upload).
/// 5. Restore into an empty data directory (download, SHA-256 check, directory entries, and the
///    restored mailbox opened with the password and counted).
func backupBenchmark(arguments: [String]) async throws {
    func value(_ name: String) -> String? {
        guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
        return arguments[i + 1]
    }
    let megabytes = Int(value("--megabytes") ?? "1024") ?? 1024
    let root = NSTemporaryDirectory() + "sealbox-backup-bench-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }

    var moto: Process?
    defer { if let moto { kill(moto.processIdentifier, SIGKILL); moto.waitUntilExit() } }
    let endpoint: String
    if let given = value("--endpoint") {
        endpoint = given
    } else {
        let python = ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"].map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        let candidates = ([python].compactMap { $0 } + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init))
            .map { $0 + "/moto_server" }
        guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BackupError("moto_server is not installed (scripts/setup-test-deps.sh installs it into .deps/test-venv); or pass --endpoint")
        }
        let port = Int.random(in: 20_000...60_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        moto = process
        endpoint = "http://127.0.0.1:\(port)"
        try await Task.sleep(for: .seconds(3))
    }
    let bucket = value("--bucket") ?? "sealbox-bench"
    var s3 = S3Configuration(bucket: bucket, accessKeyID: "bench", secretAccessKey: "bench-secret")
    s3.endpoint = endpoint
    s3.pathStyle = true
    let destination = try S3Destination(configuration: s3)
    try? await destination.createBucket()

    // 1. Fill.
    let node = try SealboxNode.open(dataDirectory: root + "/data")
    _ = try await node.directory.addDomain(try Domain("example.com"))
    let address = try EmailAddress("bench@example.com")
    let alias = try await node.directory.addAlias(address, store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
    let password = try await node.mailboxes.createMailbox(for: alias, label: nil).password
    let mailboxID = try requireValue(try await node.directory.alias(address: address)?.mailboxID)
    var session: (any MailboxSession)? = try await node.mailboxes.unlock(address: address, password: password)
    var generator = MessageGenerator(seed: 7)
    var count = 0, mailBytes = 0
    let fillStart = ContinuousClock.now
    while node.mailboxes.mailboxFileSize(mailboxID: mailboxID) < Int64(megabytes) << 20 {
        for _ in 0..<200 {
            let m = generator.next()
            _ = try await session!.append(to: "INBOX", message: m, flags: [], keywords: [], internalDate: nil)
            count += 1; mailBytes += m.count
        }
    }
    let fillSeconds = (ContinuousClock.now - fillStart).seconds
    let fileMB = Double(node.mailboxes.mailboxFileSize(mailboxID: mailboxID)) / 1_048_576
    print(String(format: "mailbox: %d messages, %.0f MB of mail, file %.0f MB (filled in %.0f s)", count, Double(mailBytes) / 1e6, fileMB, fillSeconds))

    let backups = BackupService(mailboxes: node.mailboxes, directory: node.directory, destination: destination,
                                configuration: .init(temporaryDirectory: root + "/tmp", generations: 3))
    func timed(_ label: String, megabytes: Double, _ body: () async throws -> String) async throws {
        let start = ContinuousClock.now
        let detail = try await body()
        let seconds = (ContinuousClock.now - start).seconds
        print(String(format: "%-44@ %7.1f s  %7.1f MB/s  %@", label as NSString, seconds, megabytes / seconds, detail as NSString))
    }

    // 2. Unlocked.
    try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
    try await timed("snapshot, unlocked (VACUUM INTO + verify + hash)", megabytes: fileMB) {
        let s = try await node.mailboxes.snapshot(mailboxID: mailboxID, to: root + "/tmp/probe.sqlite")
        try FileManager.default.removeItem(atPath: s.path)
        return "snapshot \(s.size >> 20) MB"
    }
    try await timed("backup, unlocked (snapshot + upload)", megabytes: fileMB) { "\(try await backups.backUp(address: address))" }
    // 3. Unchanged.
    try await timed("backup again, nothing changed", megabytes: fileMB) { "\(try await backups.backUp(address: address))" }
    // 4. Locked.
    await session?.close()
    session = nil
    await node.mailboxes.lockAll()
    try await timed("backup, locked (file copy + hash + upload)", megabytes: fileMB) { "\(try await backups.backUp(address: address))" }

    // 5. Restore into an empty data directory.
    let other = try SealboxNode.open(dataDirectory: root + "/restored")
    let restorer = BackupService(mailboxes: other.mailboxes, directory: other.directory, destination: destination,
                                 configuration: .init(temporaryDirectory: root + "/tmp2"))
    try await timed("restore into an empty data directory", megabytes: fileMB) {
        let summary = try await restorer.restore(address: address, generation: nil, password: password)
        return "\(summary.folders?.first { $0.0 == "INBOX" }?.1 ?? -1) messages in INBOX"
    }
    await other.shutdown()
    await node.shutdown()
    try await destination.shutdown()
}

private func requireValue<T>(_ value: T?) throws -> T {
    guard let value else { throw BackupError("the benchmark mailbox has no id") }
    return value
}
