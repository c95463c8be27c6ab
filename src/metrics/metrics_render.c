/* metrics_render.c - rag_metrics_render: the Prometheus text exposition
 * format, version 0.0.4 (metrics.h).
 *
 * The format, per family:
 *   # HELP <name> <help, with \ as \\ and newline as \n>
 *   # TYPE <name> counter|gauge|histogram
 *   <name>{<label>="<value, with \ as \\, " as \" and newline as \n>",...} <value>
 * a histogram's series as <name>_bucket{...,le="<bound>"} <cumulative
 * count> for every bound and le="+Inf", then <name>_sum and <name>_count.
 * Values are Go ParseFloat syntax: integers as such, other finite values
 * in the shortest %g form that reads back to the same double, and NaN,
 * +Inf, -Inf. No timestamps: the scrape time is the sample time.
 *
 * Buckets are read once, one after the other, and summed as they are read,
 * so the cumulative counts never decrease and le="+Inf" always equals
 * _count even while other threads observe; _sum may include an
 * observation whose bucket was read before it landed.
 */
#include "metrics/metrics_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fmt_double(char out[40], double v)
{
    if (isnan(v)) {
        strcpy(out, "NaN");
    } else if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
    } else if (v == 0) {
        strcpy(out, "0");
    } else if (fabs(v) < 9007199254740992.0 && v == trunc(v)) {
        snprintf(out, 40, "%.0f", v);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(out, 40, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

static int put_escaped(rag_buf *b, const char *s, int quote)
{
    /* (the exposition format's escaping: \\ and \n, and \" in label values) */
    const char *run = s;
    int rc = RAG_OK;

    for (const char *p = s; *p && rc == RAG_OK; p++) {
        const char *rep = NULL;
        if (*p == '\\')
            rep = "\\\\";
        else if (*p == '\n')
            rep = "\\n";
        else if (quote && *p == '"')
            rep = "\\\"";
        if (!rep)
            continue;
        rc = rag_buf_append(b, run, (size_t)(p - run));
        if (rc == RAG_OK)
            rc = rag_buf_puts(b, rep);
        run = p + 1;
    }
    if (rc == RAG_OK)
        rc = rag_buf_puts(b, run);
    return rc;
}

/* name{labels[,le="..."]} */
static int put_sample_name(rag_buf *b, const struct family *f, const struct series *s,
                           const char *suffix, const char *le)
{
    int rc = rag_buf_puts(b, f->name);
    if (rc == RAG_OK)
        rc = rag_buf_puts(b, suffix);
    if (rc < 0 || (!f->n_labels && !le))
        return rc;
    rc = rag_buf_putc(b, '{');
    for (size_t i = 0; i < f->n_labels && rc == RAG_OK; i++) {
        rc = rag_buf_printf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
        if (rc == RAG_OK)
            rc = put_escaped(b, s->values[i], 1);
        if (rc == RAG_OK)
            rc = rag_buf_putc(b, '"');
    }
    if (le && rc == RAG_OK)
        rc = rag_buf_printf(b, "%sle=\"%s\"", f->n_labels ? "," : "", le);
    if (rc == RAG_OK)
        rc = rag_buf_putc(b, '}');
    return rc;
}

static int put_value_line(rag_buf *b, const char *value)
{
    int rc = rag_buf_putc(b, ' ');
    if (rc == RAG_OK)
        rc = rag_buf_puts(b, value);
    if (rc == RAG_OK)
        rc = rag_buf_putc(b, '\n');
    return rc;
}

static int render_histogram_series(rag_buf *b, const struct family *f, struct series *s)
{
    char num[40], le[40];
    uint64_t run = 0;
    int rc = RAG_OK;

    for (size_t i = 0; i <= f->n_bounds && rc == RAG_OK; i++) {
        run += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        if (i < f->n_bounds)
            fmt_double(le, f->bounds[i]);
        else
            strcpy(le, "+Inf");
        snprintf(num, sizeof num, "%" PRIu64, run);
        rc = put_sample_name(b, f, s, "_bucket", le);
        if (rc == RAG_OK)
            rc = put_value_line(b, num);
    }
    if (rc == RAG_OK) {
        fmt_double(num, bits_to_double(atomic_load_explicit(&s->bits, memory_order_relaxed)));
        rc = put_sample_name(b, f, s, "_sum", NULL);
    }
    if (rc == RAG_OK)
        rc = put_value_line(b, num);
    if (rc == RAG_OK) {
        snprintf(num, sizeof num, "%" PRIu64, run);
        rc = put_sample_name(b, f, s, "_count", NULL);
    }
    if (rc == RAG_OK)
        rc = put_value_line(b, num);
    return rc;
}

/* Value text of a counter or gauge series; 0 = leave it out. */
static int scalar_text(const struct family *f, struct series *s, char num[40])
{
    double v;

    if (s->fn) {
        if (s->fn(&v, s->fn_userdata) != 0)
            return 0;
        fmt_double(num, v);
        return 1;
    }
    if (f->kind == KIND_COUNTER) {
        uint64_t n = atomic_load_explicit(&s->n, memory_order_relaxed);
        double frac = bits_to_double(atomic_load_explicit(&s->bits, memory_order_relaxed));
        if (frac == 0)
            snprintf(num, 40, "%" PRIu64, n);
        else
            fmt_double(num, (double)n + frac);
        return 1;
    }
    fmt_double(num, metrics_series_value(f, s));
    return 1;
}

static int render_family(rag_buf *b, struct family *f)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    struct series **v = NULL;
    size_t n = 0, n_samples = 0, start = b->len;
    int rc;

    rc = metrics_series_sorted(f, &v, &n);
    if (rc < 0)
        return rc;
    if (f->help[0]) {
        rc = rag_buf_printf(b, "# HELP %s ", f->name);
        if (rc == RAG_OK)
            rc = put_escaped(b, f->help, 0);
        if (rc == RAG_OK)
            rc = rag_buf_putc(b, '\n');
    }
    if (rc == RAG_OK)
        rc = rag_buf_printf(b, "# TYPE %s %s\n", f->name, type_names[f->kind]);
    for (size_t i = 0; i < n && rc == RAG_OK; i++) {
        char num[40];
        if (f->kind == KIND_HISTOGRAM) {
            rc = render_histogram_series(b, f, v[i]);
            n_samples++;
            continue;
        }
        if (!scalar_text(f, v[i], num))
            continue;
        rc = put_sample_name(b, f, v[i], "", NULL);
        if (rc == RAG_OK)
            rc = put_value_line(b, num);
        n_samples++;
    }
    rag_free(v);
    if (rc == RAG_OK && !n_samples) { /* nothing to show: no header either */
        b->len = start;
        if (b->data)
            b->data[b->len] = '\0';
    }
    return rc;
}

static int cmp_family(const void *a, const void *b)
{
    return strcmp((*(struct family *const *)a)->name, (*(struct family *const *)b)->name);
}

int rag_metrics_render(rag_metrics *m, rag_buf *out, rag_err *err)
{
    size_t start = out->len;
    struct family **fams;
    int rc = RAG_OK;

    pthread_mutex_lock(&m->mu);
    fams = rag_malloc((m->n_fams ? m->n_fams : 1) * sizeof *fams);
    if (!fams) {
        pthread_mutex_unlock(&m->mu);
        return rag_fail(err, RAG_ENOMEM, "metrics: out of memory rendering");
    }
    if (m->n_fams)
        memcpy(fams, m->fams, m->n_fams * sizeof *fams);
    qsort(fams, m->n_fams, sizeof *fams, cmp_family);
    for (size_t i = 0; i < m->n_fams && rc == RAG_OK; i++)
        rc = render_family(out, fams[i]);
    pthread_mutex_unlock(&m->mu);
    rag_free(fams);
    if (rc < 0) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        return rag_fail(err, rc, "metrics: %s rendering the exposition",
                        rc == RAG_ELIMIT ? "output over its size cap" : "out of memory");
    }
    /* An empty registry is an empty (valid) exposition; out->data is set. */
    rc = rag_buf_append(out, "", 0);
    return rc < 0 ? rag_fail(err, rc, "metrics: out of memory rendering") : RAG_OK;
}

int rag_metrics_escape_label(rag_buf *out, const char *value)
{
    return put_escaped(out, value, 1);
}
