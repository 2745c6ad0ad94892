import Crypto
import Foundation

/// Backups in a local directory (another disk, a mounted NAS). Objects are files under the root
/// (0600 in 0700 directories); metadata lives beside them under `.meta/`; every write goes to a
/// temporary file that is fsynced and renamed, so an object is either whole or absent.
public struct DirectoryDestination: BackupDestination {
    public let root: String
    public var displayName: String { "file://" + root }

    public init(path: String) throws {
        root = URL(fileURLWithPath: path).standardizedFileURL.path
        do {
            for dir in [root, root + "/.meta", root + "/.tmp"] {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
        } catch {
            throw BackupStoreError(.invalidConfiguration, "cannot use \(root) as a backup directory: \(error.localizedDescription)")
        }
    }

    func objectPath(_ key: String) throws -> String {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.isEmpty, !key.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }), !key.hasPrefix(".") else {
            throw BackupStoreError(.invalidConfiguration, "invalid object key \(key)")
        }
        return root + "/" + key
    }
    func metaPath(_ key: String) -> String { root + "/.meta/" + key + ".json" }

    /// Writes `write`'s output to a temporary file, fsyncs it and renames it to `target`.
    func atomically(_ target: String, _ write: (FileHandle) throws -> Void) throws {
        let dir = (target as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temp = root + "/.tmp/" + UUID().uuidString
        guard FileManager.default.createFile(atPath: temp, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: temp) else {
            throw BackupStoreError(.transport, "cannot write in \(root)")
        }
        do {
            try write(handle)
            try handle.synchronize()
            try handle.close()
            guard rename(temp, target) == 0 else { throw BackupStoreError(.transport, "cannot write \(target)") }
            let fd = open(dir, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
        } catch {
            try? handle.close()
            unlink(temp)
            throw error
        }
    }

    public func put(key: String, file path: String, metadata: [String: String], progress: TransferProgress?) async throws {
        let target = try objectPath(key)
        guard let input = FileHandle(forReadingAtPath: path) else { throw BackupStoreError(.notFound, "cannot read \(path)") }
        defer { try? input.close() }
        let total = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        try atomically(target) { out in
            try Self.copy(from: input.fileDescriptor, to: out.fileDescriptor, total: total, progress: progress)
        }
        try writeMeta(key, metadata)
    }

    /// Copies a whole file, in the kernel when it can (sendfile: the bytes do not pass through
    /// this process), else, or when `observe` must see every byte, through one buffer. The bytes copied.
    @discardableResult
    static func copy(from input: Int32, to output: Int32, total: Int64, progress: TransferProgress?,
                     observe: ((UnsafeRawBufferPointer) -> Void)? = nil) throws -> Int64 {
        let step = 64 << 20
        var done: Int64 = 0
        while observe == nil {
            let n = sendfile(output, input, nil, step)
            if n < 0 && errno == EINTR { continue }
            if n < 0 && [EXDEV, ENOSYS, EINVAL, EOPNOTSUPP].contains(errno) && done == 0 { break }  // fall back below
            guard n >= 0 else { throw BackupStoreError(.transport, "cannot copy into the backup directory (errno \(errno))") }
            if n == 0 { return done }
            done += Int64(n)
            progress?(done, total)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let got = read(input, buffer.baseAddress, buffer.count)
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw BackupStoreError(.transport, "cannot read the file to store (errno \(errno))") }
            if got == 0 { return done }
            observe?(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            var written = 0
            while written < got {
                let w = write(output, buffer.baseAddress! + written, got - written)
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { throw BackupStoreError(.transport, "cannot write into the backup directory (errno \(errno))") }
                written += w
            }
            done += Int64(got)
            progress?(done, total)
        }
    }

    public func put(key: String, data: [UInt8], metadata: [String: String]) async throws {
        try atomically(try objectPath(key)) { try $0.write(contentsOf: data) }
        try writeMeta(key, metadata)
    }

    func writeMeta(_ key: String, _ metadata: [String: String]) throws {
        let data = try JSONEncoder().encode(metadata)
        try atomically(metaPath(key)) { try $0.write(contentsOf: data) }
    }

    @discardableResult
    public func get(key: String, to path: String, progress: TransferProgress?) async throws -> (size: Int64, sha256: String) {
        let source = try objectPath(key)
        guard let input = FileHandle(forReadingAtPath: source) else { throw BackupStoreError(.notFound, "no object \(key) in \(displayName)") }
        defer { try? input.close() }
        let total = (try? FileManager.default.attributesOfItem(atPath: source)[.size] as? Int64) ?? 0
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let out = FileHandle(forWritingAtPath: path) else { throw BackupStoreError(.transport, "cannot write \(path)") }
        defer { try? out.close() }
        // Read, hashed and written in one pass (not sendfile): the restore checks the hash, and
        // reading the copy again to hash it would read the file twice.
        var hash = SHA256()
        let size = try Self.copy(from: input.fileDescriptor, to: out.fileDescriptor, total: total, progress: progress) { hash.update(bufferPointer: $0) }
        try out.synchronize()
        return (size, hash.finalize().map { String(format: "%02x", $0) }.joined())
    }

    public func get(key: String) async throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: try objectPath(key)) else {
            throw BackupStoreError(.notFound, "no object \(key) in \(displayName)")
        }
        return Array(data)
    }

    public func head(key: String) async throws -> [String: String]? {
        guard FileManager.default.fileExists(atPath: try objectPath(key)) else { return nil }
        guard let data = FileManager.default.contents(atPath: metaPath(key)) else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: data)) ?? [:]
    }

    public func list(prefix: String) async throws -> [StoredObject] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var objects: [StoredObject] = []
        while let relative = walker.nextObject() as? String {
            if relative == ".meta" || relative == ".tmp" { walker.skipDescendants(); continue }
            guard relative.hasPrefix(prefix) else { continue }
            let attributes = try? FileManager.default.attributesOfItem(atPath: root + "/" + relative)
            guard (attributes?[.type] as? FileAttributeType) == .typeRegular else { continue }
            objects.append(StoredObject(key: relative, size: (attributes?[.size] as? Int64) ?? 0,
                                        lastModified: (attributes?[.modificationDate] as? Date) ?? .distantPast))
        }
        return objects.sorted { $0.key < $1.key }
    }

    public func delete(key: String) async throws {
        let path = try objectPath(key)
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: metaPath(key))
        // Empty directories left behind go too (up to the root).
        var dir = (path as NSString).deletingLastPathComponent
        while dir.count > root.count, (try? FileManager.default.contentsOfDirectory(atPath: dir))?.isEmpty == true {
            try? FileManager.default.removeItem(atPath: dir)
            dir = (dir as NSString).deletingLastPathComponent
        }
    }

    public func shutdown() async throws {}
}
