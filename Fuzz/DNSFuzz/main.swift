// libFuzzer entry point over DNSCore: the RDATA parser, the reading of names from the wire and from
// text, and the interpretation of a resolver's result. Built by scripts/fuzz.sh with
// `swiftc -sanitize=fuzzer,address -parse-as-library Sources/DNSCore/*.swift Fuzz/DNSFuzz/main.swift`.
// Input layout: byte 0 picks a record type, byte 1 the resolver's flags, the rest is split into
// records by one-byte lengths. Besides crashes and hangs it checks invariants, trapping when one breaks:
// - a record that parses re-encodes to its RDATA (names compared without case): A, AAAA, MX, TXT,
//   PTR, CNAME, NS, SRV, TLSA; its presentation never traps;
// - a name's presentation text parses back to the same name; a name read from text stays in the limits;
// - the interpretation of a result gives records of the asked type or a DNSError, never anything else.

let fuzzTypes: [DNSRecordType] = [.a, .aaaa, .mx, .txt, .tlsa, .ptr, .cname, .ns, .srv, .soa, DNSRecordType(rawValue: 99)]

func lowered(_ bytes: some Collection<UInt8>) -> [UInt8] { bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 } }

func checkName(_ name: DNSName) {
    precondition(name.wire.count <= DNSLimits.maxNameWireLength)
    precondition(name.labels.allSatisfy { (1...DNSLimits.maxLabelLength).contains($0.count) })
    let again = try? DNSName(name.description)
    precondition(again == name, "presentation round trip: \(name)")
    let absolute = try? DNSName(name.absoluteText)
    precondition(absolute == name, "absolute presentation round trip: \(name)")
}

func checkRecord(_ record: DNSRecord, _ rdata: [UInt8]) {
    _ = record.description
    switch record {
    case .a(let ip), .aaaa(let ip):
        precondition(ip.bytes == rdata)
        precondition(IPAddress(ip.description) == ip, "address text round trip")
    case .mx(let mx):
        precondition(rdata.count >= 2 && UInt16(rdata[0]) << 8 | UInt16(rdata[1]) == mx.preference)
        precondition(mx.exchange.wire == lowered(rdata.dropFirst(2)))
        checkName(mx.exchange)
    case .txt(let txt):
        precondition(txt.strings.flatMap { [UInt8($0.count)] + $0 } == rdata)
        _ = txt.text
    case .tlsa(let t):
        precondition([t.usage, t.selector, t.matchingType] + t.data == rdata)
    case .ptr(let name), .cname(let name), .ns(let name):
        precondition(name.wire == lowered(rdata))
        checkName(name)
    case .srv(let s):
        precondition(s.target.wire == lowered(rdata.dropFirst(6)))
        precondition(UInt16(rdata[4]) << 8 | UInt16(rdata[5]) == s.port)
        checkName(s.target)
    case .other(_, let bytes):
        precondition(bytes == rdata)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func dnsFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard bytes.count >= 2 else { return 0 }
    let type = fuzzTypes[Int(bytes[0]) % fuzzTypes.count]
    let flags = bytes[1]
    var records: [[UInt8]] = []
    var i = 2
    while i < bytes.count {
        let length = Int(bytes[i])
        i += 1
        let end = min(bytes.count, i + length)
        records.append(Array(bytes[i..<end]))
        i = end
    }

    // Each record alone.
    for rdata in records {
        if let record = try? DNSRecord.parse(type: type, rdata: rdata) {
            precondition(record.type == type || { if case .other = record { return true } else { return false } }())
            checkRecord(record, rdata)
        }
        var offset = 0
        if let name = try? DNSName.read(from: rdata, at: &offset) {
            precondition(offset <= rdata.count)
            checkName(name)
        }
    }

    // The whole input as presentation text.
    let text = String(decoding: bytes.dropFirst(2), as: UTF8.self)
    if let name = try? DNSName(text) { checkName(name) }
    if let ip = IPAddress(text) { precondition(IPAddress(ip.description) == ip) }
    _ = DNSRecordType(name: text)

    // A resolver's result around the records.
    let resolution = DNSResolution(
        rcode: Int(flags & 0x07), hasData: flags & 0x08 != 0, nameDoesNotExist: flags & 0x10 != 0, secure: flags & 0x20 != 0,
        bogus: flags & 0x40 != 0, whyBogus: flags & 0x40 != 0 ? text : nil, ttl: Int(Int8(bitPattern: flags)) * 1000,
        canonicalName: flags & 0x80 != 0 ? text : nil, rdata: records)
    let question = DNSQuestion(DNSName.root, type)
    do {
        let answer = try resolution.answer(to: question)
        precondition(!answer.records.isEmpty && answer.records.count == records.count)
        precondition(!resolution.bogus && resolution.rcode == 0 && !resolution.nameDoesNotExist)
        precondition(answer.isSecure == resolution.secure)
    } catch let error as DNSError {
        _ = error.description
        precondition(error.question == question)
        if resolution.bogus { precondition(error.code == .bogus && error.isTemporary) }
    } catch {
        preconditionFailure("an error that is not a DNSError: \(error)")
    }
    return 0
}
