/* eval.c - BEIR loading, ranking and trec_eval-compatible metrics. */
#include "eval.h"
#include "eval_int.h"

#include "index/index.h"
#include "index/store.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rag_eval_opts rag_eval_default_opts(void)
{
    rag_eval_opts o;
    memset(&o, 0, sizeof o);
    o.chunk = rag_chunk_default_opts();
    o.chunk_depth = 1000;
    o.doc_depth = 100;
    o.run_tag = "docrag";
    return o;
}

static int cmp_grade_desc(const void *a, const void *b)
{
    return *(const int *)b - *(const int *)a;
}

rag_query_metrics rag_eval_query(const char *const *ranked, size_t n_ranked,
                                 const char *const *rel_ids, const int *rel_grades,
                                 size_t n_rel)
{
    rag_query_metrics m = {0, 0, 0};
    double dcg = 0, idcg = 0;
    size_t found = 0;
    int ideal[10];
    size_t n_ideal = 0;

    if (n_rel == 0)
        return m;
    for (size_t i = 0; i < n_ranked && i < 100; i++) {
        for (size_t j = 0; j < n_rel; j++) {
            if (strcmp(ranked[i], rel_ids[j]) != 0)
                continue;
            if (i < 10) {
                dcg += rel_grades[j] / log2((double)i + 2);
                if (m.mrr10 == 0)
                    m.mrr10 = 1.0 / ((double)i + 1);
            }
            found++;
            break;
        }
    }
    {
        int *g = malloc(n_rel * sizeof *g);
        if (g) {
            memcpy(g, rel_grades, n_rel * sizeof *g);
            qsort(g, n_rel, sizeof *g, cmp_grade_desc);
            for (size_t i = 0; i < n_rel && i < 10; i++)
                ideal[n_ideal++] = g[i];
            free(g);
        }
    }
    for (size_t i = 0; i < n_ideal; i++)
        idcg += ideal[i] / log2((double)i + 2);
    m.ndcg10 = idcg > 0 ? dcg / idcg : 0;
    m.recall100 = (double)found / (double)n_rel;
    return m;
}

/* ---- qrels -------------------------------------------------------------- */

typedef struct {
    char *qid;
    char **doc_ids;
    int *grades;
    size_t n, cap;
    int has_query;
} qrel_set;

typedef struct {
    qrel_set *items;
    size_t n, cap;
} qrels;

static qrel_set *qrels_find(qrels *q, const char *qid)
{
    for (size_t i = q->n; i > 0; i--)   /* qrels come grouped: check recent first */
        if (!strcmp(q->items[i - 1].qid, qid))
            return &q->items[i - 1];
    return NULL;
}

static void qrels_fini(qrels *q)
{
    for (size_t i = 0; i < q->n; i++) {
        for (size_t j = 0; j < q->items[i].n; j++)
            rag_free(q->items[i].doc_ids[j]);
        rag_free(q->items[i].doc_ids);
        rag_free(q->items[i].grades);
        rag_free(q->items[i].qid);
    }
    rag_free(q->items);
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    void *np;
    size_t nc;
    if (n < *cap)
        return 0;
    nc = *cap ? *cap * 2 : 16;
    np = rag_realloc(*p, nc * size);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

static int load_qrels(qrels *q, const char *path, rag_err *err)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int lineno = 0;

    if (!f)
        return rag_fail(err, RAG_ENOTFOUND, "%s: cannot open", path);
    while (fgets(line, sizeof line, f)) {
        char qid[512], did[512];
        int grade;
        qrel_set *s;
        lineno++;
        if (lineno == 1 && !strncmp(line, "query-id", 8))
            continue;
        if (line[0] == '\n' || line[0] == '\0')
            continue;
        if (sscanf(line, "%511s %511s %d", qid, did, &grade) != 3) {
            fclose(f);
            return rag_fail(err, RAG_EFORMAT, "%s:%d: expected 'query-id corpus-id score'",
                            path, lineno);
        }
        if (grade <= 0)
            continue;
        s = qrels_find(q, qid);
        if (!s) {
            if (grow((void **)&q->items, &q->cap, q->n, sizeof *q->items) < 0)
                goto oom;
            s = &q->items[q->n++];
            memset(s, 0, sizeof *s);
            if (!(s->qid = rag_strdup(qid)))
                goto oom;
        }
        if (s->n == s->cap) {
            size_t cap = s->cap;
            if (grow((void **)&s->doc_ids, &cap, s->n, sizeof *s->doc_ids) < 0)
                goto oom;
            if (grow((void **)&s->grades, &s->cap, s->n, sizeof *s->grades) < 0)
                goto oom;
        }
        if (!(s->doc_ids[s->n] = rag_strdup(did)))
            goto oom;
        s->grades[s->n++] = grade;
    }
    fclose(f);
    if (q->n == 0)
        return rag_fail(err, RAG_EFORMAT, "%s: no relevance judgements", path);
    return RAG_OK;
oom:
    fclose(f);
    return rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
}

/* ---- corpus -------------------------------------------------------------- */

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int rag_eval_index_corpus(rag_index *ix, const char *path, const rag_chunk_opts *chunk,
                          size_t *n_docs, size_t *n_chunks, rag_err *err)
{
    FILE *f = fopen(path, "r");
    rag_buf line = RAG_BUF_INIT, text = RAG_BUF_INIT;
    int lineno = 0, rc = RAG_OK, c;

    if (!f)
        return rag_fail(err, RAG_ENOTFOUND, "%s: cannot open", path);
    rc = rag_index_begin(ix, err);
    while (rc == RAG_OK) {
        json_t *o;
        json_error_t je;
        const char *id, *title, *body;
        rag_buf_clear(&line);
        while ((c = fgetc(f)) != EOF && c != '\n')
            if ((rc = rag_buf_putc(&line, (char)c)) < 0)
                break;
        if (rc < 0 || (c == EOF && line.len == 0))
            break;
        lineno++;
        if (line.len == 0)
            continue;
        o = json_loadb(line.data, line.len, 0, &je);
        if (!o) {
            rc = rag_fail(err, RAG_EFORMAT, "%s:%d: %s", path, lineno, je.text);
            break;
        }
        id = jstr(o, "_id");
        title = jstr(o, "title");
        body = jstr(o, "text");
        if (!id) {
            json_decref(o);
            rc = rag_fail(err, RAG_EFORMAT, "%s:%d: no \"_id\"", path, lineno);
            break;
        }
        rag_buf_clear(&text);
        if (title && *title)
            rc = rag_buf_printf(&text, "%s\n\n", title);
        if (rc == RAG_OK && body)
            rc = rag_buf_puts(&text, body);
        if (rc == RAG_OK) {
            rag_page_span page = {1, 0, text.len};
            rag_doc doc;
            rag_chunks *chunks = NULL;
            rag_doc_meta meta = {id, "", 0, (int64_t)text.len};
            memset(&doc, 0, sizeof doc);
            doc.path = (char *)id;
            doc.title = "";
            doc.kind = RAG_DOC_TEXT;
            doc.text = text.data ? text.data : "";
            doc.text_bytes = text.len;
            doc.pages = &page;
            doc.n_pages = 1;
            rc = rag_chunker_split(&chunks, &doc, chunk, err);
            if (rc == RAG_OK)
                rc = rag_index_put_doc(ix, &meta, &doc, chunks, err);
            if (rc == RAG_OK) {
                ++*n_docs;
                *n_chunks += chunks->n;
            }
            rag_chunks_destroy(chunks);
        } else {
            rc = rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
        }
        json_decref(o);
    }
    fclose(f);
    rag_buf_fini(&line);
    rag_buf_fini(&text);
    if (rc < 0) {
        rag_index_rollback(ix);
        return rc;
    }
    rc = rag_index_commit(ix, err);
    if (rc == RAG_OK)
        rc = rag_index_optimize(ix, err);
    return rc;
}

/* ---- queries -------------------------------------------------------------- */

typedef struct {
    char *doc;
    double score;
} ranked_doc;

static int by_score_then_id(const void *a, const void *b)
{
    const ranked_doc *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return strcmp(x->doc, y->doc);
}

/* Rank chunks, fold them to documents (a document scores as its best
 * chunk), order as trec_eval does (score, then id), write the run lines
 * and score the query. */
static int run_query(rag_index *ix, rag_store *doc_of, rag_bm25_hit *hits,
                     const char *qid, const char *text, qrel_set *rel,
                     const rag_eval_opts *opts, rag_query_metrics *m,
                     rag_retriever *r, rag_search_mode *res_mode, char *notice,
                     size_t n_notice, rag_err *err)
{
    ranked_doc *docs = NULL;
    const char **ids = NULL;
    size_t n_hits = 0, n = 0;
    int rc;

    memset(m, 0, sizeof *m);
    if (opts->mode == RAG_MODE_BM25 && !opts->rerank) {
        rc = rag_index_bm25(ix, text, opts->chunk_depth, hits, &n_hits, err);
    } else {
        /* Other modes rank through rag_search (which may fall back to BM25
         * and say so); only the chunk ids and scores are kept. */
        rag_hits h;
        rag_search_opts so;
        memset(&so, 0, sizeof so);
        so.mode = opts->mode;
        so.k = opts->chunk_depth;
        so.retriever = r;
        so.no_rerank = !opts->rerank;
        rc = rag_search(&h, ix, text, &so, err);
        if (rc == RAG_OK) {
            for (size_t i = 0; i < h.n && i < opts->chunk_depth; i++) {
                hits[i].chunk_id = h.items[i].row.chunk_id;
                hits[i].score = h.items[i].score;
                n_hits = i + 1;
            }
            if (res_mode)
                *res_mode = h.mode_used;
            eval_notice_add(notice, n_notice, h.notice);
            rag_hits_fini(&h);
        }
    }
    if (rc < 0 || n_hits == 0)
        goto done;
    docs = rag_calloc(n_hits, sizeof *docs);
    ids = rag_calloc(n_hits, sizeof *ids);
    if (!docs || !ids) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_hits && n < opts->doc_depth; i++) {
        char *path = NULL;
        int seen = 0;
        rc = doc_of->ops->chunk_doc_path(doc_of, hits[i].chunk_id, &path, err);
        if (rc < 0)
            goto done;
        if (rc == 0)
            continue;
        rc = RAG_OK;
        for (size_t j = 0; j < n && !seen; j++)
            seen = !strcmp(docs[j].doc, path);
        if (!seen) {
            docs[n].doc = path;
            docs[n++].score = hits[i].score;
            path = NULL;
        }
        rag_free(path);
    }
    qsort(docs, n, sizeof *docs, by_score_then_id);
    for (size_t i = 0; i < n; i++) {
        ids[i] = docs[i].doc;
        if (opts->run)
            fprintf(opts->run, "%s Q0 %s %zu %.6f %s\n", qid, docs[i].doc, i + 1,
                    docs[i].score, opts->run_tag);
    }
    if (rel)
        *m = rag_eval_query(ids, n, (const char *const *)rel->doc_ids, rel->grades, rel->n);
done:
    for (size_t i = 0; docs && i < n; i++)
        rag_free(docs[i].doc);
    rag_free(docs);
    rag_free(ids);
    return rc;
}

int rag_eval_beir(rag_eval_result *res, const char *dir, const rag_eval_opts *opts,
                  rag_err *err)
{
    rag_index *ix = NULL;
    rag_retriever *r = NULL;
    rag_bm25_hit *hits = NULL;
    qrels q = {0};
    rag_store *st = NULL;
    char *path = NULL;
    FILE *f = NULL;
    double t0;
    int rc, lineno = 0;
    char *line = NULL;
    size_t line_cap = 0;

    memset(res, 0, sizeof *res);
    res->mode_used = opts->mode;
    if (!(path = rag_asprintf("%s/qrels/test.tsv", dir)))
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    rc = load_qrels(&q, path, err);
    rag_free(path);
    path = NULL;
    if (rc < 0)
        goto done;
    if (!opts->ix && (rc = rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, err)) < 0)
        goto done;
    if (!(hits = rag_calloc(opts->chunk_depth ? opts->chunk_depth : 1, sizeof *hits))) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        goto done;
    }
    t0 = rag_now_ms();
    if (!(path = rag_asprintf("%s/corpus.jsonl", dir))) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        goto done;
    }
    if (opts->ix) {
        rag_index_stats c;
        if ((rc = rag_index_counts_get(opts->ix, &c, err)) < 0)
            goto done;
        res->n_docs = (size_t)c.n_documents;
        res->n_chunks = (size_t)c.n_chunks;
    } else if ((rc = rag_eval_index_corpus(ix, path, &opts->chunk, &res->n_docs,
                                           &res->n_chunks, err)) < 0) {
        goto done;
    }
    if ((rc = eval_retriever_open(&r, opts->ix ? opts->ix : ix, opts->cfg, opts->mode, opts->rerank, &res->embed,
                                  res->notice, sizeof res->notice, err)) < 0)
        goto done;
    if (opts->rerank && !r)
        eval_notice_add(res->notice, sizeof res->notice,
                        "+rerank needs a reranker and none is configured; ranking "
                        "without rerank");
    res->index_seconds = (rag_now_ms() - t0) / 1e3;
    rag_free(path);
    if (!(path = rag_asprintf("%s/queries.jsonl", dir))) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        goto done;
    }
    if (!(f = fopen(path, "r"))) {
        rc = rag_fail(err, RAG_ENOTFOUND, "%s: cannot open", path);
        goto done;
    }
    if (opts->ix)
        ix = opts->ix;   /* borrowed: not closed below */
    st = rag_index_store(ix);
    t0 = rag_now_ms();
    {
        double sum_ndcg = 0, sum_recall = 0, sum_mrr = 0;
        ssize_t got;
        while ((got = getline(&line, &line_cap, f)) >= 0) {
            json_t *o;
            json_error_t je;
            const char *qid, *text;
            qrel_set *rel;
            rag_query_metrics m;
            lineno++;
            if (got <= 1)
                continue;
            o = json_loadb(line, (size_t)got, 0, &je);
            if (!o) {
                rc = rag_fail(err, RAG_EFORMAT, "%s:%d: %s", path, lineno, je.text);
                goto done;
            }
            qid = jstr(o, "_id");
            text = jstr(o, "text");
            rel = qid ? qrels_find(&q, qid) : NULL;
            if (!qid || !text) {
                json_decref(o);
                rc = rag_fail(err, RAG_EFORMAT, "%s:%d: needs \"_id\" and \"text\"", path,
                              lineno);
                goto done;
            }
            if (rel && rel->has_query) {
                json_decref(o);
                continue; /* duplicate query id: score once */
            }
            rc = run_query(ix, st, hits, qid, text, rel, opts, &m, r, &res->mode_used,
                           res->notice, sizeof res->notice, err);
            json_decref(o);
            if (rc < 0)
                goto done;
            if (rel) {
                rel->has_query = 1;
                sum_ndcg += m.ndcg10;
                sum_recall += m.recall100;
                sum_mrr += m.mrr10;
            }
        }
        /* Judged queries without a query text count as zeros, as in ireval.py. */
        res->n_queries = q.n;
        res->ndcg10 = sum_ndcg / (double)q.n;
        res->recall100 = sum_recall / (double)q.n;
        res->mrr10 = sum_mrr / (double)q.n;
    }
    res->query_seconds = (rag_now_ms() - t0) / 1e3;
    rc = RAG_OK;
done:
    free(line);
    if (f)
        fclose(f);
    rag_free(path);
    qrels_fini(&q);
    rag_free(hits);
    rag_retriever_destroy(r);
    if (ix != opts->ix)
        rag_index_close(ix);
    return rc;
}
