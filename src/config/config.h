/* config.h - the effective configuration: defaults < profile < YAML file <
 * DOCRAG_* environment < command-line flags.
 *
 * Only src/config sees YAML; everyone else reads struct rag_config. One
 * field table (config_table.c) drives defaults, parsing, DOCRAG_* names,
 * range checks and `config show`. Every key is documented in
 * docs/configuration.md.
 *
 * Thread safety: rag_config_load reads the process environment and logs
 * through rag_log; call it before threads start. A loaded rag_config is
 * read-only and may be shared.
 */
#ifndef RAG_CONFIG_H
#define RAG_CONFIG_H

#include "core/core.h"

#include <stddef.h>

#define RAG_MAX_BACKENDS 16
#define RAG_MAX_CHAIN 8

/* One remote or local model back-end ("backends:" map in YAML). */
typedef struct {
    char *name;        /* key in the backends map, e.g. "hf_router" */
    char *type;        /* "tei", "hf_inference", "hf_providers", "openai",
                          "ollama", "local", "extractive", "none" */
    char *url;         /* base URL; NULL for local */
    char *model;       /* model id, or a local model folder for "local" */
    char **models;     /* optional ordered fallback model list (LLM) */
    size_t n_models;
    char *api_key;     /* secret: never logged; NULL when unset */
    int timeout_ms;    /* one attempt's timeout */
    int connect_timeout_ms;
    int max_retries;
    int deadline_ms;   /* one call, every attempt and wait included;
                          0 = timeout_ms * (max_retries + 1) */
    int max_retry_after_ms; /* longest Retry-After / estimated_time waited */
    long max_stream_bytes;  /* bytes of one streamed answer (SSE / NDJSON) */
    long max_answer_bytes;  /* bytes of the answer text an LLM may send */
    double requests_per_second; /* 0 = unlimited */
    int max_in_flight;
    double price_in_per_mtok;   /* USD per million input tokens */
    double price_out_per_mtok;
    double monthly_budget_usd;  /* 0 = no budget */
    char *precision;   /* local models: "f32", "bf16" or "int8" */
    int threads;       /* local models: threads; 0 = the global `threads` */
    int enabled;       /* 0 when its token is empty or a placeholder */
} rag_backend_cfg;

struct rag_config_prov; /* private to src/config: where each key came from */

typedef struct rag_config {
    char *profile;            /* "local", "hf_spaces", "api", "railway" */
    char *source_path;        /* the YAML file read, or NULL */
    char *db_path;            /* SQLite file, or a postgres:// URL (docs/postgres.md) */
    char *store;              /* the same, by its other name; wins over db at the same or a
                                 lower level (a --db flag beats a file's store:) */
    int pg_connect_timeout_ms;   /* PostgreSQL: per connection attempt */
    int pg_statement_timeout_ms; /* PostgreSQL: server-side statement_timeout; 0 = none */
    int pg_reconnect_ms;         /* PostgreSQL: give up reconnecting after this long */
    char *pg_mirror;             /* PostgreSQL: the local SQLite copy; "" = a cache path */
    int pg_ready_max_lag;        /* PostgreSQL: /ready 503 beyond this many changes behind */
    int threads;              /* worker threads; 0 = one per core */
    char *server_host;        /* docrag serve bind address */
    int server_port;          /* 0 = any free port */
    int server_workers;       /* worker threads (sessions); 0 = one per core */
    int server_max_queue;     /* requests waiting for a worker; then 503 */
    int server_stream_workers; /* workers added while others hold a stream */
    long server_max_json_body;   /* bytes of a JSON request body */
    long server_max_upload;      /* bytes of an upload request body */
    long server_max_header_bytes;/* request line + headers */
    int server_timeout_s;     /* read/write timeout of a connection */
    double server_rate_limit; /* requests per second per key; 0 = off */
    int server_rate_burst;    /* token bucket size */
    char *server_anonymous;   /* "none" or "read": keyless access off loopback */
    char **server_keys;       /* "read:KEY" / "admin:KEY" (secrets) */
    size_t n_server_keys;
    char **server_cors_origins;  /* allowed Origins; none = CORS off */
    size_t n_server_cors_origins;
    int server_metrics_public;   /* /metrics without a key */
    char **server_collections;   /* "name=path.db" */
    size_t n_server_collections;
    char *server_upload_dir;  /* where uploads are kept; NULL = DB.files */
    int server_shutdown_grace_ms; /* SIGTERM: time for in-flight work */
    int server_job_lease_ms;     /* PostgreSQL store: an ingestion job's lease */
    int server_max_batch;     /* /embed, /rerank inputs per request (TEI's
                                 max_client_batch_size) */
    int server_sse_ping_s;    /* ": ping" comment interval on SSE streams */
    int server_access_log;    /* one JSON line per request on stderr */

    int chunk_target_tokens;
    int chunk_max_tokens;
    int chunk_overlap_tokens;

    long ingest_max_file_mb;
    long ingest_max_text_mb;
    int ingest_strip_headers;
    double ingest_max_file_seconds;

    int search_k;
    char *search_mode;        /* "bm25", "dense", "hybrid" */
    int search_candidates;    /* BM25 top-N read before answer/fusion */
    char *search_fusion;      /* "rrf" or "weighted" */
    double search_rrf_k;      /* RRF: 1 / (rrf_k + rank) */
    double search_dense_weight; /* weighted fusion: share of the dense score */
    int search_prefer_newest;   /* near-duplicate passages of one text's versions: the newest */
    double search_graph_boost;  /* graph-boosted fusion: largest added share; 0 = off */
    int search_rerank_top_n;  /* fused candidates sent to the reranker; 0 = no rerank */
    double search_rerank_weight; /* final = w * reranker + (1 - w) * fusion (normalised) */

    int embed_batch;          /* texts per embed call at index time */
    char *embed_vectors;      /* in-memory vector form: "f32" or "int8" */

    int answer_max_sentences;
    int answer_context_chunks;
    double answer_min_coverage; /* off-topic gate: the best chunk must hold this
                                   share of the question's IDF-weighted terms */

    char *log_level;          /* "debug", "info", "warn", "error" */

    int models_pull_timeout_s;   /* `models pull`: the whole pull; 0 = none */
    int models_pull_idle_s;      /* an attempt with no byte for this long fails */
    int models_pull_max_retry_after_s; /* longest Hub Retry-After waited */

    rag_backend_cfg backends[RAG_MAX_BACKENDS];
    size_t n_backends;
    char *chain_embed[RAG_MAX_CHAIN];
    size_t n_chain_embed;
    char *chain_rerank[RAG_MAX_CHAIN];
    size_t n_chain_rerank;
    char *chain_llm[RAG_MAX_CHAIN];
    size_t n_chain_llm;

    struct rag_config_prov *prov; /* private: origins for `config show` */
} rag_config;

/* Command-line settings: "key=value" pairs with the YAML key names
 * (e.g. "search.k=20", "chains.llm=hf_router,extractive",
 * "backends.hf_router.model=ID", "profile=api"), applied last and taken
 * literally (no ${VAR}). */
typedef struct {
    const char *config_path;   /* --config; NULL = $DOCRAG_CONFIG, else
                                  ./docrag.yaml if present, else none */
    const char *profile;       /* --profile; NULL = detect */
    const char *const *sets;   /* "key=value" */
    size_t n_sets;
    /* In-memory YAML used instead of any file (tests, fuzzing); yaml_name
       names it in errors (NULL = "<memory>"). Borrowed during the load. */
    const char *yaml_text;
    size_t yaml_len;
    const char *yaml_name;
} rag_config_source;

/* Load the effective configuration. Caller owns *out; free with
 * rag_config_destroy. src may be NULL (detect everything).
 * Errors: RAG_EFORMAT for malformed YAML ("FILE:LINE:COL: ..."), unknown
 * keys, wrong types, out-of-range values and unset ${VAR}s (each naming the
 * key, and FILE:LINE:COL when the value came from the file); RAG_EIO /
 * RAG_ENOTFOUND for an unreadable file; RAG_ENOMEM. Error messages never
 * contain a secret value. A back-end whose api_key is empty or a
 * placeholder is kept with enabled = 0 and logged once (RAG_LOG_WARN). */
int rag_config_load(rag_config **out, const rag_config_source *src,
                    rag_err *err);
void rag_config_destroy(rag_config *cfg); /* NULL is a no-op */

enum {
    RAG_CONFIG_SHOW_JSON = 1 << 0,   /* JSON instead of YAML */
    RAG_CONFIG_SHOW_ORIGIN = 1 << 1, /* say where each value came from */
};
/* Append the effective config as YAML (with origins as comments) with
 * secrets masked: a set secret prints as "****", an unset one is left out.
 * The YAML form loads back as a config file. */
int rag_config_show(rag_buf *out, const rag_config *cfg);
/* Same with RAG_CONFIG_SHOW_* flags. */
int rag_config_show_ex(rag_buf *out, const rag_config *cfg, unsigned flags);
/* Expand ${VAR}, ${VAR:-default}, ${VAR-default} and $${ in one value
 * given outside a config file (a --db URL): as the loader does, errors
 * say "key KEY: environment variable VAR is not set" and never contain a
 * value. Caller owns *out (rag_free). */
int rag_config_expand(char **out, const char *in, const char *key, rag_err *err);
/* 1 if s is empty or a placeholder token ("dummy", "hf_xxx", "changeme",
 * "your_token_here", "<...>", ... — list in docs/configuration.md). */
int rag_config_is_placeholder(const char *s);
/* The one deadline of a call to b, in ms: deadline_ms when set, else
 * timeout_ms * (max_retries + 1) (every attempt its full timeout, the
 * waits between them from the same allowance). */
double rag_backend_deadline_ms(const rag_backend_cfg *b);
/* Find a back-end by name; NULL if absent. Borrowed. */
const rag_backend_cfg *rag_config_backend(const rag_config *cfg,
                                          const char *name);
/* 1 if a chain (cfg->chain_embed, ...) has a back-end to build: its first
 * entry is neither `none` nor a back-end of type none. */
int rag_config_chain_active(const rag_config *cfg, char *const *chain, size_t n);

#endif
