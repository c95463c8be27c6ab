/* bench_inproc_search.c - search throughput and latency through docrag.h
 * in-process: the peer `bench/serve.sh` measures `POST /v1/search` against.
 *
 *   bench_inproc_search BEIR_DIR DB [--threads N] [--seconds S] [--warmup S]
 *                       [--queries N] [--k K] [--mode bm25|dense|hybrid]
 *                       [--set KEY=VALUE]... [--cli-malloc]
 *
 * One docrag_engine on DB (built from BEIR_DIR/corpus.jsonl when missing,
 * as bench_bm25 does), N threads each with its own docrag_session, the
 * queries of BEIR_DIR/queries.jsonl in turn (thread i starts at query
 * i * n / N), closed loop: each thread sends its next query when the last
 * one returned, as wrk's connections do. Every call renders the JSON the
 * server sends (docrag_search on a session set to DOCRAG_OUT_PUBLIC, as the
 * server's are), so what the HTTP figures add is the server: parsing, the
 * loop/worker hand-off, the socket.
 *
 * After --warmup seconds (all threads, not timed) the threads run for
 * --seconds and report queries/s and p50/p90/p99 of every query that
 * finished in that window, then one machine-readable line:
 *   RESULT malloc=default|cli threads=N queries=Q seconds=S qps=X p50_ms=A
 *          p90_ms=B p99_ms=C mean_ms=M
 * Pin it with taskset to compare with a pinned server.
 *
 * --cli-malloc sets up malloc as the docrag binary does before it serves
 * (rag_alloc_tune_process: a fixed 1 MB mmap threshold), so the peer
 * differs from `docrag serve` by the HTTP server only; without it the peer
 * is a plain docrag.h program on glibc's defaults.
 */
#include "common.h"

#include "docrag.h"

#include "core/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MAX_SETS 32

typedef struct {
    docrag_engine *e;
    char **q;
    size_t n_q;
    size_t first;                /* index of this thread's first query */
    docrag_search_opts so;
    _Atomic int *phase;          /* 0 warm-up, 1 timed, 2 stop */
    double *lat;                 /* latencies (ms) of timed queries, grown */
    size_t n_lat, cap_lat;
    int failed;
} worker;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *run(void *arg)
{
    worker *w = arg;
    docrag_session *s = NULL;
    docrag_error err;
    size_t i = w->first;

    if (docrag_session_open(&s, w->e, &err) != 0) {
        fprintf(stderr, "bench_inproc_search: session: %s\n", err.msg);
        w->failed = 1;
        return NULL;
    }
    docrag_session_set_output(s, DOCRAG_OUT_PUBLIC);
    for (;;) {
        int phase = atomic_load(w->phase);
        char *json = NULL;
        double t0, ms;
        if (phase == 2)
            break;
        t0 = now_ms();
        if (docrag_search(s, w->q[i], &w->so, &json, &err) != 0) {
            fprintf(stderr, "bench_inproc_search: query %zu: %s\n", i, err.msg);
            w->failed = 1;
            break;
        }
        ms = now_ms() - t0;
        docrag_free(json);
        /* counted only if it started and ended inside the timed window */
        if (phase == 1 && atomic_load(w->phase) == 1) {
            if (w->n_lat == w->cap_lat) {
                size_t cap = w->cap_lat ? 2 * w->cap_lat : 4096;
                double *p = realloc(w->lat, cap * sizeof *p);
                if (!p) {
                    w->failed = 1;
                    break;
                }
                w->lat = p;
                w->cap_lat = cap;
            }
            w->lat[w->n_lat++] = ms;
        }
        i = (i + 1) % w->n_q;
    }
    docrag_session_close(s);
    return NULL;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int main(int argc, char **argv)
{
    docrag_engine_opts eo;
    docrag_engine *e = NULL;
    docrag_error err;
    docrag_search_opts so;
    const char *sets[MAX_SETS];
    size_t n_sets = 0, n_q = 0, max_q = 1000, n_all = 0;
    int n_threads = 1, failed = 0, cli_malloc = 0;
    double seconds = 10, warmup = 2, t_start, t_end, sum = 0;
    char **q;
    worker w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    _Atomic int phase = 0;
    double *all;

    if (argc < 3) {
        fprintf(stderr, "usage: bench_inproc_search BEIR_DIR DB [--threads N] [--seconds S] "
                        "[--warmup S] [--queries N] [--k K] [--mode M] [--set KEY=VALUE]... "
                        "[--cli-malloc]\n");
        return 2;
    }
    docrag_search_opts_init(&so);
    so.k = 10;
    so.mode = "bm25";
    for (int i = 3; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--cli-malloc")) {
            cli_malloc = 1;
            i--;
        } else if (!strcmp(a, "--threads"))
            n_threads = atoi(v);
        else if (!strcmp(a, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atof(v);
        else if (!strcmp(a, "--queries"))
            max_q = (size_t)atol(v);
        else if (!strcmp(a, "--k"))
            so.k = atoi(v);
        else if (!strcmp(a, "--mode"))
            so.mode = v;
        else if (!strcmp(a, "--set") && n_sets < MAX_SETS)
            sets[n_sets++] = v;
        else {
            fprintf(stderr, "bench_inproc_search: unknown option %s\n", a);
            return 2;
        }
    }
    if (cli_malloc)
        rag_alloc_tune_process();
    if (n_threads < 1 || n_threads > MAX_THREADS || seconds <= 0 || warmup < 0 || !max_q)
        return 2;
    if (bench_build_corpus_index("bench_inproc_search", argv[1], argv[2]))
        return 1;
    if (!(q = bench_load_queries("bench_inproc_search", argv[1], max_q, &n_q)) || !n_q)
        return 1;
    docrag_engine_opts_init(&eo);
    eo.db_path = argv[2];
    eo.sets = sets;
    eo.n_sets = n_sets;
    eo.quiet = 1;
    if (docrag_engine_open(&e, &eo, &err) != 0) {
        fprintf(stderr, "bench_inproc_search: %s\n", err.msg);
        return 1;
    }
    for (int t = 0; t < n_threads; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].e = e;
        w[t].q = q;
        w[t].n_q = n_q;
        w[t].first = (size_t)t * n_q / (size_t)n_threads;
        w[t].so = so;
        w[t].phase = &phase;
        if (pthread_create(&th[t], NULL, run, &w[t]) != 0) {
            fprintf(stderr, "bench_inproc_search: cannot start a thread\n");
            return 1;
        }
    }
    sleep_s(warmup);
    t_start = now_ms();
    atomic_store(&phase, 1);
    sleep_s(seconds);
    atomic_store(&phase, 2);
    t_end = now_ms();
    for (int t = 0; t < n_threads; t++) {
        pthread_join(th[t], NULL);
        failed |= w[t].failed;
        n_all += w[t].n_lat;
    }
    if (failed || !n_all)
        return 1;
    all = malloc(n_all * sizeof *all);
    n_all = 0;
    for (int t = 0; t < n_threads; t++) {
        memcpy(all + n_all, w[t].lat, w[t].n_lat * sizeof *all);
        n_all += w[t].n_lat;
        free(w[t].lat);
    }
    for (size_t i = 0; i < n_all; i++)
        sum += all[i];
    bench_sort(all, n_all);
    printf("in-process docrag_search (%s, k %d, %s malloc): %d thread%s, %zu queries in %.2f s "
           "(%zu distinct): %.1f q/s; p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, mean %.3f ms\n",
           so.mode, so.k, cli_malloc ? "CLI" : "default", n_threads,
           n_threads == 1 ? "" : "s", n_all,
           (t_end - t_start) / 1e3, n_q, n_all / ((t_end - t_start) / 1e3),
           all[n_all / 2], all[n_all * 9 / 10], all[n_all * 99 / 100], sum / n_all);
    printf("RESULT malloc=%s threads=%d queries=%zu seconds=%.3f qps=%.1f p50_ms=%.3f "
           "p90_ms=%.3f p99_ms=%.3f mean_ms=%.3f\n",
           cli_malloc ? "cli" : "default", n_threads, n_all, (t_end - t_start) / 1e3,
           n_all / ((t_end - t_start) / 1e3),
           all[n_all / 2], all[n_all * 9 / 10], all[n_all * 99 / 100], sum / n_all);
    free(all);
    docrag_engine_close(e);
    bench_free_queries(q, n_q);
    return 0;
}
