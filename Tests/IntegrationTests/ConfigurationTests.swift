import Configuration
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
        let c = try await SealboxConfiguration.load(overrides: ["data.directory": dir, "imap.port": "auto"], configFile: nil, environment: environment)
        #expect(c.imap.port == .auto)                       // flag over file
        #expect(c.imap.implicitTLSPort == .fixed(3993))     // environment over file
        #expect(c.node.listenAddress == "::1")              // file over default
        #expect(c.imap.idleTimeout == .seconds(900))
        #expect(c.imap.allowInsecureAuth)
        #expect(c.imap.maxConnectionsPerIP == 7)
        #expect(c.node.hostname == "mail.example.com")
        #expect(c.imap.appendLimit == 64 * 1024 * 1024)     // default
    }

    @Test("POP3 keys: ports from the environment, policy inherited from IMAP unless set, pop3.enabled")
    func pop3() async throws {
        let environment = ["SEALBOX_POP3_PORT": "2110", "SEALBOX_POP3S_PORT": "2995", "SEALBOX_IMAP_ALLOW_INSECURE_AUTH": "true",
                           "SEALBOX_IMAP_MAX_CONNECTIONS_PER_IP": "9"]
        let c = try await SealboxConfiguration.load(overrides: ["data.directory": "/nonexistent-sealbox"], configFile: nil, environment: environment)
        #expect(c.pop3.enabled)
        #expect(c.pop3.port == .fixed(2110))
        #expect(c.pop3.implicitTLSPort == .fixed(2995))
        #expect(c.pop3.allowInsecureAuth)               // follows imap.allowInsecureAuth
        #expect(c.pop3.maxConnectionsPerIP == 9)        // follows imap.maxConnectionsPerIP
        #expect(c.pop3.idleTimeout == .seconds(600))    // RFC 1939's minimum autologout timer
        let d = try await SealboxConfiguration.load(
            overrides: ["data.directory": "/nonexistent-sealbox", "pop3.allowInsecureAuth": "false", "pop3.enabled": "no"],
            configFile: nil, environment: environment)
        #expect(!d.pop3.allowInsecureAuth && d.imap.allowInsecureAuth)
        #expect(!d.pop3.enabled)
        let defaults = try await SealboxConfiguration.load(overrides: ["data.directory": "/nonexistent-sealbox"], configFile: nil, environment: [:])
        #expect(defaults.pop3.port == .fixed(geteuid() == 0 ? 110 : 1110))
        #expect(defaults.pop3.implicitTLSPort == .fixed(geteuid() == 0 ? 995 : 1995))
        await #expect { try await SealboxConfiguration.load(overrides: ["pop3.idleTimeout": "60"], configFile: nil, environment: [:]) } throws: { error in
            "\(error)".contains("pop3.idleTimeout") && "\(error)".contains("range")
        }
    }

    @Test("listener ports: 0 or off turns one listener off, auto is any free port, from flags, environment and file")
    func listenerPorts() async throws {
        let dir = NSTemporaryDirectory() + "sealbox-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(#"{"pop3": {"port": 0}, "pop3s": {"port": "off"}, "imaps": {"port": "auto"}, "smtp": {"port": 2526}}"#.utf8)
            .write(to: URL(fileURLWithPath: dir + "/sealbox.json"))
        let file = try await SealboxConfiguration.load(overrides: ["data.directory": dir], configFile: nil, environment: [:])
        #expect(file.pop3.port == .off && file.pop3.implicitTLSPort == .off)
        #expect(file.imap.implicitTLSPort == .auto && file.smtp.port == .fixed(2526))
        #expect(file.imap.port == .fixed(geteuid() == 0 ? 143 : 1143))   // default
        let flags = try await SealboxConfiguration.load(
            overrides: ["data.directory": dir, "imap.port": " AUTO ", "pop3.port": "1110", "pop3s.port": "OFF", "smtp.port": "0"],
            configFile: nil, environment: ["SEALBOX_IMAPS_PORT": "0"])
        #expect(flags.imap.port == .auto && flags.imap.implicitTLSPort == .off)
        #expect(flags.pop3.port == .fixed(1110) && flags.pop3.implicitTLSPort == .off && flags.smtp.port == .off)
        // in MailNet's terms: no listener, or port 0 for the system to choose
        #expect(ListenerPort.off.bindPort == nil && ListenerPort.auto.bindPort == 0 && ListenerPort.fixed(993).bindPort == 993)
        for (key, value, says) in [("imap.port", "on", "is not a port"), ("pop3s.port", "-1", "out of range"),
                                   ("smtp.port", "65536", "out of range"), ("imaps.port", "99.5", "is not a port"), ("pop3.port", "any", "is not a port")] {
            await #expect { try await SealboxConfiguration.load(overrides: [key: value], configFile: nil, environment: [:]) } throws: { error in
                let text = "\(error)"
                return text.contains("configuration \(key) = ") && text.contains(says) && text.contains("0 or off (no listener), or auto (any free port)")
            }
        }
    }

    @Test("backup keys: the environment names of the issue, secrets required for s3, generations and interval")
    func backup() async throws {
        let environment = ["SEALBOX_BACKUP_DESTINATION": "s3://bucket/prefix", "SEALBOX_BACKUP_S3_ENDPOINT": "http://127.0.0.1:9000",
                           "SEALBOX_BACKUP_S3_REGION": "eu-west-3", "SEALBOX_BACKUP_S3_ACCESS_KEY_ID": "AKID",
                           "SEALBOX_BACKUP_S3_SECRET_ACCESS_KEY": "s3cr3t", "SEALBOX_BACKUP_S3_PATH_STYLE": "true",
                           "SEALBOX_BACKUP_GENERATIONS": "3", "SEALBOX_BACKUP_INTERVAL": "3600"]
        let c = try await SealboxConfiguration.load(overrides: ["data.directory": "/nonexistent-sealbox"], configFile: nil, environment: environment)
        #expect(c.backup.destination == "s3://bucket/prefix")
        #expect(c.backup.s3Endpoint == "http://127.0.0.1:9000")
        #expect(c.backup.s3Region == "eu-west-3")
        #expect(c.backup.s3AccessKeyID == "AKID")
        #expect(c.backup.s3SecretAccessKey == "s3cr3t")
        #expect(c.backup.s3PathStyle)
        #expect(c.backup.generations == 3)
        #expect(c.backup.interval == .seconds(3600))
        let defaults = try await SealboxConfiguration.load(overrides: ["data.directory": "/nonexistent-sealbox"], configFile: nil, environment: [:])
        #expect(defaults.backup.destination == nil && defaults.backup.generations == 7 && defaults.backup.interval == .seconds(86_400))
        await #expect { try await SealboxConfiguration.load(overrides: ["backup.destination": "s3://b/p"], configFile: nil, environment: [:]) } throws: { error in
            "\(error)".contains("backup.s3.secretAccessKey")
        }
        await #expect { try await SealboxConfiguration.load(overrides: ["backup.destination": "/tmp/x"], configFile: nil, environment: [:]) } throws: { error in
            "\(error)".contains("file:///PATH")
        }
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

    @Test("docs/configuration-reference.md is what the settings' definitions generate (regenerate: sealbox config reference)")
    func referenceIsCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try String(contentsOf: root.appendingPathComponent("docs/configuration-reference.md"), encoding: .utf8)
        #expect(file == SealboxConfiguration.referenceMarkdown,
                "docs/configuration-reference.md is stale: run .build/debug/sealbox config reference > docs/configuration-reference.md")
    }

    @Test("every key is defined once, and the environment variable the reference names reaches it")
    func catalog() async throws {
        let keys = SealboxConfiguration.sections.flatMap { $0.keys }
        #expect(Set(keys.map(\.name)).count == keys.count)
        #expect(keys.count >= 49)
        for key in keys {
            let name = key.environmentName
            #expect(name.hasPrefix("SEALBOX_"))
            let reader = ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: [String(name.dropFirst(8)): "1"]))
            #expect(reader.string(forKey: ConfigKey(key.name)) == "1", "\(key.name) is not reached by \(name)")
        }
        // And through the real loader: a value set by the documented name arrives.
        let c = try await SealboxConfiguration.load(overrides: [:], configFile: nil,
                                                    environment: ["SEALBOX_BACKUP_S3_ACCESS_KEY_ID": "AK", "SEALBOX_SMTP_RELAY_CA_FILE": "/ca.pem"])
        #expect(c.backup.s3AccessKeyID == "AK" && c.outbound.relayCAFile == "/ca.pem")
    }
}
