import Foundation
import Testing
import MailCore

@Suite("Domain")
struct DomainTests {
    @Test("valid domains: input → (ascii, unicode)", arguments: [
        ("example.com", "example.com", "example.com"),
        ("Example.COM", "example.com", "example.com"),
        ("example.com.", "example.com", "example.com"),
        ("localhost", "localhost", "localhost"),
        ("mail-1.a-b.example", "mail-1.a-b.example", "mail-1.a-b.example"),
        ("1.example", "1.example", "1.example"),
        ("bücher.example", "xn--bcher-kva.example", "bücher.example"),
        ("BÜCHER.example", "xn--bcher-kva.example", "bücher.example"),
        ("bu\u{0308}cher.example", "xn--bcher-kva.example", "bücher.example"),  // NFD input
        ("xn--bcher-kva.example", "xn--bcher-kva.example", "bücher.example"),
        ("XN--BCHER-KVA.Example", "xn--bcher-kva.example", "bücher.example"),
        ("münchen.de", "xn--mnchen-3ya.de", "münchen.de"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah", "例え.テスト"),
        ("xn--r8jz45g.xn--zckzah", "xn--r8jz45g.xn--zckzah", "例え.テスト"),
        ("例え。テスト", "xn--r8jz45g.xn--zckzah", "例え.テスト"),  // ideographic full stop
        ("пример.испытание", "xn--e1afmkfd.xn--80akhbyknj4f", "пример.испытание"),
        ("straße.de", "xn--strae-oqa.de", "straße.de"),
        ("ΕΛΛΗΝΙΚΆ.gr", "xn--hxargifdar.gr", "ελληνικά.gr"),
        ("r3---sn-abc.example", "r3---sn-abc.example", "r3---sn-abc.example"),
        (String(repeating: "a", count: 63) + ".example", String(repeating: "a", count: 63) + ".example",
         String(repeating: "a", count: 63) + ".example"),
    ])
    func valid(input: String, ascii: String, unicode: String) throws {
        let domain = try Domain(input)
        #expect(domain.ascii == ascii)
        #expect(domain.unicode == unicode)
        #expect(domain.description == unicode)
        #expect(try Domain(domain.ascii) == domain)
        #expect(try Domain(domain.unicode) == domain)
    }

    @Test("invalid domains", arguments: [
        ("", "empty domain"),
        (".", "empty domain"),
        ("example..com", "empty label"),
        (".example.com", "empty label"),
        ("exa mple.com", "contains a space"),
        ("exa_mple.com", "contains '_'"),
        ("-example.com", "hyphen"),
        ("example-.com", "hyphen"),
        (String(repeating: "a", count: 64) + ".com", "longer than 63"),
        ("example.123", "all-numeric"),
        ("[192.0.2.1]", "address literals"),
        ("xn--.example", "hyphen"),
        ("xn--zz!.example", "contains '!'"),
        ("xn--99999999999999999.example", "not valid Punycode"),
        ("xn--abc-.example", "hyphen"),
        ("xn--ab-cde.example", "does not decode to a valid U-label"),
        ("☃.example", "disallowed character U+2603"),
        ("😀.example", "disallowed character"),
        ("ｅｘａｍｐｌｅ.com", "compatibility"),
        ("\u{0301}a.example", "combining mark"),
        ("ab--ü.example", "third and fourth"),
        ("a\u{200B}b.example", "disallowed character"),
        (String(repeating: String(repeating: "a", count: 63) + ".", count: 4) + "com", "longer than 253"),
        (String(repeating: "ü", count: 60) + ".example", "longer than 63 octets in A-label form"),
        ("ü" + String(repeating: "a", count: 60) + ".example", "longer than 63 octets in A-label form"),
        (String(repeating: "ü", count: 100_000), "longer than 253 octets"),
    ])
    func invalid(input: String, reason: String) {
        #expect {
            _ = try Domain(input)
        } throws: { error in
            guard let error = error as? AddressError else { return false }
            return error.kind == .domain && error.description.unicodeScalars.starts(with: "invalid domain '".unicodeScalars)
                && error.reason.contains(reason)
        }
    }

    @Test("253 octets is the limit")
    func maxLength() throws {
        let label = String(repeating: "a", count: 61)
        let name = [label, label, label, label].joined(separator: ".") + ".abcde"  // 4×62 + 5 = 253
        #expect(name.utf8.count == 253)
        #expect(try Domain(name).ascii == name)
        #expect(throws: AddressError.self) { try Domain(name + "h") }
    }

    @Test("equal, hashed and ordered by the A-label form")
    func equality() throws {
        let a = try Domain("Bücher.Example"), b = try Domain("xn--bcher-kva.example.")
        #expect(a == b)
        #expect(Set([a, b]).count == 1)
        #expect(try [Domain("b.example"), Domain("a.example")].sorted().map(\.ascii) == ["a.example", "b.example"])
    }

    @Test("Codable as one string, either form decodes")
    func codable() throws {
        let domain = try Domain("münchen.de")
        let data = try JSONEncoder().encode([domain])
        #expect(String(decoding: data, as: UTF8.self) == #"["münchen.de"]"#)
        #expect(try JSONDecoder().decode([Domain].self, from: data) == [domain])
        #expect(try JSONDecoder().decode([Domain].self, from: Data(#"["XN--MNCHEN-3YA.DE"]"#.utf8)) == [domain])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Domain].self, from: Data(#"["a..b"]"#.utf8)) }
    }

    @Test("error messages escape control characters")
    func errorMessage() {
        let error = AddressError(.domain, "bad\nname", "x")
        #expect(error.description == #"invalid domain 'bad\u{a}name': x"#)
    }
}
