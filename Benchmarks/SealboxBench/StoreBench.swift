import Directory
import Foundation
import GRDB
import MailboxAPI
import MailCore
@_spi(Testing) import MailStore
import SQLiteCipher

/// `SealboxBench store [--messages N] [--expunge-only]`: the mailbox store's figures.
///
/// 1. Append N realistic messages (2–200 KB, a share with attachments, some attachments repeated)
///    to an encrypted mailbox and, with the same code, to an unencrypted sqlite3mc database: msgs/s
///    and the ratio (target ≥ 0.8).
/// 2. Unlock with a password (scrypt + open + schema check + queue drain), mailbox locked.
/// 3. Open an already-unlocked mailbox (the in-memory verifier path; target < 5 ms).
/// 4. One sqlite3mc connection open at sqlite3mc's default KDF (64007 rounds) versus Sealbox's.
/// 5. Bytes written per byte of mail when messages are appended one by one, as IMAP APPEND and SMTP
///    deliver them (every write(2) of the process, the final checkpoint included).
/// 6. EXPUNGE of every 20th message (5 %, scattered), then of every other one left; the file's size
///    after each (checkpointed) against a fresh import of what is left.
func storeBenchmark(arguments: [String]) async throws {
    var count = 10_000
    if let i = arguments.firstIndex(of: "--messages"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) { count = n }
    let root = NSTemporaryDirectory() + "sealbox-bench-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }

    print("generating \(count) messages…")
    var generator = MessageGenerator(seed: 42)
    let messages = (0..<count).map { _ in generator.next() }
    let totalBytes = messages.reduce(0) { $0 + $1.count }
    print(String(format: "corpus: %d messages, %.1f MB, %d with attachments",
                 count, Double(totalBytes) / 1e6, generator.withAttachments))

    if arguments.contains("--expunge-only") { return try await expungeBenchmark(messages, root: root + "/expunge") }
    if arguments.contains("--writes-only") { return try await writesBenchmark(messages, root: root + "/writes") }

    // 1. Append throughput, encrypted versus plain, same code.
    func appendAll(_ db: MailboxDatabase) async throws -> Double {
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            for m in messages { try await db.append(to: "INBOX", message: m) }
        }
        try db.close()
        return elapsed.seconds
    }
    let plain = try await appendAll(try MailboxDatabase.createUnencryptedForBenchmark(storageRoot: root + "/plain", mailboxID: DirectoryID.random()))
    let encrypted = try await appendAll(try MailboxDatabase.create(storageRoot: root + "/enc", mailboxID: DirectoryID.random(), dataKey: .random(count: 32)))
    let mb = Double(totalBytes) / 1e6
    print(String(format: "append, unencrypted sqlite3mc: %8.0f msgs/s  %6.1f MB/s", Double(count) / plain, mb / plain))
    print(String(format: "append, encrypted (chacha20):  %8.0f msgs/s  %6.1f MB/s", Double(count) / encrypted, mb / encrypted))
    print(String(format: "ratio encrypted/unencrypted:   %8.2f   (target >= 0.80)", plain / encrypted))
    print("size on disk: encrypted \(directorySize(root + "/enc") / 1_000_000) MB for \(Int(mb)) MB of mail (attachments de-duplicated)")

    // 2 and 3. Unlock with a password; open an already-unlocked mailbox.
    let key = SecretBytes.random(count: 32)
    let directory = try SQLiteDirectory(path: root + "/directory.sqlite", key: key)
    let queue = try SealedQueue(path: root + "/queue.sqlite", key: key)
    let service = LocalMailboxService(storageRoot: root + "/mailboxes", directory: directory, queue: queue, gracePeriod: .zero)
    _ = try await directory.addDomain(try Domain("example.com"))
    let address = try EmailAddress("bench@example.com")
    let alias = try await directory.addAlias(address, store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
    let password = try await service.createMailbox(for: alias, label: nil).password

    var cold: [Double] = []
    for _ in 0..<5 {
        let start = ContinuousClock.now
        let session = try await service.unlock(address: address, password: password)
        cold.append((ContinuousClock.now - start).seconds)
        await session.close()
        for _ in 0..<500 where await service.isUnlocked(mailboxID: session.mailboxID) { try await Task.sleep(for: .milliseconds(2)) }
    }
    let holder = try await service.unlock(address: address, password: password)
    var warm: [Double] = []
    for _ in 0..<200 {
        let start = ContinuousClock.now
        let session = try await service.unlock(address: address, password: password)
        warm.append((ContinuousClock.now - start).seconds)
        await session.close()
    }
    await holder.close()
    print(String(format: "unlock with a password (locked mailbox): median %.1f ms (scrypt N=2^15 r=8 p=1 + open)", median(cold) * 1000))
    print(String(format: "open an already-unlocked mailbox:        median %.3f ms, p99 %.3f ms (target < 5 ms)",
                 median(warm) * 1000, percentile(warm, 0.99) * 1000))

    // 4. Per-connection KDF cost in sqlite3mc.
    let kdfPath = root + "/kdf.sqlite"
    _ = try EncryptedDatabase.openQueue(path: kdfPath, key: key)
    let ours = try timeOpen(20) { _ = try EncryptedDatabase.openQueue(path: kdfPath, key: key) }
    let defaultPath = root + "/kdf-default.sqlite"
    var config = Configuration()
    config.prepareDatabase { db in
        _ = try String.fetchOne(db, sql: "PRAGMA cipher = 'chacha20'")
        try db.execute(sql: "PRAGMA hexkey = '\(key.hexString())'")
        _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
    }
    _ = try DatabaseQueue(path: defaultPath, configuration: config)
    let theirs = try timeOpen(20) { _ = try DatabaseQueue(path: defaultPath, configuration: config) }
    print(String(format: "sqlite3mc connection open: kdf_iter=64007 (default) %.2f ms, kdf_iter=%d (Sealbox) %.2f ms",
                 theirs * 1000, EncryptedDatabase.kdfIterations, ours * 1000))

    // 5. Write amplification of single appends.
    try await writesBenchmark(messages, root: root + "/writes")
    // 6. EXPUNGE, and what the file keeps of it.
    try await expungeBenchmark(messages, root: root + "/expunge")
}

/// Bytes this process has passed to write(2) and its kin (`wchar` in /proc/self/io).
func bytesWritten() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("wchar:") {
        return Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
    }
    return 0
}

private func writesBenchmark(_ messages: [[UInt8]], root: String) async throws {
    let mail = messages.reduce(0) { $0 + $1.count }
    for batch in [1, 16] {
        let dir = root + "/batch\(batch)"
        let db = try MailboxDatabase.create(storageRoot: dir, mailboxID: DirectoryID.random(), dataKey: .random(count: 32))
        let before = bytesWritten()
        let start = ContinuousClock.now
        for first in stride(from: 0, to: messages.count, by: batch) {
            let group = messages[first..<min(first + batch, messages.count)]
            if batch == 1 { _ = try await db.append(to: "INBOX", message: group.first!) }
            else { _ = try await db.append(group.map { AppendRequest(folder: "INBOX", message: $0) }) }
        }
        let seconds = (ContinuousClock.now - start).seconds
        try db.close()
        let written = bytesWritten() - before
        print(String(format: "appends %@: %d messages, %.1f MB of mail in %.2f s; written %.1f MB = %.2f x the mail; file %.1f MB",
                     batch == 1 ? "one per transaction" : "\(batch) per transaction (pipelined APPENDs)",
                     messages.count, Double(mail) / 1e6, seconds, Double(written) / 1e6, Double(written) / Double(mail),
                     Double(directorySize(dir)) / 1e6))
    }
}

private func expungeBenchmark(_ messages: [[UInt8]], root: String) async throws {
    func imported(_ batch: [[UInt8]], into name: String) async throws -> MailboxDatabase {
        let db = try MailboxDatabase.create(storageRoot: root + "/" + name, mailboxID: DirectoryID.random(), dataKey: .random(count: 32))
        for start in stride(from: 0, to: batch.count, by: 200) {
            _ = try await db.append(to: "INBOX", messages: Array(batch[start..<min(start + 200, batch.count)]))
        }
        try await db.checkpoint()
        return db
    }
    var reclaimSeconds = 0.0
    func expunge(_ db: MailboxDatabase, every step: Int) async throws -> (count: Int, seconds: Double) {
        let uids = try await db.messages(in: "INBOX").map(\.uid)
        let doomed = stride(from: 0, to: uids.count, by: step).map { uids[$0]...uids[$0] }
        _ = try await db.storeFlags(in: "INBOX", uids: UIDSet(doomed), operation: .add, flags: [.deleted])
        let start = ContinuousClock.now
        let removed = try await db.expunge(in: "INBOX")
        let seconds = (ContinuousClock.now - start).seconds
        let pass = ContinuousClock.now
        try await db.maintain()  // the maintenance pass (in the server, a background task after the answer)
        reclaimSeconds = (ContinuousClock.now - pass).seconds
        try await db.checkpoint()
        return (removed.count, seconds)
    }
    func megabytes(_ db: MailboxDatabase) -> Double {
        Double((try? FileManager.default.attributesOfItem(atPath: db.path)[.size] as? Int) ?? 0) / 1e6
    }
    let db = try await imported(messages, into: "all")
    let full = megabytes(db)
    let fifth = try await expunge(db, every: 20)
    print(String(format: "EXPUNGE of %d scattered messages of %d: %.3f s (%.2f ms each); maintenance pass %.3f s; file %.1f MB -> %.1f MB",
                 fifth.count, messages.count, fifth.seconds, fifth.seconds * 1000 / Double(max(1, fifth.count)), reclaimSeconds,
                 full, megabytes(db)))
    let half = try await expunge(db, every: 2)
    let left = try await db.messages(in: "INBOX").count
    let after = megabytes(db)
    try db.close()
    let kept = messages.enumerated().filter { i, _ in i % 20 != 0 }.map(\.element).enumerated().filter { i, _ in i % 2 != 0 }.map(\.element)
    let fresh = try await imported(kept, into: "fresh")
    print(String(format: "EXPUNGE of %d more (every other one): %.3f s; maintenance pass %.3f s; file %.1f MB for %d messages, a fresh import of them %.1f MB (ratio %.2f, goal <= 1.3)",
                 half.count, half.seconds, reclaimSeconds, after, left, megabytes(fresh), after / max(0.001, megabytes(fresh))))
    try fresh.close()
}

private func timeOpen(_ n: Int, _ body: () throws -> Void) throws -> Double {
    var samples: [Double] = []
    for _ in 0..<n {
        let start = ContinuousClock.now
        try body()
        samples.append((ContinuousClock.now - start).seconds)
    }
    return median(samples)
}

func median(_ values: [Double]) -> Double { percentile(values, 0.5) }
func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

func directorySize(_ path: String) -> Int {
    guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
    return e.compactMap { $0 as? String }.reduce(0) { total, rel in
        total + ((try? FileManager.default.attributesOfItem(atPath: path + "/" + rel)[.size] as? Int) ?? 0)
    }
}

/// Deterministic realistic mail: plain and HTML text of 2–80 KB, and a share with a base64
/// attachment of 50–200 KB, a third of them drawn from a small set (logos, forwarded files).
struct MessageGenerator {
    private var state: UInt64
    private(set) var withAttachments = 0
    private var serial = 0
    private let words = ["the", "meeting", "budget", "project", "tomorrow", "report", "thanks", "please", "review",
                         "attached", "quarter", "team", "customer", "schedule", "update", "mail", "server", "encrypted",
                         "invoice", "travel", "holiday", "release", "notes", "question", "answer", "lunch", "friday"]
    private lazy var sharedAttachments: [[UInt8]] = (0..<20).map { i in randomBytes(50_000 + i * 7_000) }

    init(seed: UInt64) { state = seed }

    mutating func random(_ upper: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(upper))
    }

    mutating func randomBytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: random(256)) } }

    mutating func text(_ bytes: Int) -> String {
        var out = ""
        var line = 0
        while out.utf8.count < bytes {
            let w = words[random(words.count)]
            out += w
            line += w.count + 1
            if line > 70 { out += "\r\n"; line = 0 } else { out += " " }
        }
        return out
    }

    mutating func next() -> [UInt8] {
        serial += 1
        let kind = random(100)
        let subject = "\(words[random(words.count)]) \(words[random(words.count)]) #\(serial)"
        var header = """
            From: Sender \(random(500)) <sender\(random(500))@example.org>\r
            To: bench@example.com\r
            Subject: \(subject)\r
            Date: Sun, 22 Nov 2026 08:\(String(format: "%02d", random(60))):00 +0000\r
            Message-ID: <\(serial).\(random(1_000_000))@example.org>\r
            MIME-Version: 1.0\r

            """
        if kind < 60 {
            header += "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            return Array((header + text(2_000 + random(18_000))).utf8)
        }
        if kind < 85 {
            let body = text(10_000 + random(30_000))
            header += "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            header += body + "\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>" + body + "</p></body></html>\r\n--alt--\r\n"
            return Array(header.utf8)
        }
        withAttachments += 1
        let attachment = random(3) == 0 ? sharedAttachments[random(20)] : randomBytes(50_000 + random(100_000))
        let b64 = Data(attachment).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        header += "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        header += text(1_000 + random(5_000)) + "\r\n--mix\r\nContent-Type: application/pdf; name=\"file.pdf\"\r\n"
        header += "Content-Disposition: attachment; filename=\"file.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        return Array((header + b64 + "\r\n--mix--\r\n").utf8)
    }
}
