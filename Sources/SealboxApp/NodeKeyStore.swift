import Foundation
import SQLiteCipher

/// Where the node key lives, and how it gets there. The node key (32 random bytes) encrypts
/// `directory.sqlite` and `queue.sqlite`; it lives in one of three places:
///
/// - **embedded** (the default): `<data-dir>/node.key`. One command starts a node, but whoever
///   copies the data directory gets the key with it.
/// - **a key file** outside the data directory: `node.keyFile` (a systemd credential, a mounted
///   secret), or the path `sealbox node key move --to FILE` recorded in `<data-dir>/node.key.location`
///   (a path, not a secret). `node.keyFile` wins over the recorded path.
/// - **sealed with a passphrase**: `<data-dir>/node.key.sealed` (`SealedNodeKey`), opened with
///   `node.keyPassphrase` (`SEALBOX_NODE_KEY_PASSPHRASE`) or a prompt on the terminal.
///
/// A data directory that has a directory or a queue but none of these is refused with one line:
/// it never gets a fresh key (that would only fail later, less clearly).
public enum NodeKeyStore {
    public static let embeddedName = "node.key"
    public static let sealedName = "node.key.sealed"
    public static let locationName = "node.key.location"
    static let keyBytes = 32

    /// How this process may find the key: the settings and, for a sealed key, a way to ask.
    public struct Options: Sendable {
        /// `node.keyFile`.
        public var keyFile: String?
        /// `node.keyPassphrase`. Secret: never printed or logged.
        public var passphrase: String?
        /// Asks for the passphrase (a terminal prompt) when `passphrase` is nil; nil: no way to ask.
        public var askPassphrase: (@Sendable () throws -> String?)?

        public init(keyFile: String? = nil, passphrase: String? = nil, askPassphrase: (@Sendable () throws -> String?)? = nil) {
            self.keyFile = keyFile; self.passphrase = passphrase; self.askPassphrase = askPassphrase
        }
    }

    public enum Mode: Sendable, Equatable {
        case embedded
        /// `configured`: from `node.keyFile`; else recorded in `node.key.location`.
        case file(path: String, configured: Bool)
        case passphrase
    }

    public struct Loaded: Sendable {
        public let key: SecretBytes
        public let mode: Mode
        /// Lines for the operator (an interrupted move, a passphrase set for an unsealed key).
        public let warnings: [String]
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The key of `root` (an absolute, standardised path). With `create`, a data directory that
    /// has no directory or queue yet gets a new key: in `node.keyFile` when set and missing,
    /// sealed when a passphrase is given, else embedded.
    public static func load(dataDirectory root: String, options: Options, create: Bool = true) throws -> Loaded {
        let fm = FileManager.default
        let embedded = root + "/" + embeddedName, sealed = root + "/" + sealedName, location = root + "/" + locationName
        let isNew = !fm.fileExists(atPath: root + "/directory.sqlite") && !fm.fileExists(atPath: root + "/queue.sqlite")
        let hasOwnKey = [embedded, sealed, location].contains { fm.fileExists(atPath: $0) }
        var warnings: [String] = []
        let key: SecretBytes
        let mode: Mode
        if let configured = options.keyFile {
            let path = absolute(configured)
            if create, isNew, !hasOwnKey, !fm.fileExists(atPath: path) {
                try writeKeyFile(SecretBytes.random(count: keyBytes), to: path, replacing: false)
            }
            key = try readKeyFile(path, what: "the node key file \(path) (node.keyFile)", ownerOnly: true)
            mode = .file(path: path, configured: true)
        } else if fm.fileExists(atPath: sealed) {
            let box = try readSealed(sealed)
            guard let passphrase = try options.passphrase ?? options.askPassphrase?() else {
                throw Failure("the node key of \(root) is sealed with a passphrase (\(sealedName)): "
                              + "set SEALBOX_NODE_KEY_PASSPHRASE or run from a terminal")
            }
            key = try open(box, passphrase: passphrase, path: sealed)
            mode = .passphrase
        } else if fm.fileExists(atPath: location) {
            let path = try readLocation(location)
            key = try readKeyFile(path, what: "the node key file \(path) (recorded in \(location); node.keyFile overrides it)", ownerOnly: true)
            mode = .file(path: path, configured: false)
        } else if fm.fileExists(atPath: embedded) {
            key = try readKeyFile(embedded, what: "the node key \(embedded)", ownerOnly: false)
            mode = .embedded
        } else if !isNew {
            throw Failure("no node key for \(root): its directory cannot be opened without it; give the key file "
                          + "(node.keyFile, SEALBOX_NODE_KEY_FILE) or put back \(embeddedName), \(sealedName) or \(locationName)")
        } else if !create {
            throw Failure("\(root) is not a Sealbox data directory yet (no node key, no directory)")
        } else if let passphrase = options.passphrase {
            key = SecretBytes.random(count: keyBytes)
            try writeSealed(try SealedNodeKey.seal(key, passphrase: passphrase), to: sealed)
            mode = .passphrase
        } else {
            key = SecretBytes.random(count: keyBytes)
            try writeKeyFile(key, to: embedded, replacing: false)
            mode = .embedded
        }
        if mode != .embedded, fm.fileExists(atPath: embedded) {
            warnings.append("warning: \(embedded) is still in the data directory (an interrupted `sealbox node key move`?): "
                            + "whoever copies the data directory gets the key with it; run the move again")
        }
        if mode == .embedded, options.passphrase != nil {
            warnings.append("warning: node.keyPassphrase is set but the node key is not sealed; `sealbox node key move --passphrase` seals it")
        }
        return Loaded(key: key, mode: mode, warnings: warnings)
    }

    /// Proves that `key` opens the node's directory and queue (those that exist). Throws one line.
    public static func verify(_ key: SecretBytes, dataDirectory root: String, source: String) throws {
        for name in ["directory.sqlite", "queue.sqlite"] where FileManager.default.fileExists(atPath: root + "/" + name) {
            do {
                // Opening reads page 1 with the key; the connection closes when released.
                _ = try EncryptedDatabase.openQueue(path: root + "/" + name, key: key, label: "sealbox.nodekey.verify")
            } catch let error as EncryptedDatabase.Failure where error.code == .wrongKeyOrCorrupt {
                throw Failure("\(source) does not open \(root)/\(name): wrong key, or a damaged file")
            }
        }
    }

    // MARK: Moving

    public enum Destination: Sendable {
        /// A key file outside the data directory; its path is recorded in `node.key.location`.
        case file(String)
        /// Sealed with this passphrase in `node.key.sealed` (scrypt cost: `.standard` but in tests).
        case passphrase(String, SealedNodeKey.Parameters = .standard)
        /// Back to `node.key`.
        case dataDirectory
    }

    /// Moves the key of `root` to `destination`. The key is read (and proved to open the directory)
    /// before anything is written, and the old place is removed only after the new one was read
    /// back and proved the same way: a wrong or missing key or passphrase changes nothing.
    /// Hold the data-directory lock. Returns the lines to print.
    public static func move(dataDirectory root: String, options: Options, to destination: Destination) throws -> [String] {
        let fm = FileManager.default
        let current = try load(dataDirectory: root, options: options, create: false)
        try verify(current.key, dataDirectory: root, source: "the node key (\(describe(current.mode, root: root)))")
        let embedded = root + "/" + embeddedName, sealed = root + "/" + sealedName, location = root + "/" + locationName
        var report: [String] = []
        let stale: [String]
        switch destination {
        case .file(let given):
            let path = absolute(given)
            guard !path.hasPrefix(root + "/") else {
                throw Failure("\(path) is inside the data directory \(root): choose a path outside it (another disk, a mounted secret)")
            }
            if case .file(let now, _) = current.mode, now == path { throw Failure("the node key is already at \(path)") }
            if fm.fileExists(atPath: path) {
                let existing = try readKeyFile(path, what: "\(path)", ownerOnly: true)
                guard existing.withBytes({ a in current.key.withBytes { a == $0 } }) else {
                    throw Failure("\(path) exists and holds another key; remove it or choose another path")
                }
            } else {
                try writeKeyFile(current.key, to: path, replacing: false)
            }
            let back = try readKeyFile(path, what: "the node key file \(path)", ownerOnly: true)
            try verify(back, dataDirectory: root, source: "the key written to \(path)")
            try writeAtomically(Array((path + "\n").utf8), to: location)
            stale = [sealed, embedded]
            report.append("the node key is now in \(path) (0600); \(location) records where, so `serve` and every command find it")
            report.append("the data directory alone no longer opens its directory; keep \(path) off its backups")
        case .passphrase(let passphrase, let parameters):
            try writeSealed(try SealedNodeKey.seal(current.key, passphrase: passphrase, parameters: parameters), to: sealed)
            let back = try open(try readSealed(sealed), passphrase: passphrase, path: sealed)
            try verify(back, dataDirectory: root, source: "the key sealed in \(sealed)")
            stale = [location, embedded]
            report.append("the node key is now sealed with the passphrase in \(sealed)")
            report.append("give the passphrase at each start: SEALBOX_NODE_KEY_PASSPHRASE, or the prompt on a terminal")
        case .dataDirectory:
            guard current.mode != .embedded else { throw Failure("the node key is already in the data directory (\(embedded))") }
            try writeKeyFile(current.key, to: embedded, replacing: true)
            let back = try readKeyFile(embedded, what: "the node key \(embedded)", ownerOnly: true)
            try verify(back, dataDirectory: root, source: "the key written to \(embedded)")
            stale = [sealed, location]
            report.append("the node key is back in \(embedded): whoever copies the data directory gets it")
        }
        for path in stale where fm.fileExists(atPath: path) {
            guard unlink(path) == 0 else { throw Failure("cannot remove \(path); remove it by hand") }
        }
        syncDirectory(root)
        if case .file(let old, let configured) = current.mode {
            if configured {
                report.append("node.keyFile is set (\(old)): unset it (SEALBOX_NODE_KEY_FILE, sealbox.json), or it is still used")
            }
            if case .file(let new) = destination, absolute(new) == old {} else {
                report.append("\(old) is no longer needed by this node; delete it once nothing else uses it")
            }
        }
        return report
    }

    /// One phrase saying where the key comes from.
    public static func describe(_ mode: Mode, root: String) -> String {
        switch mode {
        case .embedded: "\(root)/\(embeddedName), in the data directory"
        case .file(let path, true): "\(path), from node.keyFile"
        case .file(let path, false): "\(path), recorded in \(root)/\(locationName)"
        case .passphrase: "\(root)/\(sealedName), sealed with a passphrase"
        }
    }

    // MARK: Files

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Reads a 32-byte key file; `ownerOnly`: refused when its group or others may read or write it.
    static func readKeyFile(_ path: String, what: String, ownerOnly: Bool) throws -> SecretBytes {
        var s = stat()
        guard stat(path, &s) == 0 else { throw Failure("\(what) cannot be read: \(String(cString: strerror(errno)))") }
        guard s.st_mode & S_IFMT == S_IFREG else { throw Failure("\(what) is not a regular file") }
        if ownerOnly, s.st_mode & 0o077 != 0 {
            throw Failure("refusing \(what): its group or others may read it (mode \(String(format: "%04o", s.st_mode & 0o7777))); run `chmod 600 \(path)`")
        }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure("\(what) cannot be read: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: keyBytes + 1)
        var total = 0
        while total < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            total += n
        }
        defer { for i in bytes.indices { bytes[i] = 0 } }
        guard total == keyBytes else { throw Failure("\(what) is damaged: a node key is exactly \(keyBytes) bytes") }
        return SecretBytes(Array(bytes[0..<keyBytes]))
    }

    /// Writes `key` (0600) through a temporary file and a rename, synced.
    static func writeKeyFile(_ key: SecretBytes, to path: String, replacing: Bool) throws {
        if !replacing, FileManager.default.fileExists(atPath: path) { throw Failure("\(path) already exists") }
        try key.withBytes { try writeAtomically($0, to: path) }
    }

    static func writeSealed(_ box: SealedNodeKey, to path: String) throws {
        try writeAtomically(box.encoded, to: path)
    }

    static func readSealed(_ path: String) throws -> SealedNodeKey {
        guard let bytes = readSmallFile(path, limit: SealedNodeKey.maximumFileBytes) else {
            throw Failure("the sealed node key \(path) cannot be read")
        }
        do { return try SealedNodeKey(encoded: bytes) } catch {
            throw Failure("the sealed node key \(path) is damaged: \(error)")
        }
    }

    static func open(_ box: SealedNodeKey, passphrase: String, path: String) throws -> SecretBytes {
        do { return try box.open(passphrase: passphrase) } catch let error as SealedNodeKey.Failure where error.code == .wrongPassphrase {
            throw Failure("wrong passphrase for the node key \(path) (SEALBOX_NODE_KEY_PASSPHRASE); nothing was changed")
        }
    }

    static func readLocation(_ path: String) throws -> String {
        guard let bytes = readSmallFile(path, limit: 4096) else { throw Failure("\(path) cannot be read") }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("/"), !text.contains("\n") else {
            throw Failure("\(path) is damaged: it should hold the absolute path of the node key file")
        }
        return text
    }

    static func readSmallFile(_ path: String, limit: Int) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: limit + 1), data.count <= limit else { return nil }
        return Array(data)
    }

    /// Temporary file (0600, exclusive) in the same directory, fsync, rename, fsync the directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure("cannot write \(path): \(String(cString: strerror(errno)))") }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw Failure("cannot write \(path)")
        }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }

    static func syncDirectory(_ path: String) {
        let fd = Glibc.open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
