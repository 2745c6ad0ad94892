import Logging

/// The node's log: its format and how much it says (docs/observability.md).
public struct LogSettings: ComponentSettings {
    public static let title = "Logs"
    enum Key {
        static let format = SettingKey("log.format", .choice(SealboxLogHandler.Format.allCases.map(\.rawValue)), default: "text",
                                       "`text`: one line per entry, `time level label: message key=value …`; `json`: one JSON object per line.")
        static let level = SettingKey("log.level", .choice(Logger.Level.allCases.map(\.rawValue)), default: "notice",
                                      "The least severe level written: `notice` shows the audit lines (failed logins, lockouts) and one summary line per session; `info` adds each message accepted or sent; `debug` and `trace` are for development.")
    }
    public static let keys = [Key.format, Key.level]

    public var format: SealboxLogHandler.Format
    public var level: Logger.Level

    init(_ r: SettingsReader) throws {
        format = SealboxLogHandler.Format(rawValue: try r.choice(Key.format, default: "text")) ?? .text
        level = Logger.Level(rawValue: try r.choice(Key.level, default: "notice")) ?? .notice
    }
}
