import ArgumentParser
import DNSCore
import DNSResolver
import Foundation
import Logging
import SealboxApp

struct DNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "Ask DNS the way the node does (its resolver, its dns.* settings).",
        subcommands: [Lookup.self])

    struct Lookup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Look up the TYPE records of NAME and print them with their TTL and whether DNSSEC validated them.",
            discussion: """
                TYPE: MX, A, AAAA, TXT, TLSA, PTR, SRV, CNAME, NS, or TYPEn. For PTR, NAME may be an IP \
                address. Records are printed as in a zone file, under the name they belong to (the end \
                of a CNAME chain), then a line starting with `;` that says secure (DNSSEC-validated) or \
                insecure. Exit status: 0 records found; 1 none (NXDOMAIN or NODATA); 75 a temporary \
                failure (SERVFAIL, timeout, DNSSEC bogus); 2 a bad name, type or setting.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("A JSON configuration file (default: sealbox.json in the data directory).", valueName: "file"))
        var config: String?
        @Option(name: .customLong("server"), help: ArgumentHelp("A resolver to ask, ADDRESS[@PORT] (dns.servers; repeatable).", valueName: "address"))
        var servers: [String] = []
        @Option(help: ArgumentHelp("DS/DNSKEY records to validate from, or `none` (dns.trustAnchor).", valueName: "file"))
        var trustAnchor: String?
        @Option(help: ArgumentHelp("Seconds to wait (dns.timeout).", valueName: "seconds"))
        var timeout: String?
        @Argument(help: "The record type.") var type: String
        @Argument(help: "The name (or, for PTR, an IP address).") var name: String

        func run() async throws {
            try await runReportingErrors(exitCode: { error in
                guard let dns = error as? DNSError else { return 2 }
                return dns.isTemporary ? 75 : dns.code == .invalidName ? 2 : 1
            }) {
                guard let recordType = DNSRecordType(name: type) else {
                    throw CLIFailure("unknown record type \(type): give MX, A, AAAA, TXT, TLSA, PTR, SRV, CNAME, NS or TYPEn")
                }
                var overrides = ["data.directory": global.dataDir]
                if !servers.isEmpty { overrides["dns.servers"] = servers.joined(separator: ",") }
                if let trustAnchor { overrides["dns.trustAnchor"] = trustAnchor }
                if let timeout { overrides["dns.timeout"] = timeout }
                let settings = try await SealboxConfiguration.load(overrides: overrides, configFile: config)
                var logger = Logger(label: "sealbox")
                logger.logLevel = .warning
                let resolver = try SealboxDNS.makeResolver(settings.dns, logger: logger)
                defer { resolver.shutdown() }

                let question: DNSName
                if recordType == .ptr, let address = IPAddress(name) {
                    question = DNSName.reverse(address)
                } else {
                    question = try DNSName(name)
                }
                var answer = try await resolver.query(question, recordType)
                // MX and SRV by preference/priority, as a sender would try them.
                answer.records = answer.records.enumerated().sorted { a, b in
                    switch (a.element, b.element) {
                    case (.mx(let x), .mx(let y)) where x.preference != y.preference: x.preference < y.preference
                    case (.srv(let x), .srv(let y)) where x.priority != y.priority: x.priority < y.priority
                    default: a.offset < b.offset
                    }
                }.map(\.element)
                if answer.followedAlias {
                    emit("; \(answer.question.name.absoluteText) is an alias of \(answer.canonicalName.absoluteText)")
                }
                for record in answer.records {
                    emit("\(answer.canonicalName.absoluteText)\t\(answer.ttl)\tIN\t\(record.type)\t\(record)")
                }
                let count = "\(answer.records.count) record\(answer.records.count == 1 ? "" : "s")"
                emit("; \(count), \(answer.isSecure ? "secure (DNSSEC-validated)" : "insecure (not DNSSEC-validated)")")
            }
        }
    }
}
