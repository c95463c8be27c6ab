/* metrics_int.h - the registry's internals, shared by metrics.c (families,
 * series, updates), metrics_render.c (exposition) and metrics_std.c
 * (ready-made families). Not for other modules.
 *
 * A series never moves or dies before the registry does, so readers need
 * no lock: a slot of a family's table goes from NULL to a fully built
 * series once (release store / acquire load) and stays.
 */
#ifndef RAG_OBS_METRICS_INT_H
#define RAG_OBS_METRICS_INT_H

#include "metrics/metrics.h"

#include <pthread.h>
#include <stdatomic.h>

typedef enum {
    KIND_COUNTER = 0,
    KIND_GAUGE = 1,
    KIND_HISTOGRAM = 2,
} metric_kind;

/* Read-only fields first, then at least 64 bytes further the atomics, so
 * the two never share a cache line: lookups read hash and values of every
 * series they pass, and must not miss because another thread just added
 * to its count. (Padding, not _Alignas: rag_malloc aligns to 16 only.) */
struct series {
    uint64_t hash;
    char *values[RAG_METRICS_MAX_LABELS]; /* point into the same block */
    rag_metric_fn fn;                     /* callback series, else NULL */
    void *fn_userdata;
    char pad[64];
    _Atomic uint64_t n;     /* counter: integer part */
    _Atomic uint64_t bits;  /* double: counter fraction, gauge value, histogram sum */
    _Atomic int used;       /* the "other" series: rendered once used */
    _Atomic uint64_t buckets[]; /* histogram: n_bounds + 1, not cumulative */
};

struct family {
    rag_metrics *owner;             /* for the mutex callbacks run under */
    metric_kind kind;
    char *name;
    char *help;
    char *labels[RAG_METRICS_MAX_LABELS];
    size_t n_labels;
    double *bounds;
    size_t n_bounds;
    size_t max_series;
    size_t mask;                    /* table size - 1 (power of two) */
    _Atomic(struct series *) *slots;
    _Atomic size_t n_series;        /* in the table (reservations included) */
    struct series *single;          /* no labels: the one series */
    struct series *other;           /* labels: the overflow series */
};

struct rag_counter { struct family fam; };
struct rag_gauge { struct family fam; };
struct rag_histogram { struct family fam; };

struct rag_metrics {
    pthread_mutex_t mu;            /* registration, rendering, callbacks */
    struct family **fams;
    size_t n_fams, cap_fams;
    void **owned;                  /* blocks freed with the registry */
    size_t n_owned, cap_owned;
};

static inline double bits_to_double(uint64_t b)
{
    double d;
    __builtin_memcpy(&d, &b, sizeof d);
    return d;
}
static inline uint64_t double_to_bits(double d)
{
    uint64_t b;
    __builtin_memcpy(&b, &d, sizeof b);
    return b;
}

/* The value a counter or gauge series shows (callbacks not evaluated). */
double metrics_series_value(const struct family *f, struct series *s);

/* Series visible in f now (table + "other" if used), sorted by label values,
 * "other" last. Caller frees *out with rag_free. RAG_ENOMEM. */
int metrics_series_sorted(struct family *f, struct series ***out, size_t *n_out);

/* Register a family (kind, desc) or, if reuse and a family of the same name
 * and kind exists, return it. Caller holds m->mu. */
int metrics_register_locked(struct family **out, rag_metrics *m, metric_kind kind,
                            const rag_metric_desc *d, int reuse, rag_err *err);

/* Bind a callback series; caller holds m->mu or is the only thread. */
int metrics_bind_fn(struct family *f, const char *const *values, rag_metric_fn fn,
                    void *userdata, rag_err *err);

/* Keep p until the registry is destroyed (freed with rag_free). On
 * RAG_ENOMEM p is freed. Caller holds m->mu. */
int metrics_own_locked(rag_metrics *m, void *p);

/* Register (or reuse) a gauge/counter family with one label and bind one
 * callback series to it; caller holds m->mu (metrics_proc.c and the
 * exporters in src/obs/metrics_std.c). */
int metrics_bind_locked(rag_metrics *m, metric_kind kind, const char *name, const char *help,
                        const char *label, const char *const *values, size_t max_series,
                        rag_metric_fn fn, void *ud, rag_err *err);

#endif
