import ArgumentParser
import DNSCore
import Foundation
import IMAPCore
import Logging
import MailAuth
import MIMEParser
import SealboxApp

/// `sealbox message …`: developer and support tools for single messages.
struct MessageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "message",
        abstract: "Inspect messages the way the IMAP server sees them.",
        subcommands: [Inspect.self]
    )

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the ENVELOPE, BODYSTRUCTURE and part tree of an .eml file exactly as IMAP sends them; with --auth, the MX's SPF, DKIM, ARC and DMARC checks of it.",
            discussion: """
                --auth runs the checks the MX runs at the end of DATA, with the node's resolver and auth.* \
                settings, as if the message came from --client-ip after HELO --helo with MAIL FROM \
                --mail-from; it prints each result with its reason, the Authentication-Results field the MX \
                would add and what it would do (deliver, Junk, refuse). The admin's answer to "why was this \
                filed as Junk?". Exit status 0 whatever the verdict; 2 a bad file or setting.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("A JSON configuration file (default: sealbox.json in the data directory).", valueName: "file"))
        var config: String?

        @Argument(help: "The message file (RFC 5322, .eml).")
        var file: String

        @Flag(help: "Print a JSON object {envelope, bodystructure, body, size, parts:[{part, mime, binarySize}]}.")
        var json = false

        @Flag(help: "Run the MX's sender authentication checks (SPF, DKIM, ARC, DMARC) on the message.")
        var auth = false
        @Option(help: ArgumentHelp("With --auth: the address the message came from.", valueName: "ip"))
        var clientIP: String?
        @Option(help: ArgumentHelp("With --auth: the name the client gave in HELO/EHLO.", valueName: "name"))
        var helo: String?
        @Option(help: ArgumentHelp("With --auth: the envelope sender (MAIL FROM); empty for <>.", valueName: "address"))
        var mailFrom: String?
        @Option(name: .customLong("dns-server"), help: ArgumentHelp("With --auth: a resolver to ask, ADDRESS[@PORT] (dns.servers; repeatable).", valueName: "address"))
        var dnsServers: [String] = []

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            let bytes = [UInt8](data)
            if auth {
                try await runReportingErrors(exitCode: { _ in 2 }) { try await inspectAuthentication(bytes) }
                return
            }
            if !json {
                emit(MIMEInspector.report(for: bytes), terminator: "")
                return
            }
            let m = MIMEMessage.parse(bytes)
            var parts: [[String: Any]] = []
            for entry in m.partList() where !entry.number.isEmpty {
                var p: [String: Any] = ["part": entry.number.map(String.init).joined(separator: ".")]
                let mime = m.section(IMAPSection(part: entry.number, kind: .mime)) ?? []
                p["mime"] = String(decoding: mime, as: UTF8.self)
                p["binarySize"] = m.binarySize(part: entry.number) ?? NSNull()
                p["contentType"] = entry.part.contentType + "/" + entry.part.subtype
                p["isAttachment"] = entry.part.isAttachment
                if let f = entry.part.filename { p["filename"] = f }
                parts.append(p)
            }
            let object: [String: Any] = [
                "envelope": m.imapEnvelope(),
                "body": m.imapBodyStructure(extended: false),
                "bodystructure": m.imapBodyStructure(extended: true),
                "size": m.rfc822Size,
                "parts": parts,
            ]
            let out = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            writeStandardOutput(out)
            writeStandardOutput(Data("\n".utf8))
        }
    }
}

extension MessageCommand.Inspect {
    func inspectAuthentication(_ message: [UInt8]) async throws {
        guard let clientIP, IPAddress(clientIP) != nil else { throw CLIFailure("--auth needs --client-ip with an IPv4 or IPv6 address") }
        var overrides = ["data.directory": global.dataDir]
        if !dnsServers.isEmpty { overrides["dns.servers"] = dnsServers.joined(separator: ",") }
        let settings = try await SealboxConfiguration.load(overrides: overrides, configFile: config)
        var logger = Logger(label: "sealbox")
        logger.logLevel = .warning
        // The node's resolver as `serve` has it (without validation behind resolvers that strip DNSSEC).
        let resolver = try NodeResolver(settings.dns, logger: logger)
        defer { resolver.shutdown() }
        await resolver.checkAtStart()
        var authSettings = settings
        authSettings.auth.enabled = true
        guard let authenticator = try SealboxAuth.makeAuthenticator(authSettings, resolver: resolver, logger: logger) else { return }
        let helo = helo ?? ""
        let sender = mailFrom ?? ""
        let report = await authenticator.check(message: message, clientIP: clientIP, helo: helo, mailFrom: sender)
        if let spf = report.spf {
            emit("spf:   \(spf.result.rawValue) (\(spf.identity.rawValue) \(spf.identity == .mailFrom ? spf.sender : spf.domain))" + (spf.reason.map { ": \($0)" } ?? ""))
            if let explanation = spf.explanation { emit("       explanation: \(explanation)") }
        } else {
            emit("spf:   none (no client address)")
        }
        if report.dkim.isEmpty { emit("dkim:  none (no DKIM-Signature)") }
        for signature in report.dkim {
            emit("dkim:  \(signature.result.rawValue) d=\(signature.domain) s=\(signature.selector) a=\(signature.algorithm)" + (signature.reason.map { ": \($0)" } ?? ""))
        }
        emit("arc:   \(report.arc.result.rawValue)" + (report.arc.instances > 0 ? " (i=\(report.arc.instances))" : "") + (report.arc.reason.map { ": \($0)" } ?? ""))
        let dmarc = report.dmarc
        var dmarcLine = "dmarc: \(dmarc.result.rawValue)"
        if let from = dmarc.fromDomain { dmarcLine += " header.from=\(from)" }
        if let policy = dmarc.requestedPolicy { dmarcLine += " p=\(policy.rawValue) (record at _dmarc.\(dmarc.policyDomain ?? "?")) disposition=\(dmarc.disposition.rawValue)" }
        if let reason = dmarc.reason { dmarcLine += ": \(reason)" }
        emit(dmarcLine)
        if report.timedOut { emit("note:  the checks took longer than auth.timeout") }
        emit("")
        emit(report.results.field, terminator: "")
        emit("")
        switch report.verdict {
        case .deliver: emit("verdict: deliver to INBOX")
        case .junk: emit("verdict: file in Junk")
        case .refuse(let code, let enhanced, let text): emit("verdict: refuse with \(code) \(enhanced) \(text)")
        }
    }
}

