#if canImport(Glibc)
import Glibc
#endif
import Foundation

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A minimal blocking IMAP client over a plain socket on 127.0.0.1 (no pipelining): enough to log
/// in, select, run commands with literals in their responses, APPEND with LITERAL+ and IDLE.
final class IMAPBenchConnection {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0
    private var tagCounter = 0
    private var scratch = [UInt8](repeating: 0, count: 256 * 1024)
    /// Bytes of literals received (FETCH bodies).
    private(set) var literalBytes = 0

    init(port: Int, timeoutSeconds: Int = 60) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let e = errno
            close(fd)
            throw BenchError("connect to 127.0.0.1:\(port): errno \(e)")
        }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let greeting = try readLine()
        guard greeting.starts(with: Array("* OK".utf8)) else {
            close(fd)
            throw BenchError("greeting: \(String(decoding: greeting, as: UTF8.self))")
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { throw BenchError("send: errno \(errno)") }
            offset += n
        }
    }

    private func fill() throws {
        if position > 0 {
            buffer.removeFirst(position)
            position = 0
        }
        let n = recv(fd, &scratch, scratch.count, 0)
        guard n > 0 else { throw BenchError(n == 0 ? "connection closed by server" : "recv: errno \(errno)") }
        buffer.append(contentsOf: scratch[0..<n])
    }

    /// One response line; literals are consumed (counted, not kept) and the line continues after them.
    func readLine() throws -> [UInt8] {
        var line: [UInt8] = []
        while true {
            var crlf: Int?
            while crlf == nil {
                var i = position
                while i + 1 < buffer.count {
                    if buffer[i] == 13 && buffer[i + 1] == 10 { crlf = i; break }
                    i += 1
                }
                if crlf == nil { try fill() }
            }
            let part = buffer[position..<crlf!]
            position = crlf! + 2
            line.append(contentsOf: part)
            guard let size = Self.trailingLiteral(part) else { return line }
            while buffer.count - position < size { try fill() }
            position += size
            literalBytes += size
        }
    }

    static func trailingLiteral(_ part: ArraySlice<UInt8>) -> Int? {
        guard part.last == UInt8(ascii: "}"), let open = part.lastIndex(of: UInt8(ascii: "{")) else { return nil }
        var digits = part[(open + 1)..<(part.endIndex - 1)]
        if digits.last == UInt8(ascii: "+") { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(String(decoding: digits, as: UTF8.self))
    }

    func nextTag() -> String {
        tagCounter += 1
        return "b\(tagCounter)"
    }

    /// Sends `tag text` and reads to the tagged reply; returns the untagged lines and the tagged line.
    @discardableResult
    func command(_ text: String, keep: Bool = false) throws -> (untagged: [[UInt8]], tagged: String) {
        let tag = nextTag()
        try send(Array("\(tag) \(text)\r\n".utf8))
        return try readTagged(tag, keep: keep)
    }

    func readTagged(_ tag: String, keep: Bool) throws -> (untagged: [[UInt8]], tagged: String) {
        let prefix = Array((tag + " ").utf8)
        var untagged: [[UInt8]] = []
        while true {
            let line = try readLine()
            if line.starts(with: prefix) {
                let text = String(decoding: line, as: UTF8.self)
                let status = text.split(separator: " ").dropFirst().first ?? ""
                guard status == "OK" else { throw BenchError("\(text)") }
                return (untagged, text)
            }
            if keep { untagged.append(line) }
        }
    }

    func login(user: String, password: String) throws {
        try command("LOGIN \"\(user)\" \"\(password)\"")
    }

    /// SELECT; returns UIDNEXT and EXISTS.
    func select(_ mailbox: String) throws -> (uidNext: Int, exists: Int) {
        let (lines, _) = try command("SELECT \(mailbox)", keep: true)
        var uidNext = 0, exists = 0
        for line in lines {
            let text = String(decoding: line, as: UTF8.self)
            if let r = text.range(of: "[UIDNEXT ") {
                uidNext = Int(text[r.upperBound...].prefix { $0.isNumber }) ?? 0
            } else if text.hasSuffix(" EXISTS") {
                exists = Int(text.split(separator: " ")[1]) ?? 0
            }
        }
        return (uidNext, exists)
    }

    /// APPEND with a non-synchronizing literal (LITERAL+; both servers announce it).
    func append(_ mailbox: String, _ message: [UInt8], flags: String = "") throws {
        let tag = nextTag()
        var bytes = Array("\(tag) APPEND \(mailbox) \(flags.isEmpty ? "" : "(\(flags)) "){\(message.count)+}\r\n".utf8)
        bytes += message
        bytes += [13, 10]
        try send(bytes)
        _ = try readTagged(tag, keep: false)
    }

    /// IDLE until the continuation request (the session is now idling).
    func startIdle() throws -> String {
        let tag = nextTag()
        try send(Array("\(tag) IDLE\r\n".utf8))
        while true {
            let line = try readLine()
            if line.first == UInt8(ascii: "+") { return tag }
            if line.starts(with: Array((tag + " ").utf8)) {
                throw BenchError("IDLE refused: \(String(decoding: line, as: UTF8.self))")
            }
        }
    }

    func endIdle(_ tag: String) throws {
        try send(Array("DONE\r\n".utf8))
        _ = try readTagged(tag, keep: false)
    }
}
