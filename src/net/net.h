/* net.h - HTTP client for remote model back-ends (libcurl underneath).
 *
 * An endpoint (rag_net_endpoint) is one remote service: a base URL, its
 * headers and bearer secret, timeouts, a retry policy, a circuit breaker, a
 * token-bucket rate limiter and a cap on requests in flight. Requests go
 * through rag_net_request_do(): plain (body buffered, capped) or streamed
 * (SSE or NDJSON events handed to a callback as they arrive).
 *
 * Resilience, in the order a request meets it:
 *   breaker  -> closed: pass; open: fail fast (RAG_NET_BREAKER_OPEN) until the
 *               cool-down elapses; half-open: let `half_open_probes` through,
 *               close on success, re-open on failure. Opens after
 *               `consecutive_failures` failures in a row, or when the error
 *               rate over the last `window_ms` exceeds `error_rate` with at
 *               least `min_requests` outcomes in the window.
 *   limiter  -> token bucket (rate_per_s, burst); waits (injectable sleep).
 *   in-flight cap -> waits for a slot up to the remaining budget.
 *   attempt  -> connect/total/stream-idle timeouts.
 *   retry    -> only connection errors, timeouts, 429, 500/502/503/504;
 *               never other 4xx (400/401/403/404/413/422...). Delay = the
 *               server's hint (Retry-After seconds or HTTP-date; the classic
 *               HF API's 503 {"estimated_time": s}) capped at
 *               max_server_wait_ms, else full jitter
 *               uniform(0, min(cap_ms, base_ms * 2^retry)). A stream that has
 *               already delivered an event is never retried.
 *   deadline -> retry.budget_ms (or the request's deadline_ms) bounds the
 *               whole call: each attempt's timeouts are cut to what is left,
 *               and a wait (backoff or Retry-After) that would pass it ends
 *               the call at once with the server's hint in the message.
 *
 * Secrets: the bearer token only ever travels in the Authorization header.
 * Every error message and log line produced here goes through
 * rag_net_redact() with the endpoint's secrets, and libcurl verbose output is
 * never enabled.
 *
 * Thread safety: a rag_net_endpoint is shared by any number of threads; its
 * breaker, limiter, in-flight and metrics state sit behind one mutex held
 * only for bookkeeping (never across I/O). Requests block the calling thread
 * only. rag_net_global_init must run before threads start (endpoint_create
 * calls it through pthread_once). Parsers (rag_sse_*, rag_ndjson_*) are one
 * object per thread.
 */
#ifndef RAG_NET_H
#define RAG_NET_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/core.h"

/* ---- error classes ---------------------------------------------------- */

/* Finer than rag_status: what went wrong, so callers can fall back, back off
 * or give up. Each maps to a rag_status return code (see below). */
typedef enum {
    RAG_NET_OK = 0,
    RAG_NET_CONNECT,      /* refused, DNS, reset before a response  EBACKEND */
    RAG_NET_TIMEOUT,      /* connect, total or stream-idle timeout  EBACKEND */
    RAG_NET_HTTP_4XX,     /* 400/401/403/404/413/422...: not retried EBACKEND
                             (404: ENOTFOUND) */
    RAG_NET_HTTP_5XX,     /* 5xx after retries                       EBACKEND */
    RAG_NET_RATE_LIMITED, /* 429 after retries, or quota exhausted   EBACKEND */
    RAG_NET_MALFORMED,    /* 2xx body/stream is not valid JSON       EFORMAT  */
    RAG_NET_STREAM_CUT,   /* stream ended early (after events)       EBACKEND */
    RAG_NET_BREAKER_OPEN, /* circuit open: request not sent          EBACKEND */
    RAG_NET_BUDGET,       /* retry/wait budget exhausted             EBACKEND */
    RAG_NET_TOO_LARGE,    /* response over max_body_bytes            ELIMIT   */
    RAG_NET_CANCELLED,    /* the event callback asked to stop        EBACKEND */
    RAG_NET_REMOTE_ERROR, /* 200 stream carrying an {"error":...}    EBACKEND */
    RAG_NET_INTERNAL,     /* out of memory, bad arguments, curl misc */
} rag_net_class;

const char *rag_net_class_name(rag_net_class cls);

/* ---- policies and options -------------------------------------------- */

typedef struct {
    int max_attempts;          /* total tries incl. the first; 1 = no retry */
    double base_ms;            /* backoff base */
    double cap_ms;             /* backoff cap (before jitter) */
    double max_server_wait_ms; /* cap on Retry-After / estimated_time */
    double budget_ms;          /* the call's one deadline: every attempt
                                  (its timeouts are cut to what is left),
                                  backoff and server wait; a wait that would
                                  pass it fails at once; 0 = unlimited */
    int retry_timeouts;        /* retry after a timeout (default 1) */
} rag_net_retry_policy;

typedef struct {
    int consecutive_failures; /* open after this many in a row; 0 = off */
    double error_rate;        /* open when failures/total over window > this;
                                 0 = off */
    int min_requests;         /* ... with at least this many outcomes */
    double window_ms;         /* sliding window for the error rate */
    double cooldown_ms;       /* open -> half-open after this long */
    int half_open_probes;     /* requests let through when half-open */
} rag_net_breaker_policy;

/* Injectable time, for deterministic tests: now_ms is monotonic, sleep_ms
 * waits. NULL functions use the real clock. Called from any thread. */
typedef struct {
    double (*now_ms)(void *userdata);
    void (*sleep_ms)(void *userdata, double ms);
    void *userdata;
} rag_net_clock;

/* One attempt, reported to the metrics hook after it finishes. */
typedef struct {
    const char *endpoint;  /* endpoint name */
    const char *path;      /* request path */
    int attempt;           /* 1-based */
    long status;           /* HTTP status, 0 if none */
    rag_net_class cls;     /* RAG_NET_OK on success */
    double latency_ms;     /* this attempt */
    double next_delay_ms;  /* wait before the next attempt, -1 if none */
} rag_net_attempt;

/* Called after every attempt, from the requesting thread, without locks
 * held. Must be thread safe if the endpoint is shared. */
typedef void (*rag_net_hook_fn)(const rag_net_attempt *a, void *userdata);

typedef struct {
    const char *name;          /* for messages and logs, e.g. "tei" */
    const char *base_url;      /* "http://127.0.0.1:8080" (path appended) */
    const char *bearer;        /* secret or NULL; sent as Authorization */
    const char *const *headers;   /* extra "Name: value", NULL-terminated */
    const char *const *secrets;   /* extra values to redact, NULL-terminated */
    long connect_timeout_ms;   /* default 5000 */
    long total_timeout_ms;     /* plain requests, per attempt; default 60000 */
    long stream_timeout_ms;    /* streams, per attempt; 0 = none (default) */
    long idle_timeout_ms;      /* streams: max gap between bytes; default 30000 */
    size_t max_body_bytes;     /* default 16 MiB */
    size_t max_stream_bytes;   /* bytes of one streamed response; more ->
                                  RAG_NET_TOO_LARGE (RAG_ELIMIT) naming the
                                  cap; default 16 MiB */
    rag_net_retry_policy retry;
    rag_net_breaker_policy breaker;
    double rate_per_s;         /* token bucket; 0 = unlimited */
    double burst;              /* bucket size; default max(1, rate_per_s) */
    int max_in_flight;         /* 0 = unlimited */
    rag_net_clock clock;
    rag_net_hook_fn on_attempt;
    void *hook_userdata;
    uint64_t jitter_seed;      /* 0 = seeded from the clock */
} rag_net_endpoint_opts;

/* Defaults: 4 attempts, base 200 ms, cap 10 s, server waits capped at 30 s,
 * budget 120 s; breaker 5 consecutive or 50% of >= 10 in 30 s, cool-down
 * 15 s, 1 probe; no rate limit, no in-flight cap. */
rag_net_endpoint_opts rag_net_endpoint_default_opts(void);

typedef struct rag_net_endpoint rag_net_endpoint;

/* Idempotent; not thread safe (call before threads). */
int rag_net_global_init(rag_err *err);

/* Copies everything from opts (strings included). Caller owns *out; free
 * with rag_net_endpoint_destroy. A bearer that looks like an unexpanded
 * placeholder ("${...}") is refused with RAG_EINVAL. */
int rag_net_endpoint_create(rag_net_endpoint **out,
                            const rag_net_endpoint_opts *opts, rag_err *err);
/* Must not race with requests on ep. NULL is a no-op. */
void rag_net_endpoint_destroy(rag_net_endpoint *ep);
/* Borrowed, valid while ep lives. */
const char *rag_net_endpoint_name(const rag_net_endpoint *ep);

typedef enum {
    RAG_NET_BREAKER_CLOSED = 0,
    RAG_NET_BREAKER_OPEN_STATE = 1,
    RAG_NET_BREAKER_HALF_OPEN = 2,
} rag_net_breaker_state;
rag_net_breaker_state rag_net_endpoint_breaker(rag_net_endpoint *ep);
const char *rag_net_breaker_state_name(rag_net_breaker_state s);

typedef struct {
    uint64_t requests;       /* rag_net_request_do calls */
    uint64_t attempts;       /* HTTP attempts actually sent */
    uint64_t retries;        /* attempts after the first */
    uint64_t successes;      /* calls that returned RAG_OK */
    uint64_t failures;       /* calls that returned an error */
    uint64_t breaker_opens;  /* closed/half-open -> open transitions */
    uint64_t breaker_rejects;/* calls failed fast by an open breaker */
    uint64_t rate_waits;     /* calls that waited for a token */
    uint64_t bytes_in;       /* response body bytes */
    double latency_ms_sum;   /* over attempts */
    double latency_ms_max;
    int in_flight;           /* now */
} rag_net_metrics;
/* Snapshot; thread safe. */
void rag_net_endpoint_metrics(rag_net_endpoint *ep, rag_net_metrics *out);

/* ---- requests --------------------------------------------------------- */

typedef enum {
    RAG_NET_STREAM_NONE = 0,
    RAG_NET_STREAM_SSE = 1,    /* text/event-stream */
    RAG_NET_STREAM_NDJSON = 2, /* one JSON value per line */
} rag_net_stream_kind;

/* One stream event. All pointers borrowed for the duration of the callback.
 * SSE: event = the `event:` field or "message"; data = the joined `data:`
 * lines; done = 1 for `data: [DONE]`. NDJSON: event = "line", data = the
 * line. json = data parsed (NULL if not JSON or done). */
typedef struct {
    const char *event;
    const char *data;
    size_t data_bytes;
    const char *id;     /* SSE last event id or NULL */
    int done;
    json_t *json;
} rag_net_event;

/* Return 0 to continue, nonzero to stop (the request fails with
 * RAG_NET_CANCELLED). Runs on the requesting thread. */
typedef int (*rag_net_event_fn)(const rag_net_event *ev, void *userdata);

typedef struct {
    const char *method;        /* default "GET", or "POST" when body set */
    const char *path;          /* appended to base_url, e.g. "/embed" */
    const char *body;          /* NULL = none */
    size_t body_bytes;         /* 0 with body set = strlen(body) */
    const char *content_type;  /* default "application/json" with a body */
    const char *const *headers;/* extra "Name: value", NULL-terminated */
    int expect_json;           /* plain: parse 2xx body into resp->json;
                                  invalid -> RAG_NET_MALFORMED */
    rag_net_stream_kind stream;
    rag_net_event_fn on_event; /* required with stream */
    void *userdata;
    int expect_done;           /* stream must end with SSE [DONE] / NDJSON
                                  {"done":true}, else RAG_NET_STREAM_CUT */
    int max_attempts;          /* 0 = endpoint policy; 1 = no retry */
    double deadline_ms;        /* whole call (attempts, backoff, server
                                  waits); 0 = the endpoint's retry.budget_ms */
    /* Optional: polled while the transfer runs (and between attempts);
     * nonzero closes the connection and the call fails with class
     * RAG_NET_CANCELLED, never retried (a server-side answer whose client
     * went away: no tokens paid for nobody). */
    int (*is_cancelled)(void *ctx);
    void *cancel_ctx;
} rag_net_request;

typedef struct {
    long status;          /* last HTTP status, 0 if none */
    rag_net_class cls;    /* RAG_NET_OK on success */
    rag_buf body;         /* plain: the body; stream: error body only */
    json_t *json;         /* expect_json: parsed body (owned) */
    double retry_after_ms;/* last server hint seen, -1 if none */
    char content_type[128];
    int attempts;         /* attempts made */
    size_t n_events;      /* stream events delivered */
    double latency_ms;    /* whole call, waits included */
} rag_net_response;

void rag_net_response_init(rag_net_response *r);
void rag_net_response_fini(rag_net_response *r);

/* Send req to ep (resilience as described above). resp (caller's storage,
 * rag_net_response_init first) gets the outcome either way. Returns RAG_OK
 * for a 2xx (and a complete stream), else the rag_status of the class,
 * with err naming the endpoint (message redacted). Blocks. */
int rag_net_request_do(rag_net_endpoint *ep, const rag_net_request *req,
                       rag_net_response *resp, rag_err *err);

/* Convenience for JSON APIs: POST body (borrowed; serialised compactly) to
 * path and parse the 2xx answer. *out (caller owns; json_decref) is set on
 * RAG_OK only. resp may be NULL when the caller needs no details. */
int rag_net_post_json(rag_net_endpoint *ep, const char *path, const json_t *body,
                      json_t **out, rag_net_response *resp, rag_err *err);

/* ---- helpers ---------------------------------------------------------- */

/* Scrub in place: every occurrence of each non-empty secret (NULL-terminated
 * list, may be NULL) in its raw, JSON-escaped ("\/" or not) and
 * percent-encoded (either hex case) forms, and any run of >= 8 bytes that
 * is a prefix of one of those forms (a truncated echo), plus
 * "Bearer <token>", "hf_<alnum>{6,}", "sk-<alnum>{8,}" and URL userinfo
 * ("://user:pass@") become "***". s stays NUL-terminated and never grows.
 * Thread safe. */
void rag_net_redact(char *s, const char *const *secrets);

/* A remote body as it may appear in an error message: never verbatim.
 * When body is a JSON error object, its message (error.message, error,
 * message, detail or error_description) is taken, decoded, instead of the
 * raw JSON (so an escaped secret is seen in its plain form); control bytes
 * become spaces; secrets (as rag_net_redact) are removed from the whole
 * text *before* it is cut to at most n_out - 1 bytes (on a UTF-8 boundary,
 * "..." marking the cut), so a secret straddling the cut leaks nothing.
 * out is "" for an empty body. Thread safe. */
void rag_net_excerpt(char *out, size_t n_out, const char *body, size_t n_body,
                     const char *const *secrets);

/* Retry-After value: delta seconds (digits, fraction tolerated) or an
 * HTTP-date relative to now_unix_s. Returns milliseconds (>= 0), or -1 if
 * unparseable. */
double rag_net_parse_retry_after(const char *value, double now_unix_s);

/* 1 for statuses worth retrying: 429, 500, 502, 503, 504. */
int rag_net_status_retryable(long status);

/* ---- stream parsers (incremental; feed any chunking) ------------------- */

/* SSE (WHATWG): lines end in \n, \r\n or \r; "field: value" (one leading
 * space stripped); ':' lines are comments; `data` lines are joined with \n;
 * a blank line dispatches the event (none if no data); unknown fields are
 * ignored. Lines longer than max_line_bytes fail with RAG_ELIMIT. */
typedef struct rag_sse rag_sse;
/* Called per dispatched event; return nonzero to stop (feed returns
 * RAG_EBACKEND with the parser unusable). */
typedef int (*rag_sse_fn)(const char *event, const char *data,
                          size_t data_bytes, const char *id, void *userdata);
int rag_sse_create(rag_sse **out, size_t max_line_bytes, rag_sse_fn fn,
                   void *userdata);
int rag_sse_feed(rag_sse *p, const char *data, size_t n_bytes);
/* End of input: returns 1 if a partial line or undispatched event was
 * pending (the stream was cut), else 0. The pending event is discarded. */
int rag_sse_finish(rag_sse *p);
void rag_sse_destroy(rag_sse *p);

/* NDJSON: one value per '\n'-terminated line (a trailing \r is dropped,
 * blank lines skipped). Lines longer than max_line_bytes fail RAG_ELIMIT. */
typedef struct rag_ndjson rag_ndjson;
typedef int (*rag_ndjson_fn)(const char *line, size_t n_bytes, void *userdata);
int rag_ndjson_create(rag_ndjson **out, size_t max_line_bytes,
                      rag_ndjson_fn fn, void *userdata);
int rag_ndjson_feed(rag_ndjson *p, const char *data, size_t n_bytes);
/* End of input: a final line without '\n' is delivered. Returns RAG_OK or
 * the callback's stop (RAG_EBACKEND). */
int rag_ndjson_finish(rag_ndjson *p);
void rag_ndjson_destroy(rag_ndjson *p);

/* ---- model downloads (src/net/download.c) ----------------------------- */

typedef struct {
    const char *endpoint;   /* Hub base URL; NULL = $HF_ENDPOINT or
                               https://huggingface.co */
    const char *revision;   /* default "main" */
    const char *token;      /* bearer; NULL = $HF_TOKEN if set */
    long connect_timeout_ms;/* default 10000 */
    long idle_timeout_ms;   /* an attempt that receives nothing for this
                               long fails (and is retried); default 30000 */
    int max_attempts;       /* per file, resuming each time; default 5 */
    double deadline_ms;     /* the whole call (rag_hub_pull: every file;
                               attempts, transfers and waits): each attempt
                               is cut to what is left, a wait that would
                               pass it fails at once; 0 = none; default
                               1800000 (30 min) */
    double max_retry_after_ms; /* longest Retry-After waited (a longer one
                               is cut to this); default 30000 */
    rag_net_clock clock;    /* retry waits and the deadline */
    /* Progress: file name, bytes so far, total (-1 unknown). May be NULL. */
    void (*progress)(const char *file, int64_t done, int64_t total,
                     void *userdata);
    void *userdata;
} rag_hub_opts;
rag_hub_opts rag_hub_default_opts(void);

typedef struct {
    int n_files;           /* files present after the pull */
    int n_downloaded;      /* fetched now (others were already complete) */
    int n_missing_optional;
    int64_t bytes;         /* bytes transferred now */
} rag_hub_result;

/* Download one file of repo `model_id` to dest_path, resuming from
 * dest_path + ".part" with a Range request; follows redirects; checks the
 * size against Content-Length and, for LFS files, sha256 against
 * X-Linked-ETag/ETag; refuses more bytes than the file kind's cap
 * (rag_hub_file_cap, RAG_ELIMIT) and content that is not of its kind
 * (rag_hub_check_file, RAG_EFORMAT), deleting the part file and naming the
 * file, without retrying. Returns RAG_ENOTFOUND for a 404 (missing file). */
int rag_hub_download_file(const char *model_id, const char *file,
                          const char *dest_path, const rag_hub_opts *opts,
                          int64_t *bytes_out, rag_err *err);

/* What a pulled file may be (src/net/hub_check.c has the table):
 * rag_hub_file_cap gives the size cap of a file kind (config and other JSON
 * 1 MiB, tokenizer.json 64 MiB, vocab.txt 16 MiB; 0 = none: weights), and
 * rag_hub_check_file checks the file at path against its kind (config.json
 * a BERT-like JSON object, tokenizer.json a tokenizers object, vocab.txt
 * UTF-8 lines, other JSON well formed, model.safetensors a consistent
 * header). RAG_EFORMAT / RAG_ELIMIT name the file. */
int64_t rag_hub_file_cap(const char *file);
int rag_hub_check_file(const char *file, const char *path, rag_err *err);

/* Pull a sentence-transformers style model folder into dir: config.json
 * (required), tokenizer.json / vocab.txt (at least one), model.safetensors
 * (required), and the optional tokenizer_config.json,
 * special_tokens_map.json, modules.json, 1_Pooling/config.json,
 * sentence_bert_config.json. */
int rag_hub_pull(const char *model_id, const char *dir,
                 const rag_hub_opts *opts, rag_hub_result *res, rag_err *err);

#endif
