/* config.h - the effective configuration: defaults < profile < YAML file <
 * DOCRAG_* environment < command-line flags.
 *
 * Only src/config sees YAML; everyone else reads struct rag_config. One
 * field table drives defaults, parsing, range checks and `config show`.
 *
 * Thread safety: a loaded rag_config is read-only and may be shared.
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
    int timeout_ms;    /* total request timeout */
    int connect_timeout_ms;
    int max_retries;
    double requests_per_second; /* 0 = unlimited */
    int max_in_flight;
    double price_in_per_mtok;   /* USD per million input tokens */
    double price_out_per_mtok;
    double monthly_budget_usd;  /* 0 = no budget */
    int enabled;       /* 0 when its token is empty or a placeholder */
} rag_backend_cfg;

typedef struct rag_config {
    char *profile;            /* "local", "hf_spaces", "api", "railway" */
    char *source_path;        /* the YAML file read, or NULL */
    char *db_path;

    int chunk_target_tokens;
    int chunk_max_tokens;
    int chunk_overlap_tokens;

    long ingest_max_file_mb;
    long ingest_max_text_mb;
    int ingest_strip_headers;

    int search_k;
    char *search_mode;        /* "bm25", "dense", "hybrid" */
    int search_candidates;    /* BM25 top-N read before answer/fusion */

    int answer_max_sentences;
    int answer_context_chunks;
    double answer_min_score;  /* relevance below this refuses */

    char *log_level;          /* "debug", "info", "warn", "error" */

    rag_backend_cfg backends[RAG_MAX_BACKENDS];
    size_t n_backends;
    char *chain_embed[RAG_MAX_CHAIN];
    size_t n_chain_embed;
    char *chain_rerank[RAG_MAX_CHAIN];
    size_t n_chain_rerank;
    char *chain_llm[RAG_MAX_CHAIN];
    size_t n_chain_llm;
} rag_config;

/* Command-line settings: "key=value" pairs with the YAML key names
 * (e.g. "search.k=20"), applied last. */
typedef struct {
    const char *config_path;   /* --config; NULL = $DOCRAG_CONFIG, else
                                  ./docrag.yaml if present, else none */
    const char *profile;       /* --profile; NULL = detect */
    const char *const *sets;   /* "key=value" */
    size_t n_sets;
} rag_config_source;

/* Load the effective configuration. Caller owns *out; free with
 * rag_config_destroy. Errors name the file, line and key. */
int rag_config_load(rag_config **out, const rag_config_source *src,
                    rag_err *err);
void rag_config_destroy(rag_config *cfg);
/* Append the effective config as YAML with secrets masked. */
int rag_config_show(rag_buf *out, const rag_config *cfg);
/* Find a back-end by name; NULL if absent. Borrowed. */
const rag_backend_cfg *rag_config_backend(const rag_config *cfg,
                                          const char *name);

#endif
