/* api_query.c - docrag_search and docrag_ask (docrag.h) on a session.
 *
 * Both run the one retrieval pipeline (rag_search / rag_ask) with the
 * engine's shared retriever and the session's own connection. A query that
 * is not valid UTF-8 is searched, answered and echoed with U+FFFD for its
 * invalid bytes. Streaming
 * maps docrag_stream onto the answer stream: the sources event is the hits
 * the answer is built from, rendered before any text.
 */
#include "api_int.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void docrag_search_opts_init(docrag_search_opts *o)
{
    memset(o, 0, sizeof *o);
    o->rerank = -1;
}

void docrag_ask_opts_init(docrag_ask_opts *o)
{
    memset(o, 0, sizeof *o);
    docrag_search_opts_init(&o->search);
}

int docrag_parse_pages(const char *s, int *lo, int *hi)
{
    char *end;
    long a, b;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return DOCRAG_EINVAL;
    a = strtol(s, &end, 10);
    if (end == s || a < 1 || a > 1000000)
        return DOCRAG_EINVAL;
    if (!*end) {
        *lo = *hi = (int)a;
        return DOCRAG_OK;
    }
    if (*end != '-')
        return DOCRAG_EINVAL;
    s = end + 1;
    if (!*s) {
        *lo = (int)a;
        *hi = 0;
        return DOCRAG_OK;
    }
    if (*s < '0' || *s > '9')
        return DOCRAG_EINVAL;
    b = strtol(s, &end, 10);
    if (end == s || *end || b < a || b > 1000000)
        return DOCRAG_EINVAL;
    *lo = (int)a;
    *hi = (int)b;
    return DOCRAG_OK;
}

int api_search_opts(rag_search_opts *so, const docrag_engine *e,
                    const docrag_search_opts *o, size_t def_k, char *glob, size_t n_glob,
                    rag_err *err)
{
    docrag_search_opts d;
    memset(so, 0, sizeof *so);
    if (!o) {
        docrag_search_opts_init(&d);
        o = &d;
    }
    so->mode = e->mode;
    if (o->mode) {
        int m = rag_search_mode_parse(o->mode);
        if (m < 0)
            return rag_fail(err, RAG_EINVAL, "mode '%s': expected bm25, dense or hybrid",
                            o->mode);
        so->mode = (rag_search_mode)m;
    }
    if (o->k < 0 || o->k > DOCRAG_K_MAX)
        return rag_fail(err, RAG_EINVAL, "k %d: expected 1 to %d", o->k, DOCRAG_K_MAX);
    so->k = o->k > 0 ? (size_t)o->k : def_k;
    if (o->page_min < 0 || o->page_max < 0 || (o->page_max && o->page_min > o->page_max))
        return rag_fail(err, RAG_EINVAL, "pages %d-%d: expected 1-based pages, first <= last",
                        o->page_min, o->page_max);
    so->page_min = o->page_min;
    so->page_max = o->page_max;
    if (o->doc && o->doc[0]) {
        if (strlen(o->doc) >= n_glob)
            return rag_fail(err, RAG_EINVAL, "doc filter longer than %zu bytes", n_glob - 1);
        snprintf(glob, n_glob, "%s", o->doc);
        so->doc_glob = glob;
    }
    so->no_rerank = o->rerank == 0;
    so->retriever = e->retriever;
    return RAG_OK;
}

/* The query as searched and as echoed in the JSON: invalid UTF-8 bytes
 * become U+FFFD (the analyzer, an LLM request and the JSON all need valid
 * text; searching the replaced text beats refusing it). *owned is the copy
 * to free, NULL when q was valid already; NULL return = out of memory. */
static const char *utf8_text(const char *q, char **owned, rag_err *err)
{
    *owned = NULL;
    if (rag_utf8_valid(q, strlen(q)))
        return q;
    if (!(*owned = rag_render_utf8_dup(q))) {
        rag_fail(err, RAG_ENOMEM, "out of memory");
        return NULL;
    }
    return *owned;
}

int docrag_search(docrag_session *s, const char *query, const docrag_search_opts *o,
                  char **out, docrag_error *derr)
{
    rag_search_opts so;
    rag_hits hits;
    rag_err err = {0};
    char glob[1024], *owned = NULL;
    double t0 = rag_now_ms();
    int rc;

    memset(&s->last, 0, sizeof s->last);
    if (!query)
        return api_err(derr, &(rag_err){RAG_EINVAL, "query is missing"});
    if (api_need(s->e, DOCRAG_SCOPE_ALL, &err) < 0)
        return api_err(derr, &err);
    if (!(query = utf8_text(query, &owned, &err)))
        return api_err(derr, &err);
    if (api_search_opts(&so, s->e, o, (size_t)s->e->cfg->search_k, glob, sizeof glob,
                        &err) < 0 ||
        rag_index_read_begin(s->ix, &err) < 0) {
        rag_free(owned);
        return api_err(derr, &err);
    }
    /* one snapshot: a writer committing meanwhile cannot make the ranked
     * ids and the rows read back disagree */
    rc = rag_search(&hits, s->ix, query, &so, &err);
    rag_index_read_end(s->ix);
    if (rc == RAG_OK) {
        rc = api_session_json(s, rag_render_hits(query, &hits, rag_now_ms() - t0), 1, out,
                              &err);
        rag_hits_fini(&hits);
    }
    rag_free(owned);
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}

/* ---- ask ------------------------------------------------------------------- */

typedef struct {
    const docrag_stream *st;
    const char *question;
    docrag_session *s;
} stream_ctx;

static int on_token(void *ctx, const char *text, size_t n)
{
    stream_ctx *c = ctx;
    return c->st->on_delta ? c->st->on_delta(c->st->ctx, text, n) : 0;
}

static void on_abandon(void *ctx, const char *backend, const char *why)
{
    stream_ctx *c = ctx;
    if (c->st->on_abandon)
        c->st->on_abandon(c->st->ctx, backend, why);
}

static int on_sources(void *ctx, const rag_hits *hits, int relevant)
{
    stream_ctx *c = ctx;
    char *text = NULL;
    int stop;

    if (!c->st->on_sources)
        return 0;
    if (api_session_json(c->s, rag_render_sources(hits, relevant), 0, &text, NULL) < 0)
        return 1;   /* out of memory: stop rather than stream without sources */
    stop = c->st->on_sources(c->st->ctx, text);
    free(text);
    return stop;
}

static int is_cancelled(void *ctx)
{
    stream_ctx *c = ctx;
    return c->st->is_cancelled ? c->st->is_cancelled(c->st->ctx) : 0;
}

int docrag_ask(docrag_session *s, const char *question, const docrag_ask_opts *o,
               char **out, docrag_error *derr)
{
    docrag_engine *e = s->e;
    rag_ask_opts ao = rag_ask_opts_from_config(e->cfg);
    rag_search_opts so;
    rag_answer a;
    rag_ask_timings t;
    rag_err err = {0};
    char glob[1024], *owned = NULL;
    stream_ctx sc;
    int rc;

    memset(&s->last, 0, sizeof s->last);
    if (!question)
        return api_err(derr, &(rag_err){RAG_EINVAL, "question is missing"});
    if (api_need(e, DOCRAG_SCOPE_ALL, &err) < 0 ||
        api_search_opts(&so, e, o ? &o->search : NULL, ao.context_chunks, glob,
                        sizeof glob, &err) < 0)
        return api_err(derr, &err);
    if (!(question = utf8_text(question, &owned, &err)))
        return api_err(derr, &err);
    ao.mode = so.mode;
    ao.context_chunks = so.k;
    ao.extractive.context_chunks = so.k;
    ao.doc_glob = so.doc_glob;
    ao.page_min = so.page_min;
    ao.page_max = so.page_max;
    ao.no_rerank = so.no_rerank;
    ao.retriever = e->retriever;
    ao.llm = e->chain;
    ao.usage = e->usage;
    if (o && o->stream) {
        sc.st = o->stream;
        sc.question = question;
        sc.s = s;
        ao.stream.on_token = on_token;
        ao.stream.on_abandon = on_abandon;
        ao.stream.on_sources = on_sources;
        ao.stream.is_cancelled = is_cancelled;
        ao.stream.ctx = &sc;
    }
    /* retrieval and the answer read one snapshot (held through an LLM
     * call too: that only delays WAL checkpoints, never a writer) */
    if (rag_index_read_begin(s->ix, &err) < 0) {
        rag_free(owned);
        return api_err(derr, &err);
    }
    rc = rag_ask(&a, &t, s->ix, question, &ao, &err);
    rag_index_read_end(s->ix);
    if (rc == RAG_OK) {
        rc = api_session_json(s, rag_render_answer(question, &a, &t), 1, out, &err);
        rag_answer_fini(&a);
    }
    rag_free(owned);
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}
