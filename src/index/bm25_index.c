/* bm25_index.c - segment postings for BM25 (see bm25_index.h).
 *
 * Segment blob layout, one per (term, segment):
 *   repeated { varint docno_delta; varint tf; varint dl }
 * docno_delta is from the previous posting of the blob (the first from 0);
 * varints are LEB128 (7 bits a byte, low first). Docnos only grow
 * (AUTOINCREMENT), so every segment and the concatenation of a term's
 * segments in segment order are sorted by docno.
 */
#include "bm25_index.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- varints ------------------------------------------------------------ */

static int put_varint(rag_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7F);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    return rag_buf_append(b, tmp, n);
}

/* ---- the writer: term -> pending postings ------------------------------ */

typedef struct {
    char *term;          /* arena; NULL = empty slot */
    size_t term_bytes;
    uint64_t hash;
    rag_buf post;
    int64_t last_docno;
    int64_t df;
    uint64_t chunk_seq;  /* the chunk that last touched it */
    uint32_t chunk_tf;
} term_entry;

struct bm25_writer {
    rag_arena *arena;
    term_entry *tab;
    size_t cap, n;
    uint64_t seq;
    int64_t d_docs, d_dl;
    size_t *touched;     /* slots touched by the current chunk */
    size_t n_touched, cap_touched;
    size_t dl;
    int oom;
};

int bm25_writer_create(bm25_writer **out, rag_err *err)
{
    bm25_writer *w = rag_calloc(1, sizeof *w);
    if (!w || !(w->arena = rag_arena_create(1 << 16)) ||
        !(w->tab = rag_calloc(1024, sizeof *w->tab))) {
        bm25_writer_destroy(w);
        return rag_fail(err, RAG_ENOMEM, "out of memory for the BM25 writer");
    }
    w->cap = 1024;
    *out = w;
    return RAG_OK;
}

static void writer_clear(bm25_writer *w)
{
    for (size_t i = 0; i < w->cap; i++)
        rag_buf_fini(&w->tab[i].post);
    memset(w->tab, 0, w->cap * sizeof *w->tab);
    w->n = 0;
    w->d_docs = w->d_dl = 0;
    rag_arena_destroy(w->arena);
    w->arena = rag_arena_create(1 << 16);
}

void bm25_writer_destroy(bm25_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; w->tab && i < w->cap; i++)
        rag_buf_fini(&w->tab[i].post);
    rag_free(w->tab);
    rag_free(w->touched);
    rag_arena_destroy(w->arena);
    rag_free(w);
}

static int grow_table(bm25_writer *w)
{
    size_t cap = w->cap * 2;
    term_entry *t = rag_calloc(cap, sizeof *t);
    if (!t)
        return RAG_ENOMEM;
    for (size_t i = 0; i < w->cap; i++) {
        size_t j;
        if (!w->tab[i].term)
            continue;
        for (j = w->tab[i].hash & (cap - 1); t[j].term; j = (j + 1) & (cap - 1))
            ;
        t[j] = w->tab[i];
    }
    rag_free(w->tab);
    w->tab = t;
    w->cap = cap;
    return RAG_OK;
}

static term_entry *lookup(bm25_writer *w, const char *term, size_t n)
{
    uint64_t h = rag_hash64(term, n);
    size_t i;
    if ((w->n + 1) * 4 > w->cap * 3 && grow_table(w) < 0)
        return NULL;
    for (i = h & (w->cap - 1); w->tab[i].term; i = (i + 1) & (w->cap - 1))
        if (w->tab[i].hash == h && w->tab[i].term_bytes == n &&
            !memcmp(w->tab[i].term, term, n))
            return &w->tab[i];
    w->tab[i].term = rag_arena_strndup(w->arena, term, n);
    if (!w->tab[i].term)
        return NULL;
    w->tab[i].term_bytes = n;
    w->tab[i].hash = h;
    w->n++;
    return &w->tab[i];
}

static int on_doc_term(void *ctx, const char *term, size_t n, size_t s, size_t e,
                       int colocated)
{
    bm25_writer *w = ctx;
    term_entry *t;
    (void)s;
    (void)e;
    if (!colocated)
        w->dl++;
    t = lookup(w, term, n);
    if (!t) {
        w->oom = 1;
        return RAG_ENOMEM;
    }
    if (t->chunk_seq != w->seq) {
        if (w->n_touched == w->cap_touched) {
            size_t cap = w->cap_touched ? w->cap_touched * 2 : 256;
            size_t *p = rag_realloc(w->touched, cap * sizeof *p);
            if (!p) {
                w->oom = 1;
                return RAG_ENOMEM;
            }
            w->touched = p;
            w->cap_touched = cap;
        }
        w->touched[w->n_touched++] = (size_t)(t - w->tab);
        t->chunk_seq = w->seq;
        t->chunk_tf = 0;
    }
    t->chunk_tf++;
    return 0;
}

int bm25_add_chunk(bm25_writer *w, sqlite3 *db, rag_analyzer *an, int64_t chunk_id,
                   const char *text, const char *section, const char *title,
                   rag_err *err)
{
    const char *cols[3] = {text, section ? section : "", title ? title : ""};
    sqlite3_stmt *st;
    int64_t docno;
    int rc;

    w->seq++;
    w->n_touched = 0;
    w->dl = 0;
    w->oom = 0;
    for (int c = 0; c < 3; c++) {
        /* The table may grow while analysing: touched[] holds slot
         * indexes, re-resolved below by term after growth. */
        size_t cap_before = w->cap;
        rc = rag_analyzer_run_mode(an, cols[c], strlen(cols[c]), RAG_ANALYZE_DOCUMENT,
                                   on_doc_term, w);
        if (rc < 0 || w->oom)
            return rag_fail(err, RAG_ENOMEM, "out of memory analysing chunk %lld",
                            (long long)chunk_id);
        if (w->cap != cap_before) {
            /* Slots moved: rebuild touched[] from the chunk marker. */
            w->n_touched = 0;
            for (size_t i = 0; i < w->cap; i++)
                if (w->tab[i].term && w->tab[i].chunk_seq == w->seq)
                    w->touched[w->n_touched++] = i;
        }
    }
    if (sqlite3_prepare_v2(db, "INSERT INTO bm25_docs(chunk_id, dl) VALUES(?1, ?2)", -1,
                           &st, NULL) != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "bm25 docs: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, chunk_id);
    sqlite3_bind_int64(st, 2, (int64_t)w->dl);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return rag_fail(err, RAG_EIO, "bm25 docs: chunk %lld: %s", (long long)chunk_id,
                        sqlite3_errmsg(db));
    docno = sqlite3_last_insert_rowid(db);
    for (size_t i = 0; i < w->n_touched; i++) {
        term_entry *t = &w->tab[w->touched[i]];
        if (put_varint(&t->post, (uint64_t)(docno - t->last_docno)) < 0 ||
            put_varint(&t->post, t->chunk_tf) < 0 || put_varint(&t->post, w->dl) < 0)
            return rag_fail(err, RAG_ENOMEM, "out of memory for postings");
        t->last_docno = docno;
        t->df++;
    }
    w->d_docs++;
    w->d_dl += (int64_t)w->dl;
    return RAG_OK;
}

int bm25_delete_chunk(bm25_writer *w, sqlite3 *db, int64_t chunk_id, rag_err *err)
{
    sqlite3_stmt *st;
    int64_t docno = 0, dl = 0;
    int rc;

    if (sqlite3_prepare_v2(db, "SELECT docno, dl FROM bm25_docs WHERE chunk_id = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "bm25 docs: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, chunk_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        docno = sqlite3_column_int64(st, 0);
        dl = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (!docno)
        return RAG_OK;
    rc = sqlite3_exec(db, "SAVEPOINT bm25_del", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "INSERT OR IGNORE INTO bm25_deleted VALUES(%lld);"
                 "DELETE FROM bm25_docs WHERE docno = %lld;", (long long)docno,
                 (long long)docno);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        sqlite3_exec(db, rc == SQLITE_OK ? "RELEASE bm25_del" : "ROLLBACK TO bm25_del",
                     NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "bm25 delete: %s", sqlite3_errmsg(db));
    w->d_docs--;
    w->d_dl -= dl;
    return RAG_OK;
}

static int bump_meta(sqlite3 *db, const char *key, int64_t delta)
{
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(db,
            "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE"
            " SET value = CAST(value AS INTEGER) + ?2", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, delta);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int bm25_flush(bm25_writer *w, sqlite3 *db, rag_err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t seg = 1;
    int rc = RAG_OK;

    if (w->n == 0 && w->d_docs == 0 && w->d_dl == 0)
        return RAG_OK;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(seg), 0) + 1 FROM bm25_postings", -1,
                           &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        seg = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "INSERT INTO bm25_postings(term, seg, df, data)"
                               " VALUES(?1, ?2, ?3, ?4)", -1, &st, NULL) != SQLITE_OK) {
        rc = rag_fail(err, RAG_EIO, "bm25 postings: %s", sqlite3_errmsg(db));
        goto done;
    }
    for (size_t i = 0; i < w->cap; i++) {
        term_entry *t = &w->tab[i];
        if (!t->term || t->df == 0)
            continue;
        sqlite3_bind_text(st, 1, t->term, (int)t->term_bytes, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, seg);
        sqlite3_bind_int64(st, 3, t->df);
        sqlite3_bind_blob(st, 4, t->post.data, (int)t->post.len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = rag_fail(err, RAG_EIO, "bm25 postings: %s", sqlite3_errmsg(db));
            goto done;
        }
        sqlite3_reset(st);
    }
    if (bump_meta(db, "bm25_n_docs", w->d_docs) < 0 ||
        bump_meta(db, "bm25_total_dl", w->d_dl) < 0)
        rc = rag_fail(err, RAG_EIO, "bm25 counters: %s", sqlite3_errmsg(db));
done:
    sqlite3_finalize(st);
    writer_clear(w);
    return rc;
}

void bm25_discard(bm25_writer *w)
{
    writer_clear(w);
}

int64_t bm25_segment_count(sqlite3 *db)
{
    sqlite3_stmt *st;
    int64_t n = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(DISTINCT seg) FROM bm25_postings", -1, &st,
                           NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* ---- deleted set ---------------------------------------------------------- */

typedef struct {
    int64_t *v;
    size_t n;
} docno_set;

static int load_deleted(sqlite3 *db, docno_set *s, rag_err *err)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    memset(s, 0, sizeof *s);
    if (sqlite3_prepare_v2(db, "SELECT docno FROM bm25_deleted ORDER BY docno", -1, &st,
                           NULL) != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "bm25 deleted: %s", sqlite3_errmsg(db));
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (s->n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            int64_t *p = rag_realloc(s->v, nc * sizeof *p);
            if (!p) {
                sqlite3_finalize(st);
                rag_free(s->v);
                return rag_fail(err, RAG_ENOMEM, "out of memory");
            }
            s->v = p;
            cap = nc;
        }
        s->v[s->n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return RAG_OK;
}

static int is_deleted(const docno_set *s, int64_t d)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->v[mid] < d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->v[lo] == d;
}

/* ---- merge ---------------------------------------------------------------- */

int bm25_merge(sqlite3 *db, rag_err *err)
{
    sqlite3_stmt *rd = NULL, *wr = NULL;
    docno_set del;
    rag_buf merged = RAG_BUF_INIT;
    char *cur = NULL;
    int64_t last = 0, df = 0;
    int rc;

    if (bm25_segment_count(db) <= 1 && sqlite3_changes(db) >= 0) {
        sqlite3_stmt *st;
        int64_t n_del = 0;
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM bm25_deleted", -1, &st, NULL) ==
                SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            n_del = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (n_del == 0)
            return RAG_OK;
    }
    if ((rc = load_deleted(db, &del, err)) < 0)
        return rc;
    rc = RAG_OK;
    if (sqlite3_exec(db, "CREATE TEMP TABLE IF NOT EXISTS bm25_merged(term TEXT, df INTEGER,"
                         " data BLOB); DELETE FROM bm25_merged;", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT term, data FROM bm25_postings ORDER BY term, seg", -1,
                           &rd, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO bm25_merged VALUES(?1, ?2, ?3)", -1, &wr,
                           NULL) != SQLITE_OK) {
        rc = rag_fail(err, RAG_EIO, "bm25 merge: %s", sqlite3_errmsg(db));
        goto done;
    }
    for (;;) {
        int step = sqlite3_step(rd);
        const char *term = step == SQLITE_ROW ? (const char *)sqlite3_column_text(rd, 0) : NULL;
        if (cur && (!term || strcmp(term, cur) != 0)) {
            if (df > 0) {
                sqlite3_bind_text(wr, 1, cur, -1, SQLITE_STATIC);
                sqlite3_bind_int64(wr, 2, df);
                sqlite3_bind_blob(wr, 3, merged.data, (int)merged.len, SQLITE_STATIC);
                if (sqlite3_step(wr) != SQLITE_DONE) {
                    rc = rag_fail(err, RAG_EIO, "bm25 merge: %s", sqlite3_errmsg(db));
                    goto done;
                }
                sqlite3_reset(wr);
            }
            rag_free(cur);
            cur = NULL;
        }
        if (!term)
            break;
        if (!cur) {
            if (!(cur = rag_strdup(term))) {
                rc = rag_fail(err, RAG_ENOMEM, "out of memory merging postings");
                goto done;
            }
            rag_buf_clear(&merged);
            last = 0;
            df = 0;
        }
        {
            const unsigned char *p = sqlite3_column_blob(rd, 1);
            size_t n = (size_t)sqlite3_column_bytes(rd, 1), i = 0;
            int64_t docno = 0;
            while (i < n) {
                uint64_t d, tf, dl;
                size_t a = bm25_get_varint(p + i, n - i, &d), b2, c;
                if (!a)
                    break;
                b2 = bm25_get_varint(p + i + a, n - i - a, &tf);
                if (!b2)
                    break;
                c = bm25_get_varint(p + i + a + b2, n - i - a - b2, &dl);
                if (!c)
                    break;
                i += a + b2 + c;
                docno += (int64_t)d;
                if (is_deleted(&del, docno))
                    continue;
                if (put_varint(&merged, (uint64_t)(docno - last)) < 0 ||
                    put_varint(&merged, tf) < 0 || put_varint(&merged, dl) < 0) {
                    rc = rag_fail(err, RAG_ENOMEM, "out of memory merging postings");
                    goto done;
                }
                last = docno;
                df++;
            }
        }
    }
    sqlite3_finalize(rd);
    rd = NULL;
    if (sqlite3_exec(db, "DELETE FROM bm25_postings;"
                         "INSERT INTO bm25_postings(term, seg, df, data)"
                         "  SELECT term, 1, df, data FROM bm25_merged;"
                         "DELETE FROM bm25_merged; DELETE FROM bm25_deleted;",
                     NULL, NULL, NULL) != SQLITE_OK)
        rc = rag_fail(err, RAG_EIO, "bm25 merge: %s", sqlite3_errmsg(db));
done:
    sqlite3_finalize(rd);
    sqlite3_finalize(wr);
    rag_free(cur);
    rag_free(del.v);
    rag_buf_fini(&merged);
    return rc;
}
