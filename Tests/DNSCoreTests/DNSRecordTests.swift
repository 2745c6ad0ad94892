import DNSCore
import Testing

@Suite("RDATA parser: every type Sealbox reads, strictly")
struct DNSRecordTests {
    static let mxName: [UInt8] = [3] + Array("mx1".utf8) + [7] + Array("example".utf8) + [0]

    @Test("A, AAAA, MX, TXT, TLSA, PTR, CNAME, NS, SRV and other types parse and print as in a zone file")
    func parses() throws {
        #expect(try DNSRecord.parse(type: .a, rdata: [192, 0, 2, 1]) == .a(IPAddress("192.0.2.1")!))
        #expect(try DNSRecord.parse(type: .aaaa, rdata: [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]).description == "2001:db8::1")
        let mx = try DNSRecord.parse(type: .mx, rdata: [0, 10] + Self.mxName)
        #expect(mx == .mx(MXRecord(preference: 10, exchange: try DNSName("mx1.example"))))
        #expect(mx.description == "10 mx1.example.")
        let nullMX = try DNSRecord.parse(type: .mx, rdata: [0, 0, 0])
        guard case .mx(let null) = nullMX else { Issue.record("not MX"); return }
        #expect(null.isNullMX && nullMX.description == "0 .")

        let txt = try DNSRecord.parse(type: .txt, rdata: [7] + Array("v=spf1 ".utf8) + [4] + Array("-all".utf8) + [0])
        guard case .txt(let t) = txt else { Issue.record("not TXT"); return }
        #expect(t.strings.count == 3 && t.text == "v=spf1 -all")
        #expect(txt.description == "\"v=spf1 \" \"-all\" \"\"")
        #expect(try DNSRecord.parse(type: .txt, rdata: [3, 0x22, 0x5C, 0x01]).description == "\"\\\"\\\\\\001\"")

        let tlsa = try DNSRecord.parse(type: .tlsa, rdata: [3, 1, 1, 0xAB, 0xCD])
        #expect(tlsa == .tlsa(TLSARecord(usage: 3, selector: 1, matchingType: 1, data: [0xAB, 0xCD])))
        #expect(tlsa.description == "3 1 1 abcd")

        #expect(try DNSRecord.parse(type: .ptr, rdata: Self.mxName) == .ptr(try DNSName("mx1.example")))
        #expect(try DNSRecord.parse(type: .cname, rdata: Self.mxName).description == "mx1.example.")
        #expect(try DNSRecord.parse(type: .ns, rdata: Self.mxName).type == .ns)
        let srv = try DNSRecord.parse(type: .srv, rdata: [0, 0, 0, 1, 0x02, 0x4B] + Self.mxName)
        #expect(srv == .srv(SRVRecord(priority: 0, weight: 1, port: 587, target: try DNSName("mx1.example"))))
        #expect(srv.description == "0 1 587 mx1.example.")
        #expect(try DNSRecord.parse(type: .soa, rdata: [1, 2]) == .other(.soa, [1, 2]))
        #expect(try DNSRecord.parse(type: DNSRecordType(rawValue: 99), rdata: [0xFF]).description == "\\# 1 ff")
    }

    @Test("malformed RDATA is refused with a reason", arguments: [
        (DNSRecordType.a, [1, 2, 3] as [UInt8], "not 4"),
        (.a, [1, 2, 3, 4, 5], "not 4"),
        (.aaaa, [1, 2, 3, 4], "not 16"),
        (.mx, [0, 10], "shorter"),
        (.mx, [0, 10, 0xC0, 0x0C], "compressed"),
        (.mx, [0, 10, 3, 0x61, 0x62, 0x63, 0, 0], "after the name"),
        (.mx, [0, 10, 3, 0x61, 0x62, 0x63], "past the end"),
        (.txt, [], "no character-string"),
        (.txt, [5, 0x61], "past the end"),
        (.tlsa, [3, 1], "shorter"),
        (.ptr, [], "past the end"),
        (.cname, [1, 0x61], "past the end"),
        (.srv, [0, 0, 0, 0, 0, 25], "shorter"),
    ])
    func malformed(type: DNSRecordType, rdata: [UInt8], problem: String) {
        do {
            let record = try DNSRecord.parse(type: type, rdata: rdata)
            Issue.record("parsed as \(record)")
        } catch let error as DNSError {
            #expect(error.code == .malformedAnswer)
            #expect(error.reason?.contains(problem) == true, "\(error)")
            #expect(error.reason?.hasPrefix("\(type) record") == true)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("a TXT record of 255-byte strings up to the RDATA limit parses; past it is refused")
    func limits() throws {
        var big: [UInt8] = []
        while big.count + 256 <= DNSLimits.maxRDataLength { big += [255] + Array(repeating: 0x61, count: 255) }
        guard case .txt(let t) = try DNSRecord.parse(type: .txt, rdata: big) else { Issue.record("not TXT"); return }
        #expect(t.bytes.count == big.count / 256 * 255)
        #expect(throws: DNSError.self) { try DNSRecord.parse(type: .txt, rdata: Array(repeating: 0, count: DNSLimits.maxRDataLength + 1)) }
    }
}
