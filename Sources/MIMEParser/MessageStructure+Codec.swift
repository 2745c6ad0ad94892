/// The stored form of a `MessageStructure`: a compact binary encoding (version byte, then varints
/// and length-prefixed byte strings) kept in the mailbox's `contents.structure` column. Decoding
/// is bounded and total: anything malformed, truncated, too deep or of another version gives nil,
/// and the caller re-parses the message.
extension MessageStructure {
    public func encoded() -> [UInt8] {
        var w = StructureWriter()
        w.out.append(Self.version)
        w.envelope(envelope)
        w.node(root)
        return w.out
    }

    public init?(encoded bytes: [UInt8], limits: MIMELimits = .default) {
        var r = StructureReader(bytes: bytes, maxNodes: limits.maxParts * 2 + 8, maxDepth: limits.maxDepth * 2 + 8)
        guard r.byte() == Self.version, let envelope = r.envelope(), let root = r.node(depth: 0), r.atEnd else { return nil }
        self.init(envelope: envelope, root: root)
    }
}

struct StructureWriter {
    var out: [UInt8] = []

    mutating func int(_ v: Int) {
        var n = UInt64(bitPattern: Int64(v))
        while n >= 0x80 { out.append(UInt8(n & 0x7F) | 0x80); n >>= 7 }
        out.append(UInt8(n))
    }
    mutating func bytes(_ b: [UInt8]) { int(b.count); out.append(contentsOf: b) }
    mutating func bytes(_ b: [UInt8]?) { if let b { out.append(1); bytes(b) } else { out.append(0) } }
    mutating func string(_ s: String?) { bytes(s.map { Array($0.utf8) }) }
    mutating func flag(_ b: Bool) { out.append(b ? 1 : 0) }

    mutating func addresses(_ list: [EnvelopeAddress]?) {
        guard let list else { out.append(0); return }
        out.append(1)
        int(list.count)
        for a in list { bytes(a.rawName); string(a.route); bytes(a.mailbox); bytes(a.host) }
    }

    mutating func envelope(_ e: Envelope) {
        bytes(e.rawDate); bytes(e.rawSubject); bytes(e.rawInReplyTo); bytes(e.rawMessageID)
        for list in [e.from, e.sender, e.replyTo, e.to, e.cc, e.bcc] { addresses(list) }
    }

    mutating func parameters(_ ps: [BodyNode.Parameter]) {
        int(ps.count)
        for p in ps { string(p.name); bytes(p.value) }
    }

    mutating func node(_ n: BodyNode) {
        flag(n.isMultipart); flag(n.isEncapsulatedMessage); flag(n.isGlobal)
        string(n.rawType); string(n.rawSubtype); parameters(n.parameters)
        bytes(n.contentID); bytes(n.contentDescription); string(n.rawTransferEncoding); string(n.transferEncoding)
        bytes(n.contentMD5); string(n.disposition); parameters(n.dispositionParameters)
        if let langs = n.languages { out.append(1); int(langs.count); for l in langs { string(l) } } else { out.append(0) }
        bytes(n.location)
        int(n.size); int(n.lines)
        int(n.headerRange.lowerBound); int(n.headerRange.upperBound); int(n.bodyRange.lowerBound); int(n.bodyRange.upperBound)
        if let e = n.encapsulatedEnvelope { out.append(1); envelope(e) } else { out.append(0) }
        int(n.children.count)
        for c in n.children { node(c) }
    }
}

struct StructureReader {
    let bytes: [UInt8]
    var i = 0
    var nodes = 0
    let maxNodes: Int
    let maxDepth: Int

    init(bytes: [UInt8], maxNodes: Int, maxDepth: Int) { self.bytes = bytes; self.maxNodes = maxNodes; self.maxDepth = maxDepth }

    var atEnd: Bool { i == bytes.count }

    mutating func byte() -> UInt8? {
        guard i < bytes.count else { return nil }
        defer { i += 1 }
        return bytes[i]
    }

    mutating func int() -> Int? {
        var n: UInt64 = 0, shift: UInt64 = 0
        while let b = byte() {
            guard shift < 64 else { return nil }
            n |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return Int(Int64(bitPattern: n)) }
            shift += 7
        }
        return nil
    }

    /// A count or size: non-negative and no larger than what is left to read (each item takes a byte).
    mutating func count() -> Int? {
        guard let n = int(), n >= 0, n <= bytes.count - i else { return nil }
        return n
    }

    mutating func raw() -> [UInt8]? {
        guard let n = count() else { return nil }
        defer { i += n }
        return Array(bytes[i..<(i + n)])
    }

    /// An optional byte string: `.some(nil)` for an absent value, nil when malformed.
    mutating func optionalBytes() -> [UInt8]?? {
        switch byte() {
        case 0: return .some(nil)
        case 1: return raw().map { .some($0) }
        default: return nil
        }
    }

    mutating func optionalString() -> String?? {
        guard let b = optionalBytes() else { return nil }
        return .some(b.map { String(decoding: $0, as: UTF8.self) })
    }

    mutating func flag() -> Bool? {
        switch byte() { case 0: false; case 1: true; default: nil }
    }

    mutating func range() -> Range<Int>? {
        guard let lo = int(), let hi = int(), lo >= 0, hi >= lo else { return nil }
        return lo..<hi
    }

    mutating func addresses() -> [EnvelopeAddress]?? {
        switch byte() {
        case 0: return .some(nil)
        case 1:
            guard let n = count() else { return nil }
            var list: [EnvelopeAddress] = []
            for _ in 0..<n {
                guard let name = optionalBytes(), let route = optionalString(), let mailbox = optionalBytes(), let host = optionalBytes()
                else { return nil }
                list.append(EnvelopeAddress(rawName: name, route: route, mailbox: mailbox, host: host))
            }
            return .some(list)
        default: return nil
        }
    }

    mutating func envelope() -> Envelope? {
        var e = Envelope()
        guard let date = optionalBytes(), let subject = optionalBytes(), let inReplyTo = optionalBytes(), let messageID = optionalBytes(),
              let from = addresses(), let sender = addresses(), let replyTo = addresses(), let to = addresses(), let cc = addresses(),
              let bcc = addresses()
        else { return nil }
        e.rawDate = date; e.rawSubject = subject; e.rawInReplyTo = inReplyTo; e.rawMessageID = messageID
        e.from = from; e.sender = sender; e.replyTo = replyTo; e.to = to; e.cc = cc; e.bcc = bcc
        return e
    }

    mutating func parameters() -> [BodyNode.Parameter]? {
        guard let n = count() else { return nil }
        var ps: [BodyNode.Parameter] = []
        for _ in 0..<n {
            guard let name = optionalString(), let name, let value = raw() else { return nil }
            ps.append(BodyNode.Parameter(name: name, value: value))
        }
        return ps
    }

    mutating func node(depth: Int) -> BodyNode? {
        nodes += 1
        guard nodes <= maxNodes, depth <= maxDepth else { return nil }
        guard let multipart = flag(), let encapsulated = flag(), let global = flag(),
              let type = optionalString(), let subtype = optionalString(), let params = parameters(),
              let id = optionalBytes(), let description = optionalBytes(), let rawCTE = optionalString(), let cte = optionalString(),
              let md5 = optionalBytes(), let disposition = optionalString(), let dispositionParams = parameters()
        else { return nil }
        var languages: [String]?
        switch byte() {
        case 0: languages = nil
        case 1:
            guard let n = count() else { return nil }
            var list: [String] = []
            for _ in 0..<n { guard let l = optionalString(), let l else { return nil }; list.append(l) }
            languages = list
        default: return nil
        }
        guard let location = optionalBytes(), let size = int(), let lines = int(), size >= 0, lines >= 0,
              let header = range(), let body = range()
        else { return nil }
        var embedded: Envelope?
        switch byte() {
        case 0: embedded = nil
        case 1: guard let e = envelope() else { return nil }; embedded = e
        default: return nil
        }
        guard let n = count() else { return nil }
        var children: [BodyNode] = []
        for _ in 0..<n {
            guard let c = node(depth: depth + 1) else { return nil }
            children.append(c)
        }
        return BodyNode(isMultipart: multipart, isEncapsulatedMessage: encapsulated, isGlobal: global, rawType: type, rawSubtype: subtype,
                        parameters: params, contentID: id, contentDescription: description, rawTransferEncoding: rawCTE,
                        transferEncoding: cte, contentMD5: md5, disposition: disposition, dispositionParameters: dispositionParams,
                        languages: languages, location: location, size: size, lines: lines, headerRange: header, bodyRange: body,
                        encapsulatedEnvelope: embedded, children: children)
    }
}
