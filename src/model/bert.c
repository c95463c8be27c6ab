/* bert.c - the BERT forward pass, pooling and the cross-encoder head.
 *
 * Per batch (sequences sorted by length, padded to the longest in the
 * batch only):
 *   x = LayerNorm(word[id] + pos[t] + type[tt])
 *   per layer:  qkv = x Wqkv^T + b                       (one fused matmul)
 *               ctx = softmax(Q K^T / sqrt(dh), keys >= len masked) V
 *               x   = LayerNorm(x + ctx Wo^T + bo)         (residual fused)
 *               x   = LayerNorm(x + gelu(x Wup^T + bup) Wdown^T + bdown)
 *   encoder:    mean over the real tokens or the [CLS] row, optional L2 norm
 *   cross:      logits = Wc tanh(Wp x[CLS] + bp) + bc
 * Attention runs on groups of sequences of a bucket (probabilities kept
 * under ATTN_BYTES): the two products are 4-D strided matmuls that read Q,
 * K and V in place from the fused QKV buffer and write the context straight
 * into the hidden-state layout; 1/sqrt(dh) is folded into Wq at load.
 * The feed-forward block runs on tiles of FFN_ROWS token rows (rows are
 * independent there), which bounds its intermediate buffer.
 * Masked keys get probability exactly 0, which is what Hugging Face's large
 * negative additive mask rounds to. Padded query rows are computed and
 * ignored.
 */
#include "model_impl.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define ATTN_BYTES ((size_t)16 << 20)
/* The feed-forward block runs on tiles of this many token rows, so its
 * 4H-wide intermediate is FFN_ROWS x 4H floats, not batch x len x 4H. */
#define FFN_ROWS 1024

struct rag_session {
    const rag_model *m;
    rag_dnn *dnn;              /* NULL on the reference path */
    size_t cap_tokens, cap_len, cap_batch;
    float *x, *qkv, *ctx, *ffn;        /* [T,H] [T,3H] [T,H] [T,I] */
    float *p;                          /* [group, heads, L, L] attention probs */
    size_t *lens;                      /* [B] real tokens per bucket row */
    size_t attn_group;                 /* sequences per attention call */
    float *rows, *rows2;               /* [B,H] pooler input/output */
    size_t *order;
    uint64_t *keys;
    size_t cap_order;
    rag_session_stats st;
};

int rag_session_create(rag_session **out, const rag_model *m, rag_err *err)
{
    rag_session *s = rag_calloc(1, sizeof *s);
    int rc;
    *out = NULL;
    if (!s)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    s->m = m;
    if (m->engine) {
        rc = rag_dnn_create(&s->dnn, m, err);
        if (rc < 0) {
            rag_free(s);
            return rc;
        }
    }
    *out = s;
    return RAG_OK;
}

static void free_scratch(rag_session *s)
{
    rag_free(s->x);
    rag_free(s->qkv);
    rag_free(s->ctx);
    rag_free(s->ffn);
    rag_free(s->p);
    rag_free(s->rows);
    rag_free(s->rows2);
    rag_free(s->lens);
    s->lens = NULL;
    s->x = s->qkv = s->ctx = s->ffn = s->p = NULL;
    s->rows = s->rows2 = NULL;
    s->cap_tokens = s->cap_len = s->cap_batch = 0;
}

void rag_session_destroy(rag_session *s)
{
    if (!s)
        return;
    free_scratch(s);
    rag_free(s->order);
    rag_free(s->keys);
    rag_dnn_destroy(s->dnn);
    rag_free(s);
}

void rag_session_get_stats(const rag_session *s, rag_session_stats *st)
{
    *st = s->st;
}

/* Size scratch for batch x len tokens; grows only. */
static int reserve(rag_session *s, size_t batch, size_t len, rag_err *err)
{
    const rag_model *m = s->m;
    size_t h = (size_t)m->info.hidden, f = (size_t)m->info.intermediate;
    size_t nh = (size_t)m->info.n_heads, t = batch * len;

    if (t <= s->cap_tokens && len <= s->cap_len && batch <= s->cap_batch)
        return RAG_OK;
    if (t < s->cap_tokens)
        t = s->cap_tokens;
    if (len < s->cap_len)
        len = s->cap_len;
    if (batch < s->cap_batch)
        batch = s->cap_batch;
    free_scratch(s);
    s->x = rag_malloc(t * h * sizeof(float));
    s->qkv = rag_malloc(t * 3 * h * sizeof(float));
    s->ctx = rag_malloc(t * h * sizeof(float));
    s->ffn = rag_malloc((t < FFN_ROWS ? t : FFN_ROWS) * f * sizeof(float));
    /* attention probabilities for a group of sequences, ~16 MB at most */
    s->attn_group = (ATTN_BYTES / (nh * len * len * sizeof(float)));
    if (s->attn_group < 1)
        s->attn_group = 1;
    if (s->attn_group > batch)
        s->attn_group = batch;
    s->p = rag_malloc(s->attn_group * nh * len * len * sizeof(float));
    s->lens = rag_malloc(batch * sizeof *s->lens);
    s->rows = rag_malloc(batch * h * sizeof(float));
    s->rows2 = rag_malloc(batch * h * sizeof(float));
    if (!s->x || !s->qkv || !s->ctx || !s->ffn || !s->p || !s->lens || !s->rows || !s->rows2) {
        free_scratch(s);
        return rag_fail(err, RAG_ENOMEM, "model session: out of memory for %zu x %zu tokens",
                        batch, len);
    }
    s->cap_tokens = t;
    s->cap_len = len;
    s->cap_batch = batch;
    return RAG_OK;
}

static int linear(rag_session *s, const rag_linear *l, const float *x, size_t m, float *y,
                  rag_lin_epilogue ep, rag_err *err)
{
    double t0 = rag_now_ms();
    int rc = RAG_OK;
    s->st.flops += 2.0 * (double)m * l->n_out * l->n_in;
    if (s->dnn && l->packed)
        rc = rag_dnn_linear(s->dnn, l, x, m, y, ep, err);
    else
        rag_k_linear_ref(l, x, m, y, ep, s->m->n_threads);
    s->st.ms_linear += rag_now_ms() - t0;
    return rc;
}

void rag_k_bmm_ref(const rag_bmm *p, int n_threads)
{
    const size_t nob = p->outer * p->batch;
#pragma omp parallel for num_threads(n_threads) collapse(2) schedule(static) if (nob * p->m * p->n * p->k > 65536)
    for (size_t ob = 0; ob < nob; ob++) {
        for (size_t i = 0; i < p->m; i++) {
            size_t o = ob / p->batch, b = ob % p->batch;
            const float *ar = p->a + o * p->a_so + b * p->a_sb + i * p->a_sm;
            const float *wb = p->w + o * p->w_so + b * p->w_sb;
            float *yr = p->y + o * p->y_so + b * p->y_sb + i * p->y_sm;
            for (size_t j = 0; j < p->n; j++) {
                float acc = 0.0f;
                for (size_t t = 0; t < p->k; t++)
                    acc += ar[t] * wb[t * p->w_sk + j * p->w_sn];
                yr[j] = acc;
            }
        }
    }
}

static int bmm(rag_session *s, const rag_bmm *p, rag_err *err)
{
    s->st.flops += 2.0 * (double)p->outer * p->batch * p->m * p->n * p->k;
    if (s->dnn)
        return rag_dnn_bmm(s->dnn, p, err);
    rag_k_bmm_ref(p, s->m->n_threads);
    return RAG_OK;
}

/* Self-attention for sequences [0, ns) of a bucket, each L rows of qkv
 * (Q pre-scaled by 1/sqrt(dh) at load) -> the same rows of ctx; lens[b]
 * real tokens. The two products read Q, K, V in place from the fused
 * buffer through strides, over all ns x heads at once. */
static int attention(rag_session *s, const float *qkv, size_t ns, size_t L, const size_t *lens,
                     float *ctx, rag_err *err)
{
    const rag_model *m = s->m;
    const size_t h = (size_t)m->info.hidden, nh = (size_t)m->info.n_heads, dh = h / nh;
    const int nt = m->n_threads;
    rag_bmm qk = {
        .outer = ns, .batch = nh, .m = L, .n = L, .k = dh,
        .a = qkv, .a_so = L * 3 * h, .a_sb = dh, .a_sm = 3 * h,           /* Q[s][hd][i][d] */
        .w = qkv + h, .w_so = L * 3 * h, .w_sb = dh, .w_sk = 1, .w_sn = 3 * h, /* K^T */
        .y = s->p, .y_so = nh * L * L, .y_sb = L * L, .y_sm = L,
    };
    rag_bmm pv = {
        .outer = ns, .batch = nh, .m = L, .n = dh, .k = L,
        .a = s->p, .a_so = nh * L * L, .a_sb = L * L, .a_sm = L,
        .w = qkv + 2 * h, .w_so = L * 3 * h, .w_sb = dh, .w_sk = 3 * h, .w_sn = 1, /* V */
        .y = ctx, .y_so = L * h, .y_sb = dh, .y_sm = h,                /* ctx[s][i][hd*dh+d] */
    };
    int rc;

    rc = bmm(s, &qk, err);
    if (rc < 0)
        return rc;
#pragma omp parallel for num_threads(nt) schedule(static) if (ns * nh * L * L > 32768)
    for (size_t r = 0; r < ns * nh * L; r++)
        rag_k_softmax_row(s->p + r * L, lens[r / (nh * L)], L);
    return bmm(s, &pv, err);
}

/* Forward one bucket: sequences idx[0..nb) padded to L; writes out rows. */
static int forward(rag_session *s, const int32_t *const *ids, const int32_t *const *type_ids,
                   const size_t *n_tokens, const size_t *idx, size_t nb, size_t L, float *out,
                   rag_err *err)
{
    const rag_model *m = s->m;
    const size_t h = (size_t)m->info.hidden, T = nb * L;
    int rc;

    rc = reserve(s, nb, L, err);
    if (rc < 0)
        return rc;
    for (size_t b = 0; b < nb; b++)
        s->lens[b] = n_tokens[idx[b]];
#pragma omp parallel for num_threads(m->n_threads) collapse(2) schedule(static) if (T * h > 65536)
    for (size_t b = 0; b < nb; b++) {
        for (size_t t = 0; t < L; t++) {
            size_t si = idx[b], n = n_tokens[si];
            const int32_t *tt = type_ids ? type_ids[si] : NULL;
            float *x = s->x + (b * L + t) * h;
            /* padding: id 0 ([PAD] in BERT vocabularies), type 0 */
            size_t id = (size_t)(t < n ? ids[si][t] : 0);
            const float *p = m->pos + t * h;
            const float *ty = m->type + (size_t)(t < n && tt ? tt[t] : 0) * h;
            if (m->word_q) {
                const int8_t *q = m->word_q + id * h;
                float sc = m->word_scale[id];
                for (size_t d = 0; d < h; d++)
                    x[d] = (float)q[d] * sc + p[d] + ty[d];
            } else {
                const float *w = m->word + id * h;
                for (size_t d = 0; d < h; d++)
                    x[d] = w[d] + p[d] + ty[d];
            }
        }
    }
    rag_k_layernorm(s->x, T, (int)h, m->emb_ln_g, m->emb_ln_b, m->eps, m->n_threads);

    for (int li = 0; li < m->info.n_layers; li++) {
        const rag_layer *Ly = &m->layers[li];
        if ((rc = linear(s, &Ly->qkv, s->x, T, s->qkv, LIN_PLAIN, err)) < 0)
            return rc;
        double t0 = rag_now_ms();
        for (size_t b = 0; b < nb; b += s->attn_group) {
            size_t ns = nb - b < s->attn_group ? nb - b : s->attn_group;
            rc = attention(s, s->qkv + b * L * 3 * h, ns, L, s->lens + b, s->ctx + b * L * h, err);
            if (rc < 0)
                return rc;
        }
        s->st.ms_attention += rag_now_ms() - t0;
        if ((rc = linear(s, &Ly->out, s->ctx, T, s->x, LIN_RESIDUAL, err)) < 0)
            return rc;
        rag_k_layernorm(s->x, T, (int)h, Ly->ln1_g, Ly->ln1_b, m->eps, m->n_threads);
        for (size_t r0 = 0; r0 < T; r0 += FFN_ROWS) {
            size_t nr = T - r0 < FFN_ROWS ? T - r0 : FFN_ROWS;
            if ((rc = linear(s, &Ly->up, s->x + r0 * h, nr, s->ffn, LIN_GELU, err)) < 0 ||
                (rc = linear(s, &Ly->down, s->ffn, nr, s->x + r0 * h, LIN_RESIDUAL, err)) < 0)
                return rc;
        }
        rag_k_layernorm(s->x, T, (int)h, Ly->ln2_g, Ly->ln2_b, m->eps, m->n_threads);
    }

    if (m->info.kind == RAG_MODEL_KIND_CROSS) {
        size_t nl = (size_t)m->info.n_labels;
        for (size_t b = 0; b < nb; b++)
            memcpy(s->rows + b * h, s->x + b * L * h, h * sizeof(float));
        rag_k_linear_ref(&m->pooler, s->rows, nb, s->rows2, LIN_TANH, 1);
        rag_k_linear_ref(&m->classifier, s->rows2, nb, s->rows, LIN_PLAIN, 1);
        for (size_t b = 0; b < nb; b++)
            memcpy(out + idx[b] * nl, s->rows + b * nl, nl * sizeof(float));
        return RAG_OK;
    }
    for (size_t b = 0; b < nb; b++) {
        size_t n = n_tokens[idx[b]];
        float *o = out + idx[b] * h;
        const float *xb = s->x + b * L * h;
        if (m->info.pooling == RAG_POOL_CLS) {
            memcpy(o, xb, h * sizeof(float));
        } else {
            for (size_t d = 0; d < h; d++)
                o[d] = 0.0f;
            for (size_t t = 0; t < n; t++)
                for (size_t d = 0; d < h; d++)
                    o[d] += xb[t * h + d];
            for (size_t d = 0; d < h; d++)
                o[d] /= (float)n;
        }
        if (m->info.normalize) {
            double ss = 0.0;
            float inv;
            for (size_t d = 0; d < h; d++)
                ss += (double)o[d] * o[d];
            inv = (float)(1.0 / fmax(sqrt(ss), 1e-12));
            for (size_t d = 0; d < h; d++)
                o[d] *= inv;
        }
    }
    return RAG_OK;
}

/* Sort key: length in the high bits, input index in the low 40 bits, so
 * equal lengths keep input order. */
static int cmp_key(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y);
}

int rag_session_run(rag_session *s, const int32_t *const *ids,
                    const int32_t *const *type_ids, const size_t *n_tokens,
                    size_t n_seqs, float *out, rag_err *err)
{
    const rag_model *m = s->m;
    size_t max_batch = m->opts.max_batch;
    int rc = RAG_OK;

    double t_start = rag_now_ms();
    memset(&s->st, 0, sizeof s->st);
    for (size_t i = 0; i < n_seqs; i++) {
        if (n_tokens[i] < 1 || n_tokens[i] > (size_t)m->info.max_seq)
            return rag_fail(err, RAG_ELIMIT,
                            "model input %zu has %zu tokens (allowed 1..%d = max_seq_length)",
                            i, n_tokens[i], m->info.max_seq);
        for (size_t t = 0; t < n_tokens[i]; t++) {
            if (ids[i][t] < 0 || ids[i][t] >= m->info.vocab_size)
                return rag_fail(err, RAG_EINVAL, "model input %zu: token id %d at %zu is "
                                "outside the vocabulary (%d)", i, (int)ids[i][t], t,
                                m->info.vocab_size);
            if (type_ids && type_ids[i] && (type_ids[i][t] < 0 || type_ids[i][t] >= m->n_types))
                return rag_fail(err, RAG_EINVAL, "model input %zu: token type %d at %zu is "
                                "outside 0..%d", i, (int)type_ids[i][t], t, m->n_types - 1);
        }
    }
    if (n_seqs == 0)
        return RAG_OK;
    if (n_seqs >= ((uint64_t)1 << 40))
        return rag_fail(err, RAG_ELIMIT, "too many model inputs");
    if (n_seqs > s->cap_order) {
        size_t *o = rag_realloc(s->order, n_seqs * sizeof *o);
        uint64_t *k = rag_realloc(s->keys, n_seqs * sizeof *k);
        if (o)
            s->order = o;
        if (k)
            s->keys = k;
        if (!o || !k)
            return rag_fail(err, RAG_ENOMEM, "out of memory");
        s->cap_order = n_seqs;
    }
    for (size_t i = 0; i < n_seqs; i++)
        s->keys[i] = ((uint64_t)n_tokens[i] << 40) | i;
    qsort(s->keys, n_seqs, sizeof *s->keys, cmp_key);
    for (size_t i = 0; i < n_seqs; i++)
        s->order[i] = (size_t)(s->keys[i] & (((uint64_t)1 << 40) - 1));
    if (s->dnn)
        omp_set_num_threads(m->n_threads);
    for (size_t i = 0; i < n_seqs && rc == RAG_OK; i += max_batch) {
        size_t nb = n_seqs - i < max_batch ? n_seqs - i : max_batch;
        size_t L = n_tokens[s->order[i + nb - 1]];
        rc = forward(s, ids, type_ids, n_tokens, s->order + i, nb, L, out, err);
    }
    s->st.ms_total = rag_now_ms() - t_start;
    return rc;
}
