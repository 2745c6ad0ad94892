import Foundation

/// The node's disk: the free-space floor below which nothing new is stored, and the quota of
/// mailboxes that have none of their own.
public struct StorageSettings: ComponentSettings {
    public static let title = "Storage"
    enum Key {
        static let minFreeBytes = SettingKey("storage.minFreeBytes", .bytes(0...(1 << 50)), default: "5 % of the file system, at most 2147483648",
                                             "Free disk below which the MX answers 452 4.3.1 and APPEND/COPY get NO [LIMIT] (0: no floor).")
        static let defaultQuota = SettingKey("quota.default", .bytes(0...(1 << 50)), default: "none",
                                             "The quota of a mailbox whose alias has none and whose domain has no default (`alias add --quota`, `domain quota` set those; 0: none).")
    }
    public static let keys = [Key.minFreeBytes, Key.defaultQuota]

    /// nil: the default (5 % of the file system, at most 2 GiB); 0 turns the floor off.
    public var minFreeBytes: Int64?
    /// nil: no default quota.
    public var defaultQuotaBytes: Int64?

    init(_ r: SettingsReader) throws {
        let floor = try r.int(Key.minFreeBytes, default: -1)
        minFreeBytes = floor < 0 ? nil : Int64(floor)
        let quota = try r.int(Key.defaultQuota, default: 0)
        defaultQuotaBytes = quota == 0 ? nil : Int64(quota)
    }
}
