/* net_internal.h - pieces of src/net shared between its files and unit
 * tests: the circuit breaker and token bucket (pure state machines driven by
 * a caller-supplied clock; the endpoint serialises them with its mutex).
 *
 * Thread safety: none; callers hold the endpoint lock.
 */
#ifndef RAG_NET_INTERNAL_H
#define RAG_NET_INTERNAL_H

#include "net.h"

#include <stdint.h>

#define RAG_BREAKER_BUCKETS 10

typedef struct {
    rag_net_breaker_policy policy;
    rag_net_breaker_state state;
    int consecutive;          /* failures in a row (closed) */
    double opened_at;         /* ms, when it last opened */
    int probes_in_flight;     /* half-open */
    int64_t epoch[RAG_BREAKER_BUCKETS];
    uint32_t n_ok[RAG_BREAKER_BUCKETS];
    uint32_t n_fail[RAG_BREAKER_BUCKETS];
} rag_breaker;

typedef enum {
    RAG_BREAKER_NEUTRAL = -1, /* says nothing about the endpoint's health */
    RAG_BREAKER_FAILURE = 0,
    RAG_BREAKER_SUCCESS = 1,
} rag_breaker_outcome;

void rag_breaker_init(rag_breaker *b, const rag_net_breaker_policy *p);
/* 1 = let the request through (*probe = 1 if it is a half-open probe),
 * 0 = reject (open). May move open -> half-open when the cool-down passed. */
int rag_breaker_allow(rag_breaker *b, double now_ms, int *probe);
/* Record an outcome. Returns 1 if this transitioned the breaker to open. */
int rag_breaker_record(rag_breaker *b, double now_ms, rag_breaker_outcome o,
                       int probe);
/* Failures and total outcomes in the window ending at now_ms. */
void rag_breaker_window(const rag_breaker *b, double now_ms, uint32_t *n_fail,
                        uint32_t *n_total);

typedef struct {
    double rate_per_s;   /* 0 = unlimited */
    double burst;
    double tokens;       /* may go negative: reservations */
    double last_ms;
} rag_limiter;

void rag_limiter_init(rag_limiter *l, double rate_per_s, double burst,
                      double now_ms);
/* Take one token; returns how long to wait (ms) before using it, 0 = now. */
double rag_limiter_reserve(rag_limiter *l, double now_ms);
/* Give back a reservation that will not be used. */
void rag_limiter_cancel(rag_limiter *l);

#endif
