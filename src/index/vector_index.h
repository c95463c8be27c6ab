/* vector_index.h - exact nearest-neighbour search over chunk embeddings.
 *
 * A rag_vector_index holds every vector of one embedding model as one
 * contiguous row-major float32 matrix (each row 64-byte aligned, padded
 * with zeros to a multiple of 16 floats) plus the chunk id of each row.
 * Search is exhaustive: a SIMD dot product of the query with every row
 * (kernel chosen at load time: AVX-512F, AVX2+FMA or scalar, by what the
 * CPU supports), a bounded heap keeps the best k.
 *
 * Scores are plain dot products. The index never normalises: for cosine
 * similarity, store and query with unit-length vectors.
 *
 * Optional int8 copy (opts.int8): every vector also kept as int8 with one
 * symmetric scale per vector (max |x| / 127). Search then scans the int8
 * rows (a quarter of the bytes) and re-scores candidates exactly in
 * float32. Which candidates:
 *   rescore_factor = 0 (default): every row whose quantisation error bound
 *     (|x| |y - t qy| + t |x - s qx| |qy|, per row and query) lets it reach
 *     the k-th best lower bound; the result then EQUALS the float32 exact
 *     search (same ids, same scores), it is only faster;
 *   rescore_factor = f > 0: the best k * f by the int8 score; the hits and
 *     their scores are exact but a true neighbour can be missed.
 *
 * int8-only (opts.int8_only, with int8; rag_vector_index_load only): no
 * float32 matrix in memory at all, a quarter of the bytes (100k x 384:
 * 38 MB of rows instead of 154 MB). The candidates chosen as above are
 * re-scored with the float32 vector read back from the `vectors` table
 * (the same kernel on the same zero-padded row), so the result is still
 * identical to the float32 scan. A candidate whose row has left the table
 * (or changed model) since loading is skipped, so a deleted chunk is never
 * returned, but the result is exact again only after a reload (do that
 * after re-indexing, as for the float32 form). The database connection
 * given to load is borrowed and must stay open while the index is used.
 *
 * Vectors live in the `vectors` table of the index file (chunk_id, model,
 * dim, data = dim little-endian float32). Loading checks every row: a row
 * of another model or dimension is an error naming both.
 *
 * Thread safety: searches on one index may run concurrently (search only
 * reads the index and allocates its own scratch; the int8-only re-scoring
 * reads of the database are serialised on a mutex of the index, and no
 * other thread may use that connection meanwhile); add/remove/destroy need
 * exclusive access.
 */
#ifndef RAG_VECTOR_INDEX_H
#define RAG_VECTOR_INDEX_H

#include "index/index.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rag_vector_index rag_vector_index;

typedef enum {
    RAG_VEC_KERNEL_AUTO = 0,    /* best the CPU supports */
    RAG_VEC_KERNEL_SCALAR = 1,
    RAG_VEC_KERNEL_AVX2 = 2,    /* AVX2 + FMA */
    RAG_VEC_KERNEL_AVX512 = 3,  /* AVX-512F */
} rag_vec_kernel;

typedef struct {
    int int8;               /* keep an int8 copy and scan it first */
    size_t rescore_factor;  /* int8: 0 = by error bounds (exact result); f = best k*f */
    size_t dim;             /* expected dimension; 0 = take it from the data */
    rag_vec_kernel kernel;  /* AUTO, or force one (RAG_EINVAL if the CPU lacks it) */
    int int8_only;          /* with int8: no float32 rows in memory, re-score from
                             * the vectors table (load only; create: RAG_EINVAL) */
} rag_vector_opts;

rag_vector_opts rag_vector_default_opts(void);

/* An empty index for model (copied) and dim >= 1. Caller owns *out; free
 * with rag_vector_index_destroy. opts may be NULL (defaults); int8_only
 * needs the table and is RAG_EINVAL here. */
int rag_vector_index_create(rag_vector_index **out, const char *model, size_t dim,
                            const rag_vector_opts *opts, rag_err *err);
/* Every row of the `vectors` table of db, which must all be of model (and
 * of opts->dim when non-zero, else all of one dim). An empty table gives
 * an empty index (dim opts->dim, or 0 until the first add). Caller owns
 * *out. Errors: RAG_EFORMAT naming the chunk, both models or both dims.
 * With opts->int8_only, db is borrowed for the life of *out, and a vector
 * given to rag_vector_index_add later must be in the table too. */
struct sqlite3;   /* the SQLite back-end's connection (store_sqlite.h) */
int rag_vector_index_load(rag_vector_index **out, struct sqlite3 *db, const char *model,
                          const rag_vector_opts *opts, rag_err *err);
/* The same from an open index; errors are prefixed with its path. */
int rag_vector_index_load_ix(rag_vector_index **out, rag_index *ix, const char *model,
                             const rag_vector_opts *opts, rag_err *err);
void rag_vector_index_destroy(rag_vector_index *vi);   /* NULL is a no-op */
/* The stored int8 copy (table vectors_int8, schema 4): what an int8-only
 * load computes from the float rows (rows, scales, ids), kept so a start
 * copies it instead of quantising every row. rag_vector_index_load uses it
 * when opts->int8_only and it is usable (its row count is the table's,
 * sizes, chunk-id order, checksum and finite scales check out); else it
 * logs why (a warning) and quantises the table, as without one. Any change
 * of the vectors table deletes it (triggers), so it never describes other
 * vectors than the table's.
 * rag_vector_int8_save: store it for model from the table, in a write
 * transaction of its own (db must not be in one): 1 written, 0 it was
 * current already or the table is empty, or an error (it is never needed:
 * a caller may log and go on).
 * rag_vector_int8_check: for `docrag check`: every stored copy is usable
 * and equals the table quantised again: 1 yes (or none stored), 0 no
 * (why[] says how), or an error of reading. */
int rag_vector_int8_save(struct sqlite3 *db, const char *model, rag_err *err);
int rag_vector_int8_check(struct sqlite3 *db, char *why, size_t n_why, rag_err *err);
/* 1 if a and b hold the same int8 rows, scales and chunk ids bit for bit
 * (both with an int8 copy), else 0. */
int rag_vector_index_same_int8(const rag_vector_index *a, const rag_vector_index *b);


size_t rag_vector_index_count(const rag_vector_index *vi);
size_t rag_vector_index_dim(const rag_vector_index *vi);
const char *rag_vector_index_model(const rag_vector_index *vi); /* borrowed */
/* Bytes held in memory by the index: rows (float32 and/or int8), scales,
 * ids and the id map (allocated capacity, not just the rows in use). */
size_t rag_vector_index_bytes(const rag_vector_index *vi);
/* The kernel in use (never AUTO). */
rag_vec_kernel rag_vector_index_kernel(const rag_vector_index *vi);
const char *rag_vec_kernel_name(rag_vec_kernel k);
/* Best kernel this CPU runs (AVX-512 only when __builtin_cpu_supports says so). */
rag_vec_kernel rag_vec_kernel_best(void);

/* Add (or replace) the vector of chunk_id; vec has dim floats (copied).
 * On an empty index of dim 0 the first add sets dim. */
int rag_vector_index_add(rag_vector_index *vi, int64_t chunk_id, const float *vec,
                         size_t dim, rag_err *err);
/* Remove chunk_id: 1 if it was there, 0 if not. Row order changes. */
int rag_vector_index_remove(rag_vector_index *vi, int64_t chunk_id);

/* Which chunks a search may return. Both parts optional; a chunk must pass
 * both. ids: sorted or not, duplicates allowed; NULL with n_ids 0 = all.
 * To allow nothing, pass a non-NULL ids with n_ids 0. allow: called only
 * for chunks that would enter the current top k; nonzero = allowed. */
typedef struct {
    const int64_t *ids;
    size_t n_ids;
    int (*allow)(void *ctx, int64_t chunk_id);
    void *ctx;
} rag_vector_filter;

typedef struct {
    int64_t chunk_id;
    float score;     /* dot product, float32 accumulation; higher is better */
} rag_vector_hit;

/* The k best chunks for query (dim floats; must equal the index's dim
 * unless the index is empty). hits holds k entries; *n_hits gets how many
 * were filled (min(k, allowed rows)), best first, equal scores by
 * ascending chunk id. filter may be NULL. */
int rag_vector_index_search(const rag_vector_index *vi, const float *query, size_t dim,
                            size_t k, const rag_vector_filter *filter,
                            rag_vector_hit *hits, size_t *n_hits, rag_err *err);

/* The chunks of documents whose path, or its base name, matches glob (fnmatch, NULL = any)
 * with a page span overlapping [page_min, page_max] (0 = unbounded), as a
 * sorted id array for rag_vector_filter.ids. Caller owns *ids (rag_free;
 * NULL when *n_ids is 0). */
int rag_vector_filter_ids(int64_t **ids, size_t *n_ids, rag_index *ix, const char *glob,
                          int page_min, int page_max, rag_err *err);

/* ---- kernels (vector_kernels.c), exposed for tests and benchmarks ------ */

/* out[r] = dot(rows + r * stride, q) over n (a multiple of 16; rows and q
 * 64-byte aligned). */
typedef void (*rag_vec_dot_f32_fn)(const float *rows, size_t n_rows, size_t stride,
                                   const float *q, size_t n, float *out);
/* The same for int8 (n a multiple of 64). */
typedef void (*rag_vec_dot_i8_fn)(const int8_t *rows, size_t n_rows, size_t stride,
                                  const int8_t *q, size_t n, int32_t *out);
/* NULL when k is not compiled in. Calling a kernel the CPU lacks is
 * undefined (SIGILL); check rag_vec_kernel_supported first. */
rag_vec_dot_f32_fn rag_vec_dot_f32(rag_vec_kernel k);
rag_vec_dot_i8_fn rag_vec_dot_i8(rag_vec_kernel k);
int rag_vec_kernel_supported(rag_vec_kernel k);

#endif
