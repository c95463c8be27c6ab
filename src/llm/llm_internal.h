/* llm_internal.h - helpers shared by the LLM back-ends (not public). */
#ifndef RAG_LLM_INTERNAL_H
#define RAG_LLM_INTERNAL_H

#include "llm.h"

/* Endpoint for cfg (url defaulted by type, timeouts, retries, bearer and
 * secret registered for redaction), tuned by tune (may be NULL). */
int llm_endpoint_create(rag_net_endpoint **out, const rag_backend_cfg *cfg,
                        const rag_llm_tuning *tune, rag_err *err);
/* Fill the rag_llm base: ops, name copy, endpoint. On failure the caller
 * still calls llm_base_fini. */
int llm_base_init(rag_llm *llm, const struct rag_llm_ops *ops,
                  const rag_backend_cfg *cfg, const rag_llm_tuning *tune,
                  rag_err *err);
void llm_base_fini(rag_llm *llm);

/* Answer cap when the config gives none (backends.NAME.max_answer_bytes). */
#define RAG_LLM_MAX_ANSWER_BYTES (256 * 1024)

/* Why appending a piece of the answer failed, as the chat's error: the cap
 * (RAG_ELIMIT, class too_large, naming max_answer_bytes) or out of memory
 * (RAG_ENOMEM) -- never "malformed". */
int llm_answer_append_fail(const rag_llm *llm, int rc, rag_llm_result *res, rag_err *err);

/* {"role", "content"} for one message (new reference; NULL on OOM). Bytes
 * that are not valid UTF-8 (a file name in a chunk header, say) become
 * U+FFFD: jansson refuses invalid UTF-8, and the message would otherwise be
 * dropped from the request. */
json_t *llm_json_message(const rag_llm_message *m);

/* Rough token estimate (bytes / 4, at least 1 for non-empty text), used
 * when a server reports no usage. */
static inline int64_t llm_estimate_tokens(size_t n_bytes)
{
    return n_bytes ? (int64_t)((n_bytes + 3) / 4) : 0;
}

#endif
