import Foundation
import GRDB
import MIMEParser
import MailboxAPI

/// The schema of a mailbox file, versioned with GRDB migrations. Checked at every open and
/// upgraded automatically.
///
/// Designed for IMAP (RFC 3501/9051, CONDSTORE/QRESYNC):
/// - `folders`: path ("/"-separated, INBOX canonical), special-use, UIDVALIDITY, UIDNEXT,
///   HIGHESTMODSEQ, the first UID still \Recent. `subscriptions`: the subscribed names
///   (a subscription outlives its folder).
/// - `messages`: one row per message in a folder (UID, MODSEQ, system flags as a bit set,
///   INTERNALDATE, RFC822.SIZE) pointing at its `contents` row. COPY shares the content.
/// - `contents`: the message itself, once per mailbox (SHA-256 of the bytes): the raw header block,
///   the body as a layout of inline bytes and references to `parts`, and the parsed columns that
///   SEARCH and THREAD use. `parts`: MIME leaf bodies over a threshold, content-addressed, so an
///   attachment received many times is stored once. A content or part goes when the last row
///   pointing at it does (found through the indexes; the `refcount` columns are no longer kept:
///   they sit after blob columns, and changing them rewrote the blobs).
/// - `expunged`: the expunge log with MODSEQ (QRESYNC VANISHED).
/// - `content_fts`: FTS5 with the trigram tokenizer (case-insensitive; `detail=column`: which
///   trigrams occur in which column), narrowing substring searches (see `fullTextSearch`). Since
///   v12, mailboxes made empty use `sealbox_trigram` (CSealboxFTS), which gives FTS5 each distinct
///   trigram of a column once: the same index, built with less work.
///   Filled after the write that stores a message, in batches; contents above
///   `meta.fts_indexed_to` are not indexed yet (since v13, MailboxDatabase+SearchIndex).
/// - `content_structures`: each content's parsed structure (MIMEParser's MessageStructure,
///   versioned encoding), what FETCH ENVELOPE/BODY/BODYSTRUCTURE answer from.
/// - `content_derived`: bytes a protocol derived from a content and keeps with it, by kind (IMAP's
///   encoded ENVELOPE and BODYSTRUCTURE): a cache, rebuilt from the content when missing.
/// - `threads` (a thread goes with its last message), `meta`. Content and thread ids are taken from
///   counters in `meta` (`next_content_id`, `next_thread_id`), never reused: IMAP shows them
///   (EMAILID, THREADID, RFC 8474). `messages.thread_id` copies the content's thread and
///   `messages.save_date` is when the row was made (SAVEDATE, RFC 8514), both since v11.
/// Dates are ISO 8601 UTC strings. Indexed: what a query looks up (UIDs, MODSEQ for sync, content
/// and part hashes, Message-IDs for threading, references); SEARCH filters a folder's rows in memory.
enum MailboxSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta (
                    key   TEXT PRIMARY KEY NOT NULL,
                    value BLOB
                ) WITHOUT ROWID;

                CREATE TABLE folders (
                    id             INTEGER PRIMARY KEY,
                    path           TEXT NOT NULL UNIQUE,
                    special_use    TEXT,
                    uid_validity   INTEGER NOT NULL,
                    uid_next       INTEGER NOT NULL DEFAULT 1,
                    highest_modseq INTEGER NOT NULL DEFAULT 1,
                    recent_uid     INTEGER NOT NULL DEFAULT 1,
                    subscribed     INTEGER NOT NULL DEFAULT 1,
                    created        TEXT NOT NULL
                );
                CREATE INDEX folders_special_use ON folders(special_use);

                CREATE TABLE threads (
                    id              INTEGER PRIMARY KEY,
                    root_message_id TEXT,
                    base_subject    TEXT
                );

                CREATE TABLE contents (
                    id              INTEGER PRIMARY KEY,
                    sha256          BLOB NOT NULL UNIQUE,
                    size            INTEGER NOT NULL,
                    header          BLOB NOT NULL,
                    body            BLOB NOT NULL,
                    refcount        INTEGER NOT NULL DEFAULT 0,
                    sent_date       TEXT,
                    subject         TEXT,
                    from_addr       TEXT,
                    to_addr         TEXT,
                    cc_addr         TEXT,
                    bcc_addr        TEXT,
                    message_id      TEXT,
                    in_reply_to     TEXT,
                    refs            TEXT,
                    has_attachments INTEGER NOT NULL DEFAULT 0,
                    thread_id       INTEGER REFERENCES threads(id) ON DELETE SET NULL
                );
                CREATE INDEX contents_sent_date  ON contents(sent_date);
                CREATE INDEX contents_message_id ON contents(message_id);
                CREATE INDEX contents_thread     ON contents(thread_id);
                CREATE INDEX contents_subject    ON contents(subject);
                CREATE INDEX contents_from       ON contents(from_addr);

                CREATE TABLE parts (
                    id       INTEGER PRIMARY KEY,
                    sha256   BLOB NOT NULL UNIQUE,
                    size     INTEGER NOT NULL,
                    data     BLOB NOT NULL,
                    refcount INTEGER NOT NULL DEFAULT 0
                );

                CREATE TABLE content_parts (
                    content_id INTEGER NOT NULL REFERENCES contents(id) ON DELETE CASCADE,
                    ordinal    INTEGER NOT NULL,
                    part_id    INTEGER NOT NULL REFERENCES parts(id),
                    PRIMARY KEY (content_id, ordinal)
                ) WITHOUT ROWID;
                CREATE INDEX content_parts_part ON content_parts(part_id);

                CREATE TABLE messages (
                    id            INTEGER PRIMARY KEY,
                    folder_id     INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
                    uid           INTEGER NOT NULL,
                    modseq        INTEGER NOT NULL,
                    flags         INTEGER NOT NULL DEFAULT 0,
                    internal_date TEXT NOT NULL,
                    size          INTEGER NOT NULL,
                    content_id    INTEGER NOT NULL REFERENCES contents(id),
                    UNIQUE (folder_id, uid)
                );
                CREATE INDEX messages_modseq        ON messages(folder_id, modseq);
                CREATE INDEX messages_flags         ON messages(folder_id, flags);
                CREATE INDEX messages_internal_date ON messages(folder_id, internal_date);
                CREATE INDEX messages_size          ON messages(folder_id, size);
                CREATE INDEX messages_content       ON messages(content_id);

                CREATE TABLE message_keywords (
                    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
                    keyword    TEXT NOT NULL,
                    PRIMARY KEY (message_id, keyword)
                ) WITHOUT ROWID;
                CREATE INDEX message_keywords_keyword ON message_keywords(keyword);

                CREATE TABLE expunged (
                    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
                    uid       INTEGER NOT NULL,
                    modseq    INTEGER NOT NULL,
                    PRIMARY KEY (folder_id, uid)
                ) WITHOUT ROWID;
                CREATE INDEX expunged_modseq ON expunged(folder_id, modseq);

                CREATE VIRTUAL TABLE content_fts USING fts5(
                    subject, addresses, body, attachments,
                    content = '', contentless_delete = 1,
                    tokenize = 'trigram case_sensitive 0', detail = column
                );

                -- Storage used by the mailbox (IMAP QUOTA): the sum of RFC822.SIZE of every message.
                INSERT INTO meta(key, value) VALUES ('usage_bytes', 0);
                CREATE TRIGGER messages_usage_insert AFTER INSERT ON messages BEGIN
                    UPDATE meta SET value = value + NEW.size WHERE key = 'usage_bytes';
                END;
                CREATE TRIGGER messages_usage_delete AFTER DELETE ON messages BEGIN
                    UPDATE meta SET value = value - OLD.size WHERE key = 'usage_bytes';
                END;
                """)
        }
        // The parsed structure FETCH answers from (MIMEParser's MessageStructure, encoded); NULL
        // or another version: parsed again from the message when next read.
        migrator.registerMigration("v2-structure") { db in
            try db.execute(sql: "ALTER TABLE contents ADD COLUMN structure BLOB")
        }
        // Part bodies over MessageLayout.chunkSize are kept in chunks (`parts.chunks` of them,
        // `parts.data` empty), so that a large message is read piece by piece.
        migrator.registerMigration("v3-part-chunks") { db in
            try db.execute(sql: """
                ALTER TABLE parts ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE part_chunks (
                    id      INTEGER PRIMARY KEY,
                    part_id INTEGER NOT NULL REFERENCES parts(id) ON DELETE CASCADE,
                    seq     INTEGER NOT NULL,
                    data    BLOB NOT NULL,
                    UNIQUE (part_id, seq)
                );
                """)
        }
        // Indexes no query reads (SEARCH filters the folder's rows in memory, and substring
        // matches cannot use a b-tree): each cost a page write on every delivery.
        migrator.registerMigration("v4-drop-unused-indexes") { db in
            try db.execute(sql: """
                DROP INDEX IF EXISTS contents_sent_date;
                DROP INDEX IF EXISTS contents_subject;
                DROP INDEX IF EXISTS contents_from;
                DROP INDEX IF EXISTS messages_flags;
                DROP INDEX IF EXISTS messages_internal_date;
                DROP INDEX IF EXISTS messages_size;
                """)
        }
        // Structures in their own table: `contents.structure` (added last, after the header and
        // layout blobs) made every FETCH ENVELOPE/BODYSTRUCTURE walk each row's overflow pages.
        // Not copied: version 1 structures are re-parsed on first read anyway (as after any
        // version change); the old column stays unread.
        migrator.registerMigration("v5-structure-table") { db in
            try db.execute(sql: """
                CREATE TABLE content_structures (
                    content_id INTEGER PRIMARY KEY REFERENCES contents(id) ON DELETE CASCADE,
                    structure  BLOB NOT NULL
                );
                """)
        }
        // Contents whose last message went (EXPUNGE, folder delete), deleted by the maintenance
        // pass after the command has answered (MailboxDatabase+Space).
        migrator.registerMigration("v6-unreferenced-contents") { db in
            try db.execute(sql: "CREATE TABLE unreferenced_contents (content_id INTEGER PRIMARY KEY)")
        }
        migrator.registerMigration("v7-derived") { db in
            try db.execute(sql: """
                CREATE TABLE content_derived (
                    content_id INTEGER NOT NULL REFERENCES contents(id) ON DELETE CASCADE,
                    kind       TEXT NOT NULL,
                    data       BLOB NOT NULL,
                    PRIMARY KEY (content_id, kind)
                ) WITHOUT ROWID;
                """)
        }
        // FTS5 merges a level's segments once `automerge` of them exist (default 4): with a
        // segment per transaction, an upload rewrote the whole trigram index once per level. 16
        // per level writes it about half as often; a query reads at most a few more segments.
        migrator.registerMigration("v8-fts-automerge") { db in
            try db.execute(sql: "INSERT INTO content_fts(content_fts, rank) VALUES ('automerge', 16)")
        }
        // Subscriptions by name, apart from the folders (RFC 3501 §6.3.4: deleting a folder
        // leaves its subscription, which LSUB may still show). `folders.subscribed` stays, unread.
        migrator.registerMigration("v9-subscriptions") { db in
            try db.execute(sql: """
                CREATE TABLE subscriptions (path TEXT PRIMARY KEY) WITHOUT ROWID;
                INSERT INTO subscriptions(path) SELECT path FROM folders WHERE subscribed = 1;
                """)
        }
        // The Date: header's calendar day as written in its own zone, which `sent_date` (UTC)
        // loses: SENTON and friends compare it (RFC 3501 §6.4.4). A narrow table, so that SEARCH
        // reads neither the content rows nor their blobs. Filled from each stored header; the
        // address columns are re-derived in the same pass to carry group names (RFC 5322
        // `Friends: a@x, b@y;`), rewritten only where they change.
        migrator.registerMigration("v10-sent-day") { db in
            try db.execute(sql: """
                CREATE TABLE content_dates (
                    content_id INTEGER PRIMARY KEY REFERENCES contents(id) ON DELETE CASCADE,
                    sent_day   INTEGER NOT NULL
                );
                """)
            let rows = try Row.fetchCursor(db, sql: "SELECT id, header, from_addr, to_addr, cc_addr, bcc_addr FROM contents")
            var updates: [(id: Int64, day: Int?, addresses: [String?]?)] = []
            while let row = try rows.next() {
                let m = MIMEMessage.parse(Array(row[1] as Data))
                let old: [String?] = [row[2], row[3], row[4], row[5]]
                let new = ["from", "to", "cc", "bcc"].map { m.addressText($0) }
                updates.append((row[0], m.sentDay, new == old ? nil : new))
            }
            for u in updates {
                if let day = u.day { try db.execute(sql: "INSERT INTO content_dates(content_id, sent_day) VALUES (?, ?)", arguments: [u.id, day]) }
                if let a = u.addresses {
                    try db.execute(sql: "UPDATE contents SET from_addr = ?, to_addr = ?, cc_addr = ?, bcc_addr = ? WHERE id = ?",
                                   arguments: [a[0], a[1], a[2], a[3], u.id])
                }
            }
        }
        // RFC 8514 SAVEDATE and RFC 8474 THREADID, read with the other index columns (a message
        // row has no blobs): when the message was saved into its folder, and its content's thread
        // (copied from `contents.thread_id`, which sits after the blobs). Save dates of messages
        // stored before this version are not known: they stay NULL (FETCH SAVEDATE answers NIL,
        // SAVEDBEFORE/ON/SINCE compare their internal date instead).
        migrator.registerMigration("v11-save-date-thread") { db in
            try db.execute(sql: """
                ALTER TABLE messages ADD COLUMN save_date TEXT;
                ALTER TABLE messages ADD COLUMN thread_id INTEGER;
                UPDATE messages SET thread_id = (SELECT c.thread_id FROM contents c WHERE c.id = messages.content_id);
                """)
        }
        // The full-text table of a mailbox that holds no message yet is made again with
        // `sealbox_trigram` (CSealboxFTS: each distinct trigram of a column given to FTS5 once,
        // the same `detail = column` index for a fraction of the work). A mailbox that already
        // holds messages keeps the built-in `trigram`, whose index is the same: both answer the
        // same queries, only its inserts cost more.
        migrator.registerMigration("v12-fts-distinct-trigrams") { db in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM contents LIMIT 1") == nil else { return }
            try db.execute(sql: """
                DROP TABLE content_fts;
                CREATE VIRTUAL TABLE content_fts USING fts5(
                    subject, addresses, body, attachments,
                    content = '', contentless_delete = 1,
                    tokenize = 'sealbox_trigram case_sensitive 0', detail = column
                );
                INSERT INTO content_fts(content_fts, rank) VALUES ('automerge', 16);
                """)
        }
        // The full-text index is filled after the write that stores a message (MailboxDatabase+SearchIndex):
        // contents above this mark are not indexed yet. Everything already stored is.
        migrator.registerMigration("v13-fts-indexed-mark") { db in
            try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) SELECT 'fts_indexed_to', coalesce(max(id), 0) FROM contents")
        }
        // Bodies compressed when that saves (BlobCodec): each part and part chunk says how it is
        // stored (0: as is, what every row before this is; 1: Zstandard). Layouts say it in their
        // version byte (MessageLayout.stored).
        migrator.registerMigration("v14-blob-codec") { db in
            try db.execute(sql: """
                ALTER TABLE parts ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE part_chunks ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
                """)
        }
        // The header block joins the index (a fifth column, `header`): IMAP SEARCH TEXT looks in
        // the header too, and read every message's header to do so (at 100,000 messages, most of
        // a search's time). Mailboxes that kept the built-in tokenizer get `sealbox_trigram` on the
        // way. The index is rebuilt by the maintenance pass from the stored messages (the mark back
        // to 0); until it is, a search confirms every message itself, as for any not indexed yet.
        migrator.registerMigration("v15-fts-header") { db in
            try db.execute(sql: """
                DROP TABLE content_fts;
                CREATE VIRTUAL TABLE content_fts USING fts5(
                    subject, addresses, body, attachments, header,
                    content = '', contentless_delete = 1,
                    tokenize = 'sealbox_trigram case_sensitive 0', detail = column
                );
                INSERT INTO content_fts(content_fts, rank) VALUES ('automerge', 16);
                INSERT OR REPLACE INTO meta(key, value) VALUES ('fts_indexed_to', 0);
                """)
        }
        return migrator
    }
}
