// Sealbox's FTS5 tokenizer, registered on each SQLite connection (see sealbox_fts.c).
// Takes the connection as an opaque pointer: Swift modules see GRDB's sqlite3.h, not this target's.
#ifndef CSEALBOXFTS_H
#define CSEALBOXFTS_H

/// Registers the `sealbox_trigram` tokenizer on the connection `db` (a `sqlite3 *`).
/// Returns an SQLite result code (0 = SQLITE_OK).
int sealbox_fts_register(void *db);

#endif
