/* bench_encoder.c - throughput of the BERT encoder and cross-encoder.
 *
 * Builds a MiniLM-L6-shaped model (hidden 384, 6 layers, 12 heads, FFN
 * 1536, vocab 30522, max_position 512) with random weights, writes it as an
 * f32 model.safetensors folder under $TMPDIR, and loads it the normal way.
 * Reports, per precision / threads / sequence length (batch 32):
 *   tokens/s, matmul GFLOP/s (2*M*N*K over every linear layer and the two
 *   attention products) and that rate as a fraction of the fp32 peak
 *   (117 GFLOP/s per core on the reference machine; --peak to change);
 * cross-encoder rerank latency of 50 passages x 256 tokens (p50 of runs);
 * and resident memory after loading against the weight file size.
 *
 *   bench_encoder [--iters N] [--threads 1,2] [--seqs 128,256] [--peak G]
 *                 [--precisions f32,bf16,int8] [--no-rerank] [--rerank-batch N]
 *                 [--dump DIR]
 * --dump DIR keeps the generated model folders in DIR (for bench/ort) and
 * reuses them when they are already there.
 */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HID 384
#define LAYERS 6
#define HEADS 12
#define FFN 1536
#define VOCAB 30522
#define MAXPOS 512

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static float frand(void)   /* uniform in [-1, 1) */
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

typedef struct {
    char name[128];
    int d0, d1;
    float scale, offset;
} tspec;

static size_t add(tspec *t, size_t n, const char *name, int d0, int d1, float scale,
                  float offset)
{
    snprintf(t[n].name, sizeof t[n].name, "%s", name);
    t[n].d0 = d0;
    t[n].d1 = d1;
    t[n].scale = scale;
    t[n].offset = offset;
    return n + 1;
}

static int write_model(const char *dir, int cross)
{
    static tspec t[256];
    size_t n = 0, off = 0, hcap = 65536, ho = 0;
    char path[1024], *hdr = malloc(hcap), name[128];
    FILE *f;
    const char *pre = cross ? "bert." : "";
    float ws = 1.0f / sqrtf((float)HID);

    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/config.json", dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\"architectures\": [\"%s\"], \"model_type\": \"bert\", \"hidden_size\": %d, "
            "\"num_hidden_layers\": %d, \"num_attention_heads\": %d, \"intermediate_size\": %d, "
            "\"vocab_size\": %d, \"max_position_embeddings\": %d, \"type_vocab_size\": 2, "
            "\"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-12%s}\n",
            cross ? "BertForSequenceClassification" : "BertModel", HID, LAYERS, HEADS, FFN,
            VOCAB, MAXPOS, cross ? ", \"num_labels\": 1" : "");
    fclose(f);

#define T(nm, a, b, s, o)                                         \
    do {                                                          \
        snprintf(name, sizeof name, "%s%s", pre, nm);             \
        n = add(t, n, name, a, b, s, o);                          \
    } while (0)
    T("embeddings.word_embeddings.weight", VOCAB, HID, 0.5f, 0);
    T("embeddings.position_embeddings.weight", MAXPOS, HID, 0.3f, 0);
    T("embeddings.token_type_embeddings.weight", 2, HID, 0.3f, 0);
    T("embeddings.LayerNorm.weight", HID, 0, 0.1f, 1);
    T("embeddings.LayerNorm.bias", HID, 0, 0.1f, 0);
    for (int l = 0; l < LAYERS; l++) {
        char nm[128];
        static const char *const qkv[3] = {"query", "key", "value"};
        for (int p = 0; p < 3; p++) {
            snprintf(nm, sizeof nm, "encoder.layer.%d.attention.self.%s.weight", l, qkv[p]);
            T(nm, HID, HID, ws, 0);
            snprintf(nm, sizeof nm, "encoder.layer.%d.attention.self.%s.bias", l, qkv[p]);
            T(nm, HID, 0, 0.1f, 0);
        }
        snprintf(nm, sizeof nm, "encoder.layer.%d.attention.output.dense.weight", l);
        T(nm, HID, HID, ws, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.attention.output.dense.bias", l);
        T(nm, HID, 0, 0.1f, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.attention.output.LayerNorm.weight", l);
        T(nm, HID, 0, 0.1f, 1);
        snprintf(nm, sizeof nm, "encoder.layer.%d.attention.output.LayerNorm.bias", l);
        T(nm, HID, 0, 0.1f, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.intermediate.dense.weight", l);
        T(nm, FFN, HID, ws, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.intermediate.dense.bias", l);
        T(nm, FFN, 0, 0.1f, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.dense.weight", l);
        T(nm, HID, FFN, 1.0f / sqrtf((float)FFN), 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.dense.bias", l);
        T(nm, HID, 0, 0.1f, 0);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.LayerNorm.weight", l);
        T(nm, HID, 0, 0.1f, 1);
        snprintf(nm, sizeof nm, "encoder.layer.%d.output.LayerNorm.bias", l);
        T(nm, HID, 0, 0.1f, 0);
    }
    if (cross) {
        T("pooler.dense.weight", HID, HID, ws, 0);
        T("pooler.dense.bias", HID, 0, 0.1f, 0);
        pre = "";
        T("classifier.weight", 1, HID, ws, 0);
        T("classifier.bias", 1, 0, 0.1f, 0);
    }
#undef T
    ho += (size_t)snprintf(hdr + ho, hcap - ho, "{");
    for (size_t i = 0; i < n; i++) {
        size_t nb = (size_t)t[i].d0 * (size_t)(t[i].d1 ? t[i].d1 : 1) * 4;
        if (t[i].d1)
            ho += (size_t)snprintf(hdr + ho, hcap - ho,
                                   "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],"
                                   "\"data_offsets\":[%zu,%zu]}",
                                   i ? "," : "", t[i].name, t[i].d0, t[i].d1, off, off + nb);
        else
            ho += (size_t)snprintf(hdr + ho, hcap - ho,
                                   "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d],"
                                   "\"data_offsets\":[%zu,%zu]}",
                                   i ? "," : "", t[i].name, t[i].d0, off, off + nb);
        off += nb;
    }
    ho += (size_t)snprintf(hdr + ho, hcap - ho, "}");
    while (ho % 8)
        hdr[ho++] = ' ';
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    f = fopen(path, "wb");
    if (!f)
        return -1;
    for (int i = 0; i < 8; i++)
        fputc((int)(((uint64_t)ho >> (8 * i)) & 0xff), f);
    fwrite(hdr, 1, ho, f);
    for (size_t i = 0; i < n; i++) {
        size_t ne = (size_t)t[i].d0 * (size_t)(t[i].d1 ? t[i].d1 : 1);
        for (size_t k = 0; k < ne; k++) {
            float v = frand() * t[i].scale * 1.7320508f + t[i].offset;  /* std = scale */
            fwrite(&v, 4, 1, f);
        }
    }
    fclose(f);
    free(hdr);
    return 0;
}

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key)))
            v = atol(line + strlen(key) + 1);
    fclose(f);
    return v;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y);
}

/* Random token ids: [CLS] w... [SEP]. */
static void make_inputs(int32_t **ids, int32_t **types, size_t *nt, size_t n, size_t len,
                        size_t split)
{
    for (size_t i = 0; i < n; i++) {
        nt[i] = len;
        for (size_t t = 0; t < len; t++) {
            ids[i][t] = (int32_t)(1000 + (uint32_t)((frand() + 1.0f) * 14000.0f));
            types[i][t] = split && t >= split ? 1 : 0;
        }
        ids[i][0] = 101;
        ids[i][len - 1] = 102;
        if (split)
            ids[i][split - 1] = 102;
    }
}

static int list_has(const char *list, const char *item)
{
    char buf[256], *tok, *save = NULL;
    snprintf(buf, sizeof buf, "%s", list);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (!strcmp(tok, item))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int iters = 3, rerank = 1, rerank_batch = 4;   /* 4: the local reranker's batch */
    double peak = 117.0;
    const char *threads_list = "1,2", *seqs = "128,256", *precs = "f32,bf16,int8";
    const char *dump = NULL;
    char tmpl[] = "/tmp/docrag-bench-XXXXXX", enc_dir[1100], ce_dir[1100];
    char *base;
    enum { BATCH = 32, MAXLEN = 256, NPASS = 50 };
    int32_t *ids[64], *types[64];
    size_t nt[64];
    float *out = malloc(64 * HID * sizeof(float));

    /* As the docrag CLI: big blocks go back to the OS on free, so the RSS
     * after each load does not carry the previous model's heap. */
    rag_alloc_tune_process();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--iters") && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads_list = argv[++i];
        else if (!strcmp(argv[i], "--seqs") && i + 1 < argc)
            seqs = argv[++i];
        else if (!strcmp(argv[i], "--precisions") && i + 1 < argc)
            precs = argv[++i];
        else if (!strcmp(argv[i], "--peak") && i + 1 < argc)
            peak = atof(argv[++i]);
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc)
            dump = argv[++i];
        else if (!strcmp(argv[i], "--no-rerank"))
            rerank = 0;
        else if (!strcmp(argv[i], "--rerank-batch") && i + 1 < argc)
            rerank_batch = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_encoder [--iters N] [--threads 1,2] [--seqs 128,256] "
                            "[--precisions f32,bf16,int8] [--peak G] [--no-rerank] [--rerank-batch N] "
                            "[--dump DIR]\n");
            return 2;
        }
    }
    if (dump) {
        mkdir(dump, 0755);
        base = (char *)dump;
    } else {
        base = mkdtemp(tmpl);
        if (!base)
            return 1;
    }
    snprintf(enc_dir, sizeof enc_dir, "%s/encoder", base);
    snprintf(ce_dir, sizeof ce_dir, "%s/cross", base);
    {
        char probe[1200];
        struct stat sb;
        snprintf(probe, sizeof probe, "%s/model.safetensors", ce_dir);
        /* --dump DIR with models already there: reuse them (same seed) */
        if (dump && stat(probe, &sb) == 0)
            goto written;
    }
    if (write_model(enc_dir, 0) < 0 || write_model(ce_dir, 1) < 0) {
        fprintf(stderr, "bench_encoder: cannot write models under %s\n", base);
        return 1;
    }
written:
    for (int i = 0; i < 64; i++) {
        ids[i] = malloc(MAXLEN * sizeof(int32_t));
        types[i] = malloc(MAXLEN * sizeof(int32_t));
    }
    printf("MiniLM-L6-shaped encoder (H%d L%d heads%d FFN%d), batch %d, random weights\n", HID,
           LAYERS, HEADS, FFN, BATCH);
    printf("%-5s %-3s %-4s %10s %9s %9s %8s %8s %9s %7s %7s\n", "prec", "thr", "seq",
           "tokens/s", "ms/batch", "GFLOP/s", "%peak", "%pk/cpu", "RSS/file", "t_lin", "t_attn");
    static const char *const pnames[3] = {"f32", "bf16", "int8"};
    for (int pi = 0; pi < 3; pi++) {
        if (!list_has(precs, pnames[pi]))
            continue;
        for (int th = 1; th <= 2; th++) {
            char tb[8];
            snprintf(tb, sizeof tb, "%d", th);
            if (!list_has(threads_list, tb))
                continue;
            rag_model_opts o = rag_model_default_opts();
            rag_model *m = NULL;
            rag_session *s = NULL;
            rag_model_info info;
            rag_err err = {0};
            long rss;
            o.precision = (rag_precision)pi;
            o.n_threads = th;
            if (rag_model_load(&m, enc_dir, &o, &err) < 0) {
                fprintf(stderr, "load: %s\n", err.msg);
                return 1;
            }
            rss = status_kb("VmRSS:");
            rag_model_get_info(m, &info);
            rag_session_create(&s, m, &err);
            char seqbuf[256], *tok, *save = NULL;
            snprintf(seqbuf, sizeof seqbuf, "%s", seqs);
            for (tok = strtok_r(seqbuf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                int seq = atoi(tok);
                double best = 1e30, best_cpu = 1e30, flops = 0;
                rag_session_stats st_best = {0};
                if (seq < 2 || seq > MAXLEN)
                    continue;
                make_inputs(ids, types, nt, BATCH, (size_t)seq, 0);
                for (int it = 0; it <= iters; it++) {
                    double t0 = rag_now_ms(), c0 = cpu_ms(), dt, dc;
                    if (rag_session_run(s, (const int32_t *const *)ids, NULL, nt, BATCH, out,
                                        &err) < 0) {
                        fprintf(stderr, "run: %s\n", err.msg);
                        return 1;
                    }
                    dt = rag_now_ms() - t0;
                    dc = cpu_ms() - c0;
                    rag_session_stats st;
                    rag_session_get_stats(s, &st);
                    flops = st.flops;
                    if (it > 0 && dt < best) {   /* iteration 0 warms up */
                        best = dt;
                        st_best = st;
                    }
                    if (it > 0 && dc < best_cpu)
                        best_cpu = dc;
                }
                printf("%-5s %-3d %-4d %10.0f %9.1f %9.1f %7.1f%% %7.1f%% %9.2f %6.1f%% %6.1f%%\n", pnames[pi], th,
                       seq, BATCH * seq / (best / 1000.0), best, flops / best / 1e6,
                       100.0 * flops / best / 1e6 / (peak * th),
                       100.0 * flops / best_cpu / 1e6 / peak,
                       (double)rss * 1024.0 / (double)info.weight_file_bytes,
                       100.0 * st_best.ms_linear / st_best.ms_total,
                       100.0 * st_best.ms_attention / st_best.ms_total);
                fflush(stdout);
            }
            rag_session_destroy(s);
            rag_model_destroy(m);
        }
    }
    if (rerank) {
        printf("\ncross-encoder rerank: %d passages x 256 tokens (query 16 + passage), "
               "2 threads, %d pairs per forward batch\n", NPASS, rerank_batch);
        for (int pi = 0; pi < 3; pi++) {
            rag_model_opts o = rag_model_default_opts();
            rag_model *m = NULL;
            rag_session *s = NULL;
            rag_err err = {0};
            double t[16];
            int nrun = iters * 2 + 1 > 15 ? 15 : iters * 2 + 1;
            if (!list_has(precs, pnames[pi]))
                continue;
            o.precision = (rag_precision)pi;
            o.n_threads = 2;
            o.max_batch = rerank_batch > 0 ? (size_t)rerank_batch : 4;
            if (rag_model_load(&m, ce_dir, &o, &err) < 0) {
                fprintf(stderr, "load: %s\n", err.msg);
                return 1;
            }
            rag_session_create(&s, m, &err);
            make_inputs(ids, types, nt, NPASS, 256, 16);
            for (int r = 0; r <= nrun; r++) {
                double t0 = rag_now_ms();
                if (rag_session_run(s, (const int32_t *const *)ids, (const int32_t *const *)types,
                                    nt, NPASS, out, &err) < 0) {
                    fprintf(stderr, "run: %s\n", err.msg);
                    return 1;
                }
                if (r > 0)
                    t[r - 1] = rag_now_ms() - t0;
            }
            qsort(t, (size_t)nrun, sizeof t[0], cmp_d);
            printf("%-5s p50 %7.1f ms  min %7.1f ms  (%d runs)\n", pnames[pi], t[nrun / 2], t[0],
                   nrun);
            rag_session_destroy(s);
            rag_model_destroy(m);
        }
    }
    printf("\npeak RSS (VmHWM) %ld kB\n", status_kb("VmHWM:"));
    if (!dump) {
        char p[1200];
        const char *files[] = {"encoder/config.json", "encoder/model.safetensors",
                               "cross/config.json", "cross/model.safetensors"};
        for (size_t i = 0; i < 4; i++) {
            snprintf(p, sizeof p, "%s/%s", base, files[i]);
            unlink(p);
        }
        rmdir(enc_dir);
        rmdir(ce_dir);
        rmdir(base);
    }
    for (int i = 0; i < 64; i++) {
        free(ids[i]);
        free(types[i]);
    }
    free(out);
    return 0;
}
