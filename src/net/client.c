/* client.c - endpoints and requests over libcurl easy handles.
 *
 * Each request runs on the calling thread with a blocking curl_easy_perform;
 * handles are pooled per endpoint (curl_easy_reset keeps the connection
 * cache, so keep-alive connections are reused across requests and threads).
 * The endpoint mutex guards only bookkeeping: breaker, limiter, in-flight
 * count, metrics, the jitter RNG and the handle pool. Streams therefore never
 * block one another: 64 threads can each hold a stream open.
 *
 * Stream-idle timeout: the write callback stamps the time of the last byte
 * and the progress callback (libcurl calls it at least once a second, more
 * often while data flows) aborts when the gap exceeds idle_timeout_ms.
 */
#include "net_internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define POOL_MAX 64
#define SNIPPET_BYTES 200
#define STREAM_LINE_MAX (1u << 20) /* one SSE / NDJSON line */

struct rag_net_endpoint {
    char *name;
    char *base_url;
    char **secrets;            /* NULL-terminated: bearer + opts.secrets */
    struct curl_slist *headers;/* Authorization, extra headers, "Expect:" */
    rag_net_endpoint_opts opts;/* string fields cleared */

    pthread_mutex_t mu;
    pthread_cond_t slot_cv;    /* in-flight slot freed */
    rag_breaker breaker;
    rag_limiter limiter;
    int in_flight;
    rag_net_metrics m;
    uint64_t rng;
    CURL *pool[POOL_MAX];
    int n_pool;
};

/* ---- global init --------------------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init_once(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int rag_net_global_init(rag_err *err)
{
    pthread_once(&global_once, global_init_once);
    if (global_rc != CURLE_OK)
        return rag_fail(err, RAG_EBACKEND, "libcurl init failed: %s",
                        curl_easy_strerror(global_rc));
    return RAG_OK;
}

/* ---- clock ----------------------------------------------------------------- */

static double ep_now(const rag_net_endpoint *ep)
{
    if (ep->opts.clock.now_ms)
        return ep->opts.clock.now_ms(ep->opts.clock.userdata);
    return rag_now_ms();
}

static void ep_sleep(const rag_net_endpoint *ep, double ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    if (ep->opts.clock.sleep_ms) {
        ep->opts.clock.sleep_ms(ep->opts.clock.userdata, ms);
        return;
    }
    ts.tv_sec = (time_t)(ms / 1000.0);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- options --------------------------------------------------------------- */

rag_net_endpoint_opts rag_net_endpoint_default_opts(void)
{
    rag_net_endpoint_opts o;
    memset(&o, 0, sizeof o);
    o.name = "endpoint";
    o.connect_timeout_ms = 5000;
    o.total_timeout_ms = 60000;
    o.stream_timeout_ms = 0;
    o.idle_timeout_ms = 30000;
    o.max_body_bytes = (size_t)16 << 20;
    o.max_stream_bytes = (size_t)16 << 20;
    o.retry.max_attempts = 4;
    o.retry.base_ms = 200;
    o.retry.cap_ms = 10000;
    o.retry.max_server_wait_ms = 30000;
    o.retry.budget_ms = 120000;
    o.retry.retry_timeouts = 1;
    o.breaker.consecutive_failures = 5;
    o.breaker.error_rate = 0.5;
    o.breaker.min_requests = 10;
    o.breaker.window_ms = 30000;
    o.breaker.cooldown_ms = 15000;
    o.breaker.half_open_probes = 1;
    return o;
}

/* ---- errors and logs (always redacted) ------------------------------------ */

static int ep_fail(const rag_net_endpoint *ep, rag_err *err, int code,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int ep_fail(const rag_net_endpoint *ep, rag_err *err, int code,
                   const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rag_net_redact(msg, (const char *const *)ep->secrets);
    return rag_fail(err, code, "%s: %s", ep->name, msg);
}

static void ep_log(const rag_net_endpoint *ep, rag_log_level level,
                   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void ep_log(const rag_net_endpoint *ep, rag_log_level level,
                   const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rag_net_redact(msg, (const char *const *)ep->secrets);
    rag_log(level, "%s: %s", ep->name, msg);
}

/* ---- endpoint lifecycle ----------------------------------------------------- */

static int looks_like_placeholder(const char *tok)
{
    return strstr(tok, "${") != NULL || tok[0] == '$';
}

int rag_net_endpoint_create(rag_net_endpoint **out,
                            const rag_net_endpoint_opts *opts, rag_err *err)
{
    rag_net_endpoint *ep;
    size_t n_secrets = 0, k = 0;
    pthread_condattr_t ca;
    int rc;

    *out = NULL;
    if ((rc = rag_net_global_init(err)) < 0)
        return rc;
    if (!opts || !opts->base_url || !*opts->base_url)
        return rag_fail(err, RAG_EINVAL, "%s: endpoint needs a base URL",
                        opts && opts->name ? opts->name : "endpoint");
    if (opts->bearer && *opts->bearer && looks_like_placeholder(opts->bearer))
        return rag_fail(err, RAG_EINVAL,
                        "%s: bearer token looks like an unexpanded variable; "
                        "refusing to send it", opts->name ? opts->name : "endpoint");
    ep = rag_calloc(1, sizeof *ep);
    if (!ep)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    ep->opts = *opts;
    ep->opts.name = ep->opts.base_url = ep->opts.bearer = NULL;
    ep->opts.headers = ep->opts.secrets = NULL;
    if (ep->opts.max_body_bytes == 0)
        ep->opts.max_body_bytes = (size_t)16 << 20;
    if (ep->opts.max_stream_bytes == 0)
        ep->opts.max_stream_bytes = (size_t)16 << 20;
    if (ep->opts.retry.max_attempts < 1)
        ep->opts.retry.max_attempts = 1;
    ep->name = rag_strdup(opts->name ? opts->name : "endpoint");
    ep->base_url = rag_strndup(opts->base_url, strlen(opts->base_url) -
                               (opts->base_url[strlen(opts->base_url) - 1] == '/'));
    for (size_t i = 0; opts->secrets && opts->secrets[i]; i++)
        n_secrets++;
    ep->secrets = rag_calloc(n_secrets + 2, sizeof *ep->secrets);
    if (!ep->name || !ep->base_url || !ep->secrets)
        goto oom;
    if (opts->bearer && *opts->bearer) {
        char *h = rag_asprintf("Authorization: Bearer %s", opts->bearer);
        struct curl_slist *l;
        if (!h || !(ep->secrets[k++] = rag_strdup(opts->bearer))) {
            rag_free(h);
            goto oom;
        }
        l = curl_slist_append(ep->headers, h);
        /* the header copy inside curl is freed with the list */
        memset(h, 0, strlen(h));
        rag_free(h);
        if (!l)
            goto oom;
        ep->headers = l;
    }
    for (size_t i = 0; i < n_secrets; i++)
        if (*opts->secrets[i] && !(ep->secrets[k++] = rag_strdup(opts->secrets[i])))
            goto oom;
    for (size_t i = 0; opts->headers && opts->headers[i]; i++) {
        struct curl_slist *l = curl_slist_append(ep->headers, opts->headers[i]);
        if (!l)
            goto oom;
        ep->headers = l;
    }
    {
        struct curl_slist *l = curl_slist_append(ep->headers, "Expect:");
        if (!l)
            goto oom;
        ep->headers = l;
    }
    pthread_mutex_init(&ep->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ep->slot_cv, &ca);
    pthread_condattr_destroy(&ca);
    rag_breaker_init(&ep->breaker, &ep->opts.breaker);
    rag_limiter_init(&ep->limiter, ep->opts.rate_per_s, ep->opts.burst, ep_now(ep));
    ep->rng = opts->jitter_seed ? opts->jitter_seed
                                : (uint64_t)(rag_now_ms() * 1000.0) ^ (uintptr_t)ep;
    *out = ep;
    return RAG_OK;
oom:
    for (size_t i = 0; ep->secrets && ep->secrets[i]; i++)
        rag_free(ep->secrets[i]);
    rag_free(ep->secrets);
    curl_slist_free_all(ep->headers);
    rag_free(ep->name);
    rag_free(ep->base_url);
    rag_free(ep);
    return rag_fail(err, RAG_ENOMEM, "out of memory creating endpoint");
}

void rag_net_endpoint_destroy(rag_net_endpoint *ep)
{
    if (!ep)
        return;
    for (int i = 0; i < ep->n_pool; i++)
        curl_easy_cleanup(ep->pool[i]);
    for (size_t i = 0; ep->secrets[i]; i++) {
        memset(ep->secrets[i], 0, strlen(ep->secrets[i]));
        rag_free(ep->secrets[i]);
    }
    rag_free(ep->secrets);
    curl_slist_free_all(ep->headers);
    pthread_mutex_destroy(&ep->mu);
    pthread_cond_destroy(&ep->slot_cv);
    rag_free(ep->name);
    rag_free(ep->base_url);
    rag_free(ep);
}

const char *rag_net_endpoint_name(const rag_net_endpoint *ep)
{
    return ep->name;
}

rag_net_breaker_state rag_net_endpoint_breaker(rag_net_endpoint *ep)
{
    rag_net_breaker_state s;
    pthread_mutex_lock(&ep->mu);
    s = ep->breaker.state;
    if (s == RAG_NET_BREAKER_OPEN_STATE &&
        ep_now(ep) - ep->breaker.opened_at >= ep->opts.breaker.cooldown_ms)
        s = RAG_NET_BREAKER_HALF_OPEN; /* the next request will probe */
    pthread_mutex_unlock(&ep->mu);
    return s;
}

const char *rag_net_breaker_state_name(rag_net_breaker_state s)
{
    switch (s) {
    case RAG_NET_BREAKER_CLOSED: return "closed";
    case RAG_NET_BREAKER_OPEN_STATE: return "open";
    default: return "half-open";
    }
}

void rag_net_endpoint_metrics(rag_net_endpoint *ep, rag_net_metrics *out)
{
    pthread_mutex_lock(&ep->mu);
    *out = ep->m;
    out->in_flight = ep->in_flight;
    pthread_mutex_unlock(&ep->mu);
}

void rag_net_response_init(rag_net_response *r)
{
    memset(r, 0, sizeof *r);
    r->retry_after_ms = -1;
}

void rag_net_response_fini(rag_net_response *r)
{
    if (!r)
        return;
    rag_buf_fini(&r->body);
    if (r->json)
        json_decref(r->json);
    r->json = NULL;
}

/* ---- handle pool ------------------------------------------------------------- */

static CURL *handle_take(rag_net_endpoint *ep)
{
    CURL *h = NULL;
    pthread_mutex_lock(&ep->mu);
    if (ep->n_pool > 0)
        h = ep->pool[--ep->n_pool];
    pthread_mutex_unlock(&ep->mu);
    if (h) {
        curl_easy_reset(h);
        return h;
    }
    return curl_easy_init();
}

static void handle_give(rag_net_endpoint *ep, CURL *h)
{
    pthread_mutex_lock(&ep->mu);
    if (ep->n_pool < POOL_MAX) {
        ep->pool[ep->n_pool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&ep->mu);
    if (h)
        curl_easy_cleanup(h);
}

/* ---- one attempt -------------------------------------------------------------- */

struct xfer {
    rag_net_endpoint *ep;
    const rag_net_request *req;
    rag_net_response *resp;
    CURL *h;
    int checked_status;   /* first body byte seen: status known */
    int body_is_stream;   /* 2xx stream: bytes go to the parser */
    rag_sse *sse;
    rag_ndjson *nd;
    int done_seen;
    int stopped;          /* a callback ended the transfer */
    rag_net_class stop_cls;
    char stop_msg[200];
    int too_large;        /* 1 body over max_body_bytes, 2 stream over
                             max_stream_bytes, 3 one stream line over the
                             line cap */
    size_t rx_bytes;      /* body bytes received (streams included) */
    double last_rx_ms;    /* real clock */
    int idle_fired;
    int cancelled;         /* progress_cb: the caller's is_cancelled said stop */
    char retry_after[64];
};

static int remote_error_object(const rag_net_endpoint *ep, json_t *j, char *msg,
                               size_t n_msg)
{
    json_t *e;
    const char *text = "error object in stream";
    if (!json_is_object(j) || !(e = json_object_get(j, "error")))
        return 0;
    if (json_object_get(j, "choices") || json_object_get(j, "message") ||
        json_object_get(j, "response") || json_object_get(j, "done"))
        return 0;
    if (json_is_string(e))
        text = json_string_value(e);
    else if (json_is_object(e) && json_is_string(json_object_get(e, "message")))
        text = json_string_value(json_object_get(e, "message"));
    rag_net_excerpt(msg, n_msg, text, strlen(text), (const char *const *)ep->secrets);
    return 1;
}

static int deliver(struct xfer *x, rag_net_event *ev)
{
    x->resp->n_events++;
    if (x->req->on_event(ev, x->req->userdata)) {
        x->stop_cls = RAG_NET_CANCELLED;
        snprintf(x->stop_msg, sizeof x->stop_msg, "stopped by the caller");
        return 1;
    }
    return 0;
}

static int on_sse(const char *event, const char *data, size_t n, const char *id,
                  void *ud)
{
    struct xfer *x = ud;
    rag_net_event ev = {event, data, n, id, 0, NULL};
    int stop;

    if (n == 6 && !memcmp(data, "[DONE]", 6)) {
        x->done_seen = 1;
        ev.done = 1;
        return deliver(x, &ev);
    }
    {
        json_error_t je;
        ev.json = json_loadb(data, n, JSON_DECODE_ANY, &je);
        if (!ev.json && json_error_code(&je) == json_error_out_of_memory) {
            /* not the server's fault: say so, not "not a JSON chunk" */
            x->stop_cls = RAG_NET_INTERNAL;
            snprintf(x->stop_msg, sizeof x->stop_msg,
                     "out of memory reading stream event %zu", x->resp->n_events + 1);
            return 1;
        }
    }
    if (ev.json && remote_error_object(x->ep, ev.json, x->stop_msg, sizeof x->stop_msg)) {
        x->stop_cls = RAG_NET_REMOTE_ERROR;
        json_decref(ev.json);
        return 1;
    }
    stop = deliver(x, &ev);
    if (ev.json)
        json_decref(ev.json);
    return stop;
}

static int on_ndjson(const char *line, size_t n, void *ud)
{
    struct xfer *x = ud;
    json_error_t je;
    rag_net_event ev = {"line", line, n, NULL, 0, NULL};
    int stop;

    ev.json = json_loadb(line, n, JSON_DECODE_ANY, &je);
    if (!ev.json && json_error_code(&je) == json_error_out_of_memory) {
        x->stop_cls = RAG_NET_INTERNAL;
        snprintf(x->stop_msg, sizeof x->stop_msg, "out of memory reading stream line %zu",
                 x->resp->n_events + 1);
        return 1;
    }
    if (!ev.json) {
        x->stop_cls = RAG_NET_MALFORMED;
        snprintf(x->stop_msg, sizeof x->stop_msg,
                 "NDJSON line %zu is not JSON: %s", x->resp->n_events + 1, je.text);
        return 1;
    }
    if (remote_error_object(x->ep, ev.json, x->stop_msg, sizeof x->stop_msg)) {
        x->stop_cls = RAG_NET_REMOTE_ERROR;
        json_decref(ev.json);
        return 1;
    }
    if (json_is_true(json_object_get(ev.json, "done")))
        x->done_seen = 1;
    stop = deliver(x, &ev);
    json_decref(ev.json);
    return stop;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    int rc;

    x->last_rx_ms = rag_now_ms();
    x->rx_bytes += n;
    if (!x->checked_status) {
        long status = 0;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
        x->checked_status = 1;
        x->body_is_stream = x->req->stream != RAG_NET_STREAM_NONE &&
                            status >= 200 && status < 300;
    }
    if (x->body_is_stream) {
        /* a stream that never ends must not grow the caller without bound:
         * it is cut at max_stream_bytes like a body at max_body_bytes */
        if (x->rx_bytes > x->ep->opts.max_stream_bytes) {
            x->too_large = 2;
            return 0;
        }
        rc = x->req->stream == RAG_NET_STREAM_SSE ? rag_sse_feed(x->sse, ptr, n)
                                                  : rag_ndjson_feed(x->nd, ptr, n);
        if (rc == RAG_ELIMIT) {
            x->too_large = 3;
            return 0;
        }
        if (rc < 0) {
            x->stopped = 1;
            if (x->stop_cls == RAG_NET_OK) {
                x->stop_cls = RAG_NET_INTERNAL;
                snprintf(x->stop_msg, sizeof x->stop_msg, "stream parser: %s",
                         rag_status_name(rc));
            }
            return 0;
        }
        return n;
    }
    rc = rag_buf_append(&x->resp->body, ptr, n);
    if (rc == RAG_ELIMIT) {
        x->too_large = 1;
        return 0;
    }
    return rc < 0 ? 0 : n;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nitems;
    const char *v;
    size_t n_v;

    if (n >= 5 && !strncmp(buf, "HTTP/", 5)) {
        x->retry_after[0] = '\0';
        x->resp->content_type[0] = '\0';
        return n;
    }
    v = memchr(buf, ':', n);
    if (!v)
        return n;
    v++;
    while (v < buf + n && (*v == ' ' || *v == '\t'))
        v++;
    n_v = (size_t)(buf + n - v);
    while (n_v && (v[n_v - 1] == '\r' || v[n_v - 1] == '\n' || v[n_v - 1] == ' '))
        n_v--;
    if (!strncasecmp(buf, "retry-after:", 12)) {
        if (n_v >= sizeof x->retry_after)
            n_v = sizeof x->retry_after - 1;
        memcpy(x->retry_after, v, n_v);
        x->retry_after[n_v] = '\0';
    } else if (!strncasecmp(buf, "content-type:", 13)) {
        if (n_v >= sizeof x->resp->content_type)
            n_v = sizeof x->resp->content_type - 1;
        memcpy(x->resp->content_type, v, n_v);
        x->resp->content_type[n_v] = '\0';
    }
    return n;
}

static int progress_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct xfer *x = ud;
    long idle = x->ep->opts.idle_timeout_ms;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    if (x->req->is_cancelled && x->req->is_cancelled(x->req->cancel_ctx)) {
        x->stop_cls = RAG_NET_CANCELLED;
        snprintf(x->stop_msg, sizeof x->stop_msg, "stopped by the caller");
        x->cancelled = 1;
        return 1;
    }
    if (idle > 0 && rag_now_ms() - x->last_rx_ms > (double)idle) {
        x->idle_fired = 1;
        return 1;
    }
    return 0;
}

static int is_connect_error(CURLcode c)
{
    return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
           c == CURLE_COULDNT_RESOLVE_PROXY || c == CURLE_SEND_ERROR ||
           c == CURLE_RECV_ERROR || c == CURLE_GOT_NOTHING ||
           c == CURLE_SSL_CONNECT_ERROR || c == CURLE_PARTIAL_FILE ||
           c == CURLE_HTTP2 || c == CURLE_HTTP2_STREAM;
}

/* Never the body verbatim: its error message, redacted, then bounded. */
static void snippet(const rag_net_endpoint *ep, char *out, size_t n_out, const rag_buf *b)
{
    rag_net_excerpt(out, n_out < SNIPPET_BYTES + 1 ? n_out : SNIPPET_BYTES + 1,
                    b->data, b->data ? b->len : 0, (const char *const *)ep->secrets);
}

typedef struct {
    rag_net_class cls;
    int retryable;
    int deadline_hit;      /* cut short by the call's deadline */
    size_t rx_bytes;
    double hint_ms;        /* server wait hint, -1 none */
    char msg[400];
} attempt_result;

/* The classic HF API: 503 {"error": "...loading", "estimated_time": 20.0}. */
static double estimated_time_ms(const rag_buf *body)
{
    json_t *j, *e;
    double ms = -1;
    if (!body->data || !body->len)
        return -1;
    j = json_loadb(body->data, body->len, 0, NULL);
    if (j && (e = json_object_get(j, "estimated_time")) && json_is_number(e) &&
        json_number_value(e) >= 0)
        ms = json_number_value(e) * 1000.0;
    if (j)
        json_decref(j);
    return ms;
}

/* One attempt. left_ms: what is left of the call's deadline (< 0: none);
 * the attempt's own timeouts are cut to it, so an attempt never outlives
 * the call. */
static void run_attempt(rag_net_endpoint *ep, const rag_net_request *req,
                        rag_net_response *resp, struct curl_slist *hdrs,
                        const char *url, const char *method, double left_ms,
                        attempt_result *ar)
{
    struct xfer x;
    CURLcode cc;
    long status = 0;
    char snip[SNIPPET_BYTES + 1];
    int is_stream = req->stream != RAG_NET_STREAM_NONE;
    size_t events_before = resp->n_events;
    int any_events, by_deadline = 0;
    long total_ms = is_stream ? ep->opts.stream_timeout_ms : ep->opts.total_timeout_ms;
    long connect_ms = ep->opts.connect_timeout_ms;

    memset(&x, 0, sizeof x);
    memset(ar, 0, sizeof *ar);
    ar->hint_ms = -1;
    x.ep = ep;
    x.req = req;
    x.resp = resp;
    rag_buf_clear(&resp->body);
    resp->body.max_len = ep->opts.max_body_bytes;
    resp->content_type[0] = '\0';
    if (resp->json) {
        json_decref(resp->json);
        resp->json = NULL;
    }
    if (is_stream) {
        int rc = req->stream == RAG_NET_STREAM_SSE
                     ? rag_sse_create(&x.sse, STREAM_LINE_MAX, on_sse, &x)
                     : rag_ndjson_create(&x.nd, STREAM_LINE_MAX, on_ndjson, &x);
        if (rc < 0) {
            ar->cls = RAG_NET_INTERNAL;
            snprintf(ar->msg, sizeof ar->msg, "out of memory");
            return;
        }
    }
    x.h = handle_take(ep);
    if (!x.h) {
        rag_sse_destroy(x.sse);
        rag_ndjson_destroy(x.nd);
        ar->cls = RAG_NET_INTERNAL;
        snprintf(ar->msg, sizeof ar->msg, "curl_easy_init failed");
        return;
    }
    curl_easy_setopt(x.h, CURLOPT_URL, url);
    curl_easy_setopt(x.h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(x.h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x.h, CURLOPT_VERBOSE, 0L); /* never: headers hold secrets */
    if (left_ms >= 0 && (total_ms <= 0 || left_ms < (double)total_ms)) {
        total_ms = left_ms < 1 ? 1 : (long)left_ms;
        by_deadline = 1;
    }
    if (total_ms > 0 && connect_ms > total_ms)
        connect_ms = total_ms;
    curl_easy_setopt(x.h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(x.h, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(x.h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(x.h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(x.h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(x.h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(x.h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(x.h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(x.h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(x.h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(x.h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x.h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if ((is_stream && ep->opts.idle_timeout_ms > 0) || req->is_cancelled) {
        curl_easy_setopt(x.h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(x.h, CURLOPT_XFERINFOFUNCTION, progress_cb);
        curl_easy_setopt(x.h, CURLOPT_XFERINFODATA, &x);
    }
    if (req->body) {
        curl_easy_setopt(x.h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(x.h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(req->body_bytes ? req->body_bytes : strlen(req->body)));
    }
    if (strcmp(method, "GET") && strcmp(method, "POST"))
        curl_easy_setopt(x.h, CURLOPT_CUSTOMREQUEST, method);
    else if (!strcmp(method, "GET") && req->body)
        curl_easy_setopt(x.h, CURLOPT_CUSTOMREQUEST, "GET");

    x.last_rx_ms = rag_now_ms();
    cc = curl_easy_perform(x.h);
    curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &status);
    resp->status = status;
    if (x.retry_after[0])
        ar->hint_ms = resp->retry_after_ms =
            rag_net_parse_retry_after(x.retry_after, (double)time(NULL));
    if (is_stream && x.body_is_stream && cc == CURLE_OK && !x.stopped) {
        if (req->stream == RAG_NET_STREAM_NDJSON)
            rag_ndjson_finish(x.nd);
        else
            rag_sse_finish(x.sse);
    }
    any_events = resp->n_events > events_before;
    ar->rx_bytes = x.rx_bytes;
    handle_give(ep, x.h);
    rag_sse_destroy(x.sse);
    rag_ndjson_destroy(x.nd);

    if (cc != CURLE_OK) {
        if (x.too_large) {
            ar->cls = RAG_NET_TOO_LARGE;
            if (x.too_large == 2)
                snprintf(ar->msg, sizeof ar->msg, "%s %s: stream longer than %zu bytes "
                         "(max_stream_bytes), cut after %zu events", method, url,
                         ep->opts.max_stream_bytes, resp->n_events - events_before);
            else if (x.too_large == 3)
                snprintf(ar->msg, sizeof ar->msg, "%s %s: a stream line longer than %u bytes",
                         method, url, STREAM_LINE_MAX);
            else
                snprintf(ar->msg, sizeof ar->msg, "%s %s: response larger than %zu bytes",
                         method, url, ep->opts.max_body_bytes);
        } else if (x.cancelled) {
            ar->cls = RAG_NET_CANCELLED;
            snprintf(ar->msg, sizeof ar->msg, "%s %s: stopped by the caller", method, url);
        } else if (x.stop_cls != RAG_NET_OK && (cc == CURLE_WRITE_ERROR)) {
            ar->cls = x.stop_cls;
            snprintf(ar->msg, sizeof ar->msg, "%s %s: %s", method, url, x.stop_msg);
        } else if (!x.idle_fired && cc == CURLE_OPERATION_TIMEDOUT && by_deadline) {
            /* the call's deadline, not this attempt's timeout: no time is
             * left for another attempt */
            ar->cls = any_events ? RAG_NET_STREAM_CUT : RAG_NET_TIMEOUT;
            ar->deadline_hit = 1;
            snprintf(ar->msg, sizeof ar->msg, "%s %s: no answer before the call's deadline%s",
                     method, url, any_events ? " (stream cut midway)" : "");
        } else if (x.idle_fired || cc == CURLE_OPERATION_TIMEDOUT) {
            ar->cls = any_events ? RAG_NET_STREAM_CUT : RAG_NET_TIMEOUT;
            ar->retryable = !any_events && ep->opts.retry.retry_timeouts;
            snprintf(ar->msg, sizeof ar->msg, "%s %s: %s%s", method, url,
                     x.idle_fired ? "stream idle for longer than the idle timeout"
                                  : curl_easy_strerror(cc),
                     any_events ? " (stream cut midway)" : "");
        } else if (is_connect_error(cc)) {
            ar->cls = any_events ? RAG_NET_STREAM_CUT : RAG_NET_CONNECT;
            ar->retryable = !any_events;
            snprintf(ar->msg, sizeof ar->msg, "%s %s: %s%s", method, url,
                     curl_easy_strerror(cc), any_events ? " (stream cut midway)" : "");
        } else {
            ar->cls = RAG_NET_INTERNAL;
            snprintf(ar->msg, sizeof ar->msg, "%s %s: %s", method, url,
                     curl_easy_strerror(cc));
        }
        return;
    }
    if (status >= 200 && status < 300) {
        if (is_stream && req->expect_done && !x.done_seen) {
            ar->cls = RAG_NET_STREAM_CUT;
            ar->retryable = !any_events;
            snprintf(ar->msg, sizeof ar->msg,
                     "%s %s: stream ended after %zu events without its end marker",
                     method, url, resp->n_events - events_before);
            return;
        }
        if (!is_stream && req->expect_json) {
            json_error_t je;
            resp->json = json_loadb(resp->body.data ? resp->body.data : "",
                                    resp->body.len, JSON_DECODE_ANY, &je);
            if (!resp->json) {
                ar->cls = RAG_NET_MALFORMED;
                snprintf(ar->msg, sizeof ar->msg,
                         "%s %s: HTTP %ld body is not JSON (line %d col %d: %s)",
                         method, url, status, je.line, je.column, je.text);
                return;
            }
        }
        ar->cls = RAG_NET_OK;
        return;
    }
    snippet(ep, snip, sizeof snip, &resp->body);
    snprintf(ar->msg, sizeof ar->msg, "%s %s: HTTP %ld%s%s", method, url,
             status, snip[0] ? ": " : "", snip);
    if (status == 429) {
        ar->cls = RAG_NET_RATE_LIMITED;
        /* OpenAI: quota exhausted is a 429 that waiting will not fix */
        ar->retryable = !(resp->body.data && strstr(resp->body.data, "insufficient_quota"));
    } else if (status >= 500) {
        ar->cls = RAG_NET_HTTP_5XX;
        ar->retryable = rag_net_status_retryable(status);
        if (status == 503 && ar->hint_ms < 0)
            ar->hint_ms = estimated_time_ms(&resp->body);
    } else {
        ar->cls = RAG_NET_HTTP_4XX;
    }
}

static rag_breaker_outcome breaker_outcome(rag_net_class cls)
{
    switch (cls) {
    case RAG_NET_OK:
    case RAG_NET_HTTP_4XX: /* the server answered: it is up */
        return RAG_BREAKER_SUCCESS;
    case RAG_NET_CONNECT:
    case RAG_NET_TIMEOUT:
    case RAG_NET_HTTP_5XX:
    case RAG_NET_RATE_LIMITED:
    case RAG_NET_MALFORMED:
    case RAG_NET_STREAM_CUT:
    case RAG_NET_REMOTE_ERROR:
        return RAG_BREAKER_FAILURE;
    default:
        return RAG_BREAKER_NEUTRAL;
    }
}

static int class_status(rag_net_class cls, long http)
{
    switch (cls) {
    case RAG_NET_OK: return RAG_OK;
    case RAG_NET_MALFORMED: return RAG_EFORMAT;
    case RAG_NET_TOO_LARGE: return RAG_ELIMIT;
    case RAG_NET_INTERNAL: return RAG_EBACKEND;
    case RAG_NET_HTTP_4XX: return http == 404 ? RAG_ENOTFOUND : RAG_EBACKEND;
    default: return RAG_EBACKEND;
    }
}

static double next_jitter(rag_net_endpoint *ep, double upper)
{
    uint64_t z;
    pthread_mutex_lock(&ep->mu);
    z = (ep->rng += 0x9e3779b97f4a7c15ULL);
    pthread_mutex_unlock(&ep->mu);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return upper * ((double)(z >> 11) / 9007199254740992.0);
}

/* Wait for an in-flight slot until deadline (real clock, ms; <0 = forever).
 * Returns 1 with the slot taken, 0 on timeout. Called with ep->mu held. */
static int take_slot_locked(rag_net_endpoint *ep, double wait_ms)
{
    struct timespec ts;
    if (ep->opts.max_in_flight <= 0 || ep->in_flight < ep->opts.max_in_flight) {
        ep->in_flight++;
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (wait_ms >= 0) {
        double ns = (double)ts.tv_nsec + wait_ms * 1e6;
        ts.tv_sec += (time_t)(ns / 1e9);
        ts.tv_nsec = (long)fmod(ns, 1e9);
    }
    while (ep->in_flight >= ep->opts.max_in_flight) {
        int rc = wait_ms >= 0 ? pthread_cond_timedwait(&ep->slot_cv, &ep->mu, &ts)
                              : pthread_cond_wait(&ep->slot_cv, &ep->mu);
        if (rc == ETIMEDOUT && ep->in_flight >= ep->opts.max_in_flight)
            return 0;
    }
    ep->in_flight++;
    return 1;
}

int rag_net_request_do(rag_net_endpoint *ep, const rag_net_request *req,
                       rag_net_response *resp, rag_err *err)
{
    const char *method;
    char *url = NULL;
    struct curl_slist *hdrs = NULL;
    attempt_result ar;
    int max_attempts, attempt, rc;
    double t0 = ep_now(ep);
    /* one deadline for the whole call: attempts, backoff, server waits */
    double budget = req && req->deadline_ms > 0 ? req->deadline_ms : ep->opts.retry.budget_ms;

    memset(&ar, 0, sizeof ar);
    rag_buf_clear(&resp->body);
    if (resp->json)
        json_decref(resp->json);
    resp->json = NULL;
    resp->content_type[0] = '\0';
    resp->status = 0;
    resp->cls = RAG_NET_OK;
    resp->attempts = 0;
    resp->n_events = 0;
    resp->retry_after_ms = -1;
    if (!req || !req->path || (req->stream && !req->on_event)) {
        resp->cls = RAG_NET_INTERNAL;
        return ep_fail(ep, err, RAG_EINVAL, "request needs a path%s",
                       req && req->stream ? " and an event callback" : "");
    }
    method = req->method ? req->method : req->body ? "POST" : "GET";
    max_attempts = req->max_attempts > 0 ? req->max_attempts : ep->opts.retry.max_attempts;

    pthread_mutex_lock(&ep->mu);
    ep->m.requests++;
    pthread_mutex_unlock(&ep->mu);

    url = rag_asprintf("%s%s%s", ep->base_url, req->path[0] == '/' ? "" : "/", req->path);
    for (struct curl_slist *l = ep->headers; url && l; l = l->next) {
        struct curl_slist *n = curl_slist_append(hdrs, l->data);
        if (!n)
            goto oom;
        hdrs = n;
    }
    if (req->body) {
        char ct[160];
        struct curl_slist *n;
        snprintf(ct, sizeof ct, "Content-Type: %s",
                 req->content_type ? req->content_type : "application/json");
        if (!(n = curl_slist_append(hdrs, ct)))
            goto oom;
        hdrs = n;
    }
    if (req->stream) {
        struct curl_slist *n = curl_slist_append(
            hdrs, req->stream == RAG_NET_STREAM_SSE ? "Accept: text/event-stream"
                                                    : "Accept: application/x-ndjson");
        if (!n)
            goto oom;
        hdrs = n;
    }
    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(hdrs, req->headers[i]);
        if (!n)
            goto oom;
        hdrs = n;
    }
    if (!url || !hdrs)
        goto oom;

    for (attempt = 1;; attempt++) {
        int probe = 0, allowed;
        double wait_ms, a0, delay = -1, remaining;

        /* breaker */
        pthread_mutex_lock(&ep->mu);
        allowed = rag_breaker_allow(&ep->breaker, ep_now(ep), &probe);
        if (!allowed)
            ep->m.breaker_rejects++;
        pthread_mutex_unlock(&ep->mu);
        if (!allowed) {
            resp->cls = RAG_NET_BREAKER_OPEN;
            rc = ep_fail(ep, err, RAG_EBACKEND,
                         "%s %s: circuit breaker open%s%s", method, url,
                         attempt > 1 ? " after: " : "", attempt > 1 ? ar.msg : "");
            goto done;
        }
        /* rate limit */
        pthread_mutex_lock(&ep->mu);
        wait_ms = rag_limiter_reserve(&ep->limiter, ep_now(ep));
        remaining = budget > 0 ? budget - (ep_now(ep) - t0) : -1;
        if (wait_ms > 0 && remaining >= 0 && wait_ms > remaining) {
            rag_limiter_cancel(&ep->limiter);
            rag_breaker_record(&ep->breaker, ep_now(ep), RAG_BREAKER_NEUTRAL, probe);
            pthread_mutex_unlock(&ep->mu);
            resp->cls = RAG_NET_BUDGET;
            rc = ep_fail(ep, err, RAG_EBACKEND,
                         "%s %s: rate limit wait %.0f ms exceeds the remaining budget",
                         method, url, wait_ms);
            goto done;
        }
        if (wait_ms > 0)
            ep->m.rate_waits++;
        pthread_mutex_unlock(&ep->mu);
        ep_sleep(ep, wait_ms);
        /* in-flight cap */
        pthread_mutex_lock(&ep->mu);
        remaining = budget > 0 ? budget - (ep_now(ep) - t0) : -1;
        if (!take_slot_locked(ep, remaining)) {
            rag_breaker_record(&ep->breaker, ep_now(ep), RAG_BREAKER_NEUTRAL, probe);
            pthread_mutex_unlock(&ep->mu);
            resp->cls = RAG_NET_BUDGET;
            rc = ep_fail(ep, err, RAG_EBACKEND,
                         "%s %s: no request slot free (%d in flight) within the budget",
                         method, url, ep->opts.max_in_flight);
            goto done;
        }
        pthread_mutex_unlock(&ep->mu);

        remaining = budget > 0 ? budget - (ep_now(ep) - t0) : -1;
        if (budget > 0 && remaining <= 0) {
            pthread_mutex_lock(&ep->mu);
            ep->in_flight--;
            pthread_cond_signal(&ep->slot_cv);
            rag_breaker_record(&ep->breaker, ep_now(ep), RAG_BREAKER_NEUTRAL, probe);
            pthread_mutex_unlock(&ep->mu);
            resp->cls = RAG_NET_BUDGET;
            rc = ep_fail(ep, err, RAG_EBACKEND, "%s %s: the call's deadline of %.0f ms "
                         "passed before attempt %d%s%s", method, url, budget, attempt,
                         attempt > 1 ? "; last: " : "", attempt > 1 ? ar.msg : "");
            goto done;
        }
        a0 = rag_now_ms();
        run_attempt(ep, req, resp, hdrs, url, method, remaining, &ar);
        resp->attempts = attempt;
        resp->cls = ar.cls;
        {
            double lat = rag_now_ms() - a0;
            int opened;
            size_t rx = ar.rx_bytes;
            pthread_mutex_lock(&ep->mu);
            ep->in_flight--;
            pthread_cond_signal(&ep->slot_cv);
            ep->m.attempts++;
            if (attempt > 1)
                ep->m.retries++;
            ep->m.latency_ms_sum += lat;
            if (lat > ep->m.latency_ms_max)
                ep->m.latency_ms_max = lat;
            ep->m.bytes_in += rx;
            opened = rag_breaker_record(&ep->breaker, ep_now(ep),
                                        breaker_outcome(ar.cls), probe);
            if (opened)
                ep->m.breaker_opens++;
            pthread_mutex_unlock(&ep->mu);
            if (opened)
                ep_log(ep, RAG_LOG_WARN, "circuit breaker opened after: %s", ar.msg);

            if (ar.cls != RAG_NET_OK && ar.retryable && attempt < max_attempts) {
                if (ar.hint_ms >= 0) {
                    /* honoured up to the cap; the deadline below decides
                     * whether even that wait fits */
                    delay = ar.hint_ms;
                    if (delay > ep->opts.retry.max_server_wait_ms)
                        delay = ep->opts.retry.max_server_wait_ms;
                } else {
                    double up = ep->opts.retry.base_ms * pow(2.0, attempt - 1);
                    if (up > ep->opts.retry.cap_ms)
                        up = ep->opts.retry.cap_ms;
                    delay = next_jitter(ep, up);
                }
            }
            if (ep->opts.on_attempt) {
                rag_net_attempt info = {ep->name, req->path, attempt, resp->status,
                                        ar.cls, lat, delay};
                ep->opts.on_attempt(&info, ep->opts.hook_userdata);
            }
        }
        if (ar.cls == RAG_NET_OK) {
            rc = RAG_OK;
            goto done;
        }
        if (ar.deadline_hit) {
            rc = ep_fail(ep, err, class_status(ar.cls, resp->status),
                         "%s (deadline of %.0f ms, after %d attempt%s)", ar.msg, budget,
                         attempt, attempt > 1 ? "s" : "");
            goto done;
        }
        if (delay < 0) {
            rc = ep_fail(ep, err, class_status(ar.cls, resp->status), "%s", ar.msg);
            if (attempt > 1 && err) {
                char tail[48];
                snprintf(tail, sizeof tail, " (after %d attempts)", attempt);
                if (strlen(err->msg) + strlen(tail) < sizeof err->msg)
                    strcat(err->msg, tail);
            }
            goto done;
        }
        if (budget > 0 && ep_now(ep) - t0 + delay > budget) {
            /* waiting would pass the deadline: fail now, not after the wait */
            if (ar.hint_ms >= 0)
                rc = ep_fail(ep, err, class_status(ar.cls, resp->status),
                             "%s (the server asks to retry in %.0f s; that passes the "
                             "call's deadline of %.0f ms; %d attempt%s)", ar.msg,
                             ar.hint_ms / 1000.0, budget, attempt, attempt > 1 ? "s" : "");
            else
                rc = ep_fail(ep, err, class_status(ar.cls, resp->status),
                             "%s (the call's deadline of %.0f ms leaves no time for a retry "
                             "after %d attempt%s)", ar.msg, budget, attempt,
                             attempt > 1 ? "s" : "");
            goto done;
        }
        ep_log(ep, RAG_LOG_WARN, "%s; retry %d/%d in %.0f ms", ar.msg, attempt,
               max_attempts - 1, delay);
        ep_sleep(ep, delay);
    }

oom:
    resp->cls = RAG_NET_INTERNAL;
    rc = ep_fail(ep, err, RAG_ENOMEM, "out of memory building the request");
done:
    resp->latency_ms = ep_now(ep) - t0;
    pthread_mutex_lock(&ep->mu);
    if (rc == RAG_OK)
        ep->m.successes++;
    else
        ep->m.failures++;
    pthread_mutex_unlock(&ep->mu);
    curl_slist_free_all(hdrs);
    rag_free(url);
    return rc;
}

int rag_net_post_json(rag_net_endpoint *ep, const char *path, const json_t *body,
                      json_t **out, rag_net_response *resp, rag_err *err)
{
    rag_net_request req;
    rag_net_response local;
    rag_net_response *r = resp ? resp : &local;
    char *text;
    int rc;

    *out = NULL;
    text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return ep_fail(ep, err, RAG_ENOMEM, "POST %s: cannot serialise the body", path);
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.path = path;
    req.body = text;
    req.expect_json = 1;
    if (!resp)
        rag_net_response_init(&local);
    rc = rag_net_request_do(ep, &req, r, err);
    {
        json_malloc_t jm;
        json_free_t jf;
        json_get_alloc_funcs(&jm, &jf); /* jansson allocated it */
        jf(text);
    }
    if (rc == RAG_OK) {
        *out = r->json;
        r->json = NULL;
    }
    if (!resp)
        rag_net_response_fini(&local);
    return rc;
}
