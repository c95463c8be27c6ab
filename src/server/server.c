/* server.c - `docrag serve`: start, the worker pool, loading, shutdown.
 *
 * Start-up: bind first (so /health answers and /ready says 503 while the
 * models load), then a loader thread opens every collection's engine;
 * once all are loaded the server is ready and prints
 * "listening on http://HOST:PORT" (tools wait for that line). The loader
 * then stays as the maintenance thread: once a second it refreshes every
 * engine (vectors follow index changes made by other processes) and the
 * cached /ready body.
 *
 * Shutdown (SIGTERM, SIGINT): stop accepting (new requests get 503), let
 * queued and running requests and open streams finish until
 * server.shutdown_grace_ms, then stop the loop; workers finish their
 * current request (an SSE answer sees its client closed) and exit.
 */
#include "srv_int.h"
#include "jobs.h"
#include "server/http_parse.h"

#include <event2/buffer.h>
#include <event2/thread.h>

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop_requested;
static struct event_base *volatile g_base;

void docrag_server_opts_init(docrag_server_opts *o)
{
    memset(o, 0, sizeof *o);
    docrag_engine_opts_init(&o->engine);
    o->port = -1;
}

void docrag_server_stop(void)
{
    g_stop_requested = 1;
}

const srv_info *srv_get_info(const srv *s)
{
    return &s->info;
}

struct srv_jobs *srv_get_jobs(srv *s)
{
    return s->jobs;
}

/* ---- request helpers routes use ------------------------------------------ */

json_t *srv_body_json(srv_req *r)
{
    json_error_t je;
    json_t *o;
    if (!r->body || !r->n_body) {
        srv_reply_error(r, 400, "invalid_json", "request body is empty: expected a JSON object");
        return NULL;
    }
    o = json_loadb(r->body, r->n_body, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        srv_reply_error(r, 400, "invalid_json", "malformed JSON at line %d, column %d: %s",
                        je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        srv_reply_error(r, 400, "invalid_json", "expected a JSON object");
        return NULL;
    }
    return o;
}

const char *srv_query(srv_req *r, const char *key)
{
    return r->q ? rag_query_get(r->q, key) : NULL;
}

srv_coll *srv_collection(srv_req *r, const char *name)
{
    srv *s = r->s;
    if (!name || !*name)
        return &s->info.colls[0];
    for (size_t i = 0; i < s->info.n_colls; i++)
        if (!strcmp(s->info.colls[i].name, name))
            return &s->info.colls[i];
    srv_reply_error(r, 404, "not_found", "no collection named '%.64s'", name);
    return NULL;
}

static _Thread_local srv_worker *tl_worker;

docrag_session *srv_session_quiet(srv_req *r, srv_coll *coll)
{
    size_t i = (size_t)(coll - r->s->info.colls);
    docrag_error err;
    if (!tl_worker)
        return NULL;   /* not a worker thread: a programming error */
    if (!tl_worker->sessions[i] &&
        docrag_session_open(&tl_worker->sessions[i], coll->engine, &err) != 0) {
        rag_log(RAG_LOG_ERROR, "collection %s: %s", coll->name, err.msg);
        return NULL;
    }
    r->session = tl_worker->sessions[i];
    docrag_session_set_output(r->session, 0);   /* a session serves every route */
    return r->session;
}

docrag_session *srv_session(srv_req *r, srv_coll *coll)
{
    if (srv_session_quiet(r, coll))
        return r->session;
    if (!tl_worker)
        srv_reply_error(r, 500, "server_error", "internal error (request id %s)", r->id);
    else
        srv_reply_error_retry(r, 503, "unavailable", 5, "the index cannot be opened");
    return NULL;
}

docrag_session *srv_public_session(srv_req *r, srv_coll *coll)
{
    if (!srv_session(r, coll))
        return NULL;
    docrag_session_set_output(r->session, DOCRAG_OUT_PUBLIC);
    return r->session;
}

int64_t srv_param_id(srv_req *r, size_t i, const char *what)
{
    const char *p = i < r->n_params ? r->params[i] : NULL;
    rag_err perr = {0};
    int64_t v = 0;
    if (!p || rag_parse_id((rag_span){p, strlen(p)}, &v, &perr) < 0) {
        srv_reply_error(r, 400, "invalid_request", "%s must be a positive integer", what);
        return 0;
    }
    return v;
}

/* ---- workers -------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    srv_worker *w = arg;
    srv *s = w->s;
    tl_worker = w;
    for (;;) {
        srv_req *r;
        pthread_mutex_lock(&s->q_mu);
        while (!s->q_n && !s->q_stop)
            pthread_cond_wait(&s->q_cv, &s->q_mu);
        if (!s->q_n) {
            pthread_mutex_unlock(&s->q_mu);
            break;
        }
        r = s->q[s->q_head];
        s->q_head = (s->q_head + 1) % s->q_cap;
        s->q_n--;
        pthread_mutex_unlock(&s->q_mu);
        if (srv_req_closed(r))
            ;   /* the client left while it waited: nothing to do */
        else
            srv_run_worker_route(r);
        if (w->streaming) {
            w->streaming = 0;
            atomic_fetch_sub(&s->n_streaming, 1);
        }
        srv_req_release(r);
    }
    for (size_t i = 0; i < SRV_MAX_COLLS; i++)
        docrag_session_close(w->sessions[i]);
    return NULL;
}

/* A streamed answer keeps its worker (and session) until the LLM is done,
 * seconds on a remote back-end: with one worker per core, two streams
 * would hold every worker and the rest would wait in the queue. Workers
 * are added instead, up to server.stream_workers, so that base_workers
 * are always free of streams; they stay (idle) once started. */
void srv_worker_streaming(srv *s)
{
    size_t n, streaming;
    if (!tl_worker || tl_worker->streaming)
        return;
    tl_worker->streaming = 1;
    streaming = atomic_fetch_add(&s->n_streaming, 1) + 1;
    pthread_mutex_lock(&s->workers_mu);
    n = atomic_load(&s->n_workers);
    if (!s->no_grow && n < s->cap_workers && n - (streaming < n ? streaming : n) < s->base_workers) {
        s->workers[n].s = s;
        if (pthread_create(&s->workers[n].th, NULL, worker_main, &s->workers[n]) == 0)
            atomic_store(&s->n_workers, n + 1);
        else
            rag_log(RAG_LOG_WARN, "cannot start another worker for streams (%zu running)", n);
    }
    pthread_mutex_unlock(&s->workers_mu);
}

/* ---- loading and maintenance ---------------------------------------------- */

static void update_ready(srv *s)
{
    json_t *o = json_pack("{s:s,s:o}", "status", "ready", "collections", json_object());
    json_t *colls = json_object_get(o, "collections");
    char *text;
    for (size_t i = 0; o && i < s->info.n_colls; i++) {
        docrag_error err;
        char *info = NULL;
        if (docrag_engine_info(s->info.colls[i].engine, &info, &err) == 0) {
            json_t *j = json_loads(info, 0, NULL);
            if (j) {
                json_object_del(j, "db");   /* no server paths to anonymous callers */
                json_object_set_new(colls, s->info.colls[i].name, j);
            }
        }
        docrag_free(info);
    }
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text) {
        pthread_mutex_lock(&s->info_mu);
        snprintf(s->ready_json, sizeof s->ready_json, "%s", text);
        pthread_mutex_unlock(&s->info_mu);
        free(text);
    }
}

/* A collection on a PostgreSQL store keeps its uploads beside its local
 * copy (DB.files of a URL is no folder), unless server.upload_dir says. */
static void store_upload_dir(srv *s, srv_coll *c)
{
    docrag_store_state st;
    docrag_engine_store_state(c->engine, &st);
    if (!s->info.cfg.upload_dir && !strcmp(st.backend, "postgres"))
        snprintf(c->upload_dir, sizeof c->upload_dir, "%.1000s.files", st.local_copy);
}

static void *loader_main(void *arg)
{
    srv *s = arg;
    docrag_error err;
    double t0 = rag_now_ms();
    uint64_t seen[SRV_MAX_COLLS];

    for (size_t i = 1; i < s->info.n_colls; i++) {
        docrag_engine_opts eo = s->opts.engine;
        eo.db_path = s->info.colls[i].db_path;
        if (docrag_engine_open(&s->info.colls[i].engine, &eo, &err) != 0) {
            fprintf(stderr, "docrag: collection %s: %s\n", s->info.colls[i].name, err.msg);
            docrag_server_stop();
            return NULL;
        }
        store_upload_dir(s, &s->info.colls[i]);
    }
    update_ready(s);
    atomic_store(&s->ready, 1);
    fprintf(stderr, "docrag: ready in %.0f ms (%zu collection%s)\n", rag_now_ms() - t0,
            s->info.n_colls, s->info.n_colls == 1 ? "" : "s");
    fprintf(stderr, "listening on %s\n", s->info.base_url);
    fflush(stderr);
    for (size_t i = 0; i < s->info.n_colls; i++)
        seen[i] = docrag_engine_generation(s->info.colls[i].engine);
    while (!atomic_load(&s->stopping)) {
        int changed = 0;
        for (int i = 0; i < 10 && !atomic_load(&s->stopping); i++)
            usleep(100 * 1000);
        for (size_t i = 0; i < s->info.n_colls && !atomic_load(&s->stopping); i++) {
            uint64_t g;
            if (docrag_engine_refresh(s->info.colls[i].engine, &err) < 0)
                rag_log(RAG_LOG_WARN, "collection %s: refresh: %s", s->info.colls[i].name,
                        err.msg);
            g = docrag_engine_generation(s->info.colls[i].engine);
            changed |= g != seen[i];
            seen[i] = g;
        }
        /* the cached counts only move when the index did */
        if (changed)
            update_ready(s);
    }
    return NULL;
}

const char *srv_ready_json(srv *s, char *buf, size_t n)
{
    pthread_mutex_lock(&s->info_mu);
    snprintf(buf, n, "%s", s->ready_json);
    pthread_mutex_unlock(&s->info_mu);
    return buf;
}

/* ---- loop events ------------------------------------------------------------ */

static void on_access_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    srv_access_flush(arg);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    srv_ops_drain(arg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    srv *s = arg;
    (void)fd;
    (void)what;
    if (g_stop_requested && !atomic_load(&s->stopping)) {
        atomic_store(&s->stopping, 1);
        s->stop_deadline_ms = rag_now_ms() + s->info.cfg.shutdown_grace_ms;
        fprintf(stderr, "docrag: stopping: finishing %ld request%s (up to %d ms)\n",
                atomic_load(&s->in_flight), atomic_load(&s->in_flight) == 1 ? "" : "s",
                s->info.cfg.shutdown_grace_ms);
        if (s->sock) {
            evhttp_del_accept_socket(s->http, s->sock);
            s->sock = NULL;
        }
    }
    if (atomic_load(&s->stopping) &&
        ((atomic_load(&s->in_flight) == 0 && srv_jobs_idle(s->jobs)) ||
         rag_now_ms() > s->stop_deadline_ms))
        event_base_loopexit(s->base, NULL);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    g_stop_requested = 1;
}

/* ---- collections from the options --------------------------------------- */

static int add_coll(srv *s, const char *spec, docrag_error *err)
{
    srv_coll *c;
    const char *eq = strchr(spec, '='), *path;
    const char *url = strstr(spec, "postgres://") ? strstr(spec, "postgres://")
                                                  : strstr(spec, "postgresql://");
    /* a postgres:// URL has '=' in its options: NAME= only before it */
    if (url && (!eq || eq > url))
        eq = url > spec && url[-1] == '=' ? url - 1 : NULL;
    path = eq ? eq + 1 : spec;
    if (s->info.n_colls == SRV_MAX_COLLS) {
        snprintf(err->msg, sizeof err->msg, "--db: at most %d collections", SRV_MAX_COLLS);
        return err->code = DOCRAG_ELIMIT;
    }
    c = &s->info.colls[s->info.n_colls];
    if (eq) {
        size_t n = (size_t)(eq - spec);
        if (n == 0 || n >= sizeof c->name || strspn(spec, "abcdefghijklmnopqrstuvwxyz"
                                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                          "0123456789_-.") < n) {
            snprintf(err->msg, sizeof err->msg,
                     "--db %.*s=…: a collection name is 1-63 letters, digits, '_', '-', '.'",
                     (int)(n < 64 ? n : 64), spec);
            return err->code = DOCRAG_EINVAL;
        }
        memcpy(c->name, spec, n);
        c->name[n] = '\0';
    } else if (url) {
        /* the database's name, never the rest of the URL (a password) */
        const char *q = strchr(path, '?'), *b = path;
        for (const char *p = path; *p && (!q || p < q); p++)
            if (*p == '/')
                b = p + 1;
        snprintf(c->name, sizeof c->name, "%.*s", (int)strcspn(b, "?."), b);
        if (!c->name[0] || strspn(c->name, "abcdefghijklmnopqrstuvwxyz"
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
                               strlen(c->name))
            snprintf(c->name, sizeof c->name, "default");
    } else {
        const char *b = strrchr(path, '/');
        size_t n;
        b = b ? b + 1 : path;
        n = strcspn(b, ".");
        snprintf(c->name, sizeof c->name, "%.*s", (int)(n ? n : strlen(b)), b);
        if (!c->name[0])
            snprintf(c->name, sizeof c->name, "default");
    }
    for (size_t i = 0; i < s->info.n_colls; i++)
        if (!strcmp(s->info.colls[i].name, c->name)) {
            snprintf(err->msg, sizeof err->msg, "--db: collection '%s' given twice", c->name);
            return err->code = DOCRAG_EINVAL;
        }
    if (!*path || strlen(path) >= sizeof c->db_path) {
        snprintf(err->msg, sizeof err->msg, "--db %s: bad database path", url ? "postgres://…" : spec);
        return err->code = DOCRAG_EINVAL;
    }
    snprintf(c->db_path, sizeof c->db_path, "%s", path);
    s->info.n_colls++;
    return 0;
}

static int is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcmp(host, "localhost"))
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

static void srv_free(srv *s)
{
    if (!s)
        return;
    srv_jobs_destroy(s->jobs);
    srv_mcp_destroy(s->mcp);
    for (size_t i = 0; i < s->info.n_colls; i++)
        docrag_engine_close(s->info.colls[i].engine);
    srv_auth_destroy(s->auth);
    srv_metrics_destroy(s->metrics);
    srv_access_flush(s);
    if (s->access_flush)
        event_free(s->access_flush);
    if (s->access_out)
        evbuffer_free(s->access_out);
    if (s->wake)
        event_free(s->wake);
    if (s->tick)
        event_free(s->tick);
    if (s->sig_term)
        event_free(s->sig_term);
    if (s->sig_int)
        event_free(s->sig_int);
    if (s->http)
        evhttp_free(s->http);
    if (s->base)
        event_base_free(s->base);
    rag_free(s->q);
    rag_free(s->workers);
    pthread_mutex_destroy(&s->ops_mu);
    pthread_mutex_destroy(&s->q_mu);
    pthread_mutex_destroy(&s->info_mu);
    pthread_mutex_destroy(&s->workers_mu);
    pthread_cond_destroy(&s->q_cv);
    rag_free(s);
}

int docrag_server_run(const docrag_server_opts *opts, docrag_error *err)
{
    docrag_error lerr;
    srv *s;
    const char *host;
    int port, rc = 0, loopback;
    size_t n_workers;

    if (!err)
        err = &lerr;
    memset(err, 0, sizeof *err);
    g_stop_requested = 0;
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0) {
        snprintf(err->msg, sizeof err->msg, "libevent: no thread support");
        return err->code = DOCRAG_EINVAL;
    }
    s = rag_calloc(1, sizeof *s);
    if (!s) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return err->code = DOCRAG_ENOMEM;
    }
    pthread_mutex_init(&s->ops_mu, NULL);
    pthread_mutex_init(&s->q_mu, NULL);
    pthread_mutex_init(&s->info_mu, NULL);
    pthread_mutex_init(&s->workers_mu, NULL);
    pthread_cond_init(&s->q_cv, NULL);
    s->opts = *opts;
    s->info.started_ms = rag_now_ms();
    snprintf(s->ready_json, sizeof s->ready_json, "{}");

    /* the first collection's engine carries the server settings: open it
     * now, so a bad config fails before anything binds */
    for (size_t i = 0; i < opts->n_dbs && rc == 0; i++)
        rc = add_coll(s, opts->dbs[i], err);
    if (rc)
        goto fail;
    {
        docrag_engine_opts eo = opts->engine;
        eo.db_path = s->info.n_colls ? s->info.colls[0].db_path : NULL;
        if ((rc = docrag_engine_open(&s->info.colls[0].engine, &eo, err)) != 0)
            goto fail;
    }
    docrag_engine_server_config(s->info.colls[0].engine, &s->info.cfg);
    if (!s->info.n_colls) {
        /* server.collections, else the configured database */
        for (size_t i = 0; i < s->info.cfg.n_collections && rc == 0; i++)
            rc = add_coll(s, s->info.cfg.collections[i], err);
        if (rc)
            goto fail;
        if (!s->info.n_colls)
            rc = add_coll(s, s->info.cfg.db_path, err);
        if (rc)
            goto fail;
        if (strcmp(s->info.colls[0].db_path, s->info.cfg.db_path)) {
            /* server.collections named another first database */
            docrag_engine_opts eo = opts->engine;
            docrag_engine_close(s->info.colls[0].engine);
            eo.db_path = s->info.colls[0].db_path;
            if ((rc = docrag_engine_open(&s->info.colls[0].engine, &eo, err)) != 0)
                goto fail;
            docrag_engine_server_config(s->info.colls[0].engine, &s->info.cfg);
        }
    }
    for (size_t i = 0; i < s->info.n_colls; i++) {
        srv_coll *c = &s->info.colls[i];
        char dir[sizeof c->upload_dir];
        if (s->info.cfg.upload_dir)
            snprintf(dir, sizeof dir, "%s%s%s", s->info.cfg.upload_dir, i ? "/" : "",
                     i ? c->name : "");
        else
            snprintf(dir, sizeof dir, "%s.files", c->db_path);
        memcpy(c->upload_dir, dir, sizeof dir);
        if (c->engine)
            store_upload_dir(s, c);
    }
    host = opts->host ? opts->host : s->info.cfg.host;
    port = opts->port >= 0 ? opts->port : s->info.cfg.port;
    if (!host || !*host)
        host = "127.0.0.1";
    s->info.cfg.host = host;
    loopback = is_loopback(host);
    if ((rc = srv_auth_create(&s->auth, &s->info, loopback, err)) != 0)
        goto fail;
    if ((rc = srv_metrics_create(&s->metrics, s)) != 0) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        goto fail;
    }
    if ((rc = srv_jobs_create(&s->jobs, s, err)) != 0)
        goto fail;
    if ((rc = srv_mcp_create(&s->mcp, err)) != 0)
        goto fail;

    s->base = event_base_new();
    s->http = s->base ? evhttp_new(s->base) : NULL;
    if (!s->http) {
        snprintf(err->msg, sizeof err->msg, "libevent: cannot create the HTTP server");
        rc = err->code = DOCRAG_ENOMEM;
        goto fail;
    }
    s->loop_thread = pthread_self();
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(s->http, s->info.cfg.max_header_bytes);
    evhttp_set_max_body_size(s->http, s->info.cfg.max_upload > s->info.cfg.max_json_body
                                          ? s->info.cfg.max_upload
                                          : s->info.cfg.max_json_body);
    evhttp_set_timeout(s->http, s->info.cfg.timeout_s);
    evhttp_set_gencb(s->http, srv_dispatch, s);
    s->sock = evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port);
    if (!s->sock) {
        snprintf(err->msg, sizeof err->msg, "cannot listen on %s:%d: %s", host, port,
                 strerror(errno));
        rc = err->code = DOCRAG_EIO;
        goto fail;
    }
    {
        struct sockaddr_storage ss;
        socklen_t n = sizeof ss;
        char addr[64] = "";
        int bound = port;
        evutil_socket_t fd = evhttp_bound_socket_get_fd(s->sock);
        if (getsockname(fd, (struct sockaddr *)&ss, &n) == 0) {
            if (ss.ss_family == AF_INET) {
                struct sockaddr_in *a = (struct sockaddr_in *)&ss;
                inet_ntop(AF_INET, &a->sin_addr, addr, sizeof addr);
                bound = ntohs(a->sin_port);
            } else if (ss.ss_family == AF_INET6) {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
                inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof addr);
                bound = ntohs(a->sin6_port);
            }
        }
        snprintf(s->info.base_url, sizeof s->info.base_url,
                 strchr(addr, ':') ? "http://[%s]:%d" : "http://%s:%d", addr[0] ? addr : host,
                 bound);
    }
    s->wake = event_new(s->base, -1, EV_PERSIST, on_wake, s);
    s->sig_term = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->sig_int = evsignal_new(s->base, SIGINT, on_signal, s);
    s->tick = event_new(s->base, -1, EV_PERSIST, on_tick, s);
    s->access_out = evbuffer_new();
    s->access_flush = event_new(s->base, -1, 0, on_access_flush, s);
    if (!s->wake || !s->sig_term || !s->sig_int || !s->tick || !s->access_out ||
        !s->access_flush) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        rc = err->code = DOCRAG_ENOMEM;
        goto fail;
    }
    {
        struct timeval tv = {0, 100 * 1000};
        event_add(s->wake, NULL);
        event_add(s->sig_term, NULL);
        event_add(s->sig_int, NULL);
        event_add(s->tick, &tv);
    }
    if (srv_auth_open(s->auth))
        fprintf(stderr, "docrag: no API key configured: open to local callers on %s "
                "(read and admin); set DOCRAG_API_KEY / DOCRAG_ADMIN_KEY to require keys\n",
                host);
    else if (srv_auth_anonymous_read(s->auth))
        fprintf(stderr, "docrag: anonymous read access (server.anonymous: read); admin "
                "routes need DOCRAG_ADMIN_KEY\n");

    /* workers and the queue */
    n_workers = opts->workers > 0 ? (size_t)opts->workers
                : s->info.cfg.workers > 0 ? (size_t)s->info.cfg.workers
                                          : (size_t)sysconf(_SC_NPROCESSORS_ONLN);
    if (n_workers < 1)
        n_workers = 1;
    s->q_cap = (size_t)s->info.cfg.max_queue;
    s->q = rag_calloc(s->q_cap, sizeof *s->q);
    s->base_workers = n_workers;
    s->cap_workers = n_workers + (size_t)(s->info.cfg.stream_workers > 0
                                              ? s->info.cfg.stream_workers : 0);
    s->workers = rag_calloc(s->cap_workers, sizeof *s->workers);
    if (!s->q || !s->workers) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        rc = err->code = DOCRAG_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n_workers; i++) {
        s->workers[i].s = s;
        if (pthread_create(&s->workers[i].th, NULL, worker_main, &s->workers[i]) != 0)
            break;
        atomic_fetch_add(&s->n_workers, 1);
    }
    if (pthread_create(&s->loader, NULL, loader_main, s) != 0) {
        snprintf(err->msg, sizeof err->msg, "cannot start a thread");
        rc = err->code = DOCRAG_ENOMEM;
        atomic_store(&s->stopping, 1);
    } else {
        g_base = s->base;
        event_base_dispatch(s->base);
        atomic_store(&s->stopping, 1);
        pthread_join(s->loader, NULL);
    }
    /* stop the workers: queued requests whose clients are gone are dropped */
    pthread_mutex_lock(&s->q_mu);
    s->q_stop = 1;
    pthread_cond_broadcast(&s->q_cv);
    pthread_mutex_unlock(&s->q_mu);
    srv_jobs_stop(s->jobs);
    /* evhttp_free closes the connections: a stream still running sees its
     * client closed and ends */
    evhttp_free(s->http);
    s->http = NULL;
    {
        size_t n;
        pthread_mutex_lock(&s->workers_mu);
        s->no_grow = 1;
        n = atomic_load(&s->n_workers);
        pthread_mutex_unlock(&s->workers_mu);
        for (size_t i = 0; i < n; i++)
            pthread_join(s->workers[i].th, NULL);
    }
    srv_ops_drain(s);
    fprintf(stderr, "docrag: stopped\n");
fail:
    srv_free(s);
    return rc;
}
