/* config_table.c - every configuration key, once.
 *
 * Each row gives the YAML key, its type, where it lives in the struct, its
 * default (as text, parsed by the same code as any other value), its range
 * and a one-line meaning. The DOCRAG_* environment name is derived from the
 * key ("search.k" -> DOCRAG_SEARCH_K), so it is not repeated here.
 * docs/configuration.md mirrors this file; test_config checks they agree.
 */
#include "config_int.h"

#include <float.h>
#include <stddef.h>

#define OFF(m) offsetof(rag_config, m)
#define BOFF(m) offsetof(rag_backend_cfg, m)

static const char *const search_modes[] = {"bm25", "dense", "hybrid", NULL};
static const char *const fusions[] = {"rrf", "weighted", NULL};
static const char *const vector_forms[] = {"f32", "int8", NULL};
static const char *const precisions[] = {"f32", "bf16", "int8", NULL};
static const char *const anon_modes[] = {"none", "read", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

const char *const rag_cfg_profiles[] = {"local", "hf_spaces", "api", "railway", NULL};
const char *const rag_cfg_backend_types[] = {
    "tei", "hf_inference", "hf_providers", "openai", "ollama", "local",
    "extractive", "none", NULL};

const struct cfg_field rag_cfg_fields[] = {
    {"profile", CFG_ENUM, OFF(profile), 0, 0, "local", 0, 0, rag_cfg_profiles, 0,
     "deployment profile whose defaults apply (detected when not given)"},
    {"db", CFG_STR, OFF(db_path), 0, 0, "docrag.db", 0, 0, NULL, 0,
     "SQLite database file, or a postgres:// URL (docs/postgres.md)"},
    {"store", CFG_STR, OFF(store), 0, 0, "", 0, 0, NULL, 0,
     "the store, as db: a SQLite file or postgres://...; set, it wins over db given at the same or a lower level"},
    {"postgres.connect_timeout_ms", CFG_INT, OFF(pg_connect_timeout_ms), 0, 0, "10000", 1000,
     600000, NULL, 0, "PostgreSQL store: time allowed to one connection attempt"},
    {"postgres.statement_timeout_ms", CFG_INT, OFF(pg_statement_timeout_ms), 0, 0, "30000", 0,
     86400000, NULL, 0, "PostgreSQL store: a statement running longer is cancelled; 0 = never"},
    {"postgres.reconnect_ms", CFG_INT, OFF(pg_reconnect_ms), 0, 0, "10000", 0, 600000, NULL, 0,
     "PostgreSQL store: how long a lost connection is retried (with backoff) before an error; 0 = not retried"},
    {"postgres.mirror", CFG_STR, OFF(pg_mirror), 0, 0, "", 0, 0, NULL, 0,
     "PostgreSQL store: the local SQLite copy every read runs on (docs/scaling.md); "
     "\"\" = $XDG_CACHE_HOME/docrag/mirror-HASH.db, HASH of the endpoint"},
    {"postgres.ready_max_lag", CFG_INT, OFF(pg_ready_max_lag), 0, 0, "100", 0, 100000000,
     NULL, 0, "PostgreSQL store: /ready answers 503 while the local copy is more than this "
     "many changes behind the store's head"},
    {"threads", CFG_INT, OFF(threads), 0, 0, "0", 0, 256, NULL, 0,
     "worker threads for encoding and search; 0 = one per core"},
    {"log_level", CFG_ENUM, OFF(log_level), 0, 0, "info", 0, 0, log_levels, 0,
     "least severe log message printed"},
    {"server.host", CFG_STR, OFF(server_host), 0, 0, "127.0.0.1", 0, 0, NULL, 0,
     "address `docrag serve` binds"},
    {"server.port", CFG_INT, OFF(server_port), 0, 0, "8080", 0, 65535, NULL, 0,
     "port `docrag serve` listens on; 0 = any free port"},
    {"server.workers", CFG_INT, OFF(server_workers), 0, 0, "0", 0, 256, NULL, 0,
     "worker threads, one session each; 0 = one per core"},
    {"server.stream_workers", CFG_INT, OFF(server_stream_workers), 0, 0, "64", 0, 1024, NULL,
     0, "workers started, up to this many, while others hold an answer stream (an SSE"
     " answer keeps its worker until the LLM is done); 0 = none"},
    {"server.max_queue", CFG_INT, OFF(server_max_queue), 0, 0, "64", 1, 100000, NULL, 0,
     "requests waiting for a worker; more get 503 with Retry-After"},
    {"server.max_json_body", CFG_LONG, OFF(server_max_json_body), 0, 0, "1048576", 64,
     1073741824, NULL, 0, "largest JSON request body in bytes (413 above)"},
    {"server.max_upload", CFG_LONG, OFF(server_max_upload), 0, 0, "67108864", 1024,
     17179869184.0, NULL, 0, "largest upload request body in bytes (413 above)"},
    {"server.max_header_bytes", CFG_LONG, OFF(server_max_header_bytes), 0, 0, "16384", 1024,
     1048576, NULL, 0, "largest request line plus headers in bytes"},
    {"server.timeout_s", CFG_INT, OFF(server_timeout_s), 0, 0, "30", 1, 3600, NULL, 0,
     "a connection that sends or reads nothing for this long is closed (slow clients)"},
    {"server.rate_limit", CFG_DOUBLE, OFF(server_rate_limit), 0, 0, "0", 0, 1e6, NULL, 0,
     "requests per second per API key (or per address without one); 0 = off"},
    {"server.rate_burst", CFG_INT, OFF(server_rate_burst), 0, 0, "20", 1, 1000000, NULL, 0,
     "requests a key may send at once before the rate limit applies"},
    {"server.anonymous", CFG_ENUM, OFF(server_anonymous), 0, 0, "none", 0, 0, anon_modes,
     0, "keyless access on a non-loopback address: none, or read (admin stays closed)"},
    {"server.keys", CFG_LIST, OFF(server_keys), OFF(n_server_keys), 0, NULL, 0, 0, NULL,
     CFG_SECRET, "more API keys as ROLE:KEY (role read or admin); use ${VAR}"},
    {"server.cors_origins", CFG_LIST, OFF(server_cors_origins), OFF(n_server_cors_origins),
     0, NULL, 0, 0, NULL, 0, "origins allowed to call the API from a browser; none = CORS off"},
    {"server.metrics_public", CFG_BOOL, OFF(server_metrics_public), 0, 0, "false", 0, 1,
     NULL, 0, "serve /metrics without an admin key"},
    {"server.collections", CFG_LIST, OFF(server_collections), OFF(n_server_collections), 0,
     NULL, 0, 0, NULL, 0, "indexes served as named collections, NAME=FILE.db; the first is the default"},
    {"server.upload_dir", CFG_STR, OFF(server_upload_dir), 0, 0, "", 0, 0, NULL, 0,
     "folder uploaded files are kept in; empty = DB.files beside the database"},
    {"server.job_lease_ms", CFG_INT, OFF(server_job_lease_ms), 0, 0, "30000", 1000, 3600000,
     NULL, 0, "PostgreSQL store: an ingestion job's lease; a replica that dies holding one "
     "leaves the job to another after this long (renewed every third of it)"},
    {"server.shutdown_grace_ms", CFG_INT, OFF(server_shutdown_grace_ms), 0, 0, "10000", 0,
     600000, NULL, 0, "on SIGTERM, time in-flight requests and streams get to finish"},
    {"server.max_batch", CFG_INT, OFF(server_max_batch), 0, 0, "32", 1, 4096, NULL, 0,
     "inputs per /embed, /rerank or /v1/embeddings request (TEI max_client_batch_size)"},
    {"server.sse_ping_s", CFG_INT, OFF(server_sse_ping_s), 0, 0, "15", 1, 3600, NULL, 0,
     "seconds between `: ping` comments on an idle event stream"},
    {"server.access_log", CFG_BOOL, OFF(server_access_log), 0, 0, "true", 0, 1, NULL, 0,
     "one JSON line per request on stderr (no bodies, no keys)"},
    {"chunk.target_tokens", CFG_INT, OFF(chunk_target_tokens), 0, 0, "240", 16, 8192,
     NULL, 0, "preferred chunk length in tokens"},
    {"chunk.max_tokens", CFG_INT, OFF(chunk_max_tokens), 0, 0, "255", 16, 8192, NULL, 0,
     "hard upper bound on a chunk's length in tokens"},
    {"chunk.overlap_tokens", CFG_INT, OFF(chunk_overlap_tokens), 0, 0, "32", 0, 4096,
     NULL, 0, "tokens shared by consecutive chunks"},
    {"ingest.max_file_mb", CFG_LONG, OFF(ingest_max_file_mb), 0, 0, "256", 1, 65536,
     NULL, 0, "larger input files are skipped with an error"},
    {"ingest.max_text_mb", CFG_LONG, OFF(ingest_max_text_mb), 0, 0, "64", 1, 65536,
     NULL, 0, "cap on text extracted from one file, and on the size of a Markdown, HTML or text file"},
    {"ingest.max_file_seconds", CFG_DOUBLE, OFF(ingest_max_file_seconds), 0, 0, "120", 0,
     86400, NULL, 0, "time one file may take to extract and chunk; past it the file fails; 0 = no limit"},
    {"ingest.strip_headers", CFG_BOOL, OFF(ingest_strip_headers), 0, 0, "true", 0, 1,
     NULL, 0, "drop running page headers and footers repeated across pages"},
    {"search.k", CFG_INT, OFF(search_k), 0, 0, "10", 1, 1000, NULL, 0,
     "results returned by search"},
    {"search.mode", CFG_ENUM, OFF(search_mode), 0, 0, "bm25", 0, 0, search_modes, 0,
     "retrieval: BM25 only, dense vectors only, or both fused"},
    {"search.candidates", CFG_INT, OFF(search_candidates), 0, 0, "50", 1, 100000, NULL,
     0, "BM25 / kNN candidates read before fusion and reranking"},
    {"search.fusion", CFG_ENUM, OFF(search_fusion), 0, 0, "rrf", 0, 0, fusions, 0,
     "hybrid fusion: reciprocal rank fusion or a weighted sum of normalised scores"},
    {"search.rrf_k", CFG_DOUBLE, OFF(search_rrf_k), 0, 0, "60", 1, 1e6, NULL, 0,
     "RRF constant k in 1 / (k + rank)"},
    {"search.dense_weight", CFG_DOUBLE, OFF(search_dense_weight), 0, 0, "0.5", 0, 1, NULL,
     0, "weighted fusion: weight of the dense score (BM25 gets the rest)"},
    {"search.prefer_newest", CFG_BOOL, OFF(search_prefer_newest), 0, 0, "false", 0, 1,
     NULL, 0, "when near-duplicate passages of several versions of one text match (titles of one family), keep the newest document's, at the best rank of them"},
    {"search.graph_boost", CFG_DOUBLE, OFF(search_graph_boost), 0, 0, "0", 0, 1, NULL, 0,
     "graph-boosted fusion: largest share personalised PageRank may add; 0 = off"},
    {"search.rerank_top_n", CFG_INT, OFF(search_rerank_top_n), 0, 0, "50", 0, 1000, NULL,
     0, "fused candidates scored by the reranker chain; 0 = no rerank stage"},
    {"search.rerank_weight", CFG_DOUBLE, OFF(search_rerank_weight), 0, 0, "1", 0, 1, NULL,
     0, "final score = weight x reranker + (1 - weight) x fusion, both normalised"},
    {"embed.batch", CFG_INT, OFF(embed_batch), 0, 0, "32", 1, 4096, NULL, 0,
     "chunks per embed call at index time"},
    {"embed.vectors", CFG_ENUM, OFF(embed_vectors), 0, 0, "int8", 0, 0, vector_forms, 0,
     "vectors held in memory for kNN: f32, or int8 with exact float32 re-scoring"},
    {"answer.max_sentences", CFG_INT, OFF(answer_max_sentences), 0, 0, "8", 1, 100,
     NULL, 0, "sentences in an extractive answer"},
    {"answer.context_chunks", CFG_INT, OFF(answer_context_chunks), 0, 0, "5", 1, 100,
     NULL, 0, "chunks given to the answer stage"},
    {"answer.min_coverage", CFG_DOUBLE, OFF(answer_min_coverage), 0, 0, "0.5", 0, 1, NULL, 0,
     "off-topic gate: the best top chunk must contain this share of the question's IDF-weighted terms"},
    {"models.pull_timeout_s", CFG_INT, OFF(models_pull_timeout_s), 0, 0, "1800", 0, 86400,
     NULL, 0, "`docrag models pull`: time for the whole pull (every file, attempt and wait); 0 = no limit"},
    {"models.pull_idle_s", CFG_INT, OFF(models_pull_idle_s), 0, 0, "30", 1, 3600, NULL, 0,
     "`docrag models pull`: an attempt that receives nothing for this long fails (and is retried)"},
    {"models.pull_max_retry_after_s", CFG_INT, OFF(models_pull_max_retry_after_s), 0, 0, "30",
     0, 3600, NULL, 0, "`docrag models pull`: longest Retry-After honoured; a longer one is cut to this"},
    {"chains.embed", CFG_LIST, OFF(chain_embed), OFF(n_chain_embed), RAG_MAX_CHAIN,
     "none", 0, 0, NULL, 0, "embedding back-ends, tried in order"},
    {"chains.rerank", CFG_LIST, OFF(chain_rerank), OFF(n_chain_rerank), RAG_MAX_CHAIN,
     "none", 0, 0, NULL, 0, "reranking back-ends, tried in order"},
    {"chains.llm", CFG_LIST, OFF(chain_llm), OFF(n_chain_llm), RAG_MAX_CHAIN,
     "extractive", 0, 0, NULL, 0, "answer back-ends, tried in order"},
};
const size_t rag_cfg_n_fields = sizeof rag_cfg_fields / sizeof rag_cfg_fields[0];

const struct cfg_field rag_cfg_backend_fields[] = {
    {"type", CFG_ENUM, BOFF(type), 0, 0, NULL, 0, 0, rag_cfg_backend_types, 0,
     "client kind (required)"},
    {"url", CFG_STR, BOFF(url), 0, 0, NULL, 0, 0, NULL, 0,
     "base URL; defaults by type (see the table below)"},
    {"model", CFG_STR, BOFF(model), 0, 0, NULL, 0, 0, NULL, 0,
     "model id, or a model folder for type local"},
    {"models", CFG_LIST, BOFF(models), BOFF(n_models), 0, NULL, 0, 0, NULL, 0,
     "ordered fallback model ids tried after `model`"},
    {"api_key", CFG_STR, BOFF(api_key), 0, 0, NULL, 0, 0, NULL, CFG_SECRET,
     "bearer token; empty or a placeholder disables the back-end"},
    {"timeout_ms", CFG_INT, BOFF(timeout_ms), 0, 0, "30000", 1, 600000, NULL, 0,
     "time allowed for one attempt (a streamed answer: its whole stream)"},
    {"connect_timeout_ms", CFG_INT, BOFF(connect_timeout_ms), 0, 0, "5000", 1, 600000,
     NULL, 0, "time allowed to connect"},
    {"max_retries", CFG_INT, BOFF(max_retries), 0, 0, "2", 0, 20, NULL, 0,
     "retries after 429/5xx/timeouts, with backoff"},
    {"deadline_ms", CFG_INT, BOFF(deadline_ms), 0, 0, "0", 0, 3600000, NULL, 0,
     "one deadline for a whole call: every attempt, backoff and Retry-After wait; "
     "0 = timeout_ms x (max_retries + 1)"},
    {"max_retry_after_ms", CFG_INT, BOFF(max_retry_after_ms), 0, 0, "30000", 1, 3600000, NULL,
     0, "longest server-requested wait (Retry-After, HF estimated_time) honoured; a longer "
     "one is cut to this"},
    {"max_stream_bytes", CFG_LONG, BOFF(max_stream_bytes), 0, 0, "16777216", 65536,
     1073741824, NULL, 0, "LLM back-ends: bytes of one streamed reply; a longer stream is cut "
     "and the call fails naming this cap"},
    {"max_answer_bytes", CFG_LONG, BOFF(max_answer_bytes), 0, 0, "262144", 1024, 67108864,
     NULL, 0, "LLM back-ends: bytes of answer text; a longer answer is cut and the call fails "
     "naming this cap"},
    {"requests_per_second", CFG_DOUBLE, BOFF(requests_per_second), 0, 0, "0", 0, 1e6,
     NULL, 0, "client-side rate limit; 0 = unlimited"},
    {"max_in_flight", CFG_INT, BOFF(max_in_flight), 0, 0, "4", 1, 1024, NULL, 0,
     "concurrent requests to this back-end"},
    {"price_in_per_mtok", CFG_DOUBLE, BOFF(price_in_per_mtok), 0, 0, "0", 0, 1e6, NULL,
     0, "USD per million input tokens, for cost accounting"},
    {"price_out_per_mtok", CFG_DOUBLE, BOFF(price_out_per_mtok), 0, 0, "0", 0, 1e6,
     NULL, 0, "USD per million output tokens"},
    {"monthly_budget_usd", CFG_DOUBLE, BOFF(monthly_budget_usd), 0, 0, "0", 0, 1e9,
     NULL, 0, "stop using the back-end past this spend; 0 = no budget"},
    {"precision", CFG_ENUM, BOFF(precision), 0, 0, "f32", 0, 0, precisions, 0,
     "type local: matrix precision (int8 = s8 weights, dynamic u8 activations)"},
    {"threads", CFG_INT, BOFF(threads), 0, 0, "0", 0, 256, NULL, 0,
     "type local: inference threads; 0 = the global `threads`"},
};
const size_t rag_cfg_n_backend_fields =
    sizeof rag_cfg_backend_fields / sizeof rag_cfg_backend_fields[0];

/* Profile defaults sit between the table defaults and the file. Paths that
 * depend on the machine (hf_spaces' /data) are computed in config.c. */
const struct cfg_profile_default rag_cfg_profile_defaults[] = {
    {"local", "chains.embed", "local"},
    {"local", "chains.rerank", "none"},
    {"local", "chains.llm", "extractive"},
    {"local", "backends.local.type", "local"},
    {"local", "backends.local.model", "${DOCRAG_MODELS:-models}/sentence-transformers/all-MiniLM-L6-v2"},

    {"hf_spaces", "threads", "2"},
    {"hf_spaces", "server.host", "0.0.0.0"},
    {"hf_spaces", "server.port", "7860"},
    {"hf_spaces", "server.anonymous", "read"},
    {"hf_spaces", "chains.embed", "none"},
    {"hf_spaces", "chains.rerank", "none"},
    {"hf_spaces", "chains.llm", "hf_providers,extractive"},
    {"hf_spaces", "backends.hf_providers.type", "hf_providers"},
    {"hf_spaces", "backends.hf_providers.model", "meta-llama/Llama-3.1-8B-Instruct:cheapest"},
    {"hf_spaces", "backends.hf_providers.api_key", "${HF_TOKEN:-}"},
    {"hf_spaces", "backends.hf_providers.max_in_flight", "2"},

    {"api", "search.mode", "hybrid"},
    {"api", "chains.embed", "hf_embed"},
    {"api", "chains.rerank", "none"},
    {"api", "chains.llm", "hf_router,extractive"},
    {"api", "backends.hf_embed.type", "hf_inference"},
    {"api", "backends.hf_embed.model", "sentence-transformers/all-MiniLM-L6-v2"},
    {"api", "backends.hf_embed.api_key", "${HF_TOKEN:-}"},
    {"api", "backends.hf_router.type", "hf_providers"},
    {"api", "backends.hf_router.model", "meta-llama/Llama-3.1-8B-Instruct:cheapest"},
    {"api", "backends.hf_router.api_key", "${HF_TOKEN:-}"},

    {"railway", "db", "${RAILWAY_VOLUME_MOUNT_PATH:-.}/docrag.db"},
    {"railway", "server.host", "0.0.0.0"},
    {"railway", "server.port", "${PORT:-8080}"},
    {"railway", "search.mode", "hybrid"},
    {"railway", "chains.embed", "hf_embed"},
    {"railway", "chains.rerank", "none"},
    {"railway", "chains.llm", "hf_router,extractive"},
    {"railway", "backends.hf_embed.type", "hf_inference"},
    {"railway", "backends.hf_embed.model", "sentence-transformers/all-MiniLM-L6-v2"},
    {"railway", "backends.hf_embed.api_key", "${HF_TOKEN:-}"},
    {"railway", "backends.hf_router.type", "hf_providers"},
    {"railway", "backends.hf_router.model", "meta-llama/Llama-3.1-8B-Instruct:cheapest"},
    {"railway", "backends.hf_router.api_key", "${HF_TOKEN:-}"},
};
const size_t rag_cfg_n_profile_defaults =
    sizeof rag_cfg_profile_defaults / sizeof rag_cfg_profile_defaults[0];
