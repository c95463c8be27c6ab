/* test_net_download.c - pulling model folders from a mock Hub: redirects to
 * the "CDN", resume after a cut, size and sha256 checks, gated repos and
 * HF_TOKEN, missing files. */
#include "test_support.h"
#include "mock_server.h"

#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN "hf_mockTokenAbcdef123456"
#define WEIGHTS_BYTES (300 * 1024)

static ts_mock mock;
static char *hub;
static unsigned char *weights;

static void put(const char *repo, const char *file, const void *data, size_t n)
{
    char *path = rag_asprintf("%s/%s/%s", hub, repo, file);
    char *dir = rag_strdup(path);
    char cmd[1024];
    *strrchr(dir, '/') = '\0';
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    ts_write_file(path, data, n);
    rag_free(dir);
    rag_free(path);
}

static const char CONFIG[] = "{\"architectures\":[\"BertModel\"],\"model_type\":\"bert\","
                             "\"hidden_size\":32,\"num_hidden_layers\":2,"
                             "\"num_attention_heads\":4,\"vocab_size\":3}";

/* A valid safetensors file of `total` bytes: a 64-byte header naming one U8
 * tensor over the rest, filled from *x. Caller frees. */
static unsigned char *make_st(size_t total, uint32_t *x)
{
    unsigned char *b = malloc(total);
    size_t data = total - 8 - 64;
    char hdr[65];
    assert_non_null(b);
    b[0] = 64;
    memset(b + 1, 0, 7);
    snprintf(hdr, sizeof hdr, "{\"w\":{\"dtype\":\"U8\",\"shape\":[%zu],\"data_offsets\":[0,%zu]}}",
             data, data);
    memset(b + 8, ' ', 64);
    memcpy(b + 8, hdr, strlen(hdr));
    for (size_t i = 72; i < total; i++) {
        *x = *x * 1103515245u + 12345u;
        b[i] = (unsigned char)(*x >> 24);
    }
    return b;
}

static int setup(void **state)
{
    const char *args[] = {"--token", TOKEN, "--hub-dir", NULL, NULL};
    uint32_t x = 12345;
    unsigned char *small;
    (void)state;
    hub = ts_tmpdir("hub");
    weights = make_st(WEIGHTS_BYTES, &x);
    put("org-a/tiny-bert", "config.json", CONFIG, strlen(CONFIG));
    put("org-a/tiny-bert", "vocab.txt", "[PAD]\n[UNK]\nhello\n", 18);
    put("org-a/tiny-bert", "modules.json", "[]", 2);
    put("org-a/tiny-bert", "1_Pooling/config.json", "{\"pooling_mode_mean_tokens\":true}", 33);
    put("org-a/tiny-bert", "model.safetensors", weights, WEIGHTS_BYTES);
    put("org-a/gated-bert", ".gated", "", 0);
    put("org-a/gated-bert", "config.json", CONFIG, strlen(CONFIG));
    put("org-a/gated-bert", "tokenizer.json", "{\"model\":{\"vocab\":{}}}", 22);
    small = make_st(5000, &x);
    put("org-a/gated-bert", "model.safetensors", small, 5000);
    free(small);
    /* junk in place of model files (issue 13, defect 16) */
    put("org-a/not-bert", "config.json", "{\"foo\": 1}", 10);
    put("org-a/string-config", "config.json", "\"aaaa\"", 6);
    put("org-a/html-tokenizer", "config.json", CONFIG, strlen(CONFIG));
    put("org-a/html-tokenizer", "tokenizer.json", "<html>Not found</html>", 22);
    put("org-a/nul-vocab", "config.json", CONFIG, strlen(CONFIG));
    put("org-a/nul-vocab", "vocab.txt", "[PAD]\n\0\0\0\n", 10);
    put("org-a/junk-weights", "config.json", CONFIG, strlen(CONFIG));
    put("org-a/junk-weights", "vocab.txt", "[PAD]\n[UNK]\n", 12);
    put("org-a/junk-weights", "model.safetensors", "<html>rate limited</html>", 25);
    put("org-a/no-config", "vocab.txt", "a\n", 2);
    small = make_st(100, &x);
    put("org-a/no-config", "model.safetensors", small, 100);
    free(small);
    args[3] = hub;
    ts_mock_start(&mock, args);
    rag_log_set_level(RAG_LOG_ERROR);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_mock_stop(&mock);
    rag_free(hub);
    free(weights);
    return 0;
}

static int reset(void **state)
{
    (void)state;
    ts_mock_reset(&mock);
    unsetenv("HF_TOKEN");
    return 0;
}

static void no_sleep(void *ud, double ms)
{
    (void)ud;
    (void)ms;
}

static rag_hub_opts hub_opts(void)
{
    rag_hub_opts o = rag_hub_default_opts();
    o.endpoint = mock.url;
    o.clock.sleep_ms = no_sleep;
    return o;
}

static void assert_same_file(const char *path, const void *data, size_t n)
{
    rag_buf b = RAG_BUF_INIT;
    assert_int_equal(rag_read_file(&b, path, 0, NULL), RAG_OK);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, data, n);
    rag_buf_fini(&b);
}

static void test_hub__pull_fetches_folder_and_skips_missing_optional(void **state)
{
    rag_hub_opts o = hub_opts();
    rag_hub_result res;
    rag_err err = {0};
    char *dir = ts_tmpdir("pull");
    char *p;
    (void)state;
    assert_int_equal(rag_hub_pull("org-a/tiny-bert", dir, &o, &res, &err), RAG_OK);
    assert_int_equal(res.n_files, 5);
    assert_int_equal(res.n_downloaded, 5);
    assert_int_equal(res.n_missing_optional, 4);
    assert_true(res.bytes >= WEIGHTS_BYTES);
    p = rag_asprintf("%s/model.safetensors", dir);
    assert_same_file(p, weights, WEIGHTS_BYTES);
    rag_free(p);
    p = rag_asprintf("%s/1_Pooling/config.json", dir);
    assert_same_file(p, "{\"pooling_mode_mean_tokens\":true}", 33);
    rag_free(p);
    p = rag_asprintf("%s/tokenizer.json", dir);
    assert_int_equal(access(p, F_OK), -1);
    rag_free(p);
    /* LFS file: resolve redirected to the CDN */
    assert_int_equal(ts_mock_count(&mock, "/_cdn/org-a/tiny-bert/model.safetensors"), 1);

    /* a second pull finds every file complete and sends nothing */
    ts_mock_reset(&mock);
    assert_int_equal(rag_hub_pull("org-a/tiny-bert", dir, &o, &res, &err), RAG_OK);
    assert_int_equal(res.n_downloaded, 0);
    assert_int_equal(res.n_files, 5);
    assert_int_equal(ts_mock_count(&mock, "/org-a"), 4); /* only the missing ones */
    rag_free(dir);
}

static void test_hub__cut_download_resumes_with_range(void **state)
{
    rag_hub_opts o = hub_opts();
    rag_err err = {0};
    char *dir = ts_tmpdir("resume");
    char *dest = rag_asprintf("%s/model.safetensors", dir);
    char *log;
    int64_t got = 0;
    (void)state;
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"cut\",\"path\":\"/_cdn/\"}]}");
    assert_int_equal(rag_hub_download_file("org-a/tiny-bert", "model.safetensors", dest,
                                           &o, &got, &err), RAG_OK);
    assert_same_file(dest, weights, WEIGHTS_BYTES);
    /* the second CDN request asked only for the rest */
    log = ts_mock_log(&mock);
    {
        char want[64];
        snprintf(want, sizeof want, "\"range\": \"bytes=%d-\"", WEIGHTS_BYTES / 2);
        assert_non_null(strstr(log, want));
    }
    rag_free(log);
    assert_int_equal(ts_mock_count(&mock, "/_cdn/"), 2);
    assert_int_equal(got, WEIGHTS_BYTES); /* half, then the other half */
    rag_free(dest);
    rag_free(dir);
}

static void test_hub__sha256_mismatch_is_detected(void **state)
{
    rag_hub_opts o = hub_opts();
    rag_err err = {0};
    char *dir = ts_tmpdir("sha");
    char *dest = rag_asprintf("%s/model.safetensors", dir);
    char *part = rag_asprintf("%s.part", dest);
    (void)state;
    /* once corrupt: detected, discarded, fetched again */
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"corrupt\",\"path\":\"/_cdn/\"}]}");
    assert_int_equal(rag_hub_download_file("org-a/tiny-bert", "model.safetensors", dest,
                                           &o, NULL, &err), RAG_OK);
    assert_same_file(dest, weights, WEIGHTS_BYTES);
    assert_int_equal(ts_mock_count(&mock, "/_cdn/"), 2);
    unlink(dest);

    /* always corrupt: fails, and no file appears */
    o.max_attempts = 2;
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"corrupt\",\"path\":\"/_cdn/\",\"count\":9}]}");
    assert_int_equal(rag_hub_download_file("org-a/tiny-bert", "model.safetensors", dest,
                                           &o, NULL, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "sha256 mismatch"));
    assert_non_null(strstr(err.msg, "model.safetensors"));
    assert_int_equal(access(dest, F_OK), -1);
    assert_int_equal(access(part, F_OK), -1);
    rag_free(part);
    rag_free(dest);
    rag_free(dir);
}

static void test_hub__gated_model_needs_token_and_token_is_not_leaked(void **state)
{
    rag_hub_opts o = hub_opts();
    rag_hub_result res;
    rag_err err = {0};
    char *dir = ts_tmpdir("gated");
    char *log;
    (void)state;
    assert_int_equal(rag_hub_pull("org-a/gated-bert", dir, &o, &res, &err), RAG_EBACKEND);
    assert_non_null(strstr(err.msg, "HF_TOKEN"));
    assert_non_null(strstr(err.msg, "401"));
    assert_int_equal(ts_mock_count(&mock, "/org-a/gated-bert/resolve/main/config.json"), 1);

    setenv("HF_TOKEN", TOKEN, 1);
    assert_int_equal(rag_hub_pull("org-a/gated-bert", dir, &o, &res, &err), RAG_OK);
    assert_int_equal(res.n_files, 3);
    log = ts_mock_log(&mock);
    assert_non_null(strstr(log, "Bearer " TOKEN));
    rag_free(log);

    /* a wrong token: the error names the problem, not the token */
    rag_free(dir);
    dir = ts_tmpdir("gated2");
    o.token = "hf_wrongTokenXYZ987654";
    assert_int_equal(rag_hub_pull("org-a/gated-bert", dir, &o, &res, &err), RAG_EBACKEND);
    assert_null(strstr(err.msg, "wrongToken"));
    assert_null(strstr(err.msg, TOKEN));
    rag_free(dir);
}

static void test_hub__missing_required_file_fails_naming_it(void **state)
{
    rag_hub_opts o = hub_opts();
    rag_err err = {0};
    char *dir = ts_tmpdir("noconf");
    (void)state;
    assert_int_equal(rag_hub_pull("org-a/no-config", dir, &o, NULL, &err), RAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "config.json"));
    assert_int_equal(rag_hub_pull("org-a/does-not-exist", dir, &o, NULL, &err), RAG_ENOTFOUND);
    rag_free(dir);
}

static void test_hub__hf_endpoint_env_and_bad_ids(void **state)
{
    rag_hub_opts o = rag_hub_default_opts();
    rag_err err = {0};
    char *dir = ts_tmpdir("env");
    char *dest = rag_asprintf("%s/config.json", dir);
    (void)state;
    setenv("HF_ENDPOINT", mock.url, 1);
    assert_int_equal(rag_hub_download_file("org-a/tiny-bert", "config.json", dest, &o,
                                           NULL, &err), RAG_OK);
    assert_same_file(dest, CONFIG, strlen(CONFIG));
    unsetenv("HF_ENDPOINT");
    assert_int_equal(rag_hub_download_file("../etc", "config.json", dest, &o, NULL, &err),
                     RAG_EINVAL);
    assert_int_equal(rag_hub_download_file("org-a/tiny-bert", "a/../../x", dest, &o, NULL,
                                           &err), RAG_EINVAL);
    setenv("HF_TOKEN", "${HF_TOKEN}", 1);
    assert_int_equal(rag_hub_download_file("org-a/tiny-bert", "config.json", dest, &o,
                                           NULL, &err), RAG_EINVAL);
    unsetenv("HF_TOKEN");
    rag_free(dest);
    rag_free(dir);
}

static void test_hub__retryable_status_is_retried(void **state)
{
    rag_hub_opts o = hub_opts();
    rag_err err = {0};
    char *dir = ts_tmpdir("retry");
    char *dest = rag_asprintf("%s/config.json", dir);
    (void)state;
    ts_mock_faults(&mock, "{\"faults\":[\"503\",\"429;retry_after=1\"]}");
    assert_int_equal(rag_hub_download_file("org-a/tiny-bert", "config.json", dest, &o,
                                           NULL, &err), RAG_OK);
    assert_int_equal(ts_mock_count(&mock, "/org-a/tiny-bert/resolve/main/config.json"), 3);
    assert_same_file(dest, CONFIG, strlen(CONFIG));
    rag_free(dest);
    rag_free(dir);
}

/* ---- deadlines (issue 13, defects 4 and 24) -------------------------------- */

typedef struct {
    double now;
    int n_sleeps;
} hub_clock;

static double hc_now(void *ud)
{
    return ((hub_clock *)ud)->now;
}

static void hc_sleep(void *ud, double ms)
{
    hub_clock *c = ud;
    c->now += ms;
    c->n_sleeps++;
}

/* Regression: a Hub answering 429 with Retry-After: 3600 made `models pull`
 * wait 60 s per retry (240 s). A wait that passes the pull's deadline fails
 * at once, saying what the server asked; one that fits, capped at
 * max_retry_after_ms, is waited. */
static void test_hub__retry_after_past_the_deadline_fails_at_once(void **state)
{
    rag_hub_opts o = hub_opts();
    hub_clock hc = {0, 0};
    rag_hub_result res;
    rag_err err = {0};
    char *dir = ts_tmpdir("deadline");
    (void)state;
    o.clock.now_ms = hc_now;
    o.clock.sleep_ms = hc_sleep;
    o.clock.userdata = &hc;
    o.deadline_ms = 18000;
    o.max_retry_after_ms = 5000;
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"429;retry_after=3600\",\"count\":20}]}");
    assert_int_equal(rag_hub_pull("org-a/tiny-bert", dir, &o, &res, &err), RAG_EBACKEND);
    /* 5 s waits (the cap) fit 18 s of deadline three times, not a fourth */
    assert_int_equal(hc.n_sleeps, 3);
    assert_true(hc.now == 15000.0);
    assert_int_equal(ts_mock_count(&mock, "/org-a/tiny-bert/resolve/main/config.json"), 4);
    assert_non_null(strstr(err.msg, "HTTP 429"));
    assert_non_null(strstr(err.msg, "3600 s"));
    assert_non_null(strstr(err.msg, "deadline of 18 s"));
    ts_mock_reset(&mock);
    rag_free(dir);
}

/* Regression: a Hub that never answers was retried past 300 s (5 attempts
 * of a 60 s stall). The deadline cuts the attempt in progress. */
static void test_hub__a_hub_that_never_answers_is_bounded(void **state)
{
    rag_hub_opts o = hub_opts();
    rag_err err = {0};
    char *dir = ts_tmpdir("hang");
    char *dest = rag_asprintf("%s/config.json", dir);
    double t0;
    (void)state;
    o.deadline_ms = 800;
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"hang;ms=4000\",\"count\":5}]}");
    t0 = rag_now_ms();
    assert_int_equal(rag_hub_download_file("org-a/tiny-bert", "config.json", dest, &o, NULL,
                                           &err), RAG_EBACKEND);
    assert_true(rag_now_ms() - t0 < 2000);
    assert_non_null(strstr(err.msg, "deadline of 1 s")); /* 0.8 s, rounded */
    ts_mock_reset(&mock);
    /* no deadline: the idle timeout ends each attempt, and attempts are counted */
    o.deadline_ms = 0;
    o.idle_timeout_ms = 1000;
    o.max_attempts = 2;
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"hang;ms=4000\",\"count\":5}]}");
    t0 = rag_now_ms();
    assert_int_equal(rag_hub_download_file("org-a/tiny-bert", "config.json", dest, &o, NULL,
                                           &err), RAG_EBACKEND);
    assert_true(rag_now_ms() - t0 < 4500);
    assert_non_null(strstr(err.msg, "nothing received for 1 s"));
    assert_non_null(strstr(err.msg, "after 2 attempts"));
    ts_mock_reset(&mock);
    rag_free(dest);
    rag_free(dir);
}

/* ---- what a pull accepts (issue 13, defect 16) ------------------------------ */

static void assert_pull_refuses(const char *repo, const char *file, int code, const char *why)
{
    rag_hub_opts o = hub_opts();
    rag_hub_result res;
    rag_err err = {0};
    char *dir = ts_tmpdir("junk"), *dest = rag_asprintf("%s/%s", dir, file);
    char *part = rag_asprintf("%s.part", dest);
    int rc = rag_hub_pull(repo, dir, &o, &res, &err);
    if (rc != code || !strstr(err.msg, file) || !strstr(err.msg, why))
        fail_msg("%s: rc %d, expected %d naming %s (%s): %s", repo, rc, code, file, why,
                 err.msg);
    assert_int_equal(access(dest, F_OK), -1); /* junk is not stored */
    assert_int_equal(access(part, F_OK), -1);
    rag_free(part);
    rag_free(dest);
    rag_free(dir);
}

/* Regression: `models pull` stored a 100 MB JSON string as config.json and
 * reported success. Each file is checked for its kind before it is renamed
 * into place; the error names the file; nothing is left behind. */
static void test_hub__junk_files_are_refused_naming_the_file(void **state)
{
    rag_hub_opts o = hub_opts();
    rag_hub_result res;
    rag_err err = {0};
    char *dir, *p;
    (void)state;
    assert_pull_refuses("org-a/not-bert", "config.json", RAG_EFORMAT, "BERT-like");
    assert_pull_refuses("org-a/string-config", "config.json", RAG_EFORMAT, "not a JSON object");
    assert_pull_refuses("org-a/html-tokenizer", "tokenizer.json", RAG_EFORMAT, "not JSON");
    assert_pull_refuses("org-a/nul-vocab", "vocab.txt", RAG_EFORMAT, "NUL");
    assert_pull_refuses("org-a/junk-weights", "model.safetensors", RAG_EFORMAT, "header");

    /* a gigantic config.json is refused at its first bytes, not stored */
    ts_mock_faults(&mock, "{\"faults\":[{\"fault\":\"big;bytes=3000000\","
                   "\"path\":\"/org-a/tiny-bert/resolve/main/config.json\"}]}");
    assert_pull_refuses("org-a/tiny-bert", "config.json", RAG_ELIMIT, "1048576");
    ts_mock_reset(&mock);

    /* a junk file left by an older version is fetched again, then kept */
    dir = ts_tmpdir("junk_refetch");
    p = rag_asprintf("%s/config.json", dir);
    ts_write_file(p, "\"junk\"", 6);
    assert_int_equal(rag_hub_pull("org-a/tiny-bert", dir, &o, &res, &err), RAG_OK);
    assert_same_file(p, CONFIG, strlen(CONFIG));
    assert_int_equal(res.n_downloaded, 5);
    rag_free(p);
    rag_free(dir);
}

/* The checks one by one, on files written here. */
static void test_hub__check_file_knows_each_kind(void **state)
{
    char *dir = ts_tmpdir("check"), *p = rag_asprintf("%s/f", dir);
    rag_err err = {0};
    uint32_t x = 7;
    unsigned char *st = make_st(1000, &x);
    (void)state;
    assert_int_equal(rag_hub_file_cap("config.json"), 1 << 20);
    assert_int_equal(rag_hub_file_cap("1_Pooling/config.json"), 1 << 20);
    assert_int_equal(rag_hub_file_cap("tokenizer.json"), 64 << 20);
    assert_int_equal(rag_hub_file_cap("vocab.txt"), 16 << 20);
    assert_int_equal(rag_hub_file_cap("model.safetensors"), 0);

    ts_write_file(p, CONFIG, strlen(CONFIG));
    assert_int_equal(rag_hub_check_file("config.json", p, &err), RAG_OK);
    ts_write_file(p, "{\"model_type\":\"bert\",\"hidden_size\":0}", strlen("{\"model_type\":\"bert\",\"hidden_size\":0}"));
    assert_int_equal(rag_hub_check_file("config.json", p, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "hidden_size"));
    /* a pooling config is an object, not a model config */
    ts_write_file(p, "{\"pooling_mode_mean_tokens\":true}", strlen("{\"pooling_mode_mean_tokens\":true}"));
    assert_int_equal(rag_hub_check_file("1_Pooling/config.json", p, &err), RAG_OK);
    ts_write_file(p, "{\"a\":1}", strlen("{\"a\":1}"));
    assert_int_equal(rag_hub_check_file("modules.json", p, &err), RAG_EFORMAT);
    ts_write_file(p, "[]", strlen("[]"));
    assert_int_equal(rag_hub_check_file("modules.json", p, &err), RAG_OK);
    ts_write_file(p, "\xff\xfe\n", strlen("\xff\xfe\n"));
    assert_int_equal(rag_hub_check_file("vocab.txt", p, &err), RAG_EFORMAT);

    ts_write_file(p, st, 1000);
    assert_int_equal(rag_hub_check_file("model.safetensors", p, &err), RAG_OK);
    ts_write_file(p, st, 999); /* cut: the tensor runs past the data */
    assert_int_equal(rag_hub_check_file("model.safetensors", p, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "model.safetensors"));
    st[7] = 0x01; /* header longer than the file */
    ts_write_file(p, st, 1000);
    assert_int_equal(rag_hub_check_file("model.safetensors", p, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "header length"));
    free(st);
    rag_free(p);
    rag_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_hub__pull_fetches_folder_and_skips_missing_optional, reset),
        cmocka_unit_test_setup(test_hub__cut_download_resumes_with_range, reset),
        cmocka_unit_test_setup(test_hub__sha256_mismatch_is_detected, reset),
        cmocka_unit_test_setup(test_hub__gated_model_needs_token_and_token_is_not_leaked, reset),
        cmocka_unit_test_setup(test_hub__missing_required_file_fails_naming_it, reset),
        cmocka_unit_test_setup(test_hub__hf_endpoint_env_and_bad_ids, reset),
        cmocka_unit_test_setup(test_hub__retryable_status_is_retried, reset),
        cmocka_unit_test_setup(test_hub__retry_after_past_the_deadline_fails_at_once, reset),
        cmocka_unit_test_setup(test_hub__a_hub_that_never_answers_is_bounded, reset),
        cmocka_unit_test_setup(test_hub__junk_files_are_refused_naming_the_file, reset),
        cmocka_unit_test(test_hub__check_file_knows_each_kind),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
