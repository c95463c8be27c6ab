/* llm_answer.c - answer a gated question through the LLM chain.
 *
 * The chain (chains.llm) is walked in order. A back-end is skipped when
 * it is disabled (placeholder token), its circuit breaker is open, or its
 * monthly budget is spent (rag_usage_allowed); it falls through to the
 * next when its call fails for any reason (HTTP error, timeout, malformed
 * or cut stream, empty reply). The built-in `extractive` entry answers from
 * the retrieved chunks and cannot fail for back-end reasons, so a chain
 * ending with it always answers.
 *
 * Mid-stream failures: text already handed to the caller's on_token is
 * never repeated or spliced. The failed back-end's partial text is
 * discarded, the caller is told through on_abandon (the CLI prints a
 * visible notice line), and the next back-end starts a fresh answer;
 * out->answer holds only the answer of the back-end that finished, and
 * out->notice records what happened.
 *
 * Usage accounting goes through src/obs (rag_usage_record /
 * rag_usage_allowed) when opts->usage is set.
 */
#include "generate.h"

#include "llm/llm.h"
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

static void note(rag_buf *notes, const char *fmt, const char *name, const char *why)
{
    size_t n = strlen(name);
    /* errors from the back-end already start with "name: " */
    if (!strncmp(why, name, n) && !strncmp(why + n, ": ", 2))
        why += n + 2;
    if (notes->len)
        rag_buf_puts(notes, "; ");
    rag_buf_printf(notes, fmt, name, why);
}

static void record(rag_usage *u, const char *name, int ok, const char *cls,
                   int retries, int fell_back, double ms, int64_t in, int64_t out)
{
    rag_usage_event ev = {.backend = name, .stage = "llm", .ok = ok, .error_class = cls,
                          .retries = retries, .fell_back = fell_back, .latency_ms = ms,
                          .tokens_in = in, .tokens_out = out};
    if (u)
        rag_usage_record(u, &ev);
}

static int llm_try(rag_answer *out, const rag_llm_entry *e, const char *question,
                   const rag_hits *hits, double gate_cov, const rag_ask_opts *opts,
                   rag_llm_result *res, tok_ctx *tc, rag_err *err)
{
    rag_prompt p;
    rag_llm_message msgs[2];
    rag_llm_opts lo = rag_llm_default_opts();
    double cite_cov = 0;
    int rc;

    rc = rag_prompt_build(&p, question, hits, opts->context_chunks, &opts->prompt, err);
    if (rc < 0)
        return rc;
    msgs[0] = (rag_llm_message){"system", p.system.data};
    msgs[1] = (rag_llm_message){"user", p.user.data};
    if (opts->max_tokens > 0)
        lo.max_tokens = opts->max_tokens;
    lo.temperature = opts->temperature;
    rc = rag_llm_chat(e->llm, msgs, 2, &lo, forward_token, tc, res, err);
    if (rc == RAG_OK && (!res->text || !res->text[strspn(res->text, " \t\r\n")])) {
        res->cls = RAG_NET_MALFORMED;
        rc = rag_fail(err, RAG_EFORMAT, "%s: empty answer", e->name);
    }
    if (rc == RAG_OK)
        rc = rag_citations_resolve(out, res->text, hits, p.n_chunks, &cite_cov, err);
    rag_prompt_fini(&p);
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
    return RAG_OK;
}

int rag_answer_chain(rag_answer *out, rag_index *ix, rag_analyzer *an,
                     const rag_qterms *q, const rag_hits *hits, const char *question,
                     double gate_cov, const rag_ask_opts *opts, rag_err *err)
{
    const rag_llm_chain *chain = opts->llm;
    size_t n = rag_llm_chain_size(chain);
    rag_buf notes = RAG_BUF_INIT;
    int rc = RAG_EBACKEND;

    memset(out, 0, sizeof *out);
    if (rag_llm_chain_extractive_only(chain)) {
        rc = rag_answer_extractive(out, ix, an, q, hits, &opts->extractive, err);
        if (rc == RAG_OK && opts->stream.on_token && out->answer[0])
            opts->stream.on_token(opts->stream.ctx, out->answer, strlen(out->answer));
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        const rag_llm_entry *e = rag_llm_chain_get(chain, i);
        rag_llm_result res;
        tok_ctx tc = {&opts->stream, 0};
        rag_err e_err = {0};
        double t0;
        int more = i + 1 < n;

        if (e->extractive) {
            rc = rag_answer_extractive(out, ix, an, q, hits, &opts->extractive, err);
            if (rc < 0)
                break;
            if (opts->stream.on_token && out->answer[0])
                opts->stream.on_token(opts->stream.ctx, out->answer, strlen(out->answer));
            goto answered;
        }
        if (!e->enabled || !e->llm) {
            note(&notes, "%s: %s", e->name, "skipped (disabled: no usable token)");
            continue;
        }
        if (opts->usage && !rag_usage_allowed(opts->usage, e->name)) {
            note(&notes, "%s: %s", e->name, "skipped (monthly budget spent)");
            record(opts->usage, e->name, 0, "budget", 0, more, 0, 0, 0);
            continue;
        }
        if (e->llm->ep &&
            rag_net_endpoint_breaker(e->llm->ep) == RAG_NET_BREAKER_OPEN_STATE) {
            note(&notes, "%s: %s", e->name, "skipped (circuit open)");
            record(opts->usage, e->name, 0, rag_net_class_name(RAG_NET_BREAKER_OPEN), 0,
                   more, 0, 0, 0);
            continue;
        }
        t0 = rag_now_ms();
        memset(&res, 0, sizeof res);
        rc = llm_try(out, e, question, hits, gate_cov, opts, &res, &tc, &e_err);
        record(opts->usage, e->name, rc == RAG_OK,
               rc == RAG_OK ? NULL : rag_net_class_name(res.cls), res.retries,
               rc < 0 && more, rag_now_ms() - t0, res.tokens_in, res.tokens_out);
        if (rc == RAG_OK) {
            out->model = res.served_model;
            res.served_model = NULL;
            out->backend_owned = rag_strdup(e->name);
            rag_llm_result_fini(&res);
            if (!out->backend_owned) {
                rc = rag_fail(err, RAG_ENOMEM, "out of memory");
                break;
            }
            out->backend = out->backend_owned;
            goto answered;
        }
        if (rc == RAG_ENOMEM) {
            rag_llm_result_fini(&res);
            if (err)
                *err = e_err;
            break;
        }
        rag_answer_fini(out); /* a half-built answer */
        if (res.n_tokens_delivered > 0) {
            char why[300];
            snprintf(why, sizeof why, "stream failed after %zu pieces (%s); partial "
                     "answer discarded", res.n_tokens_delivered, e_err.msg);
            note(&notes, "%s: %s", e->name, why);
            if (opts->stream.on_abandon)
                opts->stream.on_abandon(opts->stream.ctx, e->name, e_err.msg);
        } else {
            note(&notes, "%s: %s", e->name, e_err.msg);
        }
        rag_llm_result_fini(&res);
        if (tc.stopped) {
            rc = rag_fail(err, RAG_EBACKEND, "answer stopped by the caller");
            break;
        }
        rc = RAG_EBACKEND;
    }
    if (rc == RAG_EBACKEND)
        rc = rag_fail(err, RAG_EBACKEND, "chains.llm: no back-end answered (%s)",
                      notes.len ? notes.data : "empty chain");
    rag_buf_fini(&notes);
    rag_answer_fini(out);
    return rc;
answered:
    if (notes.len)
        out->notice = rag_buf_take(&notes);
    rag_buf_fini(&notes);
    return RAG_OK;
}
