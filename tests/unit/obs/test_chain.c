/* test_chain.c - rag_chain_walk, the walker behind the embed, rerank and
 * LLM chains: skip rules and their order, call order, what falls through
 * (errors and results the check rejects) and what stops the walk, the
 * usage event of every attempt and skip, the notice text, the all-fail
 * error, and allocation failure while writing the notice. Members are
 * scripted callbacks; the open breaker is a real endpoint tripped by a
 * refused connection. */
#include "test_support.h"
#include "mock_server.h"

#include "config/config.h"
#include "obs/chain.h"
#include "obs/obs.h"

#include <stdio.h>
#include <string.h>

/* One scripted member: what its call returns and reports. */
typedef struct {
    int rc;                /* call's return */
    const char *msg;       /* call's message on failure */
    const char *cls;
    int retries;
    int64_t tokens_in, tokens_out;
    int stop;
    int bad;               /* check rejects its result */
    int n_calls;
    int n_fails;           /* on_fail calls */
} script;

typedef struct {
    script *s;
    int order[16];
    int n_order;
    int rewrite;           /* on_fail rewrites the message */
} walk_ctx;

static int s_call(void *ctx, size_t i, rag_chain_outcome *oc, rag_err *err)
{
    walk_ctx *w = ctx;
    script *s = &w->s[i];
    s->n_calls++;
    w->order[w->n_order++] = (int)i;
    oc->error_class = s->cls;
    oc->retries = s->retries;
    oc->tokens_in = s->tokens_in;
    oc->tokens_out = s->tokens_out;
    oc->stop = s->stop;
    if (s->rc < 0)
        return rag_fail(err, s->rc, "%s", s->msg ? s->msg : "");
    return RAG_OK;
}

static int s_check(void *ctx, size_t i, rag_err *err)
{
    walk_ctx *w = ctx;
    if (w->s[i].bad)
        return rag_fail(err, RAG_EFORMAT, "result %zu has a non-finite value", i);
    return RAG_OK;
}

static void s_on_fail(void *ctx, size_t i, int rc, rag_err *err)
{
    walk_ctx *w = ctx;
    (void)rc;
    w->s[i].n_fails++;
    if (w->rewrite)
        snprintf(err->msg, sizeof err->msg, "rewritten %zu", i);
}

static rag_config *cfg_budget(void)
{
    /* "paid": $1 per token, $1 a month */
    static const char yaml[] = "profile: local\nbackends:\n"
                               "  paid:\n    type: openai\n    model: m\n"
                               "    price_in_per_mtok: 1000000\n    monthly_budget_usd: 1\n";
    rag_config_source src = {0};
    rag_config *cfg = NULL;
    src.yaml_text = yaml;
    src.yaml_len = strlen(yaml);
    assert_int_equal(rag_config_load(&cfg, &src, NULL), RAG_OK);
    return cfg;
}

static rag_chain_walk_opts opts_for(walk_ctx *w, rag_usage *u)
{
    rag_chain_walk_opts o = {.stage = "test", .usage = u, .call = s_call, .check = s_check,
                             .on_fail = s_on_fail, .ctx = w};
    return o;
}

/* An endpoint on a closed port whose breaker opens after one failure. */
static rag_net_endpoint *open_breaker(void)
{
    rag_net_endpoint_opts eo = rag_net_endpoint_default_opts();
    rag_net_endpoint *ep = NULL;
    rag_net_request req;
    rag_net_response resp;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ts_closed_port());
    eo.name = "flaky";
    eo.base_url = url;
    eo.retry.max_attempts = 1;
    eo.breaker.consecutive_failures = 1;
    eo.breaker.cooldown_ms = 1e9;
    eo.breaker.half_open_probes = 1;
    assert_int_equal(rag_net_endpoint_create(&ep, &eo, NULL), RAG_OK);
    memset(&req, 0, sizeof req);
    req.path = "/";
    rag_net_response_init(&resp);
    assert_int_not_equal(rag_net_request_do(ep, &req, &resp, NULL), RAG_OK);
    rag_net_response_fini(&resp);
    assert_int_equal(rag_net_endpoint_breaker(ep), RAG_NET_BREAKER_OPEN_STATE);
    return ep;
}

static void test_chain__first_success_ends_the_walk_in_order(void **state)
{
    script s[3] = {{.rc = RAG_EBACKEND, .msg = "a: HTTP 500 Internal Server Error",
                    .cls = "http_5xx"},
                   {.rc = RAG_OK}, {.rc = RAG_OK}};
    rag_chain_member m[3] = {{"a", 1, 0, NULL}, {"b", 1, 0, NULL}, {"c", 1, 0, NULL}};
    walk_ctx w = {.s = s};
    rag_chain_walk_opts o = opts_for(&w, NULL);
    rag_chain_result res;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_chain_walk(&res, m, 3, &o, &err), RAG_OK);
    assert_int_equal(res.served, 1);
    assert_int_equal(w.n_order, 2);
    assert_int_equal(w.order[0], 0);
    assert_int_equal(w.order[1], 1);
    assert_int_equal(s[2].n_calls, 0);
    assert_int_equal(res.n_failed, 1);
    assert_int_equal(res.n_skipped, 0);
    assert_int_equal(s[0].n_fails, 1);
    /* the member's own "a: " prefix is not said twice */
    assert_string_equal(res.notice.data, "a: HTTP 500 Internal Server Error");
    assert_string_equal(err.msg, ""); /* untouched on success */
    rag_chain_result_fini(&res);
}

static void test_chain__skips_disabled_budget_and_open_circuit_without_calling(void **state)
{
    rag_config *cfg = cfg_budget();
    rag_usage *u = NULL;
    rag_usage_stats st;
    rag_usage_event spent = {.backend = "paid", .stage = "test", .ok = 1, .latency_ms = 5,
                             .tokens_in = 2};
    rag_net_endpoint *ep = open_breaker();
    script s[4] = {{0}, {0}, {0}, {.rc = RAG_OK, .retries = 1, .tokens_in = 7}};
    rag_chain_member m[4] = {{"off", 0, 0, NULL}, {"paid", 1, 0, NULL},
                             {"flaky", 1, 0, ep}, {"good", 1, 0, NULL}};
    walk_ctx w = {.s = s};
    rag_chain_walk_opts o;
    rag_chain_result res;
    const char *cls = "x";
    (void)state;
    assert_int_equal(rag_usage_open(&u, NULL, cfg, NULL), RAG_OK);
    rag_usage_record(u, &spent); /* $2 of a $1 budget */
    o = opts_for(&w, u);
    assert_int_equal(rag_chain_walk(&res, m, 4, &o, NULL), RAG_OK);
    assert_int_equal(res.served, 3);
    assert_int_equal(w.n_order, 1); /* only "good" was called */
    assert_int_equal(res.n_skipped, 3);
    assert_string_equal(res.notice.data,
                        "off: skipped (disabled: no usable token); "
                        "paid: skipped (monthly budget spent); flaky: skipped (circuit open)");
    /* disabled: nothing recorded; budget and breaker: a failure each,
     * fell_back since a member follows, not timed */
    assert_int_equal(rag_usage_get(u, "off", &st), RAG_ENOTFOUND);
    assert_int_equal(rag_usage_get(u, "paid", &st), RAG_OK);
    assert_int_equal(st.requests, 2);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.fallbacks, 1);
    assert_int_equal(rag_usage_errors(u, "paid", "budget"), 1);
    assert_int_equal(rag_usage_get(u, "flaky", &st), RAG_OK);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.fallbacks, 1);
    assert_float_equal(st.p50_ms, 0.0, 0); /* a skip has no latency */
    assert_int_equal(rag_usage_errors(u, "flaky", "breaker_open"), 1);
    assert_int_equal(rag_usage_get(u, "good", &st), RAG_OK);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.fallbacks, 0);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.tokens_in, 7);
    /* the same rule on its own, as the embed chain's dimension probe uses it */
    assert_string_equal(rag_chain_skip_reason(u, &m[2], &cls), "circuit open");
    assert_string_equal(cls, "breaker_open");
    assert_string_equal(rag_chain_skip_reason(u, &m[0], &cls), "disabled: no usable token");
    assert_null(cls);
    assert_null(rag_chain_skip_reason(u, &m[3], &cls));
    assert_null(rag_chain_skip_reason(NULL, &m[1], NULL)); /* no usage: no budgets */
    rag_chain_result_fini(&res);
    rag_usage_close(u);
    rag_net_endpoint_destroy(ep);
    rag_config_destroy(cfg);
}

static void test_chain__rejected_result_falls_through_as_malformed(void **state)
{
    script s[2] = {{.rc = RAG_OK, .bad = 1, .retries = 2}, {.rc = RAG_OK}};
    rag_chain_member m[2] = {{"nan", 1, 0, NULL}, {"fine", 1, 0, NULL}};
    walk_ctx w = {.s = s};
    rag_usage *u = NULL;
    rag_usage_stats st;
    rag_chain_walk_opts o;
    rag_chain_result res;
    (void)state;
    assert_int_equal(rag_usage_open(&u, NULL, NULL, NULL), RAG_OK);
    o = opts_for(&w, u);
    assert_int_equal(rag_chain_walk(&res, m, 2, &o, NULL), RAG_OK);
    assert_int_equal(res.served, 1);
    assert_int_equal(s[0].n_fails, 1);
    assert_string_equal(res.notice.data, "nan: result 0 has a non-finite value");
    assert_int_equal(rag_usage_errors(u, "nan", "malformed"), 1);
    assert_int_equal(rag_usage_get(u, "nan", &st), RAG_OK);
    assert_int_equal(st.fallbacks, 1);
    assert_int_equal(st.retries, 2);
    rag_chain_result_fini(&res);
    rag_usage_close(u);
}

static void test_chain__all_fail_is_one_error_naming_each(void **state)
{
    script s[3] = {{.rc = RAG_EBACKEND, .msg = "timeout after 300 ms", .cls = "timeout"},
                   {.rc = RAG_EFORMAT, .msg = "second /embed: 3 embeddings for 2 texts",
                    .cls = "malformed"},
                   {.rc = RAG_EBACKEND}};
    rag_chain_member m[3] = {{"first", 1, 0, NULL}, {"second", 1, 0, NULL},
                             {"third", 1, 0, NULL}};
    walk_ctx w = {.s = s};
    rag_usage *u = NULL;
    rag_usage_stats st;
    rag_chain_walk_opts o;
    rag_chain_result res;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_usage_open(&u, NULL, NULL, NULL), RAG_OK);
    o = opts_for(&w, u);
    assert_int_equal(rag_chain_walk(&res, m, 3, &o, &err), RAG_EBACKEND);
    assert_int_equal(err.code, RAG_EBACKEND);
    assert_int_equal(res.served, -1);
    assert_int_equal(res.n_failed, 3);
    /* a member without a message is named with its status */
    assert_string_equal(err.msg, "chains.test: no back-end answered (first: timeout after "
                                 "300 ms; second: /embed: 3 embeddings for 2 texts; third: "
                                 "back-end failure)");
    /* fell_back only where a member followed; no class given: "error" */
    assert_int_equal(rag_usage_get(u, "second", &st), RAG_OK);
    assert_int_equal(st.fallbacks, 1);
    assert_int_equal(rag_usage_get(u, "third", &st), RAG_OK);
    assert_int_equal(st.fallbacks, 0);
    assert_int_equal(rag_usage_errors(u, "third", "error"), 1);
    assert_int_equal(rag_usage_errors(u, "first", "timeout"), 1);
    rag_chain_result_fini(&res);
    /* nothing to try */
    assert_int_equal(rag_chain_walk(&res, m, 0, &o, &err), RAG_EBACKEND);
    assert_string_equal(err.msg, "chains.test: no back-end answered (empty chain)");
    rag_chain_result_fini(&res);
    rag_usage_close(u);
}

static void test_chain__stop_enomem_and_builtin_failure_end_the_walk(void **state)
{
    rag_chain_member m[2] = {{"a", 1, 0, NULL}, {"b", 1, 0, NULL}};
    rag_chain_member bm[2] = {{"extractive", 1, 1, NULL}, {"b", 1, 0, NULL}};
    rag_usage *u = NULL;
    rag_usage_stats st;
    (void)state;
    assert_int_equal(rag_usage_open(&u, NULL, NULL, NULL), RAG_OK);
    for (int k = 0; k < 3; k++) {
        script s[2] = {{.rc = RAG_EBACKEND, .msg = "answer stopped by the caller",
                        .cls = "cancelled", .stop = 1},
                       {.rc = RAG_OK}};
        walk_ctx w = {.s = s};
        rag_chain_walk_opts o = opts_for(&w, u);
        rag_chain_result res;
        rag_err err = {0};
        if (k == 1) {
            s[0].rc = RAG_ENOMEM;
            s[0].msg = "out of memory";
            s[0].cls = NULL;
            s[0].stop = 0;
        }
        if (k == 2) {
            s[0].rc = RAG_EIO;
            s[0].msg = "t.db: disk I/O error";
            s[0].stop = 0;
        }
        assert_int_equal(rag_chain_walk(&res, k == 2 ? bm : m, 2, &o, &err), s[0].rc);
        assert_string_equal(err.msg, s[0].msg); /* the member's own error */
        assert_int_equal(err.code, s[0].rc);
        assert_int_equal(s[1].n_calls, 0);
        assert_int_equal(s[0].n_fails, 1);
        rag_chain_result_fini(&res);
    }
    /* the stopped attempt is recorded, without fell_back; the built-in not */
    assert_int_equal(rag_usage_get(u, "a", &st), RAG_OK);
    assert_int_equal(st.requests, 2);
    assert_int_equal(st.fallbacks, 0);
    assert_int_equal(rag_usage_errors(u, "a", "cancelled"), 1);
    assert_int_equal(rag_usage_get(u, "extractive", &st), RAG_ENOTFOUND);
    rag_usage_close(u);
}

static void test_chain__builtin_is_never_skipped_nor_recorded(void **state)
{
    rag_config *cfg = cfg_budget();
    rag_usage *u = NULL;
    rag_usage_stats st;
    rag_usage_event spent = {.backend = "paid", .stage = "test", .ok = 1, .tokens_in = 2};
    script s[1] = {{.rc = RAG_OK}};
    /* a built-in that happens to share a spent back-end's name */
    rag_chain_member m[1] = {{"paid", 0, 1, NULL}};
    walk_ctx w = {.s = s};
    rag_chain_walk_opts o;
    rag_chain_result res;
    (void)state;
    assert_int_equal(rag_usage_open(&u, NULL, cfg, NULL), RAG_OK);
    rag_usage_record(u, &spent);
    o = opts_for(&w, u);
    assert_int_equal(rag_chain_walk(&res, m, 1, &o, NULL), RAG_OK);
    assert_int_equal(res.served, 0);
    assert_int_equal(res.notice.len, 0);
    assert_int_equal(rag_usage_get(u, "paid", &st), RAG_OK);
    assert_int_equal(st.requests, 1); /* only the spending call */
    rag_chain_result_fini(&res);
    rag_usage_close(u);
    rag_config_destroy(cfg);
}

static void test_chain__on_fail_may_rewrite_the_noted_message(void **state)
{
    script s[2] = {{.rc = RAG_EBACKEND, .msg = "cut"}, {.rc = RAG_OK}};
    rag_chain_member m[2] = {{"a", 1, 0, NULL}, {"b", 1, 0, NULL}};
    walk_ctx w = {.s = s, .rewrite = 1};
    rag_chain_walk_opts o = opts_for(&w, NULL);
    rag_chain_result res;
    (void)state;
    o.check = NULL;
    assert_int_equal(rag_chain_walk(&res, m, 2, &o, NULL), RAG_OK);
    assert_string_equal(res.notice.data, "a: rewritten 0");
    rag_chain_result_fini(&res);
}

static rag_buf logged = RAG_BUF_INIT;
static void capture_log(rag_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    rag_buf_puts(&logged, msg);
    rag_buf_putc(&logged, '\n');
}

/* log_fall_through (embed, rerank) logs each fall-through, not the last
 * failure (nothing follows it) and not a skip; and outcome_from_call
 * copies a member's call info. */
static void test_chain__logs_each_fall_through_when_asked(void **state)
{
    script s[3] = {{0}, {.rc = RAG_EBACKEND, .msg = "down"}, {.rc = RAG_EBACKEND,
                                                              .msg = "also down"}};
    rag_chain_member m[3] = {{"off", 0, 0, NULL}, {"a", 1, 0, NULL}, {"b", 1, 0, NULL}};
    walk_ctx w = {.s = s};
    rag_chain_walk_opts o = opts_for(&w, NULL);
    rag_chain_result res;
    rag_chain_outcome oc = {0};
    rag_call_info info = {.retries = 2, .error_class = "timeout", .tokens_in = 5};
    (void)state;
    o.log_fall_through = 1;
    rag_log_set(capture_log, NULL);
    assert_int_equal(rag_chain_walk(&res, m, 3, &o, NULL), RAG_EBACKEND);
    rag_log_set(NULL, NULL);
    assert_string_equal(logged.data, "chains.test: 'a' failed (down); trying 'b'\n");
    rag_buf_fini(&logged);
    rag_chain_result_fini(&res);
    rag_chain_outcome_from_call(&oc, &info, RAG_OK);
    assert_int_equal(oc.retries, 2);
    assert_int_equal(oc.tokens_in, 5);
    assert_null(oc.error_class); /* a success has no class */
    rag_chain_outcome_from_call(&oc, &info, RAG_EBACKEND);
    assert_string_equal(oc.error_class, "timeout");
    rag_chain_outcome_from_call(&oc, NULL, RAG_EBACKEND); /* local: nothing to copy */
}

/* Every allocation of the walk fails in turn: RAG_ENOMEM or RAG_OK, never
 * a crash or a leak (ASan). */
static void test_chain__allocation_failure_while_writing_the_notice(void **state)
{
    rag_chain_member m[3] = {{"off", 0, 0, NULL}, {"a", 1, 0, NULL}, {"b", 1, 0, NULL}};
    (void)state;
    for (long n = 0; n < 20; n++) {
        script s[3] = {{0}, {.rc = RAG_EBACKEND, .msg = "down"}, {.rc = RAG_OK}};
        walk_ctx w = {.s = s};
        rag_chain_walk_opts o = opts_for(&w, NULL);
        rag_chain_result res;
        rag_err err = {0};
        int rc;
        ts_fail_alloc_after(n);
        rc = rag_chain_walk(&res, m, 3, &o, &err);
        ts_fail_alloc_after(-1);
        if (rc == RAG_OK) {
            assert_string_equal(res.notice.data,
                                "off: skipped (disabled: no usable token); a: down");
            rag_chain_result_fini(&res);
            return;
        }
        assert_int_equal(rc, RAG_ENOMEM);
        rag_chain_result_fini(&res);
    }
    fail_msg("the walk never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain__first_success_ends_the_walk_in_order),
        cmocka_unit_test(test_chain__skips_disabled_budget_and_open_circuit_without_calling),
        cmocka_unit_test(test_chain__rejected_result_falls_through_as_malformed),
        cmocka_unit_test(test_chain__all_fail_is_one_error_naming_each),
        cmocka_unit_test(test_chain__stop_enomem_and_builtin_failure_end_the_walk),
        cmocka_unit_test(test_chain__builtin_is_never_skipped_nor_recorded),
        cmocka_unit_test(test_chain__on_fail_may_rewrite_the_noted_message),
        cmocka_unit_test(test_chain__logs_each_fall_through_when_asked),
        cmocka_unit_test(test_chain__allocation_failure_while_writing_the_notice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
