/* test_wordpiece.c - the WordPiece tokenizer against the golden set made by
 * Hugging Face tokenizers (tools/tokref/make_golden.mjs), plus properties:
 * offsets, truncation, bad input, missing files, allocation failure. */
#include "test_support.h"

#include "text/wordpiece.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL "models/all-MiniLM-L6-v2-no-weights"

static rag_wordpiece *load_model(void)
{
    char *dir = ts_shared_path(MODEL);
    rag_wordpiece *wp = NULL;
    rag_err err = {0};

    assert_non_null(dir);
    if (rag_wordpiece_load(&wp, dir, &err) != 0)
        fail_msg("load %s: %s", dir, err.msg);
    rag_free(dir);
    return wp;
}

static void encode_ok(const rag_wordpiece *wp, const char *a, const char *b, size_t max_len,
                      rag_encoding *enc)
{
    rag_err err = {0};
    int rc = rag_wordpiece_encode(wp, a, strlen(a), b, b ? strlen(b) : 0, max_len, enc, &err);
    if (rc != 0)
        fail_msg("encode \"%s\": %s", a, err.msg);
}

/* ---- loading ------------------------------------------------------------ */

static void test_wordpiece__loads_tokenizer_json_vocab(void **state)
{
    rag_wordpiece *wp = load_model();
    (void)state;
    assert_int_equal(rag_wordpiece_vocab_size(wp), 30522);
    for (int32_t id = 0; id < 30522; id += 997) {
        const char *tok = rag_wordpiece_token(wp, id);
        assert_non_null(tok);
        assert_int_equal(rag_wordpiece_token_id(wp, tok), id);
    }
    assert_null(rag_wordpiece_token(wp, 30522));
    assert_null(rag_wordpiece_token(wp, -1));
    assert_int_equal(rag_wordpiece_token_id(wp, "no-such-token-xyz"), -1);
    assert_int_equal(rag_wordpiece_default_max_len(wp), 128);
    rag_wordpiece_destroy(wp);
}

static void test_wordpiece__missing_folder_error_names_it(void **state)
{
    rag_wordpiece *wp = NULL;
    rag_err err = {0};
    char *dir = ts_tmpdir("wp-empty");
    char *gone = rag_asprintf("%s/nope", dir);
    (void)state;

    assert_int_equal(rag_wordpiece_load(&wp, gone, &err), RAG_ENOTFOUND);
    assert_null(wp);
    assert_non_null(strstr(err.msg, gone));
    assert_int_equal(rag_wordpiece_load(&wp, dir, &err), RAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, dir));
    assert_non_null(strstr(err.msg, "vocab.txt"));
    rag_free(gone);
    rag_free(dir);
}

static void test_wordpiece__bad_tokenizer_json_error_names_file_and_key(void **state)
{
    static const char *const cases[][2] = {
        {"{", "line"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0}}}", "BPE"},
        {"{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}}}", "unk_token"},
        {"{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":-3}}}", "vocab"},
        {"{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"a\",\"vocab\":{\"a\":0}},"
         "\"pre_tokenizer\":{\"type\":\"Whitespace\"}}",
         "pre_tokenizer"},
        {"{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"a\",\"vocab\":{\"a\":0}},"
         "\"normalizer\":{\"type\":\"NFKC\"},\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"}}",
         "NFKC"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rag_wordpiece *wp = NULL;
        rag_err err = {0};
        int rc = rag_wordpiece_load_json(&wp, cases[i][0], strlen(cases[i][0]), "x/tok.json", &err);
        assert_true(rc < 0);
        assert_null(wp);
        if (!strstr(err.msg, "x/tok.json") || !strstr(err.msg, cases[i][1]))
            fail_msg("case %zu: message \"%s\" lacks the file or \"%s\"", i, err.msg, cases[i][1]);
    }
}

/* vocab.txt + tokenizer_config.json must tokenize like tokenizer.json. */
static void test_wordpiece__vocab_txt_matches_tokenizer_json(void **state)
{
    static const char *const texts[] = {
        "Hello, World! [CLS] naïve café 東京 ÀÉÎ", "unaffable tokenization", "",
        "x[SEP]y [MASK] ΟΔΟΣ", "1,234.56 e-mail@example.com",
    };
    rag_wordpiece *js = load_model(), *txt = NULL;
    rag_encoding e1 = {0}, e2 = {0};
    rag_err err = {0};
    char *dir = ts_tmpdir("wp-vocab");
    const char *files[] = {"vocab.txt", "tokenizer_config.json"};
    (void)state;

    for (int i = 0; i < 2; i++) {
        char *rel = rag_asprintf(MODEL "/%s", files[i]);
        char *src = ts_shared_path(rel), *dst = rag_asprintf("%s/%s", dir, files[i]);
        rag_buf b = RAG_BUF_INIT;
        assert_int_equal(rag_read_file(&b, src, 0, &err), 0);
        ts_write_file(dst, b.data, b.len);
        rag_buf_fini(&b);
        rag_free(rel);
        rag_free(src);
        rag_free(dst);
    }
    if (rag_wordpiece_load(&txt, dir, &err) != 0)
        fail_msg("load vocab.txt: %s", err.msg);
    assert_int_equal(rag_wordpiece_vocab_size(txt), rag_wordpiece_vocab_size(js));
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        encode_ok(js, texts[i], NULL, 0, &e1);
        encode_ok(txt, texts[i], NULL, 0, &e2);
        assert_int_equal(e1.n, e2.n);
        assert_memory_equal(e1.ids, e2.ids, e1.n * sizeof *e1.ids);
    }
    rag_encoding_fini(&e1);
    rag_encoding_fini(&e2);
    rag_wordpiece_destroy(js);
    rag_wordpiece_destroy(txt);
    rag_free(dir);
}

/* ---- bad and extreme input ------------------------------------------------ */

static void test_wordpiece__empty_text_is_cls_sep(void **state)
{
    rag_wordpiece *wp = load_model();
    rag_encoding enc = {0};
    (void)state;
    encode_ok(wp, "", NULL, 0, &enc);
    assert_int_equal(enc.n, 2);
    assert_int_equal(enc.ids[0], rag_wordpiece_token_id(wp, "[CLS]"));
    assert_int_equal(enc.ids[1], rag_wordpiece_token_id(wp, "[SEP]"));
    encode_ok(wp, " \t\n\x01", "", 0, &enc); /* only removed characters, pair */
    assert_int_equal(enc.n, 3);
    assert_int_equal(enc.type_ids[2], 1);
    assert_int_equal(rag_wordpiece_encode(wp, NULL, 0, NULL, 0, 0, &enc, NULL), 0);
    assert_int_equal(enc.n, 2);
    rag_encoding_fini(&enc);
    rag_wordpiece_destroy(wp);
}

static void test_wordpiece__invalid_utf8_is_a_clear_error(void **state)
{
    static const char *const bad[] = {"abc\xff", "\xc3", "ok \xed\xa0\x80 surrogate",
                                      "\xc0\xaf overlong", "\xf4\x90\x80\x80"};
    rag_wordpiece *wp = load_model();
    rag_encoding enc = {0};
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rag_err err = {0};
        assert_int_equal(rag_wordpiece_encode(wp, "fine", 4, bad[i], strlen(bad[i]), 0, &enc, &err),
                         RAG_EFORMAT);
        assert_non_null(strstr(err.msg, "invalid UTF-8"));
        assert_non_null(strstr(err.msg, "text b"));
    }
    rag_encoding_fini(&enc);
    rag_wordpiece_destroy(wp);
}

static void test_wordpiece__100k_chars_truncate_to_max_len(void **state)
{
    rag_wordpiece *wp = load_model();
    rag_encoding enc = {0}, full = {0};
    size_t n = 100000;
    char *text = rag_malloc(n + 1);
    (void)state;

    for (size_t i = 0; i < n; i++)
        text[i] = "Lorem ipsum dolor sit amet, consectetur 2024! "[i % 46];
    text[n] = 0;
    encode_ok(wp, text, NULL, 0, &full);
    assert_true(full.n > 10000);
    encode_ok(wp, text, NULL, 256, &enc);
    assert_int_equal(enc.n, 256);
    assert_int_equal(enc.n_truncated, full.n - 256);
    assert_memory_equal(enc.ids, full.ids, 255 * sizeof *enc.ids);
    assert_int_equal(enc.ids[255], rag_wordpiece_token_id(wp, "[SEP]"));
    /* one 100k-character word: a single [UNK] */
    memset(text, 'a', n);
    encode_ok(wp, text, NULL, 0, &enc);
    assert_int_equal(enc.n, 3);
    assert_int_equal(enc.ids[1], rag_wordpiece_token_id(wp, "[UNK]"));
    assert_int_equal(enc.byte_start[1], 0);
    assert_int_equal(enc.byte_end[1], n);
    rag_free(text);
    rag_encoding_fini(&enc);
    rag_encoding_fini(&full);
    rag_wordpiece_destroy(wp);
}

static void test_wordpiece__max_len_below_specials_is_rejected(void **state)
{
    rag_wordpiece *wp = load_model();
    rag_encoding enc = {0};
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_wordpiece_encode(wp, "a", 1, "b", 1, 2, &enc, &err), RAG_EINVAL);
    assert_int_equal(rag_wordpiece_encode(wp, "a b c", 5, "b", 1, 3, &enc, &err), 0);
    assert_int_equal(enc.n, 3);
    rag_encoding_fini(&enc);
    rag_wordpiece_destroy(wp);
}

static void test_wordpiece__pair_truncation_is_longest_first(void **state)
{
    rag_wordpiece *wp = load_model();
    rag_encoding ea = {0}, eb = {0}, ep = {0};
    const char *a = "one two three four five six seven eight nine ten eleven twelve";
    const char *b = "alpha beta gamma";
    (void)state;
    encode_ok(wp, a, NULL, 0, &ea);
    encode_ok(wp, b, NULL, 0, &eb);
    for (size_t max = 3; max < ea.n + eb.n + 2; max++) {
        size_t na = 0, nb = 0, la = ea.n - 2, lb = eb.n - 2;
        encode_ok(wp, a, b, max, &ep);
        assert_true(ep.n <= max);
        for (size_t i = 0; i < ep.n; i++)
            ep.type_ids[i] ? nb++ : na++;
        na -= 2; /* [CLS] [SEP] */
        nb -= 1;
        assert_int_equal(ep.n_truncated, la + lb - na - nb);
        /* the longer side is never cut below the shorter, except by one */
        if (la > na && lb > nb)
            assert_true(na + 1 >= nb && nb + 1 >= na);
        else if (la > na)
            assert_int_equal(nb, lb);
        assert_memory_equal(ep.ids + 1, ea.ids + 1, na * sizeof *ep.ids);
        assert_memory_equal(ep.ids + 2 + na, eb.ids + 1, nb * sizeof *ep.ids);
    }
    rag_encoding_fini(&ea);
    rag_encoding_fini(&eb);
    rag_encoding_fini(&ep);
    rag_wordpiece_destroy(wp);
}

/* Every non-special token's offsets cover source text that, encoded alone,
 * spells the same piece (its pieces joined without "##"), or is [UNK];
 * offsets never go backwards. */
static void test_wordpiece__offsets_cover_their_source(void **state)
{
    static const char *const texts[] = {
        "Héllo, wörld! Ünïcödé façade — “quotes” and 東京タワー.",
        "The RISC-V ISA (v2.2) defines RV32I; see §2.4 for x0…x31.",
        "tokenization unaffable electroencephalograph 12345678",
        "e\xcc\x81x  \xe2\x80\x8b zero-width, İstanbul ﬁnance",
    };
    rag_wordpiece *wp = load_model();
    rag_encoding enc = {0}, sub = {0};
    (void)state;
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        const char *s = texts[t];
        size_t prev_end = 0;
        encode_ok(wp, s, NULL, 0, &enc);
        for (size_t i = 1; i + 1 < enc.n; i++) {
            size_t b0 = enc.byte_start[i], b1 = enc.byte_end[i];
            int found = 0;
            assert_true(b0 < b1);
            assert_true(b1 <= strlen(s));
            assert_true(b0 >= prev_end || b0 == enc.byte_start[i - 1]);
            prev_end = b1;
            assert_int_equal(rag_wordpiece_encode(wp, s + b0, b1 - b0, NULL, 0, 0, &sub, NULL), 0);
            {
                const char *want = rag_wordpiece_token(wp, enc.ids[i]);
                char spelled[256] = "";
                if (strncmp(want, "##", 2) == 0)
                    want += 2;
                for (size_t j = 1; j + 1 < sub.n; j++) {
                    const char *got = rag_wordpiece_token(wp, sub.ids[j]);
                    strncat(spelled, strncmp(got, "##", 2) == 0 ? got + 2 : got,
                            sizeof spelled - strlen(spelled) - 1);
                }
                found = strcmp(spelled, want) == 0;
            }
            if (!found)
                fail_msg("text %zu token %zu (%s) offsets [%zu,%zu) do not produce it", t, i,
                         rag_wordpiece_token(wp, enc.ids[i]), b0, b1);
        }
    }
    rag_encoding_fini(&enc);
    rag_encoding_fini(&sub);
    rag_wordpiece_destroy(wp);
}

static void test_wordpiece__allocation_failures_are_reported(void **state)
{
    rag_wordpiece *wp = load_model();
    rag_encoding enc = {0};
    int n_fail = 0;
    (void)state;
    for (long k = 0; k < 40; k++) {
        rag_err err = {0};
        rag_encoding_fini(&enc);
        ts_fail_alloc_after(k);
        int rc = rag_wordpiece_encode(wp, "Hello world, a fairly long text", 31,
                                      "and a pair", 10, 0, &enc, &err);
        ts_fail_alloc_after(-1);
        if (rc != 0) {
            assert_int_equal(rc, RAG_ENOMEM);
            n_fail++;
        }
    }
    assert_true(n_fail > 0);
    rag_encoding_fini(&enc);
    rag_wordpiece_destroy(wp);
}

/* ---- golden set from Hugging Face tokenizers ---------------------------- */

static void dump_ids(const char *label, const rag_wordpiece *wp, const int32_t *ids, size_t n,
                     size_t at)
{
    fprintf(stderr, "  %s (%zu):", label, n);
    for (size_t i = (at > 3 ? at - 3 : 0); i < n && i < at + 4; i++)
        fprintf(stderr, " %s%d:%s", i == at ? ">>" : "", ids[i], rag_wordpiece_token(wp, ids[i]));
    fprintf(stderr, "\n");
}

/* Compare one golden record; returns 1 on exact match, else prints the
 * first difference and returns 0. */
static int check_record(const rag_wordpiece *wp, json_t *rec, size_t line, rag_encoding *enc)
{
    json_t *jt = json_object_get(rec, "text"), *jp = json_object_get(rec, "text_pair");
    json_t *jids = json_object_get(rec, "ids"), *jtypes = json_object_get(rec, "type_ids");
    json_t *joff = json_object_get(rec, "offsets"), *jmax = json_object_get(rec, "max_length");
    size_t max_len = json_is_integer(jmax) ? (size_t)json_integer_value(jmax) : 0;
    size_t n_exp = json_array_size(jids), at = 0;
    int32_t *exp = calloc(n_exp + 1, sizeof *exp);
    const char *what = NULL;
    rag_err err = {0};
    int ok = 1;

    assert_non_null(exp);
    for (size_t i = 0; i < n_exp; i++)
        exp[i] = (int32_t)json_integer_value(json_array_get(jids, i));
    if (rag_wordpiece_encode(wp, json_string_value(jt), json_string_length(jt),
                             jp ? json_string_value(jp) : NULL, jp ? json_string_length(jp) : 0,
                             max_len, enc, &err) != 0) {
        fprintf(stderr, "golden line %zu: encode failed: %s\n", line, err.msg);
        free(exp);
        return 0;
    }
    for (at = 0; at < n_exp && at < enc->n && !what; at++) {
        if (enc->ids[at] != exp[at])
            what = "id";
        else if (jtypes && enc->type_ids[at] != json_integer_value(json_array_get(jtypes, at)))
            what = "type_id";
        else if (joff) {
            json_t *o = json_array_get(joff, at);
            if (enc->byte_start[at] != (size_t)json_integer_value(json_array_get(o, 0)) ||
                enc->byte_end[at] != (size_t)json_integer_value(json_array_get(o, 1)))
                what = "offsets";
        }
        if (what)
            break;
    }
    if (!what && enc->n != n_exp)
        what = "length";
    if (what) {
        ok = 0;
        fprintf(stderr, "golden line %zu: %s differs at token %zu; text=\"%.200s\"%s%.100s%s max_length=%zu\n",
                line, what, at, json_string_value(jt), jp ? " pair=\"" : "",
                jp ? json_string_value(jp) : "", jp ? "\"" : "", max_len);
        dump_ids("expected", wp, exp, n_exp, at);
        dump_ids("got     ", wp, enc->ids, enc->n, at);
        if (joff && at < enc->n && at < n_exp) {
            json_t *o = json_array_get(joff, at);
            fprintf(stderr, "  offsets expected [%lld,%lld) got [%zu,%zu)\n",
                    (long long)json_integer_value(json_array_get(o, 0)),
                    (long long)json_integer_value(json_array_get(o, 1)), enc->byte_start[at],
                    enc->byte_end[at]);
        }
    }
    free(exp);
    return ok;
}

/* The normalizer variants of make_golden.mjs (VARIANTS there). */
static const char *const variants[][2] = {
    {"cased", "{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,"
              "\"strip_accents\":null,\"lowercase\":false}"},
    {"lower_keep_accents", "{\"type\":\"BertNormalizer\",\"clean_text\":true,"
                           "\"handle_chinese_chars\":true,\"strip_accents\":false,\"lowercase\":true}"},
    {"raw_strip", "{\"type\":\"BertNormalizer\",\"clean_text\":false,\"handle_chinese_chars\":false,"
                  "\"strip_accents\":true,\"lowercase\":false}"},
};
#define N_VARIANTS (sizeof variants / sizeof variants[0])

/* The model's tokenizer.json with its normalizer replaced. */
static rag_wordpiece *load_variant(const char *normalizer)
{
    char *path = ts_shared_path(MODEL "/tokenizer.json");
    json_error_t jerr;
    json_t *root, *norm;
    char *text;
    rag_wordpiece *wp = NULL;
    rag_err err = {0};

    assert_non_null(path);
    root = json_load_file(path, 0, &jerr);
    norm = json_loads(normalizer, 0, &jerr);
    assert_non_null(root);
    assert_non_null(norm);
    json_object_set_new(root, "normalizer", norm);
    text = json_dumps(root, JSON_COMPACT);
    assert_non_null(text);
    if (rag_wordpiece_load_json(&wp, text, strlen(text), "variant", &err) != 0)
        fail_msg("variant: %s", err.msg);
    free(text);
    json_decref(root);
    rag_free(path);
    return wp;
}

static void test_wordpiece__matches_hf_tokenizers_golden_set(void **state)
{
    rag_wordpiece *var[N_VARIANTS] = {NULL};
    size_t n_variant = 0;
    char *path = ts_src_path("tests/data/wordpiece/golden.jsonl");
    rag_wordpiece *wp = load_model();
    rag_encoding enc = {0};
    rag_buf b = RAG_BUF_INIT;
    rag_err err = {0};
    size_t line = 0, n_bad = 0, n_single = 0, n_pair = 0;
    char *p, *nl;
    (void)state;

    if (rag_read_file(&b, path, 0, &err) != 0)
        fail_msg("%s", err.msg);
    for (p = b.data; p && *p; p = nl ? nl + 1 : NULL) {
        json_error_t jerr;
        json_t *rec;
        nl = strchr(p, '\n');
        line++;
        rec = json_loadb(p, nl ? (size_t)(nl - p) : strlen(p), JSON_ALLOW_NUL, &jerr);
        if (!rec)
            fail_msg("%s:%zu: %s", path, line, jerr.text);
        {
            const rag_wordpiece *use = wp;
            json_t *jv = json_object_get(rec, "variant");
            if (jv) {
                size_t k = 0;
                while (k < N_VARIANTS && strcmp(variants[k][0], json_string_value(jv)) != 0)
                    k++;
                if (k == N_VARIANTS)
                    fail_msg("%s:%zu: unknown variant", path, line);
                if (!var[k])
                    var[k] = load_variant(variants[k][1]);
                use = var[k];
                n_variant++;
            } else if (json_object_get(rec, "text_pair")) {
                n_pair++;
            } else {
                n_single++;
            }
            if (!check_record(use, rec, line, &enc))
                n_bad++;
        }
        json_decref(rec);
    }
    fprintf(stderr, "golden: %zu single, %zu pair, %zu normalizer-variant records, %zu mismatches\n",
            n_single, n_pair, n_variant, n_bad);
    for (size_t k = 0; k < N_VARIANTS; k++)
        rag_wordpiece_destroy(var[k]);
    assert_true(n_single >= 500);
    assert_true(n_variant >= 300);
    assert_true(n_pair >= 100);
    assert_int_equal(n_bad, 0);
    rag_buf_fini(&b);
    rag_free(path);
    rag_encoding_fini(&enc);
    rag_wordpiece_destroy(wp);
}

/* vocab.txt with do_lower_case=false must behave as the cased tokenizer.json. */
static void test_wordpiece__vocab_txt_cased_config_matches_cased_json(void **state)
{
    static const char *const texts[] = {"Hello World ÀÉÎ Straße", "The RISC-V ISA, Ünïcödé [CLS]",
                                        "東京 ΟΔΟΣ naïve"};
    static const char cfg[] = "{\"do_lower_case\": false, \"unk_token\": \"[UNK]\"}";
    char *dir = ts_tmpdir("wp-cased"), *src = ts_shared_path(MODEL "/vocab.txt");
    char *dst = rag_asprintf("%s/vocab.txt", dir), *cfg_path = rag_asprintf("%s/tokenizer_config.json", dir);
    rag_wordpiece *txt = NULL, *js = load_variant(variants[0][1]);
    rag_encoding e1 = {0}, e2 = {0};
    rag_buf b = RAG_BUF_INIT;
    rag_err err = {0};
    (void)state;

    assert_int_equal(rag_read_file(&b, src, 0, &err), 0);
    ts_write_file(dst, b.data, b.len);
    ts_write_file(cfg_path, cfg, strlen(cfg));
    if (rag_wordpiece_load(&txt, dir, &err) != 0)
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        encode_ok(js, texts[i], NULL, 0, &e1);
        encode_ok(txt, texts[i], NULL, 0, &e2);
        assert_int_equal(e1.n, e2.n);
        assert_memory_equal(e1.ids, e2.ids, e1.n * sizeof *e1.ids);
    }
    /* and it differs from the uncased default on capitals */
    {
        rag_wordpiece *uncased = load_model();
        encode_ok(uncased, texts[0], NULL, 0, &e1);
        encode_ok(txt, texts[0], NULL, 0, &e2);
        assert_true(e1.n != e2.n || memcmp(e1.ids, e2.ids, e1.n * sizeof *e1.ids) != 0);
        rag_wordpiece_destroy(uncased);
    }
    rag_buf_fini(&b);
    rag_encoding_fini(&e1);
    rag_encoding_fini(&e2);
    rag_wordpiece_destroy(txt);
    rag_wordpiece_destroy(js);
    rag_free(dir);
    rag_free(src);
    rag_free(dst);
    rag_free(cfg_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wordpiece__loads_tokenizer_json_vocab),
        cmocka_unit_test(test_wordpiece__missing_folder_error_names_it),
        cmocka_unit_test(test_wordpiece__bad_tokenizer_json_error_names_file_and_key),
        cmocka_unit_test(test_wordpiece__vocab_txt_matches_tokenizer_json),
        cmocka_unit_test(test_wordpiece__empty_text_is_cls_sep),
        cmocka_unit_test(test_wordpiece__invalid_utf8_is_a_clear_error),
        cmocka_unit_test(test_wordpiece__100k_chars_truncate_to_max_len),
        cmocka_unit_test(test_wordpiece__max_len_below_specials_is_rejected),
        cmocka_unit_test(test_wordpiece__pair_truncation_is_longest_first),
        cmocka_unit_test(test_wordpiece__offsets_cover_their_source),
        cmocka_unit_test(test_wordpiece__allocation_failures_are_reported),
        cmocka_unit_test(test_wordpiece__matches_hf_tokenizers_golden_set),
        cmocka_unit_test(test_wordpiece__vocab_txt_cased_config_matches_cased_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
