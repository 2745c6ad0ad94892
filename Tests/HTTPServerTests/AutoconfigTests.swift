import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Hummingbird
import HummingbirdTesting
import MailCore
import Testing
@testable import HTTPServer

@Suite struct AutoconfigTests {
    static let setup = MailClientSetup(hostname: "mail.example.com.", ports: .standard)

    static func server(setup: MailClientSetup = setup) -> HTTPServer {
        var dependencies = HTTPServer.Dependencies()
        dependencies.autoconfig.setup = { setup }
        dependencies.autoconfig.hostsDomain = { $0.ascii == "example.com" || $0.ascii == "x-y.example" }
        return HTTPServer(configuration: .init(), dependencies: dependencies, logger: .init(label: "test"))
    }

    /// The text of every element named `name`, in document order.
    static func texts(_ document: XMLDocument, _ xpath: String) throws -> [String] {
        try document.nodes(forXPath: xpath).map { $0.stringValue ?? "" }
    }

    @Test func thunderbirdConfigParsesWithImplicitTLSFirst() throws {
        let xml = Self.setup.thunderbirdConfig(domain: "example.com")
        let document = try XMLDocument(xmlString: xml)
        #expect(try Self.texts(document, "/clientConfig/emailProvider/@id") == ["example.com"])
        #expect(try Self.texts(document, "//incomingServer/@type") == ["imap", "imap", "pop3", "pop3"])
        #expect(try Self.texts(document, "//incomingServer/hostname") == Array(repeating: "mail.example.com", count: 4))
        #expect(try Self.texts(document, "//incomingServer/port") == ["993", "143", "995", "110"])
        #expect(try Self.texts(document, "//incomingServer/socketType") == ["SSL", "STARTTLS", "SSL", "STARTTLS"])
        #expect(try Self.texts(document, "//outgoingServer/port") == ["465", "587"])
        #expect(try Self.texts(document, "//outgoingServer/socketType") == ["SSL", "STARTTLS"])
        #expect(try Self.texts(document, "//incomingServer/username").allSatisfy { $0 == "%EMAILADDRESS%" })
    }

    @Test func listenersThatAreOffAreLeftOut() throws {
        let setup = MailClientSetup(hostname: "mx.example.org", ports: .init(imaps: 993, submission: 587))
        let document = try XMLDocument(xmlString: setup.thunderbirdConfig(domain: "example.org"))
        #expect(try Self.texts(document, "//incomingServer/port") == ["993"])
        #expect(try Self.texts(document, "//outgoingServer/socketType") == ["STARTTLS"])
        let discover = try XMLDocument(xmlString: setup.autodiscoverResponse(address: "a@example.org"))
        #expect(try Self.texts(discover, "//*[local-name()='Protocol']/*[local-name()='Encryption']") == ["SSL", "TLS"])
    }

    @Test func xmlIsEscaped() throws {
        let setup = MailClientSetup(hostname: "a&b<c>.example", ports: .standard)
        let xml = setup.thunderbirdConfig(domain: "\"quoted\"&<d>")
        #expect(!xml.contains("a&b<c>"))
        let document = try XMLDocument(xmlString: xml)
        #expect(try Self.texts(document, "/clientConfig/emailProvider/@id") == ["\"quoted\"&<d>"])
        #expect(try Self.texts(document, "//incomingServer/hostname").first == "a&b<c>.example")
        let discover = try XMLDocument(xmlString: setup.autodiscoverResponse(address: "o'neil&co@example.com"))
        #expect(try Self.texts(discover, "//*[local-name()='LoginName']").first == "o'neil&co@example.com")
        #expect(XMLText.escape("a\u{1}b") == "ab")
    }

    @Test func autodiscoverRequestAddress() {
        let body = """
            <?xml version="1.0" encoding="utf-8"?>
            <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
              <Request><EMailAddress> user@example.com </EMailAddress>
              <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
              </Request>
            </Autodiscover>
            """
        #expect(MailClientSetup.autodiscoverRequestAddress(body) == "user@example.com")
        #expect(MailClientSetup.autodiscoverRequestAddress("<EMailAddress></EMailAddress>") == nil)
        #expect(MailClientSetup.autodiscoverRequestAddress("<Autodiscover/>") == nil)
        #expect(MailClientSetup.autodiscoverRequestAddress("<EMailAddress>a&amp;b@example.com</EMailAddress>") == "a&b@example.com")
    }

    @Test func mobileConfigIsAPropertyListWithoutAPassword() throws {
        let data = try Self.setup.mobileConfig(address: "user@example.com")
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("<plist"))
        #expect(!text.lowercased().contains("password</key>\n\t\t\t<string"))
        let plist = try #require(try PropertyListSerialization.propertyList(from: data, format: nil) as? [String: Any])
        #expect(plist["PayloadType"] as? String == "Configuration")
        let account = try #require((plist["PayloadContent"] as? [[String: Any]])?.first)
        #expect(account["PayloadType"] as? String == "com.apple.mail.managed")
        #expect(account["EmailAccountType"] as? String == "EmailTypeIMAP")
        #expect(account["IncomingMailServerHostName"] as? String == "mail.example.com")
        #expect(account["IncomingMailServerPortNumber"] as? Int == 993)
        #expect(account["OutgoingMailServerPortNumber"] as? Int == 465)
        #expect(account["IncomingMailServerUsername"] as? String == "user@example.com")
        #expect(account["IncomingPassword"] == nil && account["OutgoingPassword"] == nil)
    }

    @Test func thunderbirdRoutesAnswerForHostedDomainsOnly() async throws {
        let app = Application(router: Self.server().makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=user%40example.com", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/xml") == true)
                let document = try XMLDocument(xmlString: String(buffer: response.body))
                #expect(try Self.texts(document, "//domain") == ["example.com"])
            }
            try await client.execute(uri: "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=user%40elsewhere.org", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=not-an-address", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func theAutoconfigHostNamesTheDomain() throws {
        #expect(try HTTPServer.autoconfigDomain(emailAddress: nil, authority: "autoconfig.x-y.example").ascii == "x-y.example")
        #expect(try HTTPServer.autoconfigDomain(emailAddress: nil, authority: "AUTOCONFIG.Example.COM:443").ascii == "example.com")
        #expect(try HTTPServer.autoconfigDomain(emailAddress: "a@b.example", authority: "autoconfig.x-y.example").ascii == "b.example")
        #expect(throws: HTTPAPIError.self) { try HTTPServer.autoconfigDomain(emailAddress: nil, authority: "www.example.com") }
        #expect(throws: HTTPAPIError.self) { try HTTPServer.autoconfigDomain(emailAddress: nil, authority: nil) }
    }

    @Test func autodiscoverRoutes() async throws {
        let app = Application(router: Self.server().makeRouter())
        let request = { @Sendable (address: String) in
            ByteBuffer(string: """
                <?xml version="1.0" encoding="utf-8"?>
                <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
                <Request><EMailAddress>\(address)</EMailAddress>
                <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
                </Request></Autodiscover>
                """)
        }
        try await app.test(.router) { client in
            for path in ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"] {
                try await client.execute(uri: path, method: .post, body: request("user@example.com")) { response in
                    #expect(response.status == .ok)
                    let document = try XMLDocument(xmlString: String(buffer: response.body))
                    #expect(try Self.texts(document, "//*[local-name()='Protocol']/*[local-name()='Type']") == ["IMAP", "SMTP"])
                    #expect(try Self.texts(document, "//*[local-name()='Protocol']/*[local-name()='Port']") == ["993", "465"])
                    #expect(try Self.texts(document, "//*[local-name()='Protocol']/*[local-name()='Server']") == ["mail.example.com", "mail.example.com"])
                    #expect(try Self.texts(document, "//*[local-name()='LoginName']").first == "user@example.com")
                }
            }
            try await client.execute(uri: "/autodiscover/autodiscover.xml", method: .post, body: request("user@elsewhere.org")) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/autodiscover/autodiscover.xml", method: .post, body: ByteBuffer(string: "<x/>")) { response in
                #expect(response.status == .badRequest)
            }
            let big = ByteBuffer(string: String(repeating: "x", count: MailClientSetup.maxRequestBytes + 1))
            try await client.execute(uri: "/autodiscover/autodiscover.xml", method: .post, body: big) { response in
                #expect(response.status == .contentTooLarge)
            }
        }
    }
}
