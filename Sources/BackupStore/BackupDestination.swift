import Foundation

/// One object at a destination.
public struct StoredObject: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var lastModified: Date
    public init(key: String, size: Int64, lastModified: Date) { self.key = key; self.size = size; self.lastModified = lastModified }
}

/// A failure of a destination: one clear line that never holds a secret, a signature or a password.
public struct BackupStoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable { case notFound, accessDenied, invalidConfiguration, transport, server, corrupt }
    public var code: Code
    public var description: String
    public init(_ code: Code, _ description: String) { self.code = code; self.description = description }
}

/// Progress of a long transfer: bytes done, bytes in all.
public typealias TransferProgress = @Sendable (_ done: Int64, _ total: Int64) -> Void

/// Where backups are kept: an S3-compatible object store or a local directory.
public protocol BackupDestination: Sendable {
    /// A human-readable location without credentials ("s3://bucket/prefix", "file:///var/backups").
    var displayName: String { get }
    /// Uploads the file at `path` as `key` with user metadata (keys `[a-z0-9-]`, printable ASCII
    /// values). Large files go up in parts read from disk one at a time; the object appears only
    /// once complete.
    func put(key: String, file path: String, metadata: [String: String], progress: TransferProgress?) async throws
    func put(key: String, data: [UInt8], metadata: [String: String]) async throws
    /// Downloads `key` into the file at `path` (created or truncated), streamed, hashed on the way
    /// (so the download is never read again to check it): its size and SHA-256 (lower-case hex).
    /// `.notFound` if absent.
    @discardableResult
    func get(key: String, to path: String, progress: TransferProgress?) async throws -> (size: Int64, sha256: String)
    func get(key: String) async throws -> [UInt8]
    /// The object's user metadata; nil when the object does not exist.
    func head(key: String) async throws -> [String: String]?
    /// Every object whose key starts with `prefix`, sorted by key.
    func list(prefix: String) async throws -> [StoredObject]
    /// Deletes `key`; a missing key is not an error.
    func delete(key: String) async throws
    /// Releases resources (an HTTP client). Call once when done.
    func shutdown() async throws
}

public enum BackupDestinations {
    /// `s3://BUCKET/PREFIX` (with `s3` giving the endpoint, region, credentials and style) or `file:///PATH`.
    public static func make(url: String, s3: S3Configuration?) throws -> any BackupDestination {
        if url.hasPrefix("file://") {
            let path = String(url.dropFirst("file://".count))
            guard path.hasPrefix("/") else { throw BackupStoreError(.invalidConfiguration, "a file destination needs an absolute path: file:///PATH") }
            return try DirectoryDestination(path: path.removingPercentEncoding ?? path)
        }
        guard url.hasPrefix("s3://") else {
            throw BackupStoreError(.invalidConfiguration, "a backup destination is s3://BUCKET/PREFIX or file:///PATH")
        }
        let rest = url.dropFirst("s3://".count)
        let bucket = String(rest.prefix { $0 != "/" })
        guard !bucket.isEmpty else { throw BackupStoreError(.invalidConfiguration, "s3:// destination without a bucket") }
        var prefix = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        guard var configuration = s3 else { throw BackupStoreError(.invalidConfiguration, "s3:// destination without S3 settings") }
        configuration.bucket = bucket
        configuration.prefix = prefix
        return try S3Destination(configuration: configuration)
    }
}
