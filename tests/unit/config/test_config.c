/* test_config.c - the configuration loader: layers, ${VAR}, errors that name
 * key and line, placeholders, secrets, profiles, example files, docs. */
#include "test_support.h"

#include "config/config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET "hf_SECRETsecret123ZZ"

/* ---- helpers ------------------------------------------------------------- */

typedef struct {
    int n_warn;
    char all[4096];
} log_capture;

static void capture_log(rag_log_level level, const char *msg, void *ud)
{
    log_capture *lc = ud;
    if (level == RAG_LOG_WARN)
        lc->n_warn++;
    strncat(lc->all, msg, sizeof lc->all - strlen(lc->all) - 2);
    strcat(lc->all, "\n");
}

static void quiet_log(rag_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)msg;
    (void)ud;
}

/* Unset everything that would steer detection, and leave a tmp cwd with no
 * docrag.yaml in it. */
static int setup(void **state)
{
    static const char *const vars[] = {
        "DOCRAG_CONFIG", "DOCRAG_PROFILE", "DOCRAG_DB", "DOCRAG_SEARCH_K",
        "DOCRAG_SEARCH_MODE", "DOCRAG_CHAINS_LLM", "DOCRAG_THREADS", "SPACE_ID",
        "RAILWAY_ENVIRONMENT", "HF_TOKEN", "OPENAI_API_KEY", "DOCRAG_T_A", "DOCRAG_T_B",
        "DOCRAG_T_UNSET", "DOCRAG_MODELS", "RAILWAY_VOLUME_MOUNT_PATH", "PORT", NULL};
    char *dir = ts_tmpdir("config");
    (void)state;
    for (size_t i = 0; vars[i]; i++)
        unsetenv(vars[i]);
    assert_non_null(dir);
    assert_int_equal(chdir(dir), 0);
    rag_free(dir);
    rag_log_set(quiet_log, NULL); /* tests that count warnings install their own */
    return 0;
}

static int load_text(rag_config **out, const char *yaml, const char *const *sets,
                     size_t n_sets, rag_err *err)
{
    rag_config_source src = {0};
    src.yaml_text = yaml;
    src.yaml_len = yaml ? strlen(yaml) : 0;
    src.yaml_name = "t.yaml";
    src.sets = sets;
    src.n_sets = n_sets;
    return rag_config_load(out, &src, err);
}

static rag_config *must_load(const char *yaml, const char *const *sets, size_t n_sets)
{
    rag_config *c = NULL;
    rag_err err = {0};
    int rc = load_text(&c, yaml, sets, n_sets, &err);
    if (rc != RAG_OK)
        fail_msg("load failed: %s", err.msg);
    return c;
}

/* Load must fail with code; returns the message (static). */
static const char *must_fail(const char *yaml, const char *const *sets, size_t n_sets,
                             int code)
{
    static rag_err err;
    rag_config *c = NULL;
    int rc;
    memset(&err, 0, sizeof err);
    rc = load_text(&c, yaml, sets, n_sets, &err);
    assert_null(c);
    if (rc != code)
        fail_msg("expected %d, got %d: %s", code, rc, err.msg);
    return err.msg;
}

static char *show(const rag_config *c, unsigned flags)
{
    rag_buf b = RAG_BUF_INIT;
    assert_int_equal(rag_config_show_ex(&b, c, flags), RAG_OK);
    return rag_buf_take(&b);
}

#define assert_contains(hay, needle)                                                  \
    do {                                                                              \
        if (!strstr((hay), (needle)))                                                 \
            fail_msg("'%s' not found in: %s", (needle), (hay));                       \
    } while (0)

/* ---- defaults and precedence --------------------------------------------- */

static void test_config__no_file_gives_local_profile_defaults(void **state)
{
    rag_config *c = NULL;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_config_load(&c, NULL, &err), RAG_OK);
    assert_string_equal(c->profile, "local");
    assert_null(c->source_path);
    assert_string_equal(c->db_path, "docrag.db");
    assert_int_equal(c->search_k, 10);
    assert_string_equal(c->search_mode, "bm25");
    assert_int_equal(c->n_chain_llm, 1);
    assert_string_equal(c->chain_llm[0], "extractive");
    assert_non_null(rag_config_backend(c, "local"));
    rag_config_destroy(c);
}

static void test_config__precedence_flag_over_env_over_file_over_profile(void **state)
{
    const char *yaml = "threads: 3\nsearch:\n  k: 20\n  candidates: 60\n";
    const char *sets[] = {"search.k=40"};
    rag_config *c;
    char *out;
    (void)state;

    c = must_load(yaml, NULL, 0);
    assert_int_equal(c->search_k, 20);      /* file over default */
    assert_int_equal(c->threads, 3);
    rag_config_destroy(c);

    setenv("DOCRAG_SEARCH_K", "30", 1);
    c = must_load(yaml, NULL, 0);
    assert_int_equal(c->search_k, 30);      /* env over file */
    rag_config_destroy(c);

    c = must_load(yaml, sets, 1);
    assert_int_equal(c->search_k, 40);      /* flag over env */
    out = show(c, RAG_CONFIG_SHOW_ORIGIN);
    assert_contains(out, "k: 40  # --set search.k");
    assert_contains(out, "candidates: 60  # t.yaml:4:15");
    assert_contains(out, "target_tokens: 240  # default");
    rag_free(out);
    rag_config_destroy(c);
    unsetenv("DOCRAG_SEARCH_K");

    /* profile default (hf_spaces threads 2) < file (3) */
    setenv("SPACE_ID", "user/space", 1);
    c = must_load(NULL, NULL, 0);
    assert_int_equal(c->threads, 2);
    rag_config_destroy(c);
    c = must_load(yaml, NULL, 0);
    assert_int_equal(c->threads, 3);
    rag_config_destroy(c);
}

static void test_config__docrag_db_and_docrag_config_are_honoured(void **state)
{
    rag_config *c = NULL;
    rag_err err = {0};
    (void)state;
    setenv("DOCRAG_DB", "/tmp/x.db", 1);
    ts_write_file("other.yaml", "search:\n  k: 7\n", 15);
    setenv("DOCRAG_CONFIG", "other.yaml", 1);
    assert_int_equal(rag_config_load(&c, NULL, &err), RAG_OK);
    assert_string_equal(c->db_path, "/tmp/x.db");
    assert_int_equal(c->search_k, 7);
    assert_string_equal(c->source_path, "other.yaml");
    rag_config_destroy(c);
    unsetenv("DOCRAG_CONFIG");
    unsetenv("DOCRAG_DB");

    /* ./docrag.yaml is found when nothing else names a file */
    ts_write_file("docrag.yaml", "search:\n  k: 9\n", 15);
    assert_int_equal(rag_config_load(&c, NULL, &err), RAG_OK);
    assert_int_equal(c->search_k, 9);
    rag_config_destroy(c);
    unlink("docrag.yaml");
}

/* store: is db by its other name (issue 14: "store: postgres://..."): it
 * wins over db at the same level or below, a --db flag wins over it, and
 * config show masks a password in it like any URL. */
static void test_config__store_is_db_by_another_name(void **state)
{
    const char *flag[] = {"db=flag.db"};
    rag_config *c;
    char *text;
    (void)state;

    c = must_load("store: postgres://u:sekrit@h:5432/d\n", NULL, 0);
    assert_string_equal(c->db_path, "postgres://u:sekrit@h:5432/d");
    text = show(c, 0);
    assert_null(strstr(text, "sekrit"));
    assert_non_null(strstr(text, "u:****@h"));
    rag_free(text);
    rag_config_destroy(c);
    c = must_load("db: file.db\nstore: other.db\n", NULL, 0);
    assert_string_equal(c->db_path, "other.db");
    rag_config_destroy(c);
    c = must_load("store: other.db\n", flag, 1);
    assert_string_equal(c->db_path, "flag.db");
    rag_config_destroy(c);
    c = must_load("db: file.db\n", NULL, 0);
    assert_string_equal(c->db_path, "file.db");
    assert_string_equal(c->store, "");
    rag_config_destroy(c);
}

static void test_config__missing_named_file_is_an_error_naming_it(void **state)
{
    rag_config *c = NULL;
    rag_err err = {0};
    rag_config_source src = {0};
    (void)state;
    src.config_path = "no-such-config.yaml";
    assert_true(rag_config_load(&c, &src, &err) < 0);
    assert_null(c);
    assert_contains(err.msg, "no-such-config.yaml");
}

/* ---- ${VAR} -------------------------------------------------------------- */

static void test_config__env_substitution_in_nested_values_and_lists(void **state)
{
    const char *yaml =
        "db: ${DOCRAG_T_A}/x.db\n"
        "search:\n  k: ${DOCRAG_T_B}\n"
        "chains:\n  llm: [\"${DOCRAG_T_A}\", extractive]\n"
        "backends:\n"
        "  dirA:\n    type: tei\n    url: http://${DOCRAG_T_A}:8080\n"
        "    models: [\"m-${DOCRAG_T_B}\", \"${DOCRAG_T_UNSET:-fallback}\", "
        "\"${DOCRAG_T_UNSET:-${DOCRAG_T_A}}\"]\n";
    rag_config *c;
    const rag_backend_cfg *b;
    (void)state;
    setenv("DOCRAG_T_A", "dirA", 1);
    setenv("DOCRAG_T_B", "17", 1);
    c = must_load(yaml, NULL, 0);
    assert_string_equal(c->db_path, "dirA/x.db");
    assert_int_equal(c->search_k, 17);           /* ${} in a numeric field */
    assert_string_equal(c->chain_llm[0], "dirA");
    b = rag_config_backend(c, "dirA");
    assert_non_null(b);
    assert_string_equal(b->url, "http://dirA:8080");
    assert_int_equal(b->n_models, 3);
    assert_string_equal(b->models[0], "m-17");
    assert_string_equal(b->models[1], "fallback");
    assert_string_equal(b->models[2], "dirA"); /* nested default */
    rag_config_destroy(c);
}

static void test_config__default_forms_and_escape(void **state)
{
    rag_config *c;
    (void)state;
    setenv("DOCRAG_T_A", "", 1); /* set but empty */
    c = must_load("db: \"${DOCRAG_T_A:-d1}|${DOCRAG_T_A-d2}|${DOCRAG_T_UNSET-d3}|$${X}|$5\"\n",
                  NULL, 0);
    assert_string_equal(c->db_path, "d1||d3|${X}|$5");
    rag_config_destroy(c);
}

static void test_config__unset_var_without_default_names_key_and_var(void **state)
{
    const char *msg;
    (void)state;
    msg = must_fail("backends:\n  hf:\n    type: hf_providers\n    model: m\n"
                    "    api_key: ${DOCRAG_T_UNSET}\n",
                    NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "t.yaml:5:14");
    assert_contains(msg, "backends.hf.api_key");
    assert_contains(msg, "environment variable DOCRAG_T_UNSET is not set");

    msg = must_fail("chains:\n  llm: [extractive, \"${DOCRAG_T_UNSET}\"]\n", NULL, 0,
                    RAG_EFORMAT);
    assert_contains(msg, "t.yaml:2:21");  /* the list item itself */
    assert_contains(msg, "chains.llm");

    msg = must_fail("db: ${DOCRAG_T_A\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "key db: unterminated");
}

/* ---- errors name key and line -------------------------------------------- */

static void test_config__malformed_yaml_reports_file_line_col(void **state)
{
    const char *msg;
    (void)state;
    msg = must_fail("search:\n  k: [1, 2\n", NULL, 0, RAG_EFORMAT);
    assert_true(strncmp(msg, "t.yaml:3:1: ", 12) == 0);
    msg = must_fail("search:\n  k: 1\n   bad: indentation\n", NULL, 0, RAG_EFORMAT);
    assert_true(strncmp(msg, "t.yaml:3:", 9) == 0);
    msg = must_fail("- just\n- a list\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "top level must be a mapping");
}

static void test_config__unknown_key_is_named_with_suggestion(void **state)
{
    const char *msg;
    (void)state;
    msg = must_fail("search:\n  kk: 3\n", NULL, 0, RAG_EFORMAT);
    assert_string_equal(msg, "t.yaml:2:3: unknown key search.kk (did you mean 'search.k'?)");
    msg = must_fail("serch:\n  k: 3\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "t.yaml:1:1: unknown key serch (did you mean 'search'?)");
    msg = must_fail("backends:\n  hf:\n    type: tei\n    api_ky: x\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "t.yaml:4:5: unknown key backends.hf.api_ky");
    assert_contains(msg, "'api_key'");
    msg = must_fail(NULL, (const char *const[]){"search.kk=3"}, 1, RAG_EINVAL);
    assert_contains(msg, "unknown key search.kk (did you mean 'search.k'?)");
}

static void test_config__out_of_range_names_key_range_and_origin(void **state)
{
    const char *msg;
    (void)state;
    msg = must_fail("search:\n  k: 5000\n", NULL, 0, RAG_EFORMAT);
    assert_string_equal(msg, "t.yaml:2:6: search.k: 5000 is out of range [1, 1000]");
    setenv("DOCRAG_SEARCH_K", "0", 1);
    msg = must_fail(NULL, NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "environment DOCRAG_SEARCH_K: search.k: 0 is out of range");
    unsetenv("DOCRAG_SEARCH_K");
    msg = must_fail(NULL, (const char *const[]){"backends.x.max_retries=99"}, 1, RAG_EFORMAT);
    assert_contains(msg, "backends.x.max_retries: 99 is out of range [0, 20]");
    msg = must_fail("answer:\n  min_coverage: -1\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "answer.min_coverage");
}

static void test_config__wrong_types_are_named(void **state)
{
    const char *msg;
    (void)state;
    msg = must_fail("search:\n  k: abc\n", NULL, 0, RAG_EFORMAT);
    assert_string_equal(msg, "t.yaml:2:6: search.k: 'abc' is not an integer");
    msg = must_fail("search:\n  k: [1]\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "t.yaml:2:6: search.k: expected a single value");
    msg = must_fail("chains:\n  llm: extractive\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "t.yaml:2:8: chains.llm: expected a list");
    msg = must_fail("search:\n  mode: bm2\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "search.mode: 'bm2' is not one of bm25, dense, hybrid "
                         "(did you mean 'bm25'?)");
    msg = must_fail("ingest:\n  strip_headers: maybe\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "ingest.strip_headers");
    msg = must_fail("search:\n  k: 1\nsearch:\n  k: 2\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "t.yaml:3:1: key 'search' given twice");
    msg = must_fail("search: &a\n  k: 1\nanswer: *a\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "aliases");
    msg = must_fail(NULL, (const char *const[]){"search.k"}, 1, RAG_EINVAL);
    assert_contains(msg, "KEY=VALUE");
}

/* Regression (issue 13, defect 20): a complex key gave libcyaml's "Internal
 * error", and settings after a second "---" were silently ignored. */
static void test_config__complex_keys_and_second_documents_are_refused(void **state)
{
    const char *msg;
    rag_config *c;
    (void)state;
    msg = must_fail("? [a, b]\n: c\n", NULL, 0, RAG_EFORMAT);
    assert_string_equal(msg, "t.yaml:1:3: a key must be a plain word, not a list");
    msg = must_fail("search:\n  ? {k: 1}\n  : 2\n", NULL, 0, RAG_EFORMAT);
    assert_string_equal(msg, "t.yaml:2:5: a key must be a plain word, not a mapping");
    msg = must_fail("search:\n  k: 5\n---\nsearch:\n  k: 7\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "t.yaml:3:1: a second YAML document ('---')");
    /* a syntax error in the second document is reported, not skipped */
    msg = must_fail("search:\n  k: 5\n---\n[\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "t.yaml:");
    /* one document, with its explicit markers, is fine */
    c = must_load("---\nsearch:\n  k: 5\n...\n", NULL, 0);
    assert_int_equal(c->search_k, 5);
    rag_config_destroy(c);
    c = must_load("search:\n  k: 6\n---\n", NULL, 0);
    assert_int_equal(c->search_k, 6);
    rag_config_destroy(c);
}

static void test_config__cross_key_checks_name_both_keys(void **state)
{
    const char *msg;
    (void)state;
    msg = must_fail("chunk:\n  overlap_tokens: 300\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "t.yaml:2:19: chunk.overlap_tokens (300) must be less than "
                         "chunk.target_tokens (240)");
    msg = must_fail("search:\n  k: 100\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "search.candidates (50) must be at least search.k (100)");
}

static void test_config__chains_must_name_existing_backends(void **state)
{
    const char *msg;
    (void)state;
    msg = must_fail("backends:\n  hf_router:\n    type: tei\nchains:\n"
                    "  llm: [hf_routr, extractive]\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "t.yaml:5:9: chains.llm: unknown back-end 'hf_routr' "
                         "(did you mean 'hf_router'?)");
    msg = must_fail("chains:\n  embed: [extractive]\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "chains.embed: 'extractive' only answers questions");
    msg = must_fail("backends:\n  x:\n    url: http://h\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "backends.x.type is required");
    msg = must_fail("backends:\n  x:\n    type: openai\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "backends.x.model is required");
}

/* ---- placeholders and secrets ---------------------------------------------- */

static void test_config__placeholder_tokens_are_recognised(void **state)
{
    static const char *const yes[] = {
        "", "  ", "dummy", "DUMMY", "hf_xxx", "hf_XXXXXXXX", "changeme", "your_token_here",
        "your_hf_token", "<your token>", "xxx", "sk-xxxx", "****", "placeholder", "none", NULL};
    static const char *const no[] = {
        "hf_abcDEF123456", "sk-proj-1234567890", SECRET, "dummyish-real-token", "x",
        "ollama", NULL};
    (void)state;
    assert_true(rag_config_is_placeholder(NULL));
    for (size_t i = 0; yes[i]; i++)
        if (!rag_config_is_placeholder(yes[i]))
            fail_msg("'%s' should be a placeholder", yes[i]);
    for (size_t i = 0; no[i]; i++)
        if (rag_config_is_placeholder(no[i]))
            fail_msg("'%s' should not be a placeholder", no[i]);
}

static void test_config__placeholder_disables_backend_with_one_warning(void **state)
{
    const char *yaml = "backends:\n"
                       "  hf:\n    type: hf_providers\n    model: m\n    api_key: ${HF_TOKEN}\n"
                       "  ok:\n    type: openai\n    model: m\n    api_key: sk-live-1234567\n"
                       "  local_llm:\n    type: openai\n    url: http://127.0.0.1:8000/v1\n"
                       "    model: m\n"
                       "chains:\n  llm: [hf, ok, local_llm, extractive]\n";
    log_capture lc = {0};
    rag_config *c;
    (void)state;
    setenv("HF_TOKEN", "hf_xxx", 1);
    rag_log_set(capture_log, &lc);
    c = must_load(yaml, NULL, 0);
    rag_log_set(quiet_log, NULL);
    assert_int_equal(lc.n_warn, 1);
    assert_contains(lc.all, "'hf'");
    assert_contains(lc.all, "HF_TOKEN");
    assert_null(strstr(lc.all, "hf_xxx"));
    assert_int_equal(rag_config_backend(c, "hf")->enabled, 0);
    assert_int_equal(rag_config_backend(c, "ok")->enabled, 1);
    assert_int_equal(rag_config_backend(c, "local_llm")->enabled, 1); /* no key needed */
    rag_config_destroy(c);
}

static void test_config__secret_never_in_show_or_errors(void **state)
{
    const char *ok = "backends:\n  hf:\n    type: hf_providers\n    model: m\n"
                     "    api_key: ${HF_TOKEN}\nchains:\n  llm: [hf]\n";
    rag_config *c;
    char *out;
    const char *msg;
    (void)state;
    setenv("HF_TOKEN", SECRET, 1);
    c = must_load(ok, NULL, 0);
    assert_string_equal(rag_config_backend(c, "hf")->api_key, SECRET);
    for (unsigned flags = 0; flags < 4; flags++) {
        out = show(c, flags);
        assert_null(strstr(out, "SECRET"));
        assert_null(strstr(out, "123ZZ"));
        assert_contains(out, "****");
        rag_free(out);
    }
    rag_config_destroy(c);

    /* the token in the wrong place: still never quoted */
    msg = must_fail("search:\n  k: ${HF_TOKEN}\n", NULL, 0, RAG_EFORMAT);
    assert_null(strstr(msg, "SECRET"));
    assert_contains(msg, "search.k");
    msg = must_fail("search:\n  mode: ${HF_TOKEN}\n", NULL, 0, RAG_EFORMAT);
    assert_null(strstr(msg, "SECRET"));
    msg = must_fail("backends:\n  hf:\n    type: hf_providers\n    model: m\n"
                    "    api_key: ${HF_TOKEN}\n    max_retries: 99\n", NULL, 0, RAG_EFORMAT);
    assert_null(strstr(msg, "SECRET"));
    msg = must_fail(NULL, (const char *const[]){"backends.hf.api_key=" SECRET,
                                                "backends.hf.timeout_ms=0"}, 2, RAG_EFORMAT);
    assert_null(strstr(msg, "SECRET"));
}

/* ---- profiles --------------------------------------------------------------- */

static void test_config__profile_detected_from_environment(void **state)
{
    log_capture lc = {0};
    rag_config *c;
    char *out;
    (void)state;
    setenv("SPACE_ID", "me/demo", 1);
    rag_log_set(capture_log, &lc);
    c = must_load(NULL, NULL, 0);
    rag_log_set(quiet_log, NULL);
    assert_string_equal(c->profile, "hf_spaces");
    assert_int_equal(c->threads, 2);
    assert_int_equal(c->n_chain_llm, 2);
    assert_string_equal(c->chain_llm[0], "hf_providers");
    assert_string_equal(c->chain_llm[1], "extractive");
    assert_string_equal(c->chain_embed[0], "none");
    assert_true(!strcmp(c->db_path, "/data/docrag.db") || !strcmp(c->db_path, "/tmp/docrag.db"));
    /* HF_TOKEN unset: the router is disabled, once */
    assert_int_equal(rag_config_backend(c, "hf_providers")->enabled, 0);
    assert_int_equal(lc.n_warn, 1);
    out = show(c, RAG_CONFIG_SHOW_ORIGIN);
    assert_contains(out, "profile: \"hf_spaces\"  # detected from SPACE_ID");
    rag_free(out);
    rag_config_destroy(c);

    unsetenv("SPACE_ID");
    setenv("RAILWAY_ENVIRONMENT", "production", 1);
    setenv("HF_TOKEN", "hf_realLookingToken42", 1);
    c = must_load(NULL, NULL, 0);
    assert_string_equal(c->profile, "railway");
    assert_string_equal(c->search_mode, "hybrid");
    assert_int_equal(rag_config_backend(c, "hf_router")->enabled, 1);
    rag_config_destroy(c);

    /* file beats detection; --profile beats the file */
    c = must_load("profile: local\n", NULL, 0);
    assert_string_equal(c->profile, "local");
    rag_config_destroy(c);
    {
        rag_config_source src = {0};
        rag_err err = {0};
        src.yaml_text = "profile: local\n";
        src.yaml_len = strlen(src.yaml_text);
        src.profile = "api";
        assert_int_equal(rag_config_load(&c, &src, &err), RAG_OK);
        assert_string_equal(c->profile, "api");
        rag_config_destroy(c);
    }
    setenv("DOCRAG_PROFILE", "hf_spaces", 1);
    c = must_load("profile: local\n", NULL, 0);
    assert_string_equal(c->profile, "hf_spaces"); /* env over file */
    rag_config_destroy(c);
    unsetenv("DOCRAG_PROFILE");
    unsetenv("RAILWAY_ENVIRONMENT");
    must_fail("profile: hf_space\n", NULL, 0, RAG_EFORMAT);
}

static void test_config__unused_profile_backends_do_not_warn(void **state)
{
    log_capture lc = {0};
    rag_config *c;
    (void)state;
    rag_log_set(capture_log, &lc);
    c = must_load("profile: api\nchains:\n  embed: [none]\n  llm: [extractive]\n", NULL, 0);
    rag_log_set(quiet_log, NULL);
    assert_int_equal(lc.n_warn, 0);
    assert_null(rag_config_backend(c, "hf_embed"));
    rag_config_destroy(c);
}

/* ---- show ------------------------------------------------------------------- */

/* Regression (issue 13, defect 2 / r12): a password inside a URL was printed
 * by `config show`. It is masked in both forms, in lists too; the user name
 * and host stay, and a bare-token userinfo is masked whole. */
static void test_config__url_passwords_are_masked_in_show(void **state)
{
    rag_config *c;
    (void)state;
    c = must_load("backends:\n  b:\n    type: openai\n"
                  "    url: http://user:URLPASS_SECRET_66@127.0.0.1:9/v1\n    model: m\n"
                  "  t:\n    type: tei\n    url: https://TOK3N_SECRET@tei.example/x?a=b@c\n"
                  "server:\n  cors_origins: [\"https://u:LISTPASS_SECRET@web.example\"]\n"
                  "chains:\n  llm: [b, extractive]\n", NULL, 0);
    for (int json = 0; json < 2; json++) {
        char *out = show(c, json ? RAG_CONFIG_SHOW_JSON : RAG_CONFIG_SHOW_ORIGIN);
        assert_null(strstr(out, "SECRET"));
        assert_contains(out, "http://user:****@127.0.0.1:9/v1");
        assert_contains(out, "https://****@tei.example/x?a=b@c");
        assert_contains(out, "https://u:****@web.example");
        rag_free(out);
    }
    /* the values themselves are untouched */
    assert_contains(rag_config_backend(c, "b")->url, "URLPASS_SECRET_66");
    rag_config_destroy(c);
}

static void test_config__show_yaml_loads_back_to_the_same_config(void **state)
{
    const char *yaml = "search:\n  k: 12\n  mode: hybrid\nbackends:\n"
                       "  t:\n    type: tei\n    url: http://e:1\n    max_in_flight: 9\n"
                       "    models: [a, \"b c\"]\nchains:\n  embed: [t]\n";
    rag_config *c1, *c2;
    char *s1, *s2;
    (void)state;
    c1 = must_load(yaml, NULL, 0);
    s1 = show(c1, 0);
    c2 = must_load(s1, NULL, 0);
    s2 = show(c2, 0);
    assert_string_equal(s1, s2);
    assert_int_equal(rag_config_backend(c2, "t")->max_in_flight, 9);
    rag_free(s1);
    rag_free(s2);
    rag_config_destroy(c1);
    rag_config_destroy(c2);
}

static void test_config__show_json_is_valid_json_with_origins(void **state)
{
    rag_config *c = must_load("search:\n  k: 12\n", NULL, 0);
    char *out = show(c, RAG_CONFIG_SHOW_JSON | RAG_CONFIG_SHOW_ORIGIN);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    (void)state;
    if (!j)
        fail_msg("invalid JSON (%s): %s", jerr.text, out);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "settings"),
                                                        "search.k")), 12);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "origins"),
                                                          "search.k")), "t.yaml:2:6");
    assert_non_null(json_object_get(json_object_get(j, "backends"), "local"));
    json_decref(j);
    rag_free(out);
    rag_config_destroy(c);
}

/* ---- files in the tree ------------------------------------------------------- */

static void test_config__every_example_config_loads(void **state)
{
    static const char *const names[] = {"local.yaml", "hf_spaces.yaml", "api.yaml", NULL};
    (void)state;
    setenv("HF_TOKEN", "hf_exampleToken123", 1);
    setenv("OPENAI_API_KEY", "sk-example-123456", 1);
    for (size_t i = 0; names[i]; i++) {
        char rel[64], *path;
        rag_config_source src = {0};
        rag_config *c = NULL;
        rag_err err = {0};
        snprintf(rel, sizeof rel, "config/%s", names[i]);
        path = ts_src_path(rel);
        src.config_path = path;
        if (rag_config_load(&c, &src, &err) != RAG_OK)
            fail_msg("%s: %s", names[i], err.msg);
        assert_true(c->n_chain_llm >= 1);
        for (size_t b = 0; b < c->n_backends; b++)
            if (!c->backends[b].enabled)
                fail_msg("%s: back-end %s disabled", names[i], c->backends[b].name);
        rag_config_destroy(c);
        rag_free(path);
    }
}

static void test_config__every_key_is_documented(void **state)
{
    rag_config *c = must_load(NULL, NULL, 0);
    char *doc_path = ts_src_path("docs/configuration.md");
    rag_buf doc = RAG_BUF_INIT;
    rag_err err = {0};
    char *json = show(c, RAG_CONFIG_SHOW_JSON);
    json_t *j = json_loads(json, 0, NULL);
    const char *key;
    json_t *v;
    (void)state;
    assert_int_equal(rag_read_file(&doc, doc_path, 0, &err), RAG_OK);
    assert_non_null(j);
    json_object_foreach(json_object_get(j, "settings"), key, v) {
        char env[96], tick[96];
        size_t o = 0;
        (void)v;
        snprintf(tick, sizeof tick, "`%s`", key);
        assert_contains(doc.data, tick);
        o = (size_t)snprintf(env, sizeof env, "DOCRAG_");
        for (const char *p = key; *p; p++)
            env[o++] = *p == '.' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        env[o] = '\0';
        assert_contains(doc.data, env);
    }
    json_object_foreach(json_object_get(json_object_get(j, "backends"), "local"), key, v) {
        char tick[96];
        (void)v;
        snprintf(tick, sizeof tick, "`%s`", key);
        assert_contains(doc.data, tick);
    }
    json_decref(j);
    rag_free(json);
    rag_buf_fini(&doc);
    rag_free(doc_path);
    rag_config_destroy(c);
}


static void test_config__lists_from_env_and_flags_are_comma_separated(void **state)
{
    rag_config *c;
    (void)state;
    setenv("DOCRAG_CHAINS_LLM", " none , extractive ", 1);
    c = must_load(NULL, (const char *const[]){"backends.m.type=tei",
                                              "chains.embed=m,none"}, 2);
    assert_int_equal(c->n_chain_llm, 2);
    assert_string_equal(c->chain_llm[0], "none");
    assert_string_equal(c->chain_llm[1], "extractive");
    assert_int_equal(c->n_chain_embed, 2);
    assert_string_equal(c->chain_embed[0], "m");
    rag_config_destroy(c);
    unsetenv("DOCRAG_CHAINS_LLM");
    must_fail(NULL, (const char *const[]){"chains.llm=a,b,c,d,e,f,g,h,i"}, 1, RAG_ELIMIT);
}

static void test_config__yaml_null_is_an_empty_value(void **state)
{
    log_capture lc = {0};
    rag_config *c;
    const char *msg;
    (void)state;
    msg = must_fail("db: ~\n", NULL, 0, RAG_EFORMAT);
    assert_contains(msg, "t.yaml:1:5: db must not be empty");
    c = must_load("db: \"~\"\n", NULL, 0);   /* quoted: a real file name */
    assert_string_equal(c->db_path, "~");
    rag_config_destroy(c);
    rag_log_set(capture_log, &lc);
    c = must_load("backends:\n  o:\n    type: openai\n    model: m\n    api_key:\n"
                  "chains:\n  llm: [o]\n", NULL, 0);
    rag_log_set(quiet_log, NULL);
    assert_int_equal(lc.n_warn, 1);
    assert_int_equal(rag_config_backend(c, "o")->enabled, 0);
    rag_config_destroy(c);
}

/* The CLI: `docrag config show` masks secrets in both formats. */
static void test_config__cli_config_show_masks_secrets(void **state)
{
    const char *bin = getenv("DOCRAG_BIN");
    static char cmd[1024], out[65536];
    size_t n;
    FILE *p;
    (void)state;
    if (!bin)
        skip();
    static const char yaml[] = "backends:\n  hf:\n    type: hf_providers\n    model: m\n"
                               "    api_key: ${HF_TOKEN}\nchains:\n  llm: [hf, extractive]\n";
    ts_write_file("cli.yaml", yaml, sizeof yaml - 1);
    setenv("HF_TOKEN", SECRET, 1);
    for (int json = 0; json < 2; json++) {
        snprintf(cmd, sizeof cmd, "'%s' config show %s --config cli.yaml --db /tmp/cli.db "
                 "--set backends.hf.timeout_ms=1234 2>&1", bin, json ? "--json" : "");
        p = popen(cmd, "r");
        assert_non_null(p);
        n = fread(out, 1, sizeof out - 1, p);
        out[n] = '\0';
        assert_int_equal(pclose(p), 0);
        assert_null(strstr(out, "SECRET"));
        assert_contains(out, "****");
        assert_contains(out, "1234");
        assert_contains(out, "/tmp/cli.db");
        if (json) {
            json_t *j = json_loads(out, 0, NULL);
            assert_non_null(j);
            assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(j, "origins"), "db")), "--set db");
            json_decref(j);
        }
    }
    /* errors are printed, exit status 1, and still no secret */
    snprintf(cmd, sizeof cmd, "'%s' config show --config cli.yaml "
             "--set backends.hf.timeout_ms=0 2>&1", bin);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    assert_int_not_equal(pclose(p), 0);
    assert_contains(out, "backends.hf.timeout_ms");
    assert_null(strstr(out, "SECRET"));
}

/* ---- allocation failures ---------------------------------------------------- */

static void test_config__every_allocation_failure_is_enomem_without_leaks(void **state)
{
    const char *yaml = "search:\n  k: ${DOCRAG_T_B:-12}\nbackends:\n"
                       "  hf:\n    type: hf_providers\n    model: m\n    api_key: dummy\n"
                       "    models: [a, b]\nchains:\n  llm: [hf, extractive]\n";
    const char *sets[] = {"search.mode=hybrid", "backends.t.type=tei"};
    log_capture lc = {0};
    long n;
    (void)state;
    rag_log_set(capture_log, &lc);
    for (n = 0; n < 100000; n++) {
        rag_config *c = NULL;
        rag_err err = {0};
        int rc;
        ts_fail_alloc_after(n);
        rc = load_text(&c, yaml, sets, 2, &err);
        if (rc == RAG_OK) {
            rag_buf b = RAG_BUF_INIT;
            int src = rag_config_show_ex(&b, c, RAG_CONFIG_SHOW_ORIGIN | RAG_CONFIG_SHOW_JSON);
            ts_fail_alloc_after(-1);
            assert_true(src == RAG_OK || src == RAG_ENOMEM);
            rag_buf_fini(&b);
            rag_config_destroy(c);
            if (src == RAG_OK)
                break;
            continue;
        }
        ts_fail_alloc_after(-1);
        if (rc != RAG_ENOMEM)
            fail_msg("allocation %ld: expected RAG_ENOMEM, got %d (%s)", n, rc, err.msg);
        assert_null(c);
    }
    ts_fail_alloc_after(-1);
    rag_log_set(quiet_log, NULL);
    assert_true(n > 10 && n < 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config__no_file_gives_local_profile_defaults, setup),
        cmocka_unit_test_setup(test_config__precedence_flag_over_env_over_file_over_profile,
                               setup),
        cmocka_unit_test_setup(test_config__docrag_db_and_docrag_config_are_honoured, setup),
        cmocka_unit_test_setup(test_config__store_is_db_by_another_name, setup),
        cmocka_unit_test_setup(test_config__missing_named_file_is_an_error_naming_it, setup),
        cmocka_unit_test_setup(test_config__env_substitution_in_nested_values_and_lists,
                               setup),
        cmocka_unit_test_setup(test_config__default_forms_and_escape, setup),
        cmocka_unit_test_setup(test_config__unset_var_without_default_names_key_and_var,
                               setup),
        cmocka_unit_test_setup(test_config__malformed_yaml_reports_file_line_col, setup),
        cmocka_unit_test_setup(test_config__unknown_key_is_named_with_suggestion, setup),
        cmocka_unit_test_setup(test_config__out_of_range_names_key_range_and_origin, setup),
        cmocka_unit_test_setup(test_config__wrong_types_are_named, setup),
        cmocka_unit_test_setup(test_config__complex_keys_and_second_documents_are_refused,
                               setup),
        cmocka_unit_test_setup(test_config__cross_key_checks_name_both_keys, setup),
        cmocka_unit_test_setup(test_config__chains_must_name_existing_backends, setup),
        cmocka_unit_test_setup(test_config__placeholder_tokens_are_recognised, setup),
        cmocka_unit_test_setup(test_config__placeholder_disables_backend_with_one_warning,
                               setup),
        cmocka_unit_test_setup(test_config__secret_never_in_show_or_errors, setup),
        cmocka_unit_test_setup(test_config__profile_detected_from_environment, setup),
        cmocka_unit_test_setup(test_config__unused_profile_backends_do_not_warn, setup),
        cmocka_unit_test_setup(test_config__url_passwords_are_masked_in_show, setup),
        cmocka_unit_test_setup(test_config__show_yaml_loads_back_to_the_same_config, setup),
        cmocka_unit_test_setup(test_config__show_json_is_valid_json_with_origins, setup),
        cmocka_unit_test_setup(test_config__every_example_config_loads, setup),
        cmocka_unit_test_setup(test_config__every_key_is_documented, setup),
        cmocka_unit_test_setup(test_config__lists_from_env_and_flags_are_comma_separated,
                               setup),
        cmocka_unit_test_setup(test_config__yaml_null_is_an_empty_value, setup),
        cmocka_unit_test_setup(test_config__cli_config_show_masks_secrets, setup),
        cmocka_unit_test_setup(test_config__every_allocation_failure_is_enomem_without_leaks,
                               setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
