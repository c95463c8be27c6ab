/* fuzz_fts_tokenizer.c - the BM25 analyzer, the MATCH-expression builder
 * and the FTS5 tokenizer over arbitrary bytes.
 *
 * Checks, beyond "no crash": every term is 1..RAG_ANALYZER_MAX_TERM_BYTES
 * bytes of valid UTF-8 with offsets inside the input; each term's source
 * bytes analyse alone (QUERY mode) to exactly that term; and the MATCH
 * expression built from the (sanitised) input parses in FTS5 against a
 * small in-memory table. A violated check traps.
 */
#include "core/core.h"
#include "index/fts5.h"
#include "text/analyzer.h"

#include <stdint.h>
#include <string.h>

struct requery {
    int n_terms;
    size_t n_bytes;
    char term[RAG_ANALYZER_MAX_TERM_BYTES];
};

static int one_term(void *ctx, const char *term, size_t n_bytes,
                    size_t byte_start, size_t byte_end, int colocated)
{
    struct requery *r = ctx;
    (void)byte_start;
    (void)byte_end;
    (void)colocated;
    if (n_bytes == 0 || n_bytes > RAG_ANALYZER_MAX_TERM_BYTES)
        __builtin_trap();
    if (r->n_terms++ == 0) {
        memcpy(r->term, term, n_bytes);
        r->n_bytes = n_bytes;
    }
    return 0;
}

struct check {
    rag_analyzer *requery; /* a second analyzer: the first one's scratch
                            * holds the term being checked */
    const char *text;
    size_t n_bytes;
};

static int each_term(void *ctx, const char *term, size_t n_bytes,
                     size_t byte_start, size_t byte_end, int colocated)
{
    struct check *c = ctx;
    struct requery r = {0, 0, {0}};

    (void)colocated;
    if (n_bytes == 0 || n_bytes > RAG_ANALYZER_MAX_TERM_BYTES ||
        byte_start >= byte_end || byte_end > c->n_bytes ||
        !rag_utf8_valid(term, n_bytes))
        __builtin_trap();
    if (rag_analyzer_run_mode(c->requery, c->text + byte_start,
                              byte_end - byte_start, RAG_ANALYZE_QUERY,
                              one_term, &r) != 0)
        __builtin_trap();
    if (r.n_terms != 1 || r.n_bytes != n_bytes ||
        memcmp(r.term, term, n_bytes) != 0)
        __builtin_trap();
    return 0;
}

static sqlite3 *db;
static rag_analyzer *an_doc, *an_query;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rag_buf clean = RAG_BUF_INIT, expr = RAG_BUF_INIT;

    if (size > 4096)
        return 0;
    if (!db) {
        if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
            rag_fts5_register(db, NULL) != RAG_OK ||
            sqlite3_exec(db,
                "CREATE VIRTUAL TABLE t USING fts5(text, tokenize='docrag');"
                "INSERT INTO t VALUES('RISC-V x86_64 v1.0 running the mcause');",
                NULL, NULL, NULL) != SQLITE_OK)
            __builtin_trap();
        if (rag_analyzer_create(&an_doc, NULL) != RAG_OK ||
            rag_analyzer_create(&an_query, NULL) != RAG_OK)
            __builtin_trap();
    }

    /* raw bytes, invalid UTF-8 included */
    struct check c = {an_query, (const char *)data, size};
    if (rag_analyzer_run(an_doc, (const char *)data, size, each_term, &c) != 0)
        __builtin_trap();

    /* MATCH expression from the sanitised text (NUL-free) */
    if (rag_utf8_sanitize(&clean, (const char *)data, size, NULL) != RAG_OK)
        goto done;
    for (size_t i = 0; i < clean.len; i++)
        if (clean.data[i] == '\0')
            clean.data[i] = ' ';
    if (rag_analyzer_match_expr(an_doc, &expr, clean.data ? clean.data : "",
                                NULL) != RAG_OK)
        __builtin_trap();
    if (expr.len > 0) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db,
                "SELECT rowid, docrag_bm25(t) FROM t WHERE t MATCH ?1", -1,
                &st, NULL) != SQLITE_OK)
            __builtin_trap();
        sqlite3_bind_text(st, 1, expr.data, (int)expr.len, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        }
        if (rc != SQLITE_DONE)
            __builtin_trap(); /* the expression did not parse */
        sqlite3_finalize(st);
    }
done:
    rag_buf_fini(&clean);
    rag_buf_fini(&expr);
    return 0;
}
