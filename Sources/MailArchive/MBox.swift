import Foundation
import MailboxAPI

/// mbox in the mboxrd variant (RFC 4155; ">From " quoting that is reversible).
///
/// Writing: a `From SENDER DATE` separator (the sender from Return-Path, else MAILER-DAEMON; the
/// internal date in asctime form, UTC), then the message with LF line endings (the mbox
/// convention), its flags in `Status:` (R seen, O old) and `X-Status:` (A answered, F flagged,
/// T draft, D deleted) and its keywords in `X-Keywords:` as mutt and Thunderbird read them, lines
/// matching `>*From ` quoted with one more `>`, and an empty line.
/// Reading reverses all of it (the status headers are mailbox metadata and are taken out of the
/// message again), so export then import gives back the same bytes, flags, keywords and date. It
/// also reads mboxo and mboxcl files written by other tools (Content-Length is ignored), honours
/// Thunderbird's `X-Mozilla-Status`, and accepts CRLF files.
public enum MBox {
    /// Headers that carry mailbox state, not message content.
    static let stateHeaders: Set<String> = ["status", "x-status", "x-keywords", "x-mozilla-status", "x-mozilla-status2", "x-mozilla-keys"]

    static func asctime(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.weekday, .year, .month, .day, .hour, .minute, .second], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return String(format: "%@ %@ %2d %02d:%02d:%02d %04d", days[(c.weekday ?? 1) - 1], months[(c.month ?? 1) - 1],
                      c.day ?? 1, c.hour ?? 0, c.minute ?? 0, c.second ?? 0, c.year ?? 1970)
    }

    /// Parses the date of a `From ` line (asctime, possibly with a zone before the year); nil if none.
    static func date(fromSeparator line: String) -> Date? {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let m = words.firstIndex(where: { months.contains($0) }), m + 2 < words.count else { return nil }
        guard let month = months.firstIndex(of: words[m]), let day = Int(words[m + 1]) else { return nil }
        let time = words[m + 2].split(separator: ":").compactMap { Int($0) }
        guard time.count >= 2, let year = words[(m + 3)...].compactMap({ Int($0) }).first(where: { $0 > 1900 && $0 < 10000 }) else { return nil }
        var c = DateComponents()
        c.year = year; c.month = month + 1; c.day = day; c.hour = time[0]; c.minute = time[1]; c.second = time.count > 2 ? time[2] : 0
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: c)
    }

    static func isFromLine(_ line: ArraySlice<UInt8>) -> Bool {
        line.count >= 5 && line.starts(with: [0x46, 0x72, 0x6F, 0x6D, 0x20])  // "From "
    }

    /// `>*From ` (a line that mboxrd quotes).
    static func isQuotedFrom(_ line: ArraySlice<UInt8>) -> Bool {
        var i = line.startIndex
        while i < line.endIndex, line[i] == 0x3E { i += 1 }
        return isFromLine(line[i...])
    }
}

/// Writes messages to an mbox file (mboxrd).
public struct MBoxWriter {
    let handle: FileHandle
    var buffer: [UInt8] = []

    public init(fileHandle: FileHandle) { handle = fileHandle }

    public mutating func write(_ message: ArchivedMessage) throws {
        Self.encode(message, into: &buffer)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Appends one message as mboxrd (separator, state headers, quoted `From ` lines, the empty
    /// line after it) to `buffer`: the writer's encoding, for exports streamed without a file.
    public static func encode(_ message: ArchivedMessage, into buffer: inout [UInt8]) {
        let (header, body) = Self.split(message.bytes)
        let sender = Self.returnPath(header) ?? "MAILER-DAEMON"
        buffer += Array("From \(sender) \(MBox.asctime(message.internalDate ?? Date()))\n".utf8)
        var status = "O"
        if message.flags.contains(.seen) { status = "RO" }
        var xstatus = ""
        if message.flags.contains(.answered) { xstatus += "A" }
        if message.flags.contains(.flagged) { xstatus += "F" }
        if message.flags.contains(.draft) { xstatus += "T" }
        if message.flags.contains(.deleted) { xstatus += "D" }
        for line in header where !MBox.stateHeaders.contains(Self.fieldName(line)) { appendLine(line, to: &buffer) }
        buffer += Array("Status: \(status)\n".utf8)
        if !xstatus.isEmpty { buffer += Array("X-Status: \(xstatus)\n".utf8) }
        if !message.keywords.isEmpty { buffer += Array("X-Keywords: \(message.keywords.joined(separator: " "))\n".utf8) }
        buffer.append(0x0A)
        for line in body { appendLine(line, to: &buffer) }
        buffer.append(0x0A)  // the empty line before the next separator
    }

    public func finish() throws {
        var copy = self
        try copy.flush()
        try handle.synchronize()
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    static func appendLine(_ line: ArraySlice<UInt8>, to buffer: inout [UInt8]) {
        if MBox.isQuotedFrom(line) { buffer.append(0x3E) }
        buffer += line
        buffer.append(0x0A)
    }

    /// Header lines (unfolded lines kept as they are, one per physical line) and body lines,
    /// without line endings. The last body line is dropped when the message ends with a line break.
    static func split(_ bytes: [UInt8]) -> (header: [ArraySlice<UInt8>], body: [ArraySlice<UInt8>]) {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0A {
                var end = i
                if end > start, bytes[end - 1] == 0x0D { end -= 1 }
                lines.append(bytes[start..<end])
                start = i + 1
            }
            i += 1
        }
        if start < bytes.count { lines.append(bytes[start...]) }
        guard let blank = lines.firstIndex(where: { $0.isEmpty }) else { return (lines, []) }
        return (Array(lines[..<blank]), Array(lines[(blank + 1)...]))
    }

    static func fieldName(_ line: ArraySlice<UInt8>) -> String {
        guard let colon = line.firstIndex(of: 0x3A), line.first != 0x20, line.first != 0x09 else { return "" }
        return String(decoding: line[line.startIndex..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
    }

    static func returnPath(_ header: [ArraySlice<UInt8>]) -> String? {
        for line in header where fieldName(line) == "return-path" {
            let value = String(decoding: line, as: UTF8.self).drop { $0 != ":" }.dropFirst()
            let address = value.trimmingCharacters(in: CharacterSet(charactersIn: " \t<>"))
            if !address.isEmpty, !address.contains(" ") { return address }
        }
        return nil
    }
}

/// Splits mbox text, line by line, into messages: the parser behind `MBoxReader`, fed from memory
/// or from a file in pieces. Lines are given without their LF (a trailing CR is dropped).
public struct MBoxSplitter {
    public let limits: ArchiveLimits
    private var current: [ArraySlice<UInt8>]?
    private var currentSize = 0
    private var separator = ""
    private var pendingBlank = 0
    private var sawAnyLine = false
    private var lastLineBlank = true
    /// Byte offset of the current message's separator (for errors).
    public private(set) var messageOffset: Int64 = 0
    private var offset: Int64 = 0

    public init(limits: ArchiveLimits = ArchiveLimits()) { self.limits = limits }

    /// Feeds one line (its length on disk, `consumed`, counts toward offsets); returns a finished message, if any.
    public mutating func feed(line: ArraySlice<UInt8>, consumed: Int) throws -> ArchivedMessage? {
        defer { offset += Int64(consumed); sawAnyLine = true }
        var line = line
        if line.last == 0x0D { line = line.dropLast() }
        if MBox.isFromLine(line) && (lastLineBlank || !sawAnyLine) {
            let finished = try finish()
            separator = String(decoding: line, as: UTF8.self)
            current = []
            currentSize = 0
            pendingBlank = 0
            messageOffset = offset
            lastLineBlank = false
            return finished
        }
        lastLineBlank = line.isEmpty
        guard current != nil else {
            if line.isEmpty { return nil }
            throw ArchiveError(description: "not an mbox file: it does not start with a \"From \" line (byte \(offset))")
        }
        // Blank lines are held back: the last one before a separator belongs to the format.
        if line.isEmpty { pendingBlank += 1; return nil }
        for _ in 0..<pendingBlank { current!.append([]) }
        currentSize += pendingBlank * 2
        pendingBlank = 0
        if line.first == 0x3E, MBox.isQuotedFrom(line) { line = line.dropFirst() }
        current!.append(line)
        currentSize += line.count + 2
        guard currentSize <= limits.maxMessageSize else {
            throw ArchiveError(description: "a message at byte \(messageOffset) is larger than \(limits.maxMessageSize) bytes")
        }
        return nil
    }

    /// The last message, at the end of the input.
    public mutating func finish() throws -> ArchivedMessage? {
        guard var lines = current else { return nil }
        // The format leaves one empty line after each message; any more are the message's own.
        lines += Array(repeating: [], count: max(0, pendingBlank - 1))
        current = nil
        pendingBlank = 0
        return Self.message(lines: lines, separator: separator)
    }

    static func message(lines: [ArraySlice<UInt8>], separator: String) -> ArchivedMessage {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(lines.reduce(0) { $0 + $1.count + 2 })
        var flags: MessageFlags = []
        var keywords: [String] = []
        var inHeader = true
        var skippingContinuation = false
        var sawStatus = false
        var mozilla: Int?
        for line in lines {
            if inHeader {
                if line.isEmpty {
                    inHeader = false
                } else if skippingContinuation && (line.first == 0x20 || line.first == 0x09) {
                    continue
                } else {
                    skippingContinuation = false
                    let name = MBoxWriter.fieldName(line)
                    if MBox.stateHeaders.contains(name) {
                        skippingContinuation = true
                        let value = String(decoding: line, as: UTF8.self).drop { $0 != ":" }.dropFirst()
                            .trimmingCharacters(in: .whitespaces)
                        switch name {
                        case "status":
                            sawStatus = true
                            if value.contains("R") { flags.insert(.seen) }
                        case "x-status":
                            if value.contains("A") { flags.insert(.answered) }
                            if value.contains("F") { flags.insert(.flagged) }
                            if value.contains("T") { flags.insert(.draft) }
                            if value.contains("D") { flags.insert(.deleted) }
                        case "x-keywords", "x-mozilla-keys":
                            keywords += value.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init).filter { !$0.isEmpty }
                        case "x-mozilla-status":
                            mozilla = Int(value, radix: 16)
                        default: break
                        }
                        continue
                    }
                }
            }
            bytes += line
            bytes += [0x0D, 0x0A]
        }
        if let mozilla, !sawStatus {
            if mozilla & 0x0001 != 0 { flags.insert(.seen) }
            if mozilla & 0x0002 != 0 { flags.insert(.answered) }
            if mozilla & 0x0004 != 0 { flags.insert(.flagged) }
            if mozilla & 0x0008 != 0 { flags.insert(.deleted) }
            if mozilla & 0x1000 != 0, !keywords.contains("$Forwarded") { keywords.append("$Forwarded") }
        }
        var seen: Set<String> = []
        keywords = keywords.filter { seen.insert($0).inserted }
        return ArchivedMessage(bytes: bytes, flags: flags, keywords: keywords, internalDate: MBox.date(fromSeparator: separator))
    }
}

/// Reads an mbox file message by message, streaming: memory is bounded by the largest message.
public struct MBoxReader {
    let handle: FileHandle
    let path: String
    var splitter: MBoxSplitter
    var buffer: [UInt8] = []
    var head = 0
    var eof = false
    var done = false
    public private(set) var bytesRead: Int64 = 0
    public let totalBytes: Int64

    public init(path: String, limits: ArchiveLimits = ArchiveLimits()) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ArchiveError(description: "cannot read \(path)") }
        self.handle = handle
        self.path = path
        splitter = MBoxSplitter(limits: limits)
        totalBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
    }

    /// The next message, nil at the end of the file.
    public mutating func next() throws -> ArchivedMessage? {
        guard !done else { return nil }
        do {
            while true {
                if let lf = buffer[head...].firstIndex(of: 0x0A) {
                    let line = buffer[head..<lf]
                    let consumed = lf + 1 - head
                    head = lf + 1
                    bytesRead += Int64(consumed)
                    if let message = try splitter.feed(line: line, consumed: consumed) { return message }
                    continue
                }
                if eof {
                    if head < buffer.count {
                        let line = buffer[head...]
                        let consumed = buffer.count - head
                        head = buffer.count
                        bytesRead += Int64(consumed)
                        if let message = try splitter.feed(line: line, consumed: consumed) { return message }
                    }
                    done = true
                    try? handle.close()
                    return try splitter.finish()
                }
                if head > 0 { buffer.removeFirst(head); head = 0 }
                guard buffer.count <= splitter.limits.maxMessageSize else {
                    throw ArchiveError(description: "a line longer than \(splitter.limits.maxMessageSize) bytes")
                }
                let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
                if chunk.isEmpty { eof = true } else { buffer += chunk }
            }
        } catch let error as ArchiveError {
            throw ArchiveError(description: "\(path): \(error.description)")
        }
    }
}
