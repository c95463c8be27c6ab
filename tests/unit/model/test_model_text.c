/* test_model_text.c - text in, vectors/scores out: the local embedder and
 * reranker (WordPiece + model), truncation of huge inputs, and the
 * `docrag embed` / `docrag rerank` commands.
 */
#include "test_support.h"

#include "embed/embed.h"
#include "rerank/rerank.h"
#include "text/wordpiece.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *model_dir(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "tests/data/models/%s", name);
    return ts_src_path(rel);
}

static void test_embed__text_matches_numpy_golden_through_tokenizer(void **state)
{
    /* golden "single" case ids are the tokenization of "hello world" */
    char *dir = model_dir("bi-encoder"), *gpath = ts_src_path(
        "tests/data/models/golden_bi-encoder.json");
    json_error_t jerr;
    json_t *g = json_load_file(gpath, 0, &jerr), *row;
    rag_embedder *e = NULL;
    rag_err err = {0};
    const char *texts[1] = {"Hello world"};
    float v[24];
    (void)state;
    assert_non_null(g);
    row = json_array_get(json_object_get(json_array_get(json_object_get(g, "cases"), 0),
                                         "output"), 0);
    if (rag_embedder_local_create(&e, dir, NULL, &err) != RAG_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(rag_embedder_dim(e), 24);
    assert_string_equal(rag_embedder_model_id(e), "bi-encoder");
    assert_int_equal(rag_embedder_embed(e, texts, 1, v, &err), RAG_OK);
    for (int d = 0; d < 24; d++)
        assert_float_equal(v[d], json_number_value(json_array_get(row, (size_t)d)), 1e-4);
    rag_embedder_destroy(e);
    json_decref(g);
    rag_free(dir);
    rag_free(gpath);
}

static void test_embed__huge_and_empty_texts_are_handled(void **state)
{
    char *dir = model_dir("bi-encoder");
    rag_embedder *e = NULL;
    rag_err err = {0};
    size_t n_big = 100000;
    char *big = malloc(n_big + 1), *prefix = malloc(2000);
    const char *texts[4];
    float v[4 * 24];
    rag_model_opts o = rag_model_default_opts();
    (void)state;
    for (size_t i = 0; i < n_big; i++)
        big[i] = "hello "[i % 6];
    big[n_big] = '\0';
    memcpy(prefix, big, 1500);   /* 250 words: still more than 128 tokens */
    prefix[1500] = '\0';
    texts[0] = big;
    texts[1] = prefix;
    texts[2] = "";
    texts[3] = "a";
    o.precision = RAG_PRECISION_INT8;
    if (rag_embedder_local_create(&e, dir, &o, &err) != RAG_OK)
        fail_msg("%s", err.msg);
    assert_string_equal(rag_embedder_model_id(e), "bi-encoder@int8");
    assert_int_equal(rag_embedder_embed(e, texts, 4, v, &err), RAG_OK);
    /* documented: truncated to max_seq_length tokens, so both are equal */
    for (int d = 0; d < 24; d++)
        assert_float_equal(v[d], v[24 + d], 1e-6);
    for (int k = 2; k < 4; k++) {
        double ss = 0;
        for (int d = 0; d < 24; d++)
            ss += (double)v[k * 24 + d] * v[k * 24 + d];
        assert_float_equal(ss, 1.0, 1e-4);   /* Normalize module */
    }
    rag_embedder_destroy(e);
    free(big);
    free(prefix);
    rag_free(dir);
}

static void test_embed__invalid_utf8_is_an_error_naming_the_text(void **state)
{
    char *dir = model_dir("bi-encoder");
    rag_embedder *e = NULL;
    rag_err err = {0};
    const char *texts[2] = {"fine", "bad \xff byte"};
    float v[2 * 24];
    (void)state;
    assert_int_equal(rag_embedder_local_create(&e, dir, NULL, &err), RAG_OK);
    assert_int_equal(rag_embedder_embed(e, texts, 2, v, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "text 1"));
    rag_embedder_destroy(e);
    rag_free(dir);
}

static void copy_file(const char *from, const char *to)
{
    rag_buf b = RAG_BUF_INIT;
    assert_int_equal(rag_read_file(&b, from, 0, NULL), RAG_OK);
    ts_write_file(to, b.data, b.len);
    rag_buf_fini(&b);
}

static void test_embed__missing_tokenizer_is_a_clear_error(void **state)
{
    char *src = model_dir("bi-encoder"), *dir = ts_tmpdir("no_tokenizer");
    char a[1024], b[1024];
    rag_embedder *e = NULL;
    rag_err err = {0};
    (void)state;
    snprintf(a, sizeof a, "%s/config.json", src);
    snprintf(b, sizeof b, "%s/config.json", dir);
    copy_file(a, b);
    snprintf(a, sizeof a, "%s/model.safetensors", src);
    snprintf(b, sizeof b, "%s/model.safetensors", dir);
    copy_file(a, b);
    assert_true(rag_embedder_local_create(&e, dir, NULL, &err) < 0);
    assert_null(e);
    print_message("  missing tokenizer: %s\n", err.msg);
    assert_non_null(strstr(err.msg, dir));
    rag_free(src);
    rag_free(dir);
}

static void test_embed__wrong_model_kind_is_rejected(void **state)
{
    char *bi = model_dir("bi-encoder"), *ce = model_dir("cross-encoder");
    rag_embedder *e = NULL;
    rag_reranker *r = NULL;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_embedder_local_create(&e, ce, NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "cross-encoder"));
    assert_int_equal(rag_reranker_local_create(&r, bi, NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "not a cross-encoder"));
    rag_free(bi);
    rag_free(ce);
}

static void test_rerank__scores_equal_pair_forward_and_do_not_depend_on_batch(void **state)
{
    char *dir = model_dir("cross-encoder");
    rag_reranker *r = NULL;
    rag_wordpiece *wp = NULL;
    rag_model *m = NULL;
    rag_session *s = NULL;
    rag_encoding enc = {0};
    rag_err err = {0};
    const char *q = "what do cats eat?";
    const char *ps[3] = {"Cats eat fish and mice.", "", "The RISC-V ISA has 32 registers."};
    float all[3], one, direct;
    const int32_t *rows[1], *trows[1];
    size_t nt;
    (void)state;
    assert_int_equal(rag_reranker_local_create(&r, dir, NULL, &err), RAG_OK);
    assert_int_equal(rag_reranker_score(r, q, ps, 3, all, &err), RAG_OK);
    assert_int_equal(rag_wordpiece_load(&wp, dir, &err), RAG_OK);
    assert_int_equal(rag_model_load(&m, dir, NULL, &err), RAG_OK);
    assert_int_equal(rag_session_create(&s, m, &err), RAG_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rag_reranker_score(r, q, &ps[i], 1, &one, &err), RAG_OK);
        assert_float_equal(one, all[i], 1e-5);
        assert_int_equal(rag_wordpiece_encode(wp, q, strlen(q), ps[i], strlen(ps[i]), 128,
                                              &enc, &err), RAG_OK);
        rows[0] = enc.ids;
        trows[0] = enc.type_ids;
        nt = enc.n;
        assert_int_equal(rag_session_run(s, rows, trows, &nt, 1, &direct, &err), RAG_OK);
        assert_float_equal(direct, all[i], 1e-5);
    }
    rag_encoding_fini(&enc);
    rag_session_destroy(s);
    rag_model_destroy(m);
    rag_wordpiece_destroy(wp);
    rag_reranker_destroy(r);
    rag_free(dir);
}

/* Run the docrag binary with stdin text; returns parsed JSON stdout. */
static json_t *run_cli(const char *args, const char *input)
{
    const char *bin = getenv("DOCRAG_BIN");
    char *tmp = ts_tmpdir("cli"), cmd[4096], inpath[1100];
    rag_buf out = RAG_BUF_INIT;
    FILE *p;
    char chunk[4096];
    size_t got;
    json_error_t jerr;
    json_t *j;

    assert_non_null(bin);
    snprintf(inpath, sizeof inpath, "%s/in.txt", tmp);
    ts_write_file(inpath, input, strlen(input));
    snprintf(cmd, sizeof cmd, "%s %s < %s", bin, args, inpath);
    p = popen(cmd, "r");
    assert_non_null(p);
    while ((got = fread(chunk, 1, sizeof chunk, p)) > 0)
        assert_int_equal(rag_buf_append(&out, chunk, got), RAG_OK);
    assert_int_equal(pclose(p), 0);
    j = json_loadb(out.data ? out.data : "", out.len, 0, &jerr);
    if (!j)
        fail_msg("bad JSON from %s: %s", cmd, jerr.text);
    rag_buf_fini(&out);
    rag_free(tmp);
    return j;
}

static void test_cli__embed_prints_one_vector_per_line_in_order(void **state)
{
    char *dir = model_dir("bi-encoder"), args[1200];
    json_t *j, *k;
    (void)state;
    snprintf(args, sizeof args, "embed --model %s", dir);
    j = run_cli(args, "hello world\n\nsecond line\r\nhello world\n");
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 4);
    assert_int_equal(json_array_size(json_array_get(j, 1)), 24);
    assert_true(json_equal(json_array_get(j, 0), json_array_get(j, 3)));
    assert_false(json_equal(json_array_get(j, 0), json_array_get(j, 2)));
    snprintf(args, sizeof args, "embed --precision bf16 --model %s", dir);
    k = run_cli(args, "hello world\n");
    for (size_t d = 0; d < 24; d++)
        assert_float_equal(json_number_value(json_array_get(json_array_get(j, 0), d)),
                           json_number_value(json_array_get(json_array_get(k, 0), d)), 0.02);
    json_decref(j);
    json_decref(k);
    rag_free(dir);
}

static void test_cli__rerank_sorts_by_score_descending(void **state)
{
    char *dir = model_dir("cross-encoder"), args[1200];
    json_t *j, *e;
    size_t i, seen = 0;
    double prev = INFINITY;
    (void)state;
    snprintf(args, sizeof args, "rerank --model %s 'cats and dogs'", dir);
    j = run_cli(args, "one passage\ntwo passage about cats\nthree\nfour dogs\n");
    assert_int_equal(json_array_size(j), 4);
    json_array_foreach(j, i, e) {
        double s = json_number_value(json_object_get(e, "score"));
        json_int_t idx = json_integer_value(json_object_get(e, "index"));
        assert_true(idx >= 0 && idx < 4);
        seen |= (size_t)1 << idx;
        assert_true(s <= prev);
        prev = s;
    }
    assert_int_equal(seen, 15);
    json_decref(j);
    rag_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed__text_matches_numpy_golden_through_tokenizer),
        cmocka_unit_test(test_embed__huge_and_empty_texts_are_handled),
        cmocka_unit_test(test_embed__invalid_utf8_is_an_error_naming_the_text),
        cmocka_unit_test(test_embed__missing_tokenizer_is_a_clear_error),
        cmocka_unit_test(test_embed__wrong_model_kind_is_rejected),
        cmocka_unit_test(test_rerank__scores_equal_pair_forward_and_do_not_depend_on_batch),
        cmocka_unit_test(test_cli__embed_prints_one_vector_per_line_in_order),
        cmocka_unit_test(test_cli__rerank_sorts_by_score_descending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
