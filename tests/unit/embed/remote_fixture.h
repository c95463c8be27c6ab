/* remote_fixture.h - shared by the remote embed/rerank tests: the mock,
 * config from YAML text, a fake clock (backoff costs no time), captured
 * logs, and the mock's request log as JSON. Header-only, test use only. */
#ifndef RAG_TEST_REMOTE_FIXTURE_H
#define RAG_TEST_REMOTE_FIXTURE_H

#include "test_support.h"
#include "mock_server.h"

#include "config/config.h"
#include "obs/remote.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define TOKEN "s3cret-T0ken-value-42"
#define MODEL "mock/all-MiniLM-L6-v2"

static rag_buf logged = RAG_BUF_INIT;
static void capture_log(rag_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    rag_buf_puts(&logged, msg);
    rag_buf_putc(&logged, '\n');
}

static double fake_now;
static double fc_now(void *ud)
{
    (void)ud;
    return fake_now;
}
static void fc_sleep(void *ud, double ms)
{
    (void)ud;
    fake_now += ms;
}

static rag_remote_opts fast_opts(void)
{
    rag_remote_opts o = rag_remote_default_opts();
    o.clock.now_ms = fc_now;
    o.clock.sleep_ms = fc_sleep;
    o.backoff_base_ms = 1;
    o.backoff_cap_ms = 5;
    o.max_server_wait_ms = 50;
    o.jitter_seed = 7;
    return o;
}

static rag_config *load_yaml(const char *yaml)
{
    rag_config_source src = {0};
    rag_config *cfg = NULL;
    rag_err err = {0};
    src.yaml_text = yaml;
    src.yaml_len = strlen(yaml);
    src.yaml_name = "test.yaml";
    if (rag_config_load(&cfg, &src, &err) != RAG_OK)
        fail_msg("config: %s", err.msg);
    return cfg;
}

/* The JSON body of the n-th logged request (from the end, 1 = last) whose
 * path starts with prefix; caller json_decrefs. */
static json_t *logged_body(ts_mock *m, const char *prefix, int nth_last)
{
    char *text = ts_mock_log(m);
    json_t *log = json_loads(text, 0, NULL), *reqs, *out = NULL;
    rag_free(text);
    assert_non_null(log);
    reqs = json_object_get(log, "requests");
    for (size_t i = json_array_size(reqs); i-- > 0;) {
        json_t *r = json_array_get(reqs, i);
        const char *p = json_string_value(json_object_get(r, "path"));
        if (p && !strncmp(p, prefix, strlen(prefix)) && --nth_last == 0) {
            out = json_loads(json_string_value(json_object_get(r, "body")), 0, NULL);
            break;
        }
    }
    json_decref(log);
    assert_non_null(out);
    return out;
}

#endif
