/* qa.c - QA evaluation: questions with an expected document and page,
 * scored as page-hit@1/@5/@10 and MRR@10 over rag_search's ranking.
 *
 * The documents go through the real indexer (the same extractor, chunker
 * and analyzer as `docrag index`), so a page-hit measures what users get.
 * The evidence checker extracts each document once with the same
 * extractor, so "page 12" in the QA file means page 12 of the text the
 * index cites, not of some other tool's rendering.
 */
#include "eval.h"
#include "eval_int.h"
#include "index/store.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- loading -------------------------------------------------------------- */

static void item_fini(rag_qa_item *q)
{
    rag_free(q->id);
    rag_free(q->question);
    rag_free(q->doc);
    for (size_t i = 0; i < q->n_pages; i++)
        rag_free(q->evidence[i]);
    memset(q, 0, sizeof *q);
}

void rag_qa_set_fini(rag_qa_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        item_fini(&set->items[i]);
    rag_free(set->items);
    rag_free(set->path);
    memset(set, 0, sizeof *set);
}

static const char *json_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) && json_string_value(v)[0] ? json_string_value(v) : NULL;
}

/* Fill q from one parsed line; messages name path:line. */
static int item_from_json(rag_qa_item *q, json_t *o, const char *path, int line,
                          rag_err *err)
{
    const char *id = json_str(o, "id"), *question = json_str(o, "question"),
               *doc = json_str(o, "doc");
    json_t *pages = json_object_get(o, "pages"), *evidence = json_object_get(o, "evidence");
    size_t n;

    if (!id || !question || !doc)
        return rag_fail(err, RAG_EFORMAT, "%s:%d: needs non-empty \"id\", \"question\" "
                        "and \"doc\" strings", path, line);
    if (!json_is_array(pages) || !json_is_array(evidence))
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: needs \"pages\" and \"evidence\" "
                        "arrays", path, line, id);
    n = json_array_size(pages);
    if (n == 0 || n > RAG_QA_MAX_PAGES)
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: \"pages\" needs 1 to %d pages", path,
                        line, id, RAG_QA_MAX_PAGES);
    if (json_array_size(evidence) != n)
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: \"evidence\" needs one string per "
                        "page (%zu pages, %zu strings)", path, line, id, n,
                        json_array_size(evidence));
    q->line = line;
    if (!(q->id = rag_strdup(id)) || !(q->question = rag_strdup(question)) ||
        !(q->doc = rag_strdup(doc)))
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(pages, i), *e = json_array_get(evidence, i);
        if (!json_is_integer(p) || json_integer_value(p) < 1 ||
            json_integer_value(p) > 1000000)
            return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: pages[%zu] must be an integer "
                            ">= 1 (1-based page)", path, line, id, i);
        if (!json_is_string(e) || !json_string_value(e)[0])
            return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: evidence[%zu] must be a "
                            "non-empty string", path, line, id, i);
        q->pages[i] = (int)json_integer_value(p);
        if (!(q->evidence[i] = rag_strdup(json_string_value(e))))
            return rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
        q->n_pages = i + 1;
    }
    return RAG_OK;
}

static int qa_fill(void *item, json_t *o, const char *path, int lineno, rag_err *err)
{
    return item_from_json(item, o, path, lineno, err);
}

static const char *qa_id(const void *item)
{
    return ((const rag_qa_item *)item)->id;
}

static int qa_line(const void *item)
{
    return ((const rag_qa_item *)item)->line;
}

int rag_qa_load(rag_qa_set *out, const char *path, rag_err *err)
{
    static const eval_items_kind kind = {"the QA file", sizeof(rag_qa_item), qa_fill, qa_id,
                                         qa_line};
    void *items = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!(out->path = rag_strdup(path)))
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    rc = eval_items_load(&kind, path, &items, &out->n, err);
    out->items = items;
    return rc;
}

/* ---- scoring -------------------------------------------------------------- */

static int same_doc(const char *stored, const char *want)
{
    size_t ns = strlen(stored), nw = strlen(want);
    if (ns == nw)
        return !strcmp(stored, want);
    return ns > nw && stored[ns - nw - 1] == '/' && !strcmp(stored + ns - nw, want);
}

size_t rag_qa_first_hit(const rag_qa_item *q, const rag_qa_span *ranked, size_t n)
{
    for (size_t r = 0; r < n; r++) {
        if (!ranked[r].doc || !same_doc(ranked[r].doc, q->doc))
            continue;
        for (size_t i = 0; i < q->n_pages; i++)
            if (q->pages[i] >= ranked[r].page_start && q->pages[i] <= ranked[r].page_end)
                return r + 1;
    }
    return 0;
}

rag_qa_metrics rag_qa_summarize(const size_t *first_hit, size_t n)
{
    rag_qa_metrics m = {0, 0, 0, 0};
    if (n == 0)
        return m;
    for (size_t i = 0; i < n; i++) {
        size_t r = first_hit[i];
        if (r == 0)
            continue;
        m.hit1 += r <= 1;
        m.hit5 += r <= 5;
        m.hit10 += r <= 10;
        if (r <= 10)
            m.mrr10 += 1.0 / (double)r;
    }
    m.hit1 /= (double)n;
    m.hit5 /= (double)n;
    m.hit10 /= (double)n;
    m.mrr10 /= (double)n;
    return m;
}

/* ---- evaluation ----------------------------------------------------------- */

rag_qa_opts rag_qa_default_opts(void)
{
    rag_qa_opts o;
    memset(&o, 0, sizeof o);
    o.mode = RAG_MODE_BM25;
    o.k = 10;
    o.indexer.extract = rag_extract_default_opts();
    o.indexer.chunk = rag_chunk_default_opts();
    o.indexer.remove_vanished = 1;
    return o;
}

void rag_qa_result_fini(rag_qa_result *res)
{
    if (!res)
        return;
    rag_free(res->first_hit);
    res->first_hit = NULL;
}

enum { QA_FOUND = 1000 };   /* stops the scan: not a rag_status */

static int on_path(void *ctx, const char *path)
{
    return same_doc(path, ctx) ? -QA_FOUND : RAG_OK;
}

/* 1 if some stored document matches doc. */
static int index_has_doc(rag_index *ix, const char *doc, rag_err *err)
{
    rag_store *st = rag_index_store(ix);
    int rc = st->ops->doc_paths(st, on_path, (void *)doc, err);
    if (rc == -QA_FOUND)
        return 1;
    if (rc < 0)
        rag_err_prefix(err, "qa");
    return rc < 0 ? rc : 0;
}

int rag_eval_qa(rag_qa_result *out, const rag_qa_set *set, const char *docs_dir,
                const rag_qa_opts *opts, rag_err *err)
{
    rag_index *ix = NULL;
    rag_retriever *r = NULL;
    rag_qa_span *spans = NULL;
    rag_index_stats st;
    rag_search_opts so;
    size_t k = opts->k ? opts->k : 10;
    double t0;
    int rc;

    memset(out, 0, sizeof *out);
    out->mode_used = opts->mode;
    rc = rag_index_open(&ix, opts->db, opts->db ? 0 : RAG_INDEX_MEMORY, err);
    if (rc < 0)
        goto done;
    rc = rag_indexer_run(ix, &docs_dir, 1, &opts->indexer, NULL, &out->index, err);
    if (rc < 0)
        goto done;
    if (out->index.n_seen == 0) {
        rc = rag_fail(err, RAG_ENOTFOUND, "%s: no indexable documents", docs_dir);
        goto done;
    }
    if ((rc = rag_index_stats_get(ix, &st, err)) < 0)
        goto done;
    out->n_docs = st.n_documents;
    out->n_chunks = st.n_chunks;
    /* A question whose document is not indexed could never be hit: that is
     * a broken QA file or folder, not a retrieval miss. */
    for (size_t i = 0; i < set->n; i++) {
        rc = index_has_doc(ix, set->items[i].doc, err);
        if (rc < 0)
            goto done;
        if (rc == 0) {
            rc = rag_fail(err, RAG_ENOTFOUND, "%s:%d: %s: document \"%s\" is not in %s "
                          "(or failed to index)", set->path ? set->path : "qa",
                          set->items[i].line, set->items[i].id, set->items[i].doc,
                          docs_dir);
            goto done;
        }
    }
    out->first_hit = rag_calloc(set->n, sizeof *out->first_hit);
    spans = rag_calloc(k, sizeof *spans);
    if (!out->first_hit || !spans) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        goto done;
    }
    rc = eval_retriever_open(&r, ix, opts->cfg, opts->mode, opts->rerank, &out->embed,
                             out->notice, sizeof out->notice, err);
    if (rc < 0)
        goto done;
    if (opts->rerank && !r)
        eval_notice_add(out->notice, sizeof out->notice,
                        "+rerank needs a reranker and none is configured; ranking "
                        "without rerank");
    memset(&so, 0, sizeof so);
    so.mode = opts->mode;
    so.k = k;
    so.retriever = r;
    so.no_rerank = !opts->rerank;
    t0 = rag_now_ms();
    for (size_t i = 0; i < set->n; i++) {
        rag_hits hits;
        size_t n = 0;
        rc = rag_search(&hits, ix, set->items[i].question, &so, err);
        if (rc < 0)
            goto done;
        if (i == 0)
            out->mode_used = hits.mode_used;
        eval_notice_add(out->notice, sizeof out->notice, hits.notice);
        out->n_reranked += hits.reranked != 0;
        for (; n < hits.n && n < k; n++) {
            spans[n].doc = hits.items[n].row.doc;
            spans[n].page_start = hits.items[n].row.page_start;
            spans[n].page_end = hits.items[n].row.page_end;
        }
        out->first_hit[i] = rag_qa_first_hit(&set->items[i], spans, n);
        rag_hits_fini(&hits);
    }
    out->query_seconds = (rag_now_ms() - t0) / 1e3;
    out->n_questions = set->n;
    out->m = rag_qa_summarize(out->first_hit, set->n);
    rc = RAG_OK;
done:
    rag_free(spans);
    rag_retriever_destroy(r);
    rag_index_close(ix);
    if (rc < 0)
        rag_qa_result_fini(out);
    return rc;
}

/* ---- evidence ------------------------------------------------------------- */

/* Lower-case ASCII, whitespace runs to one space, trimmed. Caller frees. */
static char *squash(const char *s, size_t n)
{
    char *o = rag_malloc(n + 1), *w = o;
    int space = 1;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c)) {
            if (!space)
                *w++ = ' ';
            space = 1;
        } else {
            *w++ = (char)tolower(c);
            space = 0;
        }
    }
    if (w > o && w[-1] == ' ')
        w--;
    *w = '\0';
    return o;
}

static void problem(rag_qa_problem_fn fn, void *ctx, const rag_qa_item *q, size_t *n_bad,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void problem(rag_qa_problem_fn fn, void *ctx, const rag_qa_item *q, size_t *n_bad,
                    const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ++*n_bad;
    if (fn)
        fn(ctx, q, msg);
}

static int check_page(const rag_doc *doc, const rag_qa_item *q, size_t i,
                      rag_qa_problem_fn fn, void *ctx, size_t *n_bad)
{
    const rag_page_span *span = NULL;
    char *page, *want;
    int found;
    for (size_t p = 0; p < doc->n_pages && !span; p++)
        if (doc->pages[p].page == q->pages[i])
            span = &doc->pages[p];
    if (!span) {
        problem(fn, ctx, q, n_bad, "%s has %zu pages, no page %d", q->doc, doc->n_pages,
                q->pages[i]);
        return RAG_OK;
    }
    page = squash(doc->text + span->byte_start, span->byte_end - span->byte_start);
    want = squash(q->evidence[i], strlen(q->evidence[i]));
    if (!page || !want) {
        rag_free(page);
        rag_free(want);
        return RAG_ENOMEM;
    }
    found = strstr(page, want) != NULL;
    if (!found)
        problem(fn, ctx, q, n_bad, "%s page %d does not contain \"%s\"", q->doc,
                q->pages[i], q->evidence[i]);
    rag_free(page);
    rag_free(want);
    return RAG_OK;
}

int rag_qa_check_evidence(const rag_qa_set *set, const char *docs_dir,
                          const rag_extract_opts *extract, rag_qa_problem_fn fn, void *ctx,
                          size_t *n_bad, rag_err *err)
{
    char *done = rag_calloc(set->n ? set->n : 1, 1);
    int rc = RAG_OK;

    *n_bad = 0;
    if (!done)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    /* One extraction per document: questions are grouped by doc here. */
    for (size_t i = 0; i < set->n && rc == RAG_OK; i++) {
        rag_doc *doc = NULL;
        rag_err ferr = {0};
        char *path;
        if (done[i])
            continue;
        if (!(path = rag_asprintf("%s/%s", docs_dir, set->items[i].doc))) {
            rc = rag_fail(err, RAG_ENOMEM, "out of memory");
            break;
        }
        if (rag_extract_file(&doc, path, extract, &ferr) < 0) {
            if (ferr.code == RAG_ENOMEM)
                rc = rag_fail(err, RAG_ENOMEM, "%s", ferr.msg);
            for (size_t j = i; j < set->n; j++)
                if (!done[j] && !strcmp(set->items[j].doc, set->items[i].doc)) {
                    done[j] = 1;
                    problem(fn, ctx, &set->items[j], n_bad, "%s", ferr.msg);
                }
            rag_free(path);
            continue;
        }
        for (size_t j = i; j < set->n && rc == RAG_OK; j++) {
            if (done[j] || strcmp(set->items[j].doc, set->items[i].doc) != 0)
                continue;
            done[j] = 1;
            for (size_t p = 0; p < set->items[j].n_pages && rc == RAG_OK; p++)
                if (check_page(doc, &set->items[j], p, fn, ctx, n_bad) < 0)
                    rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        }
        rag_doc_destroy(doc);
        rag_free(path);
    }
    rag_free(done);
    return rc;
}
