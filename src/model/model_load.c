/* model_load.c - read a Hugging Face BERT folder into a rag_model.
 *
 * config.json gives the architecture and shapes; sentence-transformers
 * files (modules.json, <pooling>/config.json, sentence_bert_config.json)
 * give pooling, normalisation and max_seq_length. model.safetensors is
 * mmapped read-only; every tensor is checked against the shape config.json
 * implies, converted to f32 (from f32, f16 or bf16) into owned memory, and
 * on the fast path packed for oneDNN. Pages of the mapping are dropped
 * as each tensor is consumed and the file is unmapped before return, so
 * resident memory after load is about one copy of the weights (f32
 * embeddings + packed matmul weights).
 *
 * Q, K and V are fused into one [3H, H] matrix so a layer runs one matmul
 * for all three.
 */
#include "model_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX_BYTES (1u << 20)

rag_model_opts rag_model_default_opts(void)
{
    rag_model_opts o;
    memset(&o, 0, sizeof o);
    o.precision = RAG_PRECISION_F32;
    return o;
}

int rag_precision_parse(const char *s)
{
    if (!strcmp(s, "f32") || !strcmp(s, "fp32"))
        return RAG_PRECISION_F32;
    if (!strcmp(s, "bf16"))
        return RAG_PRECISION_BF16;
    if (!strcmp(s, "int8") || !strcmp(s, "i8"))
        return RAG_PRECISION_INT8;
    return -1;
}

const char *rag_precision_name(rag_precision p)
{
    return p == RAG_PRECISION_BF16 ? "bf16" : p == RAG_PRECISION_INT8 ? "int8" : "f32";
}

/* ---- JSON helpers ------------------------------------------------------ */

static int load_json(json_t **out, const char *path, int required, rag_err *err)
{
    rag_buf b = RAG_BUF_INIT;
    json_error_t jerr;
    int rc;

    *out = NULL;
    rc = rag_read_file(&b, path, CONFIG_MAX_BYTES, err);
    if (rc == RAG_ENOTFOUND && !required) {
        rag_buf_fini(&b);
        return RAG_OK;
    }
    if (rc < 0) {
        rag_buf_fini(&b);
        return rc;
    }
    *out = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &jerr);
    rag_buf_fini(&b);
    if (!*out)
        return rag_fail(err, RAG_EFORMAT, "%s: line %d column %d: %s", path, jerr.line,
                        jerr.column, jerr.text);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return rag_fail(err, RAG_EFORMAT, "%s: not a JSON object", path);
    }
    return RAG_OK;
}

/* Integer field: required (def < 0 means required) and range-checked. */
static int get_int(const json_t *o, const char *key, long def, long lo, long hi,
                   int *out, const char *path, rag_err *err)
{
    json_t *v = json_object_get(o, key);
    long x;
    if (!v || json_is_null(v)) {
        if (def < 0)
            return rag_fail(err, RAG_EFORMAT, "%s: missing \"%s\"", path, key);
        *out = (int)def;
        return RAG_OK;
    }
    if (!json_is_integer(v))
        return rag_fail(err, RAG_EFORMAT, "%s: \"%s\" is not an integer", path, key);
    x = (long)json_integer_value(v);
    if (x < lo || x > hi)
        return rag_fail(err, RAG_EFORMAT, "%s: \"%s\" = %ld is outside %ld..%ld", path,
                        key, x, lo, hi);
    *out = (int)x;
    return RAG_OK;
}

static int parse_config(rag_model *m, const char *dir, rag_err *err)
{
    char *path = rag_asprintf("%s/config.json", dir);
    json_t *c = NULL, *archs, *v;
    const char *arch;
    int rc, max_pos;

    if (!path)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    rc = load_json(&c, path, 1, err);
    if (rc < 0)
        goto done;
    archs = json_object_get(c, "architectures");
    if (!json_is_array(archs) || json_array_size(archs) < 1 ||
        !json_is_string(json_array_get(archs, 0))) {
        rc = rag_fail(err, RAG_EFORMAT, "%s: missing \"architectures\"", path);
        goto done;
    }
    arch = json_string_value(json_array_get(archs, 0));
    snprintf(m->arch, sizeof m->arch, "%s", arch);
    if (!strcmp(arch, "BertModel")) {
        m->info.kind = RAG_MODEL_KIND_ENCODER;
    } else if (!strcmp(arch, "BertForSequenceClassification")) {
        m->info.kind = RAG_MODEL_KIND_CROSS;
    } else {
        rc = rag_fail(err, RAG_EFORMAT,
                      "%s: unsupported architecture \"%.64s\" (supported: BertModel, "
                      "BertForSequenceClassification)",
                      path, arch);
        goto done;
    }
    v = json_object_get(c, "model_type");
    if (v && json_is_string(v) && strcmp(json_string_value(v), "bert")) {
        rc = rag_fail(err, RAG_EFORMAT, "%s: unsupported model_type \"%.64s\"", path,
                      json_string_value(v));
        goto done;
    }
    v = json_object_get(c, "hidden_act");
    if (v && (!json_is_string(v) || strcmp(json_string_value(v), "gelu"))) {
        rc = rag_fail(err, RAG_EFORMAT, "%s: unsupported hidden_act (only \"gelu\")", path);
        goto done;
    }
    v = json_object_get(c, "position_embedding_type");
    if (v && (!json_is_string(v) || strcmp(json_string_value(v), "absolute"))) {
        rc = rag_fail(err, RAG_EFORMAT,
                      "%s: unsupported position_embedding_type (only \"absolute\")", path);
        goto done;
    }
    if ((rc = get_int(c, "hidden_size", -1, 1, 1 << 14, &m->info.hidden, path, err)) < 0 ||
        (rc = get_int(c, "num_hidden_layers", -1, 1, 256, &m->info.n_layers, path, err)) < 0 ||
        (rc = get_int(c, "num_attention_heads", -1, 1, 1024, &m->info.n_heads, path, err)) < 0 ||
        (rc = get_int(c, "intermediate_size", -1, 1, 1 << 16, &m->info.intermediate, path,
                      err)) < 0 ||
        (rc = get_int(c, "vocab_size", -1, 1, 1 << 22, &m->info.vocab_size, path, err)) < 0 ||
        (rc = get_int(c, "max_position_embeddings", 512, 1, 1 << 16, &max_pos, path, err)) < 0 ||
        (rc = get_int(c, "type_vocab_size", 2, 1, 1024, &m->n_types, path, err)) < 0)
        goto done;
    if (m->info.hidden % m->info.n_heads) {
        rc = rag_fail(err, RAG_EFORMAT, "%s: hidden_size %d is not a multiple of "
                      "num_attention_heads %d", path, m->info.hidden, m->info.n_heads);
        goto done;
    }
    m->n_positions = max_pos;
    m->info.max_seq = max_pos;
    m->eps = 1e-12f;
    v = json_object_get(c, "layer_norm_eps");
    if (v && json_is_number(v))
        m->eps = (float)json_number_value(v);
    if (m->info.kind == RAG_MODEL_KIND_CROSS) {
        json_t *id2label = json_object_get(c, "id2label");
        if (json_object_get(c, "num_labels")) {
            rc = get_int(c, "num_labels", -1, 1, 1 << 16, &m->info.n_labels, path, err);
            if (rc < 0)
                goto done;
        } else if (json_is_object(id2label) && json_object_size(id2label) > 0) {
            m->info.n_labels = (int)json_object_size(id2label);
        } else {
            m->info.n_labels = 2;   /* transformers' PretrainedConfig default */
        }
        m->info.dim = (size_t)m->info.n_labels;
    } else {
        m->info.pooling = RAG_POOL_MEAN;
        m->info.dim = (size_t)m->info.hidden;
    }
done:
    json_decref(c);
    rag_free(path);
    return rc;
}

/* sentence-transformers: modules.json lists Transformer, Pooling and
 * optional Normalize modules; the Pooling module's folder holds its config. */
static int parse_st_config(rag_model *m, const char *dir, rag_err *err)
{
    char *path = rag_asprintf("%s/modules.json", dir);
    char *ppath = NULL, *spath = NULL;
    json_t *mods = NULL, *pool = NULL, *sb = NULL;
    rag_buf b = RAG_BUF_INIT;
    json_error_t jerr;
    int rc = RAG_OK;

    if (!path)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    rc = rag_read_file(&b, path, CONFIG_MAX_BYTES, err);
    if (rc == RAG_ENOTFOUND) {
        rc = RAG_OK;
    } else if (rc == RAG_OK) {
        size_t i;
        json_t *e;
        mods = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
        if (!mods || !json_is_array(mods)) {
            rc = rag_fail(err, RAG_EFORMAT, "%s: expected a JSON array of modules", path);
            goto done;
        }
        json_array_foreach(mods, i, e) {
            const char *type = json_string_value(json_object_get(e, "type"));
            const char *mpath = json_string_value(json_object_get(e, "path"));
            if (!type)
                continue;
            if (strstr(type, "Normalize")) {
                m->info.normalize = 1;
            } else if (strstr(type, "Pooling") && mpath && !ppath) {
                if (strstr(mpath, "..")) {
                    rc = rag_fail(err, RAG_EFORMAT, "%s: bad module path \"%s\"", path, mpath);
                    goto done;
                }
                ppath = rag_asprintf("%s/%s/config.json", dir, mpath);
                if (!ppath) {
                    rc = rag_fail(err, RAG_ENOMEM, "out of memory");
                    goto done;
                }
            } else if (!strstr(type, "Transformer") && !strstr(type, "Pooling")) {
                rc = rag_fail(err, RAG_EFORMAT, "%s: unsupported module type \"%.80s\"",
                              path, type);
                goto done;
            }
        }
    } else {
        goto done;
    }
    if (ppath) {
        rc = load_json(&pool, ppath, 1, err);
        if (rc < 0)
            goto done;
        if (json_is_true(json_object_get(pool, "pooling_mode_max_tokens")) ||
            json_is_true(json_object_get(pool, "pooling_mode_mean_sqrt_len_tokens")) ||
            json_is_true(json_object_get(pool, "pooling_mode_weightedmean_tokens")) ||
            json_is_true(json_object_get(pool, "pooling_mode_lasttoken"))) {
            rc = rag_fail(err, RAG_EFORMAT,
                          "%s: unsupported pooling mode (only mean or cls)", ppath);
            goto done;
        }
        if (json_is_true(json_object_get(pool, "pooling_mode_cls_token")))
            m->info.pooling = RAG_POOL_CLS;
        else if (json_is_true(json_object_get(pool, "pooling_mode_mean_tokens")))
            m->info.pooling = RAG_POOL_MEAN;
        else {
            rc = rag_fail(err, RAG_EFORMAT, "%s: no pooling mode set", ppath);
            goto done;
        }
    }
    spath = rag_asprintf("%s/sentence_bert_config.json", dir);
    if (!spath) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        goto done;
    }
    rc = load_json(&sb, spath, 0, err);
    if (rc < 0)
        goto done;
    if (sb) {
        int msl;
        rc = get_int(sb, "max_seq_length", m->n_positions, 1, 1 << 16, &msl, spath, err);
        if (rc < 0)
            goto done;
        if (msl < m->info.max_seq)
            m->info.max_seq = msl;
    }
done:
    json_decref(mods);
    json_decref(pool);
    json_decref(sb);
    rag_buf_fini(&b);
    rag_free(path);
    rag_free(ppath);
    rag_free(spath);
    return rc;
}

/* ---- tensors ----------------------------------------------------------- */

typedef struct {
    const rag_safetensors *st;
    const char *file;     /* for messages */
    const uint8_t *map;
    size_t n_map;
} loader;

/* Find tensor name ("bert."-prefixed or bare) and check its shape and
 * dtype (F32, F16 or BF16). */
static int find_tensor(const rag_st_tensor **out, const loader *ld, const char *name,
                       int64_t d0, int64_t d1, rag_err *err)
{
    char full[256];
    const rag_st_tensor *t;
    int n_dims = d1 > 0 ? 2 : 1;

    *out = NULL;
    snprintf(full, sizeof full, "bert.%s", name);
    t = rag_safetensors_find(ld->st, full);
    if (!t)
        t = rag_safetensors_find(ld->st, name);
    if (!t)
        return rag_fail(err, RAG_EFORMAT, "%s: missing tensor \"%s\"", ld->file, name);
    if (t->n_dims != n_dims || t->shape[0] != d0 || (n_dims == 2 && t->shape[1] != d1)) {
        char got[96] = "";
        size_t o = 0;
        for (int i = 0; i < t->n_dims && o < sizeof got - 24; i++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%s%lld", i ? ", " : "",
                                  (long long)t->shape[i]);
        if (n_dims == 2)
            return rag_fail(err, RAG_EFORMAT,
                            "%s: tensor \"%s\" has shape [%s], config.json implies [%lld, %lld]",
                            ld->file, t->name, got, (long long)d0, (long long)d1);
        return rag_fail(err, RAG_EFORMAT,
                        "%s: tensor \"%s\" has shape [%s], config.json implies [%lld]",
                        ld->file, t->name, got, (long long)d0);
    }
    if (t->dtype != RAG_DTYPE_F32 && t->dtype != RAG_DTYPE_F16 && t->dtype != RAG_DTYPE_BF16)
        return rag_fail(err, RAG_EFORMAT,
                        "%s: tensor \"%s\" has dtype %s (supported: F32, F16, BF16)",
                        ld->file, t->name, rag_dtype_name(t->dtype));
    *out = t;
    return RAG_OK;
}

/* 0, or RAG_EFORMAT naming the first NaN or Inf of the n floats at f. */
static int check_finite(const float *f, size_t n, const loader *ld, const char *name,
                        rag_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (!(f[i] == f[i]) || f[i] - f[i] != 0.0f)
            return rag_fail(err, RAG_EFORMAT, "%s: tensor \"%s\" holds NaN or Inf at %zu",
                            ld->file, name, i);
    return RAG_OK;
}

/* Give the clean file pages of t back to the kernel (they are read again
 * from the page cache if touched). */
static void release_pages(const loader *ld, const rag_st_tensor *t)
{
    long page = sysconf(_SC_PAGESIZE);
    if (ld->map && page > 0) {
        uintptr_t lo = ((uintptr_t)t->data + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
        uintptr_t hi = ((uintptr_t)t->data + t->n_bytes) & ~((uintptr_t)page - 1);
        if (hi > lo)
            madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
}

/* Copy a tensor into a fresh f32 buffer after checking its shape; the
 * source pages are then released (they are clean file pages). */
static int take_tensor(float **out, const loader *ld, const char *name, int64_t d0,
                       int64_t d1, rag_err *err)
{
    const rag_st_tensor *t;
    float *f;
    int rc;

    *out = NULL;
    if ((rc = find_tensor(&t, ld, name, d0, d1, err)) < 0)
        return rc;
    f = rag_malloc(t->n_elems ? t->n_elems * sizeof *f : 1);
    if (!f)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory for tensor \"%s\"", ld->file,
                        t->name);
    if (t->dtype == RAG_DTYPE_F32) {
        memcpy(f, t->data, t->n_bytes);
    } else {
        for (size_t i = 0; i < t->n_elems; i++) {
            uint16_t h = (uint16_t)(t->data[2 * i] | (t->data[2 * i + 1] << 8));
            f[i] = t->dtype == RAG_DTYPE_F16 ? rag_f16_to_f32(h) : rag_bf16_to_f32(h);
        }
    }
    if ((rc = check_finite(f, t->n_elems, ld, t->name, err)) < 0) {
        rag_free(f);
        return rc;
    }
    release_pages(ld, t);
    *out = f;
    return RAG_OK;
}

/* The word embedding table: read in place from the mapped file when it is
 * aligned F32 (*mapped = 1: only the rows a text uses become resident,
 * ~47 MB of a MiniLM's 90 MB stay on disk), else copied like any tensor. */
static int take_word_table(float **out, int *mapped, const loader *ld, int64_t d0,
                           int64_t d1, rag_err *err)
{
    static const char name[] = "embeddings.word_embeddings.weight";
    const rag_st_tensor *t;
    int rc;

    *mapped = 0;
    if ((rc = find_tensor(&t, ld, name, d0, d1, err)) < 0)
        return rc;
    if (!ld->map || t->dtype != RAG_DTYPE_F32 || (uintptr_t)t->data % sizeof(float))
        return take_tensor(out, ld, name, d0, d1, err);
    if ((rc = check_finite((const float *)(const void *)t->data, t->n_elems, ld, t->name,
                           err)) < 0)
        return rc;
    release_pages(ld, t);
    *out = (float *)(uintptr_t)t->data;
    *mapped = 1;
    return RAG_OK;
}

/* int8 precision: quantize the word table per row (symmetric, scale =
 * max|row| / 127), a quarter of the f32 table and all of it resident
 * (11.7 MB for a 30522 x 384 vocabulary instead of up to 47 MB of mapped
 * file pages as texts touch rows). The f32 source is released. */
static int quantize_word_table(rag_model *m, int64_t n_rows, int64_t h, rag_err *err)
{
    const float *w = m->word;
    m->word_q = rag_malloc((size_t)n_rows * (size_t)h);
    m->word_scale = rag_malloc((size_t)n_rows * sizeof *m->word_scale);
    if (!m->word_q || !m->word_scale)
        return rag_fail(err, RAG_ENOMEM, "out of memory quantizing the word embeddings");
    for (int64_t r = 0; r < n_rows; r++) {
        const float *row = w + r * h;
        int8_t *q = m->word_q + r * h;
        float mx = 0.0f, inv;
        for (int64_t d = 0; d < h; d++)
            mx = fabsf(row[d]) > mx ? fabsf(row[d]) : mx;
        m->word_scale[r] = mx > 0.0f ? mx / 127.0f : 1.0f;
        inv = 1.0f / m->word_scale[r];
        for (int64_t d = 0; d < h; d++)
            q[d] = (int8_t)lrintf(row[d] * inv);
    }
    if (!m->word_mapped)
        rag_free(m->word);
    m->word = NULL;
    m->word_mapped = 0;   /* the mapping is dropped with the loader's */
    return RAG_OK;
}

static int take_linear(rag_linear *l, const loader *ld, const char *prefix, int n_out,
                       int n_in, rag_err *err)
{
    char name[256];
    int rc;
    l->n_out = n_out;
    l->n_in = n_in;
    snprintf(name, sizeof name, "%s.weight", prefix);
    rc = take_tensor(&l->w, ld, name, n_out, n_in, err);
    if (rc < 0)
        return rc;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return take_tensor(&l->b, ld, name, n_out, 0, err);
}

/* Read query, key and value of layer i into one fused [3H, H] linear. */
static int take_qkv(rag_linear *l, const loader *ld, int i, int h, int n_heads,
                    rag_err *err)
{
    static const char *const parts[3] = {"query", "key", "value"};
    size_t hh = (size_t)h * (size_t)h;
    float qscale = 1.0f / sqrtf((float)(h / n_heads));
    int rc = RAG_OK;

    l->n_out = 3 * h;
    l->n_in = h;
    l->w = rag_malloc(3 * hh * sizeof *l->w);
    l->b = rag_malloc(3 * (size_t)h * sizeof *l->b);
    if (!l->w || !l->b)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", ld->file);
    for (int p = 0; p < 3 && rc == RAG_OK; p++) {
        rag_linear part = {0};
        char prefix[128];
        snprintf(prefix, sizeof prefix, "encoder.layer.%d.attention.self.%s", i, parts[p]);
        rc = take_linear(&part, ld, prefix, h, h, err);
        if (rc == RAG_OK) {
            /* fold attention's 1/sqrt(head_dim) into the query projection */
            float sc = p == 0 ? qscale : 1.0f;
            for (size_t j = 0; j < hh; j++)
                l->w[(size_t)p * hh + j] = part.w[j] * sc;
            for (int j = 0; j < h; j++)
                l->b[(size_t)p * h + j] = part.b[j] * sc;
        }
        rag_linear_fini(&part);
    }
    return rc;
}

static int take_layer(rag_layer *L, const loader *ld, int i, const rag_model *m,
                      rag_err *err)
{
    char p[128];
    int h = m->info.hidden, f = m->info.intermediate, rc;

    if ((rc = take_qkv(&L->qkv, ld, i, h, m->info.n_heads, err)) < 0)
        return rc;
    snprintf(p, sizeof p, "encoder.layer.%d.attention.output.dense", i);
    if ((rc = take_linear(&L->out, ld, p, h, h, err)) < 0)
        return rc;
    snprintf(p, sizeof p, "encoder.layer.%d.attention.output.LayerNorm.weight", i);
    if ((rc = take_tensor(&L->ln1_g, ld, p, h, 0, err)) < 0)
        return rc;
    snprintf(p, sizeof p, "encoder.layer.%d.attention.output.LayerNorm.bias", i);
    if ((rc = take_tensor(&L->ln1_b, ld, p, h, 0, err)) < 0)
        return rc;
    snprintf(p, sizeof p, "encoder.layer.%d.intermediate.dense", i);
    if ((rc = take_linear(&L->up, ld, p, f, h, err)) < 0)
        return rc;
    snprintf(p, sizeof p, "encoder.layer.%d.output.dense", i);
    if ((rc = take_linear(&L->down, ld, p, h, f, err)) < 0)
        return rc;
    snprintf(p, sizeof p, "encoder.layer.%d.output.LayerNorm.weight", i);
    if ((rc = take_tensor(&L->ln2_g, ld, p, h, 0, err)) < 0)
        return rc;
    snprintf(p, sizeof p, "encoder.layer.%d.output.LayerNorm.bias", i);
    return take_tensor(&L->ln2_b, ld, p, h, 0, err);
}

static int pack_model(rag_model *m, rag_err *err)
{
    int rc;
    char what[64];
    for (int i = 0; i < m->info.n_layers; i++) {
        rag_layer *L = &m->layers[i];
        snprintf(what, sizeof what, "layer %d", i);
        if ((rc = rag_k_pack(m, &L->qkv, what, err)) < 0 ||
            (rc = rag_k_pack(m, &L->out, what, err)) < 0 ||
            (rc = rag_k_pack(m, &L->up, what, err)) < 0 ||
            (rc = rag_k_pack(m, &L->down, what, err)) < 0)
            return rc;
    }
    /* The pooler and classifier see one row per sequence: they stay on the
     * reference path, so they are not packed. */
    return RAG_OK;
}

static int load_weights(rag_model *m, const char *dir, rag_err *err)
{
    char *path = rag_asprintf("%s/model.safetensors", dir);
    rag_safetensors st = {0};
    loader ld = {0};
    struct stat sb;
    void *map = MAP_FAILED;
    int fd = -1, rc = RAG_OK;
    int h = m->info.hidden;

    if (!path)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = rag_fail(err, errno == ENOENT ? RAG_ENOTFOUND : RAG_EIO, "%s: %s", path,
                      strerror(errno));
        goto done;
    }
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        rc = rag_fail(err, RAG_EIO, "%s: not a regular file", path);
        goto done;
    }
    m->info.weight_file_bytes = (size_t)sb.st_size;
    if (sb.st_size > 0)
        map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (sb.st_size > 0 && map == MAP_FAILED) {
        rc = rag_fail(err, RAG_EIO, "%s: mmap: %s", path, strerror(errno));
        goto done;
    }
    rc = rag_safetensors_parse(&st, map == MAP_FAILED ? (const uint8_t *)"" : map,
                               (size_t)sb.st_size, path, err);
    if (rc < 0)
        goto done;
    ld.st = &st;
    ld.file = path;
    ld.map = map == MAP_FAILED ? NULL : map;
    ld.n_map = (size_t)sb.st_size;

    if ((rc = take_word_table(&m->word, &m->word_mapped, &ld, m->info.vocab_size, h,
                              err)) < 0 ||
        (m->info.precision == RAG_PRECISION_INT8 &&
         (rc = quantize_word_table(m, m->info.vocab_size, h, err)) < 0) ||
        (rc = take_tensor(&m->pos, &ld, "embeddings.position_embeddings.weight",
                          m->n_positions, h, err)) < 0 ||
        (rc = take_tensor(&m->type, &ld, "embeddings.token_type_embeddings.weight",
                          m->n_types, h, err)) < 0 ||
        (rc = take_tensor(&m->emb_ln_g, &ld, "embeddings.LayerNorm.weight", h, 0, err)) < 0 ||
        (rc = take_tensor(&m->emb_ln_b, &ld, "embeddings.LayerNorm.bias", h, 0, err)) < 0)
        goto done;
    m->layers = rag_calloc((size_t)m->info.n_layers, sizeof *m->layers);
    if (!m->layers) {
        rc = rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < m->info.n_layers; i++)
        if ((rc = take_layer(&m->layers[i], &ld, i, m, err)) < 0)
            goto done;
    if (m->info.kind == RAG_MODEL_KIND_CROSS) {
        if ((rc = take_linear(&m->pooler, &ld, "pooler.dense", h, h, err)) < 0 ||
            (rc = take_linear(&m->classifier, &ld, "classifier", m->info.n_labels, h,
                              err)) < 0)
            goto done;
    }
done:
    rag_safetensors_fini(&st);
    if (rc == RAG_OK && m->word_mapped) {
        m->map = map;            /* the word table lives in it */
        m->n_map = (size_t)sb.st_size;
    } else if (map != MAP_FAILED) {
        if (m->word_mapped) {
            m->word = NULL;
            m->word_mapped = 0;
        }
        munmap(map, (size_t)sb.st_size);
    }
    if (fd >= 0)
        close(fd);
    rag_free(path);
    return rc;
}

int rag_model_load(rag_model **out, const char *dir, const rag_model_opts *opts,
                   rag_err *err)
{
    rag_model *m;
    int rc;

    *out = NULL;
    m = rag_calloc(1, sizeof *m);
    if (!m)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    m->opts = opts ? *opts : rag_model_default_opts();
    if (m->opts.max_batch == 0)
        m->opts.max_batch = 32;
    if (m->opts.reference && m->opts.precision != RAG_PRECISION_F32) {
        rag_free(m);
        return rag_fail(err, RAG_EINVAL, "the reference path runs f32 only");
    }
    m->n_threads = m->opts.n_threads > 0 ? m->opts.n_threads
                                         : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (m->n_threads < 1)
        m->n_threads = 1;
    m->info.precision = m->opts.precision;

    rc = parse_config(m, dir, err);
    if (rc == RAG_OK && m->info.kind == RAG_MODEL_KIND_ENCODER)
        rc = parse_st_config(m, dir, err);
    if (rc == RAG_OK && m->info.max_seq > m->n_positions)
        m->info.max_seq = m->n_positions;
    if (rc == RAG_OK)
        rc = load_weights(m, dir, err);
    if (rc == RAG_OK && !m->opts.reference) {
        if (dnnl_engine_create(&m->engine, dnnl_cpu, 0) != dnnl_success) {
            m->engine = NULL;
            rc = rag_fail(err, RAG_EBACKEND, "oneDNN: cannot create a CPU engine");
        } else {
            rag_k_setup(m);
            rc = pack_model(m, err);
        }
    }
    m->info.architecture = m->arch;
    if (rc < 0) {
        rag_model_destroy(m);
        return rc;
    }
    *out = m;
    return RAG_OK;
}

void rag_linear_fini(rag_linear *l)
{
    rag_free(l->w);
    rag_free(l->b);
    rag_free(l->packed);
    rag_free(l->w_scale);
    rag_free(l->w_comp);
    memset(l, 0, sizeof *l);
}

void rag_model_destroy(rag_model *m)
{
    if (!m)
        return;
    if (m->layers) {
        for (int i = 0; i < m->info.n_layers; i++) {
            rag_layer *L = &m->layers[i];
            rag_linear_fini(&L->qkv);
            rag_linear_fini(&L->out);
            rag_linear_fini(&L->up);
            rag_linear_fini(&L->down);
            rag_free(L->ln1_g);
            rag_free(L->ln1_b);
            rag_free(L->ln2_g);
            rag_free(L->ln2_b);
        }
        rag_free(m->layers);
    }
    rag_linear_fini(&m->pooler);
    rag_linear_fini(&m->classifier);
    if (m->word_mapped)
        munmap(m->map, m->n_map);
    else
        rag_free(m->word);
    rag_free(m->word_q);
    rag_free(m->word_scale);
    rag_free(m->pos);
    rag_free(m->type);
    rag_free(m->emb_ln_g);
    rag_free(m->emb_ln_b);
    if (m->engine)
        dnnl_engine_destroy(m->engine);
    rag_free(m);
}

void rag_model_get_info(const rag_model *m, rag_model_info *info)
{
    *info = m->info;
}
