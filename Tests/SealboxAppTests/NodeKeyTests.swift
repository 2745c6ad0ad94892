import Backup
import BackupStore
import Directory
import Foundation
import MailCore
import SealboxApp
import SQLiteCipher
import Testing

/// A data directory with one alias whose every secret-ish field is a searchable string.
struct NodeKeyFixture {
    let base = NSTemporaryDirectory() + "sealbox-nodekey-" + UUID().uuidString
    var root: String { base + "/data" }
    var outside: String { base + "/secrets" }
    let address = "nodekey-owner@example.com"
    let forward = "forward-target-6d2a@example.org"
    let webhook = "https://hooks.example.net/secret-path-91c4"
    let label = "label-kitchen-tablet-3f7e"
    let passphrase = "correct horse battery staple 42"
    var needles: [String] { [address, forward, webhook, label] }

    /// Makes the node (embedded key) with the alias, its mailbox and one message; returns the password.
    func make() async throws -> String {
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let node = try SealboxNode.open(dataDirectory: root)
        _ = try await node.directory.addDomain(try Domain("example.com"))
        let alias = try await node.directory.addAlias(try EmailAddress(address), store: true, forwardTo: [try EmailAddress(forward)],
                                                      webhooks: [webhook], quotaBytes: nil)
        let password = try await node.mailboxes.createMailbox(for: alias, label: label).password
        _ = try await node.mailboxes.deliver(to: try EmailAddress(address),
                                             message: Array("From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n".utf8), internalDate: Date())
        await node.shutdown()
        return password
    }

    /// Every file below `paths` with its bytes.
    static func snapshot(_ paths: [String]) -> [String: Data] {
        var out: [String: Data] = [:]
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if !isDirectory.boolValue { out[path] = FileManager.default.contents(atPath: path); continue }
            guard let entries = FileManager.default.enumerator(atPath: path) else { continue }
            for case let rel as String in entries {
                let full = path + "/" + rel
                if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                    out[full] = FileManager.default.contents(atPath: full)
                }
            }
        }
        return out
    }

    static func contains(_ data: Data, _ needle: String) -> Bool {
        data.range(of: Data(needle.utf8)) != nil
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: base) }
}

func failureText(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch { return "\(error)" }
}

@Suite("node key: in the data directory, in a file outside it, sealed with a passphrase")
struct NodeKeyTests {
    enum Mode: String, CaseIterable, Sendable { case embedded, keyFile, passphrase }
    static let cheap = SealedNodeKey.Parameters(logN: 12, blockSize: 8, parallelism: 1)

    /// The fixture moved into `mode`; the options that open it afterwards.
    static func prepare(_ f: NodeKeyFixture, _ mode: Mode) throws -> NodeKeyStore.Options {
        switch mode {
        case .embedded:
            return .init()
        case .keyFile:
            _ = try NodeKeyStore.move(dataDirectory: f.root, options: .init(), to: .file(f.outside + "/node.key"))
            return .init()
        case .passphrase:
            // Cheaper scrypt than .standard (the file says which): moveRoundTrip checks the standard one.
            _ = try NodeKeyStore.move(dataDirectory: f.root, options: .init(), to: .passphrase(f.passphrase, NodeKeyTests.cheap))
            return .init(passphrase: f.passphrase)
        }
    }

    @Test("the data directory copied alone reveals no address, forward, webhook URL or label, and does not open", arguments: Mode.allCases)
    func copiedAlone(mode: Mode) async throws {
        let f = NodeKeyFixture()
        defer { f.cleanUp() }
        _ = try await f.make()
        let options = try Self.prepare(f, mode)
        let copy = f.base + "/copy"
        try FileManager.default.copyItem(atPath: f.root, toPath: copy)
        // The key itself stays behind: the embedded one is not part of "the data directory alone",
        // and a key file outside is out of reach (another machine).
        if mode == .embedded { try FileManager.default.removeItem(atPath: copy + "/node.key") }
        let files = NodeKeyFixture.snapshot([copy])
        #expect(files.keys.contains(copy + "/directory.sqlite") && files.keys.contains(copy + "/queue.sqlite"))
        for (path, bytes) in files {
            for needle in f.needles { #expect(!NodeKeyFixture.contains(bytes, needle), "\(needle) in \(path)") }
        }
        let aside = f.outside + "/node.key.aside"
        if mode == .keyFile { #expect(rename(f.outside + "/node.key", aside) == 0) }
        let refusal = failureText { _ = try SealboxNode.open(dataDirectory: copy) }
        switch mode {
        case .embedded: #expect(refusal?.hasPrefix("no node key for \(copy):") == true, "\(refusal ?? "opened")")
        case .keyFile: #expect(refusal?.hasPrefix("the node key file \(f.outside)/node.key (recorded in") == true, "\(refusal ?? "opened")")
        case .passphrase: #expect(refusal?.contains("is sealed with a passphrase") == true, "\(refusal ?? "opened")")
        }
        #expect(refusal?.contains("\n") == false)
        #expect(NodeKeyFixture.snapshot([copy]) == files, "a refused open writes nothing")
        if mode == .keyFile { #expect(rename(aside, f.outside + "/node.key") == 0) }

        // The node itself still opens in its mode, with everything in it.
        let node = try SealboxNode.open(dataDirectory: f.root, key: options)
        let alias = try #require(try await node.directory.alias(address: try EmailAddress(f.address)))
        #expect(alias.webhooks == [f.webhook] && alias.forwardTo.map(\.description) == [f.forward])
        await node.shutdown()
    }

    @Test("a wrong passphrase, a wrong key file: one line, nothing changed on disk")
    func wrongKeyChangesNothing() async throws {
        let f = NodeKeyFixture()
        defer { f.cleanUp() }
        _ = try await f.make()
        _ = try Self.prepare(f, .passphrase)
        let before = NodeKeyFixture.snapshot([f.base])
        let wrong = failureText { _ = try SealboxNode.open(dataDirectory: f.root, key: .init(passphrase: "not the passphrase at all")) }
        #expect(wrong == "wrong passphrase for the node key \(f.root)/node.key.sealed (SEALBOX_NODE_KEY_PASSPHRASE); nothing was changed")
        let moved = failureText { _ = try NodeKeyStore.move(dataDirectory: f.root, options: .init(passphrase: "not the passphrase at all"), to: .dataDirectory) }
        #expect(moved?.hasPrefix("wrong passphrase") == true, "\(moved ?? "moved")")
        let missing = failureText { _ = try NodeKeyStore.move(dataDirectory: f.root, options: .init(), to: .file(f.outside + "/k")) }
        #expect(missing?.contains("set SEALBOX_NODE_KEY_PASSPHRASE") == true, "\(missing ?? "moved")")

        // A configured key file that holds another key.
        let other = f.outside + "/other.key"
        #expect(FileManager.default.createFile(atPath: other, contents: Data(repeating: 7, count: 32), attributes: [.posixPermissions: 0o600]))
        let before2 = NodeKeyFixture.snapshot([f.base])
        let wrongFile = failureText { _ = try SealboxNode.open(dataDirectory: f.root, key: .init(keyFile: other)) }
        #expect(wrongFile == "the node key (\(other), from node.keyFile) does not open \(f.root)/directory.sqlite: wrong key, or a damaged file")
        // Readable by others: refused before it is even read.
        #expect(chmod(other, 0o644) == 0)
        let open = failureText { _ = try SealboxNode.open(dataDirectory: f.root, key: .init(keyFile: other)) }
        #expect(open?.hasPrefix("refusing the node key file \(other) (node.keyFile): its group or others may read it (mode 0644)") == true, "\(open ?? "opened")")
        #expect(failureText { _ = try SealboxNode.open(dataDirectory: f.root, key: .init(keyFile: f.outside)) }
            == "the node key file \(f.outside) (node.keyFile) is not a regular file")
        #expect(NodeKeyFixture.snapshot([f.base]).filter { $0.key != other } == before2.filter { $0.key != other })
        #expect(NodeKeyFixture.snapshot([f.base]).filter { $0.key != other } == before)
    }

    @Test("node key move: data directory → file → passphrase → new passphrase → data directory, the node opening at every step")
    func moveRoundTrip() async throws {
        let f = NodeKeyFixture()
        defer { f.cleanUp() }
        let password = try await f.make()
        let original = try #require(FileManager.default.contents(atPath: f.root + "/node.key"))
        func check(_ options: NodeKeyStore.Options, _ expected: NodeKeyStore.Mode) async throws {
            let node = try SealboxNode.open(dataDirectory: f.root, key: options)
            #expect(node.keyMode == expected)
            #expect(node.keyWarnings.isEmpty, "\(node.keyWarnings)")
            let mailbox = try await node.mailboxes.unlock(address: try EmailAddress(f.address), password: password)
            #expect(try await mailbox.messages(in: "INBOX", uids: nil, changedSince: nil).count == 1)
            await mailbox.close()
            await node.shutdown()
        }
        let file = f.outside + "/node.key"
        let toFile = try NodeKeyStore.move(dataDirectory: f.root, options: .init(), to: .file(file))
        #expect(toFile.first?.hasPrefix("the node key is now in \(file) (0600)") == true, "\(toFile)")
        #expect(!FileManager.default.fileExists(atPath: f.root + "/node.key"))
        #expect(FileManager.default.contents(atPath: file) == original)
        #expect(((try FileManager.default.attributesOfItem(atPath: file))[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(String(decoding: FileManager.default.contents(atPath: f.root + "/node.key.location") ?? Data(), as: UTF8.self) == file + "\n")
        try await check(.init(), .file(path: file, configured: false))
        try await check(.init(keyFile: file), .file(path: file, configured: true))
        // Inside the data directory is no place for it.
        #expect(failureText { _ = try NodeKeyStore.move(dataDirectory: f.root, options: .init(), to: .file(f.root + "/elsewhere.key")) }?
            .contains("is inside the data directory") == true)

        let sealed = try NodeKeyStore.move(dataDirectory: f.root, options: .init(), to: .passphrase(f.passphrase))
        #expect(sealed.contains("\(file) is no longer needed by this node; delete it once nothing else uses it"), "\(sealed)")
        #expect(!FileManager.default.fileExists(atPath: f.root + "/node.key.location"))
        let sealedBytes = try #require(FileManager.default.contents(atPath: f.root + "/node.key.sealed"))
        #expect(sealedBytes.range(of: original) == nil)
        let box = try SealedNodeKey(encoded: Array(sealedBytes))
        #expect(box.parameters == .standard)
        try await check(.init(passphrase: f.passphrase), .passphrase)

        let newPassphrase = "a different passphrase, also long"
        _ = try NodeKeyStore.move(dataDirectory: f.root, options: .init(passphrase: f.passphrase), to: .passphrase(newPassphrase, Self.cheap))
        #expect(failureText { _ = try SealboxNode.open(dataDirectory: f.root, key: .init(passphrase: f.passphrase)) }?.hasPrefix("wrong passphrase") == true)
        try await check(.init(passphrase: newPassphrase), .passphrase)

        let back = try NodeKeyStore.move(dataDirectory: f.root, options: .init(passphrase: newPassphrase), to: .dataDirectory)
        #expect(back.first?.hasPrefix("the node key is back in \(f.root)/node.key") == true, "\(back)")
        #expect(!FileManager.default.fileExists(atPath: f.root + "/node.key.sealed"))
        #expect(FileManager.default.contents(atPath: f.root + "/node.key") == original)
        try await check(.init(), .embedded)
    }

    @Test("an interrupted move (the key in both places) opens, with a warning")
    func interruptedMove() async throws {
        let f = NodeKeyFixture()
        defer { f.cleanUp() }
        _ = try await f.make()
        let original = try #require(FileManager.default.contents(atPath: f.root + "/node.key"))
        _ = try NodeKeyStore.move(dataDirectory: f.root, options: .init(), to: .file(f.outside + "/node.key"))
        #expect(FileManager.default.createFile(atPath: f.root + "/node.key", contents: original, attributes: [.posixPermissions: 0o600]))
        let node = try SealboxNode.open(dataDirectory: f.root)
        #expect(node.keyMode == .file(path: f.outside + "/node.key", configured: false))
        #expect(node.keyWarnings.first?.contains("is still in the data directory") == true, "\(node.keyWarnings)")
        await node.shutdown()
    }

    @Test("a new node with node.keyFile or a passphrase never writes its key into the data directory", arguments: [Mode.keyFile, Mode.passphrase])
    func newNode(mode: Mode) async throws {
        let f = NodeKeyFixture()
        defer { f.cleanUp() }
        try FileManager.default.createDirectory(atPath: f.outside, withIntermediateDirectories: true)
        let options: NodeKeyStore.Options = mode == .keyFile ? .init(keyFile: f.outside + "/node.key") : .init(passphrase: f.passphrase)
        do {
            let node = try SealboxNode.open(dataDirectory: f.root, key: options)
            _ = try await node.directory.addDomain(try Domain("example.com"))
            await node.shutdown()
        }
        #expect(!FileManager.default.fileExists(atPath: f.root + "/node.key"))
        #expect(FileManager.default.fileExists(atPath: mode == .keyFile ? f.outside + "/node.key" : f.root + "/node.key.sealed"))
        let node = try SealboxNode.open(dataDirectory: f.root, key: options)
        #expect(try await node.directory.domains().count == 1)
        await node.shutdown()
    }

    @Test("backups and restores work in each mode", arguments: Mode.allCases)
    func backupAndRestore(mode: Mode) async throws {
        let f = NodeKeyFixture()
        defer { f.cleanUp() }
        let password = try await f.make()
        let options = try Self.prepare(f, mode)
        let destination = f.base + "/backups"
        let node = try SealboxNode.open(dataDirectory: f.root, key: options)
        let service = BackupService(mailboxes: node.mailboxes, directory: node.directory, destination: try DirectoryDestination(path: destination),
                                    configuration: .init(temporaryDirectory: node.dataDirectory + "/backup-tmp", generations: 3))
        _ = try await service.backUp(address: try EmailAddress(f.address))
        await node.shutdown()

        // Into a new data directory, opened the same way (a configured key file is shared).
        let targetOptions: NodeKeyStore.Options = mode == .keyFile ? .init(keyFile: f.outside + "/node.key") : options
        let target = try SealboxNode.open(dataDirectory: f.base + "/restored", key: targetOptions)
        let expected: NodeKeyStore.Mode = switch mode {
        case .embedded: .embedded
        case .passphrase: .passphrase
        case .keyFile: .file(path: f.outside + "/node.key", configured: true)
        }
        #expect(target.keyMode == expected)
        let restorer = BackupService(mailboxes: target.mailboxes, directory: target.directory, destination: try DirectoryDestination(path: destination),
                                     configuration: .init(temporaryDirectory: target.dataDirectory + "/backup-tmp", generations: 3))
        let summary = try await restorer.restore(address: try EmailAddress(f.address), generation: nil, password: password)
        #expect(summary.folders?.first { $0.0 == "INBOX" }?.1 == 1)
        let alias = try #require(try await target.directory.alias(address: try EmailAddress(f.address)))
        #expect(alias.webhooks == [f.webhook])
        await target.shutdown()
    }
}

@Suite("what serve says about the node key")
struct NodeKeyNoticeTests {
    @Test("two lines in the data directory, one elsewhere; a passphrase in the data directory's sealbox.json is a warning")
    func notices() throws {
        let root = NSTemporaryDirectory() + "sealbox-notice-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let embedded = NodeKeyNotice.lines(mode: .embedded, dataDirectory: root)
        #expect(embedded.count == 2 && embedded[0].contains("every address, forward, webhook URL and password label") && embedded[1].contains("node key move"))
        #expect(NodeKeyNotice.lines(mode: .passphrase, dataDirectory: root).count == 1)
        #expect(NodeKeyNotice.passphraseInDataDirectory(dataDirectory: root, configFile: nil) == nil)
        #expect(FileManager.default.createFile(atPath: root + "/sealbox.json", contents: Data(#"{"node":{"keyPassphrase":"x"}}"#.utf8)))
        #expect(NodeKeyNotice.passphraseInDataDirectory(dataDirectory: root, configFile: nil)?.contains("inside the data directory it protects") == true)
        // A file elsewhere (/etc, a secret mount) is the operator's business.
        #expect(NodeKeyNotice.passphraseInDataDirectory(dataDirectory: root + "/sub", configFile: root + "/sealbox.json") == nil)
    }
}

@Suite("the sealed node key file")
struct SealedNodeKeyTests {
    static let fast = SealedNodeKey.Parameters(logN: 10, blockSize: 8, parallelism: 1)

    @Test("seals and opens; a wrong passphrase, a short one, a changed parameter are refused")
    func roundTrip() throws {
        let key = SecretBytes.random(count: 32)
        let box = try SealedNodeKey.seal(key, passphrase: "passphrase-long-enough", parameters: Self.fast)
        let reread = try SealedNodeKey(encoded: box.encoded)
        #expect(reread == box)
        #expect(try reread.open(passphrase: "passphrase-long-enough").withBytes { a in key.withBytes { a == $0 } })
        // NFC: a decomposed é opens what a composed é sealed.
        let composed = try SealedNodeKey.seal(key, passphrase: "caf\u{E9} au lait, s'il vous pla\u{EE}t", parameters: Self.fast)
        #expect(throws: Never.self) { _ = try composed.open(passphrase: "cafe\u{301} au lait, s'il vous pla\u{EE}t") }
        let wrong = #expect(throws: SealedNodeKey.Failure.self) { _ = try reread.open(passphrase: "passphrase-long-enougH") }
        #expect(wrong?.code == .wrongPassphrase)
        let short = #expect(throws: SealedNodeKey.Failure.self) { _ = try SealedNodeKey.seal(key, passphrase: "short", parameters: Self.fast) }
        #expect(short?.code == .weakPassphrase)
        // The parameters are authenticated: the same sealed bytes under other parameters do not open.
        let text = String(decoding: box.encoded, as: UTF8.self).replacingOccurrences(of: "\"r\":8", with: "\"r\":9")
        let tampered = try SealedNodeKey(encoded: Array(text.utf8))
        let changed = #expect(throws: SealedNodeKey.Failure.self) { _ = try tampered.open(passphrase: "passphrase-long-enough") }
        #expect(changed?.code == .wrongPassphrase)
    }

    @Test("damaged, oversized, unknown or greedy files are refused before any key derivation", arguments: [
        "", "{}", "not json", String(repeating: " ", count: 5000),
        #"{"format":"sealbox-node-key","version":2,"kdf":"scrypt","logN":17,"r":8,"p":1,"salt":"AAAAAAAAAAAAAAAAAAAAAA==","aead":"chacha20-poly1305","sealed":""}"#,
        #"{"format":"sealbox-node-key","version":1,"kdf":"scrypt","logN":30,"r":8,"p":1,"salt":"AAAAAAAAAAAAAAAAAAAAAA==","aead":"chacha20-poly1305","sealed":""}"#,
        #"{"format":"sealbox-node-key","version":1,"kdf":"scrypt","logN":20,"r":16,"p":1,"salt":"AAAAAAAAAAAAAAAAAAAAAA==","aead":"chacha20-poly1305","sealed":""}"#,
        #"{"format":"sealbox-node-key","version":1,"kdf":"argon2","logN":17,"r":8,"p":1,"salt":"AAAAAAAAAAAAAAAAAAAAAA==","aead":"chacha20-poly1305","sealed":""}"#,
        #"{"format":"sealbox-node-key","version":1,"kdf":"scrypt","logN":17,"r":8,"p":1,"salt":"AAAA","aead":"chacha20-poly1305","sealed":"AAAA"}"#,
    ])
    func damaged(text: String) {
        let failure = #expect(throws: SealedNodeKey.Failure.self) { _ = try SealedNodeKey(encoded: Array(text.utf8)) }
        #expect(failure?.code == .damaged)
    }
}
