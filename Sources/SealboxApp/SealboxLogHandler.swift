import Foundation
import Logging
import Synchronization

/// The node's log lines (`log.format`, docs/observability.md), one entry per line on stderr:
///
/// - `text`: `2026-05-01T10:15:00.123Z notice sealbox: auth failure: protocol=imap … net.connection.id=3`:
///   the time (UTC), the level, the logger's label, the message, then the metadata as `key=value`
///   in key order, a value quoted (`"…"`, with `\"`, `\\` and `\n`-style escapes) when it is empty
///   or holds a space, a quote, `=`, a backslash or a control character. Control characters in the
///   message are escaped too: one entry is always one line.
/// - `json`: one object per line: `time`, `level`, `label`, `source` (the module), `message`, then
///   each metadata key as a string field (a key that collides with one of those gets `metadata.`
///   in front).
///
/// Nothing secret reaches it: callers never log a password, a token or a message body.
public struct SealboxLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable { case text, json }

    public let label: String
    public let format: Format
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let output: @Sendable (String) -> Void
    let now: @Sendable () -> Date

    /// `output` gets each line with its newline (default: stderr); `now` is the clock (tests fix it).
    public init(label: String, format: Format, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil,
                output: @escaping @Sendable (String) -> Void = SealboxLogHandler.standardError,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.label = label; self.format = format; self.logLevel = level
        self.metadataProvider = metadataProvider; self.output = output; self.now = now
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        output(line(level: event.level, message: event.message.description, metadata: merged, source: event.source, at: now()))
    }

    /// One entry as it is written, newline included.
    func line(level: Logger.Level, message: String, metadata: Logger.Metadata, source: String, at date: Date) -> String {
        let time = Self.timestamp(date)
        let keys = metadata.keys.sorted()
        switch format {
        case .text:
            var out = "\(time) \(level.rawValue) \(label): "
            Self.appendEscaped(message, to: &out)
            for key in keys {
                out += " \(key)="
                Self.appendValue(Self.text(metadata[key]!), to: &out)
            }
            return out + "\n"
        case .json:
            let reserved: Set<String> = ["time", "level", "label", "source", "message"]
            var out = "{"
            Self.appendJSON(("time", time), to: &out, first: true)
            Self.appendJSON(("level", level.rawValue), to: &out)
            Self.appendJSON(("label", label), to: &out)
            Self.appendJSON(("source", source), to: &out)
            Self.appendJSON(("message", message), to: &out)
            for key in keys {
                Self.appendJSON((reserved.contains(key) ? "metadata." + key : key, Self.text(metadata[key]!)), to: &out)
            }
            return out + "}\n"
        }
    }

    static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array, .dictionary: value.description
        }
    }

    /// RFC 3339 UTC with milliseconds: `2026-05-01T10:15:00.123Z` (fail2ban reads it as it is).
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }

    /// The message on one line: control characters written as escapes.
    static func appendEscaped(_ text: String, to out: inout String) {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { out += text; return }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\x" + hex(scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
    }

    /// A metadata value: bare when it is a plain word, else quoted with escapes.
    static func appendValue(_ value: String, to out: inout String) {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains {
            $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F
        }
        guard needsQuotes else { out += value; return }
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                var piece = ""
                appendEscaped(String(scalar), to: &piece)
                out += piece
            }
        }
        out += "\""
    }

    static func appendJSON(_ field: (String, String), to out: inout String, first: Bool = false) {
        if !first { out += "," }
        appendJSONString(field.0, to: &out)
        out += ":"
        appendJSONString(field.1, to: &out)
    }

    /// A JSON string (RFC 8259): quotes, backslashes and control characters escaped.
    static func appendJSONString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += "\\u00" + hex(scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return digits.count < 2 ? "0" + digits : digits
    }

    /// Writes whole lines to stderr, one at a time (lines of concurrent tasks never interleave).
    public static let standardError: @Sendable (String) -> Void = { line in
        stderrLock.withLock { _ in
            let bytes = Array(line.utf8)
            bytes.withUnsafeBufferPointer { buffer in
                var offset = 0
                while offset < buffer.count {
                    let n = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                    if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                    offset += n
                }
            }
        }
    }
    private static let stderrLock = Mutex(())
}

extension SealboxLogHandler {
    /// Makes every logger of the process write through this handler (`sealbox serve`). Once per
    /// process: swift-log allows one bootstrap.
    public static func bootstrap(format: Format, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            SealboxLogHandler(label: label, format: format, level: level)
        }
    }
}
