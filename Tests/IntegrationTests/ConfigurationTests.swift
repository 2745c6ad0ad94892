import Foundation
import SealboxApp
import Testing

@Suite("configuration: flags over environment over file over defaults")
struct ConfigurationTests {
    @Test("precedence and the environment variable names")
    func precedence() async throws {
        let dir = NSTemporaryDirectory() + "sealbox-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(#"{"imap": {"port": 2143, "idleTimeout": 900}, "imaps": {"port": 2993}, "listen": {"address": "::1"}}"#.utf8)
            .write(to: URL(fileURLWithPath: dir + "/sealbox.json"))
        let environment = ["SEALBOX_IMAPS_PORT": "3993", "SEALBOX_IMAP_ALLOW_INSECURE_AUTH": "true",
                           "SEALBOX_IMAP_MAX_CONNECTIONS_PER_IP": "7", "SEALBOX_SERVER_HOSTNAME": "mail.example.com"]
        let c = try await SealboxConfiguration.load(overrides: ["data.directory": dir, "imap.port": "0"], configFile: nil, environment: environment)
        #expect(c.imapPort == 0)                       // flag over file
        #expect(c.imapsPort == 3993)                   // environment over file
        #expect(c.listenAddress == "::1")              // file over default
        #expect(c.imapIdleTimeout == .seconds(900))
        #expect(c.imapAllowInsecureAuth)
        #expect(c.imapMaxConnectionsPerIP == 7)
        #expect(c.hostname == "mail.example.com")
        #expect(c.appendLimit == 64 * 1024 * 1024)     // default
    }

    @Test("invalid values are clear errors naming the key")
    func invalid() async throws {
        await #expect { try await SealboxConfiguration.load(overrides: ["imap.port": "abc"], configFile: nil, environment: [:]) } throws: { error in
            "\(error)".contains("imap.port")
        }
        await #expect { try await SealboxConfiguration.load(overrides: ["imaps.port": "70000"], configFile: nil, environment: [:]) } throws: { error in
            "\(error)".contains("imaps.port") && "\(error)".contains("range")
        }
        await #expect { try await SealboxConfiguration.load(overrides: [:], configFile: nil, environment: ["SEALBOX_IMAP_ALLOW_INSECURE_AUTH": "maybe"]) } throws: { error in
            "\(error)".contains("imap.allowInsecureAuth")
        }
        await #expect { try await SealboxConfiguration.load(overrides: ["tls.certificate": "/x.pem"], configFile: nil, environment: [:]) } throws: { error in
            "\(error)".contains("tls.key")
        }
        await #expect(throws: (any Error).self) { try await SealboxConfiguration.load(overrides: [:], configFile: "/nonexistent/sealbox.json", environment: [:]) }
    }
}
