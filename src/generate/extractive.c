/* extractive.c - answers built from the indexed text itself.
 *
 * Each sentence of the top chunks is scored by the IDF-weighted share of
 * the question's terms it contains, discounted by its chunk's rank. The
 * best sentences (at least half the best score, duplicates from
 * overlapping chunks dropped) form the answer, most relevant first, each
 * followed by [n]. Confidence is the mean of the best chunk's coverage and
 * the chosen sentences' joint coverage, so it is high only when the answer
 * itself contains the question's rare words.
 */
#include "generate.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

rag_extractive_opts rag_extractive_default_opts(void)
{
    return (rag_extractive_opts){.max_sentences = 3, .context_chunks = 5,
                                 .max_sentence_bytes = 600};
}

typedef struct {
    size_t hit;          /* index into hits */
    size_t start, end;   /* bytes in the chunk text */
    double score;
    uint64_t matched;
} cand;

typedef struct {
    cand *items;
    size_t n, cap;
    size_t hit;
    const rag_qterms *q;
    rag_analyzer *an;
    const char *text;
    double rank_weight;
} cand_ctx;

static int on_sentence(void *ctx, size_t s, size_t e)
{
    cand_ctx *c = ctx;
    double cov;
    uint64_t matched;
    int rc;

    if (e - s < 20)
        return 0;
    rc = rag_qterms_coverage(c->q, c->an, c->text + s, e - s, &cov, &matched);
    if (rc < 0)
        return rc;
    if (cov <= 0)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        cand *p = rag_realloc(c->items, cap * sizeof *p);
        if (!p)
            return RAG_ENOMEM;
        c->items = p;
        c->cap = cap;
    }
    c->items[c->n++] = (cand){c->hit, s, e, cov * c->rank_weight, matched};
    return 0;
}

static int by_score(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    if (x->hit != y->hit)
        return x->hit < y->hit ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Append text with runs of whitespace collapsed to one space. */
static int append_flat(rag_buf *b, const char *s, size_t n)
{
    int space = 0, rc = RAG_OK;
    for (size_t i = 0; i < n && rc == RAG_OK; i++) {
        if (isspace((unsigned char)s[i])) {
            space = 1;
            continue;
        }
        if (space && b->len && b->data[b->len - 1] != ' ')
            rc = rag_buf_putc(b, ' ');
        space = 0;
        if (rc == RAG_OK)
            rc = rag_buf_putc(b, s[i]);
    }
    return rc;
}

/* 1 if the flattened sentence is already part of the answer (overlapping
 * chunks repeat text). */
static int duplicate(const rag_buf *answer, const char *s, size_t n)
{
    rag_buf flat = RAG_BUF_INIT;
    int dup = 0;
    if (append_flat(&flat, s, n) == RAG_OK && flat.len && answer->len)
        dup = strstr(answer->data, flat.data) != NULL;
    rag_buf_fini(&flat);
    return dup;
}

void rag_answer_fini(rag_answer *a)
{
    for (size_t i = 0; i < a->n_citations; i++) {
        rag_free(a->citations[i].doc);
        rag_free(a->citations[i].title);
        rag_free(a->citations[i].version);
        rag_free(a->citations[i].section);
    }
    rag_free(a->citations);
    rag_free(a->answer);
    rag_free(a->backend_owned);
    rag_free(a->model);
    rag_free(a->notice);
    rag_free(a->dropped_citations);
    memset(a, 0, sizeof *a);
}

int rag_answer_refuse(rag_answer *out, double confidence, rag_err *err)
{
    memset(out, 0, sizeof *out);
    out->answer = rag_strdup(RAG_REFUSAL);
    if (!out->answer)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    out->refused = 1;
    out->confidence = confidence;
    out->backend = "extractive";
    return RAG_OK;
}

static int cite(rag_answer *out, rag_index *ix, const rag_chunk_row *r, size_t s,
                size_t e, int *n_out, rag_err *err)
{
    rag_citation *c = NULL;
    int p0, p1;

    p0 = rag_index_page_at(ix, r->doc_id, r->byte_start + (int64_t)s, err);
    p1 = rag_index_page_at(ix, r->doc_id, r->byte_start + (int64_t)e - 1, err);
    if (p0 < 0 || p1 < 0)
        return p0 < 0 ? p0 : p1;
    if (p0 <= 0 || p0 < r->page_start || p0 > r->page_end)
        p0 = r->page_start;
    if (p1 < p0 || p1 > r->page_end)
        p1 = p0;
    for (size_t i = 0; i < out->n_citations; i++)
        if (out->citations[i].chunk_id == r->chunk_id)
            c = &out->citations[i];
    if (!c) {
        rag_citation *p = rag_realloc(out->citations,
                                      (out->n_citations + 1) * sizeof *p);
        if (!p)
            return rag_fail(err, RAG_ENOMEM, "out of memory");
        out->citations = p;
        c = &p[out->n_citations];
        memset(c, 0, sizeof *c);
        c->n = (int)++out->n_citations;
        c->n_given = c->n;   /* set to the hit's place once the answer is built */
        c->chunk_id = r->chunk_id;
        c->doc = rag_strdup(r->doc);
        c->title = rag_strdup(r->title);
        c->version = rag_strdup(r->version ? r->version : "");
        c->section = rag_strdup(r->section);
        c->page_start = p0;
        c->page_end = p1;
        if (!c->doc || !c->title || !c->section || !c->version)
            return rag_fail(err, RAG_ENOMEM, "out of memory");
    } else {
        if (p0 < c->page_start)
            c->page_start = p0;
        if (p1 > c->page_end)
            c->page_end = p1;
    }
    *n_out = c->n;
    return RAG_OK;
}

int rag_answer_extractive(rag_answer *out, rag_index *ix, rag_analyzer *an,
                          const rag_qterms *q, const rag_hits *hits,
                          const rag_extractive_opts *opts, rag_err *err)
{
    cand_ctx cc = {0};
    rag_buf answer = RAG_BUF_INIT;
    size_t n_ctx = hits->n < opts->context_chunks ? hits->n : opts->context_chunks;
    double best_chunk = 0, joint = 0, best_score;
    uint64_t matched = 0;
    int picked = 0, rc = RAG_OK;

    memset(out, 0, sizeof *out);
    out->backend = "extractive";
    cc.q = q;
    cc.an = an;
    for (size_t h = 0; h < n_ctx; h++) {
        const rag_chunk_row *r = &hits->items[h].row;
        double cov;
        cc.hit = h;
        cc.text = r->text;
        cc.rank_weight = 1.0 - 0.1 * (double)h / (double)(n_ctx ? n_ctx : 1);
        rc = rag_qterms_coverage(q, an, r->text, strlen(r->text), &cov, NULL);
        if (rc == RAG_OK)
            rc = rag_sentences(r->text, strlen(r->text), opts->max_sentence_bytes,
                               on_sentence, &cc);
        if (rc < 0) {
            rc = rag_fail(err, RAG_ENOMEM, "out of memory building the answer");
            goto done;
        }
        if (cov > best_chunk)
            best_chunk = cov;
    }
    if (cc.n == 0) {
        rag_free(cc.items);
        return rag_answer_refuse(out, 0.0, err);
    }
    qsort(cc.items, cc.n, sizeof *cc.items, by_score);
    best_score = cc.items[0].score;
    for (size_t i = 0; i < cc.n && picked < opts->max_sentences; i++) {
        const cand *c = &cc.items[i];
        const rag_chunk_row *r = &hits->items[c->hit].row;
        int n = 0;
        if (c->score < 0.5 * best_score)
            break;
        if (duplicate(&answer, r->text + c->start, c->end - c->start))
            continue;
        rc = cite(out, ix, r, c->start, c->end, &n, err);
        if (rc < 0)
            goto done;
        if (answer.len)
            rc = rag_buf_putc(&answer, ' ');
        if (rc == RAG_OK)
            rc = append_flat(&answer, r->text + c->start, c->end - c->start);
        if (rc == RAG_OK)
            rc = rag_buf_printf(&answer, " [%d]", n);
        if (rc < 0) {
            rc = rag_fail(err, RAG_ENOMEM, "out of memory building the answer");
            goto done;
        }
        matched |= c->matched;
        picked++;
    }
    for (size_t i = 0; i < q->n; i++)
        if (matched & ((uint64_t)1 << i))
            joint += q->items[i].idf;
    joint = q->idf_total > 0 ? joint / q->idf_total : 0;
    out->confidence = 0.5 * best_chunk + 0.5 * joint;
    if (out->confidence > 1)
        out->confidence = 1;
    out->answer = rag_buf_take(&answer);
    if (!out->answer)
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
    /* n_given: the chunk's place among the hits, as a stream's `sources`
     * event numbers them (n is the order of use in the answer) */
    for (size_t i = 0; i < out->n_citations; i++)
        for (size_t h = 0; h < hits->n; h++)
            if (hits->items[h].row.chunk_id == out->citations[i].chunk_id) {
                out->citations[i].n_given = (int)h + 1;
                break;
            }
done:
    rag_free(cc.items);
    rag_buf_fini(&answer);
    if (rc < 0)
        rag_answer_fini(out);
    return rc;
}
