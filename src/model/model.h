/* model.h - local BERT inference from Hugging Face model folders:
 * safetensors loading, the BERT encoder (bi-encoder, pooled embeddings) and
 * the cross-encoder head (BertForSequenceClassification), in f32, bf16 or
 * int8, through oneDNN matmuls or a plain C reference path.
 *
 * The model works on token ids only; text goes through src/text/wordpiece.h
 * first (src/embed/embed_local.c and src/rerank/rerank_local.c glue the two).
 *
 * Thread safety: a rag_model is read-only after rag_model_load and may be
 * shared by any number of threads. A rag_session holds scratch memory and
 * oneDNN primitives; use one session per thread.
 */
#ifndef RAG_MODEL_H
#define RAG_MODEL_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

/* ---- safetensors --------------------------------------------------------
 *
 * File layout: u64 little-endian N, then N bytes of UTF-8 JSON
 *   {"NAME": {"dtype": "F32", "shape": [d0, d1, ...],
 *             "data_offsets": [begin, end]}, ..., "__metadata__": {...}}
 * then the data area; offsets are relative to the data area (8 + N).
 */
typedef enum {
    RAG_DTYPE_BOOL, RAG_DTYPE_U8, RAG_DTYPE_I8, RAG_DTYPE_I16, RAG_DTYPE_U16,
    RAG_DTYPE_F16, RAG_DTYPE_BF16, RAG_DTYPE_I32, RAG_DTYPE_U32, RAG_DTYPE_F32,
    RAG_DTYPE_F64, RAG_DTYPE_I64, RAG_DTYPE_U64, RAG_DTYPE_F8_E4M3,
    RAG_DTYPE_F8_E5M2,
} rag_dtype;

#define RAG_ST_MAX_DIMS 8

typedef struct {
    char *name;
    rag_dtype dtype;
    int n_dims;
    int64_t shape[RAG_ST_MAX_DIMS];
    size_t n_elems;
    const uint8_t *data;   /* borrowed: points into the file bytes */
    size_t n_bytes;
} rag_st_tensor;

typedef struct {
    rag_st_tensor *tensors;  /* sorted by data offset */
    size_t n_tensors;
} rag_safetensors;

/* Parse and fully validate a safetensors file held in memory (whole file:
 * header and data). Checks the header length against n_file_bytes, JSON
 * syntax, known dtypes, shapes, offsets in range and non-overlapping, and
 * size == product(shape) * dtype size (overflow-checked). `name` (a file
 * name) prefixes error messages. Tensor data pointers borrow `file`.
 * Caller owns *out's contents; free with rag_safetensors_fini. */
int rag_safetensors_parse(rag_safetensors *out, const uint8_t *file,
                          size_t n_file_bytes, const char *name, rag_err *err);
void rag_safetensors_fini(rag_safetensors *st);
/* Borrowed pointer to the tensor called `name`, or NULL. */
const rag_st_tensor *rag_safetensors_find(const rag_safetensors *st,
                                          const char *name);
const char *rag_dtype_name(rag_dtype dt);

/* Half-precision conversions (round-to-nearest-even for f32 -> bf16). */
float rag_f16_to_f32(uint16_t h);
float rag_bf16_to_f32(uint16_t b);
uint16_t rag_f32_to_bf16(float f);

/* ---- models ------------------------------------------------------------- */

typedef enum {
    RAG_PRECISION_F32 = 0,
    RAG_PRECISION_BF16 = 1,  /* bf16 weights and activations, f32 accumulate */
    RAG_PRECISION_INT8 = 2,  /* u8 activations x s8 weights, s32 accumulate */
} rag_precision;

typedef enum {
    RAG_MODEL_KIND_ENCODER = 0,  /* BertModel: pooled sentence embeddings */
    RAG_MODEL_KIND_CROSS = 1,    /* BertForSequenceClassification: logits */
} rag_model_kind;

typedef enum {
    RAG_POOL_MEAN = 0,
    RAG_POOL_CLS = 1,
} rag_pooling;

typedef struct {
    int n_threads;           /* 0 = one per core */
    rag_precision precision;
    int reference;           /* 1 = plain C loops (f32 only), no oneDNN */
    size_t max_batch;        /* sequences per forward batch; 0 = 32 */
} rag_model_opts;

rag_model_opts rag_model_default_opts(void);
/* Parse a precision name ("f32", "bf16", "int8"); -1 if unknown. */
int rag_precision_parse(const char *s);
const char *rag_precision_name(rag_precision p);

typedef struct rag_model rag_model;

/* What a loaded model is; all values borrowed from the model. */
typedef struct {
    rag_model_kind kind;
    const char *architecture;  /* "BertModel", "BertForSequenceClassification" */
    int hidden;
    int n_layers;
    int n_heads;
    int intermediate;
    int vocab_size;
    int max_seq;          /* min(max_seq_length, max_position_embeddings) */
    rag_pooling pooling;  /* encoders */
    int normalize;        /* encoders: L2-normalise the pooled vector */
    int n_labels;         /* cross-encoders */
    size_t dim;           /* floats per output: hidden, or n_labels */
    rag_precision precision;
    size_t weight_file_bytes;
} rag_model_info;

/* Load a Hugging Face model folder: config.json, model.safetensors and, for
 * sentence-transformers models, modules.json, 1_Pooling/config.json and
 * sentence_bert_config.json (defaults: mean pooling, no normalisation,
 * max_seq_length = max_position_embeddings). Weights (f32/f16/bf16) are
 * mmapped read-only, converted, and packed once for oneDNN; the file is
 * unmapped before return. Tensor names with or without the "bert." prefix
 * are accepted. Errors name the file and, for weights, the tensor.
 * Caller owns *out; free with rag_model_destroy. */
int rag_model_load(rag_model **out, const char *dir, const rag_model_opts *opts,
                   rag_err *err);
void rag_model_destroy(rag_model *m);   /* NULL is a no-op */
void rag_model_get_info(const rag_model *m, rag_model_info *info);

typedef struct rag_session rag_session;

/* Caller owns *out; free with rag_session_destroy before the model. */
int rag_session_create(rag_session **out, const rag_model *m, rag_err *err);
void rag_session_destroy(rag_session *s);   /* NULL is a no-op */

/* Run n_seqs token sequences (each with its [CLS]/[SEP]) through the model.
 * ids[i] has n_tokens[i] ids; type_ids may be NULL (all 0) or type_ids[i]
 * may be NULL. Each sequence must have 1..max_seq tokens (RAG_ELIMIT
 * otherwise; the tokenizer truncates) and ids < vocab_size (RAG_EINVAL).
 * Sequences are sorted by length and batched so padding stays within a
 * bucket; out gets n_seqs * dim floats in input order: pooled embeddings
 * for encoders, raw logits for cross-encoders. Blocks; uses the model's
 * thread count. */
int rag_session_run(rag_session *s, const int32_t *const *ids,
                    const int32_t *const *type_ids, const size_t *n_tokens,
                    size_t n_seqs, float *out, rag_err *err);

/* What the last rag_session_run did, for benchmarks. */
typedef struct {
    double flops;          /* 2*M*N*K over every linear layer and both
                              attention products */
    double ms_total;
    double ms_linear;      /* linear layers incl. fused epilogues */
    double ms_attention;   /* gather, QK^T, softmax, PV, scatter */
} rag_session_stats;
void rag_session_get_stats(const rag_session *s, rag_session_stats *st);

#endif
