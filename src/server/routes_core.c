/* routes_core.c - health, readiness, search, ask (JSON and SSE), stats,
 * config and metrics.
 *
 * Request bodies are strict: a field of the wrong type, a value out of
 * range or an unknown field is a 422 that names it, so a typo never
 * silently runs a different query.
 */
#include "srv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- request decoding ------------------------------------------------------- */

typedef struct {
    const char *text;        /* query / question (borrowed from the JSON) */
    docrag_search_opts so;
    const char *collection;
    int stream;
} query_req;

/* Decode {text_key, k, mode, doc, pages, rerank, collection, stream} (the
 * retrieval options by srv_query_opt). 0, or -1 with the 422 answered. */
static int decode_query(srv_req *r, json_t *o, const char *text_key, int allow_stream,
                        query_req *q)
{
    const char *key;
    json_t *v;
    char msg[256];
    int rc;

    memset(q, 0, sizeof *q);
    docrag_search_opts_init(&q->so);
    json_object_foreach(o, key, v) {
        if (!strcmp(key, text_key) || (!strcmp(text_key, "question") && !strcmp(key, "query"))) {
            if (!json_is_string(v) || !json_string_length(v)) {
                srv_reply_error(r, 422, "invalid_request", "'%s' must be a non-empty string",
                                key);
                return -1;
            }
            if (json_string_length(v) > 8192) {
                srv_reply_error(r, 422, "invalid_request", "'%s' is longer than 8192 bytes",
                                key);
                return -1;
            }
            if (strlen(json_string_value(v)) != json_string_length(v)) {
                srv_reply_error(r, 422, "invalid_request", "'%s' holds a NUL character", key);
                return -1;
            }
            q->text = json_string_value(v);
        } else if ((rc = srv_query_opt(&q->so, key, v, msg, sizeof msg)) != 0) {
            if (rc < 0) {
                srv_reply_error(r, 422, "invalid_request", "%s", msg);
                return -1;
            }
        } else if (!strcmp(key, "collection")) {
            if (!json_is_string(v)) {
                srv_reply_error(r, 422, "invalid_request", "'collection' must be a string");
                return -1;
            }
            q->collection = json_string_value(v);
        } else if (!strcmp(key, "stream") && allow_stream) {
            if (!json_is_boolean(v)) {
                srv_reply_error(r, 422, "invalid_request", "'stream' must be true or false");
                return -1;
            }
            q->stream = json_is_true(v);
        } else {
            srv_reply_error(r, 422, "invalid_request", "unknown field '%.64s'", key);
            return -1;
        }
    }
    if (!q->text) {
        srv_reply_error(r, 422, "invalid_request", "'%s' is required", text_key);
        return -1;
    }
    return 0;
}

/* Per-stage latency of the session's last search or ask into the metrics
 * and the request's analytics point; a refusal is counted. */
static void observe_call(srv_req *r)
{
    docrag_call_info info;
    docrag_session_last_call(r->session, &info);
    for (size_t i = 0; i < info.n_stages; i++)
        if (info.stages[i].ms > 0 || !strcmp(info.stages[i].name, "total"))
            srv_observe_stage(r, info.stages[i].name, info.stages[i].ms);
    if (info.refused) {
        r->refused = 1;
        srv_count(r->s, "answer_refused", "gate", 1);
    }
}

/* 200 with an engine result, rendered for clients (DOCRAG_OUT_PUBLIC). */
static void reply_result(srv_req *r, const char *json)
{
    observe_call(r);
    srv_reply_json_text(r, 200, json);
}

/* ---- health and readiness ---------------------------------------------------- */

static void health(srv_req *r)
{
    srv_reply_json_text(r, 200, "{\"status\":\"ok\"}");
}

/* Ready: loaded, and every collection's store can serve (a PostgreSQL
 * replica reachable and its copy within postgres.ready_max_lag of the
 * head), so that a load balancer sends requests elsewhere meanwhile. The
 * 200 adds "store" (the default collection's) to the cached counts. */
static void ready(srv_req *r)
{
    char buf[4096], why[512];
    docrag_store_state st;
    size_t n;
    json_t *o;
    char *text;

    if (!atomic_load(&r->s->ready)) {
        srv_reply_error_retry(r, 503, "not_ready", 1, "the index and models are loading");
        return;
    }
    for (size_t i = 0; i < r->s->info.n_colls; i++) {
        if (!docrag_engine_store_ready(r->s->info.colls[i].engine, why, sizeof why)) {
            srv_reply_error_retry(r, 503, "store_unavailable", 1, why);
            return;
        }
    }
    docrag_engine_store_state(r->s->info.colls[0].engine, &st);
    srv_ready_json(r->s, buf, sizeof buf);
    n = strlen(buf);
    o = json_pack("{s:s,s:s,s:I,s:I,s:b}", "backend", st.backend, "endpoint",
                  strcmp(st.backend, "postgres") ? "" : st.endpoint, "applied_seq",
                  (json_int_t)st.applied_seq, "head_seq", (json_int_t)st.head_seq, "reachable",
                  st.reachable);
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    /* splice ,"store":{...} before the cached object's closing brace */
    if (text && n > 2 && buf[n - 1] == '}' && n + strlen(text) + 10 < sizeof buf)
        snprintf(buf + n - 1, sizeof buf - n + 1, ",\"store\":%s}", text);
    free(text);
    srv_reply_json_text(r, 200, buf);
}

/* ---- search ------------------------------------------------------------------- */

static void search(srv_req *r)
{
    json_t *o = srv_body_json(r);
    query_req q;
    srv_coll *c;
    docrag_error err;
    char *out = NULL;

    if (!o)
        return;
    if (decode_query(r, o, "query", 0, &q) == 0 && (c = srv_collection(r, q.collection)) &&
        srv_public_session(r, c)) {
        if (docrag_search(r->session, q.text, &q.so, &out, &err) != 0) {
            srv_reply_docrag_error(r, &err);
        } else {
            reply_result(r, out);
        }
    }
    docrag_free(out);
    json_decref(o);
}

/* ---- ask ------------------------------------------------------------------------ */

typedef struct {
    srv_req *r;
    int sent_sources;
} ask_stream;

static int on_sources(void *ctx, const char *json)
{
    ask_stream *a = ctx;
    a->sent_sources = 1;
    return srv_stream_event(a->r, "sources", json) < 0;
}

static int on_delta(void *ctx, const char *text, size_t n)
{
    ask_stream *a = ctx;
    return srv_stream_event_json(a->r, "delta", json_pack("{s:s%}", "text", text, n)) < 0;
}

static void on_abandon(void *ctx, const char *backend, const char *why)
{
    ask_stream *a = ctx;
    /* the text streamed so far is void: clients clear it */
    srv_stream_event_json(a->r, "reset",
                          json_pack("{s:s,s:s}", "backend", backend, "reason", why));
}

static int is_cancelled(void *ctx)
{
    ask_stream *a = ctx;
    return srv_req_closed(a->r);
}

static void ask(srv_req *r)
{
    json_t *o = srv_body_json(r);
    query_req q;
    srv_coll *c;
    docrag_ask_opts ao;
    docrag_error err;
    char *out = NULL;

    if (!o)
        return;
    if (decode_query(r, o, "question", 1, &q) < 0 || !(c = srv_collection(r, q.collection)) ||
        !srv_public_session(r, c)) {
        json_decref(o);
        return;
    }
    docrag_ask_opts_init(&ao);
    ao.search = q.so;
    if (!q.stream) {
        if (docrag_ask(r->session, q.text, &ao, &out, &err) != 0) {
            srv_reply_docrag_error(r, &err);
        } else {
            reply_result(r, out);
        }
    } else {
        ask_stream as = {r, 0};
        docrag_stream st = {on_sources, on_delta, on_abandon, is_cancelled, &as};
        ao.stream = &st;
        srv_stream_start(r, 200, "text/event-stream");
        if (docrag_ask(r->session, q.text, &ao, &out, &err) != 0) {
            if (err.code == DOCRAG_ECANCELLED && srv_req_closed(r)) {
                srv_count(r->s, "answer_cancelled", "client_closed", 1);
            } else {
                json_t *e = json_pack("{s:{s:i,s:s,s:s}}", "error", "code",
                                      err.code == DOCRAG_EBACKEND ? 502 : 500, "type",
                                      err.code == DOCRAG_EBACKEND ? "backend_error"
                                                                  : "server_error",
                                      "message", err.code == DOCRAG_EBACKEND
                                                     ? err.msg : "internal error");
                if (err.code != DOCRAG_EBACKEND)
                    rag_log(RAG_LOG_ERROR, "request %s: %s", r->id, err.msg);
                srv_stream_event_json(r, "error", e);
            }
        } else {
            observe_call(r);
            srv_stream_event(r, "done", out);
        }
        srv_stream_end(r);
    }
    docrag_free(out);
    json_decref(o);
}

/* ---- stats, config, metrics ---------------------------------------------------- */

static void stats(srv_req *r)
{
    srv_coll *c = srv_collection(r, srv_query(r, "collection"));
    docrag_error err;
    char *out = NULL;
    if (!c || !srv_session(r, c))
        return;
    if (docrag_stats(r->session, &out, &err) != 0) {
        srv_reply_docrag_error(r, &err);
        return;
    }
    {
        json_t *o = json_loads(out, 0, NULL);
        docrag_free(out);
        if (!o) {
            srv_reply_error(r, 500, "server_error", "internal error");
            return;
        }
        json_object_set_new(o, "collection", json_string(c->name));
        json_object_del(o, "db");
        srv_reply_json(r, 200, o);
    }
}

static void config(srv_req *r)
{
    srv_coll *c = srv_collection(r, srv_query(r, "collection"));
    docrag_error err;
    char *out = NULL;
    if (!c)
        return;
    if (docrag_engine_config(c->engine, &out, &err) != 0) {
        srv_reply_docrag_error(r, &err);
        return;
    }
    srv_reply_json_text(r, 200, out);
    docrag_free(out);
}

static void metrics(srv_req *r)
{
    rag_buf b = RAG_BUF_INIT;
    srv_metrics_text(r, &b);
    if (!b.data) {
        srv_reply_error(r, 500, "server_error", "out of memory");
        return;
    }
    srv_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, NULL);
    rag_buf_fini(&b);
}

/* GET /v1/analytics?since=UNIX_S: the time series, and per collection the
 * usage of every back-end and the embedding cache, for the UI's charts. */
static void analytics(srv_req *r)
{
    srv *s = r->s;
    const char *since_s = srv_query(r, "since");
    long long since = 0;
    rag_buf b = RAG_BUF_INIT;
    json_t *o, *colls;

    if (since_s) {
        char *end;
        since = strtoll(since_s, &end, 10);
        if (!*since_s || *end || since < 0) {
            srv_reply_error(r, 422, "invalid_request", "'since' must be a unix time in seconds");
            return;
        }
    }
    if (srv_analytics_json(s, (int64_t)since, &b) < 0 || !b.data) {
        rag_buf_fini(&b);
        srv_reply_error(r, 500, "server_error", "out of memory");
        return;
    }
    o = json_pack("{s:o,s:o}", "timeseries", json_loads(b.data, 0, NULL), "collections",
                  json_object());
    rag_buf_fini(&b);
    colls = json_object_get(o, "collections");
    for (size_t i = 0; o && i < srv_get_info(s)->n_colls; i++) {
        srv_coll *c = &((srv_info *)srv_get_info(s))->colls[i];
        docrag_error err;
        char *usage = NULL, *stats = NULL;
        json_t *cj = json_object(), *st;
        if (docrag_engine_usage(c->engine, &usage, &err) == 0)
            json_object_set_new(cj, "usage", json_loads(usage, 0, NULL));
        if (srv_session(r, c) && docrag_stats(r->session, &stats, &err) == 0 &&
            (st = json_loads(stats, 0, NULL))) {
            static const char *const keep[] = {"documents", "chunks", "vectors",
                                               "embed_cache_lookups", "embed_cache_hits",
                                               "embed_cache_hit_rate", NULL};
            for (size_t k = 0; keep[k]; k++)
                json_object_set(cj, keep[k], json_object_get(st, keep[k]));
            json_decref(st);
        }
        docrag_free(usage);
        docrag_free(stats);
        json_object_set_new(colls, c->name, cj);
    }
    if (srv_req_closed(r)) {
        json_decref(o);
        return;
    }
    srv_reply_json(r, 200, o);
}

const srv_route srv_routes_core[] = {
    {"GET", "/health", SRV_ROLE_NONE, SRV_BODY_NONE, SRV_ON_LOOP | SRV_NO_ENGINE, health,
     "health"},
    {"GET", "/ready", SRV_ROLE_NONE, SRV_BODY_NONE, SRV_ON_LOOP | SRV_NO_ENGINE, ready,
     "ready"},
    {"POST", "/v1/search", SRV_ROLE_READ, SRV_BODY_JSON, 0, search, "search"},
    {"POST", "/v1/ask", SRV_ROLE_READ, SRV_BODY_JSON, 0, ask, "ask"},
    {"GET", "/v1/stats", SRV_ROLE_READ, SRV_BODY_NONE, 0, stats, "stats"},
    {"GET", "/v1/config", SRV_ROLE_ADMIN, SRV_BODY_NONE, 0, config, "config"},
    {"GET", "/metrics", SRV_ROLE_ADMIN, SRV_BODY_NONE, 0, metrics, "metrics"},
    {"GET", "/v1/analytics", SRV_ROLE_READ, SRV_BODY_NONE, 0, analytics, "analytics"},
    {NULL, NULL, 0, 0, 0, NULL, NULL},
};
