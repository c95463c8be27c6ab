/* test_llm.c - the chat back-ends against the mock over real HTTP:
 * SSE and NDJSON reassembly, token counts, the HF router's model-list
 * fallback, error classes, and no secret in errors or logs. */
#include "test_support.h"
#include "mock_server.h"

#include "llm/llm.h"

#include <stdio.h>
#include <string.h>

#define TOKEN "hf_llmTestSecret0123456789"

static ts_mock mock;
static rag_buf logbuf = RAG_BUF_INIT;

static void capture_log(rag_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    rag_buf_puts(&logbuf, msg);
    rag_buf_putc(&logbuf, '\n');
}

static int setup(void **state)
{
    static const char *const args[] = {"--token", TOKEN, NULL};
    (void)state;
    ts_mock_start(&mock, args);
    rag_log_set(capture_log, NULL);
    rag_log_set_level(RAG_LOG_DEBUG);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_mock_stop(&mock);
    rag_log_set(NULL, NULL);
    rag_buf_fini(&logbuf);
    return 0;
}

static int reset(void **state)
{
    (void)state;
    ts_mock_reset(&mock);
    return 0;
}

static const rag_net_retry_policy fast_retry = {3, 1, 5, 50, 5000, 1};
static const rag_net_breaker_policy no_breaker = {0, 0, 0, 1000, 1000, 1};

static long cap_stream, cap_answer; /* backend caps for make(); 0 = defaults */

static rag_llm *make(const char *type, const char *model, char **models, size_t n_models,
                     const char *key)
{
    char url[96];
    rag_backend_cfg b = {0};
    rag_llm_tuning t = {0};
    rag_llm *llm = NULL;
    rag_err err = {0};
    int openai = strcmp(type, "ollama") != 0;
    snprintf(url, sizeof url, "%s%s", mock.url, openai ? "/v1" : "");
    b.name = (char *)(openai ? "hf_router" : "ollama");
    b.type = (char *)type;
    b.url = url;
    b.model = (char *)model;
    b.models = models;
    b.n_models = n_models;
    b.api_key = (char *)key;
    b.timeout_ms = 5000;
    b.connect_timeout_ms = 1000;
    b.max_retries = 2;
    b.max_stream_bytes = cap_stream;
    b.max_answer_bytes = cap_answer;
    b.enabled = 1;
    t.retry = &fast_retry;
    t.breaker = &no_breaker;
    t.idle_timeout_ms = 1000;
    assert_int_equal(rag_llm_create(&llm, &b, &t, &err), RAG_OK);
    return llm;
}

typedef struct {
    rag_buf text;
    int calls;
} sink;

static int on_tok(void *ctx, const char *text, size_t n)
{
    sink *s = ctx;
    s->calls++;
    rag_buf_append(&s->text, text, n);
    return 0;
}

static const rag_llm_message MSGS[] = {
    {"system", "Answer from the context."},
    {"user", "what is the vector length register"},
};

/* POST a JSON body to a mock control route. */
static void control(const char *route, const char *json)
{
    char url[128];
    snprintf(url, sizeof url, "%s%s", mock.url, route);
    assert_int_equal(ts_http("POST", url, json, NULL), 200);
}

static void test_llm__sse_reassembly_and_usage(void **state)
{
    rag_llm *llm = make("hf_providers", "meta-llama/Llama-3.1-8B-Instruct:fastest", NULL, 0,
                        TOKEN);
    sink s = {RAG_BUF_INIT, 0};
    rag_llm_result r;
    rag_err err = {0};
    (void)state;
    control("/_mock/chat", "{\"answers\":[\"The vl register holds the vector length [1].\"]}");
    assert_int_equal(rag_llm_chat(llm, MSGS, 2, NULL, on_tok, &s, &r, &err), RAG_OK);
    assert_string_equal(r.text, "The vl register holds the vector length [1].");
    assert_string_equal(s.text.data, r.text);
    assert_int_equal(s.calls, 8); /* one SSE chunk per word */
    assert_int_equal((int)r.n_tokens_delivered, 8);
    assert_int_equal((int)r.tokens_out, 8); /* from the usage chunk */
    assert_true(r.tokens_in > 0);
    assert_string_equal(r.served_model, "meta-llama/Llama-3.1-8B-Instruct:fastest");
    {
        char *log = ts_mock_log(&mock);
        /* the request streamed and asked for usage */
        assert_non_null(strstr(log, "\\\"stream\\\":true"));
        assert_non_null(strstr(log, "include_usage"));
        rag_free(log);
    }
    rag_llm_result_fini(&r);
    rag_buf_fini(&s.text);
    rag_llm_destroy(llm);
}

static void test_llm__ollama_ndjson_reassembly_and_counts(void **state)
{
    rag_llm *llm = make("ollama", "llama3.2", NULL, 0, NULL);
    sink s = {RAG_BUF_INIT, 0};
    rag_llm_result r;
    rag_err err = {0};
    (void)state;
    control("/_mock/chat", "{\"answers\":[\"Mask register v0 selects active elements [2].\"]}");
    assert_int_equal(rag_llm_chat(llm, MSGS, 2, NULL, on_tok, &s, &r, &err), RAG_OK);
    assert_string_equal(r.text, "Mask register v0 selects active elements [2].");
    assert_string_equal(s.text.data, r.text);
    assert_int_equal(s.calls, 7);
    assert_int_equal((int)r.tokens_in, 26);  /* prompt_eval_count */
    assert_int_equal((int)r.tokens_out, 7);  /* eval_count */
    assert_string_equal(r.served_model, "llama3.2");
    assert_int_equal(ts_mock_count(&mock, "/api/chat"), 1);
    rag_llm_result_fini(&r);
    rag_buf_fini(&s.text);
    rag_llm_destroy(llm);
}

static void test_llm__router_tries_next_model_on_model_errors(void **state)
{
    char *models[] = {(char *)"b/second:groq", (char *)"c/third:fastest"};
    rag_llm *llm = make("hf_providers", "a/first:sambanova", models, 2, TOKEN);
    rag_llm_result r;
    rag_err err = {0};
    char *log;
    (void)state;
    control("/_mock/models", "{\"unsupported\":{\"a/first:sambanova\":404,"
                             "\"b/second:groq\":400}}");
    control("/_mock/chat", "{\"default\":\"ok [1]\"}");
    assert_int_equal(rag_llm_chat(llm, MSGS, 2, NULL, NULL, NULL, &r, &err), RAG_OK);
    assert_string_equal(r.served_model, "c/third:fastest");
    assert_int_equal(r.models_tried, 3);
    assert_int_equal(ts_mock_count(&mock, "/v1/chat/completions"), 3);
    log = ts_mock_log(&mock);
    {
        /* tried in the configured order */
        char *a = strstr(log, "a/first"), *b = strstr(log, "b/second"),
             *c = strstr(log, "c/third");
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(c);
        assert_true(a < b && b < c);
    }
    rag_free(log);
    rag_llm_result_fini(&r);
    rag_llm_destroy(llm);
}

static void test_llm__non_model_4xx_does_not_try_other_models(void **state)
{
    char *models[] = {(char *)"b/second"};
    rag_llm *llm = make("hf_providers", "a/first", models, 1, "wrong-token-value");
    rag_llm_result r;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_llm_chat(llm, MSGS, 2, NULL, NULL, NULL, &r, &err), RAG_EBACKEND);
    assert_int_equal(r.status, 401);
    assert_int_equal(r.cls, RAG_NET_HTTP_4XX);
    assert_int_equal(r.models_tried, 1);
    assert_int_equal(ts_mock_count(&mock, "/v1/chat"), 1); /* 401 is not retried */
    assert_non_null(strstr(err.msg, "hf_router"));
    rag_llm_result_fini(&r);
    rag_llm_destroy(llm);
}

static void test_llm__stream_cut_reports_tokens_already_delivered(void **state)
{
    rag_llm *llm = make("openai", "gpt-4o-mini", NULL, 0, TOKEN);
    sink s = {RAG_BUF_INIT, 0};
    rag_llm_result r;
    rag_err err = {0};
    (void)state;
    control("/_mock/chat", "{\"default\":\"one two three four five six\"}");
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"cut;after=4\",\"path\":\"/v1/chat\"}]}");
    assert_int_equal(rag_llm_chat(llm, MSGS, 2, NULL, on_tok, &s, &r, &err), RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_STREAM_CUT);
    assert_true(r.n_tokens_delivered >= 1);
    assert_int_equal((int)r.n_tokens_delivered, s.calls);
    assert_null(r.text);
    rag_llm_result_fini(&r);
    rag_buf_fini(&s.text);
    rag_llm_destroy(llm);
}

static void test_llm__malformed_reply_is_an_error_not_a_crash(void **state)
{
    rag_llm *llm = make("openai", "gpt-4o-mini", NULL, 0, TOKEN);
    rag_llm_result r;
    rag_err err = {0};
    int rc;
    (void)state;
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"malformed\",\"path\":\"/v1/chat\",\"count\":10}]}");
    rc = rag_llm_chat(llm, MSGS, 2, NULL, NULL, NULL, &r, &err);
    assert_true(rc < 0);
    assert_null(r.text);
    rag_llm_result_fini(&r);
    rag_llm_destroy(llm);
}

static void test_llm__secret_never_in_errors_or_logs(void **state)
{
    rag_llm *llm = make("hf_providers", "m", NULL, 0, TOKEN);
    rag_llm_result r;
    rag_err err = {0};
    (void)state;
    rag_buf_clear(&logbuf);
    /* a misbehaving proxy echoing the Authorization header back */
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"reflect;code=400\",\"path\":\"/v1/chat\"}]}");
    assert_true(rag_llm_chat(llm, MSGS, 2, NULL, NULL, NULL, &r, &err) < 0);
    assert_null(strstr(err.msg, TOKEN));
    assert_null(strstr(err.msg, "llmTestSecret"));
    assert_true(logbuf.len == 0 || !strstr(logbuf.data, "llmTestSecret"));
    rag_llm_result_fini(&r);
    rag_llm_destroy(llm);
}

/* Regression (issue 13, defect 8): a message that is not valid UTF-8 (a
 * chunk header naming a file "bad\xffname.txt") made json_pack fail, and
 * the message was silently left out of the request. It is sent with
 * U+FFFD for the bad bytes, on both wire families. */
static void test_llm__invalid_utf8_in_a_message_is_replaced_not_dropped(void **state)
{
    static const rag_llm_message bad[] = {
        {"system", "Answer from the context."},
        {"user", "<<<CHUNK 1 | doc: bad\xff" "name.txt\nwhat is the vector length register"},
    };
    const char *types[] = {"hf_providers", "ollama"};
    (void)state;
    for (int i = 0; i < 2; i++) {
        rag_llm *llm = make(types[i], "m", NULL, 0, i ? NULL : TOKEN);
        rag_llm_result r;
        rag_err err = {0};
        char *log;
        ts_mock_reset(&mock);
        control("/_mock/chat", "{\"answers\":[\"vl [1].\"]}");
        assert_int_equal(rag_llm_chat(llm, bad, 2, NULL, NULL, NULL, &r, &err), RAG_OK);
        log = ts_mock_log(&mock);
        assert_non_null(strstr(log, "what is the vector length register"));
        assert_true(strstr(log, "\\ufffd") || strstr(log, "\xef\xbf\xbd"));
        rag_free(log);
        rag_llm_result_fini(&r);
        rag_llm_destroy(llm);
    }
}

/* Regression (issue 13, defect 3): an answer stream that never ends grew
 * the client until the timeout (977 MB), and under a memory limit the
 * failure read "stream event is not a JSON chunk". The answer is cut at
 * max_answer_bytes, a stream of events without text at max_stream_bytes,
 * each failing RAG_ELIMIT and naming its cap; both wire families. */
static void test_llm__endless_streams_are_cut_at_their_caps(void **state)
{
    const char *types[] = {"hf_providers", "ollama"};
    const char *paths[] = {"/v1/chat", "/api/chat"};
    (void)state;
    for (int i = 0; i < 2; i++) {
        rag_llm *llm;
        rag_llm_result r;
        rag_err err = {0};
        sink s = {RAG_BUF_INIT, 0};
        char faults[160];
        double t0;

        cap_answer = 50000;
        cap_stream = 0;
        llm = make(types[i], "m", NULL, 0, i ? NULL : TOKEN);
        ts_mock_reset(&mock);
        snprintf(faults, sizeof faults, "{\"faults\":[{\"fault\":\"endless;content=1000\","
                 "\"path\":\"%s\"}]}", paths[i]);
        ts_mock_faults(&mock, faults);
        t0 = rag_now_ms();
        assert_int_equal(rag_llm_chat(llm, MSGS, 2, NULL, on_tok, &s, &r, &err), RAG_ELIMIT);
        assert_true(rag_now_ms() - t0 < 3000);
        assert_int_equal(r.cls, RAG_NET_TOO_LARGE);
        assert_null(r.text);
        assert_true(s.text.len <= 50000);       /* nothing past the cap was delivered */
        assert_true(r.n_tokens_delivered >= 49 && r.n_tokens_delivered <= 50);
        assert_non_null(strstr(err.msg, "50000 bytes"));
        assert_non_null(strstr(err.msg, "max_answer_bytes"));
        assert_null(strstr(err.msg, "JSON"));
        assert_int_equal(ts_mock_count(&mock, paths[i]), 1); /* not retried */
        rag_llm_result_fini(&r);
        rag_buf_fini(&s.text);
        rag_llm_destroy(llm);

        /* events with no text: only the stream cap stops them */
        cap_answer = 0;
        cap_stream = 100000;
        llm = make(types[i], "m", NULL, 0, i ? NULL : TOKEN);
        ts_mock_reset(&mock);
        snprintf(faults, sizeof faults, "{\"faults\":[{\"fault\":\"endless;content=0\","
                 "\"path\":\"%s\"}]}", paths[i]);
        ts_mock_faults(&mock, faults);
        assert_int_equal(rag_llm_chat(llm, MSGS, 2, NULL, NULL, NULL, &r, &err), RAG_ELIMIT);
        assert_int_equal(r.cls, RAG_NET_TOO_LARGE);
        assert_non_null(strstr(err.msg, "100000 bytes"));
        assert_non_null(strstr(err.msg, "max_stream_bytes"));
        rag_llm_result_fini(&r);
        rag_llm_destroy(llm);
        cap_stream = 0;
    }
    ts_mock_reset(&mock);
}

static void test_llm__registry_maps_types(void **state)
{
    rag_backend_cfg b = {0};
    rag_llm *llm = (rag_llm *)1;
    rag_err err = {0};
    (void)state;
    b.name = (char *)"x";
    b.type = (char *)"extractive";
    assert_int_equal(rag_llm_create(&llm, &b, NULL, &err), RAG_ENOTFOUND);
    assert_null(llm);
    b.type = (char *)"tei";
    assert_int_equal(rag_llm_create(&llm, &b, NULL, &err), RAG_EINVAL);
    assert_non_null(strstr(err.msg, "tei"));
    b.type = (char *)"ollama";
    assert_int_equal(rag_llm_create(&llm, &b, NULL, &err), RAG_EINVAL); /* no model */
    b.model = (char *)"llama3.2";
    assert_int_equal(rag_llm_create(&llm, &b, NULL, &err), RAG_OK);
    assert_string_equal(llm->ops->name, "ollama");
    rag_llm_destroy(llm);
    b.type = (char *)"hf_providers";
    assert_int_equal(rag_llm_create(&llm, &b, NULL, &err), RAG_OK);
    assert_string_equal(llm->ops->name, "openai");
    rag_llm_destroy(llm);
}

static void test_llm__model_error_classification(void **state)
{
    (void)state;
    assert_true(rag_llm_model_error(404, NULL));
    assert_true(rag_llm_model_error(422, "{}"));
    assert_true(rag_llm_model_error(400, "{\"error\":{\"message\":\"The requested model 'x' "
                                         "is not supported by any provider\"}}"));
    assert_false(rag_llm_model_error(400, "{\"error\":\"messages is required\"}"));
    assert_false(rag_llm_model_error(401, "model not found"));
    assert_false(rag_llm_model_error(500, "model not found"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_llm__sse_reassembly_and_usage, reset),
        cmocka_unit_test_setup(test_llm__ollama_ndjson_reassembly_and_counts, reset),
        cmocka_unit_test_setup(test_llm__router_tries_next_model_on_model_errors, reset),
        cmocka_unit_test_setup(test_llm__non_model_4xx_does_not_try_other_models, reset),
        cmocka_unit_test_setup(test_llm__stream_cut_reports_tokens_already_delivered, reset),
        cmocka_unit_test_setup(test_llm__malformed_reply_is_an_error_not_a_crash, reset),
        cmocka_unit_test_setup(test_llm__secret_never_in_errors_or_logs, reset),
        cmocka_unit_test_setup(test_llm__invalid_utf8_in_a_message_is_replaced_not_dropped,
                               reset),
        cmocka_unit_test_setup(test_llm__endless_streams_are_cut_at_their_caps, reset),
        cmocka_unit_test(test_llm__registry_maps_types),
        cmocka_unit_test(test_llm__model_error_classification),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
