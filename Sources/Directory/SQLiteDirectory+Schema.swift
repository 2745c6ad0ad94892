import GRDB

extension SQLiteDirectory {
    /// Schema migrations. Never edit a registered migration: add the next one ("v2", …).
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE domain (
                    name TEXT NOT NULL PRIMARY KEY,          -- Domain.ascii
                    created TEXT NOT NULL                    -- ISO 8601 UTC
                ) WITHOUT ROWID;

                CREATE TABLE alias (
                    id TEXT NOT NULL PRIMARY KEY,            -- random 128-bit hex
                    canonical TEXT NOT NULL UNIQUE,          -- EmailAddress.canonical: the lookup key
                    local_part TEXT NOT NULL,                -- as given (NFC, case preserved)
                    domain TEXT NOT NULL REFERENCES domain(name) ON DELETE RESTRICT,
                    store INTEGER NOT NULL CHECK (store IN (0, 1)),
                    forward_to TEXT NOT NULL DEFAULT '[]',   -- JSON array of addresses
                    webhooks TEXT NOT NULL DEFAULT '[]',     -- JSON array of URLs
                    quota_bytes INTEGER CHECK (quota_bytes IS NULL OR quota_bytes >= 0),
                    mailbox_id TEXT UNIQUE,
                    public_key BLOB,
                    created TEXT NOT NULL,
                    CHECK ((mailbox_id IS NULL) = (public_key IS NULL))
                );
                CREATE INDEX alias_domain ON alias(domain);

                CREATE TABLE password (
                    alias_id TEXT NOT NULL REFERENCES alias(id) ON DELETE CASCADE,
                    id TEXT NOT NULL,
                    label TEXT,
                    created TEXT NOT NULL,
                    last_used TEXT,
                    kdf TEXT NOT NULL,
                    salt BLOB NOT NULL,
                    wrapped_key BLOB NOT NULL,
                    PRIMARY KEY (alias_id, id)
                ) WITHOUT ROWID;
                """)
        }
        // Submission (RFC 6409): the addresses an alias may send as besides its own, and the
        // messages it submitted lately (the per-alias limits count them across restarts).
        migrator.registerMigration("v2-send-as") { db in
            try db.execute(sql: """
                CREATE TABLE alias_send_as (
                    alias_id TEXT NOT NULL REFERENCES alias(id) ON DELETE CASCADE,
                    address TEXT NOT NULL,                   -- EmailAddress.canonical, or `*@` + Domain.ascii
                    PRIMARY KEY (alias_id, address)
                ) WITHOUT ROWID;

                CREATE TABLE submission_log (
                    id INTEGER PRIMARY KEY,
                    alias_id TEXT NOT NULL REFERENCES alias(id) ON DELETE CASCADE,
                    at TEXT NOT NULL,                        -- ISO 8601 UTC
                    recipients INTEGER NOT NULL CHECK (recipients >= 0)
                );
                CREATE INDEX submission_log_alias_at ON submission_log(alias_id, at);
                """)
        }
        // DKIM signing keys of each domain (RFC 6376): the active pair signs, retired ones stay
        // listed (for their DNS records) until removed.
        migrator.registerMigration("v2-dkim") { db in
            try db.execute(sql: """
                CREATE TABLE dkim_key (
                    domain TEXT NOT NULL REFERENCES domain(name) ON DELETE CASCADE,
                    selector TEXT NOT NULL,
                    algorithm TEXT NOT NULL CHECK (algorithm IN ('ed25519', 'rsa')),
                    private_key BLOB NOT NULL,
                    created TEXT NOT NULL,
                    retired TEXT,
                    PRIMARY KEY (domain, selector)
                ) WITHOUT ROWID;
                """)
        }
        // Sieve scripts (RFC 5228) of each alias, as ManageSieve (RFC 5804) stores them; at most
        // one active (the partial unique index).
        migrator.registerMigration("v3-sieve") { db in
            try db.execute(sql: """
                CREATE TABLE sieve_script (
                    alias_id TEXT NOT NULL REFERENCES alias(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    content TEXT NOT NULL,
                    active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
                    updated TEXT NOT NULL,                   -- ISO 8601 UTC
                    PRIMARY KEY (alias_id, name)
                ) WITHOUT ROWID;
                CREATE UNIQUE INDEX sieve_script_active ON sieve_script(alias_id) WHERE active = 1;
                """)
        }
        registerSieveMemoryMigration(&migrator)  // "v4-sieve-memory" (SQLiteDirectory+SieveMemory.swift)
        registerAdminTokenMigration(&migrator)  // "v5-admin-tokens" (SQLiteDirectory+AdminTokens.swift)
        // A domain's default storage quota, for its aliases without one of their own.
        migrator.registerMigration("v6-domain-quota") { db in
            try db.execute(sql: """
                ALTER TABLE domain ADD COLUMN default_quota_bytes INTEGER
                    CHECK (default_quota_bytes IS NULL OR default_quota_bytes >= 0);
                """)
        }
        // Each password's backup locator (where it finds the mailbox's backups; KeyHierarchy.backupLocator).
        migrator.registerMigration("v7-backup-locator") { db in
            try db.execute(sql: "ALTER TABLE password ADD COLUMN backup_locator TEXT")
        }
        return migrator
    }()
}
