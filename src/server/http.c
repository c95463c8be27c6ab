/* http.c - replies and streams from any thread, performed on the loop.
 *
 * A worker never calls evhttp. srv_reply and srv_stream_* copy what is to
 * be sent into an operation, append it to the server's list under ops_mu
 * and wake the loop (event_active is thread-safe once evthread_use_pthreads
 * ran). The loop performs operations in the order they were queued, which
 * keeps a stream's events in order, and drops those of a request whose
 * client has gone. Each operation holds a reference to its request.
 *
 * The loop holds one reference of its own from the moment the request
 * arrives until evhttp is done with it: either the reply completed
 * (on_complete) or the connection closed first (on_close); whichever comes
 * first clears the evhttp pointer, so no later operation touches freed
 * evhttp state.
 */
#include "srv_int.h"
#include "server/http_parse.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OP_REPLY, OP_START, OP_CHUNK, OP_END };

struct srv_op {
    struct srv_op *next;
    srv_req *r;
    int kind;
    int status;
    char *ctype;
    char **headers;        /* NULL-terminated, owned */
    char *body;
    size_t n_body;
};

/* ---- requests -------------------------------------------------------------- */

static void on_close(struct evhttp_connection *conn, void *arg);

static void loop_release(srv_req *r)
{
    if (r->ev) {
        struct evhttp_connection *c = evhttp_request_get_connection(r->ev);
        if (c)
            evhttp_connection_set_closecb(c, NULL, NULL);
        r->ev = NULL;
    }
    if (r->ping) {
        event_free(r->ping);
        r->ping = NULL;
    }
    srv_req_release(r);
}

/* The request stops counting as in flight once its reply is fully written
 * (on_complete) or its client has gone (on_close) -- not when the reply is
 * queued: a shutdown waits for in_flight to reach 0 before it closes the
 * connections, and a reply still in the output buffer would be lost. */
static void flight_done(srv_req *r)
{
    if (!r->flight_done) {
        r->flight_done = 1;
        atomic_fetch_sub(&r->s->in_flight, 1);
    }
}

static void on_complete(struct evhttp_request *ev, void *arg)
{
    srv_req *r = arg;
    (void)ev;
    flight_done(r);
    if (!r->loop_done) {
        r->loop_done = 1;
        srv_access_log(r);
    }
    if (r->streaming)
        atomic_fetch_sub(&r->s->streams_open, 1);
    r->streaming = 0;
    loop_release(r);
}

static void on_close(struct evhttp_connection *conn, void *arg)
{
    srv_req *r = arg;
    (void)conn;
    atomic_store(&r->closed, 1);
    if (!r->loop_done) {
        r->loop_done = 1;
        if (!r->status)
            r->status = 499;   /* nginx's "client closed request" */
        srv_access_log(r);
    }
    flight_done(r);
    if (r->streaming)
        atomic_fetch_sub(&r->s->streams_open, 1);
    r->streaming = 0;
    /* evhttp frees the request with the connection -- unless its reply
     * was not finished (a stream cut short, a worker still busy): then
     * libevent has detached it (no connection) and leaves freeing it to
     * whoever would have finished the reply, which is us, now. */
    if (r->ev) {
        evhttp_request_set_on_complete_cb(r->ev, NULL, NULL);
        if (!evhttp_request_get_connection(r->ev))
            evhttp_request_free(r->ev);
    }
    r->ev = NULL;
    if (r->ping) {
        event_free(r->ping);
        r->ping = NULL;
    }
    srv_req_release(r);
}

srv_req *srv_req_create(srv *s, struct evhttp_request *ev)
{
    srv_req *r = rag_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->s = s;
    r->ev = ev;
    r->t0_ms = rag_now_ms();
    atomic_init(&r->refs, 1);   /* the loop's */
    atomic_init(&r->closed, 0);
    {
        /* No Nagle: a stream's small writes (headers, then `sources`, then
         * each token) would otherwise wait for the client's delayed ACK,
         * about 40 ms each. Once per request: the call is cheap and
         * evhttp has no per-connection hook that sees the socket. */
        struct bufferevent *bev =
            evhttp_connection_get_bufferevent(evhttp_request_get_connection(ev));
        evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
        int one = 1;
        if (fd >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(ev), on_close, r);
    evhttp_request_set_on_complete_cb(ev, on_complete, r);
    atomic_fetch_add(&s->in_flight, 1);
    return r;
}

void srv_req_ref(srv_req *r)
{
    atomic_fetch_add(&r->refs, 1);
}

void srv_req_release(srv_req *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    rag_free(r->path);
    rag_free(r->query);
    rag_query_destroy(r->q);
    for (size_t i = 0; i < r->n_params; i++)
        rag_free(r->params[i]);
    rag_free(r->body);
    rag_free(r->content_type);
    rag_free(r->range);
    rag_free(r->accept);
    rag_free(r->accept_encoding);
    rag_free(r->origin);
    rag_free(r->last_event_id);
    rag_free(r->if_none_match);
    rag_free(r->mcp_session_id);
    rag_free(r->mcp_protocol_version);
    rag_free(r);
}

int srv_req_closed(const srv_req *r)
{
    return atomic_load(&((srv_req *)r)->closed);
}

/* ---- the operation list ----------------------------------------------------- */

static void op_free(struct srv_op *op)
{
    for (size_t i = 0; op->headers && op->headers[i]; i++)
        rag_free(op->headers[i]);
    rag_free(op->headers);
    rag_free(op->ctype);
    rag_free(op->body);
    rag_free(op);
}

static struct srv_op *op_new(srv_req *r, int kind, int status, const char *ctype,
                             const void *body, size_t n_body, const char *const *headers)
{
    struct srv_op *op = rag_calloc(1, sizeof *op);
    size_t n_h = 0;
    if (!op)
        return NULL;
    op->r = r;
    op->kind = kind;
    op->status = status;
    if (ctype && !(op->ctype = rag_strdup(ctype)))
        goto oom;
    if (n_body) {
        if (!(op->body = rag_malloc(n_body)))
            goto oom;
        memcpy(op->body, body, n_body);
        op->n_body = n_body;
    }
    while (headers && headers[n_h])
        n_h++;
    if (n_h) {
        if (!(op->headers = rag_calloc(n_h + 1, sizeof *op->headers)))
            goto oom;
        for (size_t i = 0; i < n_h; i++)
            if (!(op->headers[i] = rag_strdup(headers[i])))
                goto oom;
    }
    return op;
oom:
    op_free(op);
    return NULL;
}

static void perform(srv *s, struct srv_op *op);

static int op_push(srv_req *r, struct srv_op *op)
{
    srv *s = r->s;
    if (!op)
        return -1;
    if (pthread_equal(pthread_self(), s->loop_thread)) {
        /* a loop route: nothing of this request can be queued before it */
        perform(s, op);
        op_free(op);
        return 0;
    }
    srv_req_ref(r);
    pthread_mutex_lock(&s->ops_mu);
    if (s->ops_tail)
        s->ops_tail->next = op;
    else
        s->ops_head = op;
    s->ops_tail = op;
    pthread_mutex_unlock(&s->ops_mu);
    event_active(s->wake, EV_READ, 0);
    return 0;
}

static void add_common_headers(srv_req *r, struct evkeyvalq *h)
{
    const srv_info *info = &r->s->info;
    evhttp_add_header(h, "X-Request-Id", r->id);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Content-Security-Policy", "default-src 'self'");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    if (r->origin) {
        for (size_t i = 0; i < info->cfg.n_cors_origins; i++) {
            if (!strcmp(info->cfg.cors_origins[i], r->origin)) {
                evhttp_add_header(h, "Access-Control-Allow-Origin", r->origin);
                evhttp_add_header(h, "Vary", "Origin");
                evhttp_add_header(h, "Access-Control-Expose-Headers",
                                  "X-Request-Id, Mcp-Session-Id");
                break;
            }
        }
    }
}

static void add_headers(struct evkeyvalq *h, char **headers)
{
    for (size_t i = 0; headers && headers[i]; i++) {
        char *colon = strchr(headers[i], ':');
        if (!colon)
            continue;
        *colon = '\0';
        evhttp_remove_header(h, headers[i]);
        evhttp_add_header(h, headers[i], colon + 1 + strspn(colon + 1, " "));
        *colon = ':';
    }
}

static void on_ping(evutil_socket_t fd, short what, void *arg)
{
    srv_req *r = arg;
    struct evbuffer *b;
    (void)fd;
    (void)what;
    if (!r->ev || !r->streaming)
        return;
    b = evbuffer_new();
    if (!b)
        return;
    evbuffer_add(b, ": ping\n\n", 8);
    evhttp_send_reply_chunk(r->ev, b);
    evbuffer_free(b);
}

static void perform(srv *s, struct srv_op *op)
{
    srv_req *r = op->r;
    struct evkeyvalq *h;
    struct evbuffer *b;

    if (!r->ev || atomic_load(&r->closed) || r->loop_done)
        return;
    h = evhttp_request_get_output_headers(r->ev);
    switch (op->kind) {
    case OP_REPLY:
        add_common_headers(r, h);
        if (op->ctype)
            evhttp_add_header(h, "Content-Type", op->ctype);
        add_headers(h, op->headers);
        b = evbuffer_new();
        if (b && op->n_body)
            evbuffer_add(b, op->body, op->n_body);
        r->status = op->status;
        r->bytes_out += op->n_body;
        r->loop_done = 1;
        srv_access_log(r);
        evhttp_send_reply(r->ev, op->status, NULL, b);   /* on_complete follows */
        if (b)
            evbuffer_free(b);
        break;
    case OP_START:
        add_common_headers(r, h);
        if (op->ctype)
            evhttp_add_header(h, "Content-Type", op->ctype);
        evhttp_add_header(h, "Cache-Control", "no-cache");
        evhttp_add_header(h, "X-Accel-Buffering", "no");
        add_headers(h, op->headers);
        r->status = op->status;
        r->streaming = 1;
        atomic_fetch_add(&s->streams_open, 1);
        evhttp_send_reply_start(r->ev, op->status, NULL);
        if (s->info.cfg.sse_ping_s > 0) {
            struct timeval tv = {s->info.cfg.sse_ping_s, 0};
            r->ping = event_new(s->base, -1, EV_PERSIST, on_ping, r);
            if (r->ping)
                event_add(r->ping, &tv);
        }
        break;
    case OP_CHUNK:
        if (!r->streaming)
            break;
        b = evbuffer_new();
        if (b) {
            evbuffer_add(b, op->body, op->n_body);
            r->bytes_out += op->n_body;
            evhttp_send_reply_chunk(r->ev, b);
            evbuffer_free(b);
        }
        break;
    case OP_END:
        if (!r->streaming)
            break;
        if (r->ping) {
            event_free(r->ping);
            r->ping = NULL;
        }
        r->loop_done = 1;
        srv_access_log(r);
        evhttp_send_reply_end(r->ev);   /* on_complete follows */
        break;
    }
}

void srv_ops_drain(srv *s)
{
    struct srv_op *op;
    pthread_mutex_lock(&s->ops_mu);
    op = s->ops_head;
    s->ops_head = s->ops_tail = NULL;
    pthread_mutex_unlock(&s->ops_mu);
    while (op) {
        struct srv_op *next = op->next;
        srv_req *r = op->r;
        perform(s, op);
        op_free(op);
        srv_req_release(r);
        op = next;
    }
}

/* ---- public reply helpers ------------------------------------------------------ */

void srv_reply(srv_req *r, int status, const char *content_type, const void *body,
               size_t n_body, const char *const *extra_headers)
{
    if (op_push(r, op_new(r, OP_REPLY, status, content_type, body, n_body, extra_headers)) < 0)
        atomic_store(&r->closed, 1);   /* out of memory: the client times out */
}

void srv_reply_json_text(srv_req *r, int status, const char *json)
{
    srv_reply(r, status, "application/json", json, strlen(json), NULL);
}

void srv_reply_json(srv_req *r, int status, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    if (!text) {
        srv_reply_error(r, 500, "server_error", "out of memory");
        return;
    }
    srv_reply_json_text(r, status, text);
    free(text);
}

static void reply_error_headers(srv_req *r, int status, const char *type, const char *msg,
                                const char *const *headers)
{
    json_t *o = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", status, "type", type,
                          "message", msg);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        static const char oom[] =
            "{\"error\":{\"code\":500,\"type\":\"server_error\",\"message\":\"out of memory\"}}";
        srv_reply(r, 500, "application/json", oom, sizeof oom - 1, NULL);
        return;
    }
    srv_reply(r, status, "application/json", text, strlen(text), headers);
    free(text);
}

void srv_reply_error(srv_req *r, int status, const char *type, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply_error_headers(r, status, type, msg, NULL);
}

void srv_reply_error_retry(srv_req *r, int status, const char *type, int retry_after_s,
                           const char *msg)
{
    char h[48];
    const char *headers[2] = {h, NULL};
    snprintf(h, sizeof h, "Retry-After: %d", retry_after_s > 0 ? retry_after_s : 1);
    reply_error_headers(r, status, type, msg, headers);
}

void srv_reply_docrag_error(srv_req *r, const docrag_error *err)
{
    switch (err->code) {
    case DOCRAG_ENOTFOUND: srv_reply_error(r, 404, "not_found", "%s", err->msg); break;
    case DOCRAG_EINVAL: srv_reply_error(r, 422, "invalid_request", "%s", err->msg); break;
    case DOCRAG_EFORMAT: srv_reply_error(r, 422, "invalid_request", "%s", err->msg); break;
    case DOCRAG_ELIMIT: srv_reply_error(r, 413, "too_large", "%s", err->msg); break;
    case DOCRAG_EBACKEND: srv_reply_error(r, 502, "backend_error", "%s", err->msg); break;
    case DOCRAG_ECANCELLED: srv_reply_error(r, 499, "cancelled", "request cancelled"); break;
    default:
        /* database and I/O errors name internal paths: log, answer generically */
        rag_log(RAG_LOG_ERROR, "request %s: %s", r->id, err->msg);
        srv_reply_error(r, 500, "server_error", "internal error (request id %s)", r->id);
    }
}

/* ---- streams ------------------------------------------------------------------ */

void srv_stream_start(srv_req *r, int status, const char *content_type)
{
    srv_worker_streaming(r->s);
    if (op_push(r, op_new(r, OP_START, status, content_type, NULL, 0, NULL)) < 0)
        atomic_store(&r->closed, 1);
}

int srv_stream_send(srv_req *r, const void *data, size_t n)
{
    if (srv_req_closed(r))
        return -1;
    if (op_push(r, op_new(r, OP_CHUNK, 0, NULL, data, n, NULL)) < 0)
        return -1;
    return 0;
}

int srv_stream_event(srv_req *r, const char *event, const char *data)
{
    rag_buf b = RAG_BUF_INIT;
    int rc;
    if (rag_buf_printf(&b, "event: %s\ndata: %s\n\n", event, data) < 0) {
        rag_buf_fini(&b);
        return -1;
    }
    rc = srv_stream_send(r, b.data, b.len);
    rag_buf_fini(&b);
    return rc;
}

int srv_stream_event_json(srv_req *r, const char *event, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int rc = text ? srv_stream_event(r, event, text) : -1;
    json_decref(o);
    free(text);
    return rc;
}

void srv_stream_end(srv_req *r)
{
    op_push(r, op_new(r, OP_END, 0, NULL, NULL, 0, NULL));
}

/* ---- access log ------------------------------------------------------------- */

/* s as the body of a JSON string into b: '"', '\\' and control bytes
 * escaped; other bytes as they are (rag_visible, below, shows any byte that
 * is not printable UTF-8). */
static void json_body(rag_buf *b, const char *s)
{
    while (s && *s) {
        size_t n = 0;
        unsigned char c;
        while ((c = (unsigned char)s[n]) && c != '"' && c != '\\' && c >= 0x20 && c != 0x7f)
            n++;
        rag_buf_append(b, s, n);
        if (!(c = (unsigned char)s[n]))
            break;
        if (c == '"' || c == '\\')
            rag_buf_printf(b, "\\%c", c);
        else
            rag_buf_printf(b, "\\u%04x", c);
        s += n + 1;
    }
}

/* One access-log line, as JSON: {"log":"access","id","method","path",
 * "status","ms","bytes","route","client"}. Written by hand, not through
 * jansson: a pack and a dump per reply was a fifth of /health's cost. */
static int access_line(rag_buf *b, const srv_req *r, double ms)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%.4g", ms);
    if (n > 0 && !strpbrk(num, ".en"))   /* a real stays a real: 12 -> 12.0 */
        snprintf(num + n, sizeof num - (size_t)n, ".0");
    rag_buf_puts(b, "{\"log\":\"access\",\"id\":\"");
    json_body(b, r->id);
    rag_buf_puts(b, "\",\"method\":\"");
    json_body(b, r->method);
    rag_buf_puts(b, "\",\"path\":\"");
    json_body(b, r->path ? r->path : "");
    rag_buf_printf(b, "\",\"status\":%d,\"ms\":%s,\"bytes\":%lld,\"route\":\"", r->status,
                   num, (long long)r->bytes_out);
    json_body(b, r->route ? r->route->name : "");
    rag_buf_puts(b, "\",\"client\":\"");
    json_body(b, r->key_id);
    return rag_buf_puts(b, "\"}");
}

void srv_access_log(srv_req *r)
{
    rag_buf line = RAG_BUF_INIT;
    double ms = rag_now_ms() - r->t0_ms;
    srv_metrics_request(r, r->route ? r->route->name : "unmatched", r->status, ms);
    if (!r->s->info.cfg.access_log)
        return;
    /* no query string (it may hold a key), no body, no header values */
    if (access_line(&line, r, ms) < 0) {
        rag_buf_fini(&line);
        return;
    }
    if (rag_log_has_sink() || !r->s->access_out || !r->s->access_flush) {
        rag_log(RAG_LOG_INFO, "%s", line.data);
    } else if (rag_log_enabled(RAG_LOG_INFO)) {
        /* The line rag_log would print, into the loop's buffer: one write
         * per loop iteration for every reply it finished, not one per
         * reply (a quarter of /health's throughput, bench/serve.sh). */
        struct evbuffer *b = r->s->access_out;
        evbuffer_add(b, "docrag: info: ", 14);
        if (rag_needs_visible(line.data)) {
            size_t n = line.len * 4 + 1;
            char *safe = malloc(n);
            if (safe) {
                rag_visible(safe, n, line.data);
                evbuffer_add(b, safe, strlen(safe));
                free(safe);
            }
        } else {
            evbuffer_add(b, line.data, line.len);
        }
        evbuffer_add(b, "\n", 1);
        event_active(r->s->access_flush, EV_WRITE, 0);
    }
    rag_buf_fini(&line);
}

void srv_access_flush(srv *s)
{
    if (!s->access_out)
        return;
    while (evbuffer_get_length(s->access_out) > 0) {
        if (evbuffer_write(s->access_out, STDERR_FILENO) < 0) {
            if (errno == EINTR)
                continue;
            /* stderr gone or full (EAGAIN): the lines are dropped, the
             * server goes on */
            evbuffer_drain(s->access_out, evbuffer_get_length(s->access_out));
        }
    }
}
