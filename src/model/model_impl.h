/* model_impl.h - private structures shared by the .c files of src/model.
 * Not part of the module's interface: include model.h elsewhere.
 */
#ifndef RAG_MODEL_IMPL_H
#define RAG_MODEL_IMPL_H

#include "model.h"

#include <oneapi/dnnl/dnnl.h>

/* One dense layer y = x W^T + b, W stored [n_out][n_in] like PyTorch. */
typedef struct {
    int n_out, n_in;
    float *w;            /* f32 [n_out][n_in], owned; freed after packing */
    float *b;            /* f32 [n_out], owned */
    void *packed;        /* owned: weights in oneDNN's preferred layout */
    dnnl_memory_desc_t packed_md;
    float *w_scale;      /* int8: per-output-channel symmetric scale */
    int32_t *w_comp;     /* int8: 128 * sum_k q[n][k] (u8 zero-point fix) */
} rag_linear;

typedef struct {
    rag_linear qkv;      /* query, key, value fused: n_out = 3 * hidden */
    rag_linear out;      /* attention output dense */
    rag_linear up;       /* intermediate dense (GELU) */
    rag_linear down;     /* output dense */
    float *ln1_g, *ln1_b;    /* attention.output.LayerNorm */
    float *ln2_g, *ln2_b;    /* output.LayerNorm */
} rag_layer;

struct rag_model {
    rag_model_info info;
    char arch[64];
    rag_model_opts opts;
    int n_threads;
    int n_types;
    int n_positions;
    float eps;
    float *word, *pos, *type;        /* owned f32 tables (word: see word_mapped) */
    int word_mapped;                 /* 1: word points into map (read-only file
                                        pages, not owned); 0: owned copy */
    int8_t *word_q;                  /* int8 precision: the word table as s8 rows
                                        (word is NULL), row r = word_q[r] * word_scale[r] */
    float *word_scale;
    void *map;                       /* model.safetensors mapping kept for word */
    size_t n_map;
    float *emb_ln_g, *emb_ln_b;
    rag_layer *layers;
    rag_linear pooler;               /* cross-encoder only */
    rag_linear classifier;           /* cross-encoder only */
    dnnl_engine_t engine;            /* NULL on the reference path */
    int bf16_native;     /* 0: CPU lacks bf16 matmul; bf16 is emulated by
                            rounding weights and activations, f32 matmul */
    int w8_max;          /* int8 weight range: 127 with VNNI; 63 without, as
                            AVX2's vpmaddubsw saturates s16 pair sums */
};

/* Epilogue applied to a linear layer's output. */
typedef enum {
    LIN_PLAIN = 0,     /* y = xW^T + b */
    LIN_GELU = 1,      /* y = gelu_erf(xW^T + b) */
    LIN_RESIDUAL = 2,  /* y += xW^T + b (y holds the residual on entry) */
    LIN_TANH = 3,      /* y = tanh(xW^T + b) */
} rag_lin_epilogue;

/* kernels.c: plain loops, and the oneDNN glue. */
void rag_k_linear_ref(const rag_linear *l, const float *x, size_t m, float *y,
                      rag_lin_epilogue ep, int n_threads);
void rag_k_layernorm(float *x, size_t m, int n, const float *g, const float *b,
                     float eps, int n_threads);
float rag_k_gelu(float x);
/* Softmax of row[0..len) in place (fast exp, rel. error ~2e-7); row[len..
 * n_cols) set to 0 (masked keys). */
void rag_k_softmax_row(float *row, size_t len, size_t n_cols);
/* Dynamic u8 quantisation of one row: scale = max|x|/127, q = round(x/scale)
 * + 128. */
void rag_k_quant_row_u8(const float *x, size_t k, uint8_t *q, float *scale);
/* y = sx * w_scale * (acc - w_comp) + bias, then the epilogue (fast GELU). */
void rag_k_int8_epilogue(const int32_t *acc, size_t n, float sx, const float *w_scale,
                         const int32_t *w_comp, const float *bias, float *y,
                         rag_lin_epilogue ep);

/* Probe the CPU (oneDNN ISA) and set m->bf16_native and m->w8_max. */
void rag_k_setup(rag_model *m);
/* Pack l->w for the model's precision (weights reordered once into the
 * layout oneDNN prefers); frees l->w. */
int rag_k_pack(const rag_model *m, rag_linear *l, const char *what, rag_err *err);
void rag_linear_fini(rag_linear *l);

/* Per-session oneDNN state (a small primitive cache plus scratch). */
typedef struct rag_dnn rag_dnn;
int rag_dnn_create(rag_dnn **out, const rag_model *m, rag_err *err);
void rag_dnn_destroy(rag_dnn *d);
int rag_dnn_linear(rag_dnn *d, const rag_linear *l, const float *x, size_t m,
                   float *y, rag_lin_epilogue ep, rag_err *err);
/* Strided batched matmul, all f32: for o < outer, b < batch, i < m, j < n
 *   y[o*y_so + b*y_sb + i*y_sm + j] =
 *       sum_t a[o*a_so + b*a_sb + i*a_sm + t] * w[o*w_so + b*w_sb + t*w_sk + j*w_sn]
 * (a's and y's innermost stride is 1; w may be transposed). Attention uses
 * it straight on the fused QKV buffer and writes the context in place, so
 * no head-major copies are made. */
typedef struct {
    size_t outer, batch, m, n, k;   /* outer = sequences, batch = heads */
    const float *a;
    size_t a_so, a_sb, a_sm;
    const float *w;
    size_t w_so, w_sb, w_sk, w_sn;
    float *y;
    size_t y_so, y_sb, y_sm;
} rag_bmm;
int rag_dnn_bmm(rag_dnn *d, const rag_bmm *p, rag_err *err);
void rag_k_bmm_ref(const rag_bmm *p, int n_threads);

#endif
