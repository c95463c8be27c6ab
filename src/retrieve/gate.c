/* gate.c - query terms with IDF, term coverage, and the off-topic gate.
 *
 * The gate asks: does some top chunk contain most of the question's
 * information? Coverage weights each distinct query term by its IDF, so
 * "what", "does" and other common words count little and the rare,
 * topical words ("football", "weather", "mcause") decide. A question
 * whose rare words are absent from the best chunks is refused before any
 * answer is built.
 */
#include "retrieve.h"

#include <math.h>
#include <string.h>

rag_gate_opts rag_gate_default_opts(void)
{
    return (rag_gate_opts){.min_coverage = 0.5, .n_check = 5};
}

typedef struct {
    rag_qterms *q;
    int oom;
} build_ctx;

static int add_term(void *ctx, const char *term, size_t n, size_t s, size_t e,
                    int colocated)
{
    build_ctx *b = ctx;
    uint64_t h = rag_hash64(term, n);
    (void)s;
    (void)e;
    if (colocated)
        return 0; /* parts of a compound token: the whole token decides */
    for (size_t i = 0; i < b->q->n; i++)
        if (b->q->items[i].hash == h && strlen(b->q->items[i].term) == n &&
            !memcmp(b->q->items[i].term, term, n))
            return 0;
    if (b->q->n == 64)
        return 0;
    b->q->items[b->q->n].term = rag_strndup(term, n);
    if (!b->q->items[b->q->n].term) {
        b->oom = 1;
        return RAG_ENOMEM;
    }
    b->q->items[b->q->n++].hash = h;
    return 0;
}

int rag_qterms_build(rag_qterms *out, rag_index *ix, const char *query, rag_err *err)
{
    rag_analyzer *an = rag_index_analyzer(ix);
    build_ctx b = {out, 0};
    int64_t n_total;
    int rc;

    memset(out, 0, sizeof *out);
    rc = rag_analyzer_run(an, query, strlen(query), add_term, &b);
    if (rc < 0 || b.oom) {
        rag_qterms_fini(out);
        return rag_fail(err, RAG_ENOMEM, "out of memory analysing the question");
    }
    n_total = rag_index_n_chunks(ix);
    if (n_total < 0)
        n_total = 0;
    for (size_t i = 0; i < out->n; i++) {
        rag_qterm *t = &out->items[i];
        rc = rag_index_term_docs(ix, t->term, &t->n_docs, err);
        if (rc < 0) {
            rag_qterms_fini(out);
            return rc;
        }
        t->idf = log(1.0 + ((double)n_total - (double)t->n_docs + 0.5) /
                               ((double)t->n_docs + 0.5));
        out->idf_total += t->idf;
    }
    return RAG_OK;
}

void rag_qterms_fini(rag_qterms *q)
{
    for (size_t i = 0; i < q->n; i++)
        rag_free(q->items[i].term);
    memset(q, 0, sizeof *q);
}

typedef struct {
    const rag_qterms *q;
    uint64_t matched;
} cover_ctx;

static int match_term(void *ctx, const char *term, size_t n, size_t s, size_t e,
                      int colocated)
{
    cover_ctx *c = ctx;
    uint64_t h = rag_hash64(term, n);
    (void)s;
    (void)e;
    (void)colocated;
    for (size_t i = 0; i < c->q->n; i++)
        if (c->q->items[i].hash == h && !strncmp(c->q->items[i].term, term, n) &&
            c->q->items[i].term[n] == '\0')
            c->matched |= (uint64_t)1 << i;
    return 0;
}

int rag_qterms_coverage(const rag_qterms *q, rag_analyzer *an, const char *text,
                        size_t n_bytes, double *coverage, uint64_t *matched)
{
    cover_ctx c = {q, 0};
    double sum = 0;
    int rc = rag_analyzer_run(an, text, n_bytes, match_term, &c);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < q->n; i++)
        if (c.matched & ((uint64_t)1 << i))
            sum += q->items[i].idf;
    *coverage = q->idf_total > 0 ? sum / q->idf_total : 0.0;
    if (matched)
        *matched = c.matched;
    return RAG_OK;
}

int rag_gate_check(const rag_qterms *q, rag_analyzer *an, const rag_hits *hits,
                   const rag_gate_opts *opts, double *best_coverage, rag_err *err)
{
    double best = 0;
    *best_coverage = 0;
    if (q->n == 0 || hits->n == 0)
        return 0;
    for (size_t i = 0; i < hits->n && i < opts->n_check; i++) {
        const rag_chunk_row *r = &hits->items[i].row;
        rag_buf all = RAG_BUF_INIT;
        double cov = 0;
        int rc;
        /* The section path and title are searchable too, so they count. */
        rc = rag_buf_printf(&all, "%s\n%s\n%s", r->title, r->section, r->text);
        if (rc == RAG_OK)
            rc = rag_qterms_coverage(q, an, all.data, all.len, &cov, NULL);
        rag_buf_fini(&all);
        if (rc < 0)
            return rag_fail(err, rc, "out of memory in the relevance gate");
        if (cov > best)
            best = cov;
    }
    *best_coverage = best;
    return best >= opts->min_coverage;
}
