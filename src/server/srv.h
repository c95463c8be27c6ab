/* srv.h - private to src/server: `docrag serve`'s request model, shared by
 * the core (server.c: start, pool, shutdown; http.c: replies, streams,
 * the loop/worker hand-off; auth.c: keys, roles, rate limits) and the
 * route files (routes_*.c: one family of routes each, HTTP -> docrag.h
 * calls, no retrieval logic).
 *
 * Threads. One event-loop thread owns libevent and every evhttp object; it
 * parses, authenticates, limits and routes. A route runs either on the
 * loop (SRV_ON_LOOP: cheap, no database: /health, /metrics) or on one of
 * the worker threads (the default), each of which owns one docrag_session
 * per collection. Workers never touch evhttp: they answer through
 * srv_reply / srv_stream_*, which queue an operation that the loop
 * performs in order (a mutex-protected list + event_active). A request is
 * reference-counted between the loop and a worker; when the client goes
 * away the loop marks it closed (srv_req_closed becomes true), drops the
 * evhttp pointer and every later operation on it is discarded, so a
 * worker may finish (or notice and cancel) without racing the connection.
 *
 * Data the route sees is copied out of evhttp before it is queued: method,
 * path, query, the headers routes need, the body (NUL-terminated).
 */
#ifndef RAG_SRV_H
#define RAG_SRV_H

#include "docrag.h"
#include "docrag_server.h"

#include "core/core.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct srv srv;
typedef struct srv_req srv_req;

typedef enum {
    SRV_ROLE_NONE = 0,   /* no key needed (health, ready) */
    SRV_ROLE_READ = 1,   /* search, ask, documents read */
    SRV_ROLE_ADMIN = 2,  /* upload, delete, config, metrics */
} srv_role;

typedef enum {
    SRV_BODY_NONE = 0,   /* no body expected (a body is ignored) */
    SRV_BODY_JSON = 1,   /* application/json, capped at max_json_body */
    SRV_BODY_UPLOAD = 2, /* multipart/form-data or raw bytes, capped at max_upload */
    SRV_BODY_ANY = 3,    /* whatever comes, capped at max_json_body (MCP) */
} srv_body;

enum {
    SRV_ON_LOOP = 1 << 0,   /* run on the event loop (must not block) */
    SRV_NO_ENGINE = 1 << 1, /* may run before the engines are loaded */
};

/* A route: method ("GET", "POST", "DELETE"; NULL = any, the handler
 * checks) and a pattern (rag_path_match): "{id}" matches one decoded path
 * segment, whose text is in req->params[i] in pattern order, and
 * "{n}.png" one ending in .png (the suffix not captured). Handlers answer exactly once (srv_reply*, or a stream
 * ended by srv_stream_end). */
typedef void (*srv_handler)(srv_req *r);
typedef struct {
    const char *method;
    const char *pattern;
    srv_role role;
    srv_body body;
    unsigned flags;
    srv_handler handler;
    const char *name;   /* route label for metrics and the access log */
} srv_route;

/* Route tables, one per file (each ends with a {NULL} entry). */
extern const srv_route srv_routes_core[];    /* routes_core.c */
extern const srv_route srv_routes_docs[];    /* routes_docs.c */
extern const srv_route srv_routes_openai[];  /* routes_openai.c */
extern const srv_route srv_routes_tei[];     /* routes_tei.c */
extern const srv_route srv_routes_mcp[];     /* mcp.c */
extern const srv_route srv_routes_ui[];      /* routes_ui.c: /, /assets/NAME */

/* One served index. */
typedef struct {
    char name[64];
    char db_path[1024];
    char upload_dir[1024];
    docrag_engine *engine;       /* NULL until loaded */
} srv_coll;

#define SRV_MAX_PARAMS 16
#define SRV_MAX_STAGES 16
#define SRV_MAX_COLLS 16

struct srv_req {
    srv *s;
    /* request, copied on the loop */
    char method[8];
    char *path;                  /* decoded path, no query */
    char *query;                 /* raw query string after '?' ("" if none) */
    struct rag_query *q;         /* parsed query (never NULL once routed) */
    char *params[SRV_MAX_PARAMS];
    size_t n_params;
    char *body;                  /* NUL-terminated copy (NULL if none) */
    size_t n_body;
    char *content_type;          /* header values, NULL when absent */
    char *range;
    char *accept;
    char *accept_encoding;
    char *origin;
    char *last_event_id;
    char *if_none_match;         /* If-None-Match (the UI's assets) */
    char *mcp_session_id;        /* Mcp-Session-Id */
    char *mcp_protocol_version;  /* MCP-Protocol-Version */
    char id[40];                 /* X-Request-Id */
    char key_id[24];             /* which key (not the key): "read", "admin:2", "anon:IP" */
    char peer[64];
    srv_role role;               /* what the caller's key allows */
    const srv_route *route;
    srv_coll *coll;              /* the collection this request addresses */
    docrag_session *session;     /* the worker's session for coll (worker routes) */
    double t0_ms;
    /* state */
    _Atomic int refs;
    _Atomic int closed;          /* the client went away (srv_req_closed) */
    int status;                  /* what was answered (access log, metrics) */
    size_t bytes_out;
    int streaming;
    void *ctx;                   /* the route's own per-request state */
    /* noted by the route (worker) before it answers, read by the loop's
     * access log after: the reply's hand-off orders the two */
    int refused;                 /* an answer that refused */
    char stage_name[SRV_MAX_STAGES][16];
    double stage_ms[SRV_MAX_STAGES];
    size_t n_stages;
    struct evhttp_request *ev;   /* loop thread only; NULL once closed */
    struct event *ping;          /* SSE keep-alive timer (loop only) */
    int loop_done;               /* loop thread: reply finished */
    int flight_done;             /* loop thread: no longer in s->in_flight */
};

/* ---- replies (any thread) --------------------------------------------------- */

/* Answer with status, content type and body (copied). extra_headers:
 * "Name: value" strings, NULL-terminated, may be NULL. */
void srv_reply(srv_req *r, int status, const char *content_type, const void *body,
               size_t n_body, const char *const *extra_headers);
/* JSON body (stolen reference; NULL = out of memory -> 500). */
void srv_reply_json(srv_req *r, int status, json_t *o);
/* JSON text (copied). */
void srv_reply_json_text(srv_req *r, int status, const char *json);
/* {"error":{"code":status,"type":type,"message":msg}}; 429 and 503 add
 * Retry-After: retry_after_s (> 0). */
void srv_reply_error(srv_req *r, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void srv_reply_error_retry(srv_req *r, int status, const char *type, int retry_after_s,
                           const char *msg);
/* Map a docrag status to an HTTP error reply (ENOTFOUND 404, EINVAL 422,
 * ELIMIT 413, EFORMAT 422, EBACKEND 502, ECANCELLED 499 (logged only),
 * others 500 with a generic message: internals never leak). */
void srv_reply_docrag_error(srv_req *r, const docrag_error *err);

/* ---- streams (any thread) --------------------------------------------------- */

/* Start a chunked response (text/event-stream for SSE, with no-cache and
 * X-Accel-Buffering: no). Pings every server.sse_ping_s while open. */
void srv_stream_start(srv_req *r, int status, const char *content_type);
/* Append bytes; 0, or -1 once the client has gone (stop producing). */
int srv_stream_send(srv_req *r, const void *data, size_t n);
/* "event: NAME\ndata: JSON\n\n" (data may hold no newline: JSON compact). */
int srv_stream_event(srv_req *r, const char *event, const char *data);
/* The same with o dumped compact as the data; takes o's reference (NULL,
 * as from a failed json_pack: -1, nothing sent). */
int srv_stream_event_json(srv_req *r, const char *event, json_t *o);
void srv_stream_end(srv_req *r);
/* True once the client disconnected (streams: stop and cancel upstream). */
int srv_req_closed(const srv_req *r);

/* ---- request helpers -------------------------------------------------------- */

/* Parse the JSON body: an object, or a 400 with the line and column
 * already answered (returns NULL). */
json_t *srv_body_json(srv_req *r);
/* Query parameter (decoded, borrowed from r); NULL if absent. A malformed
 * query string (bad escapes, repeated keys) was answered with 400 by the
 * router. */
const char *srv_query(srv_req *r, const char *key);
/* The collection named name (NULL or "" = the default): NULL + 404 answered. */
srv_coll *srv_collection(srv_req *r, const char *name);
/* The worker's session for coll (opens it on first use); NULL + 500/503. */
docrag_session *srv_session(srv_req *r, srv_coll *coll);
/* The same without answering on failure (logged only). */
docrag_session *srv_session_quiet(srv_req *r, srv_coll *coll);
/* Strict decimal id > 0 from a path parameter; 0 on error (400 answered). */
int64_t srv_param_id(srv_req *r, size_t i, const char *what);
/* srv_session with the session rendering for clients (DOCRAG_OUT_PUBLIC:
 * every "doc" is the document's base name, its name in GET /v1/documents,
 * not the server's path to it) for this request's search, ask or chunk. */
docrag_session *srv_public_session(srv_req *r, srv_coll *coll);

/* ---- request options (query_opts.c) ------------------------------------------ */

/* Decode one retrieval option of a JSON request body into so: "k" (1..1000),
 * "mode" ("bm25" | "dense" | "hybrid"), "doc" (a glob or null), "pages" (N,
 * "A-B", "A-" or [A, B]), "rerank" (bool). Strings stay borrowed from v.
 * 1 when key is one of them and v is valid; 0 when key is none of them
 * (so untouched); -1 when v is invalid, with a message naming the field
 * in msg (n_msg bytes). Shared by /v1/search, /v1/ask and the "docrag"
 * object of /v1/chat/completions, so the same field means the same thing
 * everywhere. Pure: no I/O, any thread. */
int srv_query_opt(docrag_search_opts *so, const char *key, const json_t *v, char *msg,
                  size_t n_msg);

/* A chunk id as it comes in: a JSON string of decimal digits (as the engine
 * emits ids: past 2^53 a number is rounded by JavaScript) or a JSON
 * integer. The id (>= 1), or 0 when v is neither. Pure. */
int64_t srv_json_id(const json_t *v);
/* The same for text ("123", or "\"123\"" as a JSON string would be written
 * into a query parameter): the id, or 0. */
int64_t srv_text_id(const char *text);

/* ---- the server ------------------------------------------------------------- */

/* Server-wide settings and state routes may read (read-only after start). */
typedef struct {
    docrag_server_config cfg;    /* of the first collection's engine */
    srv_coll colls[SRV_MAX_COLLS];
    size_t n_colls;
    char base_url[300];          /* "http://HOST:PORT" as printed */
    double started_ms;
} srv_info;

const srv_info *srv_get_info(const srv *s);
/* Ingestion jobs (jobs.c): queue files for coll; see routes_docs.c. */
struct srv_jobs;
struct srv_jobs *srv_get_jobs(srv *s);

/* Metrics (srv_metrics.c), from any thread: a pipeline stage's latency for
 * request r (the histogram, and the analytics point of r), an event count
 * (docrag_events_total{event,reason}). */
void srv_observe_stage(srv_req *r, const char *stage, double ms);
void srv_count(srv *s, const char *event, const char *reason, double v);
/* Prometheus text of every metric (r: the worker request asking, whose
 * sessions read the collections' stats). */
int srv_metrics_text(srv_req *r, rag_buf *out);
/* The analytics time series since unix second `since` (0 = all kept):
 * {"interval_s","points":[{"t","requests","errors","refusals","p50_ms",
 * "p95_ms","stages":{NAME:{"sum_ms","count"}}}]}. */
int srv_analytics_json(srv *s, int64_t since, rag_buf *out);

#endif
