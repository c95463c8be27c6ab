/* bench_hybrid.c - the whole retrieval path of `ask` without the LLM, on a
 * large index, with local MiniLM-shaped models: latency per stage and the
 * process's resident memory.
 *
 *   bench_hybrid BEIR_DIR DB MODELS_DIR [--queries N] [--threads T]
 *                [--precision f32|int8] [--vectors f32|int8] [--top-n N]
 *                [--max-batch B]
 *
 * DB is built from BEIR_DIR/corpus.jsonl when it does not exist (as
 * bench_bm25 does). MODELS_DIR holds the generated random-weight models of
 * `bench_encoder --dump MODELS_DIR` (encoder/ = BertModel, cross/ =
 * BertForSequenceClassification, both MiniLM-L6-shaped). The index gets one
 * synthetic unit vector per chunk for the encoder's model id when it lacks
 * them: embedding 100k+ chunks with a random-weight model would take an
 * hour on two cores and mean nothing; the query is embedded for real.
 *
 * Per query (after 2 warm-up queries): rag_search in hybrid mode (BM25 top
 * N + embed the query + kNN top N + RRF + rerank the top N with the local
 * cross-encoder) for the 5 context chunks, then the LLM prompt is built.
 * Prints p50/p99 of each stage and of the whole, then the process's
 * VmRSS / VmHWM. A second pass without the rerank stage follows.
 */
#include "common.h"

#include "embed/embed.h"
#include "eval/eval.h"
#include "generate/generate.h"
#include "rerank/rerank.h"
#include "retrieve/retrieve.h"
#include "index/store_sqlite.h"
#include "index/vector_index.h"

#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_Q 1000

/* VmRSS or VmHWM from /proc/self/status, in MB (0 if unknown). */
static double proc_mb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    size_t n = strlen(key);
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':')
            kb = atof(line + n + 1);
    fclose(f);
    return kb / 1024.0;
}

/* Where the resident memory is: anonymous (heap, JIT code, scratch) vs
 * file-backed (mapped model files, shared libraries), and malloc's view. */
static void print_memory(const char *when)
{
    struct mallinfo2 mi = mallinfo2();
    printf("  memory %s: RSS %.1f MB = anon %.1f + file %.1f; malloc in use %.1f MB "
           "(%.1f MB mmapped), free in heap %.1f MB\n",
           when, proc_mb("VmRSS"), proc_mb("RssAnon"), proc_mb("RssFile"),
           (double)(mi.uordblks + mi.hblkhd) / 1048576.0, (double)mi.hblkhd / 1048576.0,
           (double)mi.fordblks / 1048576.0);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One synthetic unit vector per chunk of model, unless every chunk has one. */
static int ensure_vectors(rag_index *ix, const char *model, size_t dim, rag_err *err)
{
    sqlite3 *db = rag_index_db(ix);
    sqlite3_stmt *st = NULL, *ins = NULL;
    int64_t have = 0, n = rag_index_n_chunks(ix);
    float *v = malloc(dim * sizeof *v);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    double t0 = rag_now_ms();
    int rc = RAG_OK;

    if (!v)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM vectors WHERE model = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        goto sql;
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        have = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (have >= n) {
        free(v);
        /* the int8 form a start loads (a no-op when it is stored already) */
        return rag_vector_int8_save(db, model, err) < 0 ? RAG_EIO : RAG_OK;
    }
    if (sqlite3_exec(db, "BEGIN; DELETE FROM vectors;", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT id FROM chunks", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO vectors(chunk_id, model, dim, data) "
                               "VALUES(?1, ?2, ?3, ?4)", -1, &ins, NULL) != SQLITE_OK)
        goto sql;
    while (sqlite3_step(st) == SQLITE_ROW) {
        double norm = 0;
        for (size_t j = 0; j < dim; j++) {
            /* sum of 4 uniforms: near-Gaussian, so directions are spread */
            double g = 0;
            for (int r = 0; r < 4; r++)
                g += (double)(xorshift(&seed) >> 11) / 9007199254740992.0 - 0.5;
            v[j] = (float)g;
            norm += g * g;
        }
        for (size_t j = 0; j < dim; j++)
            v[j] = (float)(v[j] / sqrt(norm));
        sqlite3_bind_int64(ins, 1, sqlite3_column_int64(st, 0));
        sqlite3_bind_text(ins, 2, model, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, (sqlite3_int64)dim);
        sqlite3_bind_blob(ins, 4, v, (int)(dim * sizeof *v), SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            goto sql;
        sqlite3_reset(ins);
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto sql;
    printf("wrote %lld synthetic %zu-d vectors for %s in %.1f s\n", (long long)n, dim, model,
           (rag_now_ms() - t0) / 1e3);
    if (rag_vector_int8_save(db, model, err) < 0)
        rc = RAG_EIO;
    goto done;
sql:
    rc = rag_fail(err, RAG_EIO, "%s: %s", rag_index_path(ix), sqlite3_errmsg(db));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
done:
    sqlite3_finalize(st);
    sqlite3_finalize(ins);
    free(v);
    return rc;
}

enum { ST_BM25, ST_EMBED, ST_KNN, ST_FUSE, ST_RERANK, ST_FETCH, ST_PROMPT, ST_TOTAL, N_ST };
static const char *const st_names[N_ST] = {"bm25", "embed", "knn", "fuse",
                                           "rerank", "fetch", "prompt", "total"};

static int run_pass(rag_index *ix, rag_retriever *r, char **q, size_t n_q, int no_rerank,
                    const char *label)
{
    double *lat[N_ST];
    rag_err err = {0};
    size_t reranked = 0;
    for (int s = 0; s < N_ST; s++)
        lat[s] = calloc(n_q, sizeof(double));
    for (size_t i = 0; i < n_q + 2; i++) {
        const char *query = q[i < 2 ? i : i - 2];
        rag_search_opts so = {.mode = RAG_MODE_HYBRID, .k = 5, .retriever = r,
                              .no_rerank = no_rerank};
        rag_prompt_opts po = rag_prompt_default_opts();
        rag_prompt p;
        rag_hits hits;
        double t0 = rag_now_ms(), tp;
        if (rag_search(&hits, ix, query, &so, &err) < 0) {
            fprintf(stderr, "bench_hybrid: %s\n", err.msg);
            return 1;
        }
        tp = rag_now_ms();
        if (rag_prompt_build(&p, query, &hits, hits.n, &po, &err) < 0) {
            fprintf(stderr, "bench_hybrid: %s\n", err.msg);
            return 1;
        }
        rag_prompt_fini(&p);
        if (i >= 2) {
            size_t k = i - 2;
            lat[ST_BM25][k] = hits.t.bm25;
            lat[ST_EMBED][k] = hits.t.embed;
            lat[ST_KNN][k] = hits.t.knn;
            lat[ST_FUSE][k] = hits.t.fuse;
            lat[ST_RERANK][k] = hits.t.rerank;
            lat[ST_FETCH][k] = hits.t.fetch;
            lat[ST_PROMPT][k] = rag_now_ms() - tp;
            lat[ST_TOTAL][k] = rag_now_ms() - t0;
            reranked += hits.reranked != 0;
        }
        if (hits.notice[0] && i == 0)
            printf("notice: %s\n", hits.notice);
        rag_hits_fini(&hits);
    }
    printf("%s (%zu queries, %zu reranked; RSS after: %.1f MB):\n", label, n_q, reranked,
           proc_mb("VmRSS"));
    for (int s = 0; s < N_ST; s++) {
        bench_sort(lat[s], n_q);
        printf("  %-7s p50 %8.2f ms   p99 %8.2f ms\n", st_names[s], lat[s][n_q / 2],
               lat[s][n_q * 99 / 100]);
        free(lat[s]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    rag_index *ix = NULL;
    rag_embedder *emb = NULL;
    rag_reranker *rr = NULL;
    rag_retriever *r = NULL;
    rag_err err = {0};
    rag_model_opts mo = rag_model_default_opts();
    rag_retriever_params rp;
    char path[4096], **q;
    size_t n_q, max_q = 100, top_n = 50;
    int vec_int8 = 1;
    double rss0;

    if (argc < 4) {
        fprintf(stderr, "usage: bench_hybrid BEIR_DIR DB MODELS_DIR [--queries N] "
                        "[--threads T] [--precision f32|int8] [--vectors f32|int8] "
                        "[--top-n N]\n");
        return 2;
    }
    rag_alloc_tune_process();   /* as the docrag CLI does (src/cli/main.c) */
    mo.precision = RAG_PRECISION_INT8;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--queries"))
            max_q = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            mo.n_threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--precision"))
            mo.precision = (rag_precision)rag_precision_parse(argv[i + 1]);
        else if (!strcmp(argv[i], "--vectors"))
            vec_int8 = !strcmp(argv[i + 1], "int8");
        else if (!strcmp(argv[i], "--max-batch"))
            mo.max_batch = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--top-n"))
            top_n = (size_t)atol(argv[i + 1]);
    }
    if (max_q < 1 || max_q > MAX_Q || (int)mo.precision < 0)
        return 2;
    if (bench_build_corpus_index("bench_hybrid", argv[1], argv[2]))
        return 1;
    snprintf(path, sizeof path, "%s/encoder", argv[3]);
    if (rag_index_open(&ix, argv[2], 0, &err) < 0 ||
        rag_embedder_local_create(&emb, path, &mo, &err) < 0 ||
        ensure_vectors(ix, rag_embedder_model_id(emb), rag_embedder_dim(emb), &err) < 0) {
        fprintf(stderr, "bench_hybrid: %s\n", err.msg);
        return 1;
    }
    /* Measure from a fresh open, as a serving process would start. */
    rag_embedder_destroy(emb);
    rag_index_close(ix);
    emb = NULL;
    ix = NULL;
    rss0 = proc_mb("VmRSS");
    snprintf(path, sizeof path, "%s/encoder", argv[3]);
    if (rag_index_open(&ix, argv[2], RAG_INDEX_READ_ONLY, &err) < 0 ||
        rag_embedder_local_create(&emb, path, &mo, &err) < 0) {
        fprintf(stderr, "bench_hybrid: %s\n", err.msg);
        return 1;
    }
    printf("RSS with the index open and the embedder loaded: %.1f MB\n", proc_mb("VmRSS"));
    snprintf(path, sizeof path, "%s/cross", argv[3]);
    if (rag_reranker_local_create(&rr, path, &mo, &err) < 0) {
        fprintf(stderr, "bench_hybrid: %s\n", err.msg);
        return 1;
    }
    memset(&rp, 0, sizeof rp);
    rp.fusion = RAG_FUSION_RRF;
    rp.rrf_k = 60;
    rp.rerank_weight = 1;
    rp.candidates = top_n;
    rp.rerank_top_n = top_n;
    rp.int8 = vec_int8;
    printf("RSS with the reranker loaded too: %.1f MB\n", proc_mb("VmRSS"));
    if (rag_retriever_create(&r, ix, &rp, emb, rr, &err) < 0) {
        fprintf(stderr, "bench_hybrid: %s\n", err.msg);
        return 1;
    }
    if (!rag_retriever_has_dense(r)) {
        fprintf(stderr, "bench_hybrid: no dense search: %s\n", rag_retriever_dense_reason(r));
        return 1;
    }
    if (!(q = bench_load_queries("bench_hybrid", argv[1], max_q, &n_q)))
        return 1;
    if (n_q < 3) {
        fprintf(stderr, "bench_hybrid: %s/queries.jsonl: fewer than 3 queries\n", argv[1]);
        return 1;
    }
    printf("index %s: %lld chunks; models %s (%s, %d threads); vectors in memory: %s; "
           "top-n %zu\n", argv[2], (long long)rag_index_n_chunks(ix), argv[3],
           rag_precision_name(mo.precision), mo.n_threads, vec_int8 ? "int8" : "f32", top_n);
    printf("RSS after loading index, vectors and both models: %.1f MB (before: %.1f MB)\n",
           proc_mb("VmRSS"), rss0);
    print_memory("after loading");
    if (run_pass(ix, r, q, n_q, 0, "hybrid + rerank + prompt") ||
        run_pass(ix, r, q, n_q, 1, "hybrid + prompt, no rerank"))
        return 1;
    printf("process RSS at the end: %.1f MB, peak (VmHWM): %.1f MB\n", proc_mb("VmRSS"),
           proc_mb("VmHWM"));
    print_memory("at the end");
    rag_retriever_destroy(r);
    rag_index_close(ix);
    bench_free_queries(q, n_q);
    return 0;
}
