/* test_mcp_core.c - the MCP JSON-RPC core (src/server/mcp_core.c): message
 * classification, lifecycle and version rules, tool-argument validation,
 * and the three tools on a real temporary index. */
#include "test_support.h"

#include "server/mcp.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char notes_md[] =
    "# Vector unit\n\nThe vector length register vl holds the number of "
    "elements to process.\n\n## Masks\n\nMask register v0 controls which "
    "elements are active.\n";

/* Handle text on conn with env (NULL: no index); the parsed answer or NULL
 * when none came. *rejected (may be NULL) gets reply.rejected. */
static json_t *run(rag_mcp_conn *conn, const rag_mcp_env *env, const char *text, int *rejected)
{
    rag_mcp_input in;
    rag_mcp_reply rep;
    rag_mcp_env none;
    json_t *o = NULL;
    memset(&none, 0, sizeof none);
    assert_int_equal(rag_mcp_parse(&in, text, strlen(text)), 0);
    assert_int_equal(rag_mcp_handle(&rep, conn, &in, env ? env : &none), 0);
    if (rep.json) {
        o = json_loads(rep.json, 0, NULL);
        assert_non_null(o);
    }
    if (rejected)
        *rejected = rep.rejected;
    rag_mcp_reply_fini(&rep);
    rag_mcp_input_fini(&in);
    return o;
}

static int error_code(const json_t *o)
{
    return (int)json_integer_value(json_object_get(json_object_get(o, "error"), "code"));
}

static void init_conn(rag_mcp_conn *c, const char *version)
{
    char msg[300];
    json_t *o;
    memset(c, 0, sizeof *c);
    snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
             "{\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
             "\"version\":\"1\"}}}", version);
    o = run(c, NULL, msg, NULL);
    assert_non_null(json_object_get(o, "result"));
    json_decref(o);
}

static void test_mcp__messages_are_classified_by_their_members(void **state)
{
    static const struct {
        const char *text;
        rag_mcp_kind kind;
        int has_id;
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", RAG_MCP_MSG_REQUEST, 1},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"ping\",\"params\":{}}", RAG_MCP_MSG_REQUEST, 1},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", RAG_MCP_MSG_NOTIFICATION, 0},
        {"{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}", RAG_MCP_MSG_RESPONSE, 1},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1,\"message\":\"x\"}}", RAG_MCP_MSG_RESPONSE, 0},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}", RAG_MCP_MSG_INVALID, 0},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}", RAG_MCP_MSG_INVALID, 1},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", RAG_MCP_MSG_INVALID, 0},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", RAG_MCP_MSG_INVALID, 0},
        {"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\",\"params\":7}", RAG_MCP_MSG_INVALID, 1},
        {"{\"id\":3,\"method\":\"ping\"}", RAG_MCP_MSG_INVALID, 1},
        {"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":[]}", RAG_MCP_MSG_INVALID, 1},
        {"17", RAG_MCP_MSG_INVALID, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rag_mcp_input in;
        assert_int_equal(rag_mcp_parse(&in, cases[i].text, strlen(cases[i].text)), 0);
        assert_int_equal(in.error_code, 0);
        assert_int_equal(in.n_msgs, 1);
        if (in.msgs[0].kind != cases[i].kind)
            fail_msg("%s: kind %d, want %d", cases[i].text, in.msgs[0].kind, cases[i].kind);
        assert_int_equal(in.msgs[0].id != NULL, cases[i].has_id);
        rag_mcp_input_fini(&in);
    }
}

static void test_mcp__unusable_input_is_rejected_with_one_error(void **state)
{
    rag_mcp_conn c;
    int rejected;
    json_t *o;
    (void)state;
    init_conn(&c, RAG_MCP_VERSION_LATEST);
    o = run(&c, NULL, "{\"jsonrpc\":", &rejected);
    assert_true(rejected);
    assert_int_equal(error_code(o), RAG_MCP_PARSE_ERROR);
    assert_true(json_is_null(json_object_get(o, "id")));
    json_decref(o);
    /* invalid UTF-8 quoted in the parser's message must not turn into "out
     * of memory": the message is repaired */
    o = run(&c, NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\xfe\"}", &rejected);
    assert_int_equal(error_code(o), RAG_MCP_PARSE_ERROR);
    json_decref(o);
    o = run(&c, NULL, "[]", &rejected);
    assert_true(rejected);
    assert_int_equal(error_code(o), RAG_MCP_INVALID_REQUEST);
    json_decref(o);
    o = run(&c, NULL, "{\"jsonrpc\":\"1.0\",\"id\":4,\"method\":\"ping\"}", &rejected);
    assert_true(rejected);
    assert_int_equal(json_integer_value(json_object_get(o, "id")), 4);
    json_decref(o);
    o = run(&c, NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}", NULL);
    assert_int_equal(error_code(o), RAG_MCP_PARSE_ERROR);   /* duplicate keys */
    json_decref(o);
}

static void test_mcp__initialize_negotiates_and_comes_first(void **state)
{
    rag_mcp_conn c;
    json_t *o;
    (void)state;
    memset(&c, 0, sizeof c);
    o = run(&c, NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", NULL);
    assert_int_equal(error_code(o), RAG_MCP_INVALID_REQUEST);
    json_decref(o);
    o = run(&c, NULL, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", NULL);
    assert_non_null(json_object_get(o, "result"));   /* ping: any time */
    json_decref(o);
    o = run(&c, NULL, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\",\"params\":{}}", NULL);
    assert_int_equal(error_code(o), RAG_MCP_INVALID_PARAMS);
    json_decref(o);
    assert_string_equal(c.version, "");
    init_conn(&c, "2099-01-01");
    assert_string_equal(c.version, RAG_MCP_VERSION_LATEST);
    o = run(&c, NULL, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", NULL);
    assert_null(o);
    assert_true(c.initialized);
    init_conn(&c, "2025-03-26");
    assert_string_equal(c.version, "2025-03-26");
}

static void test_mcp__batches_only_in_2025_03_26(void **state)
{
    static const char batch[] =
        "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}]";
    rag_mcp_conn c;
    int rejected;
    json_t *o;
    (void)state;
    init_conn(&c, RAG_MCP_VERSION_LATEST);
    o = run(&c, NULL, batch, &rejected);
    assert_true(rejected);
    assert_int_equal(error_code(o), RAG_MCP_INVALID_REQUEST);
    json_decref(o);
    init_conn(&c, RAG_MCP_VERSION_BATCH);
    o = run(&c, NULL, batch, &rejected);
    assert_false(rejected);
    assert_int_equal(json_array_size(o), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(o, 1), "id")), 2);
    assert_int_equal(error_code(json_array_get(o, 1)), RAG_MCP_METHOD_NOT_FOUND);
    json_decref(o);
    assert_null(run(&c, NULL, "[{\"jsonrpc\":\"2.0\",\"method\":\"x\"}]", NULL));
}

static void test_mcp__names_cut_for_a_message_stay_utf8(void **state)
{
    /* 63 ASCII bytes, then a 2-byte character the 64-byte cut splits */
    char msg[400], name[80];
    rag_mcp_conn c;
    json_t *o;
    const char *m;
    (void)state;
    memset(name, 'a', 63);
    strcpy(name + 63, "\xc3\xa9\xc3\xa9");
    init_conn(&c, RAG_MCP_VERSION_LATEST);
    snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}", name);
    o = run(&c, NULL, msg, NULL);
    assert_int_equal(error_code(o), RAG_MCP_METHOD_NOT_FOUND);
    m = json_string_value(json_object_get(json_object_get(o, "error"), "message"));
    assert_non_null(strstr(m, "\xef\xbf\xbd"));   /* the cut byte, replaced */
    json_decref(o);
    snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
             "\"params\":{\"name\":\"%s\"}}", name);
    o = run(&c, NULL, msg, NULL);
    assert_int_equal(error_code(o), RAG_MCP_INVALID_PARAMS);
    json_decref(o);
}

static void test_mcp__tool_arguments_follow_the_input_schema(void **state)
{
    static const struct {
        const char *params;
        int ok;
    } cases[] = {
        {"{\"name\":\"search\",\"arguments\":{\"query\":\"q\"}}", 1},
        {"{\"name\":\"search\",\"arguments\":{\"query\":\"q\",\"k\":50,\"mode\":\"dense\","
         "\"doc\":\"*.pdf\",\"pages\":\"3-\"}}", 1},
        {"{\"name\":\"search\",\"arguments\":{\"query\":\"q\",\"k\":null,\"pages\":[2,2]}}", 1},
        {"{\"name\":\"search\",\"arguments\":{\"query\":\"q\",\"pages\":\"2-1\"}}", 0},
        {"{\"name\":\"search\",\"arguments\":{\"query\":\"q\",\"pages\":\"-4\"}}", 0},
        {"{\"name\":\"search\",\"arguments\":{\"query\":\"q\",\"pages\":\"12345678\"}}", 0},
        {"{\"name\":\"search\",\"arguments\":{\"query\":\"q\",\"pages\":[0,3]}}", 0},
        {"{\"name\":\"search\",\"arguments\":{\"query\":\"q\",\"k\":51}}", 0},
        {"{\"name\":\"search\",\"arguments\":{\"query\":\"q\",\"k\":2.0}}", 0},
        {"{\"name\":\"search\",\"arguments\":{\"query\":\"\"}}", 0},
        {"{\"name\":\"search\",\"arguments\":[]}", 0},
        {"{\"name\":\"search\"}", 0},
        {"{\"name\":\"ask\",\"arguments\":{\"question\":\"why?\",\"doc\":\"a.md\"}}", 1},
        {"{\"name\":\"ask\",\"arguments\":{\"query\":\"why?\"}}", 0},
        {"{\"name\":\"ask\",\"arguments\":{\"question\":\"why?\",\"pages\":1}}", 0},
        {"{\"name\":\"get_page\",\"arguments\":{\"document_id\":1,\"page\":1}}", 1},
        {"{\"name\":\"get_page\",\"arguments\":{\"document_id\":1,\"page\":1000001}}", 0},
        {"{\"name\":\"get_page\",\"arguments\":{\"document_id\":-1,\"page\":1}}", 0},
        {"{\"name\":\"get_page\",\"arguments\":{\"page\":1}}", 0},
        {"{\"name\":7}", 0},
        {"{\"name\":\"Search\",\"arguments\":{\"query\":\"q\"}}", 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *p = json_loads(cases[i].params, 0, NULL);
        rag_mcp_call call;
        char msg[200];
        int rc = rag_mcp_check_call(&call, p, msg, sizeof msg);
        if ((rc == 0) != cases[i].ok)
            fail_msg("%s: rc %d (%s)", cases[i].params, rc, rc ? msg : "");
        if (rc)
            assert_int_equal(rc, RAG_MCP_INVALID_PARAMS);
        json_decref(p);
    }
    {
        json_t *p = json_loads("{\"name\":\"search\",\"arguments\":{\"query\":\"q\","
                               "\"pages\":\"10-20\",\"k\":3}}", 0, NULL);
        rag_mcp_call call;
        char msg[200];
        assert_int_equal(rag_mcp_check_call(&call, p, msg, sizeof msg), 0);
        assert_int_equal(call.so.page_min, 10);
        assert_int_equal(call.so.page_max, 20);
        assert_int_equal(call.so.k, 3);
        assert_string_equal(call.text, "q");
        json_decref(p);
    }
}

static void test_mcp__tools_without_an_index_are_tool_errors(void **state)
{
    rag_mcp_conn c;
    json_t *o, *r;
    (void)state;
    init_conn(&c, RAG_MCP_VERSION_LATEST);
    o = run(&c, NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
            "\"name\":\"search\",\"arguments\":{\"query\":\"q\"}}}", NULL);
    r = json_object_get(o, "result");
    assert_true(json_is_true(json_object_get(r, "isError")));
    json_decref(o);
    o = run(&c, NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
            "\"name\":\"nope\"}}", NULL);
    assert_int_equal(error_code(o), RAG_MCP_INVALID_PARAMS);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(o, "error"),
                                                             "message")), "Unknown tool: nope"));
    json_decref(o);
}

static void test_mcp__tool_list_depends_on_the_version(void **state)
{
    rag_mcp_conn c;
    json_t *o, *t;
    size_t i;
    (void)state;
    init_conn(&c, RAG_MCP_VERSION_LATEST);
    o = run(&c, NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", NULL);
    assert_int_equal(json_array_size(json_object_get(json_object_get(o, "result"), "tools")), 3);
    json_array_foreach(json_object_get(json_object_get(o, "result"), "tools"), i, t) {
        assert_non_null(json_object_get(t, "outputSchema"));
        assert_non_null(json_object_get(t, "title"));
        assert_string_equal(json_string_value(json_object_get(json_object_get(t, "inputSchema"),
                                                              "type")), "object");
    }
    json_decref(o);
    init_conn(&c, RAG_MCP_VERSION_BATCH);
    o = run(&c, NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", NULL);
    json_array_foreach(json_object_get(json_object_get(o, "result"), "tools"), i, t) {
        assert_null(json_object_get(t, "outputSchema"));
        assert_null(json_object_get(t, "title"));
    }
    json_decref(o);
}

static void test_mcp__tools_answer_from_a_real_index(void **state)
{
    char *dir = ts_tmpdir("mcp"), *db = rag_asprintf("%s/t.db", dir);
    char *md = rag_asprintf("%s/notes.md", dir);
    const char *paths[1] = {md};
    docrag_engine_opts eo;
    docrag_engine *e;
    docrag_session *s;
    docrag_error err;
    rag_mcp_conn c;
    rag_mcp_env env;
    json_t *o, *r, *hit;
    char msg[300];
    json_int_t doc_id;
    const char *text;
    (void)state;

    ts_write_file(md, notes_md, strlen(notes_md));
    docrag_engine_opts_init(&eo);
    eo.db_path = db;
    eo.quiet = 1;
    assert_int_equal(docrag_engine_open(&e, &eo, &err), 0);
    assert_int_equal(docrag_session_open(&s, e, &err), 0);
    assert_int_equal(docrag_index(s, paths, 1, NULL, NULL, &err), 0);
    memset(&env, 0, sizeof env);
    env.session = s;
    init_conn(&c, RAG_MCP_VERSION_LATEST);

    o = run(&c, &env, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
            "\"name\":\"search\",\"arguments\":{\"query\":\"mask register\"}}}", NULL);
    r = json_object_get(o, "result");
    assert_null(json_object_get(r, "isError"));
    hit = json_array_get(json_object_get(json_object_get(r, "structuredContent"), "results"), 0);
    assert_non_null(hit);
    assert_string_equal(json_string_value(json_object_get(hit, "doc")), "notes.md");
    assert_true(json_is_string(json_object_get(hit, "chunk_id")));
    doc_id = json_integer_value(json_object_get(hit, "document_id"));
    assert_true(doc_id >= 1);
    assert_null(json_object_get(json_object_get(r, "structuredContent"), "timings_ms"));
    text = json_string_value(json_object_get(json_array_get(json_object_get(r, "content"), 0),
                                             "text"));
    assert_non_null(strstr(text, "[1] notes.md, p. 1"));
    assert_non_null(strstr(text, "Mask register v0"));
    json_decref(o);

    snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\""
             ":{\"name\":\"get_page\",\"arguments\":{\"document_id\":%lld,\"page\":1}}}",
             (long long)doc_id);
    o = run(&c, &env, msg, NULL);
    r = json_object_get(o, "result");
    text = json_string_value(json_object_get(json_array_get(json_object_get(r, "content"), 0),
                                             "text"));
    assert_non_null(strstr(text, "notes.md, page 1 of 1\n\n"));
    assert_non_null(strstr(text, "vector length register vl"));
    json_decref(o);

    snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\""
             ":{\"name\":\"get_page\",\"arguments\":{\"document_id\":%lld,\"page\":9}}}",
             (long long)doc_id);
    o = run(&c, &env, msg, NULL);
    assert_true(json_is_true(json_object_get(json_object_get(o, "result"), "isError")));
    json_decref(o);

    o = run(&c, &env, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{"
            "\"name\":\"ask\",\"arguments\":{\"question\":\"What does mask register v0 "
            "control?\"}}}", NULL);
    r = json_object_get(o, "result");
    assert_false(json_is_true(json_object_get(json_object_get(r, "structuredContent"), "refused")));
    text = json_string_value(json_object_get(json_array_get(json_object_get(r, "content"), 0),
                                             "text"));
    assert_non_null(strstr(text, "\n\nSources:\n[1] notes.md, p. 1"));
    json_decref(o);

    docrag_session_close(s);
    docrag_engine_close(e);
    rag_free(md);
    rag_free(db);
    rag_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mcp__messages_are_classified_by_their_members),
        cmocka_unit_test(test_mcp__unusable_input_is_rejected_with_one_error),
        cmocka_unit_test(test_mcp__initialize_negotiates_and_comes_first),
        cmocka_unit_test(test_mcp__batches_only_in_2025_03_26),
        cmocka_unit_test(test_mcp__names_cut_for_a_message_stay_utf8),
        cmocka_unit_test(test_mcp__tool_arguments_follow_the_input_schema),
        cmocka_unit_test(test_mcp__tools_without_an_index_are_tool_errors),
        cmocka_unit_test(test_mcp__tool_list_depends_on_the_version),
        cmocka_unit_test(test_mcp__tools_answer_from_a_real_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
