import Configuration
import Foundation

/// One configuration key, defined once: its dotted name, what it holds, its default as the
/// reference states it, what it does, and the `serve` flag that sets it. The component settings
/// read values only through keys of their own catalog, and docs/configuration-reference.md is
/// generated from the catalogs (`sealbox config reference`), so the two cannot drift apart.
public struct SettingKey: Sendable {
    public enum Kind: Sendable, Equatable {
        case integer(ClosedRange<Int>)
        /// A listener's port (`ListenerPort`): 1…65535, `0`/`off` for none, `auto` for any free one.
        case port
        case seconds(ClosedRange<Int>)
        case bytes(ClosedRange<Int>)
        case boolean
        case text
        /// Never printed or logged, wherever it comes from.
        case secret
        case choice([String])
    }

    public let name: String
    public let kind: Kind
    public let defaultText: String
    public let summary: String
    public let flag: String?

    public init(_ name: String, _ kind: Kind, default defaultText: String, _ summary: String, flag: String? = nil) {
        self.name = name; self.kind = kind; self.defaultText = defaultText; self.summary = summary; self.flag = flag
    }

    /// `SEALBOX_` and the key in upper case, dots and word breaks as underscores:
    /// `imap.allowInsecureAuth` → `SEALBOX_IMAP_ALLOW_INSECURE_AUTH`.
    public var environmentName: String {
        var out = "SEALBOX_"
        var previousLower = false
        for ch in name {
            if ch == "." { out.append("_"); previousLower = false; continue }
            if ch.isUppercase && previousLower { out.append("_") }
            out += ch.uppercased()
            previousLower = ch.isLowercase || ch.isNumber
        }
        return out
    }

    var kindText: String {
        switch kind {
        case .integer(let r): "integer, \(r.lowerBound)…\(r.upperBound)"
        case .port: "port, 1…65535; `0` or `off`: no listener; `auto`: any free port"
        case .seconds(let r): "seconds, \(r.lowerBound)…\(r.upperBound)"
        case .bytes(let r): "bytes, \(r.lowerBound)…\(r.upperBound)"
        case .boolean: "true or false"
        case .text: "text"
        case .secret: "secret text"
        case .choice(let values): values.map { "`\($0)`" }.joined(separator: ", ")
        }
    }
}

/// The part of the configuration one component reads: its section of the node's settings, with
/// the keys it may read. Reading a key outside the catalog is a programming error (the reference
/// would miss it), caught by the first test that loads the configuration.
public struct SettingsReader {
    let reader: ConfigReader
    let section: String
    let catalog: [String: SettingKey]

    init(_ reader: ConfigReader, section: String, keys: [SettingKey]) {
        self.reader = reader; self.section = section
        self.catalog = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })
    }

    private func checked(_ key: SettingKey) -> ConfigKey {
        precondition(catalog[key.name] != nil, "\(key.name) is read by the \(section) settings but not in their catalog")
        return ConfigKey(key.name)
    }

    /// An integer (seconds, bytes, a count), from a number or a numeric string; out of range is an error.
    public func int(_ key: SettingKey, default defaultValue: Int) throws -> Int {
        let configKey = checked(key)
        var value = reader.int(forKey: configKey)
        if value == nil, let s = reader.string(forKey: configKey) {
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else {
                throw SealboxConfiguration.Failure(description: "configuration \(key.name) = \"\(s)\" is not a number")
            }
            value = v
        }
        guard let v = value else { return defaultValue }
        let range: ClosedRange<Int>
        switch key.kind {
        case .integer(let r), .seconds(let r), .bytes(let r): range = r
        default: preconditionFailure("\(key.name) is not numeric")
        }
        guard range.contains(v) else {
            throw SealboxConfiguration.Failure(description: "configuration \(key.name) = \(v) is out of range \(range)")
        }
        return v
    }

    /// A listener's port: a number 1…65535, `0` or `off` (no listener), `auto` (any free port), from
    /// a number or a string; anything else is an error naming the key.
    public func listenerPort(_ key: SettingKey, default defaultValue: Int) throws -> ListenerPort {
        let configKey = checked(key)
        precondition(key.kind == .port, "\(key.name) is not a listener port")
        if let v = reader.int(forKey: configKey) {
            guard let port = ListenerPort(number: v) else {
                throw SealboxConfiguration.Failure(description: "configuration \(key.name) = \(v) is out of range: give \(ListenerPort.accepted)")
            }
            return port
        }
        guard let s = reader.string(forKey: configKey) else { return .fixed(defaultValue) }
        guard let port = ListenerPort(text: s) else {
            let problem = Int(s.trimmingCharacters(in: .whitespaces)) == nil ? "is not a port" : "is out of range"
            throw SealboxConfiguration.Failure(description: "configuration \(key.name) = \"\(s)\" \(problem): give \(ListenerPort.accepted)")
        }
        return port
    }

    public func seconds(_ key: SettingKey, default defaultValue: Int) throws -> Duration {
        .seconds(try int(key, default: defaultValue))
    }

    /// true/false, also 1/0, yes/no, on/off.
    public func bool(_ key: SettingKey, default defaultValue: Bool) throws -> Bool {
        let configKey = checked(key)
        if let v = reader.bool(forKey: configKey) { return v }
        if let s = reader.string(forKey: configKey) {
            switch s.lowercased() {
            case "1", "yes", "on", "true": return true
            case "0", "no", "off", "false": return false
            default: throw SealboxConfiguration.Failure(description: "configuration \(key.name) = \"\(s)\" is not true or false")
            }
        }
        return defaultValue
    }

    /// Text; empty counts as unset. A `.secret` key is read as a secret (redacted by the library's
    /// access reporting) and never appears in an error.
    public func string(_ key: SettingKey) -> String? {
        let configKey = checked(key)
        let value = reader.string(forKey: configKey, isSecret: key.kind == .secret)
        guard let value, !value.isEmpty else { return nil }
        return value
    }

    /// A list: a JSON array, or text split at commas and white space (flags, the environment);
    /// empty when unset.
    public func list(_ key: SettingKey) -> [String] {
        let configKey = checked(key)
        let items = reader.stringArray(forKey: configKey)
            ?? (string(key).map { $0.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init) } ?? [])
        return items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// One of the key's choices, compared in lower case.
    public func choice(_ key: SettingKey, default defaultValue: String) throws -> String {
        guard case .choice(let values) = key.kind else { preconditionFailure("\(key.name) is not a choice") }
        let value = string(key)?.lowercased() ?? defaultValue
        guard values.contains(value) else {
            let list = values.dropLast().joined(separator: ", ") + " or " + (values.last ?? "")
            throw SealboxConfiguration.Failure(description: "configuration \(key.name) = \"\(value)\" must be \(list)")
        }
        return value
    }
}

/// The settings of one component: the keys it owns and how it reads them.
public protocol ComponentSettings: Sendable {
    /// The section's title in the reference.
    static var title: String { get }
    static var keys: [SettingKey] { get }
}

extension ComponentSettings {
    static func reader(_ reader: ConfigReader) -> SettingsReader {
        SettingsReader(reader, section: title, keys: keys)
    }
}
