import Foundation
import Logging
import Synchronization
import Testing
@testable import SealboxApp

@Suite struct SealboxLogHandlerTests {
    /// A handler writing into memory at a fixed time.
    static func handler(_ format: SealboxLogHandler.Format) -> (Logger, @Sendable () -> [String]) {
        let lines = Mutex<[String]>([])
        let handler = SealboxLogHandler(label: "sealbox", format: format, level: .info,
                                        output: { line in lines.withLock { $0.append(line) } },
                                        now: { Date(timeIntervalSince1970: 1_777_630_500.1235) })
        return (Logger(label: "sealbox") { _ in handler }, { lines.withLock { $0 } })
    }

    @Test("text: time, level, label, message, then key=value in key order, quoted when needed")
    func textLine() {
        var (logger, lines) = Self.handler(.text)
        logger[metadataKey: "net.connection.id"] = "7"
        logger.notice("session end", metadata: ["session.user": "a@example.org", "session.note": "two words", "empty": "",
                                               "quote": "say \"hi\"=x", "line": "a\nb"])
        logger.debug("not shown")
        #expect(lines() == [
            "2026-05-01T10:15:00.123Z notice sealbox: session end empty=\"\" line=\"a\\nb\" net.connection.id=7 "
                + "quote=\"say \\\"hi\\\"=x\" session.note=\"two words\" session.user=a@example.org\n",
        ])
    }

    @Test("text: a message with a line break stays on one line; the audit line keeps the fail2ban form")
    func textOneLine() throws {
        let (logger, lines) = Self.handler(.text)
        logger.warning("first\nsecond\u{1B}[31m")
        logger.notice("auth failure: protocol=imap ip=203.0.113.5 user=\"x@example.org\" reason=bad-credentials", metadata: ["imap.session.id": "3"])
        #expect(lines()[0] == "2026-05-01T10:15:00.123Z warning sealbox: first\\nsecond\\x1B[31m\n")
        // The shipped filter's failregex (docs/fail2ban/sealbox.conf), <HOST> as an IP group.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let filter = try String(contentsOf: root.appendingPathComponent("docs/fail2ban/sealbox.conf"), encoding: .utf8)
        let line = try #require(filter.split(separator: "\n").first { $0.hasPrefix("failregex") })
        let pattern = line[line.index(after: line.firstIndex(of: "=")!)...].trimmingCharacters(in: .whitespaces)
            .replacingOccurrences(of: "<HOST>", with: "(?<host>[0-9A-Fa-f:.]+)")
        let regex = try NSRegularExpression(pattern: pattern)
        let audit = lines()[1].trimmingCharacters(in: .newlines)
        let match = try #require(regex.firstMatch(in: audit, range: NSRange(audit.startIndex..., in: audit)), "\(audit)")
        #expect(audit[Range(match.range(withName: "host"), in: audit)!] == "203.0.113.5")
    }

    @Test("json: one object per line with time, level, label, source, message and the metadata as strings")
    func jsonLine() throws {
        var (logger, lines) = Self.handler(.json)
        logger[metadataKey: "imap.session.id"] = "3"
        logger.notice("auth failure: \"quoted\"\nnext", metadata: ["message": "collides", "count": "\(5)", "tab": "a\tb\u{01}"])
        let written = lines()
        #expect(written.count == 1 && written[0].hasSuffix("}\n") && written[0].dropLast().allSatisfy { $0 != "\n" })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: String])
        #expect(object == [
            "time": "2026-05-01T10:15:00.123Z", "level": "notice", "label": "sealbox", "source": "SealboxAppTests",
            "message": "auth failure: \"quoted\"\nnext", "metadata.message": "collides", "count": "5", "tab": "a\tb\u{01}",
            "imap.session.id": "3",
        ])
    }

    @Test("log.format and log.level are read from the settings; a wrong value is refused")
    func settings() async throws {
        let json = try await SealboxConfiguration.load(overrides: ["data.directory": "/nonexistent-sealbox", "log.format": "json", "log.level": "info"],
                                                       configFile: nil, environment: [:])
        #expect(json.log.format == .json && json.log.level == .info)
        let defaults = try await SealboxConfiguration.load(overrides: ["data.directory": "/nonexistent-sealbox"], configFile: nil, environment: [:])
        #expect(defaults.log.format == .text && defaults.log.level == .notice)
        let fromEnvironment = try await SealboxConfiguration.load(overrides: ["data.directory": "/nonexistent-sealbox"], configFile: nil,
                                                                  environment: ["SEALBOX_LOG_LEVEL": "debug"])
        #expect(fromEnvironment.log.level == .debug)
        await #expect(throws: SealboxConfiguration.Failure.self) {
            _ = try await SealboxConfiguration.load(overrides: ["data.directory": "/nonexistent-sealbox", "log.format": "xml"], configFile: nil, environment: [:])
        }
    }
}
