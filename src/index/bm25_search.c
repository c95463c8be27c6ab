/* bm25_search.c - term-at-a-time BM25 over the postings index.
 *
 * For each distinct query term (with its multiplicity m): read its
 * segments, skip deleted docnos, count the live df, then add
 * m * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)) into a
 * dense score array indexed by docno. The top k come from a bounded
 * min-heap over the docnos touched. One pass, no per-row SQL.
 */
#include "bm25_index.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BM25_K1 1.2
#define BM25_B 0.75

typedef struct {
    char term[RAG_ANALYZER_MAX_TERM_BYTES + 1];
    int mult;
} qterm;

typedef struct {
    qterm *v;
    size_t n, cap;
} qterm_list;

static int add_qterm(void *ctx, const char *term, size_t n, size_t s, size_t e, int col)
{
    qterm_list *l = ctx;
    (void)s;
    (void)e;
    (void)col;
    if (n > RAG_ANALYZER_MAX_TERM_BYTES)
        return 0;
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->v[i].term) == n && !memcmp(l->v[i].term, term, n)) {
            l->v[i].mult++;
            return 0;
        }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        qterm *p = rag_realloc(l->v, cap * sizeof *p);
        if (!p)
            return RAG_ENOMEM;
        l->v = p;
        l->cap = cap;
    }
    memcpy(l->v[l->n].term, term, n);
    l->v[l->n].term[n] = '\0';
    l->v[l->n++].mult = 1;
    return 0;
}

/* The query's terms as FTS5 would see the MATCH expression: each quoted
 * phrase of rag_analyzer_match_expr analysed in QUERY mode. */
static int query_terms(rag_analyzer *an, const char *query, qterm_list *out, rag_err *err)
{
    rag_buf expr = RAG_BUF_INIT, phrase = RAG_BUF_INIT;
    int rc = rag_analyzer_match_expr(an, &expr, query, err);
    for (size_t i = 0; rc == RAG_OK && i < expr.len; i++) {
        if (expr.data[i] != '"')
            continue;
        rag_buf_clear(&phrase);
        for (i++; i < expr.len && rc == RAG_OK; i++) {
            if (expr.data[i] == '"') {
                if (i + 1 < expr.len && expr.data[i + 1] == '"') {
                    rc = rag_buf_putc(&phrase, '"');
                    i++;
                    continue;
                }
                break;
            }
            rc = rag_buf_putc(&phrase, expr.data[i]);
        }
        if (rc == RAG_OK && phrase.len)
            rc = rag_analyzer_run_mode(an, phrase.data, phrase.len, RAG_ANALYZE_QUERY,
                                       add_qterm, out);
        if (rc < 0)
            rc = rag_fail(err, RAG_ENOMEM, "out of memory analysing the query");
    }
    rag_buf_fini(&expr);
    rag_buf_fini(&phrase);
    return rc;
}

/* The first column of sql's first row into *v (0 without a row). A
 * statement that fails means a damaged index (a dropped table): say so,
 * rather than answer "no results". */
static int meta_int(rag_index *ix, const char *sql, int64_t *v, rag_err *err)
{
    sqlite3 *db = rag_index_db(ix);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    *v = 0;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = rag_fail(err, RAG_EIO, "%s: bm25: %s (a damaged index? run 'docrag check')",
                      rag_index_path(ix), sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    return RAG_OK;
}

static int damaged(rag_index *ix, rag_err *err, const char *what, const char *term)
{
    return rag_fail(err, RAG_EFORMAT, "%s: damaged index: %s%s%s%s (run 'docrag check')",
                    rag_index_path(ix), what, term ? " '" : "", term ? term : "",
                    term ? "'" : "");
}

typedef struct {
    uint32_t docno;
    uint32_t tf;
    uint32_t dl;
} posting;

/* Min-heap on (score, then higher chunk id = worse) of the best k. */
typedef struct {
    double score;
    int64_t docno;
} cand;

static int worse(const cand *a, const cand *b)
{
    return a->score < b->score || (a->score == b->score && a->docno > b->docno);
}

static void sift_down(cand *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[l], &h[m]))
            m = l;
        if (r < n && worse(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int by_rank(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->docno < y->docno ? -1 : x->docno > y->docno;
}

int rag_index_bm25(rag_index *ix, const char *query, size_t k, rag_bm25_hit *hits,
                   size_t *n_hits, rag_err *err)
{
    sqlite3 *db = rag_index_db(ix);
    qterm_list terms = {0};
    sqlite3_stmt *st = NULL, *map = NULL;
    posting *post = NULL;
    size_t n_post = 0, cap_post = 0, n_heap = 0;
    double *acc = NULL, avgdl;
    uint32_t *touched = NULL;
    size_t n_touched = 0;
    int64_t n_docs, max_docno, *del = NULL;
    size_t n_del = 0;
    cand *heap = NULL;
    int rc;

    *n_hits = 0;
    if (k == 0)
        return RAG_OK;
    /* counts, deletions and postings from one committed state */
    rc = rag_index_read_begin(ix, err);
    if (rc < 0)
        return rc;
    rc = query_terms(rag_index_analyzer(ix), query, &terms, err);
    if (rc < 0 || terms.n == 0)
        goto done;
    {
        int64_t total_dl = 0;
        if ((rc = meta_int(ix, "SELECT CAST(value AS INTEGER) FROM meta WHERE"
                           " key='bm25_n_docs'", &n_docs, err)) < 0 ||
            (rc = meta_int(ix, "SELECT CAST(value AS INTEGER) FROM meta WHERE"
                           " key='bm25_total_dl'", &total_dl, err)) < 0 ||
            (rc = meta_int(ix, "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE"
                           " name='bm25_docs'), 0)", &max_docno, err)) < 0)
            goto done;
        if (n_docs < 0 || total_dl < 0) {
            rc = damaged(ix, err, "negative BM25 counts in meta (bm25_n_docs,"
                         " bm25_total_dl)", NULL);
            goto done;
        }
        avgdl = n_docs > 0 ? (double)total_dl / (double)n_docs : 0;
    }
    if (n_docs == 0 || max_docno <= 0)
        goto done;   /* an empty index */
    if (max_docno > UINT32_MAX - 1) {
        rc = damaged(ix, err, "BM25 document numbers past 2^32", NULL);
        goto done;
    }
    {
        int64_t n;
        if ((rc = meta_int(ix, "SELECT count(*) FROM bm25_deleted", &n, err)) < 0)
            goto done;
        if (n > 0) {
            del = rag_malloc((size_t)n * sizeof *del);
            if (!del) {
                rc = rag_fail(err, RAG_ENOMEM, "out of memory");
                goto done;
            }
            if (sqlite3_prepare_v2(db, "SELECT docno FROM bm25_deleted ORDER BY docno", -1,
                                   &st, NULL) == SQLITE_OK)
                while (sqlite3_step(st) == SQLITE_ROW && n_del < (size_t)n)
                    del[n_del++] = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
            st = NULL;
        }
    }
    if ((rc = rag_index_bm25_scratch(ix, (size_t)max_docno + 1, &acc, &touched, err)) < 0)
        goto done;
    if (sqlite3_prepare_v2(db, "SELECT data, df FROM bm25_postings WHERE term = ?1"
                           " ORDER BY seg", -1, &st, NULL) != SQLITE_OK) {
        rc = rag_fail(err, RAG_EIO, "%s: bm25: %s", rag_index_path(ix), sqlite3_errmsg(db));
        goto done;
    }
    for (size_t t = 0; t < terms.n; t++) {
        double idf, w;
        size_t di = 0;
        n_post = 0;
        sqlite3_bind_text(st, 1, terms.v[t].term, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *p = sqlite3_column_blob(st, 0);
            size_t n = (size_t)sqlite3_column_bytes(st, 0), i = 0;
            int64_t df = sqlite3_column_int64(st, 1), n_in_blob = 0;
            uint64_t docno = 0;
            while (i < n) {
                uint64_t d, tf, dl;
                size_t a = bm25_get_varint(p + i, n - i, &d), b, c;
                if (!a || !(b = bm25_get_varint(p + i + a, n - i - a, &tf)) ||
                    !(c = bm25_get_varint(p + i + a + b, n - i - a - b, &dl))) {
                    rc = rag_fail(err, RAG_EFORMAT, "%s: corrupt postings for '%s'",
                                  rag_index_path(ix), terms.v[t].term);
                    goto done;
                }
                i += a + b + c;
                docno += d;
                n_in_blob++;
                if (docno > (uint64_t)max_docno) {
                    rc = rag_fail(err, RAG_EFORMAT, "%s: corrupt postings for '%s'",
                                  rag_index_path(ix), terms.v[t].term);
                    goto done;
                }
                /* Postings come in docno order, and so does del[]. */
                while (di < n_del && del[di] < (int64_t)docno)
                    di++;
                if (di < n_del && del[di] == (int64_t)docno)
                    continue;
                if (n_post == cap_post) {
                    size_t bytes;
                    if (!(post = rag_index_bm25_postbuf(ix, (n_post + 1) * sizeof *post, &bytes,
                                                        err))) {
                        rc = RAG_ENOMEM;
                        goto done;
                    }
                    cap_post = bytes / sizeof *post;
                }
                post[n_post++] = (posting){(uint32_t)docno, (uint32_t)tf, (uint32_t)dl};
            }
            if (n_in_blob != df) {   /* e.g. an emptied blob: not "no results" */
                rc = damaged(ix, err, "postings that do not match their df for", terms.v[t].term);
                goto done;
            }
        }
        sqlite3_reset(st);
        if (n_post == 0)
            continue;
        idf = log(1.0 + ((double)n_docs - (double)n_post + 0.5) / ((double)n_post + 0.5));
        w = idf * terms.v[t].mult * (BM25_K1 + 1);
        for (size_t i = 0; i < n_post; i++) {
            double tf = post[i].tf;
            double norm = BM25_K1 * (1 - BM25_B + BM25_B * post[i].dl / avgdl);
            if (acc[post[i].docno] == 0)
                touched[n_touched++] = post[i].docno;
            acc[post[i].docno] += w * tf / (tf + norm);
        }
    }
    heap = rag_malloc(k * sizeof *heap);
    if (!heap) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_touched; i++) {
        cand c = {acc[touched[i]], touched[i]};
        if (n_heap < k) {
            size_t j = n_heap++;
            heap[j] = c;
            while (j > 0 && worse(&heap[j], &heap[(j - 1) / 2])) {
                cand tmp = heap[j];
                heap[j] = heap[(j - 1) / 2];
                heap[(j - 1) / 2] = tmp;
                j = (j - 1) / 2;
            }
        } else if (worse(&heap[0], &c)) {
            heap[0] = c;
            sift_down(heap, n_heap, 0);
        }
    }
    qsort(heap, n_heap, sizeof *heap, by_rank);
    if (sqlite3_prepare_v2(db, "SELECT chunk_id FROM bm25_docs WHERE docno = ?1", -1, &map,
                           NULL) != SQLITE_OK) {
        rc = rag_fail(err, RAG_EIO, "%s: bm25: %s", rag_index_path(ix), sqlite3_errmsg(db));
        goto done;
    }
    for (size_t i = 0; i < n_heap; i++) {
        sqlite3_bind_int64(map, 1, heap[i].docno);
        if (sqlite3_step(map) != SQLITE_ROW) {
            /* a live posting always has its bm25_docs row */
            rc = damaged(ix, err, "BM25 postings name chunks bm25_docs does not have", NULL);
            goto done;
        }
        hits[*n_hits].chunk_id = sqlite3_column_int64(map, 0);
        hits[*n_hits].score = heap[i].score;
        (*n_hits)++;
        sqlite3_reset(map);
    }
    rc = RAG_OK;
done:
    sqlite3_finalize(st);
    sqlite3_finalize(map);
    rag_index_read_end(ix);
    rag_free(terms.v);
    for (size_t i = 0; i < n_touched; i++)   /* the scratch goes back all 0 */
        acc[touched[i]] = 0;
    rag_free(del);
    rag_free(heap);
    return rc < 0 ? rc : RAG_OK;
}
