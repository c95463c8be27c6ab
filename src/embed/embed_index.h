/* embed_index.h - vectors at index time: embed every chunk of an index that
 * has no vector yet, through an embedding cache, and load the vectors of a
 * model back for search.
 *
 * The text embedded for a chunk is its context header plus its text
 * (rag_embed_chunk_text): "title\nsection\n\ntext" with empty parts and
 * their newlines left out, title and section each cut to 160 bytes. The
 * cache key is (model id, sha256 hex of exactly that text), so identical
 * text under the same title and section is embedded once, in any document,
 * and re-indexing unchanged text costs no inference.
 *
 * The index records the model in `meta` (embed_model, embed_dim). A pass
 * with an embedder of another model (rag_embed_model_ids_match fails) or
 * another dimension deletes every stored vector (the cache stays: it is
 * keyed by model) and logs one warning, "embedding model changed from X
 * (384-d) to Y (768-d): re-embedding N chunks". Cumulative cache lookups
 * and hits are kept in meta (embed_cache_lookups, embed_cache_hits) and
 * shown by rag_index_stats_get.
 *
 * Thread safety: like rag_index and rag_embedder, one thread at a time.
 */
#ifndef RAG_EMBED_INDEX_H
#define RAG_EMBED_INDEX_H

#include "config/config.h"
#include "core/core.h"
#include "embed/embed.h"
#include "index/index.h"
#include "index/vector_index.h"

#include <stddef.h>

typedef struct {
    size_t batch;   /* chunks per embed call and per transaction; 0 = 32 */
    /* Optional: called after each committed batch with chunks done so far
     * (present + cached + embedded) out of the index's chunks. */
    void (*progress)(void *ctx, size_t n_done, size_t n_total);
    void *ctx;
} rag_embed_index_opts;

rag_embed_index_opts rag_embed_index_default_opts(void);
/* The defaults with embed.batch from cfg (cfg may be NULL). */
rag_embed_index_opts rag_embed_index_opts_from_config(const rag_config *cfg);

typedef struct {
    size_t n_chunks;       /* chunks in the index */
    size_t n_present;      /* already had a vector of this model: untouched */
    size_t n_cached;       /* got their vector without inference: a cache row,
                            * or the same text earlier in the same batch */
    size_t n_embedded;     /* got their vector from the embedder */
    size_t n_removed;      /* vectors deleted: another model or dimension */
    double seconds;
    char model[128];       /* model id the vectors are stored under */
    size_t dim;
    char prev_model[128];  /* model replaced by this pass; "" if none */
    size_t prev_dim;
} rag_embed_report;

/* Give every chunk of ix a vector of e's model: the stored model id and
 * dimension are checked first (see above), then the chunks without a
 * vector are read in (doc, ord) order, batch by batch: cache lookups, one
 * embed call for the distinct missing texts, then one transaction writing
 * vectors, cache rows and the counters. A crash loses at most the batch in
 * flight; the index stays consistent and the next pass resumes.
 * Vectors are stored as the embedder returns them (`vectors.data` = dim
 * little-endian float32). Errors: the embedder's failure stops the pass
 * (batches already committed stay) with its code and a message naming the
 * back-end (rag_embedder_served_by) and the chunk range; a back-end that
 * cannot tell its dimension (dim() = 0: unreachable) is RAG_EBACKEND; one
 * whose dimension changes mid-pass, or a non-finite value, is RAG_EFORMAT;
 * database errors are RAG_EIO naming the file. ix must not be inside
 * rag_index_begin. opts may be NULL; rep (may be NULL) is filled as far as
 * the pass got. */
int rag_embed_index(rag_index *ix, rag_embedder *e, const rag_embed_index_opts *opts,
                    rag_embed_report *rep, rag_err *err);

/* The text embedded (and hashed) for a chunk, appended to b. title and
 * section may be NULL. */
int rag_embed_chunk_text(rag_buf *b, const char *title, const char *section,
                         const char *text);

/* Vector options from the configuration: embed.vectors "int8" (default)
 * = int8 rows only in memory, float32 re-scoring read from the vectors
 * table (rag_vector_opts.int8_only); "f32" = the float32 matrix. */
rag_vector_opts rag_embed_vector_opts(const rag_config *cfg);

/* Load the vectors of model_id stored in ix (the model under which
 * rag_embed_model_ids_match finds them; an empty or NULL id takes the only
 * model stored) with opts (NULL: rag_embed_vector_opts(NULL)). No request
 * is made. RAG_ENOTFOUND, *out NULL, with the reason a user can act on when
 * the index holds no vectors of that model, vectors of another model (named
 * with its dimension) or of several ("run `docrag index`"). Caller owns *out
 * (rag_vector_index_destroy); for the int8-only form ix must stay open
 * while *out is used (see vector_index.h). */
int rag_embed_load_vectors(rag_vector_index **out, rag_index *ix, const char *model_id,
                           const rag_vector_opts *opts, rag_err *err);

#endif
