/* test_net_client.c - the HTTP client against tests/support/mock_api.py:
 * retry counts and waits, non-retryable statuses, server wait hints, the
 * circuit breaker, limits, and that no secret reaches a log or an error.
 *
 * Backoff sleeps go through a fake clock, so waits are asserted exactly and
 * cost no time; only the timeout tests spend real time (a few hundred ms).
 */
#include "test_support.h"
#include "mock_server.h"

#include "net/net.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TOKEN "s3cret-T0ken-value"

static ts_mock mock;

typedef struct {
    double now;
    double sleeps[64];
    int n_sleeps;
} fake_clock;

static double fc_now(void *ud)
{
    return ((fake_clock *)ud)->now;
}

static void fc_sleep(void *ud, double ms)
{
    fake_clock *c = ud;
    if (c->n_sleeps < 64)
        c->sleeps[c->n_sleeps++] = ms;
    c->now += ms;
}

/* every log line, to check for secrets */
static rag_buf logged = RAG_BUF_INIT;
static void capture_log(rag_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    rag_buf_puts(&logged, msg);
    rag_buf_putc(&logged, '\n');
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
    rag_buf_fini(&logged);
    return 0;
}

static int reset(void **state)
{
    (void)state;
    ts_mock_reset(&mock);
    return 0;
}

static rag_net_endpoint *make_ep(fake_clock *fc, const char *url, const char *token,
                                 void (*tweak)(rag_net_endpoint_opts *))
{
    rag_net_endpoint_opts o = rag_net_endpoint_default_opts();
    rag_net_endpoint *ep = NULL;
    rag_err err = {0};
    o.name = "tei-test";
    o.base_url = url ? url : mock.url;
    o.bearer = token;
    o.retry.base_ms = 100;
    o.retry.cap_ms = 1000;
    o.retry.max_server_wait_ms = 2000;
    o.total_timeout_ms = 5000;
    o.jitter_seed = 42;
    if (fc) {
        o.clock.now_ms = fc_now;
        o.clock.sleep_ms = fc_sleep;
        o.clock.userdata = fc;
    }
    if (tweak)
        tweak(&o);
    assert_int_equal(rag_net_endpoint_create(&ep, &o, &err), RAG_OK);
    return ep;
}

static int embed(rag_net_endpoint *ep, rag_net_response *r, rag_err *err,
                 const char *fault_header)
{
    const char *hdrs[] = {fault_header, NULL};
    rag_net_request req = {0};
    req.path = "/embed";
    req.body = "{\"inputs\":[\"hello world\",\"second\"]}";
    req.expect_json = 1;
    req.headers = fault_header ? hdrs : NULL;
    rag_net_response_init(r);
    return rag_net_request_do(ep, &req, r, err);
}

static void test_client__success_parses_json_and_sends_bearer(void **state)
{
    rag_net_endpoint *ep = make_ep(NULL, NULL, TOKEN, NULL);
    rag_net_response r;
    rag_err err = {0};
    char *log;
    (void)state;
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 1);
    assert_true(json_is_array(r.json));
    assert_int_equal(json_array_size(r.json), 2);
    assert_int_equal(json_array_size(json_array_get(r.json, 0)), 8);
    log = ts_mock_log(&mock);
    assert_non_null(strstr(log, "\"auth\": \"Bearer " TOKEN "\""));
    assert_null(strstr(log, "?" TOKEN)); /* never in the URL */
    rag_free(log);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__retries_503_then_succeeds(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, NULL);
    rag_net_response r;
    rag_err err = {0};
    rag_net_metrics m;
    (void)state;
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"503\",\"path\":\"/embed\",\"count\":2}]}");
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(ts_mock_count(&mock, "/embed"), 3);
    assert_int_equal(fc.n_sleeps, 2);
    /* full jitter: uniform(0, min(cap, base * 2^k)) */
    assert_true(fc.sleeps[0] >= 0 && fc.sleeps[0] <= 100);
    assert_true(fc.sleeps[1] >= 0 && fc.sleeps[1] <= 200);
    rag_net_endpoint_metrics(ep, &m);
    assert_int_equal(m.attempts, 3);
    assert_int_equal(m.retries, 2);
    assert_int_equal(m.successes, 1);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__persistent_500_gives_up_after_max_attempts(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, NULL);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    assert_int_equal(embed(ep, &r, &err, "X-Mock-Fault: 500"), RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_HTTP_5XX);
    assert_int_equal(r.attempts, 4);
    assert_int_equal(ts_mock_count(&mock, "/embed"), 4);
    assert_non_null(strstr(err.msg, "tei-test"));
    assert_non_null(strstr(err.msg, "HTTP 500"));
    assert_non_null(strstr(err.msg, "after 4 attempts"));
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__502_and_504_are_retried(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, NULL);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    ts_mock_faults(&mock, "{\"faults\":[\"502\",\"504\"]}");
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    assert_int_equal(r.attempts, 3);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__429_retry_after_is_honoured(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, NULL);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"429;retry_after=1\",\"count\":2}]}");
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(fc.n_sleeps, 2);
    assert_true(fc.sleeps[0] == 1000.0 && fc.sleeps[1] == 1000.0);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__429_retry_after_http_date_is_honoured(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, NULL);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    ts_mock_faults(&mock, "{\"faults\":[\"429;retry_after_date=2\"]}");
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    assert_int_equal(fc.n_sleeps, 1);
    /* an HTTP-date has 1 s resolution */
    assert_true(fc.sleeps[0] >= 900.0 && fc.sleeps[0] <= 2000.0);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__429_without_retry_after_backs_off(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, NULL);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    assert_int_equal(embed(ep, &r, &err, "X-Mock-Fault: 429"), RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_RATE_LIMITED);
    assert_int_equal(r.attempts, 4);
    assert_int_equal(fc.n_sleeps, 3);
    for (int i = 0; i < 3; i++)
        assert_true(fc.sleeps[i] >= 0 && fc.sleeps[i] <= 100.0 * (1 << i));
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__server_wait_hint_is_capped(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, NULL);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    ts_mock_faults(&mock, "{\"faults\":[\"429;retry_after=3600\"]}");
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    assert_int_equal(fc.n_sleeps, 1);
    assert_true(fc.sleeps[0] == 2000.0); /* max_server_wait_ms */
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__hf_classic_503_estimated_time_is_honoured(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, NULL);
    rag_net_response r;
    rag_net_request req = {0};
    rag_err err = {0};
    char url[128];
    (void)state;
    snprintf(url, sizeof url, "%s/_mock/loading", mock.url);
    assert_int_equal(ts_http("POST", url,
                             "{\"model\":\"sentence-transformers/all-MiniLM-L6-v2\",\"requests\":2}",
                             NULL), 200);
    req.path = "/models/sentence-transformers/all-MiniLM-L6-v2";
    req.body = "{\"inputs\":[\"a\",\"b\"]}";
    req.expect_json = 1;
    rag_net_response_init(&r);
    assert_int_equal(rag_net_request_do(ep, &req, &r, &err), RAG_OK);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(fc.n_sleeps, 2);
    assert_true(fc.sleeps[0] == 50.0 && fc.sleeps[1] == 50.0); /* estimated_time 0.05 s */
    assert_int_equal(json_array_size(r.json), 2);
    rag_net_response_fini(&r);

    /* a long estimate is capped */
    fc.n_sleeps = 0;
    ts_mock_faults(&mock, "{\"faults\":[\"503;estimated_time=500\"]}");
    rag_net_response_init(&r);
    assert_int_equal(rag_net_request_do(ep, &req, &r, &err), RAG_OK);
    assert_int_equal(fc.n_sleeps, 1);
    assert_true(fc.sleeps[0] == 2000.0);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__client_errors_are_never_retried(void **state)
{
    static const struct { const char *fault; long status; int rc; } cases[] = {
        {"X-Mock-Fault: 400", 400, RAG_EBACKEND},
        {"X-Mock-Fault: 401", 401, RAG_EBACKEND},
        {"X-Mock-Fault: 403", 403, RAG_EBACKEND},
        {"X-Mock-Fault: 404", 404, RAG_ENOTFOUND},
        {"X-Mock-Fault: 413", 413, RAG_EBACKEND},
        {"X-Mock-Fault: 422", 422, RAG_EBACKEND},
    };
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, NULL);
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rag_net_response r;
        rag_err err = {0};
        ts_mock_reset(&mock);
        assert_int_equal(embed(ep, &r, &err, cases[i].fault), cases[i].rc);
        assert_int_equal(r.status, cases[i].status);
        assert_int_equal(r.cls, RAG_NET_HTTP_4XX);
        assert_int_equal(r.attempts, 1);
        assert_int_equal(ts_mock_count(&mock, "/embed"), 1);
        rag_net_response_fini(&r);
    }
    assert_int_equal(fc.n_sleeps, 0);
    /* 4xx answers prove the server is up: the breaker stays closed */
    assert_int_equal(rag_net_endpoint_breaker(ep), RAG_NET_BREAKER_CLOSED);
    rag_net_endpoint_destroy(ep);
}

static void test_client__wrong_token_is_401_without_retry(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, "wrong-token-123", NULL);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_EBACKEND);
    assert_int_equal(r.status, 401);
    assert_int_equal(r.attempts, 1);
    assert_null(strstr(err.msg, "wrong-token-123"));
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__openai_quota_429_is_not_retried(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, NULL);
    rag_net_response r;
    rag_net_request req = {0};
    rag_err err = {0};
    const char *hdrs[] = {"X-Mock-Fault: 429;quota=1", NULL};
    (void)state;
    req.path = "/v1/embeddings";
    req.body = "{\"input\":[\"a\"],\"model\":\"m\"}";
    req.headers = hdrs;
    rag_net_response_init(&r);
    assert_int_equal(rag_net_request_do(ep, &req, &r, &err), RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_RATE_LIMITED);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.body.data, "insufficient_quota"));
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__malformed_json_is_a_format_error(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, NULL);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    assert_int_equal(embed(ep, &r, &err, "X-Mock-Fault: malformed"), RAG_EFORMAT);
    assert_int_equal(r.cls, RAG_NET_MALFORMED);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(err.msg, "not JSON"));
    assert_null(r.json);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__connection_refused_is_retried_then_fails(void **state)
{
    fake_clock fc = {0};
    char url[64];
    rag_net_endpoint *ep;
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ts_closed_port());
    ep = make_ep(&fc, url, TOKEN, NULL);
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_CONNECT);
    assert_int_equal(r.attempts, 4);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(err.msg, "tei-test"));
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__closed_connection_is_retried(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, NULL);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    ts_mock_faults(&mock, "{\"faults\":[\"close\",\"cut\"]}");
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(json_array_size(r.json), 2);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void short_timeout(rag_net_endpoint_opts *o)
{
    o->total_timeout_ms = 300;
}

static void test_client__slow_response_times_out_and_is_retried(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, short_timeout);
    rag_net_response r;
    rag_err err = {0};
    double t0 = rag_now_ms();
    (void)state;
    ts_mock_faults(&mock, "{\"faults\":[\"slow;ms=1500\"]}");
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    assert_int_equal(r.attempts, 2);
    assert_true(rag_now_ms() - t0 < 1400); /* did not wait for the slow answer */
    rag_net_response_fini(&r);
    rag_net_response_init(&r);
    assert_int_equal(embed(ep, &r, &err, "X-Mock-Fault: hang;ms=1500"), RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_TIMEOUT);
    assert_int_equal(r.attempts, 4);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void small_body(rag_net_endpoint_opts *o)
{
    o->max_body_bytes = 10000;
}

static void test_client__body_over_cap_is_a_limit_error(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, small_body);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    assert_int_equal(embed(ep, &r, &err, "X-Mock-Fault: big;bytes=100000"), RAG_ELIMIT);
    assert_int_equal(r.cls, RAG_NET_TOO_LARGE);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(err.msg, "tei-test"));
    assert_non_null(strstr(err.msg, "10000 bytes"));
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void breaker3(rag_net_endpoint_opts *o)
{
    o->breaker.consecutive_failures = 3;
    o->breaker.cooldown_ms = 5000;
    o->retry.max_attempts = 2;
}

static void test_client__breaker_opens_fails_fast_and_recovers(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, breaker3);
    rag_net_response r;
    rag_err err = {0};
    rag_net_metrics m;
    (void)state;
    /* call 1: 2 failing attempts; call 2: third failure opens the breaker,
     * so its retry is refused without touching the server */
    assert_int_equal(embed(ep, &r, &err, "X-Mock-Fault: 503"), RAG_EBACKEND);
    rag_net_response_fini(&r);
    assert_int_equal(rag_net_endpoint_breaker(ep), RAG_NET_BREAKER_CLOSED);
    assert_int_equal(embed(ep, &r, &err, "X-Mock-Fault: 503"), RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_BREAKER_OPEN);
    rag_net_response_fini(&r);
    assert_int_equal(ts_mock_count(&mock, "/embed"), 3);
    assert_int_equal(rag_net_endpoint_breaker(ep), RAG_NET_BREAKER_OPEN_STATE);
    assert_non_null(strstr(logged.data, "circuit breaker opened"));

    /* open: fails fast, nothing sent */
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_BREAKER_OPEN);
    assert_int_equal(r.attempts, 0);
    assert_non_null(strstr(err.msg, "circuit breaker open"));
    rag_net_response_fini(&r);
    assert_int_equal(ts_mock_count(&mock, "/embed"), 3);

    /* after the cool-down one probe goes through; success closes it */
    fc.now += 5000;
    assert_int_equal(rag_net_endpoint_breaker(ep), RAG_NET_BREAKER_HALF_OPEN);
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    rag_net_response_fini(&r);
    assert_int_equal(rag_net_endpoint_breaker(ep), RAG_NET_BREAKER_CLOSED);
    rag_net_endpoint_metrics(ep, &m);
    assert_int_equal(m.breaker_opens, 1);
    assert_int_equal(m.breaker_rejects, 2);
    rag_net_endpoint_destroy(ep);
}

static void test_client__failed_probe_reopens_breaker(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, breaker3);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    for (int i = 0; i < 2; i++) {
        embed(ep, &r, &err, "X-Mock-Fault: 500");
        rag_net_response_fini(&r);
    }
    assert_int_equal(rag_net_endpoint_breaker(ep), RAG_NET_BREAKER_OPEN_STATE);
    fc.now += 6000;
    ts_mock_reset(&mock);
    assert_int_equal(embed(ep, &r, &err, "X-Mock-Fault: 500"), RAG_EBACKEND);
    rag_net_response_fini(&r);
    assert_int_equal(ts_mock_count(&mock, "/embed"), 1); /* one probe only */
    assert_int_equal(rag_net_endpoint_breaker(ep), RAG_NET_BREAKER_OPEN_STATE);
    rag_net_endpoint_destroy(ep);
}

static void paced(rag_net_endpoint_opts *o)
{
    o->rate_per_s = 4;
    o->burst = 1;
}

static void test_client__rate_limiter_paces_requests(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, paced);
    rag_net_metrics m;
    (void)state;
    for (int i = 0; i < 3; i++) {
        rag_net_response r;
        rag_err err = {0};
        assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
        rag_net_response_fini(&r);
    }
    assert_int_equal(fc.n_sleeps, 2);
    assert_true(fabs(fc.sleeps[0] - 250.0) < 1e-6 && fabs(fc.sleeps[1] - 250.0) < 1e-6);
    rag_net_endpoint_metrics(ep, &m);
    assert_int_equal(m.rate_waits, 2);
    rag_net_endpoint_destroy(ep);
}

static void cap2(rag_net_endpoint_opts *o)
{
    o->max_in_flight = 2;
}

typedef struct {
    rag_net_endpoint *ep;
    int rc;
} worker;

static void *slow_worker(void *arg)
{
    worker *w = arg;
    rag_net_response r;
    rag_err err = {0};
    w->rc = embed(w->ep, &r, &err, "X-Mock-Fault: slow;ms=200");
    rag_net_response_fini(&r);
    return NULL;
}

static void test_client__in_flight_cap_queues_requests(void **state)
{
    rag_net_endpoint *ep = make_ep(NULL, NULL, TOKEN, cap2);
    pthread_t th[6];
    worker w[6];
    double t0 = rag_now_ms(), elapsed;
    (void)state;
    for (int i = 0; i < 6; i++) {
        w[i].ep = ep;
        pthread_create(&th[i], NULL, slow_worker, &w[i]);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, RAG_OK);
    }
    elapsed = rag_now_ms() - t0;
    /* 6 requests of 200 ms through 2 slots take at least 3 rounds */
    assert_true(elapsed >= 580);
    rag_net_endpoint_destroy(ep);
}

static void slow_rate(rag_net_endpoint_opts *o)
{
    o->rate_per_s = 0.1; /* one token per 10 s */
    o->burst = 1;
    o->retry.budget_ms = 1000;
}

static void test_client__rate_wait_beyond_budget_fails_without_waiting(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, slow_rate);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    rag_net_response_fini(&r);
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_BUDGET);
    assert_int_equal(r.attempts, 0);
    assert_int_equal(fc.n_sleeps, 0);
    assert_non_null(strstr(err.msg, "rate limit"));
    rag_net_response_fini(&r);
    assert_int_equal(ts_mock_count(&mock, "/embed"), 1);
    /* the refused reservation was returned: after 10 s a token is there */
    fc.now += 10000;
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    assert_int_equal(fc.n_sleeps, 0);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void one_slot_short_budget(rag_net_endpoint_opts *o)
{
    o->max_in_flight = 1;
    o->retry.budget_ms = 300;
}

static void *very_slow_worker(void *arg)
{
    worker *w = arg;
    rag_net_response r;
    rag_err err = {0};
    const char *hdrs[] = {"X-Mock-Fault: slow;ms=900", NULL};
    rag_net_request req = {0};
    req.path = "/embed";
    req.body = "{\"inputs\":[\"hello world\",\"second\"]}";
    req.expect_json = 1;
    req.headers = hdrs;
    req.deadline_ms = 5000; /* its own deadline: the endpoint's 300 ms would cut it */
    rag_net_response_init(&r);
    w->rc = rag_net_request_do(w->ep, &req, &r, &err);
    rag_net_response_fini(&r);
    return NULL;
}

static void test_client__in_flight_wait_beyond_budget_fails(void **state)
{
    rag_net_endpoint *ep = make_ep(NULL, NULL, TOKEN, one_slot_short_budget);
    pthread_t th;
    worker w = {ep, 0};
    rag_net_response r;
    rag_err err = {0};
    rag_net_metrics m;
    struct timespec ts = {0, 100 * 1000 * 1000};
    double t0, waited;
    (void)state;
    pthread_create(&th, NULL, very_slow_worker, &w); /* holds the only slot */
    for (int i = 0; i < 50; i++) {
        rag_net_endpoint_metrics(ep, &m);
        if (m.in_flight == 1)
            break;
        nanosleep(&ts, NULL);
    }
    assert_int_equal(m.in_flight, 1);
    t0 = rag_now_ms();
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_EBACKEND);
    waited = rag_now_ms() - t0;
    assert_int_equal(r.cls, RAG_NET_BUDGET);
    assert_int_equal(r.attempts, 0);
    assert_non_null(strstr(err.msg, "no request slot"));
    assert_true(waited >= 250 && waited < 850); /* gave up at the budget */
    rag_net_response_fini(&r);
    pthread_join(th, NULL);
    assert_int_equal(w.rc, RAG_OK);
    rag_net_endpoint_destroy(ep);
}

typedef struct {
    int n;
    int attempts[8];
    rag_net_class cls[8];
} hook_log;

static void hook(const rag_net_attempt *a, void *ud)
{
    hook_log *h = ud;
    if (h->n < 8) {
        h->attempts[h->n] = a->attempt;
        h->cls[h->n] = a->cls;
    }
    h->n++;
}

static hook_log hooks;
static void with_hook(rag_net_endpoint_opts *o)
{
    o->on_attempt = hook;
    o->hook_userdata = &hooks;
}

static void test_client__metrics_hook_sees_every_attempt(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep;
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    memset(&hooks, 0, sizeof hooks);
    ep = make_ep(&fc, NULL, TOKEN, with_hook);
    ts_mock_faults(&mock, "{\"faults\":[\"502\"]}");
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    assert_int_equal(hooks.n, 2);
    assert_int_equal(hooks.attempts[0], 1);
    assert_int_equal(hooks.cls[0], RAG_NET_HTTP_5XX);
    assert_int_equal(hooks.attempts[1], 2);
    assert_int_equal(hooks.cls[1], RAG_NET_OK);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void test_client__post_json_round_trip(void **state)
{
    rag_net_endpoint *ep = make_ep(NULL, NULL, TOKEN, NULL);
    json_t *body = json_pack("{s:s,s:[s,s,s]}", "query", "deep learning", "texts",
                             "cats", "deep learning is fun", "learning");
    json_t *out = NULL;
    rag_err err = {0};
    char *log;
    (void)state;
    assert_int_equal(rag_net_post_json(ep, "/rerank", body, &out, NULL, &err), RAG_OK);
    /* TEI: a bare array sorted by score, best first */
    assert_true(json_is_array(out));
    assert_int_equal(json_array_size(out), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "index")), 1);
    log = ts_mock_log(&mock);
    assert_non_null(strstr(log, "deep learning is fun")); /* body reached the server */
    rag_free(log);
    json_decref(out);
    out = NULL;
    assert_int_equal(rag_net_post_json(ep, "/nope", body, &out, NULL, &err), RAG_ENOTFOUND);
    assert_null(out);
    json_decref(body);
    rag_net_endpoint_destroy(ep);
}

static void test_client__placeholder_token_is_refused(void **state)
{
    rag_net_endpoint_opts o = rag_net_endpoint_default_opts();
    rag_net_endpoint *ep = NULL;
    rag_err err = {0};
    (void)state;
    o.base_url = mock.url;
    o.bearer = "${HF_TOKEN}";
    assert_int_equal(rag_net_endpoint_create(&ep, &o, &err), RAG_EINVAL);
    assert_null(ep);
}

static void no_breaker(rag_net_endpoint_opts *o)
{
    o->breaker.consecutive_failures = 0;
    o->breaker.error_rate = 0;
}

static void test_client__no_secret_in_any_log_or_error(void **state)
{
    static const char *faults[] = {
        "X-Mock-Fault: reflect;code=400", "X-Mock-Fault: reflect;code=503",
        "X-Mock-Fault: 401", "X-Mock-Fault: 500", "X-Mock-Fault: malformed",
        "X-Mock-Fault: 429",
    };
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, no_breaker);
    (void)state;
    rag_buf_clear(&logged);
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        rag_net_response r;
        rag_err err = {0};
        assert_true(embed(ep, &r, &err, faults[i]) < 0);
        assert_null(strstr(err.msg, TOKEN));
        assert_null(strstr(err.msg, "T0ken"));
        rag_net_response_fini(&r);
    }
    /* the reflecting server did echo it: the check above is not vacuous */
    {
        rag_net_response r;
        rag_err err = {0};
        embed(ep, &r, &err, "X-Mock-Fault: reflect;code=400");
        assert_non_null(r.body.data);
        assert_non_null(strstr(r.body.data, TOKEN));
        assert_non_null(strstr(err.msg, "rejected credentials"));
        rag_net_response_fini(&r);
    }
    /* the token straddling the 200-byte snippet cut: no head of it leaks */
    {
        rag_net_response r;
        rag_err err = {0};
        embed(ep, &r, &err, "X-Mock-Fault: reflect;code=400;pad=128");
        assert_null(strstr(err.msg, "s3cret"));
        assert_null(strstr(err.msg, "s3c"));
        assert_non_null(strstr(err.msg, "(token ")); /* the cut is right there */
        rag_net_response_fini(&r);
    }
    assert_non_null(logged.data);                 /* retries were logged */
    assert_null(strstr(logged.data, TOKEN));
    assert_null(strstr(logged.data, "T0ken"));
    rag_net_endpoint_destroy(ep);
}

static int count_events(const rag_net_event *ev, void *ud)
{
    (void)ev;
    (void)ud;
    return 0;
}

/* ---- one deadline per call (issue 13, defects 4 and 24) -------------------- */

static void two_second_deadline(rag_net_endpoint_opts *o)
{
    o->retry.budget_ms = 2000;
    o->retry.max_server_wait_ms = 30000;
}

/* Regression: a 429 with Retry-After: 3600 made each retry wait the capped
 * 30 s whatever the call's time was. A wait that would pass the deadline
 * fails at once, saying what the server asked. */
static void test_client__retry_after_past_the_deadline_fails_at_once(void **state)
{
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, TOKEN, two_second_deadline);
    rag_net_response r;
    rag_err err = {0};
    (void)state;
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"429;retry_after=3600\",\"count\":9}]}");
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_EBACKEND);
    assert_int_equal(r.cls, RAG_NET_RATE_LIMITED);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(fc.n_sleeps, 0);     /* no wait at all */
    assert_non_null(strstr(err.msg, "HTTP 429"));
    assert_non_null(strstr(err.msg, "3600 s"));
    assert_non_null(strstr(err.msg, "deadline of 2000 ms"));
    rag_net_response_fini(&r);
    /* a hint that fits is still honoured */
    ts_mock_reset(&mock);
    ts_mock_faults(&mock, "{\"faults\":[\"429;retry_after=1\"]}");
    assert_int_equal(embed(ep, &r, &err, NULL), RAG_OK);
    assert_int_equal(fc.n_sleeps, 1);
    assert_true(fc.sleeps[0] == 1000.0);
    rag_net_response_fini(&r);
    rag_net_endpoint_destroy(ep);
}

static void real_deadline(rag_net_endpoint_opts *o)
{
    o->retry.budget_ms = 700;
    o->retry.base_ms = 1;
    o->retry.cap_ms = 2;
    o->total_timeout_ms = 5000; /* each attempt alone could take 5 s */
    o->idle_timeout_ms = 30000;
    o->breaker.consecutive_failures = 0;
    o->breaker.error_rate = 0;
}

/* Regression: attempts ran their full timeout one after another; the
 * deadline cuts the attempt in progress, for plain requests and streams,
 * and leaves no further attempt. */
static void test_client__attempts_are_cut_to_the_deadline(void **state)
{
    rag_net_endpoint *ep = make_ep(NULL, NULL, TOKEN, real_deadline);
    rag_net_response r;
    rag_err err = {0};
    double t0 = rag_now_ms(), took;
    (void)state;
    assert_int_equal(embed(ep, &r, &err, "X-Mock-Fault: hang;ms=3000"), RAG_EBACKEND);
    took = rag_now_ms() - t0;
    assert_int_equal(r.cls, RAG_NET_TIMEOUT);
    assert_true(took >= 650 && took < 1500);
    assert_non_null(strstr(err.msg, "deadline of 700 ms"));
    rag_net_response_fini(&r);

    /* a stream that stalls after its first events, with a per-request deadline */
    {
        const char *hdrs[] = {"X-Mock-Fault: stall;after=2;ms=4000", NULL};
        rag_net_request req = {0};
        req.path = "/v1/chat/completions";
        req.body = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                   "\"content\":\"hi there\"}]}";
        req.stream = RAG_NET_STREAM_SSE;
        req.on_event = count_events;
        req.expect_done = 1;
        req.headers = hdrs;
        req.deadline_ms = 500;
        rag_net_response_init(&r);
        t0 = rag_now_ms();
        assert_true(rag_net_request_do(ep, &req, &r, &err) < 0);
        took = rag_now_ms() - t0;
        assert_true(took >= 450 && took < 1400);
        assert_int_equal(r.cls, RAG_NET_STREAM_CUT);
        assert_int_equal(r.attempts, 1);
        assert_non_null(strstr(err.msg, "deadline of 500 ms"));
        rag_net_response_fini(&r);
    }
    rag_net_endpoint_destroy(ep);
}

/* Regression (issue 13, defect 2): a server echoing the bearer JSON-escaped,
 * percent-encoded, cut short or as plain text. The mock really echoes it
 * (checked on the body); neither the error nor any log line has it. */
static void test_client__secret_echoed_in_any_form_is_never_in_errors_or_logs(void **state)
{
    static const char *faults[] = {
        "X-Mock-Fault: reflect;code=401;form=esc",
        "X-Mock-Fault: reflect;code=401;form=url",
        "X-Mock-Fault: reflect;code=401;form=part;n=12",
        "X-Mock-Fault: reflect;code=401;form=part;n=8",
        "X-Mock-Fault: reflect;code=401;form=raw",
        "X-Mock-Fault: reflect;code=503;form=esc",
        "X-Mock-Fault: reflect;code=400;pad=150",
    };
    static const char *echoed[] = {"abc\\/def", "abc%2Fdef", "abc/def+SECR", "abc/def+",
                                   "abc/def+SECRET", "abc\\/def", "abc/def+SECRET"};
    fake_clock fc = {0};
    rag_net_endpoint *ep = make_ep(&fc, NULL, "abc/def+SECRET/xyz==", no_breaker);
    (void)state;
    rag_buf_clear(&logged);
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        rag_net_response r;
        rag_err err = {0};
        assert_true(embed(ep, &r, &err, faults[i]) < 0);
        if (!r.body.data || !strstr(r.body.data, echoed[i]))
            fail_msg("%s: the mock did not echo the token", faults[i]);
        if (strstr(err.msg, "SECR") || strstr(err.msg, "abc/def") ||
            strstr(err.msg, "abc\\/") || strstr(err.msg, "abc%2"))
            fail_msg("%s: leaked into the error: %s", faults[i], err.msg);
        assert_non_null(strstr(err.msg, "HTTP "));   /* the status is kept */
        assert_true(strlen(err.msg) < sizeof err.msg - 1 || strstr(err.msg, "..."));
        rag_net_response_fini(&r);
    }
    assert_non_null(logged.data); /* the 503 was retried, and logged */
    assert_null(strstr(logged.data, "SECR"));
    assert_null(strstr(logged.data, "abc/def"));
    assert_null(strstr(logged.data, "abc\\/"));
    rag_net_endpoint_destroy(ep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_client__success_parses_json_and_sends_bearer, reset),
        cmocka_unit_test_setup(test_client__retries_503_then_succeeds, reset),
        cmocka_unit_test_setup(test_client__persistent_500_gives_up_after_max_attempts, reset),
        cmocka_unit_test_setup(test_client__502_and_504_are_retried, reset),
        cmocka_unit_test_setup(test_client__429_retry_after_is_honoured, reset),
        cmocka_unit_test_setup(test_client__429_retry_after_http_date_is_honoured, reset),
        cmocka_unit_test_setup(test_client__429_without_retry_after_backs_off, reset),
        cmocka_unit_test_setup(test_client__server_wait_hint_is_capped, reset),
        cmocka_unit_test_setup(test_client__hf_classic_503_estimated_time_is_honoured, reset),
        cmocka_unit_test_setup(test_client__client_errors_are_never_retried, reset),
        cmocka_unit_test_setup(test_client__wrong_token_is_401_without_retry, reset),
        cmocka_unit_test_setup(test_client__openai_quota_429_is_not_retried, reset),
        cmocka_unit_test_setup(test_client__malformed_json_is_a_format_error, reset),
        cmocka_unit_test_setup(test_client__connection_refused_is_retried_then_fails, reset),
        cmocka_unit_test_setup(test_client__closed_connection_is_retried, reset),
        cmocka_unit_test_setup(test_client__slow_response_times_out_and_is_retried, reset),
        cmocka_unit_test_setup(test_client__body_over_cap_is_a_limit_error, reset),
        cmocka_unit_test_setup(test_client__breaker_opens_fails_fast_and_recovers, reset),
        cmocka_unit_test_setup(test_client__failed_probe_reopens_breaker, reset),
        cmocka_unit_test_setup(test_client__rate_limiter_paces_requests, reset),
        cmocka_unit_test_setup(test_client__in_flight_cap_queues_requests, reset),
        cmocka_unit_test_setup(test_client__metrics_hook_sees_every_attempt, reset),
        cmocka_unit_test_setup(test_client__rate_wait_beyond_budget_fails_without_waiting, reset),
        cmocka_unit_test_setup(test_client__in_flight_wait_beyond_budget_fails, reset),
        cmocka_unit_test_setup(test_client__post_json_round_trip, reset),
        cmocka_unit_test_setup(test_client__placeholder_token_is_refused, reset),
        cmocka_unit_test_setup(test_client__no_secret_in_any_log_or_error, reset),
        cmocka_unit_test_setup(
            test_client__secret_echoed_in_any_form_is_never_in_errors_or_logs, reset),
        cmocka_unit_test_setup(test_client__retry_after_past_the_deadline_fails_at_once,
                               reset),
        cmocka_unit_test_setup(test_client__attempts_are_cut_to_the_deadline, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
