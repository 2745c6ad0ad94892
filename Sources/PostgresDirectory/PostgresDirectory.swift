import Directory
import Foundation
import Logging
import MailCore
import NIOSSL
import PostgresNIO
import Synchronization

/// The directory on PostgreSQL (a cluster's shared directory, `directory.url = postgres://…`),
/// with the behaviour of `SQLiteDirectory`: the same `DirectoryRules`, `DirectoryError` codes,
/// sort orders (byte order: every sorted column is `COLLATE "C"`) and millisecond dates
/// (`timestamptz`, read back through `DirectoryDate.normalized`).
///
/// Connections come from postgres-nio's pool (`PostgresClient`), run by a task this object owns
/// (`shutdown()` ends it). Every operation is bounded (`Configuration.operationTimeout`; the
/// server's `statement_timeout` and `lock_timeout` too). Writes that read then write run in a
/// transaction that first locks the row they depend on (`SELECT … FOR UPDATE` of the alias or
/// domain), so two frontends counting the same alias's submissions, or claiming the same Sieve
/// memory, see each other's rows as SQLite's single writer would.
public final class PostgresDirectory: MailDirectory {
    public struct Configuration: Sendable {
        public var url: PostgresURL
        /// Connections in the pool.
        public var maxConnections: Int = 10
        /// Bound on every directory call (waiting for a connection included).
        public var operationTimeout: Duration = .seconds(30)
        /// Bound on connecting and migrating at start.
        public var startTimeout: Duration = .seconds(60)

        public init(url: PostgresURL) { self.url = url }
    }

    public let configuration: Configuration
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>

    /// Connects, runs the migrations (under an advisory lock: two processes starting at once apply
    /// each one once), and returns the directory. `DirectoryError(.schemaTooNew)` when the database
    /// was migrated by a newer Sealbox; `PostgresDirectoryError` when it cannot be reached.
    public static func connect(_ configuration: Configuration, logger: Logger = Logger(label: "sealbox.directory.postgres")) async throws -> PostgresDirectory {
        let directory = try PostgresDirectory(configuration: configuration, logger: logger)
        do {
            // One direct connection first: an unreachable server or a refused login is one clear
            // line after connect_timeout, not the pool's retries until the operation timeout.
            try await directory.bounded(.seconds(configuration.url.connectTimeout + 5), "connecting to \(configuration.url)") {
                try await directory.probe()
            }
            try await directory.bounded(configuration.startTimeout, "migrating \(configuration.url)") {
                try await directory.migrate()
            }
        } catch {
            await directory.shutdown()
            throw error
        }
        return directory
    }

    /// `connect` with the URL text (`directory.url`).
    public static func connect(url: String, logger: Logger = Logger(label: "sealbox.directory.postgres")) async throws -> PostgresDirectory {
        try await connect(Configuration(url: try PostgresURL(url)), logger: logger)
    }

    /// The TLS configuration `sslmode` asks for (nil: `disable`).
    static func tlsConfiguration(_ url: PostgresURL) -> TLSConfiguration? {
        var config = TLSConfiguration.makeClientConfiguration()
        switch url.sslMode {
        case .disable: return nil
        case .prefer, .require: config.certificateVerification = .none
        case .verifyCA: config.certificateVerification = .noHostnameVerification
        case .verifyFull: config.certificateVerification = .fullVerification
        }
        if let roots = url.sslRootCertificate { config.trustRoots = .file(roots) }
        return config
    }

    /// Opens and closes one connection (the pool's own errors are retried, not reported).
    func probe() async throws {
        let url = configuration.url
        let tls: PostgresConnection.Configuration.TLS
        if let config = Self.tlsConfiguration(url) {
            let context: NIOSSLContext
            do { context = try NIOSSLContext(configuration: config) } catch {
                throw PostgresDirectoryError("cannot set up TLS for PostgreSQL (sslrootcert?): \(error)")
            }
            tls = url.sslMode == .prefer ? .prefer(context) : .require(context)
        } else {
            tls = .disable
        }
        var config = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                                      database: url.database, tls: tls)
        config.options.connectTimeout = .seconds(Int64(url.connectTimeout))
        let connection = try await PostgresConnection.connect(configuration: config, id: 0, logger: logger)
        try? await connection.close()
    }

    private init(configuration: Configuration, logger: Logger) throws {
        self.configuration = configuration
        // The pool logs each failed connection attempt at info: warnings and worse only.
        var logger = logger
        logger.logLevel = max(logger.logLevel, .warning)
        self.logger = logger
        let url = configuration.url
        let tls: PostgresClient.Configuration.TLS
        if let config = Self.tlsConfiguration(url) {
            tls = url.sslMode == .prefer ? .prefer(config) : .require(config)
        } else {
            tls = .disable
        }
        var clientConfig = PostgresClient.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                                        database: url.database, tls: tls)
        clientConfig.options.connectTimeout = .seconds(Int64(url.connectTimeout))
        clientConfig.options.maximumConnections = max(1, configuration.maxConnections)
        clientConfig.options.minimumConnections = 0
        let statementMillis = max(1000, Int(configuration.operationTimeout.components.seconds) * 1000)
        clientConfig.options.additionalStartupParameters = [
            ("statement_timeout", String(statementMillis)),
            ("lock_timeout", String(statementMillis)),
            ("application_name", "sealbox"),
        ]
        let client = PostgresClient(configuration: clientConfig, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
    }

    /// Ends the connection pool (bounded: the pool closes its connections). The directory is unusable afterwards.
    public func shutdown() async {
        runner.cancel()
        _ = await runner.value
    }

    // MARK: Plumbing

    /// Runs `body` within `limit`; past it, cancels it and throws a timeout at once, without
    /// waiting for `body` to notice (a task group would wait for it: a call on a connection the
    /// server had ended was seen to ignore its cancellation for minutes). The caller's own
    /// cancellation cancels `body` too.
    func bounded<T: Sendable>(_ limit: Duration, _ what: @autoclosure () -> String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let description = what()
        let url = configuration.url
        let race = BoundedRace<T>()
        let work = Task {
            do { race.finish(with: .success(try await body())) } catch { race.finish(with: .failure(error)) }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            if race.finish(with: .failure(PostgresDirectoryError("timed out after \(limit) \(description)"))) { work.cancel() }
        }
        defer { timer.cancel() }
        let result = await withTaskCancellationHandler {
            await race.value()
        } onCancel: {
            if race.finish(with: .failure(CancellationError())) { work.cancel() }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error as PSQLError): throw Self.translate(error, url: url)
        case .failure(let error): throw error
        }
    }

    /// One statement on a pooled connection (not in a transaction), its rows collected. A read
    /// (`SELECT`), or a write the caller says is `idempotent` (running it twice leaves the rows and
    /// its answer as running it once: `UPDATE … SET column = value … RETURNING 1`), that meets a
    /// connection PostgreSQL has ended runs again on another one.
    @discardableResult
    func query(_ query: PostgresQuery, idempotent: Bool = false) async throws -> [PostgresRow] {
        let repeatable = idempotent || Self.isRead(query)
        return try await onConnection(retry: { Self.lostBeforeSent($0) || (repeatable && Self.lostConnection($0)) }) { [logger] connection in
            try Self.checkOpen(connection)
            return try await connection.query(query, logger: logger).collect()
        }
    }

    /// `body` in a transaction (BEGIN … COMMIT; ROLLBACK when it throws, rethrowing its error).
    /// When the BEGIN meets a connection PostgreSQL has ended, nothing has run: the transaction
    /// starts again on another connection.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (Transaction) async throws -> T) async throws -> T {
        try await onConnection(retry: { ($0 as? NotBegun).map { Self.lostConnection($0.error) } ?? false }) { [logger] connection in
            do {
                try Self.checkOpen(connection)
                try await connection.query("BEGIN", logger: logger)
            } catch {
                throw NotBegun(error: error)
            }
            do {
                let value = try await body(Transaction(connection: connection, logger: logger))
                try await connection.query("COMMIT", logger: logger)
                return value
            } catch {
                do {
                    try await connection.query("ROLLBACK", logger: logger)
                } catch {
                    // Never hand a connection still inside a transaction back to the pool.
                    try? await connection.close()
                }
                throw error
            }
        }
    }

    /// `body` on a pooled connection, within `operationTimeout` (waiting for the connection
    /// included), run again on another connection while it fails with an error `retry` accepts
    /// (`replacingLostConnections`, at most once per pooled connection).
    private func onConnection<T: Sendable>(retry: @escaping @Sendable (any Error) -> Bool,
                                           _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let attempts = configuration.maxConnections + 1
        return try await bounded(configuration.operationTimeout, "waiting for PostgreSQL at \(configuration.url)") { [client] in
            try await Self.replacingLostConnections(attempts: attempts, retry: retry) {
                try await client.withConnection(body)
            }
        }
    }

    /// A transaction's BEGIN failed (so nothing of it ran).
    struct NotBegun: Error { let error: any Error }

    /// Runs `body` again while it fails with an error `retry` accepts, at most `attempts` times in
    /// all where a statement was sent: the pool drops each connection found ended, so a pool whose
    /// idle connections were all ended (a PostgreSQL restart, an admin's `pg_terminate_backend`) is
    /// worked through and the call goes on on a new connection. A connection refused before
    /// anything was sent (`ConnectionEnded`) does not count: the pool may hand the same one out
    /// until it has seen its end, so the call waits a little (10 ms more each time, at most 200 ms)
    /// and asks again, bounded by the caller's `operationTimeout`. Any other error, or the last
    /// one, is thrown as it came (a `NotBegun` unwrapped).
    static func replacingLostConnections<T: Sendable>(attempts: Int, retry: (any Error) -> Bool,
                                                      _ body: () async throws -> T) async throws -> T {
        var sent = 0, refused = 0
        while true {
            do {
                return try await body()
            } catch {
                let ended = error is ConnectionEnded || (error as? NotBegun)?.error is ConnectionEnded
                if ended { refused += 1 } else { sent += 1 }
                guard sent < attempts, retry(error), !Task.isCancelled else {
                    throw (error as? NotBegun)?.error ?? error
                }
                if ended { try await Task.sleep(for: .milliseconds(min(200, 10 * refused))) }
            }
        }
    }

    /// The pool handed out a connection that had already ended.
    struct ConnectionEnded: Error, CustomStringConvertible {
        var description: String { "the connection to PostgreSQL had ended" }
    }

    /// Refuses a connection that has already ended: postgres-nio 1.33 writes a statement to its
    /// channel without a promise, so on a closed channel the write fails unseen and the statement
    /// is never answered (the call waited for `operationTimeout`; seen in the tests right after
    /// `pg_terminate_backend`, about one run in ten). Checked before every statement; a channel
    /// that closes between the check and the write is still only bounded by `operationTimeout`.
    static func checkOpen(_ connection: PostgresConnection) throws {
        if connection.isClosed { throw ConnectionEnded() }
    }

    /// The connection had already ended when the statement was given to it (postgres-nio refuses
    /// it then without sending anything): safe to run anything again.
    static func lostBeforeSent(_ error: any Error) -> Bool {
        error is ConnectionEnded || (error as? PSQLError)?.code == .clientClosedConnection
    }

    /// The server ended the connection (closed or reset it, or terminated its backend: SQLSTATE
    /// class 57P, admin or crash shutdown) before or while the statement ran. A statement cut off this way
    /// is rolled back by PostgreSQL; a read or a BEGIN may run again.
    static func lostConnection(_ error: any Error) -> Bool {
        if error is ConnectionEnded { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        // A reset (`connectionError`, "Connection reset by peer") is the same end seen a moment
        // later: the socket closed by the terminated backend while the statement was being sent.
        case .clientClosedConnection, .serverClosedConnection, .connectionError: return true
        default:
            guard let state = error.serverInfo?[.sqlState] else { return false }
            return state == "57P01" || state == "57P02"
        }
    }

    /// Whether a statement only reads (a plain `SELECT` without `FOR UPDATE`/`FOR SHARE`).
    static func isRead(_ query: PostgresQuery) -> Bool {
        let sql = query.sql.drop { $0.isWhitespace }.uppercased()
        return sql.hasPrefix("SELECT") && !sql.contains(" FOR UPDATE") && !sql.contains(" FOR SHARE")
    }

    /// A connection inside a transaction.
    struct Transaction: Sendable {
        let connection: PostgresConnection
        let logger: Logger

        @discardableResult
        func query(_ query: PostgresQuery) async throws -> [PostgresRow] {
            try PostgresDirectory.checkOpen(connection)
            return try await connection.query(query, logger: logger).collect()
        }

        func exists(_ query: PostgresQuery) async throws -> Bool { try await !self.query(query).isEmpty }
    }

    /// A clear one-line error for a PostgreSQL failure: the server's message (never the query's
    /// values, never the password), or why it could not be reached.
    static func translate(_ error: PSQLError, url: PostgresURL) -> any Error {
        if let info = error.serverInfo {
            let state = info[.sqlState] ?? "?"
            let message = info[.message] ?? "error"
            return PostgresDirectoryError("PostgreSQL (\(url.host):\(url.port)/\(url.database)): \(message) [SQLSTATE \(state)]", sqlState: state)
        }
        switch error.code {
        case .connectionError:
            let reason = error.underlying.map { Self.shortReason($0) } ?? "\(error.code)"
            return PostgresDirectoryError("cannot reach PostgreSQL at \(url.host):\(url.port): \(reason)")
        case .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown:
            return PostgresDirectoryError("cannot reach PostgreSQL at \(url.host):\(url.port) (\(error.code))")
        case .sslUnsupported:
            return PostgresDirectoryError("PostgreSQL at \(url.host):\(url.port) does not offer TLS (sslmode=\(url.sslMode.rawValue))")
        default:
            return PostgresDirectoryError("PostgreSQL at \(url.host):\(url.port): \(error.code)")
        }
    }

    /// The end of a NIO connect error ("Connection refused (errno: 111)"), one line, bounded.
    static func shortReason(_ error: any Error) -> String {
        var text = "\(error)".replacingOccurrences(of: "\n", with: " ")
        if let range = text.range(of: "error: ", options: .backwards) { text = String(text[range.upperBound...]) }
        text = text.trimmingCharacters(in: CharacterSet(charactersIn: ") "))
        return String(text.prefix(200))
    }

    static func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == "23505" || (error as? PostgresDirectoryError)?.sqlState == "23505"
    }

    // MARK: Domains

    public func addDomain(_ domain: Domain) async throws -> DomainRecord {
        let record = DomainRecord(domain: domain)
        do {
            let rows = try await query("INSERT INTO domain (name, created) VALUES (\(domain.ascii), \(record.created)) ON CONFLICT DO NOTHING RETURNING 1")
            if rows.isEmpty { throw DirectoryError(.domainExists, "domain \(domain) already exists") }
        }
        return record
    }

    public func domains() async throws -> [DomainRecord] {
        try await query("SELECT name, created, default_quota_bytes FROM domain ORDER BY name").map(Self.domainRecord)
    }

    public func domain(_ domain: Domain) async throws -> DomainRecord? {
        try await query("SELECT name, created, default_quota_bytes FROM domain WHERE name = \(domain.ascii)").first.map(Self.domainRecord)
    }

    public func setDefaultQuota(_ domain: Domain, bytes: Int64?) async throws {
        if let bytes, bytes < 0 { throw DirectoryError(.invalidQuota, "a quota cannot be negative") }
        let rows = try await query("UPDATE domain SET default_quota_bytes = \(bytes) WHERE name = \(domain.ascii) RETURNING 1", idempotent: true)
        if rows.isEmpty { throw DirectoryError(.noSuchDomain, "no such domain: \(domain)") }
    }

    public func removeDomain(_ domain: Domain) async throws {
        try await transaction { tx in
            guard try await tx.exists("SELECT 1 FROM domain WHERE name = \(domain.ascii) FOR UPDATE") else {
                throw DirectoryError(.noSuchDomain, "no such domain: \(domain)")
            }
            let count = try await tx.query("SELECT count(*) FROM alias WHERE domain = \(domain.ascii)").first?.decode(Int.self) ?? 0
            if count > 0 {
                throw DirectoryError(.domainHasAliases, "domain \(domain) still has \(count) alias\(count == 1 ? "" : "es"); remove them first")
            }
            try await tx.query("DELETE FROM domain WHERE name = \(domain.ascii)")
        }
    }

    // MARK: Aliases

    public func addAlias(
        _ address: EmailAddress, store: Bool, forwardTo: [EmailAddress], webhooks: [String], quotaBytes: Int64?
    ) async throws -> AliasRecord {
        try await insertAlias(AliasRecord(address: address, store: store, forwardTo: forwardTo, webhooks: webhooks, quotaBytes: quotaBytes))
    }

    public func restoreAlias(_ restored: AliasRecord) async throws -> AliasRecord {
        try await DirectoryRules.restoreAlias(restored, in: self, insert: insertAlias)
    }

    private func insertAlias(_ proposed: AliasRecord) async throws -> AliasRecord {
        let record = try DirectoryRules.validatedAlias(proposed)
        let address = record.address, store = record.store, quotaBytes = record.quotaBytes
        let forwards = record.forwardTo, hooks = record.webhooks
        let forwardTexts = forwards.map(\.asciiDomainForm)
        do {
            try await transaction { tx in
                if try await tx.exists("SELECT 1 FROM alias WHERE id = \(record.id)") {
                    throw DirectoryError(.aliasExists, "an alias with this id already exists")
                }
                // FOR SHARE: the domain cannot be removed under the new alias.
                guard try await tx.exists("SELECT 1 FROM domain WHERE name = \(address.domain.ascii) FOR SHARE") else {
                    throw DirectoryError(.noSuchDomain, "no such domain: \(address.domain)")
                }
                if try await tx.exists("SELECT 1 FROM alias WHERE canonical = \(address.canonical)") {
                    throw DirectoryError(.aliasExists, "alias \(address) already exists")
                }
                try await tx.query("""
                    INSERT INTO alias (id, canonical, local_part, domain, store, forward_to, webhooks, quota_bytes, created)
                    VALUES (\(record.id), \(address.canonical), \(address.localPart), \(address.domain.ascii), \(store),
                            \(forwardTexts), \(hooks), \(quotaBytes), \(record.created))
                    """)
            }
        } catch where Self.isUniqueViolation(error) {
            throw DirectoryError(.aliasExists, "alias \(address) already exists")
        }
        return record
    }

    static let aliasColumns = "id, local_part, domain, store, forward_to, webhooks, quota_bytes, mailbox_id, public_key, created"

    public func alias(id: String) async throws -> AliasRecord? {
        try await query("SELECT \(unescaped: Self.aliasColumns) FROM alias WHERE id = \(id)").first.map(Self.aliasRecord)
    }

    public func alias(address: EmailAddress) async throws -> AliasRecord? {
        try await query("SELECT \(unescaped: Self.aliasColumns) FROM alias WHERE canonical = \(address.canonical)").first.map(Self.aliasRecord)
    }

    public func resolveRecipient(_ address: EmailAddress) async throws -> AliasRecord? {
        let exact = address.canonical
        guard let base = address.subaddressBase?.canonical else { return try await alias(address: address) }
        // One round trip: the exact alias first, else the plus-address base.
        let rows = try await query("""
            SELECT \(unescaped: Self.aliasColumns) FROM alias WHERE canonical = \(exact) OR canonical = \(base)
            ORDER BY (canonical = \(exact)) DESC LIMIT 1
            """)
        return try rows.first.map(Self.aliasRecord)
    }

    public func aliases(domain: Domain?) async throws -> [AliasRecord] {
        if let domain {
            return try await transaction { tx in
                guard try await tx.exists("SELECT 1 FROM domain WHERE name = \(domain.ascii)") else {
                    throw DirectoryError(.noSuchDomain, "no such domain: \(domain)")
                }
                return try await tx.query("SELECT \(unescaped: Self.aliasColumns) FROM alias WHERE domain = \(domain.ascii) ORDER BY canonical")
                    .map(Self.aliasRecord)
            }
        }
        return try await query("SELECT \(unescaped: Self.aliasColumns) FROM alias ORDER BY domain, canonical").map(Self.aliasRecord)
    }

    public func removeAlias(id: String) async throws {
        // Passwords, send-as, Sieve scripts and memories go with it (ON DELETE CASCADE).
        let rows = try await query("DELETE FROM alias WHERE id = \(id) RETURNING 1")
        if rows.isEmpty { throw DirectoryError(.noSuchAlias, "no such alias: \(id)") }
    }

    public func setMailbox(aliasID: String, mailboxID: String, publicKey: [UInt8]) async throws {
        try DirectoryRules.validateMailbox(mailboxID: mailboxID, publicKey: publicKey)
        do {
            try await transaction { tx in
                guard let row = try await tx.query("SELECT store, mailbox_id, canonical FROM alias WHERE id = \(aliasID) FOR UPDATE").first else {
                    throw DirectoryError(.noSuchAlias, "no such alias: \(aliasID)")
                }
                let (store, current, canonical) = try row.decode((Bool, String?, String).self)
                guard store else { throw DirectoryError(.aliasDoesNotStore, "alias \(canonical) does not store mail, so it has no mailbox") }
                if let current, current != mailboxID {
                    throw DirectoryError(.mailboxAlreadySet, "alias \(canonical) already has mailbox \(current)")
                }
                if let other = try await tx.query("SELECT canonical FROM alias WHERE mailbox_id = \(mailboxID) AND id <> \(aliasID)").first {
                    throw DirectoryError(.mailboxInUse, "mailbox \(mailboxID) already belongs to alias \(try other.decode(String.self))")
                }
                try await tx.query("UPDATE alias SET mailbox_id = \(mailboxID), public_key = \(Data(publicKey)) WHERE id = \(aliasID)")
            }
        } catch where Self.isUniqueViolation(error) {
            throw DirectoryError(.mailboxInUse, "mailbox \(mailboxID) already belongs to another alias")
        }
    }

    // MARK: Passwords

    static let passwordColumns = "alias_id, id, label, created, last_used, kdf, salt, wrapped_key, backup_locator"

    public func addPassword(_ record: PasswordRecord) async throws {
        try DirectoryRules.validatePassword(record)
        do {
            try await transaction { tx in
                guard try await tx.exists("SELECT 1 FROM alias WHERE id = \(record.aliasID) FOR SHARE") else {
                    throw DirectoryError(.noSuchAlias, "no such alias: \(record.aliasID)")
                }
                if try await tx.exists("SELECT 1 FROM password WHERE alias_id = \(record.aliasID) AND id = \(record.id)") {
                    throw DirectoryError(.passwordExists, "alias \(record.aliasID) already has a password \(record.id)")
                }
                try await tx.query("""
                    INSERT INTO password (\(unescaped: Self.passwordColumns))
                    VALUES (\(record.aliasID), \(record.id), \(record.label), \(record.created), \(record.lastUsed), \(record.kdf),
                            \(Data(record.salt)), \(Data(record.wrappedKey)), \(record.backupLocator))
                    """)
            }
        } catch where Self.isUniqueViolation(error) {
            throw DirectoryError(.passwordExists, "alias \(record.aliasID) already has a password \(record.id)")
        }
    }

    /// One statement, so one snapshot and one round trip (every login reads this): the alias's row
    /// joined with its passwords, a row of NULLs after it when it has none; no row: no such alias.
    /// (A transaction of BEGIN, a check, the SELECT and COMMIT was four round trips.)
    public func passwords(aliasID: String) async throws -> [PasswordRecord] {
        let rows = try await query("""
            SELECT \(unescaped: Self.joinedPasswordColumns)
            FROM alias a LEFT JOIN password p ON p.alias_id = a.id WHERE a.id = \(aliasID) ORDER BY p.created, p.id
            """)
        guard !rows.isEmpty else { throw DirectoryError(.noSuchAlias, "no such alias: \(aliasID)") }
        return try rows.filter { try $0.makeRandomAccess()[1].decode(String?.self) != nil }.map(Self.passwordRecord)
    }

    static let joinedPasswordColumns = passwordColumns.split(separator: ", ").map { "p." + $0 }.joined(separator: ", ")

    public func updatePassword(_ record: PasswordRecord) async throws {
        try DirectoryRules.validatePassword(record)
        let rows = try await query("""
            UPDATE password SET label = \(record.label), kdf = \(record.kdf), salt = \(Data(record.salt)), wrapped_key = \(Data(record.wrappedKey)),
                backup_locator = \(record.backupLocator)
            WHERE alias_id = \(record.aliasID) AND id = \(record.id) RETURNING 1
            """)
        if rows.isEmpty { throw Self.noSuchPassword(record.aliasID, record.id) }
    }

    public func removePassword(aliasID: String, passwordID: String) async throws {
        let rows = try await query("DELETE FROM password WHERE alias_id = \(aliasID) AND id = \(passwordID) RETURNING 1")
        if rows.isEmpty { throw Self.noSuchPassword(aliasID, passwordID) }
    }

    public func recordPasswordUse(aliasID: String, passwordID: String, at date: Date) async throws {
        let stamp = DirectoryDate.normalized(date)
        let rows = try await query("UPDATE password SET last_used = \(stamp) WHERE alias_id = \(aliasID) AND id = \(passwordID) RETURNING 1", idempotent: true)
        if rows.isEmpty { throw Self.noSuchPassword(aliasID, passwordID) }
    }

    public func setBackupLocator(aliasID: String, passwordID: String, locator: String) async throws {
        let rows = try await query("UPDATE password SET backup_locator = \(locator) WHERE alias_id = \(aliasID) AND id = \(passwordID) RETURNING 1", idempotent: true)
        if rows.isEmpty { throw Self.noSuchPassword(aliasID, passwordID) }
    }

    static func noSuchPassword(_ aliasID: String, _ passwordID: String) -> DirectoryError {
        DirectoryError(.noSuchPassword, "no such password \(passwordID) for alias \(aliasID)")
    }

    // MARK: DKIM keys

    public func dkimKeys(domain: Domain) async throws -> [DKIMKeyRecord] {
        try await query("""
            SELECT domain, selector, algorithm, private_key, created, retired FROM dkim_key
            WHERE domain = \(domain.ascii) ORDER BY created, selector
            """).map(Self.dkimKeyRecord)
    }

    public func rotateDKIMKeys(domain: Domain, adding records: [DKIMKeyRecord], retiring: Date, removingRetiredBefore: Date) async throws {
        for record in records {
            guard record.domain == domain, DKIMKeyRecord.isValidSelector(record.selector),
                  ["ed25519", "rsa"].contains(record.algorithm), !record.privateKey.isEmpty, record.retired == nil
            else { throw DirectoryError(.invalidDKIMKey, "invalid DKIM key record for \(domain)") }
        }
        let retiring = DirectoryDate.normalized(retiring), before = DirectoryDate.normalized(removingRetiredBefore)
        try await transaction { tx in
            guard try await tx.exists("SELECT 1 FROM domain WHERE name = \(domain.ascii) FOR UPDATE") else {
                throw DirectoryError(.noSuchDomain, "no such domain: \(domain)")
            }
            try await tx.query("DELETE FROM dkim_key WHERE domain = \(domain.ascii) AND retired IS NOT NULL AND retired < \(before)")
            try await tx.query("UPDATE dkim_key SET retired = \(retiring) WHERE domain = \(domain.ascii) AND retired IS NULL")
            for record in records {
                if try await tx.exists("SELECT 1 FROM dkim_key WHERE domain = \(domain.ascii) AND selector = \(record.selector)") {
                    throw DirectoryError(.invalidDKIMKey, "DKIM selector \(record.selector) of \(domain) is already in use")
                }
                try await tx.query("""
                    INSERT INTO dkim_key (domain, selector, algorithm, private_key, created, retired)
                    VALUES (\(domain.ascii), \(record.selector), \(record.algorithm), \(Data(record.privateKey)), \(record.created), NULL)
                    """)
            }
        }
    }

    // MARK: Rows

    static func date(_ date: Date) -> Date { DirectoryDate.normalized(date) }

    static func domainRecord(_ row: PostgresRow) throws -> DomainRecord {
        let (name, created, quota) = try row.decode((String, Date, Int64?).self)
        guard let domain = try? Domain(name) else { throw DirectoryError(.corruptRecord, "stored domain is invalid") }
        return DomainRecord(domain: domain, created: date(created), defaultQuotaBytes: quota)
    }

    static func aliasRecord(_ row: PostgresRow) throws -> AliasRecord {
        let cells = row.makeRandomAccess()
        let id = try cells[0].decode(String.self), localPart = try cells[1].decode(String.self), domain = try cells[2].decode(String.self)
        let store = try cells[3].decode(Bool.self), forwardTo = try cells[4].decode([String].self), webhooks = try cells[5].decode([String].self)
        let quota = try cells[6].decode(Int64?.self), mailboxID = try cells[7].decode(String?.self)
        let publicKey = try cells[8].decode(Data?.self), created = try cells[9].decode(Date.self)
        guard let address = try? EmailAddress(localPart + "@" + domain) else {
            throw DirectoryError(.corruptRecord, "stored address is invalid")
        }
        var forwards: [EmailAddress] = []
        for text in forwardTo {
            guard let forward = try? EmailAddress(text) else { throw DirectoryError(.corruptRecord, "stored forward address is invalid") }
            forwards.append(forward)
        }
        return AliasRecord(id: id, address: address, store: store, forwardTo: forwards, webhooks: webhooks, quotaBytes: quota,
                           mailboxID: mailboxID, publicKey: publicKey.map { [UInt8]($0) }, created: Self.date(created))
    }

    static func passwordRecord(_ row: PostgresRow) throws -> PasswordRecord {
        let cells = row.makeRandomAccess()
        return PasswordRecord(
            id: try cells[1].decode(String.self), aliasID: try cells[0].decode(String.self), label: try cells[2].decode(String?.self),
            created: date(try cells[3].decode(Date.self)), lastUsed: try cells[4].decode(Date?.self).map(date), kdf: try cells[5].decode(String.self),
            salt: [UInt8](try cells[6].decode(Data.self)), wrappedKey: [UInt8](try cells[7].decode(Data.self)),
            backupLocator: try cells[8].decode(String?.self))
    }

    static func dkimKeyRecord(_ row: PostgresRow) throws -> DKIMKeyRecord {
        let (name, selector, algorithm, key, created, retired) = try row.decode((String, String, String, Data, Date, Date?).self)
        guard let domain = try? Domain(name) else { throw DirectoryError(.corruptRecord, "unreadable domain in a DKIM key record") }
        return DKIMKeyRecord(domain: domain, selector: selector, algorithm: algorithm, privateKey: [UInt8](key), created: date(created),
                             retired: retired.map(date))
    }
}

/// A PostgreSQL failure that is not a directory rule: unreachable, timed out, a server error.
/// Never holds the URL's password or a query's values.
public struct PostgresDirectoryError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// The server's SQLSTATE, when it answered with an error.
    public let sqlState: String?
    public init(_ description: String, sqlState: String? = nil) { self.description = description; self.sqlState = sqlState }
}

/// The first of a bounded call's outcomes (its result, the timeout, the caller's cancellation):
/// kept once, handed to the one waiter.
final class BoundedRace<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiter: CheckedContinuation<Result<T, any Error>, Never>?
    }
    private let state = Mutex(State())

    /// Records `result` unless an outcome is already there; true when it was the first.
    @discardableResult
    func finish(with result: Result<T, any Error>) -> Bool {
        let (first, waiter) = state.withLock { s -> (Bool, CheckedContinuation<Result<T, any Error>, Never>?) in
            guard s.result == nil else { return (false, nil) }
            s.result = result
            defer { s.waiter = nil }
            return (true, s.waiter)
        }
        waiter?.resume(returning: result)
        return first
    }

    func value() async -> Result<T, any Error> {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> Result<T, any Error>? in
                if let result = s.result { return result }
                s.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
