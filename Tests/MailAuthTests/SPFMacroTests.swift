import DNSCore
import MailAuth
import Testing

@Suite struct SPFMacroTests {
    /// RFC 7208 §7.4's context.
    static func context(ip: String = "192.0.2.3", validatedName: String = "mx.example.org") -> SPFMacroContext {
        SPFMacroContext(sender: "strong-bad@email.example.com", domain: "email.example.com", ip: IPAddress(ip)!,
                        helo: "mx.example.org", validatedName: validatedName, receivingHost: "mx.example.net", timestamp: 1_700_000_000)
    }

    static func expand(_ text: String, _ kind: SPFMacroString.Kind = .domainSpec, _ context: SPFMacroContext = context()) throws -> String {
        let string = try SPFMacroString.parse(Array(text.utf8), as: kind)
        return String(decoding: try #require(string.expand(context, maxLength: 8192)), as: UTF8.self)
    }

    @Test("RFC 7208 §7.4's examples", arguments: [
        ("%{s}", "strong-bad@email.example.com"), ("%{o}", "email.example.com"), ("%{d}", "email.example.com"),
        ("%{d4}", "email.example.com"), ("%{d3}", "email.example.com"), ("%{d2}", "example.com"), ("%{d1}", "com"),
        ("%{dr}", "com.example.email"), ("%{d2r}", "example.email"), ("%{l}", "strong-bad"), ("%{l-}", "strong.bad"),
        ("%{lr}", "strong-bad"), ("%{lr-}", "bad.strong"), ("%{l1r-}", "strong"),
        ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
        ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
        ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
        ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
        ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
    ])
    func rfcExamples(macro: String, expansion: String) throws {
        #expect(try Self.expand(macro) == expansion)
    }

    @Test("RFC 7208 §7.4's IPv6 example") func ipv6Example() throws {
        #expect(try Self.expand("%{ir}.%{v}._spf.%{d2}", .domainSpec, Self.context(ip: "2001:db8::cb01"))
            == "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com")
    }

    @Test("escapes, p, h, upper case, delimiters, explanation-only letters") func otherMacros() throws {
        #expect(try Self.expand("a%%b%_c%-d.example.com") == "a%b c%20d.example.com")
        #expect(try Self.expand("%{p}") == "mx.example.org")
        #expect(try Self.expand("%{p2}.trusted.example.net.") == "example.org.trusted.example.net.")
        #expect(try Self.expand("%{h}") == "mx.example.org")
        #expect(try Self.expand("%{d99}") == "email.example.com")
        #expect(try Self.expand("%{d999999999999999999999999}") == "email.example.com")
        #expect(try Self.expand("%{l2r+-}.x.com", .domainSpec, SPFMacroContext(sender: "foo-bar+zip+quux@e12.example.com",
                                                                                domain: "e12.example.com", ip: IPAddress("1.2.3.4")!, helo: "h"))
            == "bar.foo.x.com")
        let jack = SPFMacroContext(sender: "~jack&jill=up-a_b3.c@e8.example.com", domain: "e8.example.com", ip: IPAddress("1.2.3.4")!, helo: "h")
        #expect(try Self.expand("l=%{L}", .explanation, jack) == "l=~jack%26jill%3Dup-a_b3.c")
        #expect(try Self.expand("%{S}", .domainSpec, jack) == "~jack%26jill%3Dup-a_b3.c%40e8.example.com")
        #expect(try Self.expand("%{c} %{r} %{t} %{C}", .explanation, Self.context(ip: "2001:db8::cb01"))
            == "2001:db8::cb01 mx.example.net 1700000000 2001%3Adb8%3A%3Acb01")
        #expect(try Self.expand("%{v} %{i}", .explanation) == "in-addr 192.0.2.3")
        let noLocal = SPFMacroContext(sender: "@email.example.com", domain: "email.example.com", ip: IPAddress("1.2.3.4")!, helo: "h")
        #expect(try Self.expand("%{l}", .explanation, noLocal) == "postmaster")
        #expect(throws: SPFRecord.ParseError.self) { try Self.expand("%{c}.example.com") }
        #expect(throws: SPFRecord.ParseError.self) { try Self.expand("a b.example.com") }
        #expect(try Self.expand("The %{d}  file.", .explanation) == "The email.example.com  file.")
    }

    @Test("expansion stops at the length limit") func expansionLimit() throws {
        let many = try SPFMacroString.parse(Array(String(repeating: "%{s}", count: 500).utf8) + Array(".com".utf8), as: .domainSpec)
        #expect(many.expand(Self.context(), maxLength: 8192) == nil)
        #expect(many.expand(Self.context(), maxLength: 20_000)?.count == 500 * 28 + 4)
    }

    @Test("target names: final dot dropped, cut to 253 bytes from the left, raw labels") func targetNames() throws {
        #expect(SPFMacroString.targetName(Array("example.com.".utf8)) == (try DNSName("example.com")))
        let long = String(repeating: "somewhat.long.exp.example.com.", count: 8) + "example.com"
        let cut = try #require(SPFMacroString.targetName(Array(("foobar." + long).utf8)))
        #expect(cut == (try DNSName(long)))
        #expect(cut.description.utf8.count == 251)
        #expect(SPFMacroString.targetName(Array("macro%percent  space%20url-space.example.com".utf8))?.labels.first
            == Array("macro%percent  space%20url-space".utf8))
        #expect(SPFMacroString.targetName(Array("mail.example...com".utf8)) == nil)
        #expect(SPFMacroString.targetName(Array((String(repeating: "a", count: 64) + ".example.com").utf8)) == nil)
        #expect(SPFMacroString.targetName(Array(".".utf8)) == nil)
        #expect(SPFMacroString.targetName([]) == nil)
    }
}
