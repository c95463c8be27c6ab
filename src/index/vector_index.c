/* vector_index.c - the in-memory vector matrix, its chunk-id map, loading
 * from the `vectors` table, incremental add/remove, exact and int8+rescore
 * search with a bounded heap, and the path/page filter.
 *
 * Layout: row r of the float32 matrix starts at data + r * stride (stride
 * = dim rounded up to 16 floats, so each row is 64-byte aligned and padded
 * with zeros); the int8 copy likewise with istride = dim rounded up to 64.
 * ids[r] is the chunk of row r; an open-addressing table maps chunk id to
 * row (linear probing, backward-shift deletion). remove moves the last row
 * into the hole, so rows never have gaps. int8-only keeps no float32 matrix
 * (data is NULL) and reads the candidates' float32 rows from the vectors
 * table of the db given to load.
 */
#include "vector_index.h"
#include "store_sqlite.h"

#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ALIGN 64
#define BLOCK 256   /* rows scored per kernel call */

struct rag_vector_index {
    char *model;
    size_t dim, stride, istride;
    size_t n, cap;
    void *data_raw;
    float *data;          /* cap * stride floats, ALIGN-aligned; NULL if int8_only */
    void *qdata_raw;
    int8_t *qdata;        /* cap * istride, NULL unless opts.int8 */
    float *qscale;        /* 3 per row: scale s, |x|, |x - s q| (error bound) */
    int64_t *ids;         /* cap */
    size_t *slots;        /* map: row + 1, 0 = empty */
    size_t n_slots;       /* power of two, > 2 * n */
    rag_vector_opts opts;
    rag_vec_kernel kernel;
    rag_vec_dot_f32_fn dot;
    rag_vec_dot_i8_fn dot8;
    sqlite3 *db;          /* int8_only: borrowed, float32 rows for re-scoring */
    pthread_mutex_t db_lock;
    int have_lock;
};

rag_vector_opts rag_vector_default_opts(void)
{
    rag_vector_opts o = {0, 0, 0, RAG_VEC_KERNEL_AUTO, 0};
    return o;
}

/* ---- aligned storage ---------------------------------------------------- */

static void *alloc_aligned(size_t n_bytes, void **raw)
{
    size_t total;
    uintptr_t p;
    if (rag_size_add(n_bytes, ALIGN, &total) < 0)
        return NULL;
    *raw = rag_malloc(total);
    if (!*raw)
        return NULL;
    p = ((uintptr_t)*raw + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
    return (void *)p;
}

/* Ask for transparent huge pages over a large block (fewer TLB misses when
 * scanning it); advisory, failures are ignored. */
static void want_huge_pages(void *p, size_t n_bytes)
{
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t e = ((uintptr_t)p + n_bytes) & ~(huge - 1);
    if (e > a)
        (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
}

static size_t round_up(size_t x, size_t m)
{
    return (x + m - 1) / m * m;
}

/* ---- chunk id -> row map ------------------------------------------------ */

static size_t pow2_above(size_t x)
{
    size_t p = 16;
    while (p <= x)
        p *= 2;
    return p;
}

static size_t hash_id(int64_t id)
{
    uint64_t x = (uint64_t)id;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (size_t)x;
}

/* Slot holding id, or the empty slot where it would go. */
static size_t map_find(const rag_vector_index *vi, int64_t id)
{
    size_t mask = vi->n_slots - 1, i = hash_id(id) & mask;
    while (vi->slots[i] && vi->ids[vi->slots[i] - 1] != id)
        i = (i + 1) & mask;
    return i;
}

static int map_rebuild(rag_vector_index *vi, size_t n_slots)
{
    size_t *slots = rag_calloc(n_slots, sizeof *slots);
    if (!slots)
        return RAG_ENOMEM;
    rag_free(vi->slots);
    vi->slots = slots;
    vi->n_slots = n_slots;
    for (size_t r = 0; r < vi->n; r++)
        vi->slots[map_find(vi, vi->ids[r])] = r + 1;
    return RAG_OK;
}

static void map_delete(rag_vector_index *vi, size_t i)
{
    size_t mask = vi->n_slots - 1, j = i;
    vi->slots[i] = 0;
    for (;;) {
        size_t home;
        j = (j + 1) & mask;
        if (!vi->slots[j])
            return;
        home = hash_id(vi->ids[vi->slots[j] - 1]) & mask;
        /* Move j back into the hole i unless home lies cyclically in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            vi->slots[i] = vi->slots[j];
            vi->slots[j] = 0;
            i = j;
        }
    }
}

/* ---- create / destroy ---------------------------------------------------- */

static int set_dim(rag_vector_index *vi, size_t dim, rag_err *err)
{
    if (dim == 0 || dim > (1u << 20))
        return rag_fail(err, RAG_EINVAL, "vector model %s: bad dimension %zu", vi->model,
                        dim);
    vi->dim = dim;
    vi->stride = round_up(dim, 16);
    vi->istride = round_up(dim, 64);
    return RAG_OK;
}

static int init_index(rag_vector_index **out, const char *model, size_t dim,
                      const rag_vector_opts *opts, rag_err *err)
{
    rag_vector_index *vi;
    rag_vector_opts o = opts ? *opts : rag_vector_default_opts();

    *out = NULL;
    if (!model)
        return rag_fail(err, RAG_EINVAL, "vector index: no model id");
    if (o.int8_only)
        o.int8 = 1;
    if (o.kernel == RAG_VEC_KERNEL_AUTO)
        o.kernel = rag_vec_kernel_best();
    if (!rag_vec_kernel_supported(o.kernel) || !rag_vec_dot_f32(o.kernel))
        return rag_fail(err, RAG_EINVAL, "vector model %s: this CPU cannot run the %s kernel",
                        model, rag_vec_kernel_name(o.kernel));
    vi = rag_calloc(1, sizeof *vi);
    if (!vi)
        return rag_fail(err, RAG_ENOMEM, "vector model %s: out of memory", model);
    vi->model = rag_strdup(model);
    vi->opts = o;
    vi->kernel = o.kernel;
    vi->dot = rag_vec_dot_f32(o.kernel);
    vi->dot8 = rag_vec_dot_i8(o.kernel);
    vi->have_lock = pthread_mutex_init(&vi->db_lock, NULL) == 0;
    if (!vi->model || !vi->have_lock || map_rebuild(vi, 16) < 0) {
        rag_vector_index_destroy(vi);
        return rag_fail(err, RAG_ENOMEM, "vector model %s: out of memory", model);
    }
    if (dim) {
        int rc = set_dim(vi, dim, err);
        if (rc < 0) {
            rag_vector_index_destroy(vi);
            return rc;
        }
    }
    *out = vi;
    return RAG_OK;
}

int rag_vector_index_create(rag_vector_index **out, const char *model, size_t dim,
                            const rag_vector_opts *opts, rag_err *err)
{
    if (dim == 0) {
        *out = NULL;
        return rag_fail(err, RAG_EINVAL, "vector model %s: dimension 0",
                        model ? model : "(null)");
    }
    if (opts && opts->int8_only) {
        *out = NULL;
        return rag_fail(err, RAG_EINVAL, "vector model %s: int8-only vectors re-score from "
                        "the vectors table: use rag_vector_index_load",
                        model ? model : "(null)");
    }
    return init_index(out, model, dim, opts, err);
}

void rag_vector_index_destroy(rag_vector_index *vi)
{
    if (!vi)
        return;
    rag_free(vi->data_raw);
    rag_free(vi->qdata_raw);
    rag_free(vi->qscale);
    rag_free(vi->ids);
    rag_free(vi->slots);
    rag_free(vi->model);
    if (vi->have_lock)
        pthread_mutex_destroy(&vi->db_lock);
    rag_free(vi);
}

size_t rag_vector_index_bytes(const rag_vector_index *vi)
{
    size_t b = vi->cap * sizeof *vi->ids + vi->n_slots * sizeof *vi->slots;
    if (vi->data)
        b += vi->cap * vi->stride * sizeof(float) + ALIGN;
    if (vi->qdata)
        b += vi->cap * vi->istride + ALIGN + vi->cap * 3 * sizeof(float);
    return b;
}

size_t rag_vector_index_count(const rag_vector_index *vi) { return vi->n; }
size_t rag_vector_index_dim(const rag_vector_index *vi) { return vi->dim; }
const char *rag_vector_index_model(const rag_vector_index *vi) { return vi->model; }
rag_vec_kernel rag_vector_index_kernel(const rag_vector_index *vi) { return vi->kernel; }

/* ---- add / remove ---------------------------------------------------------- */

static int grow(rag_vector_index *vi, size_t need)
{
    /* the first allocation is exact (load knows the row count), then doubling */
    size_t cap = vi->cap ? vi->cap : need > 16 ? need : 16, bytes;
    void *raw = NULL, *qraw = NULL;
    float *data, *qscale;
    int8_t *qdata = NULL;
    int64_t *ids;

    if (need <= vi->cap)
        return RAG_OK;
    while (cap < need)
        if (rag_size_mul(cap, 2, &cap) < 0)
            return RAG_ENOMEM;
    if (vi->opts.int8_only) {
        data = NULL;
    } else {
        if (rag_size_mul(cap, vi->stride * sizeof(float), &bytes) < 0 ||
            !(data = alloc_aligned(bytes, &raw)))
            return RAG_ENOMEM;
        want_huge_pages(data, bytes);
    }
    if (vi->opts.int8 && (rag_size_mul(cap, vi->istride, &bytes) < 0 ||
                          !(qdata = alloc_aligned(bytes, &qraw)))) {
        rag_free(raw);
        return RAG_ENOMEM;
    }
    if (qdata)
        want_huge_pages(qdata, bytes);
    ids = rag_realloc(vi->ids, cap * sizeof *ids);
    if (!ids) {
        rag_free(raw);
        rag_free(qraw);
        return RAG_ENOMEM;
    }
    vi->ids = ids;
    if (vi->opts.int8) {
        qscale = rag_realloc(vi->qscale, cap * 3 * sizeof *qscale);
        if (!qscale) {
            rag_free(raw);
            rag_free(qraw);
            return RAG_ENOMEM;
        }
        vi->qscale = qscale;
        if (vi->n)
            memcpy(qdata, vi->qdata, vi->n * vi->istride);
        rag_free(vi->qdata_raw);
        vi->qdata_raw = qraw;
        vi->qdata = qdata;
    }
    if (vi->n && data)
        memcpy(data, vi->data, vi->n * vi->stride * sizeof(float));
    rag_free(vi->data_raw);
    vi->data_raw = raw;
    vi->data = data;
    vi->cap = cap;
    return RAG_OK;
}

/* Symmetric int8: q = round(x / s), s = max|x| / 127. */
static float quantize(const float *x, size_t dim, int8_t *q, size_t n_q)
{
    float amax = 0, s, inv;
    for (size_t j = 0; j < dim; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    memset(q, 0, n_q);
    if (amax == 0)
        return 0;
    s = amax / 127.0f;
    inv = 127.0f / amax;
    for (size_t j = 0; j < dim; j++) {
        long v = lrintf(x[j] * inv);
        q[j] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    return s;
}

/* |x| and |x - s q|, rounded up so they stay bounds. */
static void norms(const float *x, const int8_t *q, float s, size_t dim, float *x_norm,
                  float *err_norm)
{
    double xx = 0, ee = 0;
    for (size_t j = 0; j < dim; j++) {
        double e = (double)x[j] - (double)s * q[j];
        xx += (double)x[j] * x[j];
        ee += e * e;
    }
    *x_norm = (float)(sqrt(xx) * (1 + 1e-6));
    *err_norm = (float)(sqrt(ee) * (1 + 1e-6));
}

static void write_row(rag_vector_index *vi, size_t r, int64_t id, const float *vec)
{
    if (vi->data) {
        float *dst = vi->data + r * vi->stride;
        memcpy(dst, vec, vi->dim * sizeof *dst);
        memset(dst + vi->dim, 0, (vi->stride - vi->dim) * sizeof *dst);
    }
    if (vi->opts.int8) {
        int8_t *q = vi->qdata + r * vi->istride;
        float sc = quantize(vec, vi->dim, q, vi->istride);
        vi->qscale[3 * r] = sc;
        norms(vec, q, sc, vi->dim, &vi->qscale[3 * r + 1], &vi->qscale[3 * r + 2]);
    }
    vi->ids[r] = id;
}

static int all_finite(const float *v, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (!isfinite(v[j]))
            return 0;
    return 1;
}

int rag_vector_index_add(rag_vector_index *vi, int64_t chunk_id, const float *vec,
                         size_t dim, rag_err *err)
{
    size_t slot;
    int rc;

    if (vi->dim == 0 && (rc = set_dim(vi, dim, err)) < 0)
        return rc;
    if (dim != vi->dim)
        return rag_fail(err, RAG_EINVAL,
                        "vector model %s: chunk %lld has dim %zu, the index has dim %zu",
                        vi->model, (long long)chunk_id, dim, vi->dim);
    if (!all_finite(vec, dim))
        return rag_fail(err, RAG_EINVAL, "vector model %s: chunk %lld: non-finite value",
                        vi->model, (long long)chunk_id);
    slot = map_find(vi, chunk_id);
    if (vi->slots[slot]) {
        write_row(vi, vi->slots[slot] - 1, chunk_id, vec);
        return RAG_OK;
    }
    if (grow(vi, vi->n + 1) < 0)
        return rag_fail(err, RAG_ENOMEM, "vector model %s: out of memory (%zu vectors)",
                        vi->model, vi->n + 1);
    if (2 * (vi->n + 1) > vi->n_slots) {
        if (map_rebuild(vi, vi->n_slots * 2) < 0)
            return rag_fail(err, RAG_ENOMEM, "vector model %s: out of memory", vi->model);
        slot = map_find(vi, chunk_id);
    }
    write_row(vi, vi->n, chunk_id, vec);
    vi->slots[slot] = ++vi->n;
    return RAG_OK;
}

int rag_vector_index_remove(rag_vector_index *vi, int64_t chunk_id)
{
    size_t slot = map_find(vi, chunk_id), r, last;
    if (!vi->slots[slot])
        return 0;
    r = vi->slots[slot] - 1;
    last = vi->n - 1;
    map_delete(vi, slot);
    if (r != last) {
        if (vi->data)
            memcpy(vi->data + r * vi->stride, vi->data + last * vi->stride,
                   vi->stride * sizeof(float));
        if (vi->opts.int8) {
            memcpy(vi->qdata + r * vi->istride, vi->qdata + last * vi->istride,
                   vi->istride);
            memcpy(&vi->qscale[3 * r], &vi->qscale[3 * last], 3 * sizeof(float));
        }
        vi->ids[r] = vi->ids[last];
        vi->slots[map_find(vi, vi->ids[r])] = r + 1;
    }
    vi->n--;
    return 1;
}

/* ---- load ------------------------------------------------------------------ */

/* The rows of the vectors table (n_rows of them), checked and added. */
static int load_table(rag_vector_index *vi, sqlite3 *db, const char *model, int64_t n_rows,
                      rag_err *err)
{
    sqlite3_stmt *st = NULL;
    float *tmp = NULL;
    int rc = RAG_OK, step;

    if (sqlite3_prepare_v2(db, "SELECT chunk_id, model, dim, data FROM vectors"
                               " ORDER BY chunk_id", -1, &st, NULL) != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "vectors table: %s", sqlite3_errmsg(db));
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const char *m = (const char *)sqlite3_column_text(st, 1);
        int64_t dim = sqlite3_column_int64(st, 2);
        const void *blob = sqlite3_column_blob(st, 3);
        size_t n_bytes = (size_t)sqlite3_column_bytes(st, 3);

        if (!m || strcmp(m, model) != 0) {
            rc = rag_fail(err, RAG_EFORMAT,
                          "vectors table: chunk %lld has model \"%s\", expected \"%s\"",
                          (long long)id, m ? m : "", model);
            goto done;
        }
        if (vi->dim == 0 && dim > 0 && (rc = set_dim(vi, (size_t)dim, err)) < 0)
            goto done;
        if (dim <= 0 || (size_t)dim != vi->dim) {
            rc = rag_fail(err, RAG_EFORMAT,
                          "vectors table: chunk %lld of model \"%s\" has dim %lld, "
                          "expected dim %zu", (long long)id, model, (long long)dim, vi->dim);
            goto done;
        }
        if (n_bytes != vi->dim * sizeof(float)) {
            rc = rag_fail(err, RAG_EFORMAT,
                          "vectors table: chunk %lld: %zu bytes of data for dim %zu",
                          (long long)id, n_bytes, vi->dim);
            goto done;
        }
        if (vi->cap == 0) {
            if (grow(vi, (size_t)n_rows) < 0 ||
                map_rebuild(vi, pow2_above(2 * (size_t)n_rows)) < 0 ||
                !(tmp = rag_malloc(vi->dim * sizeof *tmp))) {
                rc = rag_fail(err, RAG_ENOMEM, "vectors table: out of memory for %lld "
                              "vectors of dim %zu", (long long)n_rows, vi->dim);
                goto done;
            }
        }
        memcpy(tmp, blob, n_bytes);   /* the blob need not be aligned */
        rc = rag_vector_index_add(vi, id, tmp, vi->dim, err);
        if (rc < 0)
            goto done;
    }
    if (step != SQLITE_DONE)
        rc = rag_fail(err, RAG_EIO, "vectors table: %s", sqlite3_errmsg(db));
done:
    sqlite3_finalize(st);
    rag_free(tmp);
    return rc;
}

/* ---- the stored int8 copy (table vectors_int8, schema 4) -----------------
 *
 * One row per model: dim, n, layout, checksum and three blobs in host byte
 * order (little-endian on every target docrag builds for; a big-endian
 * host ignores the copy): ids (n int64, ascending, as load orders them),
 * rows (n * istride int8, zero-padded, as write_row leaves them) and
 * scales (n * 3 float32: s, |x|, |x - s q|). Triggers on vectors delete it
 * on any change; it is checked (sizes, order, checksum, finite scales)
 * before use, and anything wrong makes the load quantise the table again. */
#define INT8_LAYOUT 1

static uint64_t checksum_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (; n >= 8; n -= 8, b += 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; n; n--, b++)
        h = (h ^ *b) * 0x100000001b3ULL;
    return h;
}

static uint64_t int8_checksum(size_t dim, size_t n, const void *ids, const void *rows,
                              size_t n_rows_bytes, const void *scales)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)dim << 32) ^ (uint64_t)n;
    h = checksum_bytes(h, ids, n * sizeof(int64_t));
    h = checksum_bytes(h, rows, n_rows_bytes);
    return checksum_bytes(h, scales, n * 3 * sizeof(float));
}

static int little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Fill vi (int8_only, empty) from the stored copy of model when it is
 * usable for a table of n_rows rows: 1 loaded; 0 not (why[] says why, or
 * is empty when there is simply none: no table, no row); RAG_ENOMEM. */
static int load_stored(rag_vector_index *vi, sqlite3 *db, const char *model, int64_t n_rows,
                       char *why, size_t n_why, rag_err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t dim, n, layout;
    const void *ids, *rows, *scales;
    size_t istride, n_rows_bytes;
    int rc = 0;

    why[0] = '\0';
    if (!little_endian() ||
        sqlite3_prepare_v2(db, "SELECT dim, n, layout, checksum, ids, rows, scales"
                               " FROM vectors_int8 WHERE model = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;   /* a file of schema < 4: no stored copy */
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto done;
    dim = sqlite3_column_int64(st, 0);
    n = sqlite3_column_int64(st, 1);
    layout = sqlite3_column_int64(st, 2);
    if (layout != INT8_LAYOUT) {
        snprintf(why, n_why, "layout %lld, this docrag reads %d", (long long)layout,
                 INT8_LAYOUT);
        goto done;
    }
    if (dim <= 0 || dim > (1 << 20) || (vi->dim && (size_t)dim != vi->dim)) {
        snprintf(why, n_why, "dim %lld, expected %zu", (long long)dim, vi->dim);
        goto done;
    }
    if (n != n_rows) {
        snprintf(why, n_why, "%lld rows, the vectors table has %lld", (long long)n,
                 (long long)n_rows);
        goto done;
    }
    istride = round_up((size_t)dim, 64);
    ids = sqlite3_column_blob(st, 4);
    rows = sqlite3_column_blob(st, 5);
    scales = sqlite3_column_blob(st, 6);
    n_rows_bytes = (size_t)n * istride;
    if ((size_t)sqlite3_column_bytes(st, 4) != (size_t)n * sizeof(int64_t) ||
        (size_t)sqlite3_column_bytes(st, 5) != n_rows_bytes ||
        (size_t)sqlite3_column_bytes(st, 6) != (size_t)n * 3 * sizeof(float) || !ids ||
        !rows || !scales) {
        snprintf(why, n_why, "blob sizes %d / %d / %d do not fit %lld rows of dim %lld",
                 sqlite3_column_bytes(st, 4), sqlite3_column_bytes(st, 5),
                 sqlite3_column_bytes(st, 6), (long long)n, (long long)dim);
        goto done;
    }
    if ((int64_t)int8_checksum((size_t)dim, (size_t)n, ids, rows, n_rows_bytes, scales) !=
        sqlite3_column_int64(st, 3)) {
        snprintf(why, n_why, "checksum mismatch");
        goto done;
    }
    for (int64_t r = 0; r < n; r++) {
        int64_t id, prev;
        float sc[3];
        memcpy(&id, (const char *)ids + r * 8, 8);
        memcpy(sc, (const char *)scales + r * 12, 12);
        if (r > 0 && (memcpy(&prev, (const char *)ids + (r - 1) * 8, 8), id <= prev)) {
            snprintf(why, n_why, "chunk ids out of order at row %lld", (long long)r);
            goto done;
        }
        if (!isfinite(sc[0]) || !isfinite(sc[1]) || !isfinite(sc[2])) {
            snprintf(why, n_why, "a non-finite scale at row %lld", (long long)r);
            goto done;
        }
    }
    if (!vi->dim && set_dim(vi, (size_t)dim, err) < 0) {
        snprintf(why, n_why, "bad dim %lld", (long long)dim);
        goto done;
    }
    if (grow(vi, (size_t)n) < 0 || map_rebuild(vi, pow2_above(2 * (size_t)n)) < 0) {
        rc = rag_fail(err, RAG_ENOMEM, "vectors_int8: out of memory for %lld vectors of dim "
                      "%lld", (long long)n, (long long)dim);
        goto done;
    }
    memcpy(vi->ids, ids, (size_t)n * sizeof *vi->ids);
    memcpy(vi->qdata, rows, n_rows_bytes);
    memcpy(vi->qscale, scales, (size_t)n * 3 * sizeof *vi->qscale);
    vi->n = (size_t)n;
    if (map_rebuild(vi, vi->n_slots) < 0) {
        vi->n = 0;
        rc = rag_fail(err, RAG_ENOMEM, "vectors_int8: out of memory");
        goto done;
    }
    rc = 1;
done:
    sqlite3_finalize(st);
    return rc;
}

/* The load; with use_stored (and int8_only) from the stored copy when it
 * is usable (*from_stored = 1), else from the table (why[] then says why
 * the copy was not used, empty when there was none). */
static int load_vectors(rag_vector_index **out, sqlite3 *db, const char *model,
                        const rag_vector_opts *opts, int use_stored, int *from_stored,
                        char *why, size_t n_why, rag_err *err)
{
    rag_vector_index *vi = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n_rows = 0;
    int rc;

    *out = NULL;
    *from_stored = 0;
    why[0] = '\0';
    rc = init_index(&vi, model, opts ? opts->dim : 0, opts, err);
    if (rc < 0)
        return rc;
    if (vi->opts.int8_only)
        vi->db = db;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM vectors", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = rag_fail(err, RAG_EIO, "vectors table: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        goto done;
    }
    n_rows = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (n_rows == 0)
        goto done;
    if (use_stored && vi->opts.int8_only) {
        rc = load_stored(vi, db, model, n_rows, why, n_why, err);
        if (rc < 0)
            goto done;
        if (rc == 1) {
            *from_stored = 1;
            rc = RAG_OK;
            goto done;
        }
    }
    rc = load_table(vi, db, model, n_rows, err);
done:
    /* The scan filled the page cache with every vector blob (up to the
     * connection's cache_size, 64 MB for a rag_index); those pages are
     * not needed again, so give them back. */
    sqlite3_db_release_memory(db);
    if (rc < 0) {
        rag_vector_index_destroy(vi);
        return rc;
    }
    *out = vi;
    return RAG_OK;
}

static const char *db_name(sqlite3 *db)
{
    const char *f = sqlite3_db_filename(db, "main");
    return f && f[0] ? f : "(memory)";
}

int rag_vector_index_load(rag_vector_index **out, sqlite3 *db, const char *model,
                          const rag_vector_opts *opts, rag_err *err)
{
    char why[200];
    int from_stored, rc;

    rc = load_vectors(out, db, model, opts, 1, &from_stored, why, sizeof why, err);
    if (rc == RAG_OK && why[0])
        rag_log(RAG_LOG_WARN, "%s: the stored int8 vectors of model %s are not usable (%s): "
                "quantised the vectors table instead (`docrag index` stores them again)",
                db_name(db), model, why);
    return rc;
}

int rag_vector_int8_save(sqlite3 *db, const char *model, rag_err *err)
{
    rag_vector_opts o = rag_vector_default_opts();
    rag_vector_index *vi = NULL;
    sqlite3_stmt *st = NULL;
    char why[200];
    int from_stored = 0, rc;

    o.int8 = o.int8_only = 1;
    if (!sqlite3_get_autocommit(db))
        return rag_fail(err, RAG_EINVAL, "%s: storing the int8 vectors needs a transaction "
                        "of its own", db_name(db));
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "%s: vectors_int8: %s", db_name(db), sqlite3_errmsg(db));
    rc = load_vectors(&vi, db, model, &o, 1, &from_stored, why, sizeof why, err);
    if (rc < 0 || from_stored || vi->n == 0)
        goto done;   /* 0: current already, or nothing to store */
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO vectors_int8(model, dim, n, layout,"
                               " checksum, ids, rows, scales) VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
                               " ?7, ?8)", -1, &st, NULL) != SQLITE_OK) {
        rc = rag_fail(err, RAG_EIO, "%s: vectors_int8: %s", db_name(db), sqlite3_errmsg(db));
        goto done;
    }
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)vi->dim);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)vi->n);
    sqlite3_bind_int(st, 4, INT8_LAYOUT);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)int8_checksum(vi->dim, vi->n, vi->ids, vi->qdata,
                                                           vi->n * vi->istride, vi->qscale));
    sqlite3_bind_blob64(st, 6, vi->ids, vi->n * sizeof *vi->ids, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 7, vi->qdata, vi->n * vi->istride, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 8, vi->qscale, vi->n * 3 * sizeof *vi->qscale, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = rag_fail(err, RAG_EIO, "%s: vectors_int8: %s", db_name(db), sqlite3_errmsg(db));
    else
        rc = 1;
done:
    sqlite3_finalize(st);
    rag_vector_index_destroy(vi);
    if (rc >= 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = rag_fail(err, RAG_EIO, "%s: vectors_int8: %s", db_name(db), sqlite3_errmsg(db));
    if (rc < 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_db_release_memory(db);
    return rc;
}

int rag_vector_index_same_int8(const rag_vector_index *a, const rag_vector_index *b)
{
    if (a->n != b->n || a->dim != b->dim || !a->qdata || !b->qdata)
        return 0;
    if (a->n == 0)
        return 1;
    return memcmp(a->ids, b->ids, a->n * sizeof *a->ids) == 0 &&
           memcmp(a->qdata, b->qdata, a->n * a->istride) == 0 &&
           memcmp(a->qscale, b->qscale, a->n * 3 * sizeof *a->qscale) == 0;
}

int rag_vector_int8_check(sqlite3 *db, char *why, size_t n_why, rag_err *err)
{
    rag_vector_opts o = rag_vector_default_opts();
    sqlite3_stmt *st = NULL;
    int rc = 1;

    o.int8 = o.int8_only = 1;
    why[0] = '\0';
    if (sqlite3_prepare_v2(db, "SELECT model FROM vectors_int8 ORDER BY model", -1, &st,
                           NULL) != SQLITE_OK)
        return 1;   /* schema < 4: nothing stored */
    while (rc == 1 && sqlite3_step(st) == SQLITE_ROW) {
        const char *model = (const char *)sqlite3_column_text(st, 0);
        rag_vector_index *stored = NULL, *table = NULL;
        char m[128], uwhy[200];
        int from_stored = 0;

        snprintf(m, sizeof m, "%s", model ? model : "");
        rc = load_vectors(&stored, db, m, &o, 1, &from_stored, uwhy, sizeof uwhy, err);
        if (rc == RAG_OK && !from_stored) {
            snprintf(why, n_why, "the stored int8 vectors of model %s are not usable: %s", m,
                     uwhy[0] ? uwhy : "the vectors table is empty");
            rc = 0;
        } else if (rc == RAG_OK &&
                   (rc = load_vectors(&table, db, m, &o, 0, &from_stored, uwhy, sizeof uwhy,
                                      err)) == RAG_OK) {
            rc = rag_vector_index_same_int8(stored, table);
            if (!rc)
                snprintf(why, n_why, "the stored int8 vectors of model %s differ from the "
                         "vectors table quantised again", m);
        }
        rag_vector_index_destroy(stored);
        rag_vector_index_destroy(table);
    }
    sqlite3_finalize(st);
    return rc;
}

int rag_vector_index_load_ix(rag_vector_index **out, rag_index *ix, const char *model,
                             const rag_vector_opts *opts, rag_err *err)
{
    int rc = rag_vector_index_load(out, rag_index_db(ix), model, opts, err);
    if (rc < 0 && err)
        rag_err_prefix(err, "%s", rag_index_path(ix));
    return rc;
}

/* ---- search ------------------------------------------------------------------ */

typedef struct {
    float score;
    int64_t id;
    size_t row;
} cand;

/* a ranks below b: lower score, or equal score and larger chunk id. */
static int worse(const cand *a, const cand *b)
{
    return a->score < b->score || (a->score == b->score && a->id > b->id);
}

typedef struct {
    cand *items;
    size_t n, cap;
} heap;

static void sift_down(heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < h->n && worse(&h->items[l], &h->items[m]))
            m = l;
        if (l + 1 < h->n && worse(&h->items[l + 1], &h->items[m]))
            m = l + 1;
        if (m == i)
            return;
        cand t = h->items[i];
        h->items[i] = h->items[m];
        h->items[m] = t;
        i = m;
    }
}

/* Would c enter the heap? */
static int heap_wants(const heap *h, const cand *c)
{
    return h->n < h->cap || worse(&h->items[0], c);
}

static void heap_push(heap *h, const cand *c)
{
    if (h->n < h->cap) {
        size_t i = h->n++;
        h->items[i] = *c;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!worse(&h->items[i], &h->items[p]))
                break;
            cand t = h->items[i];
            h->items[i] = h->items[p];
            h->items[p] = t;
            i = p;
        }
        return;
    }
    h->items[0] = *c;
    sift_down(h, 0);
}

static int cmp_best_first(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return worse(x, y) ? 1 : worse(y, x) ? -1 : 0;
}

static int admitted(const rag_vector_filter *f, const uint64_t *rows_ok, size_t r,
                    int64_t id)
{
    if (rows_ok && !(rows_ok[r / 64] >> (r % 64) & 1))
        return 0;
    return !f || !f->allow || f->allow(f->ctx, id);
}

/* Offer rows [r0, r0 + n_rows) with scores s to h. */
static void offer(heap *h, const rag_vector_index *vi, const rag_vector_filter *f,
                  const uint64_t *rows_ok, size_t r0, size_t n_rows, const float *s)
{
    for (size_t i = 0; i < n_rows; i++) {
        cand c = {s[i], vi->ids[r0 + i], r0 + i};
        if (heap_wants(h, &c) && admitted(f, rows_ok, r0 + i, c.id))
            heap_push(h, &c);
    }
}

/* Skip a block whose rows are all filtered out. */
static int block_empty(const uint64_t *rows_ok, size_t r0, size_t n_rows)
{
    if (!rows_ok)
        return 0;
    for (size_t w = r0 / 64; w <= (r0 + n_rows - 1) / 64; w++)
        if (rows_ok[w])
            return 0;
    return 1;
}

static int cmp_by_score_desc(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return x->score > y->score ? -1 : x->score < y->score;
}

/* Exact float32 scores of cands[0..n) into top. From the matrix, or
 * (int8_only) from the vectors table, with the same kernel over the same
 * zero-padded row as the matrix would give. With upper bounds (cands'
 * scores bound their exact scores from above), candidates go best bound
 * first and stop once a bound falls below the k-th exact score: the rest
 * cannot enter, so fewer rows are read and the result is unchanged. */
static int rescore(const rag_vector_index *vi, cand *cands, size_t n, const float *q,
                   int upper_bounds, heap *top, rag_err *err)
{
    rag_vector_index *mvi = (rag_vector_index *)vi;   /* the lock only */
    sqlite3_stmt *st = NULL;
    void *raw = NULL;
    float *row;
    int rc = RAG_OK;

    if (upper_bounds && n > 1)
        qsort(cands, n, sizeof *cands, cmp_by_score_desc);
    if (!vi->opts.int8_only) {
        for (size_t j = 0; j < n; j++) {
            cand c = cands[j];
            if (upper_bounds && top->n == top->cap && c.score < top->items[0].score)
                break;
            vi->dot(vi->data + c.row * vi->stride, 1, vi->stride, q, vi->stride, &c.score);
            if (heap_wants(top, &c))
                heap_push(top, &c);
        }
        return RAG_OK;
    }
    if (n == 0)
        return RAG_OK;
    row = alloc_aligned(vi->stride * sizeof *row, &raw);
    if (!row)
        return rag_fail(err, RAG_ENOMEM, "vector model %s: out of memory for search",
                        vi->model);
    memset(row, 0, vi->stride * sizeof *row);
    pthread_mutex_lock(&mvi->db_lock);
    if (sqlite3_prepare_v2(vi->db, "SELECT data FROM vectors WHERE chunk_id = ?1 AND"
                           " model = ?2", -1, &st, NULL) != SQLITE_OK) {
        rc = rag_fail(err, RAG_EIO, "vectors table: %s", sqlite3_errmsg(vi->db));
        goto done;
    }
    sqlite3_bind_text(st, 2, vi->model, -1, SQLITE_STATIC);
    for (size_t j = 0; j < n; j++) {
        cand c = cands[j];
        int step;
        if (upper_bounds && top->n == top->cap && c.score < top->items[0].score)
            break;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, c.id);
        step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            continue;   /* gone since loading: not a result any more */
        if (step != SQLITE_ROW) {
            rc = rag_fail(err, RAG_EIO, "vectors table: chunk %lld: %s", (long long)c.id,
                          sqlite3_errmsg(vi->db));
            goto done;
        }
        if ((size_t)sqlite3_column_bytes(st, 0) != vi->dim * sizeof(float)) {
            rc = rag_fail(err, RAG_EFORMAT, "vectors table: chunk %lld: %d bytes of data "
                          "for dim %zu", (long long)c.id, sqlite3_column_bytes(st, 0),
                          vi->dim);
            goto done;
        }
        memcpy(row, sqlite3_column_blob(st, 0), vi->dim * sizeof(float));
        vi->dot(row, 1, vi->stride, q, vi->stride, &c.score);
        if (heap_wants(top, &c))
            heap_push(top, &c);
    }
done:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&mvi->db_lock);
    rag_free(raw);
    return rc;
}

/* int8 pass with error bounds: |x.y - s t D| <= t |ex| |qy| + |x| |ey| for
 * x = s qx + ex, y = t qy + ey, D = qx.qy (exact in int32). A row can be in
 * the exact top k only if its upper bound reaches the k-th best lower
 * bound L; those rows are re-scored with the float32 kernel, so the result
 * equals the float32 exact search. slack covers float32 rounding of the
 * exact kernel and of the bound arithmetic. top gets the k best. */
static int int8_bounded(const rag_vector_index *vi, const float *q, const int8_t *q8,
                        float qs, size_t k, const rag_vector_filter *filter,
                        const uint64_t *rows_ok, heap *top, rag_err *err)
{
    heap lb = {NULL, 0, k};
    cand *cands = NULL;
    size_t n_c = 0, cap_c = 0;
    float y_norm, ey_norm, qy_norm, L = -INFINITY, slack;
    float scores[BLOCK];
    int32_t iscores[BLOCK];
    int rc = RAG_OK;
    {
        double yy = 0, ee = 0, qq = 0;
        for (size_t j = 0; j < vi->dim; j++) {
            double e = (double)q[j] - (double)qs * q8[j];
            yy += (double)q[j] * q[j];
            ee += e * e;
            qq += (double)q8[j] * q8[j];
        }
        y_norm = (float)(sqrt(yy) * (1 + 1e-6));
        ey_norm = (float)(sqrt(ee) * (1 + 1e-6));
        qy_norm = (float)(sqrt(qq) * (1 + 1e-6));
    }
    slack = (float)((double)vi->dim * 2.5e-7 + 1e-6) * y_norm;
    lb.items = rag_malloc(k * sizeof *lb.items);   /* top->items: k, from the caller */
    if (!lb.items)
        goto oom;
    for (size_t r0 = 0; r0 < vi->n; r0 += BLOCK) {
        size_t nb = vi->n - r0 < BLOCK ? vi->n - r0 : BLOCK;
        if (block_empty(rows_ok, r0, nb))
            continue;
        vi->dot8(vi->qdata + r0 * vi->istride, nb, vi->istride, q8, vi->istride, iscores);
        for (size_t i = 0; i < nb; i++)
            scores[i] = (float)iscores[i] * vi->qscale[3 * (r0 + i)] * qs;
        for (size_t i = 0; i < nb; i++) {
            const float *aux = &vi->qscale[3 * (r0 + i)];
            float b = aux[1] * ey_norm + qs * aux[2] * qy_norm + aux[1] * slack;
            cand c = {scores[i] - b, vi->ids[r0 + i], r0 + i};
            if (scores[i] + b < L || !admitted(filter, rows_ok, r0 + i, c.id))
                continue;
            if (heap_wants(&lb, &c)) {
                heap_push(&lb, &c);
                if (lb.n == k)
                    L = lb.items[0].score;
            }
            if (n_c == cap_c) {
                size_t kept = 0;
                for (size_t j = 0; j < n_c; j++)   /* drop rows L has overtaken */
                    if (cands[j].score >= L)
                        cands[kept++] = cands[j];
                n_c = kept;
                if (n_c > cap_c / 2 || cap_c == 0) {
                    size_t ncap = cap_c ? cap_c * 2 : 256;
                    cand *nc = rag_realloc(cands, ncap * sizeof *nc);
                    if (!nc)
                        goto oom;
                    cands = nc;
                    cap_c = ncap;
                }
            }
            c.score = scores[i] + b;
            cands[n_c++] = c;
        }
    }
    {
        size_t kept = 0;
        for (size_t j = 0; j < n_c; j++)
            if (cands[j].score >= L)
                cands[kept++] = cands[j];
        rc = rescore(vi, cands, kept, q, 1, top, err);
    }
    goto done;
oom:
    rc = rag_fail(err, RAG_ENOMEM, "vector model %s: out of memory for search", vi->model);
done:
    rag_free(lb.items);
    rag_free(cands);
    return rc;
}

int rag_vector_index_search(const rag_vector_index *vi, const float *query, size_t dim,
                            size_t k, const rag_vector_filter *filter,
                            rag_vector_hit *hits, size_t *n_hits, rag_err *err)
{
    void *q_raw = NULL, *q8_raw = NULL;
    float *q = NULL, scores[BLOCK];
    int32_t iscores[BLOCK];
    int8_t *q8 = NULL;
    uint64_t *rows_ok = NULL;
    heap h = {NULL, 0, 0};
    size_t n_cand;
    int rc = RAG_OK;

    *n_hits = 0;
    if (vi->n == 0 || k == 0)
        return RAG_OK;
    if (dim != vi->dim)
        return rag_fail(err, RAG_EINVAL,
                        "vector model %s: query has dim %zu, the index has dim %zu",
                        vi->model, dim, vi->dim);
    if (!all_finite(query, dim))
        return rag_fail(err, RAG_EINVAL, "vector model %s: query has a non-finite value",
                        vi->model);
    if (filter && filter->ids && filter->n_ids == 0)
        return RAG_OK;
    if (k > vi->n)
        k = vi->n;
    n_cand = k;
    if (vi->opts.int8 && vi->opts.rescore_factor &&
        rag_size_mul(k, vi->opts.rescore_factor, &n_cand) < 0)
        n_cand = vi->n;
    if (n_cand > vi->n)
        n_cand = vi->n;

    q = alloc_aligned(vi->stride * sizeof *q, &q_raw);
    h.items = rag_malloc(n_cand * sizeof *h.items);
    h.cap = n_cand;
    if (!q || !h.items)
        goto oom;
    memcpy(q, query, dim * sizeof *q);
    memset(q + dim, 0, (vi->stride - dim) * sizeof *q);

    if (filter && filter->ids) {
        rows_ok = rag_calloc((vi->n + 63) / 64, sizeof *rows_ok);
        if (!rows_ok)
            goto oom;
        for (size_t i = 0; i < filter->n_ids; i++) {
            size_t slot = map_find(vi, filter->ids[i]);
            if (vi->slots[slot]) {
                size_t r = vi->slots[slot] - 1;
                rows_ok[r / 64] |= (uint64_t)1 << (r % 64);
            }
        }
    }

    if (vi->opts.int8) {
        float qs;
        heap top = {NULL, 0, k};
        q8 = alloc_aligned(vi->istride, &q8_raw);
        top.items = rag_malloc(k * sizeof *top.items);
        if (!q8 || !top.items) {
            rag_free(top.items);
            goto oom;
        }
        qs = quantize(query, dim, q8, vi->istride);
        if (vi->opts.rescore_factor == 0) {
            rc = int8_bounded(vi, q, q8, qs, k, filter, rows_ok, &top, err);
            rag_free(h.items);
            h = top;
            if (rc < 0)
                goto done;
            goto sorted;
        }
        for (size_t r0 = 0; r0 < vi->n; r0 += BLOCK) {
            size_t nb = vi->n - r0 < BLOCK ? vi->n - r0 : BLOCK;
            if (block_empty(rows_ok, r0, nb))
                continue;
            vi->dot8(vi->qdata + r0 * vi->istride, nb, vi->istride, q8, vi->istride,
                     iscores);
            for (size_t i = 0; i < nb; i++)
                scores[i] = (float)iscores[i] * vi->qscale[3 * (r0 + i)] * qs;
            offer(&h, vi, filter, rows_ok, r0, nb, scores);
        }
        /* Exact re-scoring of the candidates (already admitted). */
        rc = rescore(vi, h.items, h.n, q, 0, &top, err);
        rag_free(h.items);
        h = top;
        if (rc < 0)
            goto done;
    } else {
        for (size_t r0 = 0; r0 < vi->n; r0 += BLOCK) {
            size_t nb = vi->n - r0 < BLOCK ? vi->n - r0 : BLOCK;
            if (block_empty(rows_ok, r0, nb))
                continue;
            vi->dot(vi->data + r0 * vi->stride, nb, vi->stride, q, vi->stride, scores);
            offer(&h, vi, filter, rows_ok, r0, nb, scores);
        }
    }
sorted:
    if (h.n > 1)
        qsort(h.items, h.n, sizeof *h.items, cmp_best_first);
    for (size_t i = 0; i < h.n && i < k; i++) {
        hits[i].chunk_id = h.items[i].id;
        hits[i].score = h.items[i].score;
    }
    *n_hits = h.n < k ? h.n : k;
    goto done;
oom:
    rc = rag_fail(err, RAG_ENOMEM, "vector model %s: out of memory for search", vi->model);
done:
    rag_free(q_raw);
    rag_free(q8_raw);
    rag_free(rows_ok);
    rag_free(h.items);
    return rc;
}

/* ---- filters -------------------------------------------------------------- */

int rag_vector_filter_ids(int64_t **ids, size_t *n_ids, rag_index *ix, const char *glob,
                          int page_min, int page_max, rag_err *err)
{
    sqlite3 *db = rag_index_db(ix);
    sqlite3_stmt *st = NULL;
    int64_t *v = NULL;
    size_t n = 0, cap = 0;
    int step, rc = RAG_OK;

    *ids = NULL;
    *n_ids = 0;
    if (page_min < 0 || page_max < 0 || (page_max && page_min > page_max))
        return rag_fail(err, RAG_EINVAL, "vector filter: bad page range %d-%d", page_min,
                        page_max);
    if (sqlite3_prepare_v2(db,
            "SELECT c.id, d.path FROM chunks c JOIN documents d ON d.id = c.doc_id"
            " WHERE (?1 = 0 OR c.page_end >= ?1) AND (?2 = 0 OR c.page_start <= ?2)"
            " ORDER BY c.id", -1, &st, NULL) != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "vector filter: chunks table: %s", sqlite3_errmsg(db));
    sqlite3_bind_int(st, 1, page_min);
    sqlite3_bind_int(st, 2, page_max);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(st, 1);
        /* the glob matches the stored path or its base name (as results
         * show it: `--doc riscv-privileged.pdf`) */
        if (glob && (!path || (fnmatch(glob, path, 0) != 0 &&
                               fnmatch(glob, strrchr(path, '/') ? strrchr(path, '/') + 1
                                                                : path, 0) != 0)))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            int64_t *nv = rag_realloc(v, ncap * sizeof *nv);
            if (!nv) {
                rc = rag_fail(err, RAG_ENOMEM, "vector filter: out of memory (%zu chunks)",
                              n);
                goto done;
            }
            v = nv;
            cap = ncap;
        }
        v[n++] = sqlite3_column_int64(st, 0);
    }
    if (step != SQLITE_DONE)
        rc = rag_fail(err, RAG_EIO, "vector filter: chunks table: %s", sqlite3_errmsg(db));
done:
    sqlite3_finalize(st);
    if (rc < 0 || n == 0) {
        rag_free(v);
        return rc;
    }
    *ids = v;
    *n_ids = n;
    return RAG_OK;
}
