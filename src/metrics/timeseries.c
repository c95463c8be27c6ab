/* timeseries.c - rag_timeseries: per-interval request counts, latency
 * sketches and stage sums for the analytics UI (metrics.h).
 *
 * The ring holds n_intervals rag_ts_point slots; interval k (Unix time
 * [k*interval_s, (k+1)*interval_s)) lives in slot k mod n_intervals and
 * carries its own start time, so a slot left over from a lap ago is
 * recognised as stale and reads as zeros, and a record is never added to
 * the wrong interval. A record for an interval older than the one its slot
 * holds (the wall clock stepped back) is dropped rather than wiping newer
 * data.
 *
 * Sketch: bin i = floor(3 * log2(ms / 0.1)), clamped to [0, 63]. Bin
 * [lo, hi) reports 2*lo*hi/(lo+hi), the point whose relative distance to
 * both ends is the same, (hi-lo)/(hi+lo) = (2^(1/3)-1)/(2^(1/3)+1) < 11.51%.
 */
#include "metrics/metrics.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

/* ---- the sketch --------------------------------------------------------- */

static int sketch_bin(double ms)
{
    double x;
    if (!(ms > RAG_TS_SKETCH_MIN_MS))
        return 0;
    x = floor(3.0 * log2(ms / RAG_TS_SKETCH_MIN_MS));
    if (x < 0)
        return 0;
    return x >= RAG_TS_SKETCH_BINS - 1 ? RAG_TS_SKETCH_BINS - 1 : (int)x;
}

static double sketch_value(int bin)
{
    double lo = RAG_TS_SKETCH_MIN_MS * exp2(bin / 3.0);
    double hi = RAG_TS_SKETCH_MIN_MS * exp2((bin + 1) / 3.0);
    return 2.0 * lo * hi / (lo + hi);
}

void rag_ts_sketch_add(rag_ts_sketch *s, double ms)
{
    if (!(ms >= 0))
        return;
    s->bins[sketch_bin(ms)]++;
    s->n++;
}

void rag_ts_sketch_merge(rag_ts_sketch *dst, const rag_ts_sketch *src)
{
    for (int i = 0; i < RAG_TS_SKETCH_BINS; i++)
        dst->bins[i] += src->bins[i];
    dst->n += src->n;
}

double rag_ts_sketch_quantile(const rag_ts_sketch *s, double q)
{
    uint64_t rank, seen = 0;

    if (!s->n)
        return NAN;
    if (!(q > 0))
        q = 0;
    if (q > 1)
        q = 1;
    rank = (uint64_t)ceil(q * (double)s->n);
    if (rank < 1)
        rank = 1;
    for (int i = 0; i < RAG_TS_SKETCH_BINS; i++) {
        seen += s->bins[i];
        if (seen >= rank)
            return sketch_value(i);
    }
    return sketch_value(RAG_TS_SKETCH_BINS - 1);
}

/* ---- the ring ----------------------------------------------------------- */

struct rag_timeseries {
    pthread_mutex_t mu;
    int interval_s;
    int n_intervals;
    size_t n_stages;
    char stages[RAG_TS_MAX_STAGES][RAG_TS_MAX_STAGE_NAME];
    rag_ts_clock clock;
    int64_t first;          /* interval number at creation */
    rag_ts_point *ring;     /* t = INT64_MIN: never used */
};

static const char *const default_stages[] = {"bm25", "embed", "knn", "rerank", "answer",
                                             NULL};

rag_timeseries_opts rag_timeseries_default_opts(void)
{
    rag_timeseries_opts o = {.interval_s = 10, .n_intervals = 360,
                             .stages = default_stages};
    return o;
}

static double real_now_s(void *userdata)
{
    struct timespec ts;
    (void)userdata;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(const rag_timeseries *ts)
{
    return ts->clock.now_s(ts->clock.userdata);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t interval_of(const rag_timeseries *ts, double t)
{
    /* NaN or a clock beyond +-3e7 years lands in interval 0, so that
     * k * interval_s cannot overflow. */
    if (!(t > -1e15 && t < 1e15))
        return 0;
    return (int64_t)floor(t / ts->interval_s);
}

static rag_ts_point *slot_of(rag_timeseries *ts, int64_t k)
{
    int64_t i = k % ts->n_intervals;
    return &ts->ring[i < 0 ? i + ts->n_intervals : i];
}

static int valid_stage_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return 0;
    return n > 0 && n < RAG_TS_MAX_STAGE_NAME;
}

int rag_timeseries_create(rag_timeseries **out, const rag_timeseries_opts *opts,
                          rag_err *err)
{
    rag_timeseries_opts o = opts ? *opts : rag_timeseries_default_opts();
    rag_timeseries *ts;
    size_t n = 0;

    *out = NULL;
    if (o.interval_s < 1 || o.interval_s > 86400)
        return rag_fail(err, RAG_EINVAL, "timeseries: interval_s %d is not in 1..86400",
                        o.interval_s);
    if (o.n_intervals < 1 || o.n_intervals > 100000)
        return rag_fail(err, RAG_EINVAL, "timeseries: n_intervals %d is not in 1..100000",
                        o.n_intervals);
    while (o.stages && o.stages[n]) {
        if (n == RAG_TS_MAX_STAGES)
            return rag_fail(err, RAG_EINVAL, "timeseries: more than %d stages",
                            RAG_TS_MAX_STAGES);
        if (!valid_stage_name(o.stages[n]))
            return rag_fail(err, RAG_EINVAL,
                            "timeseries: stage name \"%s\" is not [a-z0-9_]{1,%d}",
                            o.stages[n], RAG_TS_MAX_STAGE_NAME - 1);
        for (size_t j = 0; j < n; j++)
            if (!strcmp(o.stages[j], o.stages[n]))
                return rag_fail(err, RAG_EINVAL, "timeseries: stage \"%s\" given twice",
                                o.stages[n]);
        n++;
    }
    ts = rag_calloc(1, sizeof *ts);
    if (!ts)
        return rag_fail(err, RAG_ENOMEM, "timeseries: out of memory");
    ts->ring = rag_calloc((size_t)o.n_intervals, sizeof *ts->ring);
    if (!ts->ring) {
        rag_free(ts);
        return rag_fail(err, RAG_ENOMEM, "timeseries: out of memory (%d intervals)",
                        o.n_intervals);
    }
    for (int i = 0; i < o.n_intervals; i++)
        ts->ring[i].t = INT64_MIN;
    pthread_mutex_init(&ts->mu, NULL);
    ts->interval_s = o.interval_s;
    ts->n_intervals = o.n_intervals;
    ts->n_stages = n;
    for (size_t i = 0; i < n; i++)
        memcpy(ts->stages[i], o.stages[i], strlen(o.stages[i]) + 1);
    ts->clock = o.clock;
    if (!ts->clock.now_s)
        ts->clock.now_s = real_now_s;
    ts->first = interval_of(ts, now_s(ts));
    *out = ts;
    return RAG_OK;
}

void rag_timeseries_destroy(rag_timeseries *ts)
{
    if (!ts)
        return;
    pthread_mutex_destroy(&ts->mu);
    rag_free(ts->ring);
    rag_free(ts);
}

int rag_timeseries_stage(const rag_timeseries *ts, const char *name)
{
    for (size_t i = 0; i < ts->n_stages; i++)
        if (!strcmp(ts->stages[i], name))
            return (int)i;
    return -1;
}

size_t rag_timeseries_n_stages(const rag_timeseries *ts)
{
    return ts->n_stages;
}

void rag_timeseries_record(rag_timeseries *ts, const rag_ts_event *ev)
{
    int64_t k = interval_of(ts, now_s(ts)), t = k * ts->interval_s;
    rag_ts_point *p;

    pthread_mutex_lock(&ts->mu);
    p = slot_of(ts, k);
    if (p->t != t) {
        if (p->t > t) { /* the clock went back past this slot's interval */
            pthread_mutex_unlock(&ts->mu);
            return;
        }
        memset(p, 0, sizeof *p);
        p->t = t;
    }
    p->requests++;
    p->errors += ev->error ? 1 : 0;
    p->refusals += ev->refused ? 1 : 0;
    rag_ts_sketch_add(&p->latency, ev->latency_ms);
    if (ev->stage_ms)
        for (size_t i = 0; i < ts->n_stages; i++)
            if (ev->stage_ms[i] >= 0) { /* false for NaN */
                p->stage_sum_ms[i] += ev->stage_ms[i];
                p->stage_count[i]++;
            }
    pthread_mutex_unlock(&ts->mu);
}

/* Copy interval k into out (zeros if its slot holds another). Caller holds mu. */
static void copy_point(rag_timeseries *ts, int64_t k, rag_ts_point *out)
{
    const rag_ts_point *p = slot_of(ts, k);
    int64_t t = k * ts->interval_s;
    if (p->t == t) {
        *out = *p;
    } else {
        memset(out, 0, sizeof *out);
        out->t = t;
    }
}

void rag_timeseries_point(rag_timeseries *ts, int64_t t, rag_ts_point *out)
{
    pthread_mutex_lock(&ts->mu);
    copy_point(ts, floor_div(t, ts->interval_s), out);
    pthread_mutex_unlock(&ts->mu);
}

static json_t *quantile_json(const rag_ts_sketch *s, double q)
{
    return s->n ? json_real(rag_ts_sketch_quantile(s, q)) : json_null();
}

static json_t *point_json(const rag_timeseries *ts, const rag_ts_point *p)
{
    json_t *o = json_object(), *stages = json_object();
    int bad = !o || !stages;

    bad |= json_object_set_new(o, "t", json_integer(p->t));
    bad |= json_object_set_new(o, "requests", json_integer((json_int_t)p->requests));
    bad |= json_object_set_new(o, "errors", json_integer((json_int_t)p->errors));
    bad |= json_object_set_new(o, "refusals", json_integer((json_int_t)p->refusals));
    bad |= json_object_set_new(o, "p50_ms", quantile_json(&p->latency, 0.50));
    bad |= json_object_set_new(o, "p95_ms", quantile_json(&p->latency, 0.95));
    for (size_t i = 0; i < ts->n_stages && !bad; i++) {
        json_t *st = json_object();
        bad |= !st;
        bad |= json_object_set_new(st, "sum_ms", json_real(p->stage_sum_ms[i]));
        bad |= json_object_set_new(st, "count", json_integer((json_int_t)p->stage_count[i]));
        bad |= json_object_set_new(stages, ts->stages[i], st);
    }
    bad |= json_object_set(o, "stages", stages);
    json_decref(stages);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int rag_timeseries_json(rag_timeseries *ts, int64_t since, rag_buf *out, rag_err *err)
{
    int64_t cur, start, n_points;
    rag_ts_point *pts = NULL;
    json_t *root = NULL, *arr = NULL;
    char *text = NULL;
    size_t len0 = out->len;
    int rc = RAG_OK, bad;

    cur = interval_of(ts, now_s(ts));
    start = cur - ts->n_intervals + 1;
    if (start < ts->first)
        start = ts->first;
    if (start < floor_div(since, ts->interval_s))
        start = floor_div(since, ts->interval_s);
    n_points = cur >= start ? cur - start + 1 : 0;
    if (n_points) {
        pts = rag_malloc((size_t)n_points * sizeof *pts);
        if (!pts)
            return rag_fail(err, RAG_ENOMEM, "timeseries: out of memory");
        /* Copy under the lock, build the JSON outside it. */
        pthread_mutex_lock(&ts->mu);
        for (int64_t i = 0; i < n_points; i++)
            copy_point(ts, start + i, &pts[i]);
        pthread_mutex_unlock(&ts->mu);
    }
    root = json_object();
    arr = json_array();
    bad = !root || !arr;
    bad |= json_object_set_new(root, "interval_s", json_integer(ts->interval_s));
    for (int64_t i = 0; i < n_points && !bad; i++)
        bad |= json_array_append_new(arr, point_json(ts, &pts[i]));
    bad |= json_object_set(root, "points", arr);
    rag_free(pts);
    json_decref(arr);
    if (!bad)
        text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(root);
    if (!text)
        return rag_fail(err, RAG_ENOMEM, "timeseries: out of memory building JSON");
    rc = rag_buf_puts(out, text);
    {
        json_malloc_t jm;
        json_free_t jf;
        json_get_alloc_funcs(&jm, &jf); /* jansson allocated it */
        jf(text);
    }
    if (rc < 0) {
        out->len = len0;
        if (out->data)
            out->data[len0] = '\0';
        return rag_fail(err, rc, "timeseries: JSON %s",
                        rc == RAG_ELIMIT ? "over the output cap" : "out of memory");
    }
    return RAG_OK;
}
