/* test_model_errors.c - malformed model folders and inputs give clear errors
 * that name the file and tensor; over-long inputs are truncated as
 * documented.
 *
 * A tiny BERT (hidden 4, 1 layer, vocab 8) is written by hand here, so each
 * test can drop, reshape or corrupt exactly one thing.
 */
#include "test_support.h"

#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define H 4
#define F 8
#define V 8
#define P 16

typedef struct {
    const char *name;
    int d0, d1;          /* d1 == 0: 1-D */
} tdef;

static const tdef tensors[] = {
    {"embeddings.word_embeddings.weight", V, H},
    {"embeddings.position_embeddings.weight", P, H},
    {"embeddings.token_type_embeddings.weight", 2, H},
    {"embeddings.LayerNorm.weight", H, 0},
    {"embeddings.LayerNorm.bias", H, 0},
    {"encoder.layer.0.attention.self.query.weight", H, H},
    {"encoder.layer.0.attention.self.query.bias", H, 0},
    {"encoder.layer.0.attention.self.key.weight", H, H},
    {"encoder.layer.0.attention.self.key.bias", H, 0},
    {"encoder.layer.0.attention.self.value.weight", H, H},
    {"encoder.layer.0.attention.self.value.bias", H, 0},
    {"encoder.layer.0.attention.output.dense.weight", H, H},
    {"encoder.layer.0.attention.output.dense.bias", H, 0},
    {"encoder.layer.0.attention.output.LayerNorm.weight", H, 0},
    {"encoder.layer.0.attention.output.LayerNorm.bias", H, 0},
    {"encoder.layer.0.intermediate.dense.weight", F, H},
    {"encoder.layer.0.intermediate.dense.bias", F, 0},
    {"encoder.layer.0.output.dense.weight", H, F},
    {"encoder.layer.0.output.dense.bias", H, 0},
    {"encoder.layer.0.output.LayerNorm.weight", H, 0},
    {"encoder.layer.0.output.LayerNorm.bias", H, 0},
};
#define N_TENSORS (sizeof tensors / sizeof tensors[0])

typedef struct {
    const char *skip;        /* tensor to leave out */
    const char *reshape;     /* tensor whose first dim gets +1 */
    const char *dtype_of;    /* tensor stored with `dtype` */
    const char *dtype;
    int overlap;             /* second tensor starts inside the first */
    int past_eof;            /* last tensor's end is past the file */
    long truncate_to;        /* cut the file to this many bytes (>0) */
    const char *arch;        /* architectures[0]; default BertModel */
} variant;

static char *write_model(const char *tag, const variant *va)
{
    char *dir = ts_tmpdir(tag), path[1024], hdr[16384];
    rag_buf data = RAG_BUF_INIT;
    size_t o = 0, off = 0, hlen;
    FILE *f;

    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(hdr, sizeof hdr,
             "{\"architectures\": [\"%s\"], \"model_type\": \"bert\", \"hidden_size\": %d,"
             " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": %d,"
             " \"vocab_size\": %d, \"max_position_embeddings\": %d, \"type_vocab_size\": 2,"
             " \"hidden_act\": \"gelu\"}",
             va->arch ? va->arch : "BertModel", H, F, V, P);
    ts_write_file(path, hdr, strlen(hdr));

    o += (size_t)snprintf(hdr + o, sizeof hdr - o, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (size_t i = 0; i < N_TENSORS; i++) {
        const tdef *t = &tensors[i];
        int d0 = t->d0 + (va->reshape && !strcmp(va->reshape, t->name));
        size_t n = (size_t)d0 * (size_t)(t->d1 ? t->d1 : 1), nb = n * 4;
        const char *dt = va->dtype_of && !strcmp(va->dtype_of, t->name) ? va->dtype : "F32";
        size_t start = off;
        if (va->skip && !strcmp(va->skip, t->name))
            continue;
        if (va->overlap && i == 1)
            start -= 4;
        if (va->past_eof && i == N_TENSORS - 1)
            start += 64;
        if (t->d1)
            o += (size_t)snprintf(hdr + o, sizeof hdr - o,
                                  ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%d,%d],"
                                  "\"data_offsets\":[%zu,%zu]}",
                                  t->name, dt, d0, t->d1, start, start + nb);
        else
            o += (size_t)snprintf(hdr + o, sizeof hdr - o,
                                  ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%d],"
                                  "\"data_offsets\":[%zu,%zu]}",
                                  t->name, dt, d0, start, start + nb);
        for (size_t k = 0; k < n; k++) {
            /* deterministic small values; LayerNorm weights near 1 */
            float v = (float)((int)((i * 31 + k * 17) % 13) - 6) * 0.05f;
            if (strstr(t->name, "LayerNorm.weight"))
                v += 1.0f;
            assert_int_equal(rag_buf_append(&data, &v, sizeof v), RAG_OK);
        }
        off = start + nb;
    }
    o += (size_t)snprintf(hdr + o, sizeof hdr - o, "}");
    hlen = o;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 8; i++)
        fputc((int)((hlen >> (8 * i)) & 0xff), f);
    fwrite(hdr, 1, hlen, f);
    fwrite(data.data, 1, data.len, f);
    fclose(f);
    if (va->truncate_to > 0)
        assert_int_equal(truncate(path, va->truncate_to), 0);
    rag_buf_fini(&data);
    return dir;
}

/* Load a variant; return the status and copy the message. */
static int load_variant(const char *tag, const variant *va, char *msg, size_t n_msg)
{
    char *dir = write_model(tag, va);
    rag_model *m = NULL;
    rag_err err = {0};
    rag_model_opts o = rag_model_default_opts();
    int rc;
    o.reference = 1;
    rc = rag_model_load(&m, dir, &o, &err);
    snprintf(msg, n_msg, "%s", err.msg);
    rag_model_destroy(m);
    rag_free(dir);
    return rc;
}

static void test_errors__valid_tiny_model_loads_on_both_paths(void **state)
{
    variant va = {0};
    char *dir = write_model("tiny_ok", &va);
    rag_model *m = NULL;
    rag_session *s = NULL;
    rag_err err = {0};
    int32_t ids[3] = {1, 5, 2};
    const int32_t *rows[1] = {ids};
    size_t nt = 3;
    float ref[H], fast[H];
    rag_model_opts o = rag_model_default_opts();
    (void)state;
    o.reference = 1;
    assert_int_equal(rag_model_load(&m, dir, &o, &err), RAG_OK);
    assert_int_equal(rag_session_create(&s, m, &err), RAG_OK);
    assert_int_equal(rag_session_run(s, rows, NULL, &nt, 1, ref, &err), RAG_OK);
    rag_session_destroy(s);
    rag_model_destroy(m);
    o.reference = 0;
    assert_int_equal(rag_model_load(&m, dir, &o, &err), RAG_OK);
    assert_int_equal(rag_session_create(&s, m, &err), RAG_OK);
    assert_int_equal(rag_session_run(s, rows, NULL, &nt, 1, fast, &err), RAG_OK);
    for (int d = 0; d < H; d++)
        assert_float_equal(ref[d], fast[d], 1e-5);
    rag_session_destroy(s);
    rag_model_destroy(m);
    rag_free(dir);
}

static void test_errors__missing_tensor_is_named(void **state)
{
    variant va = {.skip = "encoder.layer.0.output.dense.bias"};
    char msg[256];
    (void)state;
    assert_int_equal(load_variant("missing", &va, msg, sizeof msg), RAG_EFORMAT);
    assert_non_null(strstr(msg, "model.safetensors"));
    assert_non_null(strstr(msg, "encoder.layer.0.output.dense.bias"));
}

static void test_errors__wrong_shape_names_tensor_and_expected_shape(void **state)
{
    variant va = {.reshape = "encoder.layer.0.intermediate.dense.weight"};
    char msg[256];
    (void)state;
    assert_int_equal(load_variant("shape", &va, msg, sizeof msg), RAG_EFORMAT);
    assert_non_null(strstr(msg, "encoder.layer.0.intermediate.dense.weight"));
    assert_non_null(strstr(msg, "[9, 4]"));
    assert_non_null(strstr(msg, "[8, 4]"));
}

static void test_errors__unknown_dtype_is_rejected(void **state)
{
    variant va = {.dtype_of = "embeddings.LayerNorm.bias", .dtype = "F99"};
    char msg[256];
    (void)state;
    assert_int_equal(load_variant("dtype", &va, msg, sizeof msg), RAG_EFORMAT);
    assert_non_null(strstr(msg, "unknown dtype"));
    assert_non_null(strstr(msg, "embeddings.LayerNorm.bias"));
}

static void test_errors__unsupported_weight_dtype_is_rejected(void **state)
{
    /* I32 is a valid safetensors dtype (4 bytes, so sizes still match) but
     * not a weight type we convert. */
    variant va = {.dtype_of = "embeddings.LayerNorm.bias", .dtype = "I32"};
    char msg[256];
    (void)state;
    assert_int_equal(load_variant("dtype2", &va, msg, sizeof msg), RAG_EFORMAT);
    assert_non_null(strstr(msg, "I32"));
    assert_non_null(strstr(msg, "embeddings.LayerNorm.bias"));
}

static void test_errors__size_mismatch_for_dtype_is_rejected(void **state)
{
    /* F16 with F32-sized offsets: span != product(shape) * 2 */
    variant va = {.dtype_of = "embeddings.LayerNorm.bias", .dtype = "F16"};
    char msg[256];
    (void)state;
    assert_int_equal(load_variant("dtype3", &va, msg, sizeof msg), RAG_EFORMAT);
    assert_non_null(strstr(msg, "needs 8"));
}

static void test_errors__overlapping_tensors_are_rejected(void **state)
{
    variant va = {.overlap = 1};
    char msg[256];
    (void)state;
    assert_int_equal(load_variant("overlap", &va, msg, sizeof msg), RAG_EFORMAT);
    assert_non_null(strstr(msg, "overlap"));
}

static void test_errors__offsets_past_eof_are_rejected(void **state)
{
    variant va = {.past_eof = 1};
    char msg[256];
    (void)state;
    assert_int_equal(load_variant("eof", &va, msg, sizeof msg), RAG_EFORMAT);
    assert_non_null(strstr(msg, "past the end"));
}

static void test_errors__truncated_files_are_rejected(void **state)
{
    char msg[256];
    long cuts[] = {3, 8, 100, 2000};
    (void)state;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        variant va = {.truncate_to = cuts[i]};
        assert_int_equal(load_variant("trunc", &va, msg, sizeof msg), RAG_EFORMAT);
        assert_non_null(strstr(msg, "model.safetensors"));
    }
}

static void test_errors__unknown_architecture_is_named(void **state)
{
    variant va = {.arch = "GPT2LMHeadModel"};
    char msg[256];
    (void)state;
    assert_int_equal(load_variant("arch", &va, msg, sizeof msg), RAG_EFORMAT);
    assert_non_null(strstr(msg, "GPT2LMHeadModel"));
    assert_non_null(strstr(msg, "config.json"));
}

static void test_errors__missing_folder_is_not_found(void **state)
{
    rag_model *m = NULL;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_model_load(&m, "/nonexistent/model", NULL, &err), RAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "config.json"));
    assert_null(m);
}

static void test_errors__bad_inputs_are_rejected_not_crashing(void **state)
{
    variant va = {0};
    char *dir = write_model("tiny_inputs", &va);
    rag_model *m = NULL;
    rag_session *s = NULL;
    rag_err err = {0};
    int32_t ids[P + 1] = {0}, bad[2] = {1, V};
    const int32_t *rows[1] = {ids}, *brow[1] = {bad};
    size_t nt;
    float out[H];
    (void)state;
    assert_int_equal(rag_model_load(&m, dir, NULL, &err), RAG_OK);
    assert_int_equal(rag_session_create(&s, m, &err), RAG_OK);
    nt = 0;
    assert_int_equal(rag_session_run(s, rows, NULL, &nt, 1, out, &err), RAG_ELIMIT);
    nt = P + 1;   /* more than max_position_embeddings */
    assert_int_equal(rag_session_run(s, rows, NULL, &nt, 1, out, &err), RAG_ELIMIT);
    assert_non_null(strstr(err.msg, "max_seq_length"));
    nt = 2;
    assert_int_equal(rag_session_run(s, brow, NULL, &nt, 1, out, &err), RAG_EINVAL);
    assert_non_null(strstr(err.msg, "vocabulary"));
    /* zero sequences is a no-op */
    assert_int_equal(rag_session_run(s, rows, NULL, &nt, 0, out, &err), RAG_OK);
    rag_session_destroy(s);
    rag_model_destroy(m);
    rag_free(dir);
}

static void test_errors__safetensors_header_checks(void **state)
{
    rag_safetensors st;
    rag_err err = {0};
    const char *hdrs[] = {
        "[]",                                                            /* not object */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", /* bad JSON */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
        "\"data_offsets\":[0,8]}}",                                      /* overflow */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", /* duplicate */
    };
    uint8_t buf[512];
    (void)state;
    for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
        size_t n = strlen(hdrs[i]);
        memset(buf, 0, sizeof buf);
        for (int b = 0; b < 8; b++)
            buf[b] = (uint8_t)((n >> (8 * b)) & 0xff);
        memcpy(buf + 8, hdrs[i], n);
        assert_int_equal(rag_safetensors_parse(&st, buf, 8 + n + 8, "x.safetensors", &err),
                         RAG_EFORMAT);
        assert_non_null(strstr(err.msg, "x.safetensors"));
    }
    /* a good one, with metadata and an empty tensor */
    {
        const char *h = "{\"__metadata__\":{\"k\":\"v\"},\"e\":{\"dtype\":\"F16\",\"shape\":[0],"
                        "\"data_offsets\":[0,0]},\"a\":{\"dtype\":\"BF16\",\"shape\":[2,2],"
                        "\"data_offsets\":[0,8]}}";
        size_t n = strlen(h);
        memset(buf, 0, sizeof buf);
        for (int b = 0; b < 8; b++)
            buf[b] = (uint8_t)((n >> (8 * b)) & 0xff);
        memcpy(buf + 8, h, n);
        assert_int_equal(rag_safetensors_parse(&st, buf, 8 + n + 8, "ok", &err), RAG_OK);
        assert_int_equal(st.n_tensors, 2);
        assert_non_null(rag_safetensors_find(&st, "a"));
        assert_int_equal(rag_safetensors_find(&st, "a")->n_elems, 4);
        rag_safetensors_fini(&st);
    }
}

static void test_errors__allocation_failures_are_reported_without_leaks(void **state)
{
    variant va = {0};
    char *dir = write_model("tiny_oom", &va);
    int32_t ids[3] = {1, 5, 2};
    const int32_t *rows[1] = {ids};
    size_t nt = 3;
    float out[H];
    (void)state;
    for (int reference = 0; reference <= 1; reference++) {
        long n_ok = -1;
        for (long n = 0; n < 10000 && n_ok < 0; n++) {
            rag_model_opts o = rag_model_default_opts();
            rag_model *m = NULL;
            rag_session *s = NULL;
            rag_err err = {0};
            int rc;
            o.reference = reference;
            o.precision = reference ? RAG_PRECISION_F32 : RAG_PRECISION_INT8;
            ts_fail_alloc_after(n);
            rc = rag_model_load(&m, dir, &o, &err);
            if (rc == RAG_OK)
                rc = rag_session_create(&s, m, &err);
            if (rc == RAG_OK)
                rc = rag_session_run(s, rows, NULL, &nt, 1, out, &err);
            ts_fail_alloc_after(-1);
            if (rc == RAG_OK)
                n_ok = n;
            else
                assert_int_equal(rc, RAG_ENOMEM);
            rag_session_destroy(s);
            rag_model_destroy(m);
        }
        assert_true(n_ok > 10);   /* many allocation points were exercised */
    }
    rag_free(dir);
}

static void test_errors__half_conversions_are_exact(void **state)
{
    (void)state;
    assert_true(rag_f16_to_f32(0x3c00) == 1.0f);
    assert_true(rag_f16_to_f32(0xc000) == -2.0f);
    assert_true(rag_f16_to_f32(0x0001) == 5.9604644775390625e-08f);  /* subnormal */
    assert_true(rag_f16_to_f32(0x7bff) == 65504.0f);
    assert_true(rag_bf16_to_f32(0x3f80) == 1.0f);
    assert_int_equal(rag_f32_to_bf16(1.0f), 0x3f80);
    /* ties round to even: 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125 */
    assert_int_equal(rag_f32_to_bf16(1.00390625f), 0x3f80);
    assert_int_equal(rag_f32_to_bf16(1.01171875f), 0x3f82);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors__valid_tiny_model_loads_on_both_paths),
        cmocka_unit_test(test_errors__missing_tensor_is_named),
        cmocka_unit_test(test_errors__wrong_shape_names_tensor_and_expected_shape),
        cmocka_unit_test(test_errors__unknown_dtype_is_rejected),
        cmocka_unit_test(test_errors__unsupported_weight_dtype_is_rejected),
        cmocka_unit_test(test_errors__size_mismatch_for_dtype_is_rejected),
        cmocka_unit_test(test_errors__overlapping_tensors_are_rejected),
        cmocka_unit_test(test_errors__offsets_past_eof_are_rejected),
        cmocka_unit_test(test_errors__truncated_files_are_rejected),
        cmocka_unit_test(test_errors__unknown_architecture_is_named),
        cmocka_unit_test(test_errors__missing_folder_is_not_found),
        cmocka_unit_test(test_errors__bad_inputs_are_rejected_not_crashing),
        cmocka_unit_test(test_errors__safetensors_header_checks),
        cmocka_unit_test(test_errors__allocation_failures_are_reported_without_leaks),
        cmocka_unit_test(test_errors__half_conversions_are_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
