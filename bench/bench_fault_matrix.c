/* bench_fault_matrix.c - N questions through an LLM chain whose first
 * back-end fails in randomised ways; every question must be answered by a
 * later back-end (or fail with a clear error), nothing may crash, and no
 * secret may appear in any log line, notice or error.
 *
 * Chain: first (hf_providers wire, on the mock, faulted) -> second (Ollama
 * wire, on the mock, healthy) -> extractive. The "refused" fault uses a
 * twin chain whose first back-end points at a closed port. Each question
 * picks a fault uniformly and makes it transient (1 occurrence, so a retry
 * may absorb it) or persistent (for the whole question) with probability
 * 1/2. Breakers are off so every question meets its fault; retries are 1
 * with 5-20 ms backoff, server waits capped at 50 ms, timeout 300 ms.
 *
 * Usage: bench_fault_matrix MOCK_URL [n_questions=1000] [seed=1]
 * (bench/fault_matrix.sh starts tests/support/mock_api.py and runs this.)
 * Exit status 0 only if every question was answered or failed clearly,
 * and no secret leaked.
 */
#include "config/config.h"
#include "generate/generate.h"
#include "index/index.h"
#include "llm/llm.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SECRET "hf_FaultMatrixSecret4242"

static const char *const FAULTS[] = {
    "none", "slow;ms=150", "hang;ms=1500", "429", "429;retry_after=1", "500", "502",
    "503", "503;estimated_time=1", "401", "413", "422", "malformed", "cut;after=3",
    "refused", "reflect;code=400",
};
#define N_FAULTS (sizeof FAULTS / sizeof FAULTS[0])

static const char *const QUESTIONS[] = {
    "Which register holds the vector length?",
    "What controls which elements are active in a masked vector operation?",
    "Which instruction sets the vector length register?",
    "What does the floating point status register fcsr hold?",
};

typedef struct {
    int n, by_first, by_second, by_extractive, errors, clear_errors;
    double *added;
    int n_added;
} fault_stats;

static rag_buf logbuf = RAG_BUF_INIT;
static int leaks;

static void sink(rag_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    if (strstr(msg, SECRET) || strstr(msg, "FaultMatrixSecret"))
        leaks++;
    if (logbuf.len < (1u << 20)) {
        rag_buf_puts(&logbuf, msg);
        rag_buf_putc(&logbuf, '\n');
    }
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

static void post(CURL *c, const char *base, const char *route, const char *json)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, route);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json ? json : "{}");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    /* a fresh connection per control call: the mock writes headers and body
     * separately, which on a reused connection meets Nagle + delayed ACK */
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    if (curl_easy_perform(c) != CURLE_OK) {
        fprintf(stderr, "bench_fault_matrix: mock control %s failed\n", route);
        exit(2);
    }
}

static int closed_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t n = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &n) < 0)
        return 1;
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static rag_llm_chain *chain_for(const char *first_url, const char *mock)
{
    static const rag_net_retry_policy retry = {2, 5, 20, 50, 3000, 1};
    static const rag_net_breaker_policy off = {0, 0, 0, 1000, 1000, 1};
    rag_backend_cfg a = {0}, b = {0}, e = {0};
    const rag_backend_cfg *list[3] = {&a, &b, &e};
    rag_llm_tuning t = {0};
    rag_llm_chain *c = NULL;
    rag_err err = {0};
    char url_b[128];
    snprintf(url_b, sizeof url_b, "%s", mock);
    a.name = (char *)"first";
    a.type = (char *)"hf_providers";
    a.url = (char *)first_url;
    a.model = (char *)"meta-llama/Llama-3.1-8B-Instruct:fastest";
    a.api_key = (char *)SECRET;
    a.timeout_ms = 300;
    a.connect_timeout_ms = 200;
    a.max_retries = 1;
    a.enabled = 1;
    b.name = (char *)"second";
    b.type = (char *)"ollama";
    b.url = url_b;
    b.model = (char *)"llama3.2";
    b.timeout_ms = 3000;
    b.max_retries = 1;
    b.enabled = 1;
    e.name = (char *)"extractive";
    e.type = (char *)"extractive";
    e.enabled = 1;
    t.retry = &retry;
    t.breaker = &off;
    t.idle_timeout_ms = 250;
    if (rag_llm_chain_create_from(&c, list, 3, &t, &err) < 0) {
        fprintf(stderr, "bench_fault_matrix: %s\n", err.msg);
        exit(2);
    }
    return c;
}

static rag_index *build_index(void)
{
    static const char doc_a[] =
        "# Vector unit\n\nThe vector length register vl holds the number of elements "
        "that vector instructions process. Software sets vl with the vsetvli "
        "instruction.\n\n## Masks\n\nMask register v0 controls which elements are "
        "active in a masked vector operation.\n";
    static const char doc_b[] =
        "# Floating point\n\nThe floating point status register fcsr holds the "
        "rounding mode and the accrued exception flags.\n";
    char tmpl[] = "/tmp/docrag_faultmatrix_XXXXXX";
    char *dir = mkdtemp(tmpl), pa[256], pb[256], db[256];
    const char *paths[2] = {pa, pb};
    rag_config *cfg = NULL;
    rag_config_source src = {0};
    rag_indexer_opts io;
    rag_indexer_report rep;
    rag_index *ix = NULL;
    FILE *f;
    if (!dir)
        exit(2);
    snprintf(pa, sizeof pa, "%s/vector.md", dir);
    snprintf(pb, sizeof pb, "%s/fp.md", dir);
    snprintf(db, sizeof db, "%s/t.db", dir);
    if (!(f = fopen(pa, "w")) || fputs(doc_a, f) < 0 || fclose(f))
        exit(2);
    if (!(f = fopen(pb, "w")) || fputs(doc_b, f) < 0 || fclose(f))
        exit(2);
    src.yaml_text = "profile: local\n";
    src.yaml_len = strlen(src.yaml_text);
    if (rag_config_load(&cfg, &src, NULL) < 0 || rag_index_open(&ix, db, 0, NULL) < 0)
        exit(2);
    io = rag_indexer_opts_from_config(cfg);
    if (rag_indexer_run(ix, paths, 2, &io, NULL, &rep, NULL) < 0 || rep.n_added != 2)
        exit(2);
    rag_config_destroy(cfg);
    return ix;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return v[(int)(p * (n - 1) + 0.5)];
}

int main(int argc, char **argv)
{
    const char *mock = argc > 1 ? argv[1] : NULL;
    int n_q = argc > 2 ? atoi(argv[2]) : 1000;
    unsigned seed = argc > 3 ? (unsigned)atoi(argv[3]) : 1;
    char url_ok[160], url_dead[96];
    fault_stats st[N_FAULTS];
    rag_llm_chain *good, *dead;
    rag_index *ix;
    CURL *c;
    double base_ms[64];
    int n_base = 0, unclear = 0;
    double t_all;

    if (!mock || n_q <= 0) {
        fprintf(stderr, "usage: bench_fault_matrix MOCK_URL [n_questions] [seed]\n");
        return 2;
    }
    srand(seed);
    rag_log_set(sink, NULL);
    rag_log_set_level(RAG_LOG_DEBUG);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c = curl_easy_init();
    snprintf(url_ok, sizeof url_ok, "%s/v1", mock);
    snprintf(url_dead, sizeof url_dead, "http://127.0.0.1:%d/v1", closed_port());
    good = chain_for(url_ok, mock);
    dead = chain_for(url_dead, mock);
    ix = build_index();
    memset(st, 0, sizeof st);
    for (size_t f = 0; f < N_FAULTS; f++)
        st[f].added = calloc((size_t)n_q + 1, sizeof(double));

    /* baseline: healthy first back-end, same per-question set-up */
    for (int i = 0; i < 40; i++) {
        rag_ask_opts o = rag_ask_default_opts();
        rag_answer a;
        rag_ask_timings t;
        post(c, mock, "/_mock/reset", NULL);
        post(c, mock, "/_mock/chat", "{\"default\":\"The vl register holds it [1].\"}");
        o.llm = good;
        if (rag_ask(&a, &t, ix, QUESTIONS[i % 4], &o, NULL) == RAG_OK &&
            !strcmp(a.backend, "first"))
            base_ms[n_base++] = t.total_ms;
        rag_answer_fini(&a);
    }
    {
        double tmp[64];
        memcpy(tmp, base_ms, sizeof tmp);
        printf("baseline (healthy first back-end): n=%d p50=%.1f ms p99=%.1f ms\n", n_base,
               pct(tmp, n_base, 0.5), pct(tmp, n_base, 0.99));
        base_ms[0] = pct(tmp, n_base, 0.5);
    }

    t_all = rag_now_ms();
    for (int i = 0; i < n_q; i++) {
        size_t f = (size_t)rand() % N_FAULTS;
        int persistent = rand() % 2;
        rag_ask_opts o = rag_ask_default_opts();
        rag_answer a;
        rag_ask_timings t;
        rag_err err = {0};
        char json[200];
        int rc;
        post(c, mock, "/_mock/reset", NULL);
        post(c, mock, "/_mock/chat", "{\"default\":\"The vl register holds it [1].\"}");
        if (strcmp(FAULTS[f], "none") && strcmp(FAULTS[f], "refused")) {
            snprintf(json, sizeof json,
                     "{\"faults\":[{\"fault\":\"%s\",\"path\":\"/v1/chat\",\"count\":%d}]}",
                     FAULTS[f], persistent ? 99 : 1);
            post(c, mock, "/_mock/faults", json);
        }
        o.llm = strcmp(FAULTS[f], "refused") ? good : dead;
        rc = rag_ask(&a, &t, ix, QUESTIONS[i % 4], &o, &err);
        st[f].n++;
        if (rc == RAG_OK) {
            if (!strcmp(a.backend, "first"))
                st[f].by_first++;
            else if (!strcmp(a.backend, "second"))
                st[f].by_second++;
            else
                st[f].by_extractive++;
            if (!a.answer || !a.answer[0])
                unclear++;
            if (a.notice && strstr(a.notice, "FaultMatrixSecret"))
                leaks++;
            if (a.answer && strstr(a.answer, "FaultMatrixSecret"))
                leaks++;
            st[f].added[st[f].n_added++] = t.total_ms - base_ms[0];
            rag_answer_fini(&a);
        } else {
            st[f].errors++;
            if (strstr(err.msg, "FaultMatrixSecret"))
                leaks++;
            if (err.msg[0] && strstr(err.msg, "first"))
                st[f].clear_errors++;
            else
                unclear++;
        }
    }
    t_all = rag_now_ms() - t_all;

    printf("\n%-22s %5s %7s %7s %7s %6s %9s %12s %12s\n", "fault", "n", "first", "second",
           "extract", "error", "fallback", "added p50", "added p99");
    {
        int tot = 0, answered = 0, fell = 0;
        for (size_t f = 0; f < N_FAULTS; f++) {
            fault_stats *s = &st[f];
            int fb = s->by_second + s->by_extractive;
            tot += s->n;
            answered += s->by_first + fb;
            fell += fb;
            printf("%-22s %5d %7d %7d %7d %6d %8.1f%% %9.1f ms %9.1f ms\n", FAULTS[f], s->n,
                   s->by_first, s->by_second, s->by_extractive, s->errors,
                   s->n ? 100.0 * fb / s->n : 0, pct(s->added, s->n_added, 0.5),
                   pct(s->added, s->n_added, 0.99));
        }
        printf("\nquestions %d, answered %d (%.2f%%), fell back %d, unclear failures %d, "
               "secret leaks %d, crashes 0, %.1f s\n",
               tot, answered, 100.0 * answered / tot, fell, unclear, leaks, t_all / 1000);
        if (strstr(logbuf.data ? logbuf.data : "", "FaultMatrixSecret"))
            leaks++;
    }
    for (size_t f = 0; f < N_FAULTS; f++)
        free(st[f].added);
    rag_llm_chain_destroy(good);
    rag_llm_chain_destroy(dead);
    rag_index_close(ix);
    curl_easy_cleanup(c);
    rag_buf_fini(&logbuf);
    rag_log_set(NULL, NULL);
    return unclear == 0 && leaks == 0 ? 0 : 1;
}
