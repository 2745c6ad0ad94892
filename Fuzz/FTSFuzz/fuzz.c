// libFuzzer target: `sealbox_trigram` (Sources/CSealboxFTS) must index any text exactly as SQLite's
// own `trigram` tokenizer does in a `detail = column` table: the same (trigram, column, documents)
// entries, compared through fts5vocab. Input: two columns separated by the first 0xFF byte, any
// bytes (invalid UTF-8 included). sqlite3mc is compiled without instrumentation (fuzz.sh).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sqlite3.h"
#include "CSealboxFTS.h"

static sqlite3 *db;

static void must(int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        abort();
    }
}

static void exec(const char *sql) { must(sqlite3_exec(db, sql, NULL, NULL, NULL), sql); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (db == NULL) {
        must(sqlite3_open(":memory:", &db), "open");
        must(sealbox_fts_register(db), "register");
    }
    exec("DROP TABLE IF EXISTS a; DROP TABLE IF EXISTS b; DROP TABLE IF EXISTS va; DROP TABLE IF EXISTS vb;"
         "CREATE VIRTUAL TABLE a USING fts5(subject, body, content = '', contentless_delete = 1,"
         " tokenize = 'trigram case_sensitive 0', detail = column);"
         "CREATE VIRTUAL TABLE b USING fts5(subject, body, content = '', contentless_delete = 1,"
         " tokenize = 'sealbox_trigram case_sensitive 0', detail = column);"
         "CREATE VIRTUAL TABLE va USING fts5vocab(a, 'col'); CREATE VIRTUAL TABLE vb USING fts5vocab(b, 'col');");
    const uint8_t *split = memchr(data, 0xFF, size);
    size_t first = split ? (size_t)(split - data) : size;
    const char *tables[2] = {"INSERT INTO a(rowid, subject, body) VALUES (1, ?, ?)", "INSERT INTO b(rowid, subject, body) VALUES (1, ?, ?)"};
    for (int t = 0; t < 2; t++) {
        sqlite3_stmt *s;
        must(sqlite3_prepare_v2(db, tables[t], -1, &s, NULL), "prepare insert");
        sqlite3_bind_text(s, 1, (const char *)data, (int)first, SQLITE_TRANSIENT);
        if (split) sqlite3_bind_text(s, 2, (const char *)split + 1, (int)(size - first - 1), SQLITE_TRANSIENT);
        must(sqlite3_step(s), "insert");
        sqlite3_finalize(s);
    }
    sqlite3_stmt *qa, *qb;
    must(sqlite3_prepare_v2(db, "SELECT term, col, doc FROM va ORDER BY term, col", -1, &qa, NULL), "prepare va");
    must(sqlite3_prepare_v2(db, "SELECT term, col, doc FROM vb ORDER BY term, col", -1, &qb, NULL), "prepare vb");
    for (;;) {
        int ra = sqlite3_step(qa), rb = sqlite3_step(qb);
        if (ra != rb) { fprintf(stderr, "the indexes differ in length\n"); abort(); }
        if (ra != SQLITE_ROW) break;
        for (int c = 0; c < 3; c++) {
            int na = sqlite3_column_bytes(qa, c), nb = sqlite3_column_bytes(qb, c);
            const void *va = sqlite3_column_blob(qa, c), *vb = sqlite3_column_blob(qb, c);
            if (na != nb || (na > 0 && memcmp(va, vb, (size_t)na) != 0)) { fprintf(stderr, "the indexes differ\n"); abort(); }
        }
    }
    sqlite3_finalize(qa);
    sqlite3_finalize(qb);
    return 0;
}
