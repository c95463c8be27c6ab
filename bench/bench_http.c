/* bench_http.c - per-request overhead of the docrag HTTP client over raw
 * libcurl on loopback, and many concurrent SSE streams in one process.
 *
 * A tiny libevent server runs in a thread of this process: POST /embed
 * answers a fixed small JSON body; GET /stream sends N_EVENTS SSE events
 * EVENT_GAP_MS apart, then [DONE]. Usage:
 *   bench_http [n_requests=3000] [n_streams=64]
 */
#include "net/net.h"

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_EVENTS 20
#define EVENT_GAP_MS 10

static struct event_base *base;
static int port;

static const char EMBED_BODY[] = "[[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]]";

static void on_embed(struct evhttp_request *req, void *ud)
{
    struct evbuffer *b = evbuffer_new();
    (void)ud;
    evbuffer_add(b, EMBED_BODY, sizeof EMBED_BODY - 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

typedef struct {
    struct evhttp_request *req;
    struct event *timer;
    int sent;
} stream_state;

static void stream_tick(evutil_socket_t fd, short what, void *ud)
{
    stream_state *s = ud;
    struct evbuffer *b = evbuffer_new();
    struct timeval tv = {0, EVENT_GAP_MS * 1000};
    (void)fd;
    (void)what;
    if (s->sent < N_EVENTS) {
        evbuffer_add_printf(b, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t%d\"}}]}\n\n",
                            s->sent);
        evhttp_send_reply_chunk(s->req, b);
        s->sent++;
        evtimer_add(s->timer, &tv);
    } else {
        evbuffer_add_printf(b, "data: [DONE]\n\n");
        evhttp_send_reply_chunk(s->req, b);
        evhttp_send_reply_end(s->req);
        event_free(s->timer);
        free(s);
    }
    evbuffer_free(b);
}

static void on_stream(struct evhttp_request *req, void *ud)
{
    stream_state *s = calloc(1, sizeof *s);
    struct timeval tv = {0, 0};
    (void)ud;
    s->req = req;
    s->timer = evtimer_new(base, stream_tick, s);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/event-stream");
    evhttp_send_reply_start(req, 200, "OK");
    evtimer_add(s->timer, &tv);
}

static void *server_main(void *arg)
{
    (void)arg;
    event_base_dispatch(base);
    return NULL;
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Alternate one raw request and one of ours, n times, timing each, so load
 * from other processes hits both alike; report medians and p90. */
static void bench_pair(const char *url, rag_net_endpoint *ep, int n, int expect_json,
                       double out[4])
{
    CURL *h = curl_easy_init();
    struct curl_slist *hd = NULL;
    rag_net_request req = {0};
    rag_net_response r;
    rag_err err = {0};
    double *t_raw = calloc((size_t)n, sizeof *t_raw);
    double *t_ours = calloc((size_t)n, sizeof *t_ours);

    /* the same request our client sends: JSON body, bearer, no Expect */
    hd = curl_slist_append(hd, "Authorization: Bearer bench-secret-token");
    hd = curl_slist_append(hd, "Expect:");
    hd = curl_slist_append(hd, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{\"inputs\":[\"hello\"]}");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    req.path = "/embed";
    req.body = "{\"inputs\":[\"hello\"]}";
    req.expect_json = expect_json;
    rag_net_response_init(&r);
    for (int i = -50; i < n; i++) { /* 50 warm-up rounds */
        double t0 = rag_now_ms(), t1, t2;
        if (curl_easy_perform(h) != CURLE_OK)
            fprintf(stderr, "raw request failed\n");
        t1 = rag_now_ms();
        if (rag_net_request_do(ep, &req, &r, &err) != RAG_OK)
            fprintf(stderr, "request failed: %s\n", err.msg);
        t2 = rag_now_ms();
        if (i >= 0) {
            t_raw[i] = (t1 - t0) * 1000.0;
            t_ours[i] = (t2 - t1) * 1000.0;
        }
    }
    qsort(t_raw, (size_t)n, sizeof *t_raw, cmp_double);
    qsort(t_ours, (size_t)n, sizeof *t_ours, cmp_double);
    out[0] = t_raw[n / 2];
    out[1] = t_ours[n / 2];
    out[2] = t_raw[n * 9 / 10];
    out[3] = t_ours[n * 9 / 10];
    rag_net_response_fini(&r);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    free(t_raw);
    free(t_ours);
}

typedef struct {
    rag_net_endpoint *ep;
    int n_events;
    int rc;
    double ms;
} stream_job;

static int on_event(const rag_net_event *ev, void *ud)
{
    stream_job *j = ud;
    (void)ev;
    j->n_events++;
    return 0;
}

static void *stream_worker(void *arg)
{
    stream_job *j = arg;
    rag_net_request req = {0};
    rag_net_response r;
    rag_err err = {0};
    double t0 = rag_now_ms();
    req.path = "/stream";
    req.stream = RAG_NET_STREAM_SSE;
    req.on_event = on_event;
    req.userdata = j;
    req.expect_done = 1;
    rag_net_response_init(&r);
    j->rc = rag_net_request_do(j->ep, &req, &r, &err);
    if (j->rc)
        fprintf(stderr, "stream failed: %s\n", err.msg);
    j->ms = rag_now_ms() - t0;
    rag_net_response_fini(&r);
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 3000;
    int n_streams = argc > 2 ? atoi(argv[2]) : 64;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    pthread_t srv;
    char base_url[64], url[96];
    rag_net_endpoint_opts o = rag_net_endpoint_default_opts();
    rag_net_endpoint *ep;
    rag_err err = {0};
    double plain[4], parsed[4], t0, wall, worst = 0;
    stream_job *jobs;
    pthread_t *th;
    int ok = 0;

    evthread_use_pthreads();
    rag_net_global_init(NULL);
    base = event_base_new();
    http = evhttp_new(base);
    evhttp_set_cb(http, "/embed", on_embed, NULL);
    evhttp_set_cb(http, "/stream", on_stream, NULL);
    sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    {
        struct sockaddr_storage ss;
        ev_socklen_t len = sizeof ss;
        getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len);
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    pthread_create(&srv, NULL, server_main, NULL);
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", port);
    snprintf(url, sizeof url, "%s/embed", base_url);

    o.name = "bench";
    o.base_url = base_url;
    o.bearer = "bench-secret-token";
    o.max_in_flight = 0;
    if (rag_net_endpoint_create(&ep, &o, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    bench_pair(url, ep, n, 0, plain);
    bench_pair(url, ep, n, 1, parsed);
    printf("requests: %d alternating pairs, POST /embed on loopback (keep-alive)\n", n);
    printf("                           median    p90   (us/request)\n");
    printf("  raw libcurl easy        %7.1f %7.1f\n", plain[0], plain[2]);
    printf("  rag_net_request_do      %7.1f %7.1f   overhead %+.1f us (median)\n",
           plain[1], plain[3], plain[1] - plain[0]);
    printf("  raw libcurl easy        %7.1f %7.1f\n", parsed[0], parsed[2]);
    printf("  rag_net + JSON parse    %7.1f %7.1f   overhead %+.1f us (median)\n",
           parsed[1], parsed[3], parsed[1] - parsed[0]);

    jobs = calloc((size_t)n_streams, sizeof *jobs);
    th = calloc((size_t)n_streams, sizeof *th);
    t0 = rag_now_ms();
    for (int i = 0; i < n_streams; i++) {
        jobs[i].ep = ep;
        pthread_create(&th[i], NULL, stream_worker, &jobs[i]);
    }
    for (int i = 0; i < n_streams; i++) {
        pthread_join(th[i], NULL);
        ok += jobs[i].rc == 0 && jobs[i].n_events == N_EVENTS + 1;
        if (jobs[i].ms > worst)
            worst = jobs[i].ms;
    }
    wall = rag_now_ms() - t0;
    printf("streams: %d concurrent SSE streams x %d events, %d ms apart (ideal %d ms each)\n",
           n_streams, N_EVENTS, EVENT_GAP_MS, N_EVENTS * EVENT_GAP_MS);
    printf("  complete %d/%d, wall %.0f ms, slowest stream %.0f ms, serial would be %d ms\n",
           ok, n_streams, wall, worst, n_streams * N_EVENTS * EVENT_GAP_MS);

    rag_net_endpoint_destroy(ep);
    event_base_loopbreak(base);
    pthread_join(srv, NULL);
    evhttp_free(http);
    event_base_free(base);
    free(jobs);
    free(th);
    return ok == n_streams ? 0 : 1;
}
