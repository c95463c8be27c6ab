/* resilience.c - circuit breaker and token bucket (see net_internal.h).
 *
 * The breaker's error-rate window is RAG_BREAKER_BUCKETS buckets of
 * window_ms / RAG_BREAKER_BUCKETS each, keyed by bucket epoch
 * (floor(now / width)); a bucket whose epoch is older than the window is
 * stale and reused. That makes the window slide in steps of one bucket
 * without storing every outcome.
 *
 * The token bucket lets tokens go negative: a caller that finds none
 * reserves the next one and sleeps until it is due, so waiting callers are
 * served in arrival order without a queue.
 */
#include "net_internal.h"

#include <math.h>
#include <string.h>

static double bucket_width(const rag_breaker *b)
{
    double w = b->policy.window_ms / RAG_BREAKER_BUCKETS;
    return w > 0 ? w : 1.0;
}

void rag_breaker_init(rag_breaker *b, const rag_net_breaker_policy *p)
{
    memset(b, 0, sizeof *b);
    b->policy = *p;
    for (int i = 0; i < RAG_BREAKER_BUCKETS; i++)
        b->epoch[i] = INT64_MIN;
}

static void clear_window(rag_breaker *b)
{
    for (int i = 0; i < RAG_BREAKER_BUCKETS; i++) {
        b->epoch[i] = INT64_MIN;
        b->n_ok[i] = b->n_fail[i] = 0;
    }
}

void rag_breaker_window(const rag_breaker *b, double now_ms, uint32_t *n_fail,
                        uint32_t *n_total)
{
    int64_t cur = (int64_t)floor(now_ms / bucket_width(b));
    uint32_t f = 0, t = 0;
    for (int i = 0; i < RAG_BREAKER_BUCKETS; i++) {
        if (b->epoch[i] == INT64_MIN || b->epoch[i] <= cur - RAG_BREAKER_BUCKETS)
            continue;
        f += b->n_fail[i];
        t += b->n_fail[i] + b->n_ok[i];
    }
    *n_fail = f;
    *n_total = t;
}

static void open_breaker(rag_breaker *b, double now_ms)
{
    b->state = RAG_NET_BREAKER_OPEN_STATE;
    b->opened_at = now_ms;
    b->probes_in_flight = 0;
    b->consecutive = 0;
    clear_window(b);
}

int rag_breaker_allow(rag_breaker *b, double now_ms, int *probe)
{
    int n_probes = b->policy.half_open_probes > 0 ? b->policy.half_open_probes : 1;
    *probe = 0;
    if (b->state == RAG_NET_BREAKER_OPEN_STATE) {
        if (now_ms - b->opened_at < b->policy.cooldown_ms)
            return 0;
        b->state = RAG_NET_BREAKER_HALF_OPEN;
        b->probes_in_flight = 0;
    }
    if (b->state == RAG_NET_BREAKER_HALF_OPEN) {
        if (b->probes_in_flight >= n_probes)
            return 0;
        b->probes_in_flight++;
        *probe = 1;
    }
    return 1;
}

int rag_breaker_record(rag_breaker *b, double now_ms, rag_breaker_outcome o,
                       int probe)
{
    int64_t cur;
    int slot;
    uint32_t n_fail, n_total;

    if (probe && b->probes_in_flight > 0)
        b->probes_in_flight--;
    if (b->state == RAG_NET_BREAKER_HALF_OPEN) {
        if (!probe || o == RAG_BREAKER_NEUTRAL)
            return 0;
        if (o == RAG_BREAKER_SUCCESS) {
            b->state = RAG_NET_BREAKER_CLOSED;
            b->consecutive = 0;
            clear_window(b);
            return 0;
        }
        open_breaker(b, now_ms);
        return 1;
    }
    if (b->state == RAG_NET_BREAKER_OPEN_STATE || o == RAG_BREAKER_NEUTRAL)
        return 0;

    cur = (int64_t)floor(now_ms / bucket_width(b));
    slot = (int)(((cur % RAG_BREAKER_BUCKETS) + RAG_BREAKER_BUCKETS) %
                 RAG_BREAKER_BUCKETS);
    if (b->epoch[slot] != cur) {
        b->epoch[slot] = cur;
        b->n_ok[slot] = b->n_fail[slot] = 0;
    }
    if (o == RAG_BREAKER_SUCCESS) {
        b->n_ok[slot]++;
        b->consecutive = 0;
        return 0;
    }
    b->n_fail[slot]++;
    b->consecutive++;
    if (b->policy.consecutive_failures > 0 &&
        b->consecutive >= b->policy.consecutive_failures) {
        open_breaker(b, now_ms);
        return 1;
    }
    if (b->policy.error_rate > 0) {
        rag_breaker_window(b, now_ms, &n_fail, &n_total);
        if (n_total >= (uint32_t)(b->policy.min_requests > 0 ? b->policy.min_requests : 1) &&
            (double)n_fail / n_total > b->policy.error_rate) {
            open_breaker(b, now_ms);
            return 1;
        }
    }
    return 0;
}

void rag_limiter_init(rag_limiter *l, double rate_per_s, double burst,
                      double now_ms)
{
    l->rate_per_s = rate_per_s > 0 ? rate_per_s : 0;
    l->burst = burst >= 1 ? burst : (rate_per_s > 1 ? rate_per_s : 1);
    l->tokens = l->burst;
    l->last_ms = now_ms;
}

double rag_limiter_reserve(rag_limiter *l, double now_ms)
{
    if (l->rate_per_s <= 0)
        return 0;
    if (now_ms > l->last_ms) {
        l->tokens += (now_ms - l->last_ms) * l->rate_per_s / 1000.0;
        if (l->tokens > l->burst)
            l->tokens = l->burst;
        l->last_ms = now_ms;
    }
    l->tokens -= 1.0;
    if (l->tokens >= 0)
        return 0;
    return -l->tokens * 1000.0 / l->rate_per_s;
}

void rag_limiter_cancel(rag_limiter *l)
{
    if (l->rate_per_s > 0)
        l->tokens += 1.0;
}
