/* llm_answer.c - answer a gated question through the LLM chain.
 *
 * The chain (chains.llm) is walked by rag_chain_walk (obs/chain.h), with
 * the rules the embed and rerank chains share: a back-end is skipped when
 * it is disabled (placeholder token), its monthly budget is spent or its
 * circuit breaker is open; it falls through to the next when its call
 * fails for any reason (HTTP error, timeout, malformed or cut stream) or
 * its reply is empty. The built-in `extractive` entry answers from the
 * retrieved chunks and cannot fail for back-end reasons, so a chain ending
 * with it always answers.
 *
 * Mid-stream failures: text already handed to the caller's on_token is
 * never repeated or spliced. The failed back-end's partial text is
 * discarded, the caller is told through on_abandon (the CLI prints a
 * visible notice line), and the next back-end starts a fresh answer;
 * out->answer holds only the answer of the back-end that finished, and
 * out->notice records what happened.
 *
 * Usage accounting (rag_usage_record / rag_usage_allowed) is the walker's,
 * when opts->usage is set.
 */
#include "generate.h"

#include "llm/llm.h"
#include "obs/chain.h"
#include "obs/obs.h"

#include <stdio.h>
#include <string.h>


typedef struct {
    const rag_answer_stream *s;
    int stopped;
} tok_ctx;

static int forward_token(void *ctx, const char *text, size_t n)
{
    tok_ctx *t = ctx;
    if (t->s->on_token && t->s->on_token(t->s->ctx, text, n)) {
        t->stopped = 1;
        return 1;
    }
    return 0;
}

/* One question through the chain, for the walker's callbacks. */
typedef struct {
    const rag_llm_chain *chain;
    rag_answer *out;
    rag_index *ix;
    rag_analyzer *an;
    const rag_qterms *q;
    const rag_hits *hits;
    const char *question;
    const rag_ask_opts *opts;
    rag_prompt p;          /* built for the first LLM attempt */
    int have_prompt;
    rag_llm_result res;    /* the current (at the end: the serving) attempt */
    tok_ctx tc;
} llm_walk;

static int member_call(void *ctx, size_t i, rag_chain_outcome *oc, rag_err *err)
{
    llm_walk *w = ctx;
    const rag_llm_entry *e = rag_llm_chain_get(w->chain, i);
    const rag_ask_opts *opts = w->opts;
    rag_llm_message msgs[2];
    rag_llm_opts lo = rag_llm_default_opts();
    int rc;

    rag_llm_result_fini(&w->res);
    w->tc.stopped = 0;
    if (e->extractive) {
        rc = rag_answer_extractive(w->out, w->ix, w->an, w->q, w->hits, &opts->extractive,
                                   err);
        if (rc == RAG_OK && opts->stream.on_token && w->out->answer[0])
            opts->stream.on_token(opts->stream.ctx, w->out->answer, strlen(w->out->answer));
        return rc;
    }
    if (!w->have_prompt) {
        rc = rag_prompt_build(&w->p, w->question, w->hits, opts->context_chunks,
                              &opts->prompt, err);
        if (rc < 0)
            return rc;
        w->have_prompt = 1;
    }
    msgs[0] = (rag_llm_message){"system", w->p.system.data};
    msgs[1] = (rag_llm_message){"user", w->p.user.data};
    if (opts->max_tokens > 0)
        lo.max_tokens = opts->max_tokens;
    lo.temperature = opts->temperature;
    lo.is_cancelled = w->opts->stream.is_cancelled;
    lo.cancel_ctx = w->opts->stream.ctx;
    rc = rag_llm_chat(e->llm, msgs, 2, &lo, forward_token, &w->tc, &w->res, err);
    oc->retries = w->res.retries;
    oc->tokens_in = w->res.tokens_in;
    oc->tokens_out = w->res.tokens_out;
    if (rc < 0 && w->res.cls != RAG_NET_OK)
        oc->error_class = rag_net_class_name(w->res.cls);
    if (rc < 0 && (w->tc.stopped || w->res.cls == RAG_NET_CANCELLED ||
                   (w->opts->stream.is_cancelled &&
                    w->opts->stream.is_cancelled(w->opts->stream.ctx)))) {
        /* the caller left: no next back-end, nothing more to pay for */
        w->tc.stopped = 1;
        oc->stop = 1;
        rc = rag_fail(err, RAG_ECANCELLED, "answer stopped by the caller");
    }
    return rc;
}

/* A reply that says something. */
static int member_check(void *ctx, size_t i, rag_err *err)
{
    llm_walk *w = ctx;
    const rag_llm_entry *e = rag_llm_chain_get(w->chain, i);
    const char *text = w->res.text;
    if (e->extractive || (text && text[strspn(text, " \t\r\n")]))
        return RAG_OK;
    return rag_fail(err, RAG_EFORMAT, "%s: empty answer", e->name);
}

/* Text already shown is void: say so, and tell the caller. */
static void member_failed(void *ctx, size_t i, int rc, rag_err *err)
{
    llm_walk *w = ctx;
    const rag_llm_entry *e = rag_llm_chain_get(w->chain, i);
    char why[sizeof err->msg];
    (void)rc;
    if (w->res.n_tokens_delivered == 0 || w->tc.stopped)
        return;
    if (w->opts->stream.on_abandon)
        w->opts->stream.on_abandon(w->opts->stream.ctx, e->name, err->msg);
    snprintf(why, sizeof why, "stream failed after %zu pieces (%s); partial answer discarded",
             w->res.n_tokens_delivered, err->msg);
    snprintf(err->msg, sizeof err->msg, "%s", why);
}

/* The serving LLM's reply becomes the answer: citations, confidence. */
static int take_reply(rag_answer *out, llm_walk *w, const rag_llm_entry *e, double gate_cov,
                      rag_err *err)
{
    double cite_cov = 0;
    int rc = rag_citations_resolve(out, w->res.text, w->hits, w->p.n_chunks, &cite_cov, err);
    if (rc < 0)
        return rc;
    if (out->n_citations == 0 && rag_answer_says_not_found(out->answer)) {
        out->refused = 1;
        out->confidence = 0.5 * gate_cov;
    } else {
        out->confidence = 0.5 * gate_cov + 0.5 * cite_cov;
    }
    if (out->confidence > 1)
        out->confidence = 1;
    out->model = w->res.served_model;
    w->res.served_model = NULL;
    out->tokens_in = w->res.tokens_in;
    out->tokens_out = w->res.tokens_out;
    if (w->opts->usage)
        out->cost_usd = rag_usage_cost(w->opts->usage, e->name, out->tokens_in,
                                       out->tokens_out);
    out->backend_owned = rag_strdup(e->name);
    if (!out->backend_owned)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    out->backend = out->backend_owned;
    return RAG_OK;
}

int rag_answer_chain(rag_answer *out, rag_index *ix, rag_analyzer *an,
                     const rag_qterms *q, const rag_hits *hits, const char *question,
                     double gate_cov, const rag_ask_opts *opts, rag_err *err)
{
    const rag_llm_chain *chain = opts->llm;
    size_t n = rag_llm_chain_size(chain);
    rag_chain_member mem[RAG_MAX_CHAIN];
    llm_walk w;
    rag_chain_walk_opts wo = {.stage = "llm", .usage = opts->usage, .call = member_call,
                              .check = member_check, .on_fail = member_failed, .ctx = &w};
    rag_chain_result res;
    int rc;

    memset(out, 0, sizeof *out);
    if (rag_llm_chain_extractive_only(chain)) {
        rc = rag_answer_extractive(out, ix, an, q, hits, &opts->extractive, err);
        if (rc == RAG_OK && opts->stream.on_token && out->answer[0])
            opts->stream.on_token(opts->stream.ctx, out->answer, strlen(out->answer));
        return rc;
    }
    if (n > RAG_MAX_CHAIN)
        n = RAG_MAX_CHAIN; /* rag_llm_chain_create refuses more */
    for (size_t i = 0; i < n; i++) {
        const rag_llm_entry *e = rag_llm_chain_get(chain, i);
        mem[i] = (rag_chain_member){.name = e->name, .enabled = e->enabled && e->llm,
                                    .builtin = e->extractive,
                                    .ep = e->llm ? e->llm->ep : NULL};
    }
    w = (llm_walk){.chain = chain, .out = out, .ix = ix, .an = an, .q = q, .hits = hits,
                   .question = question, .opts = opts, .tc = {&opts->stream, 0}};
    rc = rag_chain_walk(&res, mem, n, &wo, err);
    if (rc == RAG_OK && !mem[res.served].builtin)
        rc = take_reply(out, &w, rag_llm_chain_get(chain, (size_t)res.served), gate_cov, err);
    if (rc == RAG_OK && res.notice.len)
        out->notice = rag_buf_take(&res.notice);
    if (rc < 0)
        rag_answer_fini(out);
    rag_chain_result_fini(&res);
    rag_llm_result_fini(&w.res);
    if (w.have_prompt)
        rag_prompt_fini(&w.p);
    return rc;
}
