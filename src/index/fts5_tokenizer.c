/* fts5_tokenizer.c - the FTS5 tokenizer "docrag": rag_analyzer inside SQLite.
 *
 * Each FTS5 table (per connection) creates one tokenizer, hence one
 * rag_analyzer with its own Snowball stemmer. Documents (and highlight /
 * snippet) are analysed in DOCUMENT mode, which adds colocated parts of
 * compound tokens; the strings of a MATCH expression in QUERY mode, which
 * gives one term per position so a quoted compound stays one term.
 *
 * The tokenizer takes no arguments: tokenize='docrag'.
 */
#include "fts5.h"

#include <string.h>

struct tok_ctx {
    void *fts_ctx;
    int (*x_token)(void *, int, const char *, int, int, int);
    int sqlite_rc; /* first non-OK code from x_token */
};

static int tok_create(void *user, const char **az_arg, int n_arg,
                      Fts5Tokenizer **out)
{
    rag_analyzer *a = NULL;

    (void)user;
    (void)az_arg;
    *out = NULL;
    if (n_arg > 0)
        return SQLITE_ERROR; /* no options */
    if (rag_analyzer_create(&a, NULL) < 0)
        return SQLITE_NOMEM;
    *out = (Fts5Tokenizer *)a;
    return SQLITE_OK;
}

static void tok_delete(Fts5Tokenizer *t)
{
    rag_analyzer_destroy((rag_analyzer *)t);
}

static int tok_term(void *vctx, const char *term, size_t n_bytes,
                    size_t byte_start, size_t byte_end, int colocated)
{
    struct tok_ctx *c = vctx;
    int rc = c->x_token(c->fts_ctx, colocated ? FTS5_TOKEN_COLOCATED : 0,
                        term, (int)n_bytes, (int)byte_start, (int)byte_end);
    if (rc != SQLITE_OK) {
        c->sqlite_rc = rc;
        return -1;
    }
    return 0;
}

static int tok_tokenize(Fts5Tokenizer *t, void *fts_ctx, int flags,
                        const char *text, int n_text,
                        int (*x_token)(void *, int, const char *, int, int, int))
{
    struct tok_ctx c = {fts_ctx, x_token, SQLITE_OK};
    rag_analyze_mode mode = (flags & FTS5_TOKENIZE_QUERY)
                                ? RAG_ANALYZE_QUERY
                                : RAG_ANALYZE_DOCUMENT;
    int rc;

    if (n_text <= 0)
        return SQLITE_OK;
    rc = rag_analyzer_run_mode((rag_analyzer *)t, text, (size_t)n_text, mode,
                               tok_term, &c);
    if (c.sqlite_rc != SQLITE_OK)
        return c.sqlite_rc;
    return rc < 0 ? SQLITE_NOMEM : SQLITE_OK;
}

static int get_fts5_api(sqlite3 *db, fts5_api **api, rag_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *api = NULL;
    rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rag_fail(err, RAG_EBACKEND, "fts5: SELECT fts5(?1): %s",
                        sqlite3_errmsg(db));
    sqlite3_bind_pointer(st, 1, api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (!*api)
        return rag_fail(err, RAG_EBACKEND,
                        "fts5: this SQLite has no FTS5 (fts5_api_ptr is NULL)");
    return RAG_OK;
}

int rag_fts5_register(sqlite3 *db, rag_err *err)
{
    static fts5_tokenizer tok = {tok_create, tok_delete, tok_tokenize};
    fts5_api *api;
    int rc = get_fts5_api(db, &api, err);

    if (rc < 0)
        return rc;
    rc = api->xCreateTokenizer(api, "docrag", NULL, &tok, NULL);
    if (rc != SQLITE_OK)
        return rag_fail(err, RAG_EBACKEND,
                        "fts5: xCreateTokenizer(\"docrag\") failed: %s",
                        sqlite3_errstr(rc));
    return rag_bm25_rank_register(db, err);
}
