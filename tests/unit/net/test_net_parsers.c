/* test_net_parsers.c - SSE and NDJSON framing, redaction, Retry-After. */
#include "test_support.h"

#include "net/net.h"

#include <string.h>

typedef struct {
    rag_buf log;   /* "event|data|id\n" per event */
    int n;
    int stop_at;   /* stop after this many events (0 = never) */
} sink;

static int sse_sink(const char *event, const char *data, size_t n, const char *id,
                    void *ud)
{
    sink *s = ud;
    rag_buf_printf(&s->log, "%s|%.*s|%s\n", event, (int)n, data, id ? id : "-");
    s->n++;
    return s->stop_at && s->n >= s->stop_at;
}

static int nd_sink(const char *line, size_t n, void *ud)
{
    sink *s = ud;
    rag_buf_printf(&s->log, "%.*s\n", (int)n, line);
    s->n++;
    return s->stop_at && s->n >= s->stop_at;
}

static const char SSE_DOC[] =
    ": keep-alive comment\r\n"
    "data: {\"a\":1}\r\n"
    "\r\n"
    "event: usage\n"
    "id: 7\n"
    "data: line one\n"
    "data:line two\n"
    "retry: 1000\n"
    "unknown: field\n"
    "\n"
    "data\n"
    "\n"
    "event: nothing-without-data\n"
    "\n"
    "data: [DONE]\r"
    "\r";

static const char SSE_EXPECT[] =
    "message|{\"a\":1}|-\n"
    "usage|line one\nline two|7\n"
    "message||7\n"
    "message|[DONE]|7\n";

static char *sse_parse_split(const char *doc, size_t n_doc, const size_t *cuts, int n_cuts)
{
    sink s = {RAG_BUF_INIT, 0, 0};
    rag_sse *p;
    size_t at = 0;
    assert_int_equal(rag_sse_create(&p, 0, sse_sink, &s), RAG_OK);
    for (int i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : n_doc;
        assert_int_equal(rag_sse_feed(p, doc + at, end - at), RAG_OK);
        at = end;
    }
    assert_int_equal(rag_sse_finish(p), 0);
    rag_sse_destroy(p);
    if (!s.log.data)
        return rag_strdup("");
    return rag_buf_take(&s.log);
}

static void test_sse__events_comments_multiline_and_done(void **state)
{
    char *got;
    (void)state;
    got = sse_parse_split(SSE_DOC, strlen(SSE_DOC), NULL, 0);
    assert_string_equal(got, SSE_EXPECT);
    rag_free(got);
}

static void test_sse__same_events_for_every_split_point(void **state)
{
    size_t n = strlen(SSE_DOC);
    (void)state;
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i; j <= n; j += 7) {
            size_t cuts[2] = {i, j};
            char *got = sse_parse_split(SSE_DOC, n, cuts, 2);
            assert_string_equal(got, SSE_EXPECT);
            rag_free(got);
        }
    }
}

static void test_sse__byte_at_a_time_crlf(void **state)
{
    size_t n = strlen(SSE_DOC);
    size_t cuts[sizeof SSE_DOC];
    char *got;
    (void)state;
    for (size_t i = 0; i < n; i++)
        cuts[i] = i;
    got = sse_parse_split(SSE_DOC, n, cuts, (int)n);
    assert_string_equal(got, SSE_EXPECT);
    rag_free(got);
}

static void test_sse__finish_reports_a_cut_event(void **state)
{
    sink s = {RAG_BUF_INIT, 0, 0};
    rag_sse *p;
    (void)state;
    assert_int_equal(rag_sse_create(&p, 0, sse_sink, &s), RAG_OK);
    assert_int_equal(rag_sse_feed(p, "data: one\n\ndata: tw", 19), RAG_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(rag_sse_finish(p), 1);
    assert_int_equal(s.n, 1); /* the partial event is not dispatched */
    rag_sse_destroy(p);
    rag_buf_fini(&s.log);
}

static void test_sse__overlong_line_is_a_limit_error(void **state)
{
    sink s = {RAG_BUF_INIT, 0, 0};
    rag_sse *p;
    char big[300];
    (void)state;
    memset(big, 'x', sizeof big);
    assert_int_equal(rag_sse_create(&p, 64, sse_sink, &s), RAG_OK);
    assert_int_equal(rag_sse_feed(p, "data: ", 6), RAG_OK);
    assert_int_equal(rag_sse_feed(p, big, sizeof big), RAG_ELIMIT);
    rag_sse_destroy(p);
    rag_buf_fini(&s.log);
}

static void test_sse__callback_stop_ends_parsing(void **state)
{
    sink s = {RAG_BUF_INIT, 0, 1};
    rag_sse *p;
    (void)state;
    assert_int_equal(rag_sse_create(&p, 0, sse_sink, &s), RAG_OK);
    assert_int_equal(rag_sse_feed(p, "data: a\n\ndata: b\n\n", 18), RAG_EBACKEND);
    assert_int_equal(s.n, 1);
    assert_int_equal(rag_sse_feed(p, "data: c\n\n", 9), RAG_EBACKEND);
    rag_sse_destroy(p);
    rag_buf_fini(&s.log);
}

static void test_ndjson__partial_lines_across_chunks(void **state)
{
    static const char doc[] = "{\"a\":1}\n\r\n{\"b\":\"x y\"}\r\n  \n{\"done\":true}";
    size_t n = strlen(doc);
    (void)state;
    for (size_t cut = 0; cut <= n; cut++) {
        sink s = {RAG_BUF_INIT, 0, 0};
        rag_ndjson *p;
        assert_int_equal(rag_ndjson_create(&p, 0, nd_sink, &s), RAG_OK);
        assert_int_equal(rag_ndjson_feed(p, doc, cut), RAG_OK);
        assert_int_equal(rag_ndjson_feed(p, doc + cut, n - cut), RAG_OK);
        assert_int_equal(rag_ndjson_finish(p), RAG_OK);
        assert_int_equal(s.n, 3);
        assert_string_equal(s.log.data, "{\"a\":1}\n{\"b\":\"x y\"}\n{\"done\":true}\n");
        rag_ndjson_destroy(p);
        rag_buf_fini(&s.log);
    }
}

static void test_ndjson__overlong_line_is_a_limit_error(void **state)
{
    sink s = {RAG_BUF_INIT, 0, 0};
    rag_ndjson *p;
    char big[100];
    (void)state;
    memset(big, 'x', sizeof big);
    assert_int_equal(rag_ndjson_create(&p, 32, nd_sink, &s), RAG_OK);
    assert_int_equal(rag_ndjson_feed(p, big, sizeof big), RAG_ELIMIT);
    rag_ndjson_destroy(p);
}

static void test_redact__scrubs_configured_and_pattern_secrets(void **state)
{
    const char *secrets[] = {"s3cr3t-value", NULL};
    char s[512];
    (void)state;
    snprintf(s, sizeof s,
             "auth failed: Authorization: Bearer abc.DEF-123 token=s3cr3t-value "
             "hf_AbCdEfGhIjKlMn and sk-proj1234567890 url https://user:pw@host/x "
             "keep hf_ab and sk-short and Bearer ");
    rag_net_redact(s, secrets);
    assert_null(strstr(s, "s3cr3t"));
    assert_null(strstr(s, "abc.DEF"));
    assert_null(strstr(s, "AbCdEf"));
    assert_null(strstr(s, "proj1234"));
    assert_null(strstr(s, "user:pw"));
    assert_non_null(strstr(s, "Bearer ***"));
    assert_non_null(strstr(s, "hf_***"));
    assert_non_null(strstr(s, "https://***@host/x"));
    assert_non_null(strstr(s, "keep hf_ab and sk-short")); /* too short to be tokens */
}

/* Regression (issue 13, defect 2): a secret echoed JSON-escaped, URL-encoded
 * or cut short survived redaction. */
static void test_redact__escaped_encoded_and_truncated_forms(void **state)
{
    const char *secrets[] = {"abc/def+SECRET/xyz==", "short7!", NULL};
    static const char *const leaks[] = {
        "bad key Bearer abc\\/def+SECRET\\/xyz==",          /* JSON, "/" escaped */
        "see https://x/?key=abc%2Fdef%2BSECRET%2Fxyz%3D%3D", /* percent, upper */
        "see https://x/?key=abc%2fdef%2bSECRET%2fxyz%3d%3d", /* percent, lower */
        "invalid api key abc/def+SECR...",                   /* prefix of 12 */
        "invalid api key abc/def+...",                       /* prefix of 8 */
        "key=abc%2Fdef%2BSE",                                /* encoded prefix */
        "twice: abc/def+SECRET/xyz== and abc\\/def+SECRET\\/xyz==",
    };
    char s[256];
    (void)state;
    for (size_t i = 0; i < sizeof leaks / sizeof leaks[0]; i++) {
        snprintf(s, sizeof s, "%s", leaks[i]);
        rag_net_redact(s, secrets);
        if (strstr(s, "SECR") || strstr(s, "abc/def") || strstr(s, "abc\\/") ||
            strstr(s, "abc%2") || strstr(s, "def+"))
            fail_msg("leak %zu survived: %s", i, s);
        assert_non_null(strstr(s, "***"));
    }
    /* 7 bytes of a secret are not enough to call them the secret... */
    snprintf(s, sizeof s, "abc/def is a path");
    rag_net_redact(s, secrets);
    assert_string_equal(s, "abc/def is a path");
    /* ...and a secret shorter than 8 bytes is matched whole only */
    snprintf(s, sizeof s, "short7 short7! short7%%21");
    rag_net_redact(s, secrets);
    assert_string_equal(s, "short7 *** ***");
}

/* An error body is never quoted verbatim: its JSON message, redacted before
 * the cut, bounded, on a UTF-8 boundary. */
static void test_excerpt__message_redacted_then_bounded(void **state)
{
    const char *secrets[] = {"abc/def+SECRET/xyz==", NULL};
    char out[40], body[256];
    (void)state;
    snprintf(body, sizeof body, "{\"error\":{\"message\":\"bad key\",\"type\":\"x\"}}");
    rag_net_excerpt(out, sizeof out, body, strlen(body), secrets);
    assert_string_equal(out, "bad key");
    snprintf(body, sizeof body, "{\"detail\":\"nope\\n\"}");
    rag_net_excerpt(out, sizeof out, body, strlen(body), secrets);
    assert_string_equal(out, "nope");
    /* the escaped secret is decoded, then removed */
    snprintf(body, sizeof body, "{\"error\": \"bad key abc\\/def+SECRET\\/xyz==\"}");
    rag_net_excerpt(out, sizeof out, body, strlen(body), secrets);
    assert_string_equal(out, "bad key ***");
    /* not JSON: the text, one line; a secret straddling the cut leaks
     * nothing, and the cut is marked */
    snprintf(body, sizeof body, "denied\r\nfor %30s abc/def+SECRET/xyz== and more", "");
    rag_net_excerpt(out, sizeof out, body, strlen(body), secrets);
    assert_true(strlen(out) <= sizeof out - 1);
    assert_null(strstr(out, "abc"));
    assert_null(strchr(out, '\n'));
    assert_non_null(strstr(out, "..."));
    /* a multi-byte character is not cut in two */
    memset(body, 0, sizeof body);
    for (int i = 0; i < 30; i++)
        strcat(body, "\xc3\xa9");
    rag_net_excerpt(out, sizeof out, body, strlen(body), NULL);
    assert_true(rag_utf8_valid(out, strlen(out)));
    rag_net_excerpt(out, sizeof out, "", 0, secrets);
    assert_string_equal(out, "");
}

static void test_redact__secret_repeated_and_adjacent(void **state)
{
    const char *secrets[] = {"ab", "xyzxyz", NULL};
    char s[64] = "xyzxyzxyzxyz-ab-abab";
    (void)state;
    rag_net_redact(s, secrets);
    assert_null(strstr(s, "xyz"));
    assert_null(strstr(s, "ab"));
}

static void test_retry_after__seconds_and_http_date(void **state)
{
    (void)state;
    assert_true(rag_net_parse_retry_after("3", 0) == 3000.0);
    assert_true(rag_net_parse_retry_after(" 0 ", 0) == 0.0);
    assert_true(rag_net_parse_retry_after("1.5", 0) == 1500.0);
    /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
    assert_true(rag_net_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
                                          784111777.0 - 5) == 5000.0);
    assert_true(rag_net_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
                                          784111777.0 + 50) == 0.0);
    assert_true(rag_net_parse_retry_after("soon", 0) < 0);
    assert_true(rag_net_parse_retry_after("-3", 0) < 0);
}

static void test_status__only_transient_codes_are_retryable(void **state)
{
    static const long yes[] = {429, 500, 502, 503, 504};
    static const long no[] = {200, 400, 401, 403, 404, 408, 413, 422, 424, 501};
    (void)state;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(rag_net_status_retryable(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(rag_net_status_retryable(no[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse__events_comments_multiline_and_done),
        cmocka_unit_test(test_sse__same_events_for_every_split_point),
        cmocka_unit_test(test_sse__byte_at_a_time_crlf),
        cmocka_unit_test(test_sse__finish_reports_a_cut_event),
        cmocka_unit_test(test_sse__overlong_line_is_a_limit_error),
        cmocka_unit_test(test_sse__callback_stop_ends_parsing),
        cmocka_unit_test(test_ndjson__partial_lines_across_chunks),
        cmocka_unit_test(test_ndjson__overlong_line_is_a_limit_error),
        cmocka_unit_test(test_redact__scrubs_configured_and_pattern_secrets),
        cmocka_unit_test(test_redact__secret_repeated_and_adjacent),
        cmocka_unit_test(test_redact__escaped_encoded_and_truncated_forms),
        cmocka_unit_test(test_excerpt__message_redacted_then_bounded),
        cmocka_unit_test(test_retry_after__seconds_and_http_date),
        cmocka_unit_test(test_status__only_transient_codes_are_retryable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
