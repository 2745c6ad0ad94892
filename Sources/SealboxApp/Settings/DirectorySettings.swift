import Foundation

/// Where the directory lives: the embedded SQLite file in the data directory (the default), or a
/// PostgreSQL database shared by a cluster's nodes (docs/cluster-directory.md).
public struct DirectorySettings: ComponentSettings {
    public static let title = "Directory"
    enum Key {
        static let url = SettingKey("directory.url", .secret, default: "none: the embedded `directory.sqlite`",
                                    "A PostgreSQL directory: `postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=verify-full` (`sslmode` disable, prefer, require, verify-ca or verify-full; `sslrootcert=FILE`; `connect_timeout=S`). Migrated at start; `sealbox directory copy --to URL` fills it from the embedded directory. Never printed: logs show it without the password.")
    }
    public static let keys = [Key.url]

    /// nil: the embedded SQLite directory.
    public var url: String?

    init(_ r: SettingsReader) throws {
        url = r.string(Key.url)
    }
}
