/* metrics.h - live metrics, generic (no domain code: it depends on
 * src/core only, so the server, which sees only include/, src/core and
 * this module, can use it): a Prometheus registry (rag_metrics:
 * metrics.c, metrics_render.c, metrics_proc.c) and a short in-memory time
 * series for the analytics UI (rag_timeseries: timeseries.c). No HTTP
 * here. Exporters of the engine's own counters (remote endpoints, usage)
 * are in src/obs (obs/metrics.h).
 *
 * Registry. Metric families (counter, gauge, histogram) are registered
 * once at start; the handle returned is then updated from any thread. A
 * family has 0..RAG_METRICS_MAX_LABELS label names; each distinct tuple of
 * label values is a series, created on first use. Updates are lock free:
 * a family without labels is one series; a labelled family finds its
 * series in a fixed open-addressing table (hash + compare, no lock) and
 * the value itself is one atomic add. The number of series per family is
 * capped (rag_metric_desc.max_series): past the cap, or if memory for a
 * new series cannot be had, an update lands in the series whose every
 * label value is "other" (RAG_METRICS_OTHER), so a client that invents
 * label values cannot grow memory. Label values are UTF-8 (invalid bytes
 * become U+FFFD) and cut to RAG_METRICS_MAX_VALUE_BYTES.
 *
 * Series may also be callbacks, evaluated at scrape time (queue depth,
 * RSS, document counts, counters kept elsewhere such as rag_net's).
 *
 * Thread safety: rag_counter_*, rag_gauge_*, rag_histogram_* updates and
 * reads are safe from any thread, lock free. Registration and rendering
 * are safe from any thread too; they share one registry mutex (callbacks
 * run under it, so a callback must not register, render or read a
 * callback series). A handle is valid until rag_metrics_destroy, which
 * must not race with anything.
 */
#ifndef RAG_METRICS_H
#define RAG_METRICS_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

/* ==== registry ========================================================= */

#define RAG_METRICS_MAX_LABELS 4          /* label names per family */
#define RAG_METRICS_MAX_BUCKETS 64        /* finite bucket bounds */
#define RAG_METRICS_DEFAULT_MAX_SERIES 64 /* label sets per family */
#define RAG_METRICS_MAX_SERIES 4096       /* largest max_series accepted */
#define RAG_METRICS_MAX_VALUE_BYTES 128   /* label values are cut to this */
#define RAG_METRICS_OTHER "other"         /* label value of the overflow series */

typedef struct rag_metrics rag_metrics;
typedef struct rag_counter rag_counter;
typedef struct rag_gauge rag_gauge;
typedef struct rag_histogram rag_histogram;

typedef struct {
    /* [a-zA-Z_:][a-zA-Z0-9_:]*, unique in the registry (a histogram also
     * takes name_bucket, name_sum and name_count). Counters must end in
     * "_total", nothing else may; no name may end in _bucket, _sum or
     * _count. Use base units: seconds, bytes. Copied. */
    const char *name;
    const char *help;       /* one line of UTF-8; escaped on output; NULL = "" */
    /* Label names, [a-zA-Z_][a-zA-Z0-9_]*, not "__"-prefixed, distinct,
     * not "le" on a histogram. The first NULL ends the list. Copied. */
    const char *labels[RAG_METRICS_MAX_LABELS];
    size_t max_series;      /* label sets before "other"; 0 = default 64,
                               at most RAG_METRICS_MAX_SERIES; ignored
                               without labels (one series) */
    /* Histograms: finite, strictly increasing upper bounds (copied; +Inf is
     * implied). NULL = rag_metrics_latency_buckets(). */
    const double *buckets;
    size_t n_buckets;       /* 1..RAG_METRICS_MAX_BUCKETS when buckets set */
} rag_metric_desc;

/* Caller owns *out; free with rag_metrics_destroy. Fails only RAG_ENOMEM. */
int rag_metrics_create(rag_metrics **out, rag_err *err);
/* Frees every family, series and handle. NULL is a no-op. No other thread
 * may use the registry or its handles any more. */
void rag_metrics_destroy(rag_metrics *m);

/* Register a family. *out is borrowed: valid until rag_metrics_destroy.
 * RAG_EINVAL (message names the metric) for an invalid or duplicate name,
 * label or bucket list; RAG_ENOMEM. */
int rag_metrics_counter(rag_counter **out, rag_metrics *m, const rag_metric_desc *d,
                        rag_err *err);
int rag_metrics_gauge(rag_gauge **out, rag_metrics *m, const rag_metric_desc *d,
                      rag_err *err);
int rag_metrics_histogram(rag_histogram **out, rag_metrics *m,
                          const rag_metric_desc *d, rag_err *err);

/* Latency buckets in seconds, 1 ms .. 120 s (17 bounds; static storage). */
const double *rag_metrics_latency_buckets(size_t *n_buckets);

/* ---- updates (hot path, lock free) ------------------------------------ */

/* `values` holds one label value per label name of the family, in
 * declaration order (NULL when the family has no labels; a NULL entry
 * reads as ""). The strings are only read during the call. An update of a
 * callback series is ignored. */

void rag_counter_add(rag_counter *c, const char *const *values, uint64_t n);
static inline void rag_counter_inc(rag_counter *c, const char *const *values)
{
    rag_counter_add(c, values, 1);
}
/* Fractional amounts (cost in USD, seconds); v < 0, NaN, +-Inf ignored.
 * A compare-and-swap loop, so a little dearer than rag_counter_add. */
void rag_counter_add_f(rag_counter *c, const char *const *values, double v);
void rag_gauge_set(rag_gauge *g, const char *const *values, double v);
void rag_gauge_add(rag_gauge *g, const char *const *values, double delta);
/* Counts v in the first bucket whose bound is >= v (else +Inf) and adds it
 * to the sum. NaN is ignored. */
void rag_histogram_observe(rag_histogram *h, const char *const *values, double v);

/* ---- callback series --------------------------------------------------- */

/* Evaluated at scrape time, under the registry mutex, from the rendering
 * thread. Return 0 with *value set, or non-zero to leave the series out of
 * this scrape. Must be thread safe against the rest of the program. */
typedef int (*rag_metric_fn)(double *value, void *userdata);

/* Bind the series `values` of c / g to fn (userdata borrowed: it must
 * outlive the registry). RAG_EINVAL if the series already exists or its
 * values are all "other"; RAG_ELIMIT past max_series (or out of memory).
 * A callback counter must only grow. Bind at start: the series of a
 * family without labels exists from registration, and binding it must not
 * race with updates of that family. */
int rag_counter_set_fn(rag_counter *c, const char *const *values, rag_metric_fn fn,
                       void *userdata, rag_err *err);
int rag_gauge_set_fn(rag_gauge *g, const char *const *values, rag_metric_fn fn,
                     void *userdata, rag_err *err);

/* ---- reads (tests, JSON stats) ----------------------------------------- */

/* The current value of one series; 0 if it does not exist (reads never
 * create a series). A callback series is evaluated (NaN if it fails). */
double rag_counter_get(rag_counter *c, const char *const *values);
double rag_gauge_get(rag_gauge *g, const char *const *values);

typedef struct {
    size_t n_buckets;                             /* finite bounds */
    double bounds[RAG_METRICS_MAX_BUCKETS];
    uint64_t cumulative[RAG_METRICS_MAX_BUCKETS + 1]; /* last = +Inf = count */
    uint64_t count;
    double sum;
} rag_histogram_snapshot;
/* RAG_ENOTFOUND if the series does not exist. */
int rag_histogram_get(rag_histogram *h, const char *const *values,
                      rag_histogram_snapshot *out);

/* Series a family holds now (the "other" series counts once it is used). */
size_t rag_counter_n_series(const rag_counter *c);
size_t rag_gauge_n_series(const rag_gauge *g);
size_t rag_histogram_n_series(const rag_histogram *h);

/* ---- exposition -------------------------------------------------------- */

/* Append every family to out in the Prometheus text exposition format
 * 0.0.4 (content type "text/plain; version=0.0.4; charset=utf-8"):
 * families sorted by name, each "# HELP" (\ and newline escaped),
 * "# TYPE", then its series sorted by label values ("other" last), label
 * values escaped (\\, \", \n); histograms as cumulative name_bucket{le=..}
 * up to le="+Inf", then name_sum and name_count. A family with no series
 * yet (or whose callbacks all failed) is left out. Values print in the
 * shortest form that reads back exactly; NaN, +Inf, -Inf as such.
 * RAG_ENOMEM / RAG_ELIMIT (out->max_len) leave out as it was. */
int rag_metrics_render(rag_metrics *m, rag_buf *out, rag_err *err);
/* Append a label value escaped as rag_metrics_render escapes them (\\, \",
 * \n), for families a caller writes itself. RAG_ENOMEM / RAG_ELIMIT. */
int rag_metrics_escape_label(rag_buf *out, const char *value);

/* ---- ready-made families (metrics_proc.c) ------------------------------- */

/* Resident and virtual memory from /proc/self/statm, in bytes (a
 * rag_metric_fn; userdata unused). Non-zero if /proc cannot be read. */
int rag_metrics_rss_bytes(double *value, void *userdata);
int rag_metrics_vsize_bytes(double *value, void *userdata);

/* Register process_resident_memory_bytes and process_virtual_memory_bytes
 * (callbacks above). */
int rag_metrics_add_process(rag_metrics *m, rag_err *err);

/* ==== time series for the analytics UI (timeseries.c) ================== */

/* A fixed ring of n_intervals buckets of interval_s seconds each (default
 * 10 s x 360 = the last hour). Each bucket holds the requests, errors and
 * refusals that finished in it, a latency sketch for p50/p95, and per
 * stage the summed latency and how many requests ran that stage. Buckets
 * are aligned to multiples of interval_s in Unix time; a bucket is reset
 * when the ring comes round to it again.
 *
 * Thread safety: rag_timeseries_record and rag_timeseries_json may be
 * called from any thread (one mutex, held for a few hundred bytes of
 * arithmetic per record; the JSON is built outside it). */

#define RAG_TS_MAX_STAGES 16
#define RAG_TS_MAX_STAGE_NAME 24  /* bytes, NUL included */

/* Latency sketch: 64 log-spaced bins, 3 per doubling, from 0.1 ms: bin i
 * holds [0.1 * 2^(i/3), 0.1 * 2^((i+1)/3)) ms, so the top bin ends at
 * 0.1 * 2^(64/3) ms = 264 s. A quantile is the nearest-rank sample's bin,
 * reported as 2*lo*hi/(lo+hi), which is within RAG_TS_SKETCH_REL_ERROR of
 * that sample for latencies in [0.1 ms, 264 s). Smaller latencies count in
 * bin 0 and read as about 0.11 ms, larger ones in bin 63 (about 234 s). */
#define RAG_TS_SKETCH_BINS 64
#define RAG_TS_SKETCH_MIN_MS 0.1
#define RAG_TS_SKETCH_REL_ERROR 0.1151 /* (2^(1/3)-1)/(2^(1/3)+1), rounded up */

typedef struct {
    uint32_t bins[RAG_TS_SKETCH_BINS];
    uint64_t n;
} rag_ts_sketch;

/* Plain data: zero-initialise; not thread safe by itself. NaN and
 * negative latencies are ignored. */
void rag_ts_sketch_add(rag_ts_sketch *s, double ms);
void rag_ts_sketch_merge(rag_ts_sketch *dst, const rag_ts_sketch *src);
/* q in [0, 1]: the sketch's estimate of the sample of rank ceil(q*n)
 * (at least 1) in sorted order. NaN when the sketch is empty. */
double rag_ts_sketch_quantile(const rag_ts_sketch *s, double q);

/* Wall-clock source in Unix seconds (fractions allowed). */
typedef struct {
    double (*now_s)(void *userdata);   /* NULL = CLOCK_REALTIME */
    void *userdata;
} rag_ts_clock;

typedef struct {
    int interval_s;            /* bucket width, 1..86400; default 10 */
    int n_intervals;           /* ring length, 1..100000; default 360 */
    /* Stage names, NULL-terminated, at most RAG_TS_MAX_STAGES, each
     * [a-z0-9_]+ shorter than RAG_TS_MAX_STAGE_NAME, distinct; copied.
     * Default: bm25, embed, knn, rerank, answer. */
    const char *const *stages;
    rag_ts_clock clock;
} rag_timeseries_opts;

rag_timeseries_opts rag_timeseries_default_opts(void);

typedef struct rag_timeseries rag_timeseries;

/* Caller owns *out; free with rag_timeseries_destroy. opts NULL = defaults.
 * RAG_EINVAL naming the bad option; RAG_ENOMEM. Points start at the
 * interval holding the creation time. */
int rag_timeseries_create(rag_timeseries **out, const rag_timeseries_opts *opts,
                          rag_err *err);
void rag_timeseries_destroy(rag_timeseries *ts);  /* NULL is a no-op */

/* Index of a stage name in the stage_ms array, or -1. */
int rag_timeseries_stage(const rag_timeseries *ts, const char *name);
size_t rag_timeseries_n_stages(const rag_timeseries *ts);

typedef struct {
    double latency_ms;        /* whole request; NaN or < 0 = not timed */
    int error;                /* 1 = failed (5xx, pipeline error) */
    int refused;              /* 1 = answered with a refusal */
    /* rag_timeseries_n_stages values in stage order, or NULL; NaN or < 0
     * = the stage did not run for this request. Only read. */
    const double *stage_ms;
} rag_ts_event;

/* Count one finished request in the bucket of "now" (the clock). */
void rag_timeseries_record(rag_timeseries *ts, const rag_ts_event *ev);

/* One bucket, for tests and other renderers: the interval starting at t
 * (rounded down to a multiple of interval_s). An interval never recorded
 * into, or already overwritten by the ring, reads as zeros (sketch empty). */
typedef struct {
    int64_t t;                /* interval start, Unix seconds */
    uint64_t requests, errors, refusals;
    rag_ts_sketch latency;
    double stage_sum_ms[RAG_TS_MAX_STAGES];
    uint64_t stage_count[RAG_TS_MAX_STAGES];
} rag_ts_point;
void rag_timeseries_point(rag_timeseries *ts, int64_t t, rag_ts_point *out);

/* Append the intervals that end after `since` (Unix seconds; 0 = all
 * kept), from the creation interval or the oldest one the ring still holds
 * up to the current one (still filling), oldest first, empty ones
 * included, as one JSON object:
 *   {"interval_s":10,"points":[{"t":1718000000,"requests":12,"errors":1,
 *    "refusals":2,"p50_ms":8.41,"p95_ms":52.3,
 *    "stages":{"bm25":{"sum_ms":30.5,"count":12},...}},...]}
 * p50_ms / p95_ms are null for an interval without timed requests.
 * RAG_ENOMEM / RAG_ELIMIT leave out as it was. */
int rag_timeseries_json(rag_timeseries *ts, int64_t since, rag_buf *out, rag_err *err);

#endif
