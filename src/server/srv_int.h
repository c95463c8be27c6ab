/* srv_int.h - private to the server core (server.c, http.c, auth.c,
 * router.c): the server object. Route files see only srv.h. */
#ifndef RAG_SRV_INT_H
#define RAG_SRV_INT_H

#include "srv.h"

#include <event2/event.h>
#include <event2/http.h>

struct srv_op;
struct srv_auth;
struct srv_metrics;
struct srv_mcp;

typedef struct {
    srv *s;
    pthread_t th;
    docrag_session *sessions[SRV_MAX_COLLS];
    int streaming;               /* its request holds a stream open */
} srv_worker;

struct srv {
    struct event_base *base;
    pthread_t loop_thread;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    struct event *wake;          /* ops from workers */
    struct evbuffer *access_out; /* access log lines not yet on stderr */
    struct event *access_flush;  /* writes them: once per loop iteration */
    struct event *sig_term, *sig_int, *tick;
    /* worker -> loop operations */
    pthread_mutex_t ops_mu;
    struct srv_op *ops_head, *ops_tail;
    /* loop -> worker queue (bounded) */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    srv_req **q;
    size_t q_cap, q_head, q_n;
    int q_stop;
    srv_worker *workers;         /* cap_workers slots, n_workers running */
    _Atomic size_t n_workers;
    size_t base_workers, cap_workers;
    _Atomic size_t n_streaming;  /* workers holding a stream */
    pthread_mutex_t workers_mu;  /* starting a worker; no_grow */
    int no_grow;                 /* shutting down: no more workers */
    /* state */
    srv_info info;
    docrag_server_opts opts;
    struct srv_auth *auth;
    struct srv_metrics *metrics;
    struct srv_jobs *jobs;
    struct srv_mcp *mcp;         /* MCP sessions (mcp.c) */
    _Atomic int ready;           /* every collection's engine loaded */
    _Atomic int stopping;        /* SIGTERM: no new requests */
    _Atomic long in_flight;      /* requests accepted, not yet answered */
    _Atomic long streams_open;
    pthread_t loader;            /* loads the engines, then refreshes them */
    char ready_json[4096];       /* last /ready body (under info_mu) */
    pthread_mutex_t info_mu;
    double stop_deadline_ms;
};

/* http.c */
srv_req *srv_req_create(srv *s, struct evhttp_request *ev);
void srv_req_ref(srv_req *r);
void srv_req_release(srv_req *r);
void srv_ops_drain(srv *s);          /* loop: perform queued operations */
void srv_access_log(srv_req *r);
/* Write the access log lines still buffered (the loop does it once per
 * iteration; srv_free once more at the end). */
void srv_access_flush(srv *s);
/* server.c: the calling worker's request has begun a stream; while it
 * holds it, another worker is started (up to server.stream_workers) if
 * fewer than the base number are left for everything else. */
void srv_worker_streaming(srv *s);

/* server.c: the cached /ready body into buf */
const char *srv_ready_json(srv *s, char *buf, size_t n);

/* router.c: the gencb */
void srv_dispatch(struct evhttp_request *ev, void *arg);
void srv_run_worker_route(srv_req *r);  /* worker: run r's handler */

/* auth.c */
int srv_auth_create(struct srv_auth **out, const srv_info *info, int loopback,
                    docrag_error *err);
void srv_auth_destroy(struct srv_auth *a);
/* The role the request's key grants; 0 = no valid key (key_id set). Also
 * applies the rate limit: -1 when the key is over it. */
int srv_auth_check(struct srv_auth *a, srv_req *r, const char *authorization,
                   const char *x_api_key, int *retry_after_s);
/* 1 when the server runs open (loopback, no keys). */
int srv_auth_open(const struct srv_auth *a);
int srv_auth_anonymous_read(const struct srv_auth *a);

/* mcp.c: the Streamable HTTP transport's session table */
int srv_mcp_create(struct srv_mcp **out, docrag_error *err);
void srv_mcp_destroy(struct srv_mcp *m);

/* metrics.c (server side) */
int srv_metrics_create(struct srv_metrics **out, srv *s);
void srv_metrics_destroy(struct srv_metrics *m);
void srv_metrics_request(srv_req *r, const char *route, int status, double ms);

#endif
