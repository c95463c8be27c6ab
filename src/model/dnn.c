/* dnn.c - oneDNN 2.6 matmul glue: weight packing at load, and per-session
 * primitive caches for linear layers and batched attention products.
 *
 * Weights are reordered once into the blocked layout oneDNN picks for
 * format_tag_any (f32, bf16 or s8). Primitives are created per (M, N, K,
 * epilogue) and kept in the session; oneDNN's own primitive cache makes
 * the first creation of a shape in a second session cheap.
 *
 * Precisions:
 *  f32   src f32 x W f32, bias and GELU/residual fused as post-ops.
 *  bf16  src rounded to bf16 here, W bf16, f32 dst, same post-ops.
 *  int8  W: per-output-channel symmetric s8 (scale = max|w|/127).
 *        src: dynamic per-row u8 with zero point 128 (scale = max|x|/127,
 *        q = round(x/scale) + 128). The matmul gives s32
 *        acc = sum_k q_x q_w; since q_x carries +128,
 *        y = s_x[m] s_w[n] (acc - 128 sum_k q_w[n][k]) + b[n]; the
 *        compensation term is precomputed per channel at load, and this
 *        epilogue (plus GELU/residual) runs here in C.
 * Attention products (Q K^T and P V) stay f32 in every precision.
 */
#include "model_impl.h"

#include <math.h>
#include <string.h>

#define PACK_M 256
#define MAX_PRIMS 64
#define ROW_BLOCK 1024

typedef struct {
    int is_bmm;
    size_t batch, m, n, k;
    int ep_or_trans;
    size_t outer;
    size_t strides[10];      /* bmm: a_so a_sb a_sm w_so w_sb w_sk w_sn y_so y_sb y_sm */
    dnnl_memory_desc_t src_md, wei_md, bias_md, dst_md;
    dnnl_primitive_t prim;
} prim_entry;

struct rag_dnn {
    const rag_model *m;
    dnnl_stream_t stream;
    prim_entry prims[MAX_PRIMS];
    size_t n_prims;
    size_t next_evict;
    void *act;                /* bf16 or u8 copy of the source */
    size_t cap_act_bytes;
    int32_t *acc;             /* int8: s32 matmul output */
    size_t cap_acc;
    float *row_scale;
    size_t cap_rows;
};

static int dnn_fail(rag_err *err, dnnl_status_t st, const char *what)
{
    return rag_fail(err, RAG_EBACKEND, "oneDNN: %s failed (status %d)", what, (int)st);
}

static dnnl_data_type_t src_type(const rag_model *m)
{
    rag_precision p = m->info.precision;
    if (p == RAG_PRECISION_BF16 && m->bf16_native)
        return dnnl_bf16;
    return p == RAG_PRECISION_INT8 ? dnnl_u8 : dnnl_f32;
}

static dnnl_data_type_t wei_type(const rag_model *m)
{
    rag_precision p = m->info.precision;
    if (p == RAG_PRECISION_BF16 && m->bf16_native)
        return dnnl_bf16;
    return p == RAG_PRECISION_INT8 ? dnnl_s8 : dnnl_f32;
}

static dnnl_status_t linear_pd(dnnl_primitive_desc_t *pd, const rag_model *m, size_t M,
                               int n_out, int n_in, const dnnl_memory_desc_t *wei_in,
                               rag_lin_epilogue ep, prim_entry *e);

void rag_k_setup(rag_model *m)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    int vnni = ((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_vnni) ==
                   (unsigned)dnnl_cpu_isa_avx512_core_vnni ||
               ((unsigned)isa & (unsigned)dnnl_cpu_isa_avx2_vnni) ==
                   (unsigned)dnnl_cpu_isa_avx2_vnni;
    m->w8_max = vnni ? 127 : 63;
    m->bf16_native = 0;
    if (m->info.precision == RAG_PRECISION_BF16) {
        dnnl_primitive_desc_t pd = NULL;
        prim_entry e;
        m->bf16_native = 1;
        if (linear_pd(&pd, m, 64, 64, 64, NULL, LIN_PLAIN, &e) != dnnl_success) {
            m->bf16_native = 0;
            rag_log(RAG_LOG_INFO, "model: this CPU has no bf16 matmul; bf16 is emulated "
                                  "(bf16-rounded weights and activations, f32 matmul)");
        }
        if (pd)
            dnnl_primitive_desc_destroy(pd);
    }
}

/* Build a linear-layer primitive descriptor; wei may be "any". */
static dnnl_status_t linear_pd(dnnl_primitive_desc_t *pd, const rag_model *m, size_t M,
                               int n_out, int n_in, const dnnl_memory_desc_t *wei_in,
                               rag_lin_epilogue ep, prim_entry *e)
{
    rag_precision p = m->info.precision;
    dnnl_dims_t sd = {(dnnl_dim_t)M, n_in}, wd = {n_in, n_out}, bd = {1, n_out},
                dd = {(dnnl_dim_t)M, n_out};
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t st;
    int int8 = p == RAG_PRECISION_INT8;

    dnnl_memory_desc_init_by_tag(&e->src_md, 2, sd, src_type(m), dnnl_ab);
    if (wei_in)
        e->wei_md = *wei_in;
    else
        dnnl_memory_desc_init_by_tag(&e->wei_md, 2, wd, wei_type(m), dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&e->bias_md, 2, bd, dnnl_f32, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&e->dst_md, 2, dd, int8 ? dnnl_s32 : dnnl_f32, dnnl_ab);
    st = dnnl_matmul_desc_init(&md, &e->src_md, &e->wei_md, int8 ? NULL : &e->bias_md,
                               &e->dst_md);
    if (st != dnnl_success)
        return st;
    if ((st = dnnl_primitive_attr_create(&attr)) != dnnl_success)
        return st;
    if (!int8 && (ep == LIN_GELU || ep == LIN_RESIDUAL)) {
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success)
            st = ep == LIN_GELU ? dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_gelu_erf,
                                                               0.0f, 0.0f)
                                : dnnl_post_ops_append_sum(po, 1.0f);
        if (st == dnnl_success)
            st = dnnl_primitive_attr_set_post_ops(attr, po);
        if (po)
            dnnl_post_ops_destroy(po);
    }
    if (st == dnnl_success)
        st = dnnl_primitive_desc_create(pd, &md, attr, m->engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

static int reorder_into(const rag_model *m, const dnnl_memory_desc_t *src_md, void *src,
                        const dnnl_memory_desc_t *dst_md, void *dst, rag_err *err)
{
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_memory_t ms = NULL, md = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_status_t st;

    st = dnnl_reorder_primitive_desc_create(&rpd, src_md, m->engine, dst_md, m->engine, NULL);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&r, rpd);
    if (st == dnnl_success)
        st = dnnl_memory_create(&ms, src_md, m->engine, src);
    if (st == dnnl_success)
        st = dnnl_memory_create(&md, dst_md, m->engine, dst);
    if (st == dnnl_success)
        st = dnnl_stream_create(&stream, m->engine, dnnl_stream_default_flags);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ms}, {DNNL_ARG_TO, md}};
        st = dnnl_primitive_execute(r, stream, 2, args);
        if (st == dnnl_success)
            st = dnnl_stream_wait(stream);
    }
    if (stream)
        dnnl_stream_destroy(stream);
    if (ms)
        dnnl_memory_destroy(ms);
    if (md)
        dnnl_memory_destroy(md);
    if (r)
        dnnl_primitive_destroy(r);
    if (rpd)
        dnnl_primitive_desc_destroy(rpd);
    return st == dnnl_success ? RAG_OK : dnn_fail(err, st, "weight reorder");
}

int rag_k_pack(const rag_model *m, rag_linear *l, const char *what, rag_err *err)
{
    static const size_t probe_m[] = {1, 3, 17, 100, 4096};
    dnnl_primitive_desc_t pd = NULL;
    prim_entry e;
    dnnl_memory_desc_t user_md;
    dnnl_dims_t wd = {l->n_in, l->n_out};
    size_t n_bytes, nk = (size_t)l->n_out * (size_t)l->n_in;
    int8_t *q = NULL;
    void *src = l->w;
    dnnl_status_t st;
    int rc, wmax = m->w8_max;

    st = linear_pd(&pd, m, PACK_M, l->n_out, l->n_in, NULL, LIN_PLAIN, &e);
    if (st != dnnl_success)
        return rag_fail(err, RAG_EBACKEND, "oneDNN: no %s matmul for %s [%d x %d] (status %d)",
                        rag_precision_name(m->info.precision), what, l->n_out, l->n_in,
                        (int)st);
    l->packed_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_primitive_desc_destroy(pd);
    /* The layout was chosen for M = PACK_M; sessions use any M. If some M
     * has no implementation for that layout, fall back to plain weights,
     * which every implementation accepts. */
    for (size_t i = 0; i < sizeof probe_m / sizeof probe_m[0]; i++) {
        dnnl_primitive_desc_t probe = NULL;
        st = linear_pd(&probe, m, probe_m[i], l->n_out, l->n_in, &l->packed_md, LIN_GELU, &e);
        if (probe)
            dnnl_primitive_desc_destroy(probe);
        if (st != dnnl_success) {
            rag_log(RAG_LOG_INFO, "model: %s: packed weight layout rejected for M=%zu; "
                                  "using plain weights", what, probe_m[i]);
            dnnl_memory_desc_init_by_tag(&l->packed_md, 2, wd, wei_type(m), dnnl_ba);
            break;
        }
    }
    n_bytes = dnnl_memory_desc_get_size(&l->packed_md);
    l->packed = rag_malloc(n_bytes ? n_bytes : 1);
    if (!l->packed)
        return rag_fail(err, RAG_ENOMEM, "out of memory packing %s", what);

    if (m->info.precision == RAG_PRECISION_INT8) {
        q = rag_malloc(nk);
        l->w_scale = rag_malloc((size_t)l->n_out * sizeof *l->w_scale);
        l->w_comp = rag_malloc((size_t)l->n_out * sizeof *l->w_comp);
        if (!q || !l->w_scale || !l->w_comp) {
            rag_free(q);
            return rag_fail(err, RAG_ENOMEM, "out of memory quantizing %s", what);
        }
        for (int n = 0; n < l->n_out; n++) {
            const float *w = l->w + (size_t)n * l->n_in;
            float mx = 0.0f, inv;
            int32_t sum = 0;
            for (int k = 0; k < l->n_in; k++)
                mx = fabsf(w[k]) > mx ? fabsf(w[k]) : mx;
            l->w_scale[n] = mx > 0.0f ? mx / (float)wmax : 1.0f;
            inv = 1.0f / l->w_scale[n];
            for (int k = 0; k < l->n_in; k++) {
                int v = (int)lrintf(w[k] * inv);
                v = v > wmax ? wmax : v < -wmax ? -wmax : v;
                q[(size_t)n * l->n_in + k] = (int8_t)v;
                sum += v;
            }
            l->w_comp[n] = 128 * sum;
        }
        src = q;
        dnnl_memory_desc_init_by_tag(&user_md, 2, wd, dnnl_s8, dnnl_ba);
    } else {
        if (m->info.precision == RAG_PRECISION_BF16 && !m->bf16_native)
            for (size_t i = 0; i < nk; i++)
                l->w[i] = rag_bf16_to_f32(rag_f32_to_bf16(l->w[i]));
        dnnl_memory_desc_init_by_tag(&user_md, 2, wd, dnnl_f32, dnnl_ba);
    }
    rc = reorder_into(m, &user_md, src, &l->packed_md, l->packed, err);
    rag_free(q);
    if (rc < 0)
        return rag_err_prefix(err, "%s", what);
    rag_free(l->w);
    l->w = NULL;
    return RAG_OK;
}

int rag_dnn_create(rag_dnn **out, const rag_model *m, rag_err *err)
{
    rag_dnn *d = rag_calloc(1, sizeof *d);
    *out = NULL;
    if (!d)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    d->m = m;
    if (dnnl_stream_create(&d->stream, m->engine, dnnl_stream_default_flags) != dnnl_success) {
        rag_free(d);
        return rag_fail(err, RAG_EBACKEND, "oneDNN: cannot create a stream");
    }
    *out = d;
    return RAG_OK;
}

void rag_dnn_destroy(rag_dnn *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_prims; i++)
        dnnl_primitive_destroy(d->prims[i].prim);
    dnnl_stream_destroy(d->stream);
    rag_free(d->act);
    rag_free(d->acc);
    rag_free(d->row_scale);
    rag_free(d);
}

static prim_entry *lookup(rag_dnn *d, int is_bmm, size_t batch, size_t m, size_t n, size_t k,
                          int x)
{
    for (size_t i = 0; i < d->n_prims; i++) {
        prim_entry *e = &d->prims[i];
        if (e->is_bmm == is_bmm && e->batch == batch && e->m == m && e->n == n &&
            e->k == k && e->ep_or_trans == x)
            return e;
    }
    return NULL;
}

/* A slot for a new entry (evicting round-robin when full). */
static prim_entry *slot(rag_dnn *d)
{
    prim_entry *e;
    if (d->n_prims < MAX_PRIMS)
        return &d->prims[d->n_prims++];
    e = &d->prims[d->next_evict];
    d->next_evict = (d->next_evict + 1) % MAX_PRIMS;
    dnnl_primitive_destroy(e->prim);
    e->prim = NULL;
    return e;
}

static int grow(void **p, size_t *cap, size_t need, rag_err *err)
{
    void *q;
    if (need <= *cap)
        return RAG_OK;
    q = rag_realloc(*p, need);
    if (!q)
        return rag_fail(err, RAG_ENOMEM, "out of memory for matmul scratch");
    *p = q;
    *cap = need;
    return RAG_OK;
}

static int execute(rag_dnn *d, prim_entry *e, void *src, void *wei, void *bias, void *dst,
                   rag_err *err)
{
    dnnl_memory_t ms = NULL, mw = NULL, mb = NULL, md = NULL;
    dnnl_exec_arg_t args[4];
    int n = 0;
    dnnl_status_t st;
    dnnl_engine_t eng = d->m->engine;

    st = dnnl_memory_create(&ms, &e->src_md, eng, src);
    if (st == dnnl_success)
        st = dnnl_memory_create(&mw, &e->wei_md, eng, wei);
    if (st == dnnl_success && bias)
        st = dnnl_memory_create(&mb, &e->bias_md, eng, bias);
    if (st == dnnl_success)
        st = dnnl_memory_create(&md, &e->dst_md, eng, dst);
    if (st == dnnl_success) {
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, ms};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, mw};
        if (mb)
            args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, mb};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST, md};
        st = dnnl_primitive_execute(e->prim, d->stream, n, args);
        if (st == dnnl_success)
            st = dnnl_stream_wait(d->stream);
    }
    if (ms)
        dnnl_memory_destroy(ms);
    if (mw)
        dnnl_memory_destroy(mw);
    if (mb)
        dnnl_memory_destroy(mb);
    if (md)
        dnnl_memory_destroy(md);
    return st == dnnl_success ? RAG_OK : dnn_fail(err, st, "matmul");
}

static int linear_rows(rag_dnn *d, const rag_linear *l, const float *x, size_t m, float *y,
                       rag_lin_epilogue ep, rag_err *err);

/* Rows go through in blocks of at most ROW_BLOCK: the scratch (u8/bf16
 * source copy, s32 accumulators) stays ROW_BLOCK rows long, and a session
 * needs primitives for ROW_BLOCK and the remainders only. */
int rag_dnn_linear(rag_dnn *d, const rag_linear *l, const float *x, size_t m, float *y,
                   rag_lin_epilogue ep, rag_err *err)
{
    for (size_t r0 = 0; r0 < m; r0 += ROW_BLOCK) {
        size_t nr = m - r0 < ROW_BLOCK ? m - r0 : ROW_BLOCK;
        int rc = linear_rows(d, l, x + r0 * (size_t)l->n_in, nr, y + r0 * (size_t)l->n_out,
                             ep, err);
        if (rc < 0)
            return rc;
    }
    return RAG_OK;
}

static int linear_rows(rag_dnn *d, const rag_linear *l, const float *x, size_t m, float *y,
                       rag_lin_epilogue ep, rag_err *err)
{
    const rag_model *mod = d->m;
    rag_precision p = mod->info.precision;
    const size_t K = (size_t)l->n_in, N = (size_t)l->n_out;
    const int nt = mod->n_threads;
    prim_entry *e = lookup(d, 0, 1, m, N, K, (int)ep);
    void *src = (void *)x;
    int rc;

    if (!e) {
        dnnl_primitive_desc_t pd = NULL;
        dnnl_status_t st;
        e = slot(d);
        memset(e, 0, sizeof *e);
        st = linear_pd(&pd, mod, m, l->n_out, l->n_in, &l->packed_md, ep, e);
        if (st == dnnl_success)
            st = dnnl_primitive_create(&e->prim, pd);
        if (pd)
            dnnl_primitive_desc_destroy(pd);
        if (st != dnnl_success) {
            e->is_bmm = -1;   /* never matches a lookup */
            return dnn_fail(err, st, "matmul primitive creation");
        }
        e->batch = 1;
        e->m = m;
        e->n = N;
        e->k = K;
        e->ep_or_trans = (int)ep;
    }
    if (p == RAG_PRECISION_BF16 && !mod->bf16_native) {
        float *a;
        if ((rc = grow(&d->act, &d->cap_act_bytes, m * K * sizeof(float), err)) < 0)
            return rc;
        a = d->act;
#pragma omp parallel for num_threads(nt) schedule(static) if (m * K > 65536)
        for (size_t i = 0; i < m * K; i++)
            a[i] = rag_bf16_to_f32(rag_f32_to_bf16(x[i]));
        src = a;
    } else if (p == RAG_PRECISION_BF16) {
        uint16_t *a;
        if ((rc = grow(&d->act, &d->cap_act_bytes, m * K * 2, err)) < 0)
            return rc;
        a = d->act;
#pragma omp parallel for num_threads(nt) schedule(static) if (m * K > 65536)
        for (size_t i = 0; i < m * K; i++)
            a[i] = rag_f32_to_bf16(x[i]);
        src = a;
    } else if (p == RAG_PRECISION_INT8) {
        uint8_t *a;
        if ((rc = grow(&d->act, &d->cap_act_bytes, m * K, err)) < 0 ||
            (rc = grow((void **)&d->acc, &d->cap_acc, m * N * sizeof(int32_t), err)) < 0 ||
            (rc = grow((void **)&d->row_scale, &d->cap_rows, m * sizeof(float), err)) < 0)
            return rc;
        a = d->act;
#pragma omp parallel for num_threads(nt) schedule(static) if (m * K > 65536)
        for (size_t i = 0; i < m; i++)
            rag_k_quant_row_u8(x + i * K, K, a + i * K, &d->row_scale[i]);
        rc = execute(d, e, a, l->packed, NULL, d->acc, err);
        if (rc < 0)
            return rc;
#pragma omp parallel for num_threads(nt) schedule(static) if (m * N > 65536)
        for (size_t i = 0; i < m; i++)
            rag_k_int8_epilogue(d->acc + i * N, N, d->row_scale[i], l->w_scale, l->w_comp,
                                l->b, y + i * N, ep);
        return RAG_OK;
    }
    rc = execute(d, e, src, l->packed, l->b, y, err);
    if (rc == RAG_OK && ep == LIN_TANH) {
        for (size_t i = 0; i < m * N; i++)
            y[i] = tanhf(y[i]);
    }
    return rc;
}

int rag_dnn_bmm(rag_dnn *d, const rag_bmm *p, rag_err *err)
{
    size_t str[10] = {p->a_so, p->a_sb, p->a_sm, p->w_so, p->w_sb, p->w_sk, p->w_sn,
                      p->y_so, p->y_sb, p->y_sm};
    prim_entry *e = NULL;
    for (size_t i = 0; i < d->n_prims && !e; i++) {
        prim_entry *c = &d->prims[i];
        if (c->is_bmm == 1 && c->outer == p->outer && c->batch == p->batch && c->m == p->m &&
            c->n == p->n &&
            c->k == p->k && !memcmp(c->strides, str, sizeof str))
            e = c;
    }
    if (!e) {
        dnnl_dim_t o = (dnnl_dim_t)p->outer, b = (dnnl_dim_t)p->batch;
        dnnl_dims_t sd = {o, b, (dnnl_dim_t)p->m, (dnnl_dim_t)p->k};
        dnnl_dims_t wd = {o, b, (dnnl_dim_t)p->k, (dnnl_dim_t)p->n};
        dnnl_dims_t dd = {o, b, (dnnl_dim_t)p->m, (dnnl_dim_t)p->n};
        dnnl_dims_t ss = {(dnnl_dim_t)p->a_so, (dnnl_dim_t)p->a_sb, (dnnl_dim_t)p->a_sm, 1};
        dnnl_dims_t ws = {(dnnl_dim_t)p->w_so, (dnnl_dim_t)p->w_sb, (dnnl_dim_t)p->w_sk,
                          (dnnl_dim_t)p->w_sn};
        dnnl_dims_t ds = {(dnnl_dim_t)p->y_so, (dnnl_dim_t)p->y_sb, (dnnl_dim_t)p->y_sm, 1};
        dnnl_matmul_desc_t md;
        dnnl_primitive_desc_t pd = NULL;
        dnnl_status_t st;
        e = slot(d);
        memset(e, 0, sizeof *e);
        dnnl_memory_desc_init_by_strides(&e->src_md, 4, sd, dnnl_f32, ss);
        dnnl_memory_desc_init_by_strides(&e->wei_md, 4, wd, dnnl_f32, ws);
        dnnl_memory_desc_init_by_strides(&e->dst_md, 4, dd, dnnl_f32, ds);
        st = dnnl_matmul_desc_init(&md, &e->src_md, &e->wei_md, NULL, &e->dst_md);
        if (st == dnnl_success)
            st = dnnl_primitive_desc_create(&pd, &md, NULL, d->m->engine, NULL);
        if (st == dnnl_success)
            st = dnnl_primitive_create(&e->prim, pd);
        if (pd)
            dnnl_primitive_desc_destroy(pd);
        if (st != dnnl_success) {
            e->is_bmm = -1;
            return dnn_fail(err, st, "batched matmul primitive creation");
        }
        e->is_bmm = 1;
        e->outer = p->outer;
        e->batch = p->batch;
        e->m = p->m;
        e->n = p->n;
        e->k = p->k;
        memcpy(e->strides, str, sizeof str);
    }
    return execute(d, e, (void *)p->a, (void *)p->w, NULL, p->y, err);
}
