/* test_net_stream.c - SSE (OpenAI-compatible chat) and NDJSON (Ollama chat)
 * streams against the mock: reassembly, end markers, cuts, idle timeout,
 * mid-stream errors, and many concurrent streams. */
#include "test_support.h"
#include "mock_server.h"

#include "net/net.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TOKEN "stream-secret-42"

static ts_mock mock;

static int setup(void **state)
{
    static const char *const args[] = {"--token", TOKEN, "--stream-delay-ms", "5", NULL};
    (void)state;
    ts_mock_start(&mock, args);
    rag_log_set_level(RAG_LOG_ERROR);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_mock_stop(&mock);
    return 0;
}

static int reset(void **state)
{
    (void)state;
    ts_mock_reset(&mock);
    return 0;
}

static void fast_opts(rag_net_endpoint_opts *o)
{
    o->retry.base_ms = 1;
    o->retry.cap_ms = 5;
    o->idle_timeout_ms = 400;
}

static rag_net_endpoint *make_ep(void)
{
    rag_net_endpoint_opts o = rag_net_endpoint_default_opts();
    rag_net_endpoint *ep = NULL;
    rag_err err = {0};
    o.name = "llm-test";
    o.base_url = mock.url;
    o.bearer = TOKEN;
    fast_opts(&o);
    assert_int_equal(rag_net_endpoint_create(&ep, &o, &err), RAG_OK);
    return ep;
}

typedef struct {
    rag_buf text;       /* reassembled content */
    int n_events;
    int n_done;
    int saw_usage;
    int stop_after;     /* 0 = never */
} collector;

static int on_openai(const rag_net_event *ev, void *ud)
{
    collector *c = ud;
    json_t *choices, *delta, *content;
    c->n_events++;
    if (ev->done) {
        c->n_done++;
        return 0;
    }
    assert_non_null(ev->json);
    if (json_object_get(ev->json, "usage"))
        c->saw_usage = 1;
    choices = json_object_get(ev->json, "choices");
    if (json_array_size(choices) > 0 &&
        (delta = json_object_get(json_array_get(choices, 0), "delta")) &&
        json_is_string(content = json_object_get(delta, "content")))
        rag_buf_puts(&c->text, json_string_value(content));
    return c->stop_after && c->n_events >= c->stop_after;
}

static int on_ollama(const rag_net_event *ev, void *ud)
{
    collector *c = ud;
    json_t *msg = json_object_get(ev->json, "message");
    c->n_events++;
    if (json_is_true(json_object_get(ev->json, "done")))
        c->n_done++;
    if (json_is_string(json_object_get(msg, "content")))
        rag_buf_puts(&c->text, json_string_value(json_object_get(msg, "content")));
    return 0;
}

static const char CHAT_BODY[] =
    "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
    "\"messages\":[{\"role\":\"user\",\"content\":\"what is the RISC-V vector extension\"}]}";
static const char EXPECT[] = "Echo: what is the RISC-V vector extension";

static int chat_sse(rag_net_endpoint *ep, collector *c, rag_net_response *r,
                    rag_err *err, const char *fault)
{
    const char *hdrs[] = {fault, NULL};
    rag_net_request req = {0};
    req.path = "/v1/chat/completions";
    req.body = CHAT_BODY;
    req.stream = RAG_NET_STREAM_SSE;
    req.on_event = on_openai;
    req.userdata = c;
    req.expect_done = 1;
    req.headers = fault ? hdrs : NULL;
    rag_net_response_init(r);
    return rag_net_request_do(ep, &req, r, err);
}

static void test_stream__sse_chat_reassembles_and_ends_with_done(void **state)
{
    rag_net_endpoint *ep = make_ep();
    collector c = {RAG_BUF_INIT, 0, 0, 0, 0};
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    assert_int_equal(chat_sse(ep, &c, &r, &err, NULL), RAG_OK);
    assert_string_equal(c.text.data, EXPECT);
    assert_int_equal(c.n_done, 1);
    assert_true(c.saw_usage);
    /* role chunk + 7 words + finish + usage + [DONE]; the ": ping" comment is
     * not an event */
    assert_int_equal(c.n_events, 11);
    assert_int_equal((int)r.n_events, 11);
    assert_non_null(strstr(r.content_type, "text/event-stream"));
    {
        rag_net_metrics m;
        rag_net_endpoint_metrics(ep, &m);
        assert_int_equal(m.attempts, 1);
        assert_true(m.bytes_in > 11 * 6); /* every event is > 6 bytes on the wire */
    }
    rag_buf_fini(&c.text);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_stream__ndjson_chat_reassembles_until_done(void **state)
{
    rag_net_endpoint *ep = make_ep();
    collector c = {RAG_BUF_INIT, 0, 0, 0, 0};
    rag_net_response r;
    rag_net_request req = {0};
    rag_err err = {0};
    (void)state;
    req.path = "/api/chat";
    req.body = "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\","
               "\"content\":\"what is the RISC-V vector extension\"}]}";
    req.stream = RAG_NET_STREAM_NDJSON;
    req.on_event = on_ollama;
    req.userdata = &c;
    req.expect_done = 1;
    rag_net_response_init(&r);
    assert_int_equal(rag_net_request_do(ep, &req, &r, &err), RAG_OK);
    assert_string_equal(c.text.data, EXPECT);
    assert_int_equal(c.n_done, 1);
    assert_int_equal(c.n_events, 8); /* 7 words + the done line */
    rag_buf_fini(&c.text);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_stream__cut_midway_is_reported_not_retried(void **state)
{
    rag_net_endpoint *ep = make_ep();
    collector c = {RAG_BUF_INIT, 0, 0, 0, 0};
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    assert_int_equal(chat_sse(ep, &c, &r, &err, "X-Mock-Fault: cut;after=4"), RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_STREAM_CUT);
    assert_int_equal(r.attempts, 1); /* events were delivered: no replay */
    assert_int_equal(c.n_events, 3);  /* pieces 1..3 (piece 0 is the comment) */
    assert_int_equal(c.n_done, 0);
    assert_int_equal(ts_mock_count(&mock, "/v1/chat"), 1);
    assert_non_null(strstr(err.msg, "llm-test"));
    rag_buf_fini(&c.text);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_stream__cut_before_any_event_is_retried(void **state)
{
    rag_net_endpoint *ep = make_ep();
    collector c = {RAG_BUF_INIT, 0, 0, 0, 0};
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    ts_mock_faults(&mock, "{\"faults\":[\"cut;after=0\",\"503\",\"429\"]}");
    assert_int_equal(chat_sse(ep, &c, &r, &err, NULL), RAG_OK);
    assert_int_equal(r.attempts, 4);
    assert_string_equal(c.text.data, EXPECT);
    rag_buf_fini(&c.text);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_stream__idle_stream_times_out(void **state)
{
    rag_net_endpoint *ep = make_ep();
    collector c = {RAG_BUF_INIT, 0, 0, 0, 0};
    rag_net_response r;
    rag_err err = {0};
    double t0 = rag_now_ms();
    (void)state;
    assert_int_equal(chat_sse(ep, &c, &r, &err, "X-Mock-Fault: stall;after=3;ms=4000"),
                     RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_STREAM_CUT);
    assert_non_null(strstr(err.msg, "idle"));
    assert_int_equal(c.n_events, 2);
    assert_true(rag_now_ms() - t0 < 3000); /* idle 400 ms, checked ~1/s */
    rag_buf_fini(&c.text);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_stream__error_line_mid_stream_is_a_remote_error(void **state)
{
    rag_net_endpoint *ep = make_ep();
    collector c = {RAG_BUF_INIT, 0, 0, 0, 0};
    rag_net_response r;
    rag_net_request req = {0};
    rag_err err = {0};
    const char *hdrs[] = {"X-Mock-Fault: error_line;after=2", NULL};
    (void)state;
    req.path = "/api/chat";
    req.body = "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"a b c d\"}]}";
    req.stream = RAG_NET_STREAM_NDJSON;
    req.on_event = on_ollama;
    req.userdata = &c;
    req.headers = hdrs;
    rag_net_response_init(&r);
    assert_int_equal(rag_net_request_do(ep, &req, &r, &err), RAG_EBACKEND);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.cls, RAG_NET_REMOTE_ERROR);
    assert_non_null(strstr(err.msg, "the model failed to generate a response"));
    assert_int_equal(c.n_events, 2);
    rag_buf_fini(&c.text);
    rag_net_response_fini(&r);

    /* same on SSE */
    memset(&c, 0, sizeof c);
    assert_int_equal(chat_sse(ep, &c, &r, &err, "X-Mock-Fault: error_line;after=3"),
                     RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_REMOTE_ERROR);
    assert_non_null(strstr(err.msg, "mock failure mid-stream"));
    rag_buf_fini(&c.text);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_stream__callback_can_cancel(void **state)
{
    rag_net_endpoint *ep = make_ep();
    collector c = {RAG_BUF_INIT, 0, 0, 0, 2};
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    assert_int_equal(chat_sse(ep, &c, &r, &err, NULL), RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_CANCELLED);
    assert_int_equal(c.n_events, 2);
    assert_int_equal(r.attempts, 1);
    rag_buf_fini(&c.text);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_stream__error_status_before_stream_keeps_body(void **state)
{
    rag_net_endpoint *ep = make_ep();
    collector c = {RAG_BUF_INIT, 0, 0, 0, 0};
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    assert_int_equal(chat_sse(ep, &c, &r, &err, "X-Mock-Fault: 400"), RAG_EBACKEND);
    assert_int_equal(r.status, 400);
    assert_int_equal(c.n_events, 0);
    assert_non_null(strstr(r.body.data, "invalid_request_error"));
    rag_buf_fini(&c.text);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

#define N_STREAMS 16

typedef struct {
    rag_net_endpoint *ep;
    int rc;
    collector c;
} stream_worker;

static void *stream_thread(void *arg)
{
    stream_worker *w = arg;
    rag_net_response r;
    rag_err err = {0};
    w->rc = chat_sse(w->ep, &w->c, &r, &err, NULL);
    rag_net_response_fini(&r);
    return NULL;
}

static void test_stream__concurrent_streams_do_not_block_each_other(void **state)
{
    rag_net_endpoint *ep = make_ep();
    static stream_worker w[N_STREAMS];
    pthread_t th[N_STREAMS];
    collector one = {RAG_BUF_INIT, 0, 0, 0, 0};
    rag_net_response r;
    rag_err err = {0};
    double t0, t_one, t_all;
    (void)state;
    t0 = rag_now_ms();
    assert_int_equal(chat_sse(ep, &one, &r, &err, "X-Mock-Fault: slow;ms=0"), RAG_OK);
    t_one = rag_now_ms() - t0;
    rag_net_response_fini(&r);
    rag_buf_fini(&one.text);

    t0 = rag_now_ms();
    for (int i = 0; i < N_STREAMS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].ep = ep;
        pthread_create(&th[i], NULL, stream_thread, &w[i]);
    }
    for (int i = 0; i < N_STREAMS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, RAG_OK);
        assert_string_equal(w[i].c.text.data, EXPECT);
        rag_buf_fini(&w[i].c.text);
    }
    t_all = rag_now_ms() - t0;
    /* serialised streams would take N_STREAMS * t_one */
    assert_true(t_all < t_one * N_STREAMS / 2);
    rag_net_endpoint_destroy(ep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_stream__sse_chat_reassembles_and_ends_with_done, reset),
        cmocka_unit_test_setup(test_stream__ndjson_chat_reassembles_until_done, reset),
        cmocka_unit_test_setup(test_stream__cut_midway_is_reported_not_retried, reset),
        cmocka_unit_test_setup(test_stream__cut_before_any_event_is_retried, reset),
        cmocka_unit_test_setup(test_stream__idle_stream_times_out, reset),
        cmocka_unit_test_setup(test_stream__error_line_mid_stream_is_a_remote_error, reset),
        cmocka_unit_test_setup(test_stream__callback_can_cancel, reset),
        cmocka_unit_test_setup(test_stream__error_status_before_stream_keeps_body, reset),
        cmocka_unit_test_setup(test_stream__concurrent_streams_do_not_block_each_other, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
