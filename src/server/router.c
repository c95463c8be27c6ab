/* router.c - from an evhttp request to a route: method and path, request
 * id, limits, key and role, then the handler on the loop or a worker.
 *
 * Order of checks (each answers on its own): shutting down 503; path
 * syntax 400; no route 404; wrong method 405 (with Allow); not loaded yet
 * 503; key 401 (none or wrong) / 403 (role too low); rate 429; body size
 * 413; content type 415; queue full 503. Every answer carries X-Request-Id.
 */
#include "srv_int.h"
#include "server/http_parse.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const srv_route *const tables[] = {
    srv_routes_core, srv_routes_docs, srv_routes_openai, srv_routes_tei, srv_routes_mcp,
    srv_routes_ui,
};

static const srv_route *find_route(srv_req *r, const rag_path *path, char *allow,
                                   size_t n_allow, int *path_known)
{
    const srv_route *found = NULL;
    rag_span caps[SRV_MAX_PARAMS];
    *path_known = 0;
    allow[0] = '\0';
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (const srv_route *rt = tables[t]; rt->pattern; rt++) {
            if (!rag_path_match(path, rt->pattern, caps, SRV_MAX_PARAMS))
                continue;
            *path_known = 1;
            if (!rt->method || !strcmp(rt->method, r->method)) {
                if (!found)
                    found = rt;
            } else if (!strstr(allow, rt->method)) {
                size_t n = strlen(allow);
                snprintf(allow + n, n_allow - n, "%s%s", n ? ", " : "", rt->method);
            }
        }
    }
    if (found && rag_path_match(path, found->pattern, caps, SRV_MAX_PARAMS)) {
        /* the captures, NUL-terminated, in pattern order */
        for (const char *p = found->pattern; (p = strchr(p, '{')); p++) {
            size_t i = r->n_params;
            if (i == SRV_MAX_PARAMS)
                break;
            r->params[i] = rag_malloc(caps[i].n + 1);
            if (!r->params[i])
                break;
            memcpy(r->params[i], caps[i].s, caps[i].n);
            r->params[i][caps[i].n] = '\0';
            r->n_params++;
        }
    }
    return found;
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "OTHER";
    }
}

static char *dup_header(struct evkeyvalq *h, const char *name)
{
    const char *v = evhttp_find_header(h, name);
    return v ? rag_strdup(v) : NULL;
}

static void make_id(srv_req *r, const char *given)
{
    static _Atomic unsigned long counter;
    if (given && strlen(given) <= 36 && strspn(given, "abcdefghijklmnopqrstuvwxyz"
                                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                      "0123456789-_.") == strlen(given) &&
        given[0]) {
        snprintf(r->id, sizeof r->id, "%s", given);
        return;
    }
    snprintf(r->id, sizeof r->id, "%08lx%08lx", (unsigned long)rag_now_ms() & 0xffffffffUL,
             atomic_fetch_add(&counter, 1) * 2654435761UL & 0xffffffffUL);
}

static int is_json_type(const char *ct)
{
    return ct && (!strncasecmp(ct, "application/json", 16) ||
                  (!strncasecmp(ct, "application/", 12) && strstr(ct, "+json")));
}

static void queue_or_503(srv_req *r)
{
    srv *s = r->s;
    pthread_mutex_lock(&s->q_mu);
    if (s->q_n == s->q_cap || s->q_stop) {
        pthread_mutex_unlock(&s->q_mu);
        srv_count(s, "rejected", "queue_full", 1);
        srv_reply_error_retry(r, 503, "overloaded", 1,
                              "the server is busy (server.max_queue requests waiting)");
        return;
    }
    srv_req_ref(r);   /* the worker's */
    s->q[(s->q_head + s->q_n) % s->q_cap] = r;
    s->q_n++;
    pthread_cond_signal(&s->q_cv);
    pthread_mutex_unlock(&s->q_mu);
}

void srv_dispatch(struct evhttp_request *ev, void *arg)
{
    srv *s = arg;
    struct evkeyvalq *h = evhttp_request_get_input_headers(ev);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    struct evbuffer *in = evhttp_request_get_input_buffer(ev);
    const srv_route *rt;
    char allow[64];
    int known, retry = 1, role;
    size_t n_body;
    long cap;
    srv_req *r = srv_req_create(s, ev);
    rag_path *path = NULL;

    if (!r) {
        evhttp_send_error(ev, 500, "out of memory");
        return;
    }
    snprintf(r->method, sizeof r->method, "%s", method_name(evhttp_request_get_command(ev)));
    make_id(r, evhttp_find_header(h, "X-Request-Id"));
    {
        char *addr = NULL;
        ev_uint16_t port = 0;
        evhttp_connection_get_peer(evhttp_request_get_connection(ev), &addr, &port);
        snprintf(r->peer, sizeof r->peer, "%s", addr ? addr : "?");
    }
    r->content_type = dup_header(h, "Content-Type");
    r->range = dup_header(h, "Range");
    r->accept = dup_header(h, "Accept");
    r->accept_encoding = dup_header(h, "Accept-Encoding");
    r->origin = dup_header(h, "Origin");
    r->last_event_id = dup_header(h, "Last-Event-ID");
    r->if_none_match = dup_header(h, "If-None-Match");
    r->mcp_session_id = dup_header(h, "Mcp-Session-Id");
    r->mcp_protocol_version = dup_header(h, "MCP-Protocol-Version");
    {
        const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
        const char *p = uri ? evhttp_uri_get_path(uri) : NULL;
        rag_err perr = {0};
        if (!p || !*p)
            p = "/";
        r->path = rag_strdup(p);
        r->query = rag_strdup(q ? q : "");
        if (!r->path || !r->query) {
            srv_reply_error(r, 503, "overloaded", "out of memory");
            goto done;
        }
        if (rag_path_split(&path, p, NULL, &perr) < 0) {
            srv_reply_error(r, perr.code == RAG_ELIMIT ? 414 : 400, "invalid_request", "%s",
                            perr.msg);
            goto done;
        }
        if (rag_query_parse(&r->q, r->query, NULL, &perr) < 0) {
            srv_reply_error(r, perr.code == RAG_ELIMIT ? 414 : 400, "invalid_request", "%s",
                            perr.msg);
            goto done;
        }
    }
    if (atomic_load(&s->stopping)) {
        srv_reply_error_retry(r, 503, "shutting_down", 5, "the server is shutting down");
        goto done;
    }
    rt = find_route(r, path, allow, sizeof allow, &known);
    if (!rt && !strcmp(r->method, "OPTIONS") && known && r->origin) {
        /* CORS preflight: answered only for listed origins */
        const char *hs[] = {"Access-Control-Allow-Methods: GET, POST, DELETE",
                            "Access-Control-Allow-Headers: Authorization, X-API-Key, "
                            "Content-Type, X-Request-Id, Last-Event-ID, Mcp-Session-Id, "
                            "MCP-Protocol-Version",
                            "Access-Control-Max-Age: 600", NULL};
        srv_reply(r, 204, NULL, NULL, 0, hs);
        goto done;
    }
    if (!rt && known) {
        char hdr[96];
        const char *hs[2] = {hdr, NULL};
        snprintf(hdr, sizeof hdr, "Allow: %s", allow);
        r->status = 405;
        {
            json_t *o = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", 405, "type",
                                  "method_not_allowed", "message", "method not allowed here");
            char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
            json_decref(o);
            srv_reply(r, 405, "application/json", t ? t : "", t ? strlen(t) : 0, hs);
            free(t);
        }
        goto done;
    }
    if (!rt) {
        srv_reply_error(r, 404, "not_found", "no route for %s %s", r->method, r->path);
        goto done;
    }
    r->route = rt;
    if (!(rt->flags & SRV_NO_ENGINE) && !atomic_load(&s->ready)) {
        srv_reply_error_retry(r, 503, "not_ready", 1, "the index and models are loading");
        goto done;
    }
    role = srv_auth_check(s->auth, r, evhttp_find_header(h, "Authorization"),
                          evhttp_find_header(h, "X-API-Key"), &retry);
    if (role < 0) {
        srv_reply_error_retry(r, 429, "rate_limited", retry,
                              "too many requests for this key (server.rate_limit)");
        goto done;
    }
    r->role = (srv_role)role;
    {
        srv_role need = rt->role;
        if (!strcmp(rt->name, "metrics") && s->info.cfg.metrics_public)
            need = SRV_ROLE_NONE;
        if ((int)need > role) {
            int bad_key = !strcmp(r->key_id, "bad-key");
            if (role == SRV_ROLE_NONE)
                srv_reply_error(r, 401, "unauthorized",
                                bad_key ? "the API key is not valid"
                                        : "this route needs an API key (Authorization: "
                                          "Bearer KEY or X-API-Key)");
            else
                srv_reply_error(r, 403, "forbidden", "this route needs an admin key");
            goto done;
        }
    }
    n_body = evbuffer_get_length(in);
    cap = rt->body == SRV_BODY_UPLOAD ? s->info.cfg.max_upload : s->info.cfg.max_json_body;
    if ((long)n_body > cap) {
        srv_reply_error(r, 413, "too_large", "request body of %zu bytes is over the limit "
                        "of %ld (server.%s)", n_body, cap,
                        rt->body == SRV_BODY_UPLOAD ? "max_upload" : "max_json_body");
        goto done;
    }
    if (rt->body == SRV_BODY_JSON && n_body && !is_json_type(r->content_type)) {
        srv_reply_error(r, 415, "unsupported_media_type",
                        "expected Content-Type: application/json");
        goto done;
    }
    if (rt->body != SRV_BODY_NONE && n_body) {
        r->body = rag_malloc(n_body + 1);
        if (!r->body) {
            srv_reply_error(r, 503, "overloaded", "out of memory for the request body");
            goto done;
        }
        evbuffer_remove(in, r->body, n_body);
        r->body[n_body] = '\0';
        r->n_body = n_body;
    }
    if (rt->flags & SRV_ON_LOOP)
        rt->handler(r);
    else
        queue_or_503(r);
done:
    rag_path_destroy(path);
}

void srv_run_worker_route(srv_req *r)
{
    r->route->handler(r);
}
