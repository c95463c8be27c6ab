/* test_net_resilience.c - circuit breaker and token bucket state machines,
 * driven by an explicit clock (no sleeping). */
#include "test_support.h"

#include "net/net_internal.h"

#include <math.h>

static rag_net_breaker_policy policy(void)
{
    rag_net_breaker_policy p = {0};
    p.consecutive_failures = 3;
    p.error_rate = 0;
    p.min_requests = 10;
    p.window_ms = 10000;
    p.cooldown_ms = 1000;
    p.half_open_probes = 1;
    return p;
}

static void test_breaker__opens_after_consecutive_failures(void **state)
{
    rag_net_breaker_policy p = policy();
    rag_breaker b;
    int probe;
    (void)state;
    rag_breaker_init(&b, &p);
    assert_true(rag_breaker_allow(&b, 0, &probe));
    assert_int_equal(rag_breaker_record(&b, 0, RAG_BREAKER_FAILURE, probe), 0);
    assert_int_equal(rag_breaker_record(&b, 1, RAG_BREAKER_FAILURE, 0), 0);
    /* a success resets the run */
    assert_int_equal(rag_breaker_record(&b, 2, RAG_BREAKER_SUCCESS, 0), 0);
    assert_int_equal(rag_breaker_record(&b, 3, RAG_BREAKER_FAILURE, 0), 0);
    assert_int_equal(rag_breaker_record(&b, 4, RAG_BREAKER_FAILURE, 0), 0);
    assert_int_equal(b.state, RAG_NET_BREAKER_CLOSED);
    assert_int_equal(rag_breaker_record(&b, 5, RAG_BREAKER_FAILURE, 0), 1);
    assert_int_equal(b.state, RAG_NET_BREAKER_OPEN_STATE);
    assert_false(rag_breaker_allow(&b, 500, &probe));
    assert_false(rag_breaker_allow(&b, 1004, &probe));
}

static void test_breaker__half_open_probe_success_closes(void **state)
{
    rag_net_breaker_policy p = policy();
    rag_breaker b;
    int probe, probe2;
    (void)state;
    rag_breaker_init(&b, &p);
    for (int i = 0; i < 3; i++)
        rag_breaker_record(&b, 0, RAG_BREAKER_FAILURE, 0);
    assert_true(rag_breaker_allow(&b, 1000, &probe));
    assert_true(probe);
    assert_int_equal(b.state, RAG_NET_BREAKER_HALF_OPEN);
    /* only one probe at a time */
    assert_false(rag_breaker_allow(&b, 1001, &probe2));
    assert_int_equal(rag_breaker_record(&b, 1002, RAG_BREAKER_SUCCESS, probe), 0);
    assert_int_equal(b.state, RAG_NET_BREAKER_CLOSED);
    assert_true(rag_breaker_allow(&b, 1003, &probe2));
    assert_false(probe2);
}

static void test_breaker__half_open_probe_failure_reopens(void **state)
{
    rag_net_breaker_policy p = policy();
    rag_breaker b;
    int probe;
    (void)state;
    rag_breaker_init(&b, &p);
    for (int i = 0; i < 3; i++)
        rag_breaker_record(&b, 0, RAG_BREAKER_FAILURE, 0);
    assert_true(rag_breaker_allow(&b, 1500, &probe));
    assert_int_equal(rag_breaker_record(&b, 1600, RAG_BREAKER_FAILURE, probe), 1);
    assert_int_equal(b.state, RAG_NET_BREAKER_OPEN_STATE);
    /* the cool-down restarts from the failed probe */
    assert_false(rag_breaker_allow(&b, 2500, &probe));
    assert_true(rag_breaker_allow(&b, 2600, &probe));
}

static void test_breaker__neutral_probe_frees_the_slot(void **state)
{
    rag_net_breaker_policy p = policy();
    rag_breaker b;
    int probe;
    (void)state;
    rag_breaker_init(&b, &p);
    for (int i = 0; i < 3; i++)
        rag_breaker_record(&b, 0, RAG_BREAKER_FAILURE, 0);
    assert_true(rag_breaker_allow(&b, 1000, &probe));
    rag_breaker_record(&b, 1000, RAG_BREAKER_NEUTRAL, probe);
    assert_int_equal(b.state, RAG_NET_BREAKER_HALF_OPEN);
    assert_true(rag_breaker_allow(&b, 1001, &probe));
}

static void test_breaker__error_rate_over_window_opens(void **state)
{
    rag_net_breaker_policy p = policy();
    rag_breaker b;
    uint32_t n_fail, n_total;
    (void)state;
    p.consecutive_failures = 0;
    p.error_rate = 0.5;
    p.min_requests = 10;
    rag_breaker_init(&b, &p);
    /* alternate: 50% failures never exceeds 0.5 */
    for (int i = 0; i < 20; i++)
        assert_int_equal(rag_breaker_record(&b, i * 10,
                         i % 2 ? RAG_BREAKER_FAILURE : RAG_BREAKER_SUCCESS, 0), 0);
    rag_breaker_window(&b, 200, &n_fail, &n_total);
    assert_int_equal(n_total, 20);
    assert_int_equal(n_fail, 10);
    assert_int_equal(rag_breaker_record(&b, 210, RAG_BREAKER_FAILURE, 0), 1);
}

static void test_breaker__old_outcomes_leave_the_window(void **state)
{
    rag_net_breaker_policy p = policy();
    rag_breaker b;
    uint32_t n_fail, n_total;
    (void)state;
    p.consecutive_failures = 0;
    p.error_rate = 0.5;
    p.min_requests = 4;
    rag_breaker_init(&b, &p);
    for (int i = 0; i < 3; i++)
        rag_breaker_record(&b, 0, RAG_BREAKER_FAILURE, 0);
    rag_breaker_window(&b, 0, &n_fail, &n_total);
    assert_int_equal(n_total, 3);
    /* 3 failures at t=0 are older than the 10 s window at t=20 s */
    rag_breaker_window(&b, 20000, &n_fail, &n_total);
    assert_int_equal(n_total, 0);
    assert_int_equal(rag_breaker_record(&b, 20000, RAG_BREAKER_FAILURE, 0), 0);
    assert_int_equal(b.state, RAG_NET_BREAKER_CLOSED);
}

static void test_limiter__burst_then_paced(void **state)
{
    rag_limiter l;
    (void)state;
    rag_limiter_init(&l, 10.0, 3.0, 0);
    assert_true(rag_limiter_reserve(&l, 0) == 0);
    assert_true(rag_limiter_reserve(&l, 0) == 0);
    assert_true(rag_limiter_reserve(&l, 0) == 0);
    /* bucket empty: the next callers queue up 100 ms apart */
    assert_true(fabs(rag_limiter_reserve(&l, 0) - 100.0) < 1e-6);
    assert_true(fabs(rag_limiter_reserve(&l, 0) - 200.0) < 1e-6);
    rag_limiter_cancel(&l);
    assert_true(fabs(rag_limiter_reserve(&l, 50) - 150.0) < 1e-6);
    /* a long idle refills only up to the burst */
    assert_true(rag_limiter_reserve(&l, 100000) == 0);
    assert_true(rag_limiter_reserve(&l, 100000) == 0);
    assert_true(rag_limiter_reserve(&l, 100000) == 0);
    assert_true(rag_limiter_reserve(&l, 100000) > 0);
}

static void test_limiter__zero_rate_is_unlimited(void **state)
{
    rag_limiter l;
    (void)state;
    rag_limiter_init(&l, 0, 0, 0);
    for (int i = 0; i < 1000; i++)
        assert_true(rag_limiter_reserve(&l, 0) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_breaker__opens_after_consecutive_failures),
        cmocka_unit_test(test_breaker__half_open_probe_success_closes),
        cmocka_unit_test(test_breaker__half_open_probe_failure_reopens),
        cmocka_unit_test(test_breaker__neutral_probe_frees_the_slot),
        cmocka_unit_test(test_breaker__error_rate_over_window_opens),
        cmocka_unit_test(test_breaker__old_outcomes_leave_the_window),
        cmocka_unit_test(test_limiter__burst_then_paced),
        cmocka_unit_test(test_limiter__zero_rate_is_unlimited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
