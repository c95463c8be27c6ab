/* test_embed_remote.c - remote embedders and the embed fallback chain
 * against tests/support/mock_api.py over real HTTP on 127.0.0.1: request
 * shapes per API, parsing, TEI batch splitting by /info, faults through a
 * chain (retry counts, fallback order, served_by), breaker, budget, model
 * mixing, secrets. Backoff sleeps go through a fake clock. */
#include "remote_fixture.h"

#include "embed/embed.h"
#include "embed/embed_index.h"
#include "obs/obs.h"
#include "retrieve/retrieve.h"

#include <math.h>

static ts_mock mock, mock3; /* mock3: TEI max_client_batch_size 3 */

static int setup(void **state)
{
    static const char *const args[] = {"--token", TOKEN, NULL};
    static const char *const args3[] = {"--token", TOKEN, "--tei-max-batch", "3", NULL};
    (void)state;
    ts_mock_start(&mock, args);
    ts_mock_start(&mock3, args3);
    rag_log_set(capture_log, NULL);
    rag_log_set_level(RAG_LOG_DEBUG);
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

/* One config with one back-end of each kind, and a chain. */
static rag_config *cfg_for(const char *url, const char *chain, const char *extra)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "profile: local\n"
             "chains:\n  embed: [%s]\n"
             "backends:\n"
             "  tei_a:\n    type: tei\n    url: %s\n    model: " MODEL "\n"
             "    api_key: " TOKEN "\n    max_retries: 2\n    timeout_ms: 400\n"
             "  hf_b:\n    type: hf_inference\n    url: %s/hf-inference\n    model: " MODEL "\n"
             "    api_key: " TOKEN "\n    max_retries: 2\n"
             "  oai_b:\n    type: openai\n    url: %s/v1\n    model: " MODEL "\n"
             "    api_key: " TOKEN "\n    max_retries: 2\n"
             "  oll_c:\n    type: ollama\n    url: %s\n    model: " MODEL "\n"
             "    max_retries: 2\n"
             "%s",
             chain, url, url, url, url, extra ? extra : "");
    return load_yaml(yaml);
}

static void embed_two(rag_embedder *e, float *out)
{
    const char *texts[] = {"first chunk", "second chunk"};
    rag_err err = {0};
    assert_int_equal(rag_embedder_dim(e), 8);
    assert_int_equal(rag_embedder_embed(e, texts, 2, out, &err), RAG_OK);
}

static void test_embed_remote__request_shapes_and_vectors_per_api(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_config *cfg = cfg_for(mock.url, "tei_a", NULL);
    const char *names[] = {"tei_a", "hf_b", "oai_b", "oll_c"};
    const char *paths[] = {"/embed", "/hf-inference/models/" MODEL "/pipeline/feature-extraction",
                           "/v1/embeddings", "/api/embed"};
    float vec[4][16];
    rag_usage *u = NULL;
    rag_usage_stats st;
    (void)state;
    assert_int_equal(rag_usage_open(&u, NULL, cfg, NULL), RAG_OK);
    for (int k = 0; k < 4; k++) {
        rag_embedder *e = NULL;
        rag_err err = {0};
        json_t *body, *inputs;
        assert_int_equal(rag_embedder_from_config_ex(&e, cfg, names[k], u, &o, &err), RAG_OK);
        assert_string_equal(rag_embedder_model_id(e), MODEL);
        embed_two(e, vec[k]);
        assert_string_equal(rag_embedder_served_by(e), names[k]);
        body = logged_body(&mock, paths[k], 1);
        inputs = json_object_get(body, k < 2 ? "inputs" : "input");
        assert_int_equal(json_array_size(inputs), 2);
        assert_string_equal(json_string_value(json_array_get(inputs, 1)), "second chunk");
        if (k < 2) { /* TEI /embed schema (also the HF feature-extraction payload) */
            assert_true(json_is_true(json_object_get(body, "truncate")));
            assert_true(json_is_true(json_object_get(body, "normalize")));
            assert_null(json_object_get(body, "model"));
        } else {
            assert_string_equal(json_string_value(json_object_get(body, "model")), MODEL);
        }
        if (k == 2)
            assert_string_equal(json_string_value(json_object_get(body, "encoding_format")),
                                "float");
        if (k == 3)
            assert_true(json_is_true(json_object_get(body, "truncate")));
        json_decref(body);
        if (k == 2) { /* OpenAI reports usage: the mock counts words */
            assert_int_equal(rag_embedder_last_call(e)->tokens_in, 4);
        }
        rag_embedder_destroy(e);
        e = NULL;
    }
    /* the mock derives each vector from the text alone: all four APIs must
     * agree, unit length, and the two texts must differ */
    for (int k = 1; k < 4; k++)
        for (int j = 0; j < 16; j++)
            assert_float_equal(vec[k][j], vec[0][j], 1e-5);
    {
        double n0 = 0, diff = 0;
        for (int j = 0; j < 8; j++) {
            n0 += vec[0][j] * vec[0][j];
            diff += fabs(vec[0][j] - vec[0][8 + j]);
        }
        assert_float_equal(n0, 1.0, 1e-4);
        assert_true(diff > 1e-3);
    }
    /* a standalone back-end records each call (the dimension probe is not one) */
    for (int k = 0; k < 4; k++) {
        assert_int_equal(rag_usage_get(u, names[k], &st), RAG_OK);
        assert_int_equal(st.requests, 1);
        assert_int_equal(st.errors, 0);
        assert_int_equal(st.tokens_in, k == 2 ? 4 : k == 3 ? 4 : 0);
    }
    rag_usage_close(u);
    rag_config_destroy(cfg);
}

static void test_embed_tei__splits_batches_by_info_and_keeps_order(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_config *cfg = cfg_for(mock3.url, "tei_a", NULL);
    const char *texts[7] = {"a one", "b two", "c three", "d four", "e five", "f six", "g seven"};
    float all[7 * 8], one[8];
    rag_embedder *e = NULL;
    rag_err err = {0};
    char *log;
    (void)state;
    ts_mock_reset(&mock3);
    assert_int_equal(rag_embedder_from_config_ex(&e, cfg, "tei_a", NULL, &o, &err), RAG_OK);
    assert_int_equal(rag_embedder_dim(e), 8); /* one probe request */
    assert_int_equal(rag_embedder_embed(e, texts, 7, all, &err), RAG_OK);
    assert_int_equal(ts_mock_count(&mock3, "/info"), 1);
    assert_int_equal(ts_mock_count(&mock3, "/embed"), 1 + 3); /* probe + 3 + 3 + 1 */
    log = ts_mock_log(&mock3);
    assert_null(strstr(log, "\"status\": 422"));
    rag_free(log);
    for (int i = 0; i < 7; i++) { /* same vector as embedding the text alone */
        assert_int_equal(rag_embedder_embed(e, &texts[i], 1, one, &err), RAG_OK);
        for (int j = 0; j < 8; j++)
            assert_float_equal(one[j], all[i * 8 + j], 1e-6);
    }
    rag_embedder_destroy(e);
    rag_config_destroy(cfg);
}

/* one fault on TEI through the chain [tei_a, oai_b] */
typedef struct {
    const char *fault;
    int count;          /* how many queued */
    int tei_requests;   /* expected /embed requests for the failing call */
    const char *cls;    /* expected error class recorded for tei_a */
} fault_case;

static void test_embed_chain__faults_retry_then_fall_back_in_order(void **state)
{
    static const fault_case cases[] = {
        {"429;retry_after=0", 3, 3, "rate_limited"},
        {"429", 3, 3, "rate_limited"},
        {"500", 3, 3, "http_5xx"},
        {"502", 3, 3, "http_5xx"},
        {"503", 3, 3, "http_5xx"},
        {"401", 1, 1, "http_4xx"},
        {"413", 1, 1, "http_4xx"},
        {"422", 1, 1, "http_4xx"},
        {"malformed", 1, 1, "malformed"},
        {"hang;ms=1500", 3, 3, "timeout"},
        /* libcurl itself resends once on a reused connection that dies, so
         * the request count is not ours to assert: -1 */
        {"close", 8, -1, "connect"},
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rag_remote_opts o = fast_opts();
        rag_config *cfg = cfg_for(mock.url, "tei_a, oai_b", NULL);
        rag_usage *u = NULL;
        rag_embedder *e = NULL;
        rag_err err = {0};
        rag_usage_stats st;
        const char *t = "hello world";
        float out[8];
        char faults[256];
        assert_int_equal(rag_usage_open(&u, NULL, cfg, &err), RAG_OK);
        assert_int_equal(rag_embedder_chain_create(&e, cfg, u, &o, &err), RAG_OK);
        assert_int_equal(rag_embedder_dim(e), 8);
        ts_mock_reset(&mock);
        snprintf(faults, sizeof faults,
                 "{\"faults\":[{\"fault\":\"%s\",\"path\":\"/embed\",\"count\":%d}]}",
                 cases[c].fault, cases[c].count);
        ts_mock_faults(&mock, faults);
        if (rag_embedder_embed(e, &t, 1, out, &err) != RAG_OK)
            fail_msg("%s: %s", cases[c].fault, err.msg);
        if (strcmp(rag_embedder_served_by(e), "oai_b"))
            fail_msg("%s: served by %s", cases[c].fault, rag_embedder_served_by(e));
        if (cases[c].tei_requests >= 0 &&
            ts_mock_count(&mock, "/embed") != cases[c].tei_requests)
            fail_msg("%s: %d TEI requests, expected %d", cases[c].fault,
                     ts_mock_count(&mock, "/embed"), cases[c].tei_requests);
        /* the chain told oai_b the dimension: no probe, just the call */
        assert_int_equal(ts_mock_count(&mock, "/v1/embeddings"), 1);
        assert_int_equal(rag_usage_get(u, "tei_a", &st), RAG_OK);
        assert_int_equal(st.errors, 1);
        assert_int_equal(st.fallbacks, 1);
        if (cases[c].tei_requests >= 0)
            assert_int_equal(st.retries, cases[c].tei_requests - 1);
        else
            assert_int_equal(st.retries, 2); /* max_retries */
        if (rag_usage_errors(u, "tei_a", cases[c].cls) != 1)
            fail_msg("%s: class %s not recorded", cases[c].fault, cases[c].cls);
        assert_int_equal(rag_usage_get(u, "oai_b", &st), RAG_OK);
        assert_int_equal(st.errors, 0);
        assert_int_equal(st.tokens_in, 2);
        ts_mock_reset(&mock); /* drop faults left unused */
        rag_embedder_destroy(e);
        rag_usage_close(u);
        rag_config_destroy(cfg);
    }
}

/* The classic HF API answers 503 {"estimated_time"} while a model loads;
 * Retry-After on a 429. Both waits follow the server (capped at
 * max_server_wait_ms = 50 in fast_opts), not the 1 ms backoff. */
static void test_embed_remote__waits_as_the_server_says(void **state)
{
    rag_remote_opts o = fast_opts();
    char extra[512], loading[256];
    rag_config *cfg;
    rag_embedder *e = NULL;
    rag_err err = {0};
    const char *t = "loading";
    float out[8];
    double t0;
    (void)state;
    snprintf(extra, sizeof extra,
             "  classic:\n    type: hf_inference\n    url: %s\n    model: " MODEL "\n"
             "    api_key: " TOKEN "\n    max_retries: 3\n", mock.url);
    cfg = cfg_for(mock.url, "classic", extra);
    assert_int_equal(rag_embedder_from_config_ex(&e, cfg, "classic", NULL, &o, &err), RAG_OK);
    assert_int_equal(rag_embedder_dim(e), 8);
    ts_mock_reset(&mock);
    snprintf(loading, sizeof loading, "{\"model\":\"%s/pipeline/feature-extraction\","
             "\"requests\":2}", MODEL);
    {
        char url[128], *body = NULL;
        snprintf(url, sizeof url, "%s/_mock/loading", mock.url);
        assert_int_equal(ts_http("POST", url, loading, &body), 200);
        rag_free(body);
    }
    t0 = fake_now;
    assert_int_equal(rag_embedder_embed(e, &t, 1, out, &err), RAG_OK);
    assert_int_equal(rag_embedder_last_call(e)->retries, 2);
    assert_float_equal(fake_now - t0, 2 * 50.0, 1e-6); /* estimated_time 0.05 s, twice */
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"429;retry_after=7\",\"count\":1}]}");
    t0 = fake_now;
    assert_int_equal(rag_embedder_embed(e, &t, 1, out, &err), RAG_OK);
    assert_int_equal(rag_embedder_last_call(e)->retries, 1);
    assert_float_equal(fake_now - t0, 50.0, 1e-6); /* 7 s capped at 50 ms */
    rag_embedder_destroy(e);
    rag_config_destroy(cfg);
}

/* TEI without a configured model: the id comes from /info. A 413 on a
 * batch of 4 halves it (the net layer does not retry 413). */
static void test_embed_tei__model_from_info_and_413_halves_batch(void **state)
{
    rag_remote_opts o = fast_opts();
    char extra[256];
    rag_config *cfg;
    rag_embedder *e = NULL;
    rag_err err = {0};
    const char *texts[4] = {"w", "x", "y", "z"};
    float out[4 * 8], one[8];
    (void)state;
    snprintf(extra, sizeof extra, "  bare:\n    type: tei\n    url: %s\n    api_key: " TOKEN "\n",
             mock.url);
    cfg = cfg_for(mock.url, "bare", extra);
    ts_mock_reset(&mock);
    assert_int_equal(rag_embedder_from_config_ex(&e, cfg, "bare", NULL, &o, &err), RAG_OK);
    /* the id is known before any embedding (docrag index asks it first):
     * one GET /info, which also gives the batch cap */
    assert_string_equal(rag_embedder_model_id(e), MODEL);
    assert_int_equal(ts_mock_count(&mock, "/info"), 1);
    assert_int_equal(ts_mock_count(&mock, "/embed"), 0);
    assert_int_equal(rag_embedder_dim(e), 8);
    assert_string_equal(rag_embedder_model_id(e), MODEL);
    assert_int_equal(ts_mock_count(&mock, "/info"), 1);
    ts_mock_reset(&mock);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"413\",\"path\":\"/embed\",\"count\":1}]}");
    assert_int_equal(rag_embedder_embed(e, texts, 4, out, &err), RAG_OK);
    assert_int_equal(ts_mock_count(&mock, "/embed"), 1 + 2); /* refused 4, then 2 + 2 */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rag_embedder_embed(e, &texts[i], 1, one, &err), RAG_OK);
        for (int j = 0; j < 8; j++)
            assert_float_equal(one[j], out[i * 8 + j], 1e-6);
    }
    rag_embedder_destroy(e);
    rag_config_destroy(cfg);
}

static void test_embed_chain__connection_refused_falls_through(void **state)
{
    rag_remote_opts o = fast_opts();
    char url[64], yaml_extra[512];
    rag_config *cfg;
    rag_embedder *e = NULL;
    rag_err err = {0};
    const char *t = "x";
    float out[8];
    (void)state;
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ts_closed_port());
    snprintf(yaml_extra, sizeof yaml_extra,
             "  dead:\n    type: tei\n    url: %s\n    model: " MODEL "\n    max_retries: 1\n",
             url);
    cfg = cfg_for(mock.url, "dead, oll_c", yaml_extra);
    assert_int_equal(rag_embedder_chain_create(&e, cfg, NULL, &o, &err), RAG_OK);
    assert_int_equal(rag_embedder_dim(e), 8);
    assert_int_equal(rag_embedder_embed(e, &t, 1, out, &err), RAG_OK);
    assert_string_equal(rag_embedder_served_by(e), "oll_c");
    rag_embedder_destroy(e);
    rag_config_destroy(cfg);
}

static void test_embed_chain__open_breaker_skips_without_request(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_net_breaker_policy bp = {.consecutive_failures = 1, .cooldown_ms = 1e9,
                                 .half_open_probes = 1};
    rag_config *cfg = cfg_for(mock.url, "tei_a, oai_b", NULL);
    rag_usage *u = NULL;
    rag_embedder *e = NULL;
    rag_err err = {0};
    const char *t = "breaker";
    float out[8];
    (void)state;
    o.breaker = &bp;
    assert_int_equal(rag_usage_open(&u, NULL, cfg, &err), RAG_OK);
    assert_int_equal(rag_embedder_chain_create(&e, cfg, u, &o, &err), RAG_OK);
    assert_int_equal(rag_embedder_dim(e), 8);
    ts_mock_reset(&mock);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"500\",\"path\":\"/embed\",\"count\":1}]}");
    assert_int_equal(rag_embedder_embed(e, &t, 1, out, &err), RAG_OK);
    assert_string_equal(rag_embedder_served_by(e), "oai_b");
    assert_int_equal(ts_mock_count(&mock, "/embed"), 1); /* opened after one failure */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rag_embedder_embed(e, &t, 1, out, &err), RAG_OK);
        assert_string_equal(rag_embedder_served_by(e), "oai_b");
    }
    assert_int_equal(ts_mock_count(&mock, "/embed"), 1);  /* nothing sent to the open one */
    assert_int_equal(ts_mock_count(&mock, "/v1/embeddings"), 4);
    /* the first call's retry already met the open breaker */
    assert_int_equal(rag_usage_errors(u, "tei_a", "breaker_open"), 1 + 3);
    rag_embedder_destroy(e);
    rag_usage_close(u);
    rag_config_destroy(cfg);
}

static void test_embed_chain__budget_spent_moves_to_next(void **state)
{
    rag_remote_opts o = fast_opts();
    char extra[512];
    rag_config *cfg;
    rag_usage *u = NULL;
    rag_embedder *e = NULL;
    rag_err err = {0};
    rag_usage_stats st;
    const char *t = "three word text";
    float out[8];
    (void)state;
    /* $1 per input token, $5 a month: each 3-token call costs $3 */
    snprintf(extra, sizeof extra,
             "  paid:\n    type: openai\n    url: %s/v1\n    model: " MODEL "\n"
             "    api_key: " TOKEN "\n    price_in_per_mtok: 1000000\n"
             "    monthly_budget_usd: 5\n", mock.url);
    cfg = cfg_for(mock.url, "paid, oll_c", extra);
    assert_int_equal(rag_usage_open(&u, NULL, cfg, &err), RAG_OK);
    assert_int_equal(rag_embedder_chain_create(&e, cfg, u, &o, &err), RAG_OK);
    assert_int_equal(rag_embedder_dim(e), 8); /* the probe is not billed */
    ts_mock_reset(&mock);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rag_embedder_embed(e, &t, 1, out, &err), RAG_OK);
        assert_string_equal(rag_embedder_served_by(e), "paid");
    }
    assert_int_equal(rag_usage_get(u, "paid", &st), RAG_OK);
    assert_float_equal(st.month_cost_usd, 6.0, 1e-9);
    assert_int_equal(rag_usage_allowed(u, "paid"), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rag_embedder_embed(e, &t, 1, out, &err), RAG_OK);
        assert_string_equal(rag_embedder_served_by(e), "oll_c");
    }
    assert_int_equal(ts_mock_count(&mock, "/v1/embeddings"), 2);
    assert_int_equal(ts_mock_count(&mock, "/api/embed"), 2);
    rag_embedder_destroy(e);
    rag_usage_close(u);
    rag_config_destroy(cfg);
}

static void test_embed_chain__refuses_mixed_models(void **state)
{
    rag_config *cfg = cfg_for(mock.url, "tei_a, other",
                              "  other:\n    type: ollama\n    model: nomic-embed-text\n");
    rag_embedder *e = NULL;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_embedder_chain_create(&e, cfg, NULL, NULL, &err), RAG_EINVAL);
    assert_null(e);
    assert_non_null(strstr(err.msg, "tei_a"));
    assert_non_null(strstr(err.msg, "other"));
    assert_non_null(strstr(err.msg, MODEL));
    assert_non_null(strstr(err.msg, "nomic-embed-text"));
    assert_true(rag_embed_model_ids_match("all-MiniLM-L6-v2", MODEL));
    assert_false(rag_embed_model_ids_match("a/x", "b/x"));
    rag_config_destroy(cfg);
}

static void test_embed_chain__no_secret_in_logs_or_errors(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_config *cfg = cfg_for(mock.url, "tei_a, hf_b", NULL);
    rag_embedder *e = NULL;
    rag_err err = {0};
    const char *t = "secret test";
    float out[8];
    char *log;
    (void)state;
    assert_int_equal(rag_embedder_chain_create(&e, cfg, NULL, &o, &err), RAG_OK);
    assert_int_equal(rag_embedder_dim(e), 8);
    ts_mock_reset(&mock);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"reflect;code=400\",\"path\":\"/\","
                          "\"count\":2}]}");
    /* TEI /embed and hf_b's call both get the reflected credentials (TEI's
     * /info was read by dim()); the call fails */
    assert_int_not_equal(rag_embedder_embed(e, &t, 1, out, &err), RAG_OK);
    log = ts_mock_log(&mock);
    assert_non_null(strstr(log, TOKEN)); /* the mock really echoed it */
    rag_free(log);
    assert_null(strstr(err.msg, TOKEN));
    assert_non_null(logged.data);
    assert_null(strstr(logged.data, TOKEN));
    rag_embedder_destroy(e);
    rag_config_destroy(cfg);
}

static void test_embed_chain__disabled_member_skipped_with_reason(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_config *cfg = cfg_for(mock.url, "off, oll_c",
                              "  off:\n    type: hf_inference\n    model: " MODEL "\n"
                              "    api_key: changeme\n");
    rag_embedder *e = NULL;
    rag_err err = {0};
    const char *t = "x";
    float out[8];
    (void)state;
    ts_mock_reset(&mock);
    rag_buf_clear(&logged);
    assert_int_equal(rag_embedder_chain_create(&e, cfg, NULL, &o, &err), RAG_OK);
    assert_non_null(strstr(logged.data, "'off' disabled"));
    assert_int_equal(rag_embedder_dim(e), 8);
    assert_int_equal(rag_embedder_embed(e, &t, 1, out, &err), RAG_OK);
    assert_string_equal(rag_embedder_served_by(e), "oll_c");
    rag_embedder_destroy(e);
    rag_config_destroy(cfg);
}

/* An index of three one-chunk documents in a fresh directory. */
static rag_index *three_chunk_index(const char *tag, char **dir_out)
{
    static const char *const texts[] = {"alpha register", "beta vector", "gamma mask"};
    char *dir = ts_tmpdir(tag), path[512];
    rag_index *ix = NULL;
    snprintf(path, sizeof path, "%s/t.db", dir);
    assert_int_equal(rag_index_open(&ix, path, 0, NULL), RAG_OK);
    for (int i = 0; i < 3; i++) {
        char doc[64];
        rag_chunk c = {i + 1, 0, 1, 1, "", 0, strlen(texts[i]), texts[i], strlen(texts[i]),
                       2};
        snprintf(doc, sizeof doc, "/docs/%d.txt", i);
        ts_put_doc(ix, doc, &c, 1, 1);
    }
    *dir_out = dir;
    return ix;
}

/* Regression (issue 13, defect 13): a failing remote embedder was reported
 * as "embedder 'chain' ... cannot tell its dimension: is it reachable?". The
 * probe's error is kept (dim() has no error channel) and the message names
 * the back-end, its URL and the HTTP status, through the chain, the locked
 * wrapper and the indexing pass. */
static void test_embed_chain__unreachable_member_names_backend_url_and_status(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_config *cfg = cfg_for(mock.url, "tei_a", NULL);
    rag_embedder *e = NULL, *chain = NULL;
    rag_err err = {0};
    rag_embed_report rep;
    char want_url[160], *dir;
    rag_index *ix;
    (void)state;
    snprintf(want_url, sizeof want_url, "%s/embed", mock.url);
    assert_int_equal(rag_embedder_chain_create(&chain, cfg, NULL, &o, &err), RAG_OK);
    assert_int_equal(rag_embedder_locked_create(&e, chain, &err), RAG_OK);
    ts_mock_reset(&mock);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"401\",\"count\":50}]}");
    assert_int_equal(rag_embedder_dim(e), 0);
    assert_non_null(rag_embedder_last_call(e));
    {
        const char *m = rag_embedder_last_call(e)->message;
        if (!strstr(m, "tei_a") || !strstr(m, want_url) || !strstr(m, "HTTP 401"))
            fail_msg("dim() failure does not say who, where and what: %s", m);
        assert_null(strstr(m, TOKEN));
    }
    ix = three_chunk_index("embed_unreachable", &dir);
    assert_int_equal(rag_embed_index(ix, e, NULL, &rep, &err), RAG_EBACKEND);
    if (!strstr(err.msg, "tei_a") || !strstr(err.msg, want_url) || !strstr(err.msg, "HTTP 401"))
        fail_msg("index error does not say who, where and what: %s", err.msg);
    assert_null(strstr(err.msg, "is it reachable"));
    ts_mock_reset(&mock);
    rag_index_close(ix);
    rag_free(dir);
    rag_embedder_destroy(e);
    rag_config_destroy(cfg);
}

/* Regression: a member answering a non-finite value (1e39 is valid JSON
 * but no float32) used to serve it, and rag_embed_index then stopped the
 * pass ("returned a non-finite value"). It is a failure of that member. */
static void test_embed_chain__non_finite_vector_falls_through(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_config *cfg = cfg_for(mock.url, "tei_a, oai_b", NULL);
    rag_usage *u = NULL;
    rag_embedder *e = NULL;
    rag_err err = {0};
    rag_usage_stats st;
    rag_embed_report rep;
    const char *texts[2] = {"alpha", "beta"};
    float out[16];
    char *dir;
    rag_index *ix;
    (void)state;
    assert_int_equal(rag_usage_open(&u, NULL, cfg, &err), RAG_OK);
    assert_int_equal(rag_embedder_chain_create(&e, cfg, u, &o, &err), RAG_OK);
    assert_int_equal(rag_embedder_dim(e), 8);
    ts_mock_reset(&mock);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"huge\",\"path\":\"/embed\"}]}");
    assert_int_equal(rag_embedder_embed(e, texts, 2, out, &err), RAG_OK);
    assert_string_equal(rag_embedder_served_by(e), "oai_b");
    for (int j = 0; j < 16; j++)
        assert_true(isfinite(out[j]));
    assert_int_equal(ts_mock_count(&mock, "/embed"), 1); /* a 200: not retried */
    assert_int_equal(rag_usage_errors(u, "tei_a", "malformed"), 1);
    assert_int_equal(rag_usage_get(u, "tei_a", &st), RAG_OK);
    assert_int_equal(st.fallbacks, 1);
    /* the indexing pass goes on with the next member */
    ix = three_chunk_index("embed_nonfinite", &dir);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"huge\",\"path\":\"/embed\"}]}");
    if (rag_embed_index(ix, e, NULL, &rep, &err) != RAG_OK)
        fail_msg("pass: %s", err.msg);
    assert_int_equal(rep.n_embedded, 3);
    assert_string_equal(rag_embedder_served_by(e), "oai_b");
    assert_int_equal(rag_usage_errors(u, "tei_a", "malformed"), 2);
    rag_index_close(ix);
    rag_free(dir);
    rag_embedder_destroy(e);
    rag_usage_close(u);
    rag_config_destroy(cfg);
}

/* Regression: the chain took its dimension from whichever member answered
 * the probe first and told the others, so a first member of the wrong
 * dimension made a correct second one fail too. The caller's dimension
 * (retrieval declares the stored vectors') now decides, and the member of
 * another dimension is the one that fails. */
static void test_embed_chain__first_member_of_another_dimension_falls_through(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_config *cfg = cfg_for(mock.url, "tei_a, oai_b", NULL);
    rag_usage *u = NULL;
    rag_embedder *e = NULL;
    rag_err err = {0};
    rag_usage_stats st;
    const char *t = "alpha";
    float out[16];
    (void)state;
    assert_int_equal(rag_usage_open(&u, NULL, cfg, &err), RAG_OK);
    ts_mock_reset(&mock);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"dim;n=16\",\"path\":\"/embed\","
                          "\"count\":20}]}");
    /* declared before any request: no probe at all */
    assert_int_equal(rag_embedder_chain_create(&e, cfg, u, &o, &err), RAG_OK);
    assert_int_equal(rag_embedder_set_dim(e, 8), RAG_OK);
    assert_int_equal(rag_embedder_dim(e), 8);
    assert_int_equal(ts_mock_count(&mock, "/embed"), 0);
    assert_int_equal(rag_embedder_embed(e, &t, 1, out, &err), RAG_OK);
    assert_string_equal(rag_embedder_served_by(e), "oai_b");
    assert_int_equal(ts_mock_count(&mock, "/embed"), 1);
    assert_int_equal(ts_mock_count(&mock, "/v1/embeddings"), 1);
    assert_int_equal(rag_usage_errors(u, "tei_a", "malformed"), 1);
    assert_int_equal(rag_usage_get(u, "tei_a", &st), RAG_OK);
    assert_int_equal(st.fallbacks, 1);
    rag_embedder_destroy(e);
    e = NULL;
    /* learned from the wrong member first (the old way: 16 for everyone),
     * then declared: the right member serves */
    assert_int_equal(rag_embedder_chain_create(&e, cfg, u, &o, &err), RAG_OK);
    assert_int_equal(rag_embedder_dim(e), 16); /* alone, the chain cannot tell */
    assert_int_equal(rag_embedder_set_dim(e, 8), RAG_OK);
    assert_int_equal(rag_embedder_embed(e, &t, 1, out, &err), RAG_OK);
    assert_string_equal(rag_embedder_served_by(e), "oai_b");
    for (int j = 0; j < 8; j++)
        assert_true(isfinite(out[j]));
    assert_int_equal(rag_embedder_set_dim(e, 0), RAG_EINVAL);
    rag_embedder_destroy(e);
    rag_usage_close(u);
    rag_config_destroy(cfg);
}

/* The same through retrieval: vectors stored while TEI was right (8-d);
 * TEI now answers 16-d. Dense search is served by oai_b, where it used to
 * drop the stage ("the embedder gives 16 dimensions ... run docrag
 * index"). */
static void test_embed_chain__retrieval_declares_the_stored_dimension(void **state)
{
    rag_remote_opts o = fast_opts();
    rag_config *cfg = cfg_for(mock.url, "tei_a, oai_b", NULL);
    rag_embedder *e = NULL;
    rag_retriever *r = NULL;
    rag_search_opts so = {0};
    rag_hits hits;
    rag_embed_report rep;
    rag_err err = {0};
    char *dir;
    rag_index *ix = three_chunk_index("embed_declared_dim", &dir);
    (void)state;
    ts_mock_reset(&mock);
    assert_int_equal(rag_embedder_chain_create(&e, cfg, NULL, &o, &err), RAG_OK);
    assert_int_equal(rag_embed_index(ix, e, NULL, &rep, &err), RAG_OK);
    assert_string_equal(rag_embedder_served_by(e), "tei_a");
    rag_embedder_destroy(e);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"dim;n=16\",\"path\":\"/embed\","
                          "\"count\":20}]}");
    if (rag_retriever_open(&r, ix, cfg, RAG_MODE_DENSE, NULL, &err) != RAG_OK)
        fail_msg("retriever: %s", err.msg);
    assert_true(rag_retriever_has_dense(r));
    so.mode = RAG_MODE_DENSE;
    so.k = 3;
    so.retriever = r;
    assert_int_equal(rag_search(&hits, ix, "beta vector", &so, &err), RAG_OK);
    if (hits.notice[0])
        fail_msg("notice: %s", hits.notice);
    assert_int_equal(hits.mode_used, RAG_MODE_DENSE);
    assert_int_equal(hits.n, 3);
    assert_int_equal(ts_mock_count(&mock, "/v1/embeddings"), 1);
    rag_hits_fini(&hits);
    rag_retriever_destroy(r);
    rag_index_close(ix);
    rag_free(dir);
    rag_config_destroy(cfg);
}

/* A local back-end's precision and threads keys reach the model: the model
 * id says "@int8", and the vectors differ from the f32 model's. */
static void test_embed_registry__local_precision_from_config(void **state)
{
    char *dir = ts_src_path("tests/data/models/bi-encoder");
    char *yaml = rag_asprintf("chains:\n  embed: [loc8]\nbackends:\n"
                              "  loc8:\n    type: local\n    model: %s\n"
                              "    precision: int8\n    threads: 1\n"
                              "  loc32:\n    type: local\n    model: %s\n",
                              dir, dir);
    rag_config *cfg = load_yaml(yaml);
    rag_embedder *e8 = NULL, *e32 = NULL;
    rag_err err = {0};
    const char *t = "the four core instruction formats";
    float v8[24], v32[24];
    double diff = 0;
    (void)state;
    assert_int_equal(rag_embedder_from_config(&e8, cfg, "loc8", NULL, &err), RAG_OK);
    assert_int_equal(rag_embedder_from_config(&e32, cfg, "loc32", NULL, &err), RAG_OK);
    assert_string_equal(rag_embedder_model_id(e8), "bi-encoder@int8");
    assert_string_equal(rag_embedder_model_id(e32), "bi-encoder");
    assert_int_equal(rag_embedder_dim(e8), 24);
    assert_int_equal(rag_embedder_embed(e8, &t, 1, v8, &err), RAG_OK);
    assert_int_equal(rag_embedder_embed(e32, &t, 1, v32, &err), RAG_OK);
    for (int i = 0; i < 24; i++)
        diff += fabs((double)v8[i] - v32[i]);
    assert_true(diff > 0);       /* really quantised */
    assert_true(diff < 24 * 0.1); /* and still the same model */
    rag_embedder_destroy(e8);
    rag_embedder_destroy(e32);
    rag_config_destroy(cfg);
    rag_free(yaml);
    rag_free(dir);
}

/* Regression (issue 13, defect 4): `timeout_ms: 1000, max_retries: 5` and a
 * 429 with Retry-After: 3600 waited 30 s per retry (a dense search stalled
 * for a minute). The back-end's deadline, timeout_ms x (max_retries + 1) =
 * 6 s here, leaves no room for the capped 30 s wait: one request, no wait.
 * deadline_ms and max_retry_after_ms set it explicitly. */
static void test_embed_remote__config_deadline_bounds_retry_after(void **state)
{
    rag_remote_opts o = rag_remote_default_opts(); /* the config's own policy */
    char extra[512];
    rag_config *cfg;
    rag_embedder *e = NULL;
    rag_err err = {0};
    const char *t = "x";
    float out[8];
    double t0, start = fake_now;
    (void)state;
    o.clock.now_ms = fc_now;
    o.clock.sleep_ms = fc_sleep;
    snprintf(extra, sizeof extra,
             "  slow_tei:\n    type: tei\n    url: %s\n    model: " MODEL "\n"
             "    api_key: " TOKEN "\n    max_retries: 5\n    timeout_ms: 1000\n"
             "  waits:\n    type: tei\n    url: %s\n    model: " MODEL "\n"
             "    api_key: " TOKEN "\n    max_retries: 3\n    timeout_ms: 1000\n"
             "    deadline_ms: 60000\n    max_retry_after_ms: 2000\n", mock.url, mock.url);
    cfg = cfg_for(mock.url, "slow_tei", extra);
    assert_int_equal(rag_embedder_from_config_ex(&e, cfg, "slow_tei", NULL, &o, &err), RAG_OK);
    assert_int_equal(rag_embedder_set_dim(e, 8), RAG_OK);
    ts_mock_reset(&mock);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"429;retry_after=3600\",\"count\":20}]}");
    t0 = fake_now;
    assert_true(rag_embedder_embed(e, &t, 1, out, &err) < 0);
    assert_true(fake_now == t0); /* not a single wait */
    assert_int_equal(ts_mock_count(&mock, "/embed"), 1);
    assert_non_null(strstr(err.msg, "3600 s"));
    assert_non_null(strstr(err.msg, "deadline of 6000 ms"));
    rag_embedder_destroy(e);
    /* explicit keys: 2 s waits fit a 60 s deadline, all 3 retries are made */
    assert_int_equal(rag_embedder_from_config_ex(&e, cfg, "waits", NULL, &o, &err), RAG_OK);
    assert_int_equal(rag_embedder_set_dim(e, 8), RAG_OK);
    ts_mock_reset(&mock);
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"429;retry_after=3600\",\"count\":20}]}");
    t0 = fake_now;
    assert_true(rag_embedder_embed(e, &t, 1, out, &err) < 0);
    assert_true(fabs((fake_now - t0) - 3 * 2000.0) < 1e-6);
    assert_int_equal(ts_mock_count(&mock, "/embed"), 4);
    ts_mock_reset(&mock);
    rag_embedder_destroy(e);
    rag_config_destroy(cfg);
    fake_now = start; /* cmocka compares floats as float: keep the clock small */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_remote__request_shapes_and_vectors_per_api),
        cmocka_unit_test(test_embed_tei__splits_batches_by_info_and_keeps_order),
        cmocka_unit_test(test_embed_chain__faults_retry_then_fall_back_in_order),
        cmocka_unit_test(test_embed_remote__waits_as_the_server_says),
        cmocka_unit_test(test_embed_tei__model_from_info_and_413_halves_batch),
        cmocka_unit_test(test_embed_chain__connection_refused_falls_through),
        cmocka_unit_test(test_embed_chain__open_breaker_skips_without_request),
        cmocka_unit_test(test_embed_chain__budget_spent_moves_to_next),
        cmocka_unit_test(test_embed_chain__refuses_mixed_models),
        cmocka_unit_test(test_embed_chain__no_secret_in_logs_or_errors),
        cmocka_unit_test(test_embed_chain__disabled_member_skipped_with_reason),
        cmocka_unit_test(test_embed_chain__non_finite_vector_falls_through),
        cmocka_unit_test(test_embed_chain__first_member_of_another_dimension_falls_through),
        cmocka_unit_test(test_embed_chain__retrieval_declares_the_stored_dimension),
        cmocka_unit_test(test_embed_registry__local_precision_from_config),
        cmocka_unit_test(test_embed_remote__config_deadline_bounds_retry_after),
        cmocka_unit_test(test_embed_chain__unreachable_member_names_backend_url_and_status),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
