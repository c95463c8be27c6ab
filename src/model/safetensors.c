/* safetensors.c - validate a safetensors file held in memory.
 *
 * Layout:
 *   bytes 0..7     N, unsigned 64-bit little-endian: header length
 *   bytes 8..8+N   UTF-8 JSON object:
 *                    {"<tensor>": {"dtype": "F32", "shape": [..],
 *                                  "data_offsets": [begin, end]},
 *                     "__metadata__": {"k": "v"}}   (optional)
 *   bytes 8+N..    data area; data_offsets are relative to its start.
 *
 * Everything from the file is untrusted: the header length, each shape and
 * each offset are range- and overflow-checked before use, and tensors may
 * not overlap. Holes between tensors are tolerated (padding).
 */
#include "model.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX_BYTES (100u << 20)

static const struct {
    const char *name;
    rag_dtype dt;
    size_t n_bytes;
} dtypes[] = {
    {"BOOL", RAG_DTYPE_BOOL, 1}, {"U8", RAG_DTYPE_U8, 1},
    {"I8", RAG_DTYPE_I8, 1},     {"I16", RAG_DTYPE_I16, 2},
    {"U16", RAG_DTYPE_U16, 2},   {"F16", RAG_DTYPE_F16, 2},
    {"BF16", RAG_DTYPE_BF16, 2}, {"I32", RAG_DTYPE_I32, 4},
    {"U32", RAG_DTYPE_U32, 4},   {"F32", RAG_DTYPE_F32, 4},
    {"F64", RAG_DTYPE_F64, 8},   {"I64", RAG_DTYPE_I64, 8},
    {"U64", RAG_DTYPE_U64, 8},   {"F8_E4M3", RAG_DTYPE_F8_E4M3, 1},
    {"F8_E5M2", RAG_DTYPE_F8_E5M2, 1},
};

const char *rag_dtype_name(rag_dtype dt)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].dt == dt)
            return dtypes[i].name;
    return "?";
}

float rag_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    float f;

    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {
            /* subnormal: value = man * 2^-24 */
            f = (float)man * (1.0f / 16777216.0f);
            return sign ? -f : f;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    memcpy(&f, &bits, sizeof f);
    return f;
}

float rag_bf16_to_f32(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t rag_f32_to_bf16(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((bits >> 16) | 0x40);   /* quiet NaN */
    bits += 0x7fffu + ((bits >> 16) & 1);
    return (uint16_t)(bits >> 16);
}

static int cmp_offset(const void *a, const void *b)
{
    const rag_st_tensor *x = a, *y = b;
    if (x->data != y->data)
        return x->data < y->data ? -1 : 1;
    return 0;
}

void rag_safetensors_fini(rag_safetensors *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n_tensors; i++)
        rag_free(st->tensors[i].name);
    rag_free(st->tensors);
    st->tensors = NULL;
    st->n_tensors = 0;
}

const rag_st_tensor *rag_safetensors_find(const rag_safetensors *st,
                                          const char *name)
{
    for (size_t i = 0; i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i].name, name))
            return &st->tensors[i];
    return NULL;
}

static int parse_tensor(rag_st_tensor *t, const char *key, json_t *v,
                        const uint8_t *data_area, size_t n_data_bytes,
                        const char *name, rag_err *err)
{
    json_t *jdt = json_object_get(v, "dtype");
    json_t *jshape = json_object_get(v, "shape");
    json_t *joff = json_object_get(v, "data_offsets");
    size_t elem_bytes = 0, n_elems = 1, n_bytes, i;
    json_int_t begin, end;
    const char *dts;

    if (!json_is_object(v))
        return rag_fail(err, RAG_EFORMAT, "%s: tensor \"%s\": entry is not an object",
                        name, key);
    if (!json_is_string(jdt))
        return rag_fail(err, RAG_EFORMAT, "%s: tensor \"%s\": missing dtype", name, key);
    dts = json_string_value(jdt);
    for (i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
        if (!strcmp(dts, dtypes[i].name)) {
            t->dtype = dtypes[i].dt;
            elem_bytes = dtypes[i].n_bytes;
            break;
        }
    }
    if (!elem_bytes)
        return rag_fail(err, RAG_EFORMAT, "%s: tensor \"%s\": unknown dtype \"%.32s\"",
                        name, key, dts);
    if (!json_is_array(jshape) || json_array_size(jshape) > RAG_ST_MAX_DIMS)
        return rag_fail(err, RAG_EFORMAT,
                        "%s: tensor \"%s\": shape must be an array of at most %d dims",
                        name, key, RAG_ST_MAX_DIMS);
    t->n_dims = (int)json_array_size(jshape);
    for (i = 0; i < json_array_size(jshape); i++) {
        json_t *d = json_array_get(jshape, i);
        json_int_t dv;
        if (!json_is_integer(d) || (dv = json_integer_value(d)) < 0)
            return rag_fail(err, RAG_EFORMAT,
                            "%s: tensor \"%s\": shape[%zu] is not a non-negative integer",
                            name, key, i);
        t->shape[i] = dv;
        if (rag_size_mul(n_elems, (size_t)dv, &n_elems) < 0)
            return rag_fail(err, RAG_EFORMAT, "%s: tensor \"%s\": shape overflows",
                            name, key);
    }
    if (rag_size_mul(n_elems, elem_bytes, &n_bytes) < 0)
        return rag_fail(err, RAG_EFORMAT, "%s: tensor \"%s\": size overflows", name, key);
    if (!json_is_array(joff) || json_array_size(joff) != 2 ||
        !json_is_integer(json_array_get(joff, 0)) ||
        !json_is_integer(json_array_get(joff, 1)))
        return rag_fail(err, RAG_EFORMAT,
                        "%s: tensor \"%s\": data_offsets must be [begin, end]", name, key);
    begin = json_integer_value(json_array_get(joff, 0));
    end = json_integer_value(json_array_get(joff, 1));
    if (begin < 0 || end < begin)
        return rag_fail(err, RAG_EFORMAT,
                        "%s: tensor \"%s\": bad data_offsets [%lld, %lld]", name, key,
                        (long long)begin, (long long)end);
    if ((uint64_t)end > n_data_bytes)
        return rag_fail(err, RAG_EFORMAT,
                        "%s: tensor \"%s\": data_offsets end %lld is past the end of the "
                        "file (data area is %zu bytes)",
                        name, key, (long long)end, n_data_bytes);
    if ((uint64_t)(end - begin) != n_bytes)
        return rag_fail(err, RAG_EFORMAT,
                        "%s: tensor \"%s\": data_offsets span %lld bytes but %s shape "
                        "needs %zu",
                        name, key, (long long)(end - begin), dts, n_bytes);
    t->n_elems = n_elems;
    t->n_bytes = n_bytes;
    t->data = data_area + begin;
    t->name = rag_strdup(key);
    if (!t->name)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
    return RAG_OK;
}

int rag_safetensors_parse(rag_safetensors *out, const uint8_t *file,
                          size_t n_file_bytes, const char *name, rag_err *err)
{
    uint64_t n_header = 0;
    json_error_t jerr;
    json_t *root = NULL, *v;
    const char *key;
    const uint8_t *data_area;
    size_t n_data_bytes, n = 0;
    int rc = RAG_OK;

    memset(out, 0, sizeof *out);
    if (n_file_bytes < 8)
        return rag_fail(err, RAG_EFORMAT,
                        "%s: truncated: %zu bytes, a safetensors file needs at least 8",
                        name, n_file_bytes);
    for (int i = 7; i >= 0; i--)
        n_header = (n_header << 8) | file[i];
    if (n_header > n_file_bytes - 8)
        return rag_fail(err, RAG_EFORMAT,
                        "%s: header length %llu exceeds the file size (%zu bytes); "
                        "truncated or not safetensors",
                        name, (unsigned long long)n_header, n_file_bytes);
    if (n_header > HEADER_MAX_BYTES)
        return rag_fail(err, RAG_ELIMIT, "%s: header of %llu bytes is over the %u-byte limit",
                        name, (unsigned long long)n_header, HEADER_MAX_BYTES);
    data_area = file + 8 + n_header;
    n_data_bytes = n_file_bytes - 8 - (size_t)n_header;

    root = json_loadb((const char *)file + 8, (size_t)n_header,
                      JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return rag_fail(err, RAG_EFORMAT, "%s: header JSON: line %d column %d: %s",
                        name, jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        rc = rag_fail(err, RAG_EFORMAT, "%s: header is not a JSON object", name);
        goto done;
    }
    out->tensors = rag_calloc(json_object_size(root) + 1, sizeof *out->tensors);
    if (!out->tensors) {
        rc = rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
        goto done;
    }
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(v)) {
                rc = rag_fail(err, RAG_EFORMAT, "%s: __metadata__ is not an object", name);
                goto done;
            }
            continue;
        }
        rc = parse_tensor(&out->tensors[n], key, v, data_area, n_data_bytes, name, err);
        if (rc < 0)
            goto done;
        n++;
        out->n_tensors = n;
    }
    qsort(out->tensors, n, sizeof *out->tensors, cmp_offset);
    for (size_t i = 1; i < n; i++) {
        const rag_st_tensor *a = &out->tensors[i - 1], *b = &out->tensors[i];
        if (a->data + a->n_bytes > b->data) {
            rc = rag_fail(err, RAG_EFORMAT, "%s: tensors \"%s\" and \"%s\" overlap",
                          name, a->name, b->name);
            goto done;
        }
    }
done:
    json_decref(root);
    if (rc < 0)
        rag_safetensors_fini(out);
    return rc;
}
