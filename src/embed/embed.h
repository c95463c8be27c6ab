/* embed.h - text embedders: one interface, several back-ends (STYLE.md §6).
 *
 * Back-ends: "local" (embed_local.c: WordPiece + the BERT encoder of
 * src/model, from a Hugging Face / sentence-transformers folder). Remote
 * back-ends implement the same ops table.
 *
 * Thread safety: an embedder runs one embed call at a time (it owns one
 * model session); create one embedder per thread, or serialise calls.
 */
#ifndef RAG_EMBED_H
#define RAG_EMBED_H

#include "core/core.h"
#include "model/model.h"

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

/* Local back-end: load a BertModel folder (config.json, model.safetensors,
 * tokenizer.json or vocab.txt, optional sentence-transformers files).
 * opts may be NULL (f32, one thread per core). The model id is the folder's
 * base name, with "@bf16"/"@int8" appended for those precisions. Fails with
 * RAG_EFORMAT naming the file if the folder holds a cross-encoder or no
 * tokenizer. Caller owns *out; free with rag_embedder_destroy. */
int rag_embedder_local_create(rag_embedder **out, const char *model_dir,
                              const rag_model_opts *opts, rag_err *err);

#endif
