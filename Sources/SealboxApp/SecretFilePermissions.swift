import Foundation

/// What `serve` checks before it starts: the files that hold secrets must be the node's alone.
///
/// - A data directory writable by others: refused (anyone could replace a key or a mailbox).
/// - `node.key` (or `node.key.sealed`, `node.key.location`), `srs.key`, `webhook.key`, the
///   self-signed `tls/key.pem`: files the node made itself with mode 0600; wider than that (a
///   copy, a restore, a careless chmod), they are set back to 0600 with a warning.
/// - A node key file outside the data directory (`node.keyFile`, or moved there): refused by
///   `NodeKeyStore` for every command, not only `serve`, when its group or others may read it
///   (it may be a mounted secret that is not ours to chmod).
/// - The operator's TLS key (`tls.key`): refused when others may read or write it, or when it is
///   ours and its group may (a key owned by root and readable by a service group, as Debian's
///   `ssl-cert`, is fine).
///
/// Each refusal is one line that says what to run.
public enum SecretFilePermissions {
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Checks and fixes what it safely can; returns the warnings to print, throws a refusal.
    public static func check(dataDirectory: String, tlsKeyPath: String?) throws -> [String] {
        var warnings: [String] = []
        if let mode = mode(of: dataDirectory), mode & 0o002 != 0 {
            throw Refusal(description: "refusing to start: the data directory \(dataDirectory) is writable by others (mode \(octal(mode))); "
                          + "run `chmod 700 \(dataDirectory)`")
        }
        let own = [NodeKeyStore.embeddedName, NodeKeyStore.sealedName, NodeKeyStore.locationName, "srs.key", "webhook.key", "tls/key.pem"]
            .map { dataDirectory + "/" + $0 }
        for path in own {
            guard let mode = mode(of: path), mode & 0o077 != 0 else { continue }
            guard chmod(path, 0o600) == 0 else {
                throw Refusal(description: "refusing to start: \(path) may be read by others (mode \(octal(mode))); run `chmod 600 \(path)`")
            }
            warnings.append("warning: \(path) could be read by others (mode \(octal(mode))); it is now 0600. "
                            + "If anyone else could have copied it, treat it as disclosed")
        }
        if let tlsKeyPath, let info = try? FileManager.default.attributesOfItem(atPath: tlsKeyPath),
           let mode = (info[.posixPermissions] as? NSNumber)?.uint16Value {
            let ours = (info[.ownerAccountID] as? NSNumber)?.uint32Value == getuid()
            if mode & 0o007 != 0 || mode & 0o020 != 0 || (ours && mode & 0o070 != 0) {
                throw Refusal(description: "refusing to start: the TLS key \(tlsKeyPath) (tls.key) is open to "
                              + "\(mode & 0o007 != 0 ? "others" : "its group") (mode \(octal(mode))); run `chmod 600 \(tlsKeyPath)`")
            }
        }
        return warnings
    }

    private static func mode(of path: String) -> UInt16? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return UInt16(s.st_mode & 0o7777)
    }

    private static func octal(_ mode: UInt16) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
