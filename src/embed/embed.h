/* embed.h - text embedders: one interface, several back-ends (STYLE.md §6).
 *
 * Back-ends: "local" (embed_local.c: WordPiece + the BERT encoder of
 * src/model, from a Hugging Face / sentence-transformers folder); remote
 * (embed_remote.c): "tei" (POST /embed), "hf_inference" (HF router
 * feature-extraction), "openai" (POST {url}/embeddings), "ollama"
 * (POST /api/embed); and a fallback chain over them (embed_chain.c).
 * embed_registry.c maps config type names to constructors.
 *
 * Thread safety: an embedder runs one embed call at a time (it owns one
 * model session); create one embedder per thread, or serialise calls.
 */
#ifndef RAG_EMBED_H
#define RAG_EMBED_H

#include "config/config.h"
#include "core/core.h"
#include "model/model.h"
#include "obs/chain.h"
#include "obs/obs.h"
#include "obs/remote.h"

#include <stddef.h>

typedef struct rag_embedder rag_embedder;

struct rag_embedder_ops {
    const char *name;                                   /* back-end: "local" */
    /* Floats per vector. Never NULL. */
    size_t (*dim)(const rag_embedder *e);
    /* Identifier stored beside vectors (vectors from different ids do not
     * mix). Borrowed; valid until destroy. Never NULL. */
    const char *(*model_id)(const rag_embedder *e);
    /* Writes n_texts * dim floats to out, in input order. Texts are UTF-8
     * (invalid UTF-8 is RAG_EFORMAT); over-long texts are truncated to the
     * model's max_seq_length tokens. Blocks. Never NULL. */
    int (*embed)(rag_embedder *e, const char *const *texts, size_t n_texts, float *out,
                 rag_err *err);
    /* Frees everything the embedder owns. Never NULL. */
    void (*destroy)(rag_embedder *e);
    /* Optional (NULL for local): requests, retries, tokens, error class of
     * the last embed call. Borrowed; valid until the next call. */
    const rag_call_info *(*last_call)(const rag_embedder *e);
    /* Optional: config name of the back-end that served the last call
     * (chains: the member; remote: its own name). Borrowed. */
    const char *(*served_by)(const rag_embedder *e);
    /* Optional (remote, chains): declare the dimension the caller expects,
     * so dim() needs no probe request; it replaces any dimension learned so
     * far, and an answer of another size then fails with RAG_EFORMAT
     * (chains: the member that gives it fails and the next one is tried).
     * RAG_EINVAL for 0. */
    int (*set_dim)(rag_embedder *e, size_t dim);
    /* Optional (remote): the endpoint its requests go to, so a chain can
     * skip it while its circuit breaker is open. Borrowed. */
    rag_net_endpoint *(*endpoint)(const rag_embedder *e);
    /* Optional (chains, and wrappers of one): the chain's members in order
     * (config names, endpoints: their breakers), *out borrowed and fixed for
     * the embedder's life; returns how many. */
    size_t (*members)(const rag_embedder *e, const rag_chain_member **out);
};

struct rag_embedder {
    const struct rag_embedder_ops *ops;
};

static inline size_t rag_embedder_dim(const rag_embedder *e)
{
    return e->ops->dim(e);
}
static inline const char *rag_embedder_model_id(const rag_embedder *e)
{
    return e->ops->model_id(e);
}
static inline int rag_embedder_embed(rag_embedder *e, const char *const *texts,
                                     size_t n_texts, float *out, rag_err *err)
{
    return e->ops->embed(e, texts, n_texts, out, err);
}
/* NULL is a no-op. */
static inline void rag_embedder_destroy(rag_embedder *e)
{
    if (e)
        e->ops->destroy(e);
}
/* Who served the last call: served_by op, else the ops name ("local"). */
/* The members of a chain (0, *out NULL, for anything else). Any thread. */
static inline size_t rag_embedder_members(const rag_embedder *e, const rag_chain_member **out)
{
    *out = NULL;
    return e->ops->members ? e->ops->members(e, out) : 0;
}
static inline const char *rag_embedder_served_by(const rag_embedder *e)
{
    const char *s = e->ops->served_by ? e->ops->served_by(e) : NULL;
    return s ? s : e->ops->name;
}
/* NULL when the back-end does not report calls. */
static inline const rag_call_info *rag_embedder_last_call(const rag_embedder *e)
{
    return e->ops->last_call ? e->ops->last_call(e) : NULL;
}
/* Declare the dimension the caller needs (retrieval: the stored vectors').
 * With the set_dim op see above; without it (local) RAG_OK when dim()
 * already equals it, else RAG_EINVAL. */
static inline int rag_embedder_set_dim(rag_embedder *e, size_t dim)
{
    if (e->ops->set_dim)
        return e->ops->set_dim(e, dim);
    return dim && e->ops->dim(e) == dim ? RAG_OK : RAG_EINVAL;
}

/* Local back-end: load a BertModel folder (config.json, model.safetensors,
 * tokenizer.json or vocab.txt, optional sentence-transformers files).
 * opts may be NULL (f32, one thread per core). The model id is the folder's
 * base name, with "@bf16"/"@int8" appended for those precisions. Fails with
 * RAG_EFORMAT naming the file if the folder holds a cross-encoder or no
 * tokenizer. Caller owns *out; free with rag_embedder_destroy. */
int rag_embedder_local_create(rag_embedder **out, const char *model_dir,
                              const rag_model_opts *opts, rag_err *err);

/* Remote back-end of type b->type ("tei", "hf_inference", "openai",
 * "ollama"). Nothing is sent until the first dim() or embed() call.
 * Model id: b->model, or for TEI without one the server's /info model_id
 * (fetched on first use). dim() is 0 until known: the first dim() call
 * embeds one probe text if needed (0 if the server cannot be reached).
 * Vectors are L2-normalized when opts->normalize (default). TEI batches
 * are cut at /info's max_client_batch_size; a 413/422 on a batch halves
 * the batch and resends it (the net layer never retries those). usage
 * (borrowed, may be NULL) gets one event per embed call. b is copied.
 * opts may be NULL. Caller owns *out. RAG_EINVAL for a disabled back-end
 * or an unknown type. Calls block; one call at a time per embedder. */
int rag_embedder_remote_create(rag_embedder **out, const rag_backend_cfg *b,
                               rag_usage *usage, const rag_remote_opts *opts,
                               rag_err *err);

/* Registry (embed_registry.c): the back-end named backend_name in cfg,
 * built by its type: tei, hf_inference, openai, ollama, local (b->model is
 * the model folder). Type "none" (or the built-in name "none") sets *out =
 * NULL and returns RAG_OK: no embedding stage. A disabled back-end fails
 * with RAG_EINVAL and the reason; an unknown name with RAG_ENOTFOUND.
 * usage may be NULL. Caller owns *out. */
int rag_embedder_from_config(rag_embedder **out, const rag_config *cfg,
                             const char *backend_name, rag_usage *usage,
                             rag_err *err);
/* Same with remote options (clock, backoff, breaker, batch; may be NULL). */
int rag_embedder_from_config_ex(rag_embedder **out, const rag_config *cfg,
                                const char *backend_name, rag_usage *usage,
                                const rag_remote_opts *opts, rag_err *err);

/* 1 if two embedding model ids name the same model: equal, or one has no
 * '/' and equals the other's part after its last '/' (a local folder
 * "all-MiniLM-L6-v2" and the Hub id "sentence-transformers/all-MiniLM-L6-v2"). */
int rag_embed_model_ids_match(const char *a, const char *b);

/* Fallback chain over cfg->chain_embed (embed_chain.c), walked by
 * rag_chain_walk (obs/chain.h: the rules shared with the rerank and LLM
 * chains). Per call, members are tried in order: a disabled one
 * (placeholder token; also logged once at build, RAG_LOG_INFO), one whose
 * monthly budget is spent, or one whose circuit breaker is open is skipped
 * without a request; one that fails (any error) or gives an invalid result
 * (vectors of another dimension than the chain's, a non-finite value)
 * falls through to the next. A "none" entry ends the list. All members must
 * serve the same model (rag_embed_model_ids_match; a TEI member in a chain
 * of two or more needs `model` set): a chain that mixes fails with
 * RAG_EINVAL naming both back-ends and models.
 * Dimension: the one the caller declares (rag_embedder_set_dim; retrieval
 * declares the stored vectors'), else the first available member's (one
 * probe request if it is remote); either way it is declared to every
 * member (set_dim), so a fallback member's first use costs no extra
 * request, and a member of another dimension fails rather than the chain.
 * Every attempt and every budget or breaker skip is recorded in usage
 * (stage "embed", fell_back = 1 when a later member exists). served_by (the
 * op / rag_embedder_served_by) names the member that served the last call,
 * or NULL if it failed. When every member fails: RAG_EBACKEND "chains.embed:
 * no back-end answered (a: ...; b: ...)". A chain with no usable member:
 * RAG_OK with *out = NULL when the list is empty or only "none", else
 * RAG_EINVAL with the build error of the last member (all reasons logged).
 * usage and cfg are borrowed and must outlive the chain; opts may be NULL.
 * Caller owns *out. */
int rag_embedder_chain_create(rag_embedder **out, const rag_config *cfg,
                              rag_usage *usage, const rag_remote_opts *opts,
                              rag_err *err);

/* An embedder any number of threads may call at once: calls to inner are
 * serialised on a mutex (one copy of the weights, one pass at a time; a
 * local pass already uses every core). served_by and last_call report the
 * calling thread's own last call. inner is TAKEN (destroyed with *out,
 * also on failure); inner NULL gives *out NULL and RAG_OK. RAG_ENOMEM.
 * (embed_locked.c) */
int rag_embedder_locked_create(rag_embedder **out, rag_embedder *inner, rag_err *err);

#endif
