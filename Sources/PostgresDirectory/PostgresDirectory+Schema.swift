import Directory
import Foundation
import PostgresNIO

extension PostgresDirectory {
    /// One schema migration: a name recorded in `sealbox_migration` once applied, and its statements
    /// (one each: the extended protocol runs one statement per query).
    struct Migration: Sendable {
        let name: String
        let statements: [String]
    }

    /// The advisory lock key the migrations run under (any constant; "sealbox" in ASCII).
    static let migrationLockKey: Int64 = 0x7365_616c_626f_78

    /// Never edit a registered migration: add the next one. The directory tables mirror
    /// `SQLiteDirectory+Schema.swift` (its v1 … v7 in one), then the cluster registry's.
    static let migrations: [Migration] = [
        Migration(name: "v1-directory", statements: [
            """
            CREATE TABLE domain (
                name TEXT COLLATE "C" NOT NULL PRIMARY KEY,          -- Domain.ascii
                created TIMESTAMPTZ NOT NULL,
                default_quota_bytes BIGINT CHECK (default_quota_bytes IS NULL OR default_quota_bytes >= 0)
            )
            """,
            """
            CREATE TABLE alias (
                id TEXT COLLATE "C" NOT NULL PRIMARY KEY,            -- random 128-bit hex
                canonical TEXT COLLATE "C" NOT NULL UNIQUE,          -- EmailAddress.canonical: the lookup key
                local_part TEXT NOT NULL,                            -- as given (NFC, case preserved)
                domain TEXT COLLATE "C" NOT NULL REFERENCES domain(name) ON DELETE RESTRICT,
                store BOOLEAN NOT NULL,
                forward_to TEXT[] NOT NULL DEFAULT '{}',             -- addresses (ASCII domain form)
                webhooks TEXT[] NOT NULL DEFAULT '{}',               -- http(s) URLs
                quota_bytes BIGINT CHECK (quota_bytes IS NULL OR quota_bytes >= 0),
                mailbox_id TEXT COLLATE "C" UNIQUE,
                public_key BYTEA,
                created TIMESTAMPTZ NOT NULL,
                CHECK ((mailbox_id IS NULL) = (public_key IS NULL))
            )
            """,
            "CREATE INDEX alias_domain ON alias(domain, canonical)",
            """
            CREATE TABLE password (
                alias_id TEXT COLLATE "C" NOT NULL REFERENCES alias(id) ON DELETE CASCADE,
                id TEXT COLLATE "C" NOT NULL,
                label TEXT,
                created TIMESTAMPTZ NOT NULL,
                last_used TIMESTAMPTZ,
                kdf TEXT NOT NULL,
                salt BYTEA NOT NULL,
                wrapped_key BYTEA NOT NULL,
                backup_locator TEXT,
                PRIMARY KEY (alias_id, id)
            )
            """,
            """
            CREATE TABLE alias_send_as (
                alias_id TEXT COLLATE "C" NOT NULL REFERENCES alias(id) ON DELETE CASCADE,
                address TEXT COLLATE "C" NOT NULL,                   -- EmailAddress.canonical, or `*@` + Domain.ascii
                PRIMARY KEY (alias_id, address)
            )
            """,
            """
            CREATE TABLE submission_log (
                id BIGSERIAL PRIMARY KEY,
                alias_id TEXT COLLATE "C" NOT NULL REFERENCES alias(id) ON DELETE CASCADE,
                at TIMESTAMPTZ NOT NULL,
                recipients INTEGER NOT NULL CHECK (recipients >= 0)
            )
            """,
            "CREATE INDEX submission_log_alias_at ON submission_log(alias_id, at)",
            """
            CREATE TABLE dkim_key (
                domain TEXT COLLATE "C" NOT NULL REFERENCES domain(name) ON DELETE CASCADE,
                selector TEXT COLLATE "C" NOT NULL,
                algorithm TEXT NOT NULL CHECK (algorithm IN ('ed25519', 'rsa')),
                private_key BYTEA NOT NULL,
                created TIMESTAMPTZ NOT NULL,
                retired TIMESTAMPTZ,
                PRIMARY KEY (domain, selector)
            )
            """,
            """
            CREATE TABLE sieve_script (
                alias_id TEXT COLLATE "C" NOT NULL REFERENCES alias(id) ON DELETE CASCADE,
                name TEXT COLLATE "C" NOT NULL,
                content TEXT NOT NULL,
                active BOOLEAN NOT NULL DEFAULT FALSE,
                updated TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (alias_id, name)
            )
            """,
            "CREATE UNIQUE INDEX sieve_script_active ON sieve_script(alias_id) WHERE active",
            """
            CREATE TABLE sieve_memory (
                alias_id TEXT COLLATE "C" NOT NULL REFERENCES alias(id) ON DELETE CASCADE,
                kind SMALLINT NOT NULL CHECK (kind IN (1, 2)),       -- SieveMemoryKind
                digest BYTEA NOT NULL,                               -- HMAC-SHA256 (SieveMemoryHasher), never the key
                expires TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (alias_id, kind, digest)
            )
            """,
            "CREATE INDEX sieve_memory_expires ON sieve_memory(expires)",
            "CREATE INDEX sieve_memory_alias_expires ON sieve_memory(alias_id, kind, expires)",
            """
            CREATE TABLE sieve_run_error (
                id BIGSERIAL PRIMARY KEY,
                alias_id TEXT COLLATE "C" NOT NULL REFERENCES alias(id) ON DELETE CASCADE,
                at TIMESTAMPTZ NOT NULL,
                script TEXT NOT NULL,
                message TEXT NOT NULL
            )
            """,
            "CREATE INDEX sieve_run_error_alias ON sieve_run_error(alias_id, id)",
            """
            CREATE TABLE admin_token (
                id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                label TEXT,
                hash BYTEA NOT NULL UNIQUE CHECK (length(hash) = 32),   -- SHA-256 of the token
                created TIMESTAMPTZ NOT NULL,
                last_used TIMESTAMPTZ
            )
            """,
        ]),
        // The cluster registry (PostgresClusterRegistry): nodes, and each mailbox's owner and lease.
        Migration(name: "v2-cluster-registry", statements: [
            """
            CREATE TABLE cluster_node (
                id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                name TEXT COLLATE "C" NOT NULL UNIQUE,
                rpc_address TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('all', 'storage', 'frontend')),
                state TEXT NOT NULL CHECK (state IN ('active', 'draining', 'stopped')),
                free_bytes BIGINT NOT NULL DEFAULT 0 CHECK (free_bytes >= 0),
                capacity_bytes BIGINT NOT NULL DEFAULT 0 CHECK (capacity_bytes >= 0),
                registered TIMESTAMPTZ NOT NULL,
                last_heartbeat TIMESTAMPTZ NOT NULL
            )
            """,
            """
            CREATE TABLE mailbox_placement (
                mailbox_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                node_id TEXT COLLATE "C" NOT NULL REFERENCES cluster_node(id) ON DELETE RESTRICT,
                lease_token BIGINT NOT NULL CHECK (lease_token >= 0),   -- fencing token: only grows
                lease_holder TEXT COLLATE "C" REFERENCES cluster_node(id) ON DELETE RESTRICT,
                lease_expires TIMESTAMPTZ,
                CHECK ((lease_holder IS NULL) = (lease_expires IS NULL))
            )
            """,
            "CREATE INDEX mailbox_placement_node ON mailbox_placement(node_id, mailbox_id)",
        ]),
        // What each node counts at its heartbeat (NodeStats): `sealbox cluster status`.
        Migration(name: "v3-node-stats", statements: [
            "ALTER TABLE cluster_node ADD COLUMN stats TEXT NOT NULL DEFAULT ''",
        ]),
    ]

    /// Applies the missing migrations in one transaction under a transaction-scoped advisory
    /// lock: a second process starting at the same time waits, then finds them applied.
    func migrate() async throws {
        let known = Set(Self.migrations.map(\.name))
        try await transaction { tx in
            try await tx.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))")
            try await tx.query("""
                CREATE TABLE IF NOT EXISTS sealbox_migration (
                    name TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                    applied TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """)
            let applied = Set(try await tx.query("SELECT name FROM sealbox_migration").map { try $0.decode(String.self) })
            if !applied.isSubset(of: known) {
                throw DirectoryError(.schemaTooNew, "the PostgreSQL directory was migrated by a newer version of Sealbox; refusing to use it")
            }
            for migration in Self.migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try await tx.query(PostgresQuery(unsafeSQL: statement)) }
                try await tx.query("INSERT INTO sealbox_migration (name) VALUES (\(migration.name))")
            }
        }
    }

    /// The migrations applied to the database, in the order they were applied.
    public func appliedMigrations() async throws -> [String] {
        try await query("SELECT name FROM sealbox_migration ORDER BY applied, name").map { try $0.decode(String.self) }
    }
}
