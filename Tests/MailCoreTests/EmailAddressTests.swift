import Foundation
import Testing
import MailCore

@Suite("EmailAddress")
struct EmailAddressTests {
    @Test("valid addresses: input → (localPart, domain.ascii, canonical, description)", arguments: [
        ("hello@example.com", "hello", "example.com", "hello@example.com", "hello@example.com"),
        ("Hello@Example.COM", "Hello", "example.com", "hello@example.com", "Hello@example.com"),
        ("first.last@example.com", "first.last", "example.com", "first.last@example.com", "first.last@example.com"),
        ("a+tag@example.com", "a+tag", "example.com", "a+tag@example.com", "a+tag@example.com"),
        ("!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~", "example.com",
         "!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com"),
        ("user@example.com.", "user", "example.com", "user@example.com", "user@example.com"),
        // Quoted local parts: quotes dropped when not needed, kept (minimally escaped) when needed.
        ("\"abc\"@example.com", "abc", "example.com", "abc@example.com", "abc@example.com"),
        ("\"John Doe\"@example.com", "\"John Doe\"", "example.com", "\"john doe\"@example.com", "\"John Doe\"@example.com"),
        ("\"a@b\"@example.com", "\"a@b\"", "example.com", "\"a@b\"@example.com", "\"a@b\"@example.com"),
        ("\"a\\\"b\"@example.com", "\"a\\\"b\"", "example.com", "\"a\\\"b\"@example.com", "\"a\\\"b\"@example.com"),
        ("\"a\\b\"@example.com", "ab", "example.com", "ab@example.com", "ab@example.com"),  // needless escape
        ("\"a..b\"@example.com", "\"a..b\"", "example.com", "\"a..b\"@example.com", "\"a..b\"@example.com"),
        // RFC 6531 UTF-8 local parts, NFC-normalised; IDNA domains both ways.
        ("用户@例子.广告", "用户", "xn--fsqu00a.xn--4rr70v", "用户@xn--fsqu00a.xn--4rr70v", "用户@例子.广告"),
        ("Ünïcödé@bücher.example", "Ünïcödé", "xn--bcher-kva.example", "ünïcödé@xn--bcher-kva.example",
         "Ünïcödé@bücher.example"),
        ("U\u{0308}ber@example.com", "Über", "example.com", "über@example.com", "Über@example.com"),  // NFD in
        ("hans@xn--mnchen-3ya.de", "hans", "xn--mnchen-3ya.de", "hans@xn--mnchen-3ya.de", "hans@münchen.de"),
        ("δοκιμή@παράδειγμα.δοκιμή", "δοκιμή", "xn--hxajbheg2az3al.xn--jxalpdlp",
         "δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp", "δοκιμή@παράδειγμα.δοκιμή"),
    ])
    func valid(input: String, localPart: String, domain: String, canonical: String, description: String) throws {
        let address = try EmailAddress(input)
        #expect(address.localPart == localPart)
        #expect(address.domain.ascii == domain)
        #expect(address.canonical == canonical)
        #expect(address.description == description)
        // Both printed forms parse back to the same address.
        #expect(try EmailAddress(address.description) == address)
        #expect(try EmailAddress(address.asciiDomainForm).localPart == address.localPart)
    }

    @Test("invalid addresses", arguments: [
        ("", "empty address"),
        ("x", "missing @"),
        ("hello.example.com", "missing @"),
        ("@example.com", "empty local part"),
        ("hello@", "missing domain"),
        ("a@b@example.com", "more than one @"),
        (".hello@example.com", "starts or ends with a dot"),
        ("hello.@example.com", "starts or ends with a dot"),
        ("hel..lo@example.com", "consecutive dots"),
        ("hel lo@example.com", "whitespace"),
        (" hello@example.com", "whitespace"),
        ("hello@example.com ", "domain: contains a space"),
        ("<hello@example.com>", "'<'"),
        ("hel(lo)@example.com", "'('"),
        ("a,b@example.com", "','"),
        ("a\u{0}b@example.com", "U+0"),
        ("a\u{85}b@example.com", "U+85"),
        ("a\u{200B}b@example.com", "U+200B"),
        ("a\u{3000}b@example.com", "U+3000"),
        ("\"\"@example.com", "empty local part"),
        ("\"abc@example.com", "unterminated"),
        ("\"abc\"x@example.com", "unexpected text"),
        ("\"abc\"", "missing @"),
        ("\"a\u{7}b\"@example.com", "control character"),
        ("\"a\\\u{0}\"@example.com", "invalid escape"),
        ("hello@exa_mple.com", "domain: label 'exa_mple' contains '_'"),
        ("hello@[192.0.2.1]", "address literals"),
        ("hello@-x.com", "hyphen"),
        (String(repeating: "a", count: 65) + "@example.com", "local part longer than 64 octets"),
        (String(repeating: "é", count: 33) + "@example.com", "local part longer than 64 octets"),  // 66 octets
        (String(repeating: "a", count: 1_000_000) + "@example.com", "longer than 254 octets"),
        ("\"" + String(repeating: " ", count: 100) + "\"@example.com", "local part longer than 64 octets"),
        (String(repeating: "a", count: 64) + "@" + String(repeating: String(repeating: "b", count: 62) + ".", count: 2)
            + String(repeating: "b", count: 56) + ".example", "longer than 254 octets"),
    ])
    func invalid(input: String, reason: String) {
        #expect {
            _ = try EmailAddress(input)
        } throws: { error in
            guard let error = error as? AddressError else { return false }
            return error.kind == .address && error.reason.contains(reason)
        }
    }

    @Test("error message is one clear line")
    func message() {
        #expect {
            _ = try EmailAddress("x")
        } throws: { error in
            (error as? AddressError)?.description == "invalid address 'x': missing @"
        }
    }

    @Test("the length limits are inclusive")
    func limits() throws {
        let local = String(repeating: "a", count: 64)
        #expect(try EmailAddress(local + "@example.com").localPart == local)
        // 64 + 1 + 189 = 254
        let domain = String(repeating: String(repeating: "b", count: 62) + ".", count: 2) + String(repeating: "b", count: 55) + ".example"
        #expect(domain.utf8.count == 189)
        #expect(try EmailAddress(local + "@" + domain).canonical.utf8.count == 254)
    }

    @Test("equality and hashing use the canonical form")
    func equality() throws {
        let a = try EmailAddress("Hello@Bücher.Example"), b = try EmailAddress("hello@xn--bcher-kva.example")
        #expect(a == b)
        #expect(Set([a, b]).count == 1)
        #expect(try EmailAddress("\"hello\"@example.com") == EmailAddress("hello@example.com"))
        #expect(try EmailAddress("hello@example.com") != EmailAddress("hello@example.org"))
    }

    @Test("plus-addressing base", arguments: [
        ("hello+tag@example.com", "hello@example.com", "tag"),
        ("Hello+Tag+More@Example.com", "Hello@example.com", "Tag+More"),
        ("hello+@example.com", "hello@example.com", ""),
        ("a.b+c.d@bücher.example", "a.b@xn--bcher-kva.example", "c.d"),
        ("hello@example.com", nil, nil),
        ("+tag@example.com", nil, nil),
        ("\"john doe+tag\"@example.com", nil, nil),
        ("a.+tag@example.com", nil, nil),  // "a." is not a valid local part
    ] as [(String, String?, String?)])
    func subaddress(input: String, base: String?, tag: String?) throws {
        let address = try EmailAddress(input)
        #expect(address.subaddressBase?.asciiDomainForm == base)
        #expect(address.subaddressTag == tag)
    }

    @Test("Codable as one display string")
    func codable() throws {
        let address = try EmailAddress("Hans@xn--mnchen-3ya.de")
        let data = try JSONEncoder().encode([address])
        #expect(String(decoding: data, as: UTF8.self) == #"["Hans@münchen.de"]"#)
        let decoded = try JSONDecoder().decode([EmailAddress].self, from: data)
        #expect(decoded == [address])
        #expect(decoded[0].localPart == "Hans")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([EmailAddress].self, from: Data(#"["nope"]"#.utf8)) }
    }
}
