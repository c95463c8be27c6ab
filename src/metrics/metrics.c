/* metrics.c - rag_metrics: families, series and lock-free updates
 * (metrics.h).
 *
 * A labelled family owns a table of 2 * max_series slots (a power of two,
 * so it is never more than half full and linear probing stays short). A
 * new series is first reserved (n_series, fetch-add: over the cap means
 * "other"), then built and published into an empty slot with one
 * compare-and-swap; a thread that loses the race to an equal series frees
 * its copy and takes the winner. Nothing is ever removed, so lookups need
 * no lock and no reference counts.
 *
 * Label values are normalised before hashing (invalid UTF-8 -> U+FFFD, cut
 * to RAG_METRICS_MAX_VALUE_BYTES at a character boundary) so a lookup and
 * the stored series agree byte for byte.
 */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,   0.25,   0.5,   1,    2.5,   5,
                                         10,    20,     30,    60,   120};

const double *rag_metrics_latency_buckets(size_t *n_buckets)
{
    *n_buckets = sizeof latency_buckets / sizeof latency_buckets[0];
    return latency_buckets;
}

/* ---- label values ------------------------------------------------------ */

typedef struct {
    const char *v[RAG_METRICS_MAX_LABELS];
    char scratch[RAG_METRICS_MAX_LABELS][RAG_METRICS_MAX_VALUE_BYTES + 1];
} norm_values;

static const char *norm_one(const char *in, char *scratch)
{
    size_t n_in, i = 0, o = 0;

    if (!in)
        return "";
    for (n_in = 0; n_in <= RAG_METRICS_MAX_VALUE_BYTES; n_in++) /* ASCII fast path */
        if (!in[n_in] || (unsigned char)in[n_in] >= 0x80)
            break;
    if (!in[n_in] && n_in <= RAG_METRICS_MAX_VALUE_BYTES)
        return in;
    n_in += strnlen(in + n_in, RAG_METRICS_MAX_VALUE_BYTES + 4 - n_in);
    if (n_in <= RAG_METRICS_MAX_VALUE_BYTES && rag_utf8_valid(in, n_in))
        return in;
    while (i < n_in) {
        uint32_t cp;
        size_t k = rag_utf8_decode((const unsigned char *)in + i, n_in - i, &cp);
        const char *src = in + i;
        size_t w = k;
        if (!k) { /* one invalid byte -> U+FFFD */
            src = "\xEF\xBF\xBD";
            w = 3;
            k = 1;
        }
        if (o + w > RAG_METRICS_MAX_VALUE_BYTES)
            break;
        memcpy(scratch + o, src, w);
        o += w;
        i += k;
    }
    scratch[o] = '\0';
    return scratch;
}

static void norm_values_init(norm_values *nv, const struct family *f,
                             const char *const *values)
{
    for (size_t i = 0; i < f->n_labels; i++)
        nv->v[i] = norm_one(values ? values[i] : NULL, nv->scratch[i]);
}

static uint64_t hash_values(const char *const *v, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)v[i]; *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL; /* 0xff never occurs in UTF-8 */
    }
    return h;
}

static int all_other(const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], RAG_METRICS_OTHER))
            return 0;
    return 1;
}

static int same_values(const struct series *s, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], v[i]))
            return 0;
    return 1;
}

/* ---- series ------------------------------------------------------------ */

static struct series *series_new(const struct family *f, const char *const *v,
                                 uint64_t hash)
{
    size_t n_buckets = f->kind == KIND_HISTOGRAM ? f->n_bounds + 1 : 0;
    size_t head = sizeof(struct series) + n_buckets * sizeof(_Atomic uint64_t);
    size_t total = head, lens[RAG_METRICS_MAX_LABELS];
    struct series *s;
    char *p;

    for (size_t i = 0; i < f->n_labels; i++) {
        lens[i] = strlen(v[i]);
        total += lens[i] + 1;
    }
    s = rag_malloc(total);
    if (!s)
        return NULL;
    memset(s, 0, head);
    s->hash = hash;
    atomic_init(&s->n, 0);
    atomic_init(&s->bits, double_to_bits(0.0));
    atomic_init(&s->used, 0);
    for (size_t i = 0; i < n_buckets; i++)
        atomic_init(&s->buckets[i], 0);
    p = (char *)s + head;
    for (size_t i = 0; i < f->n_labels; i++) {
        memcpy(p, v[i], lens[i] + 1);
        s->values[i] = p;
        p += lens[i] + 1;
    }
    return s;
}

/* The series for normalised values v: found, or (create) made, or "other".
 * NULL only when !create and it does not exist. A series this call makes
 * is published with fn already set (so readers never see it change);
 * `made` (may be NULL) says whether it did. */
static struct series *series_lookup(struct family *f, const char *const *v, int create,
                                    rag_metric_fn fn, void *fn_userdata, int *made)
{
    uint64_t h;
    size_t i;
    struct series *mine = NULL;

    if (made)
        *made = 0;
    if (!f->n_labels)
        return f->single;
    if (all_other(v, f->n_labels))
        return f->other;
    h = hash_values(v, f->n_labels);
    for (i = h & f->mask;; i = (i + 1) & f->mask) {
        struct series *s = atomic_load_explicit(&f->slots[i], memory_order_acquire);
        if (!s) {
            if (!create)
                return NULL;
            if (!mine) {
                size_t before =
                    atomic_fetch_add_explicit(&f->n_series, 1, memory_order_relaxed);
                if (before >= f->max_series) {
                    atomic_fetch_sub_explicit(&f->n_series, 1, memory_order_relaxed);
                    return f->other;
                }
                mine = series_new(f, v, h);
                if (!mine) {
                    atomic_fetch_sub_explicit(&f->n_series, 1, memory_order_relaxed);
                    return f->other;
                }
                mine->fn = fn;
                mine->fn_userdata = fn_userdata;
            }
            if (atomic_compare_exchange_strong_explicit(&f->slots[i], &s, mine,
                                                        memory_order_acq_rel,
                                                        memory_order_acquire)) {
                if (made)
                    *made = 1;
                return mine;
            }
            /* Lost the slot: s is whoever won it. */
        }
        if (s->hash == h && same_values(s, v, f->n_labels)) {
            if (mine) {
                rag_free(mine);
                atomic_fetch_sub_explicit(&f->n_series, 1, memory_order_relaxed);
            }
            return s;
        }
    }
}

static struct series *series_for_update(struct family *f, const char *const *values)
{
    norm_values nv;
    struct series *s;

    if (!f->n_labels)
        return f->single;
    norm_values_init(&nv, f, values);
    s = series_lookup(f, nv.v, 1, NULL, NULL, NULL);
    if (s == f->other && !atomic_load_explicit(&s->used, memory_order_relaxed))
        atomic_store_explicit(&s->used, 1, memory_order_relaxed);
    return s->fn ? NULL : s;
}

static struct series *series_for_read(struct family *f, const char *const *values)
{
    norm_values nv;
    struct series *s;

    if (!f->n_labels)
        return f->single;
    norm_values_init(&nv, f, values);
    s = series_lookup(f, nv.v, 0, NULL, NULL, NULL);
    if (s == f->other && !atomic_load_explicit(&s->used, memory_order_relaxed))
        return NULL;
    return s;
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed), next;
    do
        next = double_to_bits(bits_to_double(old) + v);
    while (!atomic_compare_exchange_weak_explicit(p, &old, next, memory_order_relaxed,
                                                  memory_order_relaxed));
}

/* ---- updates ----------------------------------------------------------- */

void rag_counter_add(rag_counter *c, const char *const *values, uint64_t n)
{
    struct series *s = series_for_update(&c->fam, values);
    if (s)
        atomic_fetch_add_explicit(&s->n, n, memory_order_relaxed);
}

void rag_counter_add_f(rag_counter *c, const char *const *values, double v)
{
    struct series *s;
    if (!(v >= 0) || isinf(v))
        return;
    s = series_for_update(&c->fam, values);
    if (s)
        atomic_add_double(&s->bits, v);
}

void rag_gauge_set(rag_gauge *g, const char *const *values, double v)
{
    struct series *s = series_for_update(&g->fam, values);
    if (s)
        atomic_store_explicit(&s->bits, double_to_bits(v), memory_order_relaxed);
}

void rag_gauge_add(rag_gauge *g, const char *const *values, double delta)
{
    struct series *s = series_for_update(&g->fam, values);
    if (s)
        atomic_add_double(&s->bits, delta);
}

void rag_histogram_observe(rag_histogram *h, const char *const *values, double v)
{
    const struct family *f = &h->fam;
    struct series *s;
    size_t lo = 0, hi = f->n_bounds;

    if (isnan(v))
        return;
    s = series_for_update(&h->fam, values);
    if (!s)
        return;
    while (lo < hi) { /* first bound >= v, else n_bounds (+Inf) */
        size_t mid = (lo + hi) / 2;
        if (f->bounds[mid] >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&s->buckets[lo], 1, memory_order_relaxed);
    atomic_add_double(&s->bits, v);
}

/* ---- reads ------------------------------------------------------------- */

double metrics_series_value(const struct family *f, struct series *s)
{
    double frac = bits_to_double(atomic_load_explicit(&s->bits, memory_order_relaxed));
    if (f->kind == KIND_COUNTER)
        return (double)atomic_load_explicit(&s->n, memory_order_relaxed) + frac;
    return frac;
}

static double read_value(struct family *f, rag_metrics *owner, const char *const *values)
{
    struct series *s = series_for_read(f, values);
    double v;

    if (!s)
        return 0.0;
    if (!s->fn)
        return metrics_series_value(f, s);
    pthread_mutex_lock(&owner->mu);
    if (s->fn(&v, s->fn_userdata) != 0)
        v = NAN;
    pthread_mutex_unlock(&owner->mu);
    return v;
}

double rag_counter_get(rag_counter *c, const char *const *values)
{
    return read_value(&c->fam, c->fam.owner, values);
}

double rag_gauge_get(rag_gauge *g, const char *const *values)
{
    return read_value(&g->fam, g->fam.owner, values);
}

int rag_histogram_get(rag_histogram *h, const char *const *values,
                      rag_histogram_snapshot *out)
{
    struct family *f = &h->fam;
    struct series *s = series_for_read(f, values);
    uint64_t run = 0;

    memset(out, 0, sizeof *out);
    if (!s)
        return RAG_ENOTFOUND;
    out->n_buckets = f->n_bounds;
    for (size_t i = 0; i <= f->n_bounds; i++) {
        if (i < f->n_bounds)
            out->bounds[i] = f->bounds[i];
        run += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        out->cumulative[i] = run;
    }
    out->count = run;
    out->sum = bits_to_double(atomic_load_explicit(&s->bits, memory_order_relaxed));
    return RAG_OK;
}

static size_t family_n_series(const struct family *f)
{
    size_t n = 0;
    if (!f->n_labels)
        return 1;
    for (size_t i = 0; i <= f->mask; i++)
        if (atomic_load_explicit(&f->slots[i], memory_order_acquire))
            n++;
    return n + (atomic_load_explicit(&f->other->used, memory_order_relaxed) ? 1 : 0);
}

size_t rag_counter_n_series(const rag_counter *c) { return family_n_series(&c->fam); }
size_t rag_gauge_n_series(const rag_gauge *g) { return family_n_series(&g->fam); }
size_t rag_histogram_n_series(const rag_histogram *h) { return family_n_series(&h->fam); }

static int cmp_series(const void *a, const void *b, void *n_labels)
{
    const struct series *x = *(struct series *const *)a;
    const struct series *y = *(struct series *const *)b;
    for (size_t i = 0; i < *(size_t *)n_labels; i++) {
        int c = strcmp(x->values[i], y->values[i]);
        if (c)
            return c;
    }
    return 0;
}

int metrics_series_sorted(struct family *f, struct series ***out, size_t *n_out)
{
    struct series **v;
    size_t n = 0;

    *out = NULL;
    *n_out = 0;
    v = rag_malloc((f->mask + 2) * sizeof *v);
    if (!v)
        return RAG_ENOMEM;
    if (!f->n_labels) {
        v[n++] = f->single;
    } else {
        for (size_t i = 0; i <= f->mask; i++) {
            struct series *s = atomic_load_explicit(&f->slots[i], memory_order_acquire);
            if (s)
                v[n++] = s;
        }
        qsort_r(v, n, sizeof *v, cmp_series, &f->n_labels);
        if (atomic_load_explicit(&f->other->used, memory_order_relaxed))
            v[n++] = f->other;
    }
    *out = v;
    *n_out = n;
    return RAG_OK;
}

/* ---- callback series --------------------------------------------------- */

int metrics_bind_fn(struct family *f, const char *const *values, rag_metric_fn fn,
                    void *userdata, rag_err *err)
{
    norm_values nv;
    struct series *s;
    int made;

    if (!fn)
        return rag_fail(err, RAG_EINVAL, "metric %s: callback is NULL", f->name);
    if (!f->n_labels) {
        /* Made at registration; binding belongs right after it, before
         * other threads update the family. */
        if (f->single->fn)
            return rag_fail(err, RAG_EINVAL, "metric %s: already a callback", f->name);
        f->single->fn_userdata = userdata;
        f->single->fn = fn;
        return RAG_OK;
    }
    norm_values_init(&nv, f, values);
    if (all_other(nv.v, f->n_labels))
        return rag_fail(err, RAG_EINVAL,
                        "metric %s: the all-\"" RAG_METRICS_OTHER
                        "\" series cannot be a callback",
                        f->name);
    s = series_lookup(f, nv.v, 1, fn, userdata, &made);
    if (s == f->other)
        return rag_fail(err, RAG_ELIMIT, "metric %s: more than %zu series (or out of memory)",
                        f->name, f->max_series);
    if (!made)
        return rag_fail(err, RAG_EINVAL, "metric %s: series already in use", f->name);
    return RAG_OK;
}

int rag_counter_set_fn(rag_counter *c, const char *const *values, rag_metric_fn fn,
                       void *userdata, rag_err *err)
{
    rag_metrics *m = c->fam.owner;
    int rc;
    pthread_mutex_lock(&m->mu);
    rc = metrics_bind_fn(&c->fam, values, fn, userdata, err);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int rag_gauge_set_fn(rag_gauge *g, const char *const *values, rag_metric_fn fn,
                     void *userdata, rag_err *err)
{
    rag_metrics *m = g->fam.owner;
    int rc;
    pthread_mutex_lock(&m->mu);
    rc = metrics_bind_fn(&g->fam, values, fn, userdata, err);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* ---- registration ------------------------------------------------------ */

static int valid_name(const char *s, int colon_ok)
{
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++) {
        int c = (unsigned char)*p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (colon_ok && c == ':');
        if (!alpha && !(p > s && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static const char *const hist_suffixes[] = {"", "_bucket", "_sum", "_count"};

/* 1 if a sample name of family f is `name` + one of the suffixes of kind. */
static int names_clash(const struct family *f, const char *name, metric_kind kind)
{
    size_t n_a = f->kind == KIND_HISTOGRAM ? 4 : 1;
    size_t n_b = kind == KIND_HISTOGRAM ? 4 : 1;
    size_t len_a = strlen(f->name), len_b = strlen(name);
    for (size_t i = 0; i < n_a; i++)
        for (size_t j = 0; j < n_b; j++) {
            size_t la = len_a + strlen(hist_suffixes[i]);
            if (la != len_b + strlen(hist_suffixes[j]))
                continue;
            char a[512], b[512];
            if (la >= sizeof a)
                continue;
            snprintf(a, sizeof a, "%s%s", f->name, hist_suffixes[i]);
            snprintf(b, sizeof b, "%s%s", name, hist_suffixes[j]);
            if (!strcmp(a, b))
                return 1;
        }
    return 0;
}

static const char *kind_name(metric_kind k)
{
    return k == KIND_COUNTER ? "counter" : k == KIND_GAUGE ? "gauge" : "histogram";
}

static int check_desc(const rag_metric_desc *d, metric_kind kind, size_t *n_labels,
                      rag_err *err)
{
    const char *name = d->name;
    size_t n = 0;

    if (!valid_name(name, 1) || strlen(name) > 200)
        return rag_fail(err, RAG_EINVAL, "metric name \"%s\" is not [a-zA-Z_:][a-zA-Z0-9_:]*",
                        name ? name : "(null)");
    if (kind == KIND_COUNTER && (!ends_with(name, "_total") || !strcmp(name, "_total")))
        return rag_fail(err, RAG_EINVAL, "counter %s: name must end in _total", name);
    if (kind != KIND_COUNTER && ends_with(name, "_total"))
        return rag_fail(err, RAG_EINVAL, "%s %s: only counters end in _total",
                        kind_name(kind), name);
    if (ends_with(name, "_bucket") || ends_with(name, "_sum") || ends_with(name, "_count"))
        return rag_fail(err, RAG_EINVAL,
                        "%s %s: _bucket, _sum and _count are a histogram's own names",
                        kind_name(kind), name);
    while (n < RAG_METRICS_MAX_LABELS && d->labels[n])
        n++;
    for (size_t i = 0; i < n; i++) {
        const char *l = d->labels[i];
        if (!valid_name(l, 0) || !strncmp(l, "__", 2))
            return rag_fail(err, RAG_EINVAL, "metric %s: label name \"%s\" is invalid",
                            name, l);
        if (kind == KIND_HISTOGRAM && !strcmp(l, "le"))
            return rag_fail(err, RAG_EINVAL, "histogram %s: label \"le\" is reserved", name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(l, d->labels[j]))
                return rag_fail(err, RAG_EINVAL, "metric %s: label \"%s\" given twice",
                                name, l);
    }
    if (n && d->max_series > RAG_METRICS_MAX_SERIES)
        return rag_fail(err, RAG_EINVAL, "metric %s: max_series %zu is over %d", name,
                        d->max_series, RAG_METRICS_MAX_SERIES);
    if (kind == KIND_HISTOGRAM && d->buckets) {
        if (d->n_buckets < 1 || d->n_buckets > RAG_METRICS_MAX_BUCKETS)
            return rag_fail(err, RAG_EINVAL, "histogram %s: %zu buckets (1..%d)", name,
                            d->n_buckets, RAG_METRICS_MAX_BUCKETS);
        for (size_t i = 0; i < d->n_buckets; i++) {
            if (!isfinite(d->buckets[i]))
                return rag_fail(err, RAG_EINVAL, "histogram %s: bucket %zu is not finite",
                                name, i);
            if (i && !(d->buckets[i] > d->buckets[i - 1]))
                return rag_fail(err, RAG_EINVAL,
                                "histogram %s: buckets must increase (bucket %zu)", name, i);
        }
    }
    *n_labels = n;
    return RAG_OK;
}

static void family_free(struct family *f)
{
    if (!f)
        return;
    if (f->slots)
        for (size_t i = 0; i <= f->mask; i++)
            rag_free(atomic_load_explicit(&f->slots[i], memory_order_relaxed));
    rag_free((void *)f->slots);
    rag_free(f->single);
    rag_free(f->other);
    rag_free(f->name);
    rag_free(f->help);
    for (size_t i = 0; i < f->n_labels; i++)
        rag_free(f->labels[i]);
    rag_free(f->bounds);
    rag_free(f);
}

static int family_build(struct family **out, rag_metrics *m, metric_kind kind,
                        const rag_metric_desc *d, size_t n_labels, rag_err *err)
{
    struct family *f = rag_calloc(1, sizeof *f);
    const double *bounds = d->buckets;
    size_t n_bounds = d->n_buckets;

    *out = NULL;
    if (!f)
        goto oom;
    f->owner = m;
    f->kind = kind;
    f->name = rag_strdup(d->name);
    if (!f->name)
        goto oom;
    {
        rag_buf hb = RAG_BUF_INIT;
        const char *h = d->help ? d->help : "";
        if (rag_utf8_sanitize(&hb, h, strlen(h), NULL) < 0) {
            rag_buf_fini(&hb);
            goto oom;
        }
        f->help = rag_buf_take(&hb);
        if (!f->help)
            goto oom;
    }
    for (size_t i = 0; i < n_labels; i++) {
        f->labels[i] = rag_strdup(d->labels[i]);
        if (!f->labels[i])
            goto oom;
        f->n_labels = i + 1;
    }
    if (kind == KIND_HISTOGRAM) {
        if (!bounds)
            bounds = rag_metrics_latency_buckets(&n_bounds);
        f->bounds = rag_malloc(n_bounds * sizeof *bounds);
        if (!f->bounds)
            goto oom;
        memcpy(f->bounds, bounds, n_bounds * sizeof *bounds);
        f->n_bounds = n_bounds;
    }
    atomic_init(&f->n_series, 0);
    if (!n_labels) {
        f->single = series_new(f, NULL, 0);
        if (!f->single)
            goto oom;
    } else {
        const char *other[RAG_METRICS_MAX_LABELS];
        size_t n_slots = 8;
        f->max_series = d->max_series ? d->max_series : RAG_METRICS_DEFAULT_MAX_SERIES;
        while (n_slots < 2 * f->max_series)
            n_slots *= 2;
        f->slots = rag_calloc(n_slots, sizeof *f->slots);
        if (!f->slots)
            goto oom;
        for (size_t i = 0; i < n_slots; i++)
            atomic_init(&f->slots[i], NULL);
        f->mask = n_slots - 1;
        for (size_t i = 0; i < n_labels; i++)
            other[i] = RAG_METRICS_OTHER;
        f->other = series_new(f, other, 0);
        if (!f->other)
            goto oom;
    }
    *out = f;
    return RAG_OK;
oom:
    family_free(f);
    return rag_fail(err, RAG_ENOMEM, "metric %s: out of memory", d->name);
}

int metrics_register_locked(struct family **out, rag_metrics *m, metric_kind kind,
                            const rag_metric_desc *d, int reuse, rag_err *err)
{
    struct family *f;
    size_t n_labels = 0;
    int rc;

    *out = NULL;
    if (!d)
        return rag_fail(err, RAG_EINVAL, "metric description is NULL");
    rc = check_desc(d, kind, &n_labels, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < m->n_fams; i++) {
        if (reuse && m->fams[i]->kind == kind && !strcmp(m->fams[i]->name, d->name)) {
            *out = m->fams[i];
            return RAG_OK;
        }
        if (names_clash(m->fams[i], d->name, kind))
            return rag_fail(err, RAG_EINVAL, "metric %s: name clashes with %s %s", d->name,
                            kind_name(m->fams[i]->kind), m->fams[i]->name);
    }
    if (m->n_fams == m->cap_fams) {
        size_t cap = m->cap_fams ? 2 * m->cap_fams : 16;
        struct family **p = rag_realloc(m->fams, cap * sizeof *p);
        if (!p)
            return rag_fail(err, RAG_ENOMEM, "metric %s: out of memory", d->name);
        m->fams = p;
        m->cap_fams = cap;
    }
    rc = family_build(&f, m, kind, d, n_labels, err);
    if (rc < 0)
        return rc;
    m->fams[m->n_fams++] = f;
    *out = f;
    return RAG_OK;
}

static int register_kind(struct family **out, rag_metrics *m, metric_kind kind,
                         const rag_metric_desc *d, rag_err *err)
{
    int rc;
    pthread_mutex_lock(&m->mu);
    rc = metrics_register_locked(out, m, kind, d, 0, err);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int rag_metrics_counter(rag_counter **out, rag_metrics *m, const rag_metric_desc *d,
                        rag_err *err)
{
    struct family *f;
    int rc = register_kind(&f, m, KIND_COUNTER, d, err);
    *out = rc < 0 ? NULL : (rag_counter *)f;
    return rc;
}

int rag_metrics_gauge(rag_gauge **out, rag_metrics *m, const rag_metric_desc *d,
                      rag_err *err)
{
    struct family *f;
    int rc = register_kind(&f, m, KIND_GAUGE, d, err);
    *out = rc < 0 ? NULL : (rag_gauge *)f;
    return rc;
}

int rag_metrics_histogram(rag_histogram **out, rag_metrics *m,
                          const rag_metric_desc *d, rag_err *err)
{
    struct family *f;
    int rc = register_kind(&f, m, KIND_HISTOGRAM, d, err);
    *out = rc < 0 ? NULL : (rag_histogram *)f;
    return rc;
}

int metrics_own_locked(rag_metrics *m, void *p)
{
    if (m->n_owned == m->cap_owned) {
        size_t cap = m->cap_owned ? 2 * m->cap_owned : 16;
        void **q = rag_realloc(m->owned, cap * sizeof *q);
        if (!q) {
            rag_free(p);
            return RAG_ENOMEM;
        }
        m->owned = q;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = p;
    return RAG_OK;
}

/* ---- the registry ------------------------------------------------------ */

int rag_metrics_create(rag_metrics **out, rag_err *err)
{
    rag_metrics *m = rag_calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return rag_fail(err, RAG_ENOMEM, "metrics registry: out of memory");
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return RAG_OK;
}

void rag_metrics_destroy(rag_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_fams; i++)
        family_free(m->fams[i]);
    rag_free(m->fams);
    for (size_t i = 0; i < m->n_owned; i++)
        rag_free(m->owned[i]);
    rag_free(m->owned);
    pthread_mutex_destroy(&m->mu);
    rag_free(m);
}

/* Register (or reuse) a gauge/counter family and bind one callback series;
 * caller holds m->mu. */
int metrics_bind_locked(rag_metrics *m, metric_kind kind, const char *name,
                        const char *help, const char *label, const char *const *values,
                        size_t max_series, rag_metric_fn fn, void *ud, rag_err *err)
{
    rag_metric_desc d = {.name = name, .help = help, .max_series = max_series};
    struct family *f;
    int rc;

    d.labels[0] = label;
    rc = metrics_register_locked(&f, m, kind, &d, 1, err);
    if (rc < 0)
        return rc;
    return metrics_bind_fn(f, values, fn, ud, err);
}
