import DNSCore
import Testing

@Suite("DNS names: presentation text, wire format, limits")
struct DNSNameTests {
    @Test("presentation text in and out: case folded, one final dot allowed, escapes kept")
    func presentation() throws {
        let name = try DNSName("Mail.Example.COM.")
        #expect(name.labels.map { String(decoding: $0, as: UTF8.self) } == ["mail", "example", "com"])
        #expect(name.description == "mail.example.com")
        #expect(name.absoluteText == "mail.example.com.")
        #expect(name == (try DNSName("mail.example.com")))
        #expect(try DNSName(".") == .root)
        #expect(DNSName.root.description == "." && DNSName.root.absoluteText == ".")
        let escaped = try DNSName(#"a\.b.c\092d.\255x.example"#)
        #expect(escaped.labels[0] == Array("a.b".utf8))
        #expect(escaped.labels[1] == Array(#"c\d"#.utf8))
        #expect(escaped.labels[2] == [255, UInt8(ascii: "x")])
        #expect(escaped.description == #"a\.b.c\\d.\255x.example"#)
        #expect(try DNSName(escaped.description) == escaped)
        #expect(try DNSName("_25._tcp.mx.example.com").labels.count == 5)
    }

    @Test("refused names name their problem", arguments: [
        ("", "empty"), ("a..b", "empty label"), (".a", "empty label"), ("a b.example", "space"),
        ("bücher.example", "A-labels"), (#"a\1.example"#, "three digits"), (#"a\300.example"#, "not a byte"), ("a\\", "backslash"),
        (String(repeating: "a", count: 64) + ".example", "63"),
        (Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: "."), "255"),
    ])
    func refused(text: String, problem: String) {
        do {
            _ = try DNSName(text)
            Issue.record("\(text) was accepted")
        } catch let error as DNSError {
            #expect(error.code == .invalidName)
            #expect(!error.isTemporary)
            #expect(error.description.contains(problem), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("the longest name fits: 255 bytes on the wire")
    func longest() throws {
        let text = [String(repeating: "a", count: 63), String(repeating: "b", count: 63), String(repeating: "c", count: 63),
                    String(repeating: "d", count: 61)].joined(separator: ".")
        let name = try DNSName(text)
        #expect(name.wire.count == 255)
        #expect(throws: DNSError.self) { try DNSName("e." + text) }
    }

    @Test("read from RDATA: uncompressed only, bounded, case folded")
    func wire() throws {
        var offset = 0
        let bytes: [UInt8] = [3] + Array("MX1".utf8) + [7] + Array("example".utf8) + [0, 0xFF]
        let name = try DNSName.read(from: bytes, at: &offset)
        #expect(name.description == "mx1.example" && offset == bytes.count - 1)
        #expect(name.wire == Array(bytes.dropLast()).map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 })

        for (bad, problem) in [([0xC0, 0x0C], "compressed"), ([0x40, 0], "reserved"), ([5, 0x61, 0x62], "past the end"), ([3, 0x61, 0x62, 0x63], "past the end")] as [([UInt8], String)] {
            var at = 0
            #expect { try DNSName.read(from: bad, at: &at) } throws: { ($0 as? DNSError)?.reason?.contains(problem) == true }
        }
        // 128 one-byte labels: 257 bytes on the wire.
        var long: [UInt8] = []
        for _ in 0..<128 { long += [1, 0x61] }
        var at = 0
        #expect { try DNSName.read(from: long + [0], at: &at) } throws: { ($0 as? DNSError)?.reason?.contains("255") == true }
    }

    @Test("reverse names of IPv4 and IPv6 addresses")
    func reverse() throws {
        #expect(DNSName.reverse(try #require(IPAddress("192.0.2.10"))).description == "10.2.0.192.in-addr.arpa")
        #expect(DNSName.reverse(try #require(IPAddress("2001:db8::567:89ab"))).description
                == "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
    }

    @Test("prepending, parents and subdomains")
    func relations() throws {
        let mx = try DNSName("mx.example.com")
        #expect(try mx.prepending("_25._tcp").description == "_25._tcp.mx.example.com")
        #expect(mx.parent?.description == "example.com")
        #expect(mx.isSubdomain(of: try DNSName("EXAMPLE.com")))
        #expect(!mx.isSubdomain(of: try DNSName("ample.com")))
        #expect(mx.isSubdomain(of: .root))
    }

    @Test("IP addresses: text in and out (RFC 5952 form), bytes, refusals")
    func addresses() throws {
        #expect(IPAddress("192.0.2.1")?.bytes == [192, 0, 2, 1])
        #expect(IPAddress("2001:DB8:0:0:0:0:0:1")?.description == "2001:db8::1")
        #expect(IPAddress("::ffff:192.0.2.1")?.bytes.count == 16)
        for bad in ["", "1.2.3", "256.1.1.1", "1.2.3.4.5", "example.com", "2001:db8::1%eth0", "[::1]", "::1::2"] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test("record types by name and number")
    func types() {
        #expect(DNSRecordType(name: "mx") == .mx)
        #expect(DNSRecordType(name: "TLSA")?.rawValue == 52)
        #expect(DNSRecordType(name: "TYPE65")?.description == "TYPE65")
        #expect(DNSRecordType(name: "TYPE15") == .mx)
        for bad in ["ANY", "TYPE0", "TYPE255", "TYPE65536", "BOGUS", "TYPE"] { #expect(DNSRecordType(name: bad) == nil, "\(bad)") }
    }
}
