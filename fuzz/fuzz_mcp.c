/* fuzz_mcp.c - the MCP JSON-RPC core (src/server/mcp_core.c) on arbitrary
 * bytes, without an engine: parse, classify, validate and answer every
 * message; tool calls that pass validation end in "no index" tool errors.
 *
 * The first byte picks the connection's state (mod 3): fresh, initialized
 * at 2025-06-18, or initialized at 2025-03-26 (batches allowed); the rest
 * is one transport message. Checked on every input: the answer is JSON-RPC
 * 2.0 (each response has its id and exactly one of result / error with an
 * integer code); a lone request gets one answer with its own id; lone
 * notifications and responses get none; a batch gets one answer per
 * request or invalid element; a rejected input is one error (id null, or
 * the id of a lone invalid message).
 */
#include "server/mcp.h"

#include <stdlib.h>
#include <string.h>

static void check_response(const json_t *r)
{
    const json_t *res = json_object_get(r, "result"), *err = json_object_get(r, "error");
    if (!json_is_object(r) || strcmp(json_string_value(json_object_get(r, "jsonrpc")) ?
                                     json_string_value(json_object_get(r, "jsonrpc")) : "",
                                     "2.0"))
        abort();
    if (!json_object_get(r, "id") || (!res) == (!err))
        abort();
    if (err && (!json_is_integer(json_object_get(err, "code")) ||
                !json_is_string(json_object_get(err, "message"))))
        abort();
    if (res && !json_is_object(res))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rag_mcp_conn conn;
    rag_mcp_input in;
    rag_mcp_reply rep;
    rag_mcp_env env;
    json_t *out = NULL;
    int state;

    if (size == 0)
        return 0;
    state = data[0] % 3;
    data++;
    size--;
    memset(&conn, 0, sizeof conn);
    memset(&env, 0, sizeof env);
    if (state) {
        strcpy(conn.version, state == 1 ? RAG_MCP_VERSION_LATEST : RAG_MCP_VERSION_BATCH);
        conn.initialized = 1;
    }
    if (rag_mcp_parse(&in, (const char *)data, size) != 0) {
        rag_mcp_input_fini(&in);
        return 0;
    }
    if (rag_mcp_handle(&rep, &conn, &in, &env) != 0) {
        /* out of memory is the only failure, and no allocation fails here */
        abort();
    }
    if (rep.json) {
        out = json_loads(rep.json, 0, NULL);
        if (!out || strchr(rep.json, '\n'))
            abort();   /* stdio framing: one line */
    }
    if (rep.rejected) {
        /* one error: id null, or the id of a lone invalid message */
        if (!json_is_object(out) || !json_object_get(out, "error"))
            abort();
        if (!json_is_null(json_object_get(out, "id")) &&
            (in.batch || in.error_code || !json_equal(json_object_get(out, "id"), in.msgs[0].id)))
            abort();
        check_response(out);
    } else if (!in.batch) {
        const rag_mcp_msg *m = &in.msgs[0];
        if (m->kind == RAG_MCP_MSG_REQUEST) {
            check_response(out);
            if (!json_equal(json_object_get(out, "id"), m->id))
                abort();
        } else if (out) {
            abort();   /* notifications and responses are not answered */
        }
    } else {
        size_t n_due = 0, i;
        json_t *r;
        for (i = 0; i < in.n_msgs; i++)
            n_due += in.msgs[i].kind == RAG_MCP_MSG_REQUEST ||
                     in.msgs[i].kind == RAG_MCP_MSG_INVALID;
        if (n_due == 0 ? out != NULL : (!json_is_array(out) || json_array_size(out) != n_due))
            abort();
        json_array_foreach(out, i, r)
            check_response(r);
    }
    if (rep.initialized_now && (!conn.version[0] || !rag_mcp_version_supported(conn.version)))
        abort();
    json_decref(out);
    rag_mcp_reply_fini(&rep);
    rag_mcp_input_fini(&in);
    return 0;
}
