/* mcp_core.c - the MCP server's JSON-RPC core: parse, validate, dispatch,
 * and the three tools (search, ask, get_page) on docrag.h calls.
 *
 * A transport message is one JSON text: an object (one message) or, in
 * protocol version 2025-03-26 only, an array (a batch):
 *
 *   request       {"jsonrpc":"2.0","id":ID,"method":M,"params"?:P}
 *   notification  {"jsonrpc":"2.0","method":M,"params"?:P}
 *   response      {"jsonrpc":"2.0","id":ID,"result":R} | {...,"error":E}
 *
 * ID is a string or an integer (MCP forbids null), P an object. Anything
 * else is answered with -32600 and, when its id could be read, that id.
 *
 * Tool results carry a text block written for a model (one passage per
 * hit with document, pages and section; an answer with its Sources) and,
 * from 2025-06-18 on, structuredContent: docrag's own JSON (search --json,
 * ask --json, the page object) with two changes: `doc` is the file's base
 * name (server paths stay on the server) and every hit gets its
 * `document_id` (what get_page takes). `chunk_id`s are 64-bit, past what a
 * JavaScript number holds exactly, so they are strings here.
 */
#include "mcp.h"

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_TEXT_BYTES = 8192,   /* query / question, as POST /v1/search */
    MAX_K = 50,              /* passages per call: a model's context is finite */
    MAX_PAGE = 1000000,
};

static const char *const versions[] = {RAG_MCP_VERSION_LATEST, RAG_MCP_VERSION_BATCH};

int rag_mcp_version_supported(const char *v)
{
    for (size_t i = 0; v && i < sizeof versions / sizeof versions[0]; i++)
        if (!strcmp(v, versions[i]))
            return 1;
    return 0;
}

/* 2025-06-18 and later: titles, outputSchema, structuredContent. */
static int has_structured(const rag_mcp_conn *c)
{
    return strcmp(c->version, RAG_MCP_VERSION_BATCH) != 0;
}

/* ---- parsing ------------------------------------------------------------------ */

static int id_ok(const json_t *id)
{
    return json_is_string(id) || json_is_integer(id);
}

static void invalid(rag_mcp_msg *m, int code, const char *why)
{
    m->kind = RAG_MCP_MSG_INVALID;
    m->error_code = code;
    m->error_msg = why;
}

static void classify(rag_mcp_msg *m, json_t *o)
{
    json_t *id, *method, *params, *v;

    memset(m, 0, sizeof *m);
    if (!json_is_object(o)) {
        invalid(m, RAG_MCP_INVALID_REQUEST, "Invalid Request: a message is a JSON object");
        return;
    }
    id = json_object_get(o, "id");
    if (id_ok(id))
        m->id = id;
    v = json_object_get(o, "jsonrpc");
    if (!json_is_string(v) || strcmp(json_string_value(v), "2.0")) {
        invalid(m, RAG_MCP_INVALID_REQUEST, "Invalid Request: \"jsonrpc\" must be \"2.0\"");
        return;
    }
    method = json_object_get(o, "method");
    if (method) {
        if (!json_is_string(method)) {
            invalid(m, RAG_MCP_INVALID_REQUEST, "Invalid Request: \"method\" must be a string");
            return;
        }
        params = json_object_get(o, "params");
        if (params && !json_is_object(params) && !json_is_array(params)) {
            invalid(m, RAG_MCP_INVALID_REQUEST,
                    "Invalid Request: \"params\" must be an object or an array");
            return;
        }
        if (id && !m->id) {
            invalid(m, RAG_MCP_INVALID_REQUEST,
                    "Invalid Request: \"id\" must be a string or an integer");
            return;
        }
        m->kind = id ? RAG_MCP_MSG_REQUEST : RAG_MCP_MSG_NOTIFICATION;
        m->method = json_string_value(method);
        m->params = params;
        return;
    }
    {
        json_t *result = json_object_get(o, "result"), *error = json_object_get(o, "error");
        /* an error response may have a null id (its request was unreadable) */
        if ((!result) != (!error) && (m->id || (error && json_is_null(id)))) {
            m->kind = RAG_MCP_MSG_RESPONSE;
            return;
        }
    }
    invalid(m, RAG_MCP_INVALID_REQUEST,
            "Invalid Request: neither a request, a notification nor a response");
}

int rag_mcp_parse(rag_mcp_input *in, const char *text, size_t n_bytes)
{
    json_error_t je;

    memset(in, 0, sizeof *in);
    in->root = json_loadb(text, n_bytes, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!in->root) {
        if (json_error_code(&je) == json_error_out_of_memory)
            return RAG_ENOMEM;
        in->error_code = RAG_MCP_PARSE_ERROR;
        snprintf(in->error_msg, sizeof in->error_msg, "Parse error at line %d, column %d: %s",
                 je.line, je.column, je.text);
        return RAG_OK;
    }
    if (json_is_array(in->root)) {
        size_t i;
        json_t *v;
        in->batch = 1;
        if (json_array_size(in->root) == 0) {
            in->error_code = RAG_MCP_INVALID_REQUEST;
            snprintf(in->error_msg, sizeof in->error_msg, "Invalid Request: empty batch");
            return RAG_OK;
        }
        in->msgs = rag_calloc(json_array_size(in->root), sizeof *in->msgs);
        if (!in->msgs)
            return RAG_ENOMEM;
        json_array_foreach(in->root, i, v)
            classify(&in->msgs[i], v);
        in->n_msgs = json_array_size(in->root);
        return RAG_OK;
    }
    in->msgs = rag_calloc(1, sizeof *in->msgs);
    if (!in->msgs)
        return RAG_ENOMEM;
    classify(&in->msgs[0], in->root);
    in->n_msgs = 1;
    return RAG_OK;
}

void rag_mcp_input_fini(rag_mcp_input *in)
{
    json_decref(in->root);
    rag_free(in->msgs);
    memset(in, 0, sizeof *in);
}

int rag_mcp_is_initialize(const rag_mcp_input *in)
{
    return !in->error_code && !in->batch && in->n_msgs == 1 &&
           in->msgs[0].kind == RAG_MCP_MSG_REQUEST && !strcmp(in->msgs[0].method, "initialize");
}

/* ---- responses ---------------------------------------------------------------- */

/* A JSON string of s, with any byte that is not UTF-8 replaced (parser
 * messages quote the input; messages cut at a size may split a character):
 * json_string alone would fail, and that would read as out of memory. */
static json_t *safe_string(const char *s)
{
    json_t *j = json_string(s);
    rag_buf b = RAG_BUF_INIT;
    if (j || !s)
        return j;
    if (rag_utf8_sanitize(&b, s, strlen(s), NULL) == 0 && b.data)
        j = json_string(b.data);
    rag_buf_fini(&b);
    return j;
}

static json_t *rpc_result(json_t *id, json_t *result)
{
    if (!result)
        return NULL;
    return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "result",
                     result);
}

static json_t *rpc_error(json_t *id, int code, const char *msg)
{
    return json_pack("{s:s,s:O,s:{s:i,s:o}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                     "error", "code", code, "message", safe_string(msg));
}

char *rag_mcp_error_text(int code, const char *msg)
{
    json_t *o = rpc_error(NULL, code, msg);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return t;
}

/* ---- tool arguments ----------------------------------------------------------- */

static int fail_msg(char *msg, size_t n_msg, const char *fmt, const char *arg)
{
    snprintf(msg, n_msg, fmt, arg);
    return RAG_MCP_INVALID_PARAMS;
}

/* 12 | "10-20" | "30-" | [10, 20] (1-based, lo <= hi; hi 0 = open). */
static int parse_pages(const json_t *v, int *lo, int *hi)
{
    if (json_is_integer(v)) {
        json_int_t p = json_integer_value(v);
        if (p < 1 || p > MAX_PAGE)
            return -1;
        *lo = *hi = (int)p;
        return 0;
    }
    if (json_is_array(v)) {
        json_t *a = json_array_get(v, 0), *b = json_array_get(v, 1);
        if (json_array_size(v) != 2 || !json_is_integer(a) || !json_is_integer(b) ||
            json_integer_value(a) < 1 || json_integer_value(b) < json_integer_value(a) ||
            json_integer_value(b) > MAX_PAGE)
            return -1;
        *lo = (int)json_integer_value(a);
        *hi = (int)json_integer_value(b);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        long a = 0, b = 0;
        size_t n = strspn(s, "0123456789");
        if (n == 0 || n > 7)
            return -1;
        a = strtol(s, NULL, 10);
        s += n;
        if (*s == '-') {
            s++;
            n = strspn(s, "0123456789");
            if (n > 7 || s[n])
                return -1;
            b = n ? strtol(s, NULL, 10) : 0;
        } else if (*s) {
            return -1;
        } else {
            b = a;
        }
        if (a < 1 || a > MAX_PAGE || (b && (b < a || b > MAX_PAGE)))
            return -1;
        *lo = (int)a;
        *hi = (int)b;
        return 0;
    }
    return -1;
}

/* Optional fields may also be sent as null (models do): same as absent. */
static int check_text(const json_t *v, const char *key, const char **out, char *msg,
                      size_t n_msg)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail_msg(msg, n_msg, "'%s' must be a non-empty string", key);
    if (json_string_length(v) > MAX_TEXT_BYTES)
        return fail_msg(msg, n_msg, "'%s' is longer than 8192 bytes", key);
    *out = json_string_value(v);
    return 0;
}

static int check_search_opt(rag_mcp_call *c, const char *key, const json_t *v, int allow_pages,
                            char *msg, size_t n_msg, int *known)
{
    *known = 1;
    if (!strcmp(key, "k")) {
        if (json_is_null(v))
            return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > MAX_K)
            return fail_msg(msg, n_msg, "'%s' must be an integer from 1 to 50", key);
        c->so.k = (int)json_integer_value(v);
    } else if (!strcmp(key, "mode")) {
        const char *m = json_string_value(v);
        if (json_is_null(v))
            return 0;
        if (!m || (strcmp(m, "bm25") && strcmp(m, "dense") && strcmp(m, "hybrid")))
            return fail_msg(msg, n_msg, "'%s' must be \"bm25\", \"dense\" or \"hybrid\"", key);
        c->so.mode = m;
    } else if (!strcmp(key, "doc")) {
        if (json_is_null(v))
            return 0;
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 1024)
            return fail_msg(msg, n_msg, "'%s' must be a file name or glob (1 to 1024 bytes)",
                            key);
        c->so.doc = json_string_value(v);
    } else if (!strcmp(key, "pages") && allow_pages) {
        if (json_is_null(v))
            return 0;
        if (parse_pages(v, &c->so.page_min, &c->so.page_max) < 0)
            return fail_msg(msg, n_msg, "'%s' must be N, \"A-B\", \"A-\" or [A, B] "
                            "(1-based pages, A <= B)", key);
    } else {
        *known = 0;
    }
    return 0;
}

static int check_page_arg(const json_t *v, const char *key, json_int_t max, json_int_t *out,
                          char *msg, size_t n_msg)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
        return fail_msg(msg, n_msg, "'%s' must be a positive integer", key);
    *out = json_integer_value(v);
    return 0;
}

int rag_mcp_check_call(rag_mcp_call *call, const json_t *params, char *msg, size_t n_msg)
{
    const json_t *name = json_object_get(params, "name");
    json_t *args = json_object_get(params, "arguments"), *v;
    const char *key, *tool;
    int rc;

    memset(call, 0, sizeof *call);
    docrag_search_opts_init(&call->so);
    if (!json_is_object(params))
        return fail_msg(msg, n_msg, "%s", "tools/call needs params {\"name\", \"arguments\"}");
    if (!json_is_string(name))
        return fail_msg(msg, n_msg, "%s", "'name' must be a string (the tool's name)");
    tool = json_string_value(name);
    if (!strcmp(tool, "search"))
        call->tool = RAG_MCP_TOOL_SEARCH;
    else if (!strcmp(tool, "ask"))
        call->tool = RAG_MCP_TOOL_ASK;
    else if (!strcmp(tool, "get_page"))
        call->tool = RAG_MCP_TOOL_GET_PAGE;
    else {
        char shown[72];
        snprintf(shown, sizeof shown, "%.64s", tool);
        return fail_msg(msg, n_msg, "Unknown tool: %s", shown);
    }
    if (args && !json_is_object(args) && !json_is_null(args))
        return fail_msg(msg, n_msg, "'arguments' of %s must be an object", tool);
    json_object_foreach(args, key, v) {
        int known = 0;
        char shown[72];
        if (call->tool == RAG_MCP_TOOL_GET_PAGE) {
            json_int_t x;
            if (!strcmp(key, "document_id")) {
                if ((rc = check_page_arg(v, key, INT64_MAX, &x, msg, n_msg)) != 0)
                    return rc;
                call->document_id = x;
                continue;
            }
            if (!strcmp(key, "page")) {
                if ((rc = check_page_arg(v, key, MAX_PAGE, &x, msg, n_msg)) != 0)
                    return rc;
                call->page = (int)x;
                continue;
            }
        } else {
            const char *text_key = call->tool == RAG_MCP_TOOL_SEARCH ? "query" : "question";
            if (!strcmp(key, text_key)) {
                if ((rc = check_text(v, key, &call->text, msg, n_msg)) != 0)
                    return rc;
                continue;
            }
            rc = check_search_opt(call, key, v, call->tool == RAG_MCP_TOOL_SEARCH, msg, n_msg,
                                  &known);
            if (rc)
                return rc;
            if (known)
                continue;
        }
        snprintf(shown, sizeof shown, "%.64s", key);
        return fail_msg(msg, n_msg, "unknown argument '%s'", shown);
    }
    if (call->tool == RAG_MCP_TOOL_SEARCH && !call->text)
        return fail_msg(msg, n_msg, "%s", "search needs 'query'");
    if (call->tool == RAG_MCP_TOOL_ASK && !call->text)
        return fail_msg(msg, n_msg, "%s", "ask needs 'question'");
    if (call->tool == RAG_MCP_TOOL_GET_PAGE && (!call->document_id || !call->page))
        return fail_msg(msg, n_msg, "%s", "get_page needs 'document_id' and 'page'");
    return 0;
}

/* ---- tool definitions --------------------------------------------------------- */

static const char search_input[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"query\":{\"type\":\"string\",\"minLength\":1,"
    "\"description\":\"What to look for: keywords, a phrase or a question (at most 8192 "
    "bytes).\"},"
    "\"k\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,"
    "\"description\":\"How many passages to return (default: the server's search.k).\"},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"bm25\",\"dense\",\"hybrid\"],"
    "\"description\":\"Ranking: bm25 (keywords), dense (embeddings) or hybrid (both "
    "fused). Default: the server's search.mode; without an embedding model dense and "
    "hybrid fall back to bm25.\"},"
    "\"doc\":{\"type\":\"string\",\"description\":\"Only documents whose file name matches "
    "this glob, e.g. \\\"riscv-*.pdf\\\".\"},"
    "\"pages\":{\"description\":\"Only passages on these 1-based pages: 12, \\\"10-20\\\", "
    "\\\"30-\\\" or [10, 20].\",\"anyOf\":[{\"type\":\"integer\",\"minimum\":1},"
    "{\"type\":\"string\",\"pattern\":\"^[0-9]+(-[0-9]*)?$\"},"
    "{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"minimum\":1},\"minItems\":2,"
    "\"maxItems\":2}]}"
    "},\"required\":[\"query\"],\"additionalProperties\":false}";

static const char ask_input[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"question\":{\"type\":\"string\",\"minLength\":1,"
    "\"description\":\"The question, in plain words (at most 8192 bytes).\"},"
    "\"k\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,"
    "\"description\":\"How many passages the answer may draw on (default: the server's "
    "answer.context_chunks).\"},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"bm25\",\"dense\",\"hybrid\"],"
    "\"description\":\"Retrieval ranking, as for search.\"},"
    "\"doc\":{\"type\":\"string\",\"description\":\"Only documents whose file name matches "
    "this glob.\"}"
    "},\"required\":[\"question\"],\"additionalProperties\":false}";

static const char get_page_input[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"document_id\":{\"type\":\"integer\",\"minimum\":1,"
    "\"description\":\"The document's id, as search and ask results give it "
    "(document_id).\"},"
    "\"page\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"1-based page number "
    "(the physical page, as citations count it).\"}"
    "},\"required\":[\"document_id\",\"page\"],\"additionalProperties\":false}";

#define STR_OR_NULL "{\"type\":[\"string\",\"null\"]}"

static const char search_output[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"query\":{\"type\":\"string\"},\"mode\":{\"type\":\"string\"},"
    "\"notice\":{\"type\":\"string\"},"
    "\"results\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"rank\":{\"type\":\"integer\"},\"score\":{\"type\":\"number\"},"
    "\"chunk_id\":{\"type\":\"string\"},\"document_id\":{\"type\":\"integer\"},"
    "\"doc\":{\"type\":\"string\"},\"title\":" STR_OR_NULL ","
    "\"page_start\":{\"type\":\"integer\"},\"page_end\":{\"type\":\"integer\"},"
    "\"section\":" STR_OR_NULL ",\"text\":{\"type\":\"string\"}},"
    "\"required\":[\"rank\",\"chunk_id\",\"doc\",\"page_start\",\"page_end\",\"text\"]}}"
    "},\"required\":[\"query\",\"results\"]}";

static const char ask_output[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"question\":{\"type\":\"string\"},\"answer\":{\"type\":\"string\"},"
    "\"refused\":{\"type\":\"boolean\"},\"confidence\":{\"type\":\"number\"},"
    "\"backend\":{\"type\":\"string\"},\"notice\":{\"type\":\"string\"},"
    "\"citations\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"n\":{\"type\":\"integer\"},\"chunk_id\":{\"type\":\"string\"},"
    "\"document_id\":{\"type\":\"integer\"},\"doc\":{\"type\":\"string\"},"
    "\"title\":" STR_OR_NULL ",\"page_start\":{\"type\":\"integer\"},"
    "\"page_end\":{\"type\":\"integer\"},\"section\":" STR_OR_NULL "},"
    "\"required\":[\"n\",\"doc\",\"page_start\",\"page_end\"]}}"
    "},\"required\":[\"question\",\"answer\",\"citations\",\"refused\"]}";

static const char get_page_output[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"document_id\":{\"type\":\"integer\"},\"doc\":{\"type\":\"string\"},"
    "\"title\":" STR_OR_NULL ",\"page\":{\"type\":\"integer\"},"
    "\"pages\":{\"type\":\"integer\"},\"text\":{\"type\":\"string\"}},"
    "\"required\":[\"document_id\",\"doc\",\"page\",\"pages\",\"text\"]}";

static const struct {
    const char *name, *title, *description, *input, *output;
} tools[] = {
    {"search", "Search the documents",
     "Search the indexed documents (PDF, Markdown, HTML, text) and return the passages "
     "that match best, each with its document, 1-based page numbers and section heading. "
     "Use it to find where something is written; cite a passage as document and page. "
     "get_page gives a whole page of a hit.",
     search_input, search_output},
    {"ask", "Answer from the documents",
     "Answer a question from the indexed documents. The answer cites its sources as [n], "
     "listed with document and page. When the documents hold nothing relevant it says so "
     "(refused) instead of guessing.",
     ask_input, ask_output},
    {"get_page", "Read a page",
     "Return the extracted text of one page of an indexed document: document_id from a "
     "search or ask result, page 1-based.",
     get_page_input, get_page_output},
};

static json_t *tool_list(const rag_mcp_conn *conn)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < sizeof tools / sizeof tools[0]; i++) {
        json_t *in = json_loads(tools[i].input, 0, NULL);
        json_t *out = has_structured(conn) ? json_loads(tools[i].output, 0, NULL) : NULL;
        json_t *t = json_pack("{s:s,s:s,s:o,s:{s:s,s:b,s:b,s:b,s:b}}", "name", tools[i].name,
                              "description", tools[i].description, "inputSchema", in,
                              "annotations", "title", tools[i].title, "readOnlyHint", 1,
                              "destructiveHint", 0, "idempotentHint", 1, "openWorldHint", 0);
        if (t && has_structured(conn)) {
            json_object_set_new(t, "title", json_string(tools[i].title));
            json_object_set_new(t, "outputSchema", out);
            out = NULL;
        }
        json_decref(out);
        if (!t || json_array_append_new(arr, t) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* ---- running tools ------------------------------------------------------------ */

typedef struct {
    int rpc_code;     /* nonzero: answer with this JSON-RPC error instead */
    char rpc_msg[200];
} tool_status;

/* {content:[{type:text,text}], structuredContent?, isError?} */
static json_t *tool_result(const rag_mcp_conn *conn, const char *text, json_t *structured,
                           int is_error)
{
    json_t *r = json_pack("{s:[{s:s,s:o}]}", "content", "type", "text", "text",
                          safe_string(text));
    if (r && is_error)
        json_object_set_new(r, "isError", json_true());
    if (r && structured && has_structured(conn))
        json_object_set(r, "structuredContent", structured);
    json_decref(structured);
    return r;
}

/* A failed docrag call: a tool error the model can read, or (database,
 * I/O, memory: internals) a JSON-RPC internal error. */
static json_t *docrag_failure(const rag_mcp_conn *conn, const char *tool,
                              const docrag_error *err, tool_status *st)
{
    char text[400];
    switch (err->code) {
    case DOCRAG_ENOTFOUND:
    case DOCRAG_EINVAL:
    case DOCRAG_EFORMAT:
    case DOCRAG_ELIMIT:
        snprintf(text, sizeof text, "%s: %s", tool, err->msg);
        return tool_result(conn, text, NULL, 1);
    case DOCRAG_EBACKEND:
        snprintf(text, sizeof text, "%s: a model back-end failed: %s", tool, err->msg);
        return tool_result(conn, text, NULL, 1);
    case DOCRAG_ECANCELLED:
        st->rpc_code = RAG_MCP_INTERNAL_ERROR;
        snprintf(st->rpc_msg, sizeof st->rpc_msg, "request cancelled");
        return NULL;
    default:
        rag_log(RAG_LOG_ERROR, "mcp %s: %s", tool, err->msg);
        st->rpc_code = RAG_MCP_INTERNAL_ERROR;
        snprintf(st->rpc_msg, sizeof st->rpc_msg, "Internal error (%s)",
                 docrag_status_name(err->code));
        return NULL;
    }
}

static const char *base_name(const char *path)
{
    const char *b = path ? strrchr(path, '/') : NULL;
    return b ? b + 1 : path;
}

/* chunk_id as the engine emits it (a string of digits), or a number. */
static int64_t chunk_id_of(const json_t *v)
{
    const char *t = json_string_value(v);
    char *end = NULL;
    long long id;
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (!t || *t < '0' || *t > '9')
        return 0;
    id = strtoll(t, &end, 10);
    return *end ? 0 : (int64_t)id;
}

/* A hit or citation as MCP shows it: doc as base name, chunk_id as a
 * string, document_id added (one indexed lookup per hit). */
static void reshape_hit(docrag_session *s, json_t *h)
{
    json_t *cid = json_object_get(h, "chunk_id");
    const char *doc = json_string_value(json_object_get(h, "doc"));
    if (doc && strchr(doc, '/'))
        json_object_set_new(h, "doc", json_string(base_name(doc)));
    if (json_is_integer(cid) || json_is_string(cid)) {
        int64_t id = chunk_id_of(cid);
        char buf[32], *out = NULL;
        docrag_error err;
        if (id > 0 && docrag_chunk(s, id, &out, &err) == 0) {
            json_t *c = json_loads(out, 0, NULL);
            json_t *d = json_object_get(c, "document_id");
            if (json_is_integer(d))
                json_object_set(h, "document_id", d);
            json_decref(c);
        }
        docrag_free(out);
        snprintf(buf, sizeof buf, "%lld", (long long)id);
        json_object_set_new(h, "chunk_id", json_string(buf));
    }
}

/* "doc, p. 3 — Section (document 4)" */
static void cite_line(rag_buf *b, const json_t *h)
{
    const char *doc = json_string_value(json_object_get(h, "doc"));
    const char *sec = json_string_value(json_object_get(h, "section"));
    json_int_t p0 = json_integer_value(json_object_get(h, "page_start"));
    json_int_t p1 = json_integer_value(json_object_get(h, "page_end"));
    json_t *d = json_object_get(h, "document_id");

    rag_buf_puts(b, doc ? doc : "?");
    if (p0 > 0 && p1 > p0)
        rag_buf_printf(b, ", pp. %lld-%lld", (long long)p0, (long long)p1);
    else if (p0 > 0)
        rag_buf_printf(b, ", p. %lld", (long long)p0);
    if (sec && *sec)
        rag_buf_printf(b, " \xe2\x80\x94 %s", sec);
    if (json_is_integer(d))
        rag_buf_printf(b, " (document_id %lld)", (long long)json_integer_value(d));
}

static json_t *run_search(const rag_mcp_conn *conn, const rag_mcp_call *c,
                          const rag_mcp_env *env, tool_status *st)
{
    docrag_error err;
    char *out = NULL;
    json_t *o, *results, *h, *r = NULL;
    rag_buf b = RAG_BUF_INIT;
    size_t i;
    const char *notice;

    if (docrag_search(env->session, c->text, &c->so, &out, &err) != 0)
        return docrag_failure(conn, "search", &err, st);
    o = json_loads(out, 0, NULL);
    docrag_free(out);
    results = json_object_get(o, "results");
    if (!json_is_array(results))
        goto oom;
    json_object_del(o, "timings_ms");
    json_array_foreach(results, i, h)
        reshape_hit(env->session, h);
    notice = json_string_value(json_object_get(o, "notice"));
    if (notice)
        rag_buf_printf(&b, "Note: %s\n\n", notice);
    if (json_array_size(results) == 0)
        rag_buf_printf(&b, "No passages match \"%s\".", c->text);
    else
        rag_buf_printf(&b, "%zu passage%s for \"%s\" (%s):\n", json_array_size(results),
                       json_array_size(results) == 1 ? "" : "s", c->text,
                       json_string_value(json_object_get(o, "mode")) ?
                       json_string_value(json_object_get(o, "mode")) : "bm25");
    json_array_foreach(results, i, h) {
        const char *text = json_string_value(json_object_get(h, "text"));
        rag_buf_printf(&b, "\n[%zu] ", i + 1);
        cite_line(&b, h);
        rag_buf_printf(&b, "\n%s\n", text ? text : "");
    }
    if (!b.data)
        goto oom;
    r = tool_result(conn, b.data, o, 0);
    o = NULL;
    if (!r)
        goto oom;
    rag_buf_fini(&b);
    return r;
oom:
    json_decref(o);
    rag_buf_fini(&b);
    st->rpc_code = RAG_MCP_INTERNAL_ERROR;
    snprintf(st->rpc_msg, sizeof st->rpc_msg, "Internal error (out of memory)");
    return NULL;
}

static json_t *run_ask(const rag_mcp_conn *conn, const rag_mcp_call *c, const rag_mcp_env *env,
                       tool_status *st)
{
    docrag_ask_opts ao;
    docrag_stream stream;
    docrag_error err;
    char *out = NULL;
    json_t *o, *cites, *h, *r;
    rag_buf b = RAG_BUF_INIT;
    const char *answer, *notice;
    size_t i;

    docrag_ask_opts_init(&ao);
    ao.search = c->so;
    if (env->is_cancelled) {
        memset(&stream, 0, sizeof stream);
        stream.is_cancelled = env->is_cancelled;
        stream.ctx = env->ctx;
        ao.stream = &stream;
    }
    if (docrag_ask(env->session, c->text, &ao, &out, &err) != 0)
        return docrag_failure(conn, "ask", &err, st);
    o = json_loads(out, 0, NULL);
    docrag_free(out);
    cites = json_object_get(o, "citations");
    answer = json_string_value(json_object_get(o, "answer"));
    if (!json_is_array(cites) || !answer)
        goto oom;
    json_object_del(o, "timings_ms");
    json_object_del(o, "usage");
    json_array_foreach(cites, i, h)
        reshape_hit(env->session, h);
    rag_buf_puts(&b, answer);
    if (json_array_size(cites)) {
        rag_buf_puts(&b, "\n\nSources:");
        json_array_foreach(cites, i, h) {
            rag_buf_printf(&b, "\n[%lld] ", (long long)json_integer_value(json_object_get(h, "n")));
            cite_line(&b, h);
        }
    }
    notice = json_string_value(json_object_get(o, "notice"));
    if (notice)
        rag_buf_printf(&b, "\n\nNote: %s", notice);
    if (!b.data)
        goto oom;
    r = tool_result(conn, b.data, o, 0);
    rag_buf_fini(&b);
    if (!r)
        goto oom_r;
    return r;
oom:
    json_decref(o);
    rag_buf_fini(&b);
oom_r:
    st->rpc_code = RAG_MCP_INTERNAL_ERROR;
    snprintf(st->rpc_msg, sizeof st->rpc_msg, "Internal error (out of memory)");
    return NULL;
}

static json_t *run_get_page(const rag_mcp_conn *conn, const rag_mcp_call *c,
                            const rag_mcp_env *env, tool_status *st)
{
    docrag_error err;
    char *out = NULL;
    json_t *o, *r;
    const char *doc, *text;
    rag_buf b = RAG_BUF_INIT;

    if (docrag_page(env->session, c->document_id, c->page, &out, &err) != 0) {
        if (err.code == DOCRAG_ENOTFOUND && !strcmp(err.msg, "no such document"))
            snprintf(err.msg, sizeof err.msg, "no document with id %lld (search and ask "
                     "results give each passage's document_id)", (long long)c->document_id);
        return docrag_failure(conn, "get_page", &err, st);
    }
    o = json_loads(out, 0, NULL);
    docrag_free(out);
    doc = json_string_value(json_object_get(o, "doc"));
    if (doc && strchr(doc, '/')) {
        json_object_set_new(o, "doc", json_string(base_name(doc)));
        doc = json_string_value(json_object_get(o, "doc"));
    }
    text = json_string_value(json_object_get(o, "text"));
    if (!doc || !text) {
        json_decref(o);
        st->rpc_code = RAG_MCP_INTERNAL_ERROR;
        snprintf(st->rpc_msg, sizeof st->rpc_msg, "Internal error (out of memory)");
        return NULL;
    }
    rag_buf_printf(&b, "%s, page %d of %lld\n\n%s", doc, c->page,
                   (long long)json_integer_value(json_object_get(o, "pages")),
                   *text ? text : "(no text could be extracted from this page)");
    if (b.data)
        r = tool_result(conn, b.data, o, 0);
    else {
        json_decref(o);
        r = NULL;
    }
    rag_buf_fini(&b);
    if (!r) {
        st->rpc_code = RAG_MCP_INTERNAL_ERROR;
        snprintf(st->rpc_msg, sizeof st->rpc_msg, "Internal error (out of memory)");
    }
    return r;
}

static json_t *tools_call(const rag_mcp_conn *conn, json_t *id, json_t *params,
                          const rag_mcp_env *env)
{
    rag_mcp_call call;
    tool_status st = {0, ""};
    char msg[200];
    json_t *r;

    if (rag_mcp_check_call(&call, params, msg, sizeof msg) != 0)
        return rpc_error(id, RAG_MCP_INVALID_PARAMS, msg);
    if (!env->session)
        return rpc_result(id, tool_result(conn, "no index is open on this server", NULL, 1));
    switch (call.tool) {
    case RAG_MCP_TOOL_SEARCH: r = run_search(conn, &call, env, &st); break;
    case RAG_MCP_TOOL_ASK: r = run_ask(conn, &call, env, &st); break;
    default: r = run_get_page(conn, &call, env, &st); break;
    }
    if (!r)
        return rpc_error(id, st.rpc_code ? st.rpc_code : RAG_MCP_INTERNAL_ERROR,
                         st.rpc_code ? st.rpc_msg : "Internal error");
    return rpc_result(id, r);
}

/* ---- lifecycle ---------------------------------------------------------------- */

static json_t *initialize(rag_mcp_conn *conn, json_t *id, json_t *params,
                          const rag_mcp_env *env, rag_mcp_reply *out)
{
    json_t *pv = json_object_get(params, "protocolVersion");
    json_t *caps = json_object_get(params, "capabilities");
    json_t *ci = json_object_get(params, "clientInfo");
    const char *want, *name;
    char instructions[600];
    json_t *info;

    if (conn->version[0])
        return rpc_error(id, RAG_MCP_INVALID_REQUEST,
                         "Invalid Request: this session is already initialized");
    if (!json_is_object(params) || !json_is_string(pv))
        return rpc_error(id, RAG_MCP_INVALID_PARAMS,
                         "initialize needs params {\"protocolVersion\", \"capabilities\", "
                         "\"clientInfo\"}");
    if ((caps && !json_is_object(caps)) || (ci && !json_is_object(ci)))
        return rpc_error(id, RAG_MCP_INVALID_PARAMS,
                         "'capabilities' and 'clientInfo' must be objects");
    want = json_string_value(pv);
    snprintf(conn->version, sizeof conn->version, "%s",
             rag_mcp_version_supported(want) ? want : RAG_MCP_VERSION_LATEST);
    name = json_string_value(json_object_get(ci, "name"));
    snprintf(conn->client, sizeof conn->client, "%s", name ? name : "?");
    for (char *p = conn->client; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    out->initialized_now = 1;
    snprintf(instructions, sizeof instructions,
             "docrag answers from an index of technical documents%s%s%s. Use search to find "
             "passages (each with document, page and section), ask for an answer with "
             "citations, and get_page to read a whole page. Cite what you use as document "
             "and page.",
             env->collection ? " (collection \"" : "", env->collection ? env->collection : "",
             env->collection ? "\")" : "");
    info = json_pack("{s:s,s:s}", "name", "docrag", "version", docrag_version());
    if (info && has_structured(conn))
        json_object_set_new(info, "title", json_string("docrag"));
    return rpc_result(id, json_pack("{s:s,s:{s:{s:b}},s:o,s:s}", "protocolVersion",
                                    conn->version, "capabilities", "tools", "listChanged", 0,
                                    "serverInfo", info, "instructions", instructions));
}

static json_t *request(rag_mcp_conn *conn, const rag_mcp_msg *m, const rag_mcp_env *env,
                       int in_batch, rag_mcp_reply *out)
{
    const char *method = m->method;
    char msg[120];

    if (m->params && !json_is_object(m->params))
        return rpc_error(m->id, RAG_MCP_INVALID_PARAMS, "Invalid params: params must be an "
                         "object");
    if (!strcmp(method, "initialize")) {
        if (in_batch)
            return rpc_error(m->id, RAG_MCP_INVALID_REQUEST,
                             "Invalid Request: initialize must not be part of a batch");
        return initialize(conn, m->id, m->params, env, out);
    }
    if (!strcmp(method, "ping"))
        return rpc_result(m->id, json_object());
    if (!conn->version[0])
        return rpc_error(m->id, RAG_MCP_INVALID_REQUEST,
                         "Invalid Request: not initialized (send initialize first)");
    if (!strcmp(method, "tools/list")) {
        if (json_object_get(m->params, "cursor") &&
            !json_is_null(json_object_get(m->params, "cursor")))
            return rpc_error(m->id, RAG_MCP_INVALID_PARAMS,
                             "Invalid params: unknown cursor (the list has one page)");
        return rpc_result(m->id, json_pack("{s:o}", "tools", tool_list(conn)));
    }
    if (!strcmp(method, "tools/call"))
        return tools_call(conn, m->id, m->params, env);
    snprintf(msg, sizeof msg, "Method not found: %.64s", method);
    return rpc_error(m->id, RAG_MCP_METHOD_NOT_FOUND, msg);
}

static void notification(rag_mcp_conn *conn, const rag_mcp_msg *m)
{
    /* notifications/cancelled: requests here are answered in order, so one
     * being cancelled has finished or not started; others need nothing */
    if (!strcmp(m->method, "notifications/initialized") && conn->version[0])
        conn->initialized = 1;
}

/* The response to one message; NULL when none is due (or out of memory:
 * *oom set). */
static json_t *one(rag_mcp_conn *conn, const rag_mcp_msg *m, const rag_mcp_env *env,
                   int in_batch, rag_mcp_reply *out, int *oom)
{
    json_t *r = NULL;
    switch (m->kind) {
    case RAG_MCP_MSG_INVALID:
        r = rpc_error(m->id, m->error_code, m->error_msg);
        break;
    case RAG_MCP_MSG_REQUEST:
        r = request(conn, m, env, in_batch, out);
        break;
    case RAG_MCP_MSG_NOTIFICATION:
        notification(conn, m);
        return NULL;
    case RAG_MCP_MSG_RESPONSE:
        return NULL;
    }
    if (!r)
        *oom = 1;
    return r;
}

int rag_mcp_handle(rag_mcp_reply *out, rag_mcp_conn *conn, const rag_mcp_input *in,
                   const rag_mcp_env *env)
{
    json_t *resp = NULL;
    int oom = 0;

    memset(out, 0, sizeof *out);
    if (in->error_code) {
        out->rejected = 1;
        resp = rpc_error(NULL, in->error_code, in->error_msg);
    } else if (in->batch && strcmp(conn->version, RAG_MCP_VERSION_BATCH)) {
        char msg[160];
        out->rejected = 1;
        if (conn->version[0])
            snprintf(msg, sizeof msg, "Invalid Request: protocol version %s has no batches: "
                     "send one message at a time", conn->version);
        else
            snprintf(msg, sizeof msg, "Invalid Request: a batch cannot start a session: send "
                     "initialize alone");
        resp = rpc_error(NULL, RAG_MCP_INVALID_REQUEST, msg);
    } else if (!in->batch) {
        const rag_mcp_msg *m = &in->msgs[0];
        out->rejected = m->kind == RAG_MCP_MSG_INVALID;
        resp = one(conn, m, env, 0, out, &oom);
        if (!resp && !oom)
            return RAG_OK;   /* a notification or a response: nothing to answer */
    } else {
        resp = json_array();
        for (size_t i = 0; resp && i < in->n_msgs && !oom; i++) {
            json_t *r = one(conn, &in->msgs[i], env, 1, out, &oom);
            if (r && json_array_append_new(resp, r) < 0)
                oom = 1;
        }
        if (resp && !oom && json_array_size(resp) == 0) {
            json_decref(resp);
            return RAG_OK;
        }
    }
    if (resp && !oom)
        out->json = json_dumps(resp, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(resp);
    if (!out->json) {
        out->rejected = out->initialized_now = 0;
        return RAG_ENOMEM;
    }
    return RAG_OK;
}

void rag_mcp_reply_fini(rag_mcp_reply *r)
{
    free(r->json);   /* jansson's allocator */
    memset(r, 0, sizeof *r);
}
