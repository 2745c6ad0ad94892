@testable import BackupStore
import Foundation
import Synchronization
import TestSupport
import Testing

extension MotoServer {
    func destination(bucket: String, partSize: Int = 5 << 20, threshold: Int = 64 << 20) async throws -> S3Destination {
        let d = try S3Destination(configuration: S3Configuration(bucket: bucket, prefix: "backups/", endpoint: endpoint,
                                                                 accessKeyID: "testing", secretAccessKey: "testing-secret",
                                                                 pathStyle: true, partSize: partSize, multipartThreshold: threshold))
        try await d.createBucket()
        return d
    }
}

/// The same behaviour from both destinations.
func exercise(_ d: any BackupDestination, scratch: String) async throws {
    #expect(try await d.head(key: "missing") == nil)
    await #expect { try await d.get(key: "missing") } throws: { ($0 as? BackupStoreError)?.code == .notFound }
    try await d.put(key: "a/one.json", data: Array("{\"x\":1}".utf8), metadata: ["sha256": "abc", "kind": "unlocked"])
    #expect(try await d.get(key: "a/one.json") == Array("{\"x\":1}".utf8))
    #expect(try await d.head(key: "a/one.json") == ["sha256": "abc", "kind": "unlocked"])
    // A file, downloaded to a file, identical.
    let source = scratch + "/source.bin", target = scratch + "/target.bin"
    var generator = SystemRandomNumberGenerator()
    let blob = (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
    try Data(blob).write(to: URL(fileURLWithPath: source))
    try await d.put(key: "a/b/two.sqlite", file: source, metadata: ["sha256": S3Signer.sha256Hex(blob)], progress: nil)
    let fetched = try await d.get(key: "a/b/two.sqlite", to: target, progress: nil)
    #expect(Array(try Data(contentsOf: URL(fileURLWithPath: target))) == blob)
    #expect(fetched.size == Int64(blob.count) && fetched.sha256 == S3Signer.sha256Hex(blob), "hashed on the way down")
    #expect(try await d.head(key: "a/b/two.sqlite")?["sha256"] == S3Signer.sha256Hex(blob))
    try await d.put(key: "b/three", data: [1, 2, 3], metadata: [:])
    #expect(try await d.list(prefix: "a/").map(\.key) == ["a/b/two.sqlite", "a/one.json"])
    #expect(try await d.list(prefix: "").map(\.key) == ["a/b/two.sqlite", "a/one.json", "b/three"])
    #expect(try await d.list(prefix: "a/b/").first?.size == Int64(blob.count))
    try await d.delete(key: "a/one.json")
    try await d.delete(key: "a/one.json")  // again: not an error
    #expect(try await d.head(key: "a/one.json") == nil)
    #expect(try await d.list(prefix: "").map(\.key) == ["a/b/two.sqlite", "b/three"])
}

@Suite("backup destinations")
struct DestinationTests {
    func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "sealbox-dest-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a local directory: put, get, head, list, delete; files 0600; invalid keys refused")
    func directory() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try DirectoryDestination(path: dir + "/dest")
        try await exercise(d, scratch: dir)
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/dest/a/b/two.sqlite")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        await #expect(throws: BackupStoreError.self) { try await d.put(key: "../escape", data: [1], metadata: [:]) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/dest/.tmp").isEmpty)
    }

    @Test("S3 (moto): the same behaviours, pagination, metadata", .enabled(if: MotoServer.executable != nil, "moto_server is not installed"))
    func s3() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var d = try await moto.destination(bucket: "exercise")
        try await exercise(d, scratch: dir)
        d.listPageSize = 2
        for i in 0..<5 { try await d.put(key: "page/\(i)", data: [UInt8(i)], metadata: [:]) }
        #expect(try await d.list(prefix: "page/").map(\.key) == (0..<5).map { "page/\($0)" })
        try await d.shutdown()
    }

    @Test("S3 (moto): a 12 MiB file in 5 MiB parts, progress monotonic, bytes identical",
          .enabled(if: MotoServer.executable != nil, "moto_server is not installed"))
    func multipart() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try await moto.destination(bucket: "multipart", partSize: 5 << 20, threshold: 6 << 20)
        var generator = SystemRandomNumberGenerator()
        let blob = (0..<(12 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(blob).write(to: URL(fileURLWithPath: dir + "/big"))
        let seen = ProgressLog()
        try await d.put(key: "big.sqlite", file: dir + "/big", metadata: ["sha256": S3Signer.sha256Hex(blob)], progress: seen.record)
        #expect(seen.values.count == 3 && seen.values == seen.values.sorted() && seen.values.last == Int64(blob.count))
        #expect(try await d.head(key: "big.sqlite")?["sha256"] == S3Signer.sha256Hex(blob))
        try await d.get(key: "big.sqlite", to: dir + "/back", progress: nil)
        #expect(S3Signer.sha256Hex(try Data(contentsOf: URL(fileURLWithPath: dir + "/back"))) == S3Signer.sha256Hex(blob))
        try await d.shutdown()
    }

    @Test("S3 (moto): a 26 MiB file in six 5 MiB parts, four in flight at once, bytes identical",
          .enabled(if: MotoServer.executable != nil, "moto_server is not installed"))
    func concurrentParts() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var d = try await moto.destination(bucket: "concurrent", partSize: 5 << 20, threshold: 6 << 20)
        #expect(d.configuration.concurrency == 4)
        let inFlight = Mutex<[Int]>([])
        d.partStarted = { n in inFlight.withLock { $0.append(n) } }
        var generator = SystemRandomNumberGenerator()
        let blob = (0..<(26 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(blob).write(to: URL(fileURLWithPath: dir + "/big"))
        let seen = ProgressLog()
        try await d.put(key: "big.sqlite", file: dir + "/big", metadata: ["sha256": S3Signer.sha256Hex(blob)], progress: seen.record)
        let started = inFlight.withLock { $0 }
        #expect(started.count == 6 && started.max() == 4 && started.prefix(4) == [1, 2, 3, 4], "\(started)")
        #expect(seen.values.count == 6 && seen.values == seen.values.sorted() && seen.values.last == Int64(blob.count))
        #expect(try await d.list(prefix: "").map(\.size) == [Int64(blob.count)])
        try await d.get(key: "big.sqlite", to: dir + "/back", progress: nil)
        #expect(S3Signer.sha256Hex(try Data(contentsOf: URL(fileURLWithPath: dir + "/back"))) == S3Signer.sha256Hex(blob))
        try await d.shutdown()
    }

    @Test("S3: the upload concurrency must be 1 to 64")
    func concurrencyBounds() throws {
        for bad in [0, 65] {
            #expect(throws: BackupStoreError.self) {
                try S3Destination(configuration: S3Configuration(bucket: "b", accessKeyID: "k", secretAccessKey: "s", concurrency: bad))
            }
        }
    }

    @Test("S3 errors are clear and hold no secret: a missing bucket, an unreachable endpoint",
          .enabled(if: MotoServer.executable != nil, "moto_server is not installed"))
    func errors() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let missing = try S3Destination(configuration: S3Configuration(bucket: "no-such-bucket", endpoint: moto.endpoint,
                                                                       accessKeyID: "testing", secretAccessKey: "hidden-secret-1", pathStyle: true))
        await #expect { try await missing.list(prefix: "") } throws: { error in
            let text = "\(error)"
            return text.contains("no-such-bucket") && !text.contains("hidden-secret-1") && !text.contains("Signature")
        }
        try await missing.shutdown()
        let down = try S3Destination(configuration: S3Configuration(bucket: "b", endpoint: "http://127.0.0.1:9", accessKeyID: "k",
                                                                    secretAccessKey: "hidden-secret-2", pathStyle: true))
        await #expect { try await down.put(key: "x", data: [1], metadata: [:]) } throws: { error in
            (error as? BackupStoreError)?.code == .transport && !"\(error)".contains("hidden-secret-2")
        }
        try await down.shutdown()
    }
}

final class ProgressLog: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var log: [Int64] = []
    var values: [Int64] { lock.withLock { log } }
    var record: TransferProgress { { [self] done, _ in lock.withLock { log.append(done) } } }
}
