/* llm.h - chat language models that always stream, and the chain of them
 * named by `chains.llm`.
 *
 * A rag_llm is an ops table (STYLE.md §6). Two wire families exist:
 *   openai  POST {url}/chat/completions, "stream": true, SSE `data:` chunks
 *           with choices[0].delta.content, `data: [DONE]`, usage in the
 *           last chunk when the server sends it. Config types "openai" and
 *           "hf_providers" (the HF Inference Providers router, base
 *           https://router.huggingface.co/v1, model ids with `:provider` or
 *           `:fastest`); llama.cpp's llama-server, vLLM and TGI speak it too.
 *           `model` then `models[]` are tried in order while the error is
 *           about the model (404, 422, or 400 naming the model as not
 *           found / not supported) and before any token was delivered.
 *   ollama  POST {url}/api/chat, NDJSON lines with message.content and a
 *           final {"done": true, prompt_eval_count, eval_count}.
 * "extractive" is not an LLM: the chain keeps it as a built-in entry that
 * the answer layer (src/generate) serves from the retrieved chunks.
 *
 * Thread safety: a rag_llm may be used by several threads at once (its
 * rag_net_endpoint is shared and thread safe; calls keep no state in the
 * object). A rag_llm_chain is read-only after creation.
 */
#ifndef RAG_LLM_H
#define RAG_LLM_H

#include "config/config.h"
#include "core/core.h"
#include "net/net.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *role;    /* "system", "user", "assistant" */
    const char *content; /* UTF-8 */
} rag_llm_message;

typedef struct {
    int max_tokens;      /* 0 = server default */
    double temperature;  /* < 0 = server default */
    long timeout_ms;     /* whole call; 0 = the back-end's configured timeout */
    /* Optional: polled during the call; nonzero closes the request (class
     * RAG_NET_CANCELLED). */
    int (*is_cancelled)(void *ctx);
    void *cancel_ctx;
} rag_llm_opts;

rag_llm_opts rag_llm_default_opts(void); /* 512 tokens, temperature 0.2 */

/* Called with each piece of generated text as it arrives (never empty).
 * Return nonzero to stop the stream (chat then fails, class CANCELLED).
 * Runs on the calling thread. */
typedef int (*rag_llm_token_fn)(void *ctx, const char *text, size_t n_bytes);

typedef struct {
    char *text;            /* the whole reply (owned); NULL on failure */
    int64_t tokens_in;     /* from the server's usage, else an estimate */
    int64_t tokens_out;
    char *served_model;    /* the model id that answered (owned) */
    rag_net_class cls;     /* RAG_NET_OK, or why the call failed */
    long status;           /* last HTTP status (0 if none) */
    size_t n_tokens_delivered; /* on_token calls made, even on failure */
    int retries;           /* HTTP retries across models */
    int models_tried;      /* models attempted (model-list fallback) */
} rag_llm_result;

void rag_llm_result_fini(rag_llm_result *r); /* NULL-safe, zeroes r */

typedef struct rag_llm rag_llm;

struct rag_llm_ops {
    const char *name; /* wire family: "openai", "ollama" */
    /* Send messages, stream the reply through on_token (may be NULL), fill
     * res (caller's storage, zeroed by the op; free with
     * rag_llm_result_fini, also on failure). Blocks. Errors name the
     * back-end; they never contain a secret. Required. */
    int (*chat)(rag_llm *llm, const rag_llm_message *msgs, size_t n_msgs,
                const rag_llm_opts *opts, rag_llm_token_fn on_token,
                void *ctx, rag_llm_result *res, rag_err *err);
    /* Required. */
    void (*destroy)(rag_llm *llm);
};

struct rag_llm {
    const struct rag_llm_ops *ops;
    char *name;               /* config name, e.g. "hf_router" (owned) */
    rag_net_endpoint *ep;     /* owned; NULL for non-HTTP back-ends */
    size_t max_answer_bytes;  /* answer text cap (max_answer_bytes); a longer
                                 reply fails RAG_ELIMIT, class too_large */
};

int rag_llm_chat(rag_llm *llm, const rag_llm_message *msgs, size_t n_msgs,
                 const rag_llm_opts *opts, rag_llm_token_fn on_token, void *ctx,
                 rag_llm_result *res, rag_err *err);
void rag_llm_destroy(rag_llm *llm); /* NULL is a no-op */

/* Network tuning applied on top of what the back-end config says (tests and
 * benchmarks shorten backoffs and breakers). NULL fields / zero = keep. */
typedef struct {
    const rag_net_retry_policy *retry;     /* replaces the whole policy */
    const rag_net_breaker_policy *breaker; /* replaces the whole policy */
    long idle_timeout_ms;
    rag_net_clock clock;
} rag_llm_tuning;

/* Registry: build the back-end for cfg->type ("hf_providers", "openai",
 * "ollama"). Caller owns *out (rag_llm_destroy). RAG_EINVAL for a type
 * with no LLM client (e.g. "tei"); RAG_ENOTFOUND for "extractive" (a
 * built-in the chain handles). tune may be NULL. */
int rag_llm_create(rag_llm **out, const rag_backend_cfg *cfg,
                   const rag_llm_tuning *tune, rag_err *err);

/* Constructors behind the registry. */
int rag_llm_openai_create(rag_llm **out, const rag_backend_cfg *cfg,
                          const rag_llm_tuning *tune, rag_err *err);
int rag_llm_ollama_create(rag_llm **out, const rag_backend_cfg *cfg,
                          const rag_llm_tuning *tune, rag_err *err);

/* 1 for errors about the model itself (the next model in the list may
 * work): 404, 422, or 400 whose body says the model is not found / not
 * supported / does not exist. */
int rag_llm_model_error(long status, const char *body);

/* ---- the chain (chains.llm) ------------------------------------------- */

typedef struct {
    const char *name;   /* config name (borrowed from the chain) */
    const char *type;   /* config type */
    rag_llm *llm;       /* NULL for the built-in extractive answerer */
    int extractive;     /* 1 = built-in last resort */
    int enabled;        /* 0 = skipped (placeholder token) */
} rag_llm_entry;

typedef struct rag_llm_chain rag_llm_chain;

/* Build the chain from cfg->chain_llm (in order). Disabled back-ends are
 * kept with enabled = 0 so the answer can say why they were skipped. If
 * the chain does not end with extractive, nothing is appended: a chain
 * whose back-ends all fail then fails clearly. Caller owns *out. */
int rag_llm_chain_create(rag_llm_chain **out, const rag_config *cfg,
                         const rag_llm_tuning *tune, rag_err *err);
/* Chain from explicit back-end configs (tests, benchmarks); "extractive"
 * entries have type "extractive". */
int rag_llm_chain_create_from(rag_llm_chain **out, const rag_backend_cfg *const *cfgs,
                              size_t n, const rag_llm_tuning *tune, rag_err *err);
void rag_llm_chain_destroy(rag_llm_chain *c); /* NULL is a no-op */
size_t rag_llm_chain_size(const rag_llm_chain *c);
/* Borrowed, valid while c lives. */
const rag_llm_entry *rag_llm_chain_get(const rag_llm_chain *c, size_t i);
/* 1 if the chain has no LLM at all (only extractive): answers are exactly
 * the extractive path. NULL counts as extractive-only. */
int rag_llm_chain_extractive_only(const rag_llm_chain *c);

#endif
