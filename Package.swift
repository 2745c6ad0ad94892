// swift-tools-version:6.2
import PackageDescription

// SQLite3 Multiple Ciphers, compiled from the amalgamation that scripts/setup-sqlite3mc.sh places
// in Sources/CSQLite3MC (git-ignored). Linked into every module that opens databases so that
// GRDB's sqlite3_* calls resolve to sqlite3mc instead of the system libsqlite3.
let sqliteSettings: [CSetting] = [
    .define("SQLITE_THREADSAFE", to: "1"),
    .define("SQLITE_DQS", to: "0"),
    .define("SQLITE_DEFAULT_MEMSTATUS", to: "0"),
    .define("SQLITE_DEFAULT_WAL_SYNCHRONOUS", to: "1"),
    .define("SQLITE_LIKE_DOESNT_MATCH_BLOBS"),
    .define("SQLITE_ENABLE_FTS5"),
    .define("SQLITE_ENABLE_MATH_FUNCTIONS"),
    .define("SQLITE_TEMP_STORE", to: "3"),  // temp files always in memory: no plaintext on disk
    .define("SQLITE_SECURE_DELETE"),
    .define("SQLITE_ENABLE_DBPAGE_VTAB"),  // sqlite_dbpage: the tests read every (decrypted) page of a file
    .define("SQLITE_ENABLE_QPSG"),  // plans do not depend on bound values: a cached statement is not re-prepared at each new binding
    .define("SQLITE_OMIT_LOAD_EXTENSION"),
    .define("SQLITE_USE_URI", to: "1"),
    .unsafeFlags(["-w"]),  // third-party amalgamation: its warnings are not ours to fix
]

let package = Package(
    name: "sealbox",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sealbox", targets: ["sealbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-certificates", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
        .package(url: "https://github.com/apple/swift-configuration", exact: "1.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
        .package(url: "https://github.com/adam-fowler/compress-nio", exact: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", exact: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", exact: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", exact: "1.6.2"),
    ],
    targets: [
        .target(name: "CSQLite3MC", cSettings: sqliteSettings, linkerSettings: [.linkedLibrary("m")]),
        // libunbound from the system (Debian libunbound-dev; scripts/setup-build-deps.sh installs it).
        .systemLibrary(name: "CUnbound", pkgConfig: "libunbound", providers: [.apt(["libunbound-dev"])]),
        // libzstd from the system (Debian libzstd-dev): stored message bodies are compressed.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // DNS values and the pure parts: names, records and their RDATA parser (fuzzed), errors, the
        // `DNSResolving` protocol every user of DNS depends on, an in-memory resolver for tests.
        .target(name: "DNSCore"),
        // The node's resolver: libunbound (validating, caching) driven from one thread of its own.
        .target(name: "DNSResolver", dependencies: [
            "CUnbound", "DNSCore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        .target(name: "MailCore"),
        // Mail authentication (DESIGN: inbound checks and outbound signing): DKIM canonicalization,
        // signing and verification, SPF, DMARC, ARC, Authentication-Results. Pure parsers (fuzzed)
        // plus evaluators over `DNSResolving`.
        .target(name: "MailAuth", dependencies: [
            "DNSCore", "MIMEParser",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),  // RSA for DKIM
        ]),
        // The seam between the protocol servers and the store (DESIGN §4): the mailbox service and
        // session protocols, their value types and errors. No GRDB: IMAP, POP3 and the MX import only this.
        .target(name: "MailboxAPI", dependencies: ["MailCore", "MIMEParser"]),
        .target(name: "MIMEParser"),
        // Sieve (RFC 5228 and extensions): parser, validator and interpreter over a message. Pure:
        // no I/O, the host passes what a run may see (`SieveRunContext`) and carries out the actions.
        .target(name: "Sieve", dependencies: ["MIMEParser"]),
        // Sealbox's FTS5 tokenizer (`sealbox_trigram`: each distinct trigram of a column once),
        // registered on every connection; C against sqlite3mc's own header.
        .target(name: "CSealboxFTS", dependencies: ["CSQLite3MC"]),
        .target(name: "SQLiteCipher", dependencies: [
            .product(name: "GRDB", package: "GRDB.swift"),
            "CSQLite3MC",  // linked, never imported (header clash with GRDB's sqlite3.h)
            "CSealboxFTS",
        ]),
        .target(name: "MailStore", dependencies: [
            "MailboxAPI", "MailCore", "MIMEParser", "SQLiteCipher", "Directory", "CZstd",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),  // sqlite3_column_* where GRDB's generic rows cost too much
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        .target(name: "Directory", dependencies: [
            "MailCore", "SQLiteCipher",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The node registry and mailbox leases with fencing tokens (issue 19): the protocol storage
        // nodes and frontends use, and an in-memory implementation for tests and single processes.
        .target(name: "ClusterRegistry"),
        // The directory and the cluster registry on PostgreSQL (postgres-nio): versioned migrations,
        // the same behaviour as `SQLiteDirectory` (DirectoryRules, DirectoryError codes).
        .target(name: "PostgresDirectory", dependencies: [
            "Directory", "MailCore", "ClusterRegistry",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "IMAPCore", dependencies: [
            "MIMEParser",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "MailNet", dependencies: [
            "MailboxAPI", "MailCore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOExtras", package: "swift-nio-extras"),
            .product(name: "CompressNIO", package: "compress-nio"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        .target(name: "IMAPServer", dependencies: [
            "IMAPCore", "MailNet", "MailboxAPI", "MailCore", "MIMEParser",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "POP3Core"),
        .target(name: "POP3Server", dependencies: [
            "POP3Core", "MailNet", "MailboxAPI", "MailCore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "SMTPCore"),
        // ManageSieve (RFC 5804): the codec (pure: framer, command parser, responses; fuzzed) and
        // the sessions, over a script store the app provides (the directory) and the Sieve compiler.
        .target(name: "ManageSieveCore"),
        .target(name: "ManageSieveServer", dependencies: [
            "ManageSieveCore", "MailNet", "MailboxAPI", "MailCore", "Sieve",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "SMTPServer", dependencies: [
            "SMTPCore", "MailNet", "MailCore", "MIMEParser",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // Outbound mail, like mox's queue/: the worker over the queue's jobs, retries and bounces
        // (RFC 3464), SRS, webhook payloads, signatures and their HTTP client, the SMTP client.
        .target(name: "Outbound", dependencies: [
            "MailboxAPI", "MailCore", "MIMEParser", "SMTPCore", "DNSCore", "MailAuth",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),  // RSA for DKIM
            .product(name: "X509", package: "swift-certificates"),  // DANE-TA chains
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // Backups: destinations (S3 over async-http-client with hand-written SigV4, or a directory)…
        .target(name: "BackupStore", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // …and the engine: snapshots, generations, restore.
        .target(name: "Backup", dependencies: [
            "BackupStore", "MailboxAPI", "MailStore", "Directory", "MailCore",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // mbox, Maildir and eml-zip for export and import.
        .target(name: "MailArchive", dependencies: [
            "MailboxAPI",
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // HTTP (Hummingbird): the admin and owner JSON API, the web pages, autoconfiguration,
        // health and metrics. Talks to the node only through `HTTPBackend` (SealboxApp implements it).
        .target(name: "HTTPServer", dependencies: [
            "MailboxAPI", "MailCore", "MailNet",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Crypto", package: "swift-crypto"),  // session ids, token hashes
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // The RPC between frontends and storage nodes (docs/cluster-rpc.md). The codec is pure (frames,
        // limits, the MailboxAPI values' binary encoding; fuzzed); the transport is WebSocket over
        // mutual TLS with the cluster's own CA, and the remote mailbox service rides on it.
        .target(name: "ClusterRPCCore", dependencies: ["MailboxAPI", "MailCore", "MIMEParser"]),
        .target(name: "ClusterRPC", dependencies: [
            "ClusterRPCCore", "MailboxAPI", "MailCore", "MIMEParser",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "WSClient", package: "swift-websocket"),
            .product(name: "WSCore", package: "swift-websocket"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "SealboxApp", dependencies: [
            "MailboxAPI", "MailCore", "MIMEParser", "MailStore", "Directory", "MailNet", "IMAPServer", "POP3Server",
            "SMTPCore", "SMTPServer", "Outbound", "MailAuth", "Backup", "BackupStore", "MailArchive", "DNSCore", "DNSResolver", "Sieve",
            "PostgresDirectory", "ClusterRegistry",
            .product(name: "Configuration", package: "swift-configuration"),
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            "ManageSieveServer", "HTTPServer", "ClusterRPC",
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "sealbox", dependencies: [
            "SealboxApp", "IMAPCore", "MIMEParser", "MailboxAPI", "MailCore", "Backup", "MailStore", "Directory", "DNSCore", "DNSResolver",
            "ManageSieveServer", "Sieve", "PostgresDirectory", "ClusterRPC", "ClusterRegistry",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .executableTarget(name: "SealboxBench", dependencies: [
            "SealboxApp", "MailboxAPI", "MailStore", "IMAPCore", "MIMEParser", "MailCore", "SQLiteCipher", "Directory", "Backup", "BackupStore",
            "Outbound", "MailAuth", "DNSCore", "Sieve", "SMTPServer", "SMTPCore", .product(name: "GRDB", package: "GRDB.swift"),
            "ClusterRPC", .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Benchmarks/SealboxBench"),
        // libFuzzer target over the IMAP codec; scripts/fuzz.sh builds it with -sanitize=fuzzer,address
        // in its own scratch path (.build-fuzz). A plain build gives a replay tool (inputs as arguments).
        .executableTarget(name: "IMAPFuzz", dependencies: [
            "IMAPCore", .product(name: "NIOCore", package: "swift-nio"),
        ], path: "Fuzz/IMAPFuzz"),
        // libFuzzer target over the cluster RPC codec (frames and payloads); built like IMAPFuzz.
        .executableTarget(name: "ClusterRPCFuzz", dependencies: ["ClusterRPCCore", "MailboxAPI"], path: "Fuzz/ClusterRPCFuzz"),
        .testTarget(name: "MailCoreTests", dependencies: ["MailCore"]),
        .testTarget(name: "ClusterRPCTests", dependencies: ["ClusterRPC", "ClusterRPCCore", "MailboxAPI", "MailboxTesting", "MailStore", "Directory",
            "MailCore", "MIMEParser", "IMAPServer", "IMAPCore", "POP3Server", "POP3Core", "SessionTesting", "MailNet", "SealboxApp",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "WSClient", package: "swift-websocket"),
            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "MIMEParserTests", dependencies: ["MIMEParser", "IMAPCore", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MailStoreTests", dependencies: ["MailboxAPI", "MailStore", "SQLiteCipher", "MIMEParser", "MailCore", "Directory",
            .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "DirectoryTests", dependencies: ["Directory", "MailCore", "SQLiteCipher", "PostgresDirectory", "ClusterRegistry", "TestSupport",
            .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "IMAPCoreTests", dependencies: ["IMAPCore", "MIMEParser",
            .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "POP3CoreTests", dependencies: ["POP3Core", "MailCore"]),
        .testTarget(name: "SMTPCoreTests", dependencies: ["SMTPCore"]),
        .testTarget(name: "ManageSieveCoreTests", dependencies: ["ManageSieveCore"]),
        .testTarget(name: "ManageSieveServerTests", dependencies: ["MailboxAPI", "MailboxTesting", "SessionTesting", "ManageSieveServer", "ManageSieveCore", "MailNet",
            "MailStore", "Directory", "MailCore", "SealboxApp", "Sieve",
            .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "SieveTests", dependencies: ["Sieve", "MIMEParser", "TestSupport"]),
        .testTarget(name: "DNSCoreTests", dependencies: ["DNSCore"]),
        .testTarget(name: "MailAuthTests", dependencies: ["MailAuth", "DNSCore", "TestSupport",
            .product(name: "Crypto", package: "swift-crypto")],
                    exclude: ["Scripts"]),  // the dkimpy reference corpus the tests run by path
        // Live: nsd serving test zones (one DNSSEC-signed at test time by ldns-signzone) on loopback.
        .testTarget(name: "DNSResolverTests", dependencies: ["DNSResolver", "DNSCore", "SealboxApp", "TestSupport",
            .product(name: "Configuration", package: "swift-configuration"),
            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "SMTPServerTests", dependencies: ["MailboxAPI", "MailboxTesting", "SMTPServer", "SMTPCore", "MailNet", "MailStore", "Directory", "MailCore", "SealboxApp",
            .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "OutboundTests", dependencies: ["Outbound", "MailAuth", "DNSCore", "MIMEParser", "MailCore", "SMTPCore", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto")],
                    exclude: ["Servers"]),  // the aiosmtpd server the tests start
        // Test support shared by test targets (a real S3 server for the backup tests).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // The mailbox seam held in memory: protocol-session tests without scrypt or sqlite3mc.
        .target(name: "MailboxTesting", dependencies: ["MailboxAPI", "MailCore", "MIMEParser"], path: "Tests/MailboxTesting"),
        // The in-memory connection protocol-session tests drive (POP3, ManageSieve).
        .target(name: "SessionTesting", dependencies: ["MailNet", .product(name: "NIOCore", package: "swift-nio")], path: "Tests/SessionTesting"),
        .testTarget(name: "BackupStoreTests", dependencies: ["BackupStore", "TestSupport"]),
        .testTarget(name: "MailArchiveTests", dependencies: ["MailboxAPI", "MailArchive", "TestSupport"]),
        .testTarget(name: "BackupTests", dependencies: ["MailboxAPI", "Backup", "BackupStore", "MailStore", "Directory", "MailCore", "SealboxApp",
            "MailArchive", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "POP3ServerTests", dependencies: ["MailboxAPI", "MailboxTesting", "SessionTesting", "POP3Server", "POP3Core", "MailNet", "MailStore", "Directory", "MailCore", "SealboxApp",
            .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "MailNetTests", dependencies: ["MailNet", "MailboxAPI", "MailCore",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "CompressNIO", package: "compress-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        .testTarget(name: "IMAPServerTests", dependencies: ["MailboxAPI", "MailboxTesting", "IMAPServer", "IMAPCore", "MailNet", "MailStore", "Directory", "MailCore", "SealboxApp",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio")],
                    exclude: ["SortThreadCorpus"]),  // read by path (SortThreadDifferentialTests)
        .testTarget(name: "SealboxAppTests", dependencies: ["SealboxApp", "ClusterRegistry", "Backup", "BackupStore", "Directory", "MailCore", "SQLiteCipher", "HTTPServer",
            "Sieve", "SMTPServer", "SMTPCore", "MailboxAPI", "MailStore", "MIMEParser", "Outbound", "MailNet",
            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "MailboxAPI", "MailCore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird")]),
        .testTarget(name: "IntegrationTests", dependencies: ["MailboxAPI", "SealboxApp", "MailStore", "Directory", "MailCore", "Outbound", "TestSupport", "Sieve",
            .product(name: "Configuration", package: "swift-configuration")],
                    exclude: ["Clients", "ServerChecks"]),  // scripts the tests run by path
    ],
    swiftLanguageModes: [.v6]
)
