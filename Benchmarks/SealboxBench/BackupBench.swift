import Backup
import BackupStore
import Directory
import Foundation
import MailboxAPI
import MailCore
@_spi(Testing) import MailStore
import SealboxApp

/// `SealboxBench backup [--megabytes 1024] [--rounds 3] [--concurrency 4] [--no-s3] [--endpoint URL --bucket NAME]`:
/// backup and restore throughput of one large mailbox, to a `file://` destination (the speed
/// figure) and to a local S3 server (PyPI moto's `moto_server`, started here on a free loopback
/// port unless `--endpoint` names one), each stage beside physical references measured in the
/// same run on the same file.
///
/// 1. Fill a mailbox with generated mail (2–200 KB, a share with attachments) up to the size asked.
/// 2. `--rounds` times, and the medians: the references on the mailbox file (a raw read, `cp`,
///    `sha256sum` of the copy), then a snapshot of the unlocked mailbox, stage by stage.
/// 3. Backups of the unlocked mailbox to `file://` and to S3 (snapshot, then upload), the upload
///    alone, and the same backup again with nothing changed.
/// 4. Locked: a backup of the quiescent file (copy + hash, upload), to each destination.
/// 5. Restore into an empty data directory from each (download, SHA-256 check, directory entries,
///    and the restored mailbox opened with the password and counted).
/// The peak resident memory of the backup stages is printed at the end (the fill's is reset).
func backupBenchmark(arguments: [String]) async throws {
    func value(_ name: String) -> String? {
        guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
        return arguments[i + 1]
    }
    let megabytes = Int(value("--megabytes") ?? "1024") ?? 1024
    let rounds = max(1, Int(value("--rounds") ?? "3") ?? 3)
    let concurrency = Int(value("--concurrency") ?? "4") ?? 4
    let useS3 = !arguments.contains("--no-s3")
    let root = NSTemporaryDirectory() + "sealbox-backup-bench-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }

    var moto: Process?
    defer { if let moto { kill(moto.processIdentifier, SIGKILL); moto.waitUntilExit() } }
    var s3: S3Destination?
    if useS3 {
        let endpoint: String
        if let given = value("--endpoint") {
            endpoint = given
        } else {
            let python = ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"].map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
            let candidates = ([python].compactMap { $0 } + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init))
                .map { $0 + "/moto_server" }
            guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw BackupError("moto_server is not installed (scripts/setup-test-deps.sh installs it into .deps/test-venv); or pass --endpoint or --no-s3")
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
        var configuration = S3Configuration(bucket: value("--bucket") ?? "sealbox-bench", accessKeyID: "bench", secretAccessKey: "bench-secret")
        configuration.endpoint = endpoint
        configuration.pathStyle = true
        configuration.concurrency = concurrency
        let destination = try S3Destination(configuration: configuration)
        try? await destination.createBucket()
        s3 = destination
    }

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

    let file = MailboxDatabase.filePath(storageRoot: node.mailboxes.storageRoot, mailboxID: mailboxID)
    let tmp = root + "/tmp"
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(loadAverage()) at the start")
    BenchMemory.resetPeak()
    let residentAtStart = BenchMemory.kilobytes("VmRSS:")

    func line(_ label: String, _ seconds: Double, _ mb: Double, _ detail: String = "") {
        print(String(format: "  %-58@ %7.2f s  %7.1f MB/s  %@", label as NSString, seconds, mb / seconds, detail as NSString))
    }
    func measure<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
        let start = ContinuousClock.now
        let result = try await body()
        return (result, (ContinuousClock.now - start).seconds)
    }

    // 2. References and the unlocked snapshot, `rounds` times.
    var samples: [String: [Double]] = [:]
    /// Peak resident memory above what it was when the stage began, in kB, per stage.
    var memory: [String: Int] = [:]
    func measureMemory<T>(_ stage: String, _ body: () async throws -> T) async rethrows -> T {
        BenchMemory.resetPeak()
        let before = BenchMemory.kilobytes("VmRSS:")
        let result = try await body()
        memory[stage] = BenchMemory.kilobytes("VmHWM:") - before
        return result
    }
    var order: [String] = []
    func sample(_ name: String, _ seconds: Double) {
        if samples[name] == nil { order.append(name) }
        samples[name, default: []].append(seconds)
    }
    for round in 1...rounds {
        print("round \(round) of \(rounds) (load average \(loadAverage())):")
        _ = try await node.mailboxes.fileStamp(mailboxID: mailboxID)  // checkpointed: the file alone is the mailbox
        let (_, raw) = try await measure { try run("/bin/dd", ["if=\(file)", "of=/dev/null", "bs=8M", "status=none"]) }
        line("reference: raw read of the file (dd bs=8M)", raw, fileMB); sample("reference: raw read (dd)", raw)
        let (_, cp) = try await measure { try run("/bin/cp", [file, tmp + "/reference.sqlite"]) }
        let (_, sum) = try await measure { try run("/usr/bin/sha256sum", [tmp + "/reference.sqlite"]) }
        try FileManager.default.removeItem(atPath: tmp + "/reference.sqlite")
        line("reference: cp", cp, fileMB); sample("reference: cp", cp)
        line("reference: sha256sum of the copy", sum, fileMB); sample("reference: sha256sum", sum)
        line("reference: cp + sha256sum", cp + sum, fileMB); sample("reference: cp + sha256sum", cp + sum)
        for (method, label) in [(MailboxSnapshot.Method.vacuumInto, "before (VACUUM INTO)"), (.pages, "after (pages)")] {
            BenchMemory.resetPeak()
            let before = BenchMemory.kilobytes("VmRSS:")
            let (snapshot, total) = try await measure {
                try await node.mailboxes.snapshot(mailboxID: mailboxID, to: tmp + "/probe.sqlite", method: method)
            }
            memory["snapshot \(label)", default: 0] = max(memory["snapshot \(label)"] ?? 0, BenchMemory.kilobytes("VmHWM:") - before)
            try FileManager.default.removeItem(atPath: snapshot.path)
            for stage in snapshot.stages {
                line("snapshot \(label): \(stage.name)", stage.duration.seconds, fileMB)
                sample("snapshot \(label): \(stage.name)", stage.duration.seconds)
            }
            line("snapshot \(label): all (\(snapshot.size >> 20) MB)", total, fileMB,
                 String(format: "%.2f× the time of cp + sha256sum", total / (cp + sum)))
            sample("snapshot \(label): all", total)
            sample("ratio: snapshot \(label) time / (cp + sha256sum) time", total / (cp + sum))
        }
    }
    print("medians of \(rounds) rounds:")
    for name in order {
        let m = median(samples[name]!)
        if name.hasPrefix("ratio") { print(String(format: "  %-58@ %7.2f", name as NSString, m)) } else { line(name, m, fileMB) }
    }

    // 3. Unlocked backups, 4. locked, 5. restores: to a directory, then to S3.
    var destinations: [(String, any BackupDestination)] = [("file://", try DirectoryDestination(path: root + "/backups-unlocked"))]
    if let s3 { destinations.append(("S3 (moto, concurrency \(concurrency))", s3)) }
    for (name, destination) in destinations {
        let backups = BackupService(mailboxes: node.mailboxes, directory: node.directory, destination: destination,
                                    configuration: .init(temporaryDirectory: tmp, generations: 3))
        print("to \(name):")
        let snapshot = try await node.mailboxes.snapshot(mailboxID: mailboxID, to: tmp + "/upload.sqlite")
        var uploaders = [("upload alone (of a snapshot)", destination)]
        if let s3 = destination as? S3Destination, concurrency != 1 {
            var one = s3.configuration
            one.concurrency = 1
            uploaders.insert(("upload alone, before (one part at a time)", try S3Destination(configuration: one)), at: 0)
        }
        for (label, uploader) in uploaders {
            let (_, upload) = try await measure { try await uploader.put(key: "bench/upload-alone.sqlite", file: snapshot.path, metadata: [:], progress: nil) }
            try await destination.delete(key: "bench/upload-alone.sqlite")
            line(label, upload, fileMB)
        }
        try FileManager.default.removeItem(atPath: snapshot.path)
        let (outcome, whole) = try await measureMemory("backup, unlocked, to \(name)") { try await measure { try await backups.backUp(address: address) } }
        line("backup, unlocked (snapshot + upload)", whole, fileMB, "\(outcome)")
        let (again, unchanged) = try await measure { try await backups.backUp(address: address) }
        line("backup again, nothing changed", unchanged, fileMB, "\(again)")
    }
    await session?.close()
    session = nil
    await node.mailboxes.lockAll()
    var lockedDestinations: [(String, any BackupDestination)] = [("file://", try DirectoryDestination(path: root + "/backups-locked"))]
    if let s3 {
        var configuration = s3.configuration
        configuration.prefix = "locked/"
        lockedDestinations.append(("S3 (moto, concurrency \(concurrency))", try S3Destination(configuration: configuration)))
    }
    for (name, destination) in lockedDestinations {
        let backups = BackupService(mailboxes: node.mailboxes, directory: node.directory, destination: destination,
                                    configuration: .init(temporaryDirectory: tmp, generations: 3))
        print("locked, to \(name):")
        let (_, raw) = try await measure { try run("/bin/dd", ["if=\(file)", "of=/dev/null", "bs=8M", "status=none"]) }
        line("reference: raw read of the file (dd bs=8M)", raw, fileMB)
        let (outcome, whole) = try await measureMemory("backup, locked, to \(name)") { try await measure { try await backups.backUp(address: address) } }
        line("backup, locked (copy + hash, upload)", whole, fileMB, "\(outcome)")
        let (again, unchanged) = try await measure { try await backups.backUp(address: address) }
        line("backup again, nothing changed", unchanged, fileMB, "\(again)")
        let other = try SealboxNode.open(dataDirectory: root + "/restored-\(UUID().uuidString)")
        let restorer = BackupService(mailboxes: other.mailboxes, directory: other.directory, destination: destination,
                                     configuration: .init(temporaryDirectory: root + "/tmp2"))
        let (summary, restore) = try await measureMemory("restore from \(name)") {
            try await measure { try await restorer.restore(address: address, generation: nil, password: password) }
        }
        line("restore into an empty data directory", restore, fileMB, "\(summary.folders?.first { $0.0 == "INBOX" }?.1 ?? -1) messages in INBOX")
        await other.shutdown()
        try? FileManager.default.removeItem(atPath: other.dataDirectory)
    }
    print(String(format: "resident memory: %.0f MB after the fill; peak above the start of each stage (VmHWM reset at its start; file %.0f MB):",
                 Double(residentAtStart) / 1024, fileMB))
    for (stage, kb) in memory.sorted(by: { $0.key < $1.key }) { print(String(format: "  %-58@ +%.0f MB", stage as NSString, Double(kb) / 1024)) }
    await node.shutdown()
    if let s3 { try await s3.shutdown() }
}

private func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
}

/// Runs a reference command to its end; throws unless it exits 0.
private func run(_ executable: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BackupError("\(executable) failed (\(process.terminationStatus))") }
}

/// This process's peak resident memory (VmHWM), which Linux resets on `5` written to clear_refs.
enum BenchMemory {
    static func resetPeak() { try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8) }
    /// A line of /proc/self/status in kB ("VmRSS:", "VmHWM:").
    static func kilobytes(_ field: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(field) } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}

private func requireValue<T>(_ value: T?) throws -> T {
    guard let value else { throw BackupError("the benchmark mailbox has no id") }
    return value
}
