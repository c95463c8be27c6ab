/* ask.c - question -> retrieve -> off-topic gate -> answer.
 *
 * Retrieval is the search pipeline (retrieve.h) in the configured mode.
 * The gate runs before any answer is built, so a paid back-end is never
 * called for a question the documents cannot answer. The answer comes from
 * the LLM chain (rag_answer_chain); with no chain, or a chain of only
 * `extractive`, it is exactly the extractive answer.
 */
#include "generate.h"

#include "config/config.h"

#include <string.h>

rag_ask_opts rag_ask_default_opts(void)
{
    rag_ask_opts o;
    o.context_chunks = 5;
    o.gate = rag_gate_default_opts();
    o.extractive = rag_extractive_default_opts();
    o.prompt = rag_prompt_default_opts();
    o.max_tokens = 512;
    o.temperature = 0.2;
    o.llm = NULL;
    o.usage = NULL;
    memset(&o.stream, 0, sizeof o.stream);
    o.mode = RAG_MODE_BM25;
    o.retriever = NULL;
    o.doc_glob = NULL;
    o.page_min = o.page_max = 0;
    o.no_rerank = 0;
    return o;
}

rag_ask_opts rag_ask_opts_from_config(const rag_config *cfg)
{
    rag_ask_opts o = rag_ask_default_opts();
    o.context_chunks = (size_t)cfg->answer_context_chunks;
    o.extractive.context_chunks = o.context_chunks;
    o.extractive.max_sentences = cfg->answer_max_sentences;
    o.gate.min_coverage = cfg->answer_min_coverage;
    {
        int m = cfg->search_mode ? rag_search_mode_parse(cfg->search_mode) : -1;
        o.mode = m < 0 ? RAG_MODE_BM25 : (rag_search_mode)m;
    }
    return o;
}

/* "Who wrote ...", "when was ... issued", "which version ...": a title
 * page says it, and a document's title is indexed with every chunk, so
 * its first page need not rank in the top chunks. Up to two first chunks
 * of documents (byte 0, page 1) that a search of first pages ranks best
 * are added after the hits (the answer reads only their title block).
 * The search is BM25 whatever the configured mode. */
static int add_title_pages(rag_hits *hits, rag_index *ix, const char *question,
                           const rag_search_opts *base, rag_err *err)
{
    rag_search_opts so = *base;
    rag_hits front;
    size_t added = 0;
    int rc;

    so.k = 6;
    so.page_min = so.page_max = 1;
    /* lexical only: a title page matches the question's words, and a
     * second embedding or rerank call (maybe a paid one) buys nothing */
    so.mode = RAG_MODE_BM25;
    so.retriever = NULL;
    so.no_rerank = 1;
    rc = rag_search(&front, ix, question, &so, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < front.n && added < 3; i++) {
        int have = 0;
        rag_hit *p;
        if (front.items[i].row.byte_start >= 1024)
            continue;
        for (size_t j = 0; j < hits->n && !have; j++)
            have = hits->items[j].row.chunk_id == front.items[i].row.chunk_id;
        if (have)
            continue;
        p = rag_realloc(hits->items, (hits->n + 1) * sizeof *p);
        if (!p) {
            rag_hits_fini(&front);
            return rag_fail(err, RAG_ENOMEM, "out of memory adding title pages");
        }
        hits->items = p;
        hits->items[hits->n] = front.items[i];
        hits->items[hits->n].rank = (int)hits->n + 1;
        memset(&front.items[i].row, 0, sizeof front.items[i].row);
        hits->n++;
        added++;
    }
    rag_hits_fini(&front);
    return RAG_OK;
}

int rag_ask(rag_answer *out, rag_ask_timings *t, rag_index *ix,
            const char *question, const rag_ask_opts *opts, rag_err *err)
{
    rag_analyzer *an = rag_index_analyzer(ix);
    rag_hits hits;
    rag_qterms q;
    rag_search_opts so = {.mode = opts->mode, .k = opts->context_chunks};
    double t0 = rag_now_ms(), t1, cov = 0;
    char *spelled = NULL;
    int rc, relevant;

    memset(out, 0, sizeof *out);
    memset(t, 0, sizeof *t);
    so.retriever = opts->retriever;
    so.doc_glob = opts->doc_glob;
    so.page_min = opts->page_min;
    so.page_max = opts->page_max;
    so.no_rerank = opts->no_rerank;
    rc = rag_acronyms_expand(ix, question, &so, &spelled, err);
    if (rc == RAG_OK)
        rc = rag_search(&hits, ix, spelled ? spelled : question, &so, err);
    rag_free(spelled);
    if (rc < 0)
        return rc;
    t1 = rag_now_ms();
    t->stages = hits.t;
    t->mode_used = hits.mode_used;
    memcpy(t->reranked_by, hits.rerank_backend, sizeof t->reranked_by);
    memcpy(t->search_notice, hits.notice, sizeof t->search_notice);
    t->search_ms = t1 - t0;
    rc = rag_qterms_build(&q, ix, question, err);
    if (rc < 0) {
        rag_hits_fini(&hits);
        return rc;
    }
    relevant = rag_gate_check(&q, an, &hits, &opts->gate, &cov, &t->gate, err);
    if (relevant > 0 && rag_atype_on_title_page(q.atype) &&
        (rc = add_title_pages(&hits, ix, question, &so, err)) < 0) {
        rag_qterms_fini(&q);
        rag_hits_fini(&hits);
        return rc;
    }
    t->gate_ms = rag_now_ms() - t1;
    t1 = rag_now_ms();
    if (relevant >= 0 && opts->stream.on_sources &&
        opts->stream.on_sources(opts->stream.ctx, &hits, relevant))
        rc = rag_fail(err, RAG_ECANCELLED, "answer stopped by the caller");
    else if (relevant < 0)
        rc = relevant;
    else if (relevant)
        rc = rag_answer_chain(out, ix, an, &q, &hits, question, cov, opts, err);
    else
        rc = rag_answer_refuse(out, cov * 0.1, err); /* a refusal holds no answer */
    if (rc == RAG_OK && !relevant && opts->stream.on_token)
        opts->stream.on_token(opts->stream.ctx, out->answer, strlen(out->answer));
    t->answer_ms = rag_now_ms() - t1;
    t->total_ms = rag_now_ms() - t0;
    rag_qterms_fini(&q);
    rag_hits_fini(&hits);
    return rc;
}
