/* hub_check.c - what rag_hub_pull accepts into a model folder.
 *
 * A Hub, a proxy or a broken mirror can answer a model file with anything:
 * an HTML error page, a 100 MB JSON string as config.json. Each pulled file
 * is checked before it is renamed into place (and a file already in place is
 * checked before it is trusted), so a folder that `docrag models pull`
 * reports as complete holds files of the right kind:
 *
 *   file               size cap  content
 *   config.json        1 MiB     a JSON object, BERT-like: integer
 *                                hidden_size, num_hidden_layers,
 *                                num_attention_heads, vocab_size > 0, and
 *                                "architectures" (strings) or "model_type"
 *   tokenizer.json     64 MiB    a JSON object with a "model" object that
 *                                has a "vocab"
 *   vocab.txt          16 MiB    UTF-8 text without NUL, one token a line
 *   other *.json       1 MiB     JSON: modules.json an array, the rest objects
 *   model.safetensors  none      u64 little-endian header length N
 *                                (2 <= N <= 100 MiB, 8 + N <= file size); the
 *                                header a JSON object of tensors, each with a
 *                                known dtype, an integer shape and
 *                                data_offsets [b, e], b <= e <= data size,
 *                                e - b = elements x dtype size
 *
 * The size caps are also enforced while downloading (download.c), so a
 * 100 MB config.json is refused at its first bytes, not after it is stored.
 * This is a structural check: src/net cannot use the loaders of src/model
 * and src/text (peer modules), which still validate everything on load.
 */
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define JSON_CAP ((int64_t)1 << 20)
#define TOKENIZER_CAP ((int64_t)64 << 20)
#define VOCAB_CAP ((int64_t)16 << 20)
#define ST_HEADER_MAX ((uint64_t)100 << 20)

static const char *base_name(const char *file)
{
    const char *s = strrchr(file, '/');
    return s ? s + 1 : file;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

int64_t rag_hub_file_cap(const char *file)
{
    const char *b = base_name(file);
    if (!strcmp(b, "tokenizer.json"))
        return TOKENIZER_CAP;
    if (!strcmp(b, "vocab.txt"))
        return VOCAB_CAP;
    if (ends_with(b, ".json"))
        return JSON_CAP;
    return 0; /* weights: as large as announced */
}

static int read_all(rag_buf *b, const char *file, const char *path, int64_t cap,
                    rag_err *err)
{
    int rc = rag_read_file(b, path, (size_t)cap, err);
    if (rc == RAG_ELIMIT)
        return rag_fail(err, RAG_ELIMIT, "%s: larger than the %lld bytes a %s may have", file,
                        (long long)cap, base_name(file));
    return rc;
}

static int load_json(json_t **out, const char *file, const char *path, int64_t cap,
                     rag_err *err)
{
    rag_buf b = RAG_BUF_INIT;
    json_error_t je;
    int rc = read_all(&b, file, path, cap, err);
    *out = NULL;
    if (rc == RAG_OK) {
        *out = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                          &je);
        if (!*out)
            rc = json_error_code(&je) == json_error_out_of_memory
                     ? rag_fail(err, RAG_ENOMEM, "%s: out of memory", file)
                     : rag_fail(err, RAG_EFORMAT, "%s: not JSON (line %d column %d: %s)",
                                file, je.line, je.column, je.text);
    }
    rag_buf_fini(&b);
    return rc;
}

static int positive_int(const json_t *o, const char *key, const char *file, rag_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return rag_fail(err, RAG_EFORMAT, "%s: \"%s\" must be a positive integer (not a "
                        "BERT-like config)", file, key);
    return RAG_OK;
}

static int check_config(const json_t *j, const char *file, rag_err *err)
{
    static const char *const ints[] = {"hidden_size", "num_hidden_layers",
                                       "num_attention_heads", "vocab_size", NULL};
    json_t *arch = json_object_get(j, "architectures"), *mt = json_object_get(j, "model_type");
    int rc;
    if (!json_is_object(j))
        return rag_fail(err, RAG_EFORMAT, "%s: not a JSON object", file);
    if (arch) {
        size_t i;
        json_t *a;
        if (!json_is_array(arch) || json_array_size(arch) == 0)
            return rag_fail(err, RAG_EFORMAT, "%s: \"architectures\" must be a non-empty list",
                            file);
        json_array_foreach(arch, i, a)
            if (!json_is_string(a))
                return rag_fail(err, RAG_EFORMAT, "%s: \"architectures\" must hold names",
                                file);
    } else if (!json_is_string(mt)) {
        return rag_fail(err, RAG_EFORMAT, "%s: neither \"architectures\" nor \"model_type\" "
                        "(not a BERT-like model config)", file);
    }
    for (size_t i = 0; ints[i]; i++)
        if ((rc = positive_int(j, ints[i], file, err)) < 0)
            return rc;
    return RAG_OK;
}

static int check_tokenizer(const json_t *j, const char *file, rag_err *err)
{
    json_t *m = json_object_get(j, "model"), *v;
    if (!json_is_object(j))
        return rag_fail(err, RAG_EFORMAT, "%s: not a JSON object", file);
    if (!json_is_object(m))
        return rag_fail(err, RAG_EFORMAT, "%s: no \"model\" object (not a tokenizers file)",
                        file);
    v = json_object_get(m, "vocab");
    if (!json_is_object(v) && !json_is_array(v))
        return rag_fail(err, RAG_EFORMAT, "%s: model.vocab missing", file);
    return RAG_OK;
}

static int check_vocab(const char *file, const char *path, rag_err *err)
{
    rag_buf b = RAG_BUF_INIT;
    int rc = read_all(&b, file, path, VOCAB_CAP, err);
    if (rc == RAG_OK && (b.len == 0 || strspn(b.data, "\r\n") == b.len))
        rc = rag_fail(err, RAG_EFORMAT, "%s: no tokens", file);
    else if (rc == RAG_OK && memchr(b.data, '\0', b.len))
        rc = rag_fail(err, RAG_EFORMAT, "%s: holds NUL bytes (not a vocabulary)", file);
    else if (rc == RAG_OK && !rag_utf8_valid(b.data, b.len))
        rc = rag_fail(err, RAG_EFORMAT, "%s: not UTF-8 text", file);
    rag_buf_fini(&b);
    return rc;
}

static size_t dtype_bytes(const char *name)
{
    static const struct {
        const char *name;
        size_t n;
    } t[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"I16", 2}, {"U16", 2},
             {"F16", 2},  {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},
             {"F64", 8},  {"I64", 8}, {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(t[i].name, name))
            return t[i].n;
    return 0;
}

static int check_tensor(const char *name, const json_t *t, uint64_t data_bytes,
                        const char *file, rag_err *err)
{
    json_t *dt = json_object_get(t, "dtype"), *shape = json_object_get(t, "shape");
    json_t *off = json_object_get(t, "data_offsets"), *d;
    size_t elem, i, n = 1;
    json_int_t b, e;

    if (!json_is_object(t) || !json_is_string(dt) || !json_is_array(shape) ||
        !json_is_array(off) || json_array_size(off) != 2)
        return rag_fail(err, RAG_EFORMAT, "%s: tensor \"%.60s\" needs dtype, shape and "
                        "data_offsets", file, name);
    if (!(elem = dtype_bytes(json_string_value(dt))))
        return rag_fail(err, RAG_EFORMAT, "%s: tensor \"%.60s\": unknown dtype \"%.16s\"", file,
                        name, json_string_value(dt));
    json_array_foreach(shape, i, d) {
        if (!json_is_integer(d) || json_integer_value(d) < 0 ||
            rag_size_mul(n, (size_t)json_integer_value(d), &n) < 0)
            return rag_fail(err, RAG_EFORMAT, "%s: tensor \"%.60s\": bad shape", file, name);
    }
    if (!json_is_integer(json_array_get(off, 0)) || !json_is_integer(json_array_get(off, 1)))
        return rag_fail(err, RAG_EFORMAT, "%s: tensor \"%.60s\": bad data_offsets", file, name);
    b = json_integer_value(json_array_get(off, 0));
    e = json_integer_value(json_array_get(off, 1));
    if (b < 0 || e < b || (uint64_t)e > data_bytes)
        return rag_fail(err, RAG_EFORMAT, "%s: tensor \"%.60s\": data_offsets [%lld, %lld] "
                        "outside the %llu data bytes", file, name, (long long)b, (long long)e,
                        (unsigned long long)data_bytes);
    if (rag_size_mul(n, elem, &n) < 0 || (uint64_t)n != (uint64_t)(e - b))
        return rag_fail(err, RAG_EFORMAT, "%s: tensor \"%.60s\": %lld bytes for its shape and "
                        "dtype", file, name, (long long)(e - b));
    return RAG_OK;
}

static int check_safetensors(const char *file, const char *path, rag_err *err)
{
    FILE *f = fopen(path, "rb");
    unsigned char len8[8];
    uint64_t n = 0, size;
    struct stat st;
    char *hdr = NULL;
    json_t *j = NULL, *t;
    json_error_t je;
    const char *key;
    int rc = RAG_OK, n_tensors = 0;

    if (!f)
        return rag_fail(err, RAG_EIO, "%s: %s", file, strerror(errno));
    if (fstat(fileno(f), &st) != 0 || fread(len8, 1, 8, f) != 8) {
        rc = rag_fail(err, RAG_EFORMAT, "%s: shorter than a safetensors header", file);
        goto done;
    }
    size = (uint64_t)st.st_size;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | len8[i];
    if (n < 2 || n > ST_HEADER_MAX || n > size - 8) {
        rc = rag_fail(err, RAG_EFORMAT, "%s: header length %llu does not fit a %llu-byte "
                      "safetensors file", file, (unsigned long long)n, (unsigned long long)size);
        goto done;
    }
    if (!(hdr = rag_malloc((size_t)n))) {
        rc = rag_fail(err, RAG_ENOMEM, "%s: out of memory", file);
        goto done;
    }
    if (fread(hdr, 1, (size_t)n, f) != (size_t)n) {
        rc = rag_fail(err, RAG_EIO, "%s: short read", file);
        goto done;
    }
    j = json_loadb(hdr, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(j)) {
        rc = rag_fail(err, RAG_EFORMAT, "%s: header is not a JSON object%s%s", file,
                      j ? "" : ": ", j ? "" : je.text);
        goto done;
    }
    json_object_foreach(j, key, t) {
        if (!strcmp(key, "__metadata__"))
            continue;
        if ((rc = check_tensor(key, t, size - 8 - n, file, err)) < 0)
            goto done;
        n_tensors++;
    }
    if (!n_tensors)
        rc = rag_fail(err, RAG_EFORMAT, "%s: no tensors", file);
done:
    if (j)
        json_decref(j);
    rag_free(hdr);
    fclose(f);
    return rc;
}

int rag_hub_check_file(const char *file, const char *path, rag_err *err)
{
    const char *b = base_name(file);
    json_t *j = NULL;
    int rc;

    if (!strcmp(b, "model.safetensors") || ends_with(b, ".safetensors"))
        return check_safetensors(file, path, err);
    if (!strcmp(b, "vocab.txt"))
        return check_vocab(file, path, err);
    if (!ends_with(b, ".json"))
        return RAG_OK;
    if ((rc = load_json(&j, file, path, rag_hub_file_cap(file), err)) < 0)
        return rc;
    if (!strcmp(file, "config.json"))
        rc = check_config(j, file, err);
    else if (!strcmp(b, "tokenizer.json"))
        rc = check_tokenizer(j, file, err);
    else if (!strcmp(b, "modules.json") && !json_is_array(j))
        rc = rag_fail(err, RAG_EFORMAT, "%s: not a JSON list of modules", file);
    else if (strcmp(b, "modules.json") && !json_is_object(j))
        rc = rag_fail(err, RAG_EFORMAT, "%s: not a JSON object", file);
    json_decref(j);
    return rc;
}
