import Foundation

/// What `serve` says once at start about the node key's place: with the key in the data directory,
/// what a copy of that directory alone gives away, and how to move the key out.
public enum NodeKeyNotice {
    /// A warning when the passphrase sits in a configuration file inside the data directory (the
    /// default `sealbox.json`, or `--config` pointing there): a copy of the directory carries it.
    public static func passphraseInDataDirectory(dataDirectory root: String, configFile: String?) -> String? {
        let path = URL(fileURLWithPath: configFile ?? root + "/sealbox.json").standardizedFileURL.path
        guard path.hasPrefix(root + "/"), let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 1 << 20), data.range(of: Data("keyPassphrase".utf8)) != nil else { return nil }
        return "warning: node.keyPassphrase is in \(path), inside the data directory it protects: a copy of the directory carries it; "
            + "give it through SEALBOX_NODE_KEY_PASSPHRASE or the prompt instead"
    }

    public static func lines(mode: NodeKeyStore.Mode, dataDirectory root: String) -> [String] {
        switch mode {
        case .embedded:
            [
                "notice: the node key is in the data directory (\(root)/\(NodeKeyStore.embeddedName)): a copy of that directory alone reads every "
                    + "address, forward, webhook URL and password label, the sizes of queued mail and the mail waiting to be forwarded or posted "
                    + "(never a mailbox: those need their passwords)",
                "notice: to keep the key apart, stop serve and run `sealbox node key move --to FILE` or `sealbox node key move --passphrase` "
                    + "(README: Where the node key lives)",
            ]
        case .file, .passphrase:
            ["node key: \(NodeKeyStore.describe(mode, root: root)); the data directory alone does not open the directory or the queue"]
        }
    }
}
