import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SMTPCore

/// Sends one message to a smarthost (outbound relay) over SMTP (RFC 5321), with STARTTLS
/// (RFC 3207) or implicit TLS (RFC 8314), AUTH PLAIN / LOGIN (RFC 4954), PIPELINING (RFC 2920),
/// 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531) and SIZE (RFC 1870).
///
///     let client = SMTPRelayClient(configuration: .init(host: "smtp.example.net", port: 587))
///     let results = try await client.send(from: "a@example.org", recipients: ["b@example.net"], message: bytes)
///
/// The password is never logged and never appears in a description or an error.
public struct SMTPRelayClient: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// `starttls` is required TLS: the send fails (temporarily) when the server does not offer it.
        /// `opportunistic` (RFC 7435, for delivery to MX hosts): STARTTLS when offered, the
        /// certificate not checked; in clear when it is not offered.
        public enum Security: String, Sendable { case none, opportunistic, starttls, tls }
        public var security: Security = .none
        /// The address to connect to (an IP literal) when it is not `host` itself: `host` stays
        /// the name sent as SNI and checked in the certificate, and the name in errors.
        public var connectAddress: String? = nil
        /// Checks the server's certificates instead of the CA trust store and host name (DANE,
        /// RFC 7672); with it STARTTLS is required.
        public var certificateCheck: (@Sendable ([NIOSSLCertificate]) async -> Bool)? = nil
        /// AUTH PLAIN (LOGIN when PLAIN is not offered or not accepted as a mechanism) after TLS.
        public var username: String? = nil
        public var password: String? = nil
        /// Extra PEM CA files trusted besides the system's.
        public var trustRoots: [String] = []
        public var verifyCertificate: Bool = true
        public var heloName: String = "localhost"
        public var connectTimeout: Duration = .seconds(30)
        /// The longest wait for any one reply (and for one chunk of the message to be written).
        public var commandTimeout: Duration = .seconds(300)

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public enum RecipientResult: Sendable, Equatable {
        case accepted
        /// The server's reply to RCPT TO: a 4xx code is a temporary rejection (try again later).
        case rejected(code: Int, enhanced: String?, text: String)
    }

    /// Why a send failed. `permanent` is true for a 5xx reply (do not retry: bounce), false for a
    /// 4xx reply, a network error or a timeout (retry later).
    public struct RelayError: Error, Sendable, CustomStringConvertible {
        public var permanent: Bool
        /// The SMTP reply code, when the failure was a reply.
        public var code: Int?
        public var description: String
        /// The STARTTLS handshake itself failed (opportunistic TLS may try again in clear).
        public var tlsHandshakeFailed: Bool
        /// The reply came before MAIL FROM (greeting, EHLO/HELO, STARTTLS): about the server, not
        /// the message, so another MX host may still take it.
        public var beforeTransaction = false
        /// The reply's enhanced status code (RFC 3463), when it had one.
        public var enhanced: String? = nil

        public init(permanent: Bool, code: Int?, tlsHandshakeFailed: Bool = false, description: String) {
            self.permanent = permanent
            self.code = code
            self.tlsHandshakeFailed = tlsHandshakeFailed
            self.description = description
        }
    }

    /// Limits on what the server may send.
    public enum Limits {
        /// Longest reply line accepted (RFC 5321 §4.5.3.1.5 says 512 octets; this allows more).
        public static let maxReplyLineLength = 4_096
        /// Most lines of one multi-line reply.
        public static let maxReplyLines = 200
        /// The message is written in pieces of about this size.
        public static let writeChunkSize = 64 * 1024
        /// How long QUIT waits for its reply once the work is done.
        public static let quitTimeout: Duration = .seconds(5)
    }

    public let configuration: Configuration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger

    public init(configuration: Configuration, eventLoopGroup: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "sealbox.relay")) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// EHLO (HELO fallback), [STARTTLS, EHLO], [AUTH], MAIL FROM:<from> [SMTPUTF8 if the envelope or
    /// message needs it and offered; BODY=8BITMIME if offered; SIZE if offered], RCPT TO each,
    /// DATA (dot-stuffed, CRLF line endings, message bytes unchanged otherwise), QUIT.
    /// Uses PIPELINING for MAIL+RCPTs when offered. Returns per-recipient results (all rejected → no
    /// DATA). A 4xx/5xx at connect/EHLO/MAIL/DATA throws RelayError (permanent = 5xx); network
    /// errors and timeouts throw with permanent = false.
    public func send(from: String, recipients: [String], message: [UInt8]) async throws -> [String: RecipientResult] {
        try await sendReporting(from: from, recipients: recipients, message: message).results
    }

    /// What one session did besides its replies: whether the conversation ran over TLS.
    public struct SessionReport: Sendable, Equatable {
        public var results: [String: RecipientResult]
        public var tls: Bool
    }

    /// `send`, also telling whether TLS was used (delivery records it per attempt).
    public func sendReporting(from: String, recipients: [String], message: [UInt8]) async throws -> SessionReport {
        var unique: [String] = []
        for r in recipients where !unique.contains(r) { unique.append(r) }
        guard !unique.isEmpty else { return SessionReport(results: [:], tls: false) }
        for address in [from] + unique where !Self.isSafeEnvelopeAddress(address) {
            throw RelayError(permanent: true, code: nil,
                             description: "invalid envelope address \(Self.printable(address)) (control characters or angle brackets)")
        }
        if unique.contains(where: \.isEmpty) {
            throw RelayError(permanent: true, code: nil, description: "an empty recipient address")
        }

        let tlsContext: NIOSSLContext?
        do {
            tlsContext = configuration.security == .none ? nil : try makeTLSContext()
        } catch {
            throw RelayError(permanent: true, code: nil, description: "TLS configuration for \(endpoint): \(error)")
        }
        let serverHostname = Self.isIPAddress(configuration.host) ? nil : configuration.host
        let connectHost = configuration.connectAddress ?? configuration.host
        let statistics = LineStatistics()
        let implicitTLS = configuration.security == .tls ? tlsContext : nil

        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(Self.timeAmount(configuration.connectTimeout))
                .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
                .connect(host: connectHost, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        if let implicitTLS {
                            try sync.addHandler(NIOSSLClientHandler(context: implicitTLS, serverHostname: serverHostname))
                        }
                        try sync.addHandler(ByteToMessageHandler(
                            SMTPLineDecoder(maxLineLength: Limits.maxReplyLineLength, statistics: statistics)))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw RelayError(permanent: false, code: nil, description: "cannot connect to \(endpoint): \(redacted(String(describing: error)))")
        }

        do {
            return try await channel.executeThenClose { inbound, outbound in
                let connection = SMTPConnection(channel: channel.channel, inbound: inbound, outbound: outbound,
                                                statistics: statistics, timeout: configuration.commandTimeout,
                                                redact: redacted)
                do {
                    return try await transaction(connection, from: from, recipients: unique, message: message,
                                                 tlsContext: tlsContext, serverHostname: serverHostname)
                } catch let error as RelayError {
                    await connection.quitQuietly()
                    throw error
                }
            }
        } catch let error as RelayError {
            logger.debug("relay failed", metadata: ["relay.host": "\(endpoint)", "relay.error": "\(error.description)"])
            throw error
        } catch {
            throw RelayError(permanent: false, code: nil,
                             description: "connection to \(endpoint) failed: \(redacted(String(describing: error)))")
        }
    }

    // MARK: the transaction

    private func transaction(_ c: SMTPConnection, from: String, recipients: [String], message: [UInt8],
                             tlsContext: NIOSSLContext?, serverHostname: String?) async throws -> SessionReport {
        let greeting = try await c.readReply(during: "the greeting")
        guard greeting.code == 220 else { throw failure(greeting, during: "the greeting") }
        var capabilities = try await hello(c)
        var tls = configuration.security == .tls

        if configuration.security == .opportunistic, capabilities["STARTTLS"] != nil {
            let reply = try await c.command("STARTTLS", during: "STARTTLS")
            if reply.code == 220 {
                do {
                    try await c.startTLS(context: tlsContext!, serverHostname: serverHostname)
                } catch {
                    throw RelayError(permanent: false, code: nil, tlsHandshakeFailed: true,
                                     description: "TLS with \(endpoint) failed: \(redacted(String(describing: error)))")
                }
                capabilities = try await hello(c)
                tls = true
            }
        }
        if configuration.security == .starttls {
            guard capabilities["STARTTLS"] != nil else {
                throw RelayError(permanent: false, code: nil, description: "\(endpoint) does not offer STARTTLS, which is required")
            }
            let reply = try await c.command("STARTTLS", during: "STARTTLS")
            guard reply.code == 220 else { throw failure(reply, during: "STARTTLS") }
            try await c.startTLS(context: tlsContext!, serverHostname: serverHostname, certificateCheck: configuration.certificateCheck)
            capabilities = try await hello(c)
            tls = true
        }

        if let username = configuration.username, let password = configuration.password {
            try await authenticate(c, capabilities: capabilities, username: username, password: password)
        }

        // MAIL FROM parameters
        var parameters = ""
        let envelopeNeedsUTF8 = !([from] + recipients).allSatisfy { MessageFormatting.isASCII($0.utf8) }
        let headerEnd = MIMEParserHeaderEnd.of(message)
        let messageNeedsUTF8 = !MessageFormatting.isASCII(message[0..<headerEnd])
        if envelopeNeedsUTF8 || messageNeedsUTF8 {
            if capabilities["SMTPUTF8"] != nil {
                parameters += " SMTPUTF8"
            } else {
                // RFC 6531 §3.4: without SMTPUTF8, neither an internationalised envelope nor
                // UTF-8 header fields may be sent (Postfix bounces the same way).
                throw RelayError(permanent: true, code: nil,
                                 description: "\(endpoint) does not offer SMTPUTF8, which the message's \(envelopeNeedsUTF8 ? "non-ASCII envelope" : "UTF-8 header fields") need")
            }
        }
        if capabilities["8BITMIME"] != nil {
            parameters += " BODY=8BITMIME"
        } else if !MessageFormatting.isASCII(message[headerEnd...]) {
            // RFC 6152 §3: 8-bit data only to a server that announced 8BITMIME. (Converting to
            // 7 bits would break the DKIM signatures; servers without 8BITMIME are rare now.)
            throw RelayError(permanent: true, code: nil,
                             description: "\(endpoint) does not offer 8BITMIME, which the message's 8-bit content needs")
        }
        if let size = capabilities["SIZE"] {
            if let limit = size.first.flatMap({ Int($0) }), limit > 0, message.count > limit {
                throw RelayError(permanent: true, code: nil,
                                 description: "the message (\(message.count) bytes) is larger than \(endpoint) accepts (\(limit) bytes)")
            }
            parameters += " SIZE=\(message.count)"
        }

        let mail = "MAIL FROM:<\(from)>\(parameters)"
        let rcpts = recipients.map { "RCPT TO:<\($0)>" }
        var replies: [SMTPReply] = []
        if capabilities["PIPELINING"] != nil {
            try await c.write(([mail] + rcpts).map { $0 + "\r\n" }.joined(), verbs: "MAIL, RCPT")
            for i in 0...rcpts.count {
                replies.append(try await c.readReply(during: i == 0 ? "MAIL FROM" : "RCPT TO"))
            }
        } else {
            let reply = try await c.command(mail, during: "MAIL FROM")
            replies.append(reply)
            if reply.code / 100 == 2 {
                for rcpt in rcpts { replies.append(try await c.command(rcpt, during: "RCPT TO")) }
            }
        }
        guard replies[0].code / 100 == 2 else { throw failure(replies[0], during: "MAIL FROM") }

        var results: [String: RecipientResult] = [:]
        for (recipient, reply) in zip(recipients, replies.dropFirst()) {
            results[recipient] = reply.code / 100 == 2
                ? .accepted : .rejected(code: reply.code, enhanced: reply.enhanced, text: redacted(reply.text))
        }
        guard results.values.contains(.accepted) else {
            await c.quitQuietly()
            return SessionReport(results: results, tls: tls)
        }

        let data = try await c.command("DATA", during: "DATA")
        guard data.code == 354 else { throw failure(data, during: "DATA") }
        var stuffer = DataStuffer()
        var index = 0
        while index < message.count {
            let end = min(message.count, index + Limits.writeChunkSize)
            try await c.writeBytes(stuffer.feed(message[index..<end]), during: "the message")
            index = end
        }
        try await c.writeBytes(stuffer.finish(), during: "the message")
        let accepted = try await c.readReply(during: "the end of the message")
        guard accepted.code / 100 == 2 else { throw failure(accepted, during: "the end of the message") }
        logger.debug("relayed", metadata: ["relay.host": "\(endpoint)", "relay.reply": "\(redacted(accepted.summary))"])
        await c.quitQuietly()
        return SessionReport(results: results, tls: tls)
    }

    /// EHLO, or HELO when EHLO is refused with 5xx; the capabilities by upper-cased keyword.
    private func hello(_ c: SMTPConnection) async throws -> [String: [String]] {
        let name = configuration.heloName
        let reply = try await c.command("EHLO \(name)", during: "EHLO")
        if reply.code / 100 == 2 {
            var capabilities: [String: [String]] = [:]
            for line in reply.lines.dropFirst() {
                let words = line.split(separator: " ").map(String.init)
                guard let keyword = words.first else { continue }
                capabilities[keyword.uppercased()] = Array(words.dropFirst())
            }
            return capabilities
        }
        guard reply.code >= 500 else { throw failure(reply, during: "EHLO") }
        let helo = try await c.command("HELO \(name)", during: "HELO")
        guard helo.code / 100 == 2 else { throw failure(helo, during: "HELO") }
        return [:]
    }

    private func authenticate(_ c: SMTPConnection, capabilities: [String: [String]], username: String, password: String) async throws {
        guard let offered = capabilities["AUTH"] else {
            throw RelayError(permanent: true, code: nil, description: "\(endpoint) does not offer AUTH")
        }
        let mechanisms = Set(offered.map { $0.uppercased() })
        func base64(_ s: [UInt8]) -> String { Data(s).base64EncodedString() }

        if mechanisms.contains("PLAIN") {
            let response = base64([0] + Array(username.utf8) + [0] + Array(password.utf8))
            let reply = try await c.command("AUTH PLAIN \(response)", during: "AUTH", secret: true)
            if reply.code == 235 { return }
            // 504: the mechanism is not supported after all; try LOGIN when offered.
            guard reply.code == 504, mechanisms.contains("LOGIN") else { throw failure(reply, during: "AUTH PLAIN") }
        }
        guard mechanisms.contains("LOGIN") else {
            throw RelayError(permanent: true, code: nil,
                             description: "\(endpoint) offers no AUTH mechanism this client has (PLAIN, LOGIN)")
        }
        var reply = try await c.command("AUTH LOGIN", during: "AUTH LOGIN")
        guard reply.code == 334 else { throw failure(reply, during: "AUTH LOGIN") }
        reply = try await c.command(base64(Array(username.utf8)), during: "AUTH LOGIN", secret: true)
        guard reply.code == 334 else { throw failure(reply, during: "AUTH LOGIN") }
        reply = try await c.command(base64(Array(password.utf8)), during: "AUTH LOGIN", secret: true)
        guard reply.code == 235 else { throw failure(reply, during: "AUTH LOGIN") }
    }

    // MARK: helpers

    var endpoint: String { "\(configuration.host):\(configuration.port)" }

    private func failure(_ reply: SMTPReply, during step: String) -> RelayError {
        var error = RelayError(permanent: reply.isPermanent, code: reply.code,
                               description: "\(endpoint) answered \(step) with \(redacted(reply.summary))")
        error.beforeTransaction = ["the greeting", "EHLO", "HELO", "STARTTLS"].contains(step)
        error.enhanced = reply.enhanced
        return error
    }

    /// Text with the password (and its base64 forms) replaced: servers may echo what they got.
    func redacted(_ text: String) -> String {
        guard let password = configuration.password, !password.isEmpty else { return text }
        var out = text.replacingOccurrences(of: password, with: "<redacted>")
        out = out.replacingOccurrences(of: Data(password.utf8).base64EncodedString(), with: "<redacted>")
        if let username = configuration.username {
            let plain = Data([0] + Array(username.utf8) + [0] + Array(password.utf8)).base64EncodedString()
            out = out.replacingOccurrences(of: plain, with: "<redacted>")
        }
        return out
    }

    private func makeTLSContext() throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.additionalTrustRoots = configuration.trustRoots.map { .file($0) }
        if configuration.certificateCheck != nil {
            tls.certificateVerification = .noHostnameVerification  // the custom check decides
        } else if !configuration.verifyCertificate || configuration.security == .opportunistic {
            tls.certificateVerification = .none
        }
        return try NIOSSLContext(configuration: tls)
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    /// No CR, LF or other control characters, no angle brackets: an address cannot smuggle a
    /// command or a parameter into MAIL FROM / RCPT TO.
    static func isSafeEnvelopeAddress(_ address: String) -> Bool {
        !address.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "<" || $0 == ">" }
    }

    static func printable(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
    }

    static func timeAmount(_ d: Duration) -> TimeAmount {
        let (seconds, attoseconds) = d.components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .hours(24 * 365) : .nanoseconds(ns + attoseconds / 1_000_000_000)
    }
}

extension SMTPRelayClient.Configuration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Everything but the password (shown as "<set>" when there is one).
    public var description: String {
        var s = "SMTPRelayClient.Configuration(host: \(host), port: \(port), security: \(security.rawValue)"
        if let username { s += ", username: \(username), password: \(password == nil ? "nil" : "<set>")" }
        s += ", trustRoots: \(trustRoots), verifyCertificate: \(verifyCertificate), heloName: \(heloName)"
        s += ", connectTimeout: \(connectTimeout), commandTimeout: \(commandTimeout))"
        return s
    }

    public var debugDescription: String { description }

    /// Mirror without the password, so `dump` and reflection-based printing cannot show it.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "host": host, "port": port, "security": security, "username": username as Any,
            "password": password == nil ? "nil" : "<set>", "trustRoots": trustRoots,
            "verifyCertificate": verifyCertificate, "heloName": heloName,
            "connectTimeout": connectTimeout, "commandTimeout": commandTimeout,
        ])
    }
}

/// The header length of a message (where its body starts), for the SMTPUTF8 decision.
enum MIMEParserHeaderEnd {
    static func of(_ message: [UInt8]) -> Int {
        var i = 0
        var lineStart = true
        while i < message.count {
            let b = message[i]
            if lineStart {
                if b == 0x0A { return i + 1 }
                if b == 0x0D, i + 1 < message.count, message[i + 1] == 0x0A { return i + 2 }
            }
            lineStart = b == 0x0A
            i += 1
        }
        return message.count
    }
}
