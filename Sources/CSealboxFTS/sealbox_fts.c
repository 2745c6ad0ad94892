// `sealbox_trigram`: SQLite's own trigram tokenizer, each distinct trigram of a document's column
// given to FTS5 once.
//
// The mailbox's full-text table is `detail = column`: the index keeps, for each trigram, the
// documents and columns it occurs in, never how often or where. FTS5 still hashes every occurrence
// it is given (about one per character of text), which was a third of an APPEND's CPU. Giving it
// each trigram once per column builds the same index for a fraction of the work. Queries are
// tokenized by the wrapped tokenizer unchanged.
//
// The trigrams seen in the column: a trigram of three ASCII characters (most of any mail) is a bit
// in a 2^21-bit set, kept with the tokenizer and cleared word by word after each column; any other
// token is a key in an open-addressing table of 16-byte keys (the token, at most 12 bytes of UTF-8,
// and its length), which grows to at most `MAX_SLOTS` (4 MiB): past that, the rest of the column
// goes through unfiltered (the same index, only more work).
#include <stdint.h>
#include <string.h>
#include "sqlite3.h"
#include "CSealboxFTS.h"

#define MIN_SLOTS (1u << 10)
#define MAX_SLOTS (1u << 18)

#define ASCII_WORDS ((1u << 21) / 64)

typedef struct {
    fts5_tokenizer_v2 *inner;      // the trigram tokenizer's methods
    Fts5Tokenizer *innerInstance;  // its instance, made with our arguments
    uint64_t *ascii;               // ASCII trigrams seen in the current column (ASCII_WORDS words)
    uint32_t *touched;             // the words of `ascii` that are not 0 (cleared after the column)
    uint32_t touchedCount;
} SealboxTokenizer;

typedef struct {
    uint8_t key[16];  // token bytes, zero-padded; key[15] = length (never 0 for a used slot)
} Slot;

typedef struct {
    SealboxTokenizer *tokenizer;
    void *ctx;
    int (*xToken)(void *, int, const char *, int, int, int);
    Slot *slots;
    uint32_t capacity, count;
    int full;  // the table reached MAX_SLOTS: pass everything through
} DedupeContext;

static uint64_t hashKey(const uint8_t key[16]) {
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
}

// 1: inserted (new), 0: already there, -1: no memory or table full (caller passes through).
static int insertKey(DedupeContext *d, const uint8_t key[16]) {
    if (d->slots == NULL || (d->count + 1) * 2 > d->capacity) {
        uint32_t newCapacity = d->slots == NULL ? MIN_SLOTS : d->capacity * 2;
        if (newCapacity > MAX_SLOTS) return -1;
        Slot *newSlots = sqlite3_malloc64((sqlite3_uint64)newCapacity * sizeof(Slot));
        if (newSlots == NULL) return -1;
        memset(newSlots, 0, (size_t)newCapacity * sizeof(Slot));
        for (uint32_t i = 0; d->slots != NULL && i < d->capacity; i++) {
            if (d->slots[i].key[15] == 0) continue;
            uint32_t j = (uint32_t)hashKey(d->slots[i].key) & (newCapacity - 1);
            while (newSlots[j].key[15] != 0) j = (j + 1) & (newCapacity - 1);
            newSlots[j] = d->slots[i];
        }
        sqlite3_free(d->slots);
        d->slots = newSlots;
        d->capacity = newCapacity;
    }
    uint32_t j = (uint32_t)hashKey(key) & (d->capacity - 1);
    uint64_t k0, k1;
    memcpy(&k0, key, 8);
    memcpy(&k1, key + 8, 8);
    while (d->slots[j].key[15] != 0) {
        uint64_t s0, s1;
        memcpy(&s0, d->slots[j].key, 8);
        memcpy(&s1, d->slots[j].key + 8, 8);
        if (s0 == k0 && s1 == k1) return 0;
        j = (j + 1) & (d->capacity - 1);
    }
    memcpy(d->slots[j].key, key, 16);
    d->count++;
    return 1;
}

static int dedupeToken(void *pCtx, int tflags, const char *pToken, int nToken, int iStart, int iEnd) {
    DedupeContext *d = pCtx;
    SealboxTokenizer *t = d->tokenizer;
    const uint8_t *b = (const uint8_t *)pToken;
    if (nToken == 3 && t->ascii != NULL && ((b[0] | b[1] | b[2]) & 0x80) == 0) {
        uint32_t bit = ((uint32_t)b[0] << 14) | ((uint32_t)b[1] << 7) | b[2];
        uint64_t *word = &t->ascii[bit >> 6], mask = 1ull << (bit & 63);
        if (*word & mask) return SQLITE_OK;  // seen in this column already
        if (*word == 0) t->touched[t->touchedCount++] = bit >> 6;
        *word |= mask;
        return d->xToken(d->ctx, tflags, pToken, nToken, iStart, iEnd);
    }
    if (!d->full && nToken > 0 && nToken <= 15) {
        uint8_t key[16] = {0};
        memcpy(key, pToken, (size_t)nToken);
        key[15] = (uint8_t)nToken;
        int r = insertKey(d, key);
        if (r == 0) return SQLITE_OK;  // seen in this column already
        if (r < 0) d->full = 1;
    }
    return d->xToken(d->ctx, tflags, pToken, nToken, iStart, iEnd);
}

static int tokenizerCreate(void *pUserData, const char **azArg, int nArg, Fts5Tokenizer **ppOut) {
    fts5_api *api = pUserData;
    void *innerUserData = NULL;
    fts5_tokenizer_v2 *inner = NULL;
    int rc = api->xFindTokenizer_v2(api, "trigram", &innerUserData, &inner);
    if (rc != SQLITE_OK) return rc;
    SealboxTokenizer *t = sqlite3_malloc(sizeof(SealboxTokenizer));
    if (t == NULL) return SQLITE_NOMEM;
    t->inner = inner;
    t->innerInstance = NULL;
    t->ascii = NULL;
    t->touched = NULL;
    t->touchedCount = 0;
    rc = inner->xCreate(innerUserData, azArg, nArg, &t->innerInstance);
    if (rc != SQLITE_OK) {
        sqlite3_free(t);
        return rc;
    }
    *ppOut = (Fts5Tokenizer *)t;
    return SQLITE_OK;
}

static void tokenizerDelete(Fts5Tokenizer *p) {
    SealboxTokenizer *t = (SealboxTokenizer *)p;
    if (t == NULL) return;
    if (t->innerInstance != NULL) t->inner->xDelete(t->innerInstance);
    sqlite3_free(t->ascii);
    sqlite3_free(t->touched);
    sqlite3_free(t);
}

static int tokenizerTokenize(Fts5Tokenizer *p, void *pCtx, int flags, const char *pText, int nText,
                             const char *pLocale, int nLocale,
                             int (*xToken)(void *, int, const char *, int, int, int)) {
    SealboxTokenizer *t = (SealboxTokenizer *)p;
    if ((flags & FTS5_TOKENIZE_DOCUMENT) == 0) {
        return t->inner->xTokenize(t->innerInstance, pCtx, flags, pText, nText, pLocale, nLocale, xToken);
    }
    if (t->ascii == NULL) {
        // Made at the first document (a connection that only queries never needs them). Without
        // them, ASCII trigrams go through the table like the others.
        t->ascii = sqlite3_malloc64((sqlite3_uint64)ASCII_WORDS * sizeof(uint64_t));
        t->touched = sqlite3_malloc64((sqlite3_uint64)ASCII_WORDS * sizeof(uint32_t));
        if (t->ascii == NULL || t->touched == NULL) {
            sqlite3_free(t->ascii);
            sqlite3_free(t->touched);
            t->ascii = NULL;
            t->touched = NULL;
        } else {
            memset(t->ascii, 0, (size_t)ASCII_WORDS * sizeof(uint64_t));
        }
        t->touchedCount = 0;
    }
    DedupeContext d = {t, pCtx, xToken, NULL, 0, 0, 0};
    int rc = t->inner->xTokenize(t->innerInstance, &d, flags, pText, nText, pLocale, nLocale, dedupeToken);
    sqlite3_free(d.slots);
    for (uint32_t i = 0; i < t->touchedCount; i++) t->ascii[t->touched[i]] = 0;
    t->touchedCount = 0;
    return rc;
}

int sealbox_fts_register(void *db) {
    fts5_api *api = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2((sqlite3 *)db, "SELECT fts5(?1)", -1, &stmt, NULL);
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_pointer(stmt, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(stmt);
    rc = sqlite3_finalize(stmt);
    if (rc != SQLITE_OK) return rc;
    if (api == NULL || api->iVersion < 3) return SQLITE_ERROR;
    static fts5_tokenizer_v2 methods = {2, tokenizerCreate, tokenizerDelete, tokenizerTokenize};
    return api->xCreateTokenizer_v2(api, "sealbox_trigram", api, &methods, NULL);
}
