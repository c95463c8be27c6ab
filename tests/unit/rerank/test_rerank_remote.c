/* test_rerank_remote.c - TEI /rerank and the Cohere/Jina rerank APIs
 * against tests/support/mock_api.py: request shapes, scores mapped back by
 * index although the server sorts, batch splitting, and the chain falling
 * through to "none" (input order). */
#include "../embed/remote_fixture.h"

#include "obs/obs.h"
#include "rerank/rerank.h"

#include <math.h>

static ts_mock mock, mock3;

static int setup(void **state)
{
    static const char *const args[] = {"--token", TOKEN, NULL};
    static const char *const args3[] = {"--token", TOKEN, "--tei-max-batch", "3", NULL};
    (void)state;
    ts_mock_start(&mock, args);
    ts_mock_start(&mock3, args3);
    rag_log_set(capture_log, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_mock_stop(&mock);
    ts_mock_stop(&mock3);
    rag_log_set(NULL, NULL);
    rag_buf_fini(&logged);
    return 0;
}

static rag_config *cfg_for(const char *url, const char *chain)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "profile: local\nchains:\n  rerank: [%s]\nbackends:\n"
             "  tei_r:\n    type: tei\n    url: %s\n    api_key: " TOKEN "\n    max_retries: 1\n"
             "  jina:\n    type: openai\n    url: %s/v1\n    model: jina-reranker-v2\n"
             "    api_key: " TOKEN "\n"
             "  cohere:\n    type: openai\n    url: %s/v2\n    model: rerank-v3.5\n"
             "    api_key: " TOKEN "\n",
             chain, url, url, url);
    return load_yaml(yaml);
}

/* Independent reference for the mock's score: share of query words found. */
static float overlap(const char *q, const char *t)
{
    char qa[256], ta[256], *s1, *s2, *w;
    int n_q = 0, hit = 0;
    snprintf(qa, sizeof qa, "%s", q);
    for (w = strtok_r(qa, " ", &s1); w; w = strtok_r(NULL, " ", &s1)) {
        n_q++;
        snprintf(ta, sizeof ta, "%s", t);
        for (char *x = strtok_r(ta, " ", &s2); x; x = strtok_r(NULL, " ", &s2))
            if (!strcmp(x, w)) {
                hit++;
                break;
            }
    }
    return n_q ? (float)hit / (float)n_q : 0.0f;
}

static const char *query = "what is deep learning";
static const char *docs[7] = {"cats sleep", "deep learning is a kind of learning",
                              "what is it", "learning", "is deep", "nothing here",
                              "what is deep learning"};

static void test_rerank_remote__maps_sorted_results_back_by_index(void **state)
{
    const char *names[] = {"tei_r", "jina", "cohere"};
    const char *paths[] = {"/rerank", "/v1/rerank", "/v2/rerank"};
    rag_remote_opts o = fast_opts();
    rag_config *cfg = cfg_for(mock.url, "none");
    (void)state;
    for (int k = 0; k < 3; k++) {
        rag_reranker *r = NULL;
        rag_err err = {0};
        float s[7];
        json_t *body;
        assert_int_equal(rag_reranker_from_config_ex(&r, cfg, names[k], NULL, &o, &err), RAG_OK);
        assert_int_equal(rag_reranker_score(r, query, docs, 7, s, &err), RAG_OK);
        for (int i = 0; i < 7; i++)
            assert_float_equal(s[i], overlap(query, docs[i]), 1e-5);
        body = logged_body(&mock, paths[k], 1);
        assert_string_equal(json_string_value(json_object_get(body, "query")), query);
        if (k == 0) {
            assert_int_equal(json_array_size(json_object_get(body, "texts")), 7);
            assert_true(json_is_false(json_object_get(body, "return_text")));
        } else {
            assert_int_equal(json_array_size(json_object_get(body, "documents")), 7);
            assert_int_equal(json_integer_value(json_object_get(body, "top_n")), 7);
            assert_non_null(json_string_value(json_object_get(body, "model")));
        }
        json_decref(body);
        rag_reranker_destroy(r);
    }
    rag_config_destroy(cfg);
}

static void test_rerank_tei__splits_batches_above_server_cap(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_config *cfg = cfg_for(mock3.url, "tei_r");
    rag_reranker *r = NULL;
    rag_err err = {0};
    float s[7];
    (void)state;
    ts_mock_reset(&mock3);
    assert_int_equal(rag_reranker_from_config_ex(&r, cfg, "tei_r", NULL, &o, &err), RAG_OK);
    assert_int_equal(rag_reranker_score(r, query, docs, 7, s, &err), RAG_OK);
    assert_int_equal(ts_mock_count(&mock3, "/rerank"), 3);
    for (int i = 0; i < 7; i++)
        assert_float_equal(s[i], overlap(query, docs[i]), 1e-5);
    rag_reranker_destroy(r);
    rag_config_destroy(cfg);
}

static void test_rerank_chain__falls_through_to_none_keeping_order(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_config *cfg = cfg_for(mock.url, "tei_r, none");
    rag_reranker *r = NULL;
    rag_usage *u = NULL;
    rag_usage_stats st;
    rag_err err = {0};
    float s[7];
    (void)state;
    assert_int_equal(rag_usage_open(&u, NULL, cfg, &err), RAG_OK);
    assert_int_equal(rag_reranker_chain_create(&r, cfg, u, &o, &err), RAG_OK);
    ts_mock_reset(&mock);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"503\",\"path\":\"/rerank\",\"count\":2}]}");
    assert_int_equal(rag_reranker_score(r, query, docs, 7, s, &err), RAG_OK);
    assert_string_equal(rag_reranker_served_by(r), "none");
    assert_int_equal(ts_mock_count(&mock, "/rerank"), 2); /* 1 + max_retries */
    for (int i = 1; i < 7; i++)
        assert_true(s[i - 1] > s[i]);
    assert_int_equal(rag_usage_get(u, "tei_r", &st), RAG_OK);
    assert_int_equal(st.fallbacks, 1);
    assert_int_equal(st.retries, 1);
    /* healthy again: TEI serves */
    assert_int_equal(rag_reranker_score(r, query, docs, 7, s, &err), RAG_OK);
    assert_string_equal(rag_reranker_served_by(r), "tei_r");
    rag_reranker_destroy(r);
    rag_usage_close(u);
    rag_config_destroy(cfg);
}

/* A non-finite score (1e39 is valid JSON, no float32) is the member's
 * failure: the next member serves. It used to be served. */
static void test_rerank_chain__non_finite_score_falls_through(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_config *cfg = cfg_for(mock.url, "tei_r, jina, none");
    rag_reranker *r = NULL;
    rag_usage *u = NULL;
    rag_usage_stats st;
    rag_err err = {0};
    float s[7];
    (void)state;
    assert_int_equal(rag_usage_open(&u, NULL, cfg, &err), RAG_OK);
    assert_int_equal(rag_reranker_chain_create(&r, cfg, u, &o, &err), RAG_OK);
    ts_mock_reset(&mock);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"huge\",\"path\":\"/rerank\"}]}");
    assert_int_equal(rag_reranker_score(r, query, docs, 7, s, &err), RAG_OK);
    assert_string_equal(rag_reranker_served_by(r), "jina");
    for (int i = 0; i < 7; i++)
        assert_float_equal(s[i], overlap(query, docs[i]), 1e-5);
    assert_int_equal(rag_usage_errors(u, "tei_r", "malformed"), 1);
    assert_int_equal(rag_usage_get(u, "tei_r", &st), RAG_OK);
    assert_int_equal(st.fallbacks, 1);
    assert_int_equal(rag_usage_get(u, "jina", &st), RAG_OK);
    assert_int_equal(st.errors, 0);
    assert_int_equal(rag_usage_get(u, "none", &st), RAG_ENOTFOUND); /* built in */
    rag_reranker_destroy(r);
    rag_usage_close(u);
    rag_config_destroy(cfg);
}

/* An open breaker is skipped before the call (it used to be called and
 * fail fast inside the net layer); every member failing is one error that
 * names each. */
static void test_rerank_chain__open_breaker_skipped_and_all_fail_error(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_net_breaker_policy bp = {.consecutive_failures = 1, .cooldown_ms = 1e9,
                                 .half_open_probes = 1};
    rag_config *cfg = cfg_for(mock.url, "tei_r, jina");
    rag_reranker *r = NULL;
    rag_usage *u = NULL;
    rag_usage_stats st;
    rag_err err = {0};
    float s[7];
    (void)state;
    o.breaker = &bp;
    assert_int_equal(rag_usage_open(&u, NULL, cfg, &err), RAG_OK);
    assert_int_equal(rag_reranker_chain_create(&r, cfg, u, &o, &err), RAG_OK);
    ts_mock_reset(&mock);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"500\",\"path\":\"/rerank\"}]}");
    assert_int_equal(rag_reranker_score(r, query, docs, 7, s, &err), RAG_OK);
    assert_string_equal(rag_reranker_served_by(r), "jina");
    assert_int_equal(ts_mock_count(&mock, "/rerank"), 1);
    assert_int_equal(rag_reranker_score(r, query, docs, 7, s, &err), RAG_OK);
    assert_string_equal(rag_reranker_served_by(r), "jina");
    assert_int_equal(ts_mock_count(&mock, "/rerank"), 1); /* nothing sent */
    assert_int_equal(rag_usage_get(u, "tei_r", &st), RAG_OK);
    assert_int_equal(st.requests, 2);
    assert_int_equal(st.fallbacks, 2);
    /* the first call's retry met the breaker it had just opened */
    assert_int_equal(rag_usage_errors(u, "tei_r", "breaker_open"), 2);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"401\",\"path\":\"/v1/rerank\"}]}");
    assert_int_equal(rag_reranker_score(r, query, docs, 7, s, &err), RAG_EBACKEND);
    assert_null(r->ops->served_by(r));
    assert_non_null(strstr(err.msg, "chains.rerank: no back-end answered (tei_r: skipped "
                                    "(circuit open); jina: "));
    assert_null(strstr(err.msg, TOKEN));
    rag_reranker_destroy(r);
    rag_usage_close(u);
    rag_config_destroy(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rerank_remote__maps_sorted_results_back_by_index),
        cmocka_unit_test(test_rerank_tei__splits_batches_above_server_cap),
        cmocka_unit_test(test_rerank_chain__falls_through_to_none_keeping_order),
        cmocka_unit_test(test_rerank_chain__non_finite_score_falls_through),
        cmocka_unit_test(test_rerank_chain__open_breaker_skipped_and_all_fail_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
