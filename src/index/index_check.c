/* index_check.c - rag_index_check: is the file sound, and do docrag's own
 * tables agree with each other?
 *
 * SQLite's integrity_check proves the b-trees are sound, not that the
 * rows make sense to us: an emptied postings blob, a negative count or a
 * dropped table pass it and then make every search return "no results".
 * So after integrity_check come our invariants, each as plain SQL or one
 * pass over the postings:
 *
 *   schema     every table, view and trigger of the schema exists;
 *              schema_version is ours
 *   documents  counts are not negative; n_pages = its rows in pages
 *   pages      belong to a document; byte ranges are ordered
 *   chunks     belong to a document; ranges are ordered; their first and
 *              last page exist and their bytes lie within the pages
 *   bm25       meta bm25_n_docs / bm25_total_dl are non-negative integers
 *              equal to bm25_docs' row count and dl sum; every chunk has
 *              one bm25_docs row and back; no live docno is also deleted;
 *              every postings blob decodes, holds df postings in docno
 *              order, each naming a live or deleted docno with its dl; a
 *              live chunk with words appears in the postings
 *   fts        chunks_fts indexes as many rows as chunks has
 *   vectors    each belongs to a chunk and has meta's embed_model, its
 *              embed_dim and dim * 4 bytes; the stored int8 copy (schema
 *              4, vectors_int8) is usable and equals them quantised again
 *   counts     the embedding cache counters are non-negative and hits do
 *              not exceed lookups
 *
 * A check whose tables are missing is skipped (the schema problem says
 * why). Each problem is one message; a failing SQL statement is a problem
 * of its check, not an error of the run.
 */
#include "index.h"

#include "bm25_index.h"
#include "vector_index.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTED 100            /* problems kept with their message */
#define MAX_DOCNO_MAP (1 << 25)   /* docnos cross-checked against postings */

typedef struct {
    rag_index *ix;
    sqlite3 *db;
    rag_check_report *out;
    int oom;
} checker;

static void problem(checker *c, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(checker *c, const char *check, const char *fmt, ...)
{
    rag_check_report *r = c->out;
    rag_check_problem *p;
    va_list ap;

    if (r->n_problems >= MAX_LISTED) {
        r->n_unlisted++;
        return;
    }
    if (r->n_problems % 16 == 0) {
        rag_check_problem *np = rag_realloc(r->problems,
                                            (r->n_problems + 16) * sizeof *np);
        if (!np) {
            c->oom = 1;
            return;
        }
        r->problems = np;
    }
    p = &r->problems[r->n_problems++];
    snprintf(p->check, sizeof p->check, "%s", check);
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
    if (rag_needs_visible(p->message)) {   /* paths from the index: terminal-safe */
        char safe[sizeof p->message];
        memcpy(p->message, safe, rag_visible(safe, sizeof safe, p->message) + 1);
    }
}

/* Run sql (no parameters) and read up to 4 integer columns of its first
 * row into v (zeros when no row). 0, or -1 after recording the SQL error
 * as a problem of `check`. */
static int q_ints(checker *c, const char *check, const char *sql, int64_t v[4])
{
    sqlite3_stmt *st = NULL;
    int rc;

    memset(v, 0, 4 * sizeof *v);
    rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            int n = sqlite3_column_count(st);
            for (int i = 0; i < n && i < 4; i++)
                v[i] = sqlite3_column_int64(st, i);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK)
        problem(c, check, "cannot run the check: %s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : -1;
}

/* "count(*), min(id)" queries: report n rows breaking a rule. */
static void count_rule(checker *c, const char *check, const char *sql, const char *what)
{
    int64_t v[4];
    if (q_ints(c, check, sql, v) == 0 && v[0] > 0)
        problem(c, check, "%lld %s (e.g. id %lld)", (long long)v[0], what, (long long)v[1]);
}

/* ---- SQLite's own check ---------------------------------------------------- */

static void check_sqlite(checker *c)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA integrity_check(20)", -1, &st, NULL);

    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *row = (const char *)sqlite3_column_text(st, 0);
            if (row && strcmp(row, "ok") != 0)
                problem(c, "sqlite", "integrity_check: %s", row);
        }
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        problem(c, "sqlite", "integrity_check cannot run: %s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
}

/* ---- schema ----------------------------------------------------------------- */

enum {
    T_META, T_DOCUMENTS, T_PAGES, T_CHUNKS, T_VECTORS, T_EMBED_CACHE, T_FTS,
    T_FTS_DOCSIZE, T_CONTENT, T_TRIG_AI, T_TRIG_AD, T_BM25_DOCS, T_BM25_POSTINGS,
    T_BM25_DELETED, T_COUNT
};

static const struct { const char *name, *type; } schema_objects[T_COUNT] = {
    {"meta", "table"}, {"documents", "table"}, {"pages", "table"}, {"chunks", "table"},
    {"vectors", "table"}, {"embed_cache", "table"}, {"chunks_fts", "table"},
    {"chunks_fts_docsize", "table"}, {"chunks_content", "view"}, {"chunks_ai", "trigger"},
    {"chunks_ad", "trigger"}, {"bm25_docs", "table"}, {"bm25_postings", "table"},
    {"bm25_deleted", "table"},
};

/* Schema 2 added documents.version, doc_date, meta_rev (index_store.c). */
static void check_v2_columns(checker *c)
{
    static const char *const cols[] = {"version", "doc_date", "meta_rev"};
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM pragma_table_info('documents',"
                           " 'main') WHERE name = ?1", -1, &st, NULL) != SQLITE_OK) {
        problem(c, "schema", "cannot read the columns of documents: %s",
                sqlite3_errmsg(c->db));
        return;
    }
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        sqlite3_bind_text(st, 1, cols[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) == 0)
            problem(c, "schema", "schema_version is 2 but documents has no column %s",
                    cols[i]);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
}

/* Schema 4 added the stored int8 vectors, the triggers that delete them
 * when the vectors change, and the vectors_model index (index_store.c). */
static void check_v4_objects(checker *c)
{
    static const struct { const char *name, *type; } objs[] = {
        {"vectors_int8", "table"}, {"vectors_model", "index"},
        {"vectors_int8_ai", "trigger"}, {"vectors_int8_au", "trigger"},
        {"vectors_int8_ad", "trigger"},
    };
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM sqlite_master WHERE name = ?1"
                           " AND type = ?2", -1, &st, NULL) != SQLITE_OK) {
        problem(c, "schema", "cannot read the schema: %s", sqlite3_errmsg(c->db));
        return;
    }
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
        sqlite3_bind_text(st, 1, objs[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, objs[i].type, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) == 0)
            problem(c, "schema", "schema_version is 4 or more but %s %s is missing",
                    objs[i].type, objs[i].name);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
}

static void check_schema_objects(checker *c, int have[T_COUNT])
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM sqlite_master WHERE name = ?1"
                           " AND type = ?2", -1, &st, NULL) != SQLITE_OK) {
        problem(c, "schema", "cannot read the schema: %s", sqlite3_errmsg(c->db));
        return;
    }
    for (int i = 0; i < T_COUNT; i++) {
        sqlite3_bind_text(st, 1, schema_objects[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, schema_objects[i].type, -1, SQLITE_STATIC);
        have[i] = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
        sqlite3_reset(st);
        if (!have[i])
            problem(c, "schema", "%s %s is missing", schema_objects[i].type,
                    schema_objects[i].name);
    }
    sqlite3_finalize(st);
    if (have[T_META]) {
        char v[32];
        int found = rag_index_meta_get(c->ix, "schema_version", v, sizeof v, NULL);
        int version = found > 0 ? atoi(v) : 0;
        char digits[16];
        snprintf(digits, sizeof digits, "%d", version);
        if (found <= 0 || strcmp(v, digits) != 0 || version < RAG_INDEX_SCHEMA_OLDEST ||
            version > RAG_INDEX_SCHEMA_VERSION)
            problem(c, "schema", "meta schema_version is %s%s%s, expected %d..%d",
                    found > 0 ? "\"" : "", found > 0 ? v : "missing", found > 0 ? "\"" : "",
                    RAG_INDEX_SCHEMA_OLDEST, RAG_INDEX_SCHEMA_VERSION);
        else {
            if (version >= 2 && have[T_DOCUMENTS])
                check_v2_columns(c);
            if (version >= 4)
                check_v4_objects(c);
        }
    }
}

/* ---- documents, pages, chunks -------------------------------------------- */

static void check_documents(checker *c, const int have[T_COUNT])
{
    int64_t v[4];

    if (!have[T_DOCUMENTS])
        return;
    if (q_ints(c, "documents", "SELECT count(*) FROM documents", v) == 0)
        c->out->n_documents = v[0];
    count_rule(c, "documents", "SELECT count(*), min(id) FROM documents"
               " WHERE n_pages < 0 OR n_bytes < 0", "documents have a negative page or"
               " byte count");
    if (have[T_PAGES]) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(c->db,
                "SELECT d.id, d.path, d.n_pages, (SELECT count(*) FROM pages p"
                " WHERE p.doc_id = d.id) AS np FROM documents d WHERE np != d.n_pages"
                " ORDER BY d.id LIMIT 5", -1, &st, NULL) == SQLITE_OK) {
            while (sqlite3_step(st) == SQLITE_ROW)
                problem(c, "documents", "document %lld (%s) says %lld pages, pages has %lld",
                        (long long)sqlite3_column_int64(st, 0),
                        sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1)
                                                   : "no path",
                        (long long)sqlite3_column_int64(st, 2),
                        (long long)sqlite3_column_int64(st, 3));
        } else {
            problem(c, "documents", "cannot run the check: %s", sqlite3_errmsg(c->db));
        }
        sqlite3_finalize(st);
    }
}

static void check_pages(checker *c, const int have[T_COUNT])
{
    int64_t v[4];

    if (!have[T_PAGES])
        return;
    if (q_ints(c, "pages", "SELECT count(*) FROM pages", v) == 0)
        c->out->n_pages = v[0];
    if (have[T_DOCUMENTS])
        count_rule(c, "pages", "SELECT count(*), min(p.doc_id) FROM pages p WHERE NOT EXISTS"
                   " (SELECT 1 FROM documents d WHERE d.id = p.doc_id)",
                   "pages belong to no document (id = their document id)");
    count_rule(c, "pages", "SELECT count(*), min(doc_id) FROM pages WHERE page < 1 OR"
               " byte_start < 0 OR byte_end < byte_start",
               "pages have a page number below 1 or a reversed byte range (id = their"
               " document id)");
}

static void check_chunks(checker *c, const int have[T_COUNT])
{
    int64_t v[4];

    if (!have[T_CHUNKS])
        return;
    if (q_ints(c, "chunks", "SELECT count(*) FROM chunks", v) == 0)
        c->out->n_chunks = v[0];
    if (have[T_DOCUMENTS])
        count_rule(c, "chunks", "SELECT count(*), min(c.id) FROM chunks c WHERE NOT EXISTS"
                   " (SELECT 1 FROM documents d WHERE d.id = c.doc_id)",
                   "chunks belong to no document");
    count_rule(c, "chunks", "SELECT count(*), min(id) FROM chunks WHERE page_start < 1 OR"
               " page_end < page_start OR byte_start < 0 OR byte_end < byte_start OR"
               " n_tokens < 0", "chunks have a reversed page or byte range or a negative"
               " token count");
    if (have[T_PAGES])
        count_rule(c, "pages", "SELECT count(*), min(c.id) FROM chunks c WHERE"
                   " NOT EXISTS (SELECT 1 FROM pages p WHERE p.doc_id = c.doc_id AND"
                   "   p.page = c.page_start) OR"
                   " NOT EXISTS (SELECT 1 FROM pages p WHERE p.doc_id = c.doc_id AND"
                   "   p.page = c.page_end) OR"
                   " c.byte_start < (SELECT min(byte_start) FROM pages p WHERE"
                   "   p.doc_id = c.doc_id) OR"
                   " c.byte_end > (SELECT max(byte_end) FROM pages p WHERE p.doc_id = c.doc_id)",
                   "chunks are not covered by their document's pages (a page they name is"
                   " missing, or their bytes lie outside the pages)");
}

/* ---- BM25 ------------------------------------------------------------------ */

/* meta key as a non-negative integer: 1 and *v, 0 if absent, -1 if bad
 * (reported). */
static int meta_count(checker *c, const char *key, int64_t *v)
{
    sqlite3_stmt *st = NULL;
    int found = 0;

    *v = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT value, typeof(value), CAST(value AS INTEGER)"
                           " = value FROM meta WHERE key = ?1", -1, &st, NULL) != SQLITE_OK) {
        problem(c, "counts", "cannot read meta %s: %s", key, sqlite3_errmsg(c->db));
        return -1;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        char *end = NULL;
        long long n = text ? strtoll(text, &end, 10) : 0;
        found = 1;
        if (!text || !*text || *end) {
            problem(c, "counts", "meta %s is \"%s\", not an integer", key, text ? text : "");
            found = -1;
        } else if (n < 0) {
            problem(c, "counts", "meta %s is %lld, a negative count", key, n);
            found = -1;
        }
        *v = n;
    }
    sqlite3_finalize(st);
    return found;
}

typedef struct {
    int32_t *dl;        /* by docno: its dl; -1 unknown, -2 deleted */
    uint8_t *seen;      /* by docno: appears in a posting */
    int64_t max_docno;
} docno_map;

static int map_load(checker *c, docno_map *m)
{
    sqlite3_stmt *st = NULL;
    int64_t v[4];

    memset(m, 0, sizeof *m);
    if (q_ints(c, "bm25", "SELECT max(d) FROM (SELECT max(docno) AS d FROM bm25_docs"
               " UNION ALL SELECT max(docno) FROM bm25_deleted)", v) < 0)
        return -1;
    m->max_docno = v[0];
    if (m->max_docno < 0 || m->max_docno > MAX_DOCNO_MAP)
        return 0;   /* too many to map: the per-docno cross-checks are skipped */
    m->dl = rag_malloc(((size_t)m->max_docno + 1) * sizeof *m->dl);
    m->seen = rag_calloc((size_t)m->max_docno + 1, 1);
    if (!m->dl || !m->seen) {
        c->oom = 1;
        return -1;
    }
    for (int64_t i = 0; i <= m->max_docno; i++)
        m->dl[i] = -1;
    if (sqlite3_prepare_v2(c->db, "SELECT docno, dl, 0 FROM bm25_docs UNION ALL"
                           " SELECT docno, 0, 1 FROM bm25_deleted", -1, &st, NULL) != SQLITE_OK) {
        problem(c, "bm25", "cannot read bm25_docs: %s", sqlite3_errmsg(c->db));
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t d = sqlite3_column_int64(st, 0), dl = sqlite3_column_int64(st, 1);
        if (d < 0 || d > m->max_docno)
            continue;
        if (sqlite3_column_int(st, 2))
            m->dl[d] = -2;
        else if (m->dl[d] != -2)
            m->dl[d] = dl > INT32_MAX ? INT32_MAX : dl < 0 ? -1 : (int32_t)dl;
    }
    sqlite3_finalize(st);
    return 0;
}

/* One pass over every postings blob. */
static void check_postings(checker *c, docno_map *m)
{
    sqlite3_stmt *st = NULL;
    int64_t n_bad_blob = 0, n_bad_df = 0, n_dangling = 0, n_bad_dl = 0, n_order = 0;
    char ex_blob[64] = "", ex_df[96] = "", ex_dangling[96] = "", ex_dl[96] = "",
         ex_order[64] = "";
    char last_term[64] = "";
    int rc;

    if (sqlite3_prepare_v2(c->db, "SELECT term, seg, df, data FROM bm25_postings"
                           " ORDER BY term, seg", -1, &st, NULL) != SQLITE_OK) {
        problem(c, "bm25", "cannot read bm25_postings: %s", sqlite3_errmsg(c->db));
        return;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *term = (const char *)sqlite3_column_text(st, 0);
        int64_t seg = sqlite3_column_int64(st, 1), df = sqlite3_column_int64(st, 2);
        const unsigned char *p = sqlite3_column_blob(st, 3);
        size_t n = (size_t)sqlite3_column_bytes(st, 3), i = 0;
        int64_t n_post = 0;
        uint64_t docno = 0;
        int broken = 0;

        if (!term)
            term = "";
        if (strcmp(term, last_term) != 0) {
            c->out->n_terms++;
            snprintf(last_term, sizeof last_term, "%s", term);
        }
        while (i < n) {
            uint64_t d, tf, dl;
            size_t a = bm25_get_varint(p + i, n - i, &d), b = 0, e = 0;
            if (a)
                b = bm25_get_varint(p + i + a, n - i - a, &tf);
            if (a && b)
                e = bm25_get_varint(p + i + a + b, n - i - a - b, &dl);
            if (!a || !b || !e) {
                broken = 1;
                break;
            }
            i += a + b + e;
            if (n_post > 0 && d == 0 && !n_order++)
                snprintf(ex_order, sizeof ex_order, "'%s' segment %lld", term,
                         (long long)seg);
            docno += d;
            n_post++;
            if (!m->dl)
                continue;
            if (docno > (uint64_t)m->max_docno || m->dl[docno] == -1) {
                if (!n_dangling++)
                    snprintf(ex_dangling, sizeof ex_dangling, "'%s' names docno %llu",
                             term, (unsigned long long)docno);
                continue;
            }
            if (m->dl[docno] == -2)
                continue;   /* deleted, dropped at the next merge */
            m->seen[docno] = 1;
            if ((uint64_t)m->dl[docno] != dl && !n_bad_dl++)
                snprintf(ex_dl, sizeof ex_dl, "'%s' gives docno %llu dl %llu, bm25_docs %d",
                         term, (unsigned long long)docno, (unsigned long long)dl,
                         (int)m->dl[docno]);
        }
        c->out->n_postings += n_post;
        if (broken && !n_bad_blob++)
            snprintf(ex_blob, sizeof ex_blob, "'%s' segment %lld", term, (long long)seg);
        if (!broken && (df <= 0 || n_post != df) && !n_bad_df++)
            snprintf(ex_df, sizeof ex_df, "'%s' segment %lld: df %lld, %lld postings", term,
                     (long long)seg, (long long)df, (long long)n_post);
    }
    if (rc != SQLITE_DONE)
        problem(c, "bm25", "cannot read bm25_postings: %s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
    if (n_bad_blob)
        problem(c, "bm25", "%lld postings blobs do not decode (e.g. %s)",
                (long long)n_bad_blob, ex_blob);
    if (n_bad_df)
        problem(c, "bm25", "%lld postings blobs hold another number of postings than"
                " their df (e.g. %s)", (long long)n_bad_df, ex_df);
    if (n_order)
        problem(c, "bm25", "%lld postings are out of docno order (e.g. %s)",
                (long long)n_order, ex_order);
    if (n_dangling)
        problem(c, "bm25", "%lld postings name a docno that is neither in bm25_docs nor"
                " deleted (e.g. %s)", (long long)n_dangling, ex_dangling);
    if (n_bad_dl)
        problem(c, "bm25", "%lld postings disagree with bm25_docs on the chunk length"
                " (e.g. %s)", (long long)n_bad_dl, ex_dl);
    if (m->dl) {
        int64_t n_missing = 0, first = 0;
        for (int64_t d = 1; d <= m->max_docno; d++)
            if (m->dl[d] > 0 && !m->seen[d] && !n_missing++)
                first = d;
        if (n_missing)
            problem(c, "bm25", "%lld chunks with words are in no postings (e.g. docno %lld):"
                    " BM25 cannot find them", (long long)n_missing, (long long)first);
    }
}

static void check_bm25(checker *c, const int have[T_COUNT])
{
    int64_t v[4], n_docs = 0, total_dl = 0;
    int has_n, has_dl;
    docno_map m;

    if (!have[T_BM25_DOCS] || !have[T_BM25_POSTINGS] || !have[T_BM25_DELETED] ||
        !have[T_META])
        return;
    has_n = meta_count(c, "bm25_n_docs", &n_docs);
    has_dl = meta_count(c, "bm25_total_dl", &total_dl);
    if (q_ints(c, "bm25", "SELECT count(*), coalesce(sum(dl), 0), count(CASE WHEN dl < 0"
               " THEN 1 END) FROM bm25_docs", v) == 0) {
        if (v[2] > 0)
            problem(c, "bm25", "%lld bm25_docs rows have a negative length", (long long)v[2]);
        if (has_n >= 0 && n_docs != v[0] && (has_n || v[0] > 0))
            problem(c, "bm25", "meta bm25_n_docs is %s%lld, bm25_docs has %lld rows",
                    has_n ? "" : "missing: ", (long long)n_docs, (long long)v[0]);
        if (has_dl >= 0 && total_dl != v[1] && (has_dl || v[1] > 0))
            problem(c, "bm25", "meta bm25_total_dl is %s%lld, bm25_docs' lengths sum to %lld",
                    has_dl ? "" : "missing: ", (long long)total_dl, (long long)v[1]);
        if (have[T_CHUNKS] && v[0] != c->out->n_chunks)
            problem(c, "bm25", "bm25_docs has %lld rows for %lld chunks", (long long)v[0],
                    (long long)c->out->n_chunks);
    }
    if (have[T_CHUNKS]) {
        count_rule(c, "bm25", "SELECT count(*), min(c.id) FROM chunks c WHERE NOT EXISTS"
                   " (SELECT 1 FROM bm25_docs b WHERE b.chunk_id = c.id)",
                   "chunks have no bm25_docs row");
        count_rule(c, "bm25", "SELECT count(*), min(b.chunk_id) FROM bm25_docs b WHERE NOT"
                   " EXISTS (SELECT 1 FROM chunks c WHERE c.id = b.chunk_id)",
                   "bm25_docs rows name a chunk that does not exist");
    }
    count_rule(c, "bm25", "SELECT count(*), min(docno) FROM bm25_docs WHERE docno IN"
               " (SELECT docno FROM bm25_deleted)", "docnos are both live and deleted");
    if (map_load(c, &m) == 0)
        check_postings(c, &m);
    rag_free(m.dl);
    rag_free(m.seen);
}

/* ---- FTS5, vectors, counters ------------------------------------------------ */

static void check_fts(checker *c, const int have[T_COUNT])
{
    int64_t v[4];

    if (!have[T_FTS_DOCSIZE] || !have[T_CHUNKS])
        return;
    if (q_ints(c, "fts", "SELECT count(*) FROM chunks_fts_docsize", v) == 0 &&
        v[0] != c->out->n_chunks)
        problem(c, "fts", "chunks_fts indexes %lld rows for %lld chunks", (long long)v[0],
                (long long)c->out->n_chunks);
}

/* The stored int8 vectors (schema 4) equal the float rows quantised again
 * (vector_index.h); a load would ignore a bad copy, but it says the file
 * was changed behind docrag's back. */
static void check_int8(checker *c)
{
    rag_err e1 = {0};
    char why[256];
    int rc = rag_vector_int8_check(c->db, why, sizeof why, &e1);
    if (rc == RAG_ENOMEM)
        c->oom = 1;
    else if (rc < 0)
        problem(c, "vectors", "cannot check the stored int8 vectors: %s", e1.msg);
    else if (rc == 0)
        problem(c, "vectors", "%s (`docrag index` stores them again)", why);
}

static void check_vectors(checker *c, const int have[T_COUNT])
{
    char model[256];
    int64_t v[4], dim = 0;
    int has_model = 0, has_dim = 0;
    sqlite3_stmt *st = NULL;

    if (!have[T_VECTORS])
        return;
    if (q_ints(c, "vectors", "SELECT count(*) FROM vectors", v) < 0)
        return;
    c->out->n_vectors = v[0];
    if (have[T_META]) {
        has_model = rag_index_meta_get(c->ix, "embed_model", model, sizeof model, NULL) > 0
                    && model[0];
        has_dim = meta_count(c, "embed_dim", &dim);
    }
    if (c->out->n_vectors == 0)
        return;
    if (have[T_CHUNKS])
        count_rule(c, "vectors", "SELECT count(*), min(v.chunk_id) FROM vectors v WHERE NOT"
                   " EXISTS (SELECT 1 FROM chunks c WHERE c.id = v.chunk_id)",
                   "vectors belong to no chunk (id = the chunk id)");
    if (!has_model || has_dim <= 0 || dim <= 0) {
        problem(c, "vectors", "%lld vectors but meta has no embedding model and dimension"
                " (embed_model, embed_dim)", (long long)c->out->n_vectors);
        return;
    }
    if (sqlite3_prepare_v2(c->db,
            "SELECT count(CASE WHEN model IS NOT ?1 THEN 1 END),"
            " min(CASE WHEN model IS NOT ?1 THEN chunk_id END),"
            " count(CASE WHEN dim IS NOT ?2 OR length(data) IS NOT ?2 * 4 THEN 1 END),"
            " min(CASE WHEN dim IS NOT ?2 OR length(data) IS NOT ?2 * 4 THEN chunk_id END)"
            " FROM vectors", -1, &st, NULL) != SQLITE_OK) {
        problem(c, "vectors", "cannot run the check: %s", sqlite3_errmsg(c->db));
        return;
    }
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, dim);
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_int64(st, 0) > 0)
            problem(c, "vectors", "%lld vectors are not of meta's model \"%s\" (e.g. chunk"
                    " %lld)", (long long)sqlite3_column_int64(st, 0), model,
                    (long long)sqlite3_column_int64(st, 1));
        if (sqlite3_column_int64(st, 2) > 0)
            problem(c, "vectors", "%lld vectors do not have meta's dimension %lld (dim, or"
                    " %lld bytes of data; e.g. chunk %lld)",
                    (long long)sqlite3_column_int64(st, 2), (long long)dim,
                    (long long)dim * 4, (long long)sqlite3_column_int64(st, 3));
    }
    sqlite3_finalize(st);
    check_int8(c);
}

static void check_counters(checker *c, const int have[T_COUNT])
{
    int64_t lookups = 0, hits = 0;
    int has_l, has_h;

    if (!have[T_META])
        return;
    has_l = meta_count(c, "embed_cache_lookups", &lookups);
    has_h = meta_count(c, "embed_cache_hits", &hits);
    if (has_l >= 0 && has_h > 0 && hits > lookups)
        problem(c, "counts", "meta embed_cache_hits (%lld) exceeds embed_cache_lookups (%lld)",
                (long long)hits, (long long)lookups);
}

int rag_index_check(rag_index *ix, rag_check_report *out, rag_err *err)
{
    checker c;
    int have[T_COUNT] = {0};
    int rc;

    memset(out, 0, sizeof *out);
    memset(&c, 0, sizeof c);
    c.ix = ix;
    c.db = rag_index_db(ix);
    c.out = out;
    /* one committed state throughout, while writers go on (WAL) */
    rc = rag_index_read_begin(ix, err);
    if (rc < 0)
        return rc;
    check_sqlite(&c);
    check_schema_objects(&c, have);
    check_documents(&c, have);
    check_pages(&c, have);
    check_chunks(&c, have);
    check_bm25(&c, have);
    check_fts(&c, have);
    check_vectors(&c, have);
    check_counters(&c, have);
    rag_index_read_end(ix);
    if (c.oom) {
        rag_check_report_fini(out);
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory checking the index",
                        rag_index_path(ix));
    }
    return RAG_OK;
}

void rag_check_report_fini(rag_check_report *r)
{
    if (!r)
        return;
    rag_free(r->problems);
    memset(r, 0, sizeof *r);
}
