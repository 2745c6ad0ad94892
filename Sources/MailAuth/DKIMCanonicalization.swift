/// DKIM's canonicalizations, "simple" and "relaxed" (RFC 6376 §3.4), and the header split they work
/// on. Pure functions over bytes (fuzzed, Fuzz/DKIMFuzz): the signer, the verifier and ARC use them.
///
/// A message is taken as lines ending in CRLF; a bare LF counts as CRLF (the SMTP client sends
/// every line with CRLF, so that is what the receiver verifies).
public enum DKIMCanonicalization {
    /// One of the two algorithms, for the header or the body (`c=header/body`).
    public enum Algorithm: String, Sendable {
        case simple, relaxed

        /// One header field (`raw`, as in `HeaderField`) canonicalized, with its CRLF.
        public func header(_ raw: [UInt8]) -> [UInt8] {
            self == .simple ? DKIMCanonicalization.simpleHeader(raw) : DKIMCanonicalization.relaxedHeader(raw)
        }

        /// The body canonicalized.
        public func body(_ body: ArraySlice<UInt8>) -> [UInt8] {
            self == .simple ? DKIMCanonicalization.simpleBody(body) : DKIMCanonicalization.relaxedBody(body)
        }
    }

    /// One header field as it appears in the message: its name as written and the whole field
    /// (name, colon, value, folding), without the final line break.
    public struct HeaderField: Sendable, Equatable {
        public var name: String
        public var raw: [UInt8]
    }

    /// The header fields in order, and the offset where the body starts (after the empty line;
    /// the message's length when there is no body).
    public static func split(_ message: [UInt8]) -> (fields: [HeaderField], bodyStart: Int) {
        var fields: [HeaderField] = []
        var current: [UInt8] = []
        var index = 0
        func finish() {
            guard !current.isEmpty else { return }
            let colon = current.firstIndex(of: UInt8(ascii: ":")) ?? current.count
            var name = Array(current[..<colon])
            while let last = name.last, last == 0x20 || last == 0x09 { name.removeLast() }
            fields.append(HeaderField(name: String(decoding: name, as: UTF8.self), raw: current))
            current = []
        }
        while index < message.count {
            var end = index
            while end < message.count, message[end] != 0x0A { end += 1 }
            var line = message[index..<end]
            if line.last == 0x0D { line = line.dropLast() }
            let next = min(end + 1, message.count)
            if line.isEmpty {
                finish()
                return (fields, next)
            }
            if line.first == 0x20 || line.first == 0x09, !current.isEmpty {
                current.append(contentsOf: [0x0D, 0x0A])
                current.append(contentsOf: line)
            } else {
                finish()
                current = Array(line)
            }
            index = next
        }
        finish()
        return (fields, message.count)
    }

    /// `simple` header canonicalization of one field (RFC 6376 §3.4.1): the field unchanged, followed
    /// by CRLF (folding as CRLF plus white space, as `split` keeps it).
    public static func simpleHeader(_ raw: [UInt8]) -> [UInt8] {
        raw + [0x0D, 0x0A]
    }

    /// `simple` body canonicalization (RFC 6376 §3.4.3): the body unchanged but for empty lines at
    /// its end, which are removed; every line ends in CRLF (a bare LF counts as one, a last line
    /// without a line break gets one); an empty body is one CRLF.
    public static func simpleBody(_ body: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 2)
        var emptyLines = 0
        var index = body.startIndex
        while index < body.endIndex {
            var end = index
            while end < body.endIndex, body[end] != 0x0A { end += 1 }
            var lineEnd = end
            if end < body.endIndex, lineEnd > index, body[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if lineEnd == index {
                emptyLines += 1
            } else {
                for _ in 0..<emptyLines { out.append(contentsOf: [0x0D, 0x0A]) }
                emptyLines = 0
                out.append(contentsOf: body[index..<lineEnd])
                out.append(contentsOf: [0x0D, 0x0A])
            }
            if end == body.endIndex { break }
            index = end + 1
        }
        return out.isEmpty ? [0x0D, 0x0A] : out
    }

    /// `relaxed` header canonicalization of one field: the name lower-cased, folding removed,
    /// runs of white space as one space, white space around the colon and at the end removed;
    /// followed by CRLF.
    public static func relaxedHeader(_ raw: [UInt8]) -> [UInt8] {
        let colon = raw.firstIndex(of: UInt8(ascii: ":")) ?? raw.count
        var out: [UInt8] = []
        out.reserveCapacity(raw.count + 2)
        for byte in raw[..<colon] where byte != 0x20 && byte != 0x09 && byte != 0x0D && byte != 0x0A {
            out.append((0x41...0x5A).contains(byte) ? byte | 0x20 : byte)
        }
        out.append(UInt8(ascii: ":"))
        var pendingSpace = false
        var started = false
        if colon < raw.count {
            for byte in raw[(colon + 1)...] {
                switch byte {
                case 0x0D, 0x0A: continue
                case 0x20, 0x09: pendingSpace = true
                default:
                    if pendingSpace && started { out.append(0x20) }
                    pendingSpace = false
                    started = true
                    out.append(byte)
                }
            }
        }
        out.append(contentsOf: [0x0D, 0x0A])
        return out
    }

    /// `relaxed` body canonicalization (RFC 6376 §3.4.4 with erratum 3986: an empty body is the
    /// empty string): white space at line ends removed, other runs as one space, empty lines at
    /// the end removed, every line ending in CRLF.
    public static func relaxedBody(_ body: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 2)
        // Written straight into `out` (no array per line: this runs over every byte of every
        // message the MX receives); empty lines are held back until a line with content follows.
        body.withUnsafeBufferPointer { bytes in
            var emptyLines = 0
            var index = 0
            let count = bytes.count
            while index < count {
                var end = index
                while end < count, bytes[end] != 0x0A { end += 1 }
                var lineEnd = end
                if lineEnd > index, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                var pendingSpace = false, wrote = false
                var i = index
                while i < lineEnd {
                    let byte = bytes[i]
                    if byte == 0x20 || byte == 0x09 {
                        pendingSpace = true
                    } else {
                        if !wrote {
                            for _ in 0..<emptyLines { out.append(0x0D); out.append(0x0A) }
                            emptyLines = 0
                            wrote = true
                        }
                        if pendingSpace { out.append(0x20) }
                        pendingSpace = false
                        out.append(byte)
                    }
                    i += 1
                }
                if wrote {
                    out.append(0x0D); out.append(0x0A)
                } else {
                    emptyLines += 1
                }
                if end == count { break }
                index = end + 1
            }
        }
        return out
    }
}
