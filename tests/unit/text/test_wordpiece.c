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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
