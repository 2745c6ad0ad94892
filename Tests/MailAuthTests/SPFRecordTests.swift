import DNSCore
import MailAuth
import Testing

@Suite struct SPFRecordTests {
    @Test("parses mechanisms, qualifiers, prefix lengths and modifiers") func parsesEveryTerm() throws {
        let record = try SPFRecord.parse(
            "v=spf1 +all -include:_spf.example.com ~a ?a:mail.%{d}/24//64 mx/28 MX:example.org//0 ptr ptr:example.net "
                + "ip4:192.0.2.0/24 ip6:2001:DB8::/32 exists:%{ir}.%{v}._spf.%{d2} redirect=_spf.example.com "
                + "exp=explain._spf.%{d} Moo.Cow-far_out=man:dog/cat")
        let ip4 = try #require(IPAddress("192.0.2.0")), ip6 = try #require(IPAddress("2001:db8::"))
        let d = record.directives
        #expect(d.count == 11)
        #expect(d[0] == SPFRecord.Directive(.pass, .all))
        #expect(d[1].qualifier == .fail)
        #expect(d[1].mechanism == .include(try SPFMacroString.parse(Array("_spf.example.com".utf8), as: .domainSpec)))
        #expect(d[2] == SPFRecord.Directive(.softfail, .a(nil, .init())))
        #expect(d[3].qualifier == .neutral)
        if case .a(let domain?, let cidr) = d[3].mechanism {
            #expect(domain.description == "mail.%{d}")
            #expect(cidr == SPFRecord.DualCIDR(ip4: 24, ip6: 64))
        } else { Issue.record("a:mail.%{d}/24//64: \(d[3])") }
        #expect(d[4] == SPFRecord.Directive(.pass, .mx(nil, .init(ip4: 28))))
        #expect(d[5].description == "mx:example.org//0")
        #expect(d[6] == SPFRecord.Directive(.pass, .ptr(nil)))
        #expect(d[8] == SPFRecord.Directive(.pass, .ip4(ip4, prefixLength: 24)))
        #expect(d[9] == SPFRecord.Directive(.pass, .ip6(ip6, prefixLength: 32)))
        #expect(d.map(\.mechanism.causesDNSLookup) == [false, true, true, true, true, true, true, true, false, false, true])
        #expect(record.redirect?.description == "_spf.example.com")
        #expect(record.explanation?.description == "explain._spf.%{d}")
        #expect(record.terms.count == 14)
        guard case .modifier(.unknown(let name, let value)) = record.terms.last else { Issue.record("unknown modifier not kept"); return }
        #expect(name == "Moo.Cow-far_out" && value.description == "man:dog/cat")
    }

    @Test("the canonical text parses back to the same record", arguments: [
        "v=spf1",
        "v=spf1 -all",
        "V=SPF1   a  mx  -all   ",
        "v=spf1 a:foo:bar/baz.example.com a:example.com./24 mx:%{d}//64 ptr:%{p2}.example.org ?exists:%{l1r-}.%{D}",
        "v=spf1 ip4:10.0.0.0/8 ip6:::ffff:1.2.3.4 ip6:2001:db8::1 include:a.example.com default=%{s}%%%_%- exp=x.%{h}",
    ])
    func roundTrip(text: String) throws {
        let record = try SPFRecord.parse(text)
        #expect(try SPFRecord.parse(record.description) == record)
    }

    @Test("version: v=spf1 in any case, then a space or the end", arguments: [
        ("v=spf1", true), ("V=sPf1 -all", true), ("v=spf1 ", true), ("v=spf10", false), ("v=spf1\t-all", false),
        ("v=spf", false), (" v=spf1", false), ("spf2.0/pra", false), ("", false),
    ])
    func version(text: String, isSPF: Bool) {
        #expect(SPFRecord.isSPF(Array(text.utf8)) == isSPF)
    }

    /// Each is a `permerror` (RFC 7208 §4.6, §5, §6, §7.1).
    @Test("syntax errors are refused", arguments: [
        "v=spf1 ip4:1.2.3.4 -all moo",          // unknown mechanism anywhere
        "v=spf1 -all.", "v=spf1 -all:foobar", "v=spf1 -all/8",
        "v=spf1 redirect:example.com",           // a modifier written as a mechanism
        "v=spf1 moo.cow/far_out=man:dog/cat", "v=spf1 moo.cow:far_out=man:dog/cat",
        "v=spf1 1up=foo", "v=spf1 =all", "v=spf1 -redirect=example.com", "v=spf1 +",
        "v=spf1 a/33", "v=spf1 a//129", "v=spf1 a/24/64", "v=spf1 mx/032", "v=spf1 a:example.com/",
        "v=spf1 ip4", "v=spf1 ip4:1.2.3", "v=spf1 ip4:1.2.3.4:8080", "v=spf1 ip4:1.2.3.4/33", "v=spf1 ip4:1.2.3.4/032",
        "v=spf1 ip4:1.2.3.4//32", "v=spf1 ip4:01.2.3.4", "v=spf1 ip4:256.1.1.1", "v=spf1 ip4:::1",
        "v=spf1 ip6", "v=spf1 ip6::CAFE::BABE", "v=spf1 ip6:::1.1.1.1/129", "v=spf1 ip6:::1//33", "v=spf1 ip6:1.2.3.4",
        "v=spf1 include", "v=spf1 include:", "v=spf1 include:example.com/24", "v=spf1 exists", "v=spf1 exists:",
        "v=spf1 ptr/0", "v=spf1 ptr:", "v=spf1 a:", "v=spf1 mx:",
        "v=spf1 a:foo-bar", "v=spf1 a:museum", "v=spf1 a:museum.", "v=spf1 a:abc.123", "v=spf1 a:111.222.33.44",
        "v=spf1 a:example.-com", "v=spf1 a:example.com-", "v=spf1 a:example.com:8080", "v=spf1 a:%{d}.",
        "v=spf1 exists:%(ir).sbl.example.com", "v=spf1 exists:foo%.sbl.example.com", "v=spf1 a:foo.example.com%",
        "v=spf1 a:%{x}.example.com", "v=spf1 a:%{d0}.example.com", "v=spf1 a:%{d", "v=spf1 a:%{d2r!}.example.com",
        "v=spf1 exists:%{c}.example.com", "v=spf1 -all exp=%{r}.example.com", "v=spf1 a:%{t}.example.com",
        "v=spf1 foo=%abc", "v=spf1 redirect=", "v=spf1 exp=", "v=spf1 exp=-all", "v=spf1 redirect=-all",
        "v=spf1 redirect=a.example.com redirect=a.example.com", "v=spf1 exp=a.example.com -all exp=b.example.com",
        "v=spf1 a:ctrl.example.com\rptr -all", "v=spf1 ip4:192.0.2.5\n include:example.com",
        "v=spf1 a:\u{FEFF}garbage.example.net", "v=spf1 \u{80}a:example.net", "v=spf1 a:foo.example.com\0",
    ])
    func refuses(text: String) {
        #expect(throws: SPFRecord.ParseError.self, "\(text.debugDescription)") { try SPFRecord.parse(text) }
    }

    @Test("valid oddities: empty record, colon and slash in a domain, dashed top labels, macros at the end", arguments: [
        "v=spf1", "v=spf1 a:foo:bar/baz.example.com", "v=spf1 a:foo.example.xn--zckzah", "v=spf1 a:a.1-2",
        "v=spf1 exists:%{i}.%{l2r-}.user.%{d2}", "v=spf1 a:macro%%percent%_%_space%-url-space.example.com",
        "v=spf1 default=+", "v=spf1 default=", "v=spf1 a:.com", "v=spf1 include:o.spf.example.com.", "v=spf1 a:%{d}%%",
        "v=spf1 ip4:1.1.1.1/0 ip6:::/0 a/0//0", "v=spf1 a:%{d999999999999999999999}.example.com",
    ])
    func accepts(text: String) throws {
        _ = try SPFRecord.parse(text)
    }

    @Test("a record over the length limit is refused before it is read") func tooLong() {
        let long = "v=spf1" + String(repeating: " a", count: 3000)
        #expect(throws: SPFRecord.ParseError.self) { try SPFRecord.parse(long) }
        #expect(throws: Never.self) { try SPFRecord.parse(bytes: Array(long.utf8), maxLength: 10_000) }
    }

    @Test("errors name the problem") func errorText() {
        #expect(throws: SPFRecord.ParseError("unknown mechanism \"moo\"")) { try SPFRecord.parse("v=spf1 moo") }
        do { _ = try SPFRecord.parse("v=spf1 a:foo.example.com\r") } catch {
            #expect(error.reason.contains("control character"), "\(error)")
        }
    }
}
