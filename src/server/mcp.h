/* mcp.h - the Model Context Protocol server (JSON-RPC 2.0), apart from any
 * transport: one message text in, the response text out. Two transports
 * sit on it: Streamable HTTP (POST /mcp, mcp.c) and stdio (`docrag mcp`,
 * mcp_stdio.c). Protocol: docs/server.md, section MCP.
 *
 * Work is split in two so the part that sees untrusted bytes is pure:
 *
 *   rag_mcp_parse       bytes -> classified messages (request,
 *                       notification, response, or invalid with its
 *                       JSON-RPC error); no engine, no I/O.
 *   rag_mcp_check_call  tools/call params -> a validated call, or -32602.
 *   rag_mcp_handle      classified messages + the connection's state ->
 *                       the response text; only tools/call reaches the
 *                       engine, through env->session (NULL: tool calls that
 *                       pass validation end as tool errors, so the fuzzer
 *                       and unit tests drive everything else without an
 *                       index).
 *
 * Versions: 2025-06-18 (latest; no batches, tools carry title and
 * outputSchema, results structuredContent) and 2025-03-26 (JSON-RPC
 * batches; neither outputSchema nor structuredContent). A client asking
 * for any other version is answered with 2025-06-18 (the client then
 * decides whether to go on).
 *
 * Errors. The whole input unusable (not JSON, an empty or forbidden batch,
 * not a JSON-RPC message): reply.rejected and one error response, with id
 * null or the id of the invalid message when it could be read (HTTP
 * answers 400). A valid request the server cannot serve: a
 * JSON-RPC error response (-32601 unknown method, -32602 bad params,
 * unknown tool or arguments that do not match the tool's input schema,
 * -32603 internal). A tool that ran and failed (no such document or page,
 * a back-end down): a result with isError true, which the model can read.
 *
 * Thread safety: none of these keep state of their own; a rag_mcp_conn is
 * used by one thread at a time, env->session as docrag.h says.
 */
#ifndef RAG_MCP_H
#define RAG_MCP_H

#include "docrag.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define RAG_MCP_VERSION_LATEST "2025-06-18"
#define RAG_MCP_VERSION_BATCH "2025-03-26"   /* the one version with batches */

/* JSON-RPC 2.0 error codes. */
enum {
    RAG_MCP_PARSE_ERROR = -32700,
    RAG_MCP_INVALID_REQUEST = -32600,
    RAG_MCP_METHOD_NOT_FOUND = -32601,
    RAG_MCP_INVALID_PARAMS = -32602,
    RAG_MCP_INTERNAL_ERROR = -32603,
};

/* 1 if v is a protocol version this server speaks. */
int rag_mcp_version_supported(const char *v);

/* ---- parsing (pure) ---------------------------------------------------------- */

typedef enum {
    RAG_MCP_MSG_INVALID = 0,  /* not a JSON-RPC 2.0 message: error_* say why */
    RAG_MCP_MSG_REQUEST,
    RAG_MCP_MSG_NOTIFICATION,
    RAG_MCP_MSG_RESPONSE,     /* a client's result or error (this server sends
                                 no requests, so it is accepted and dropped) */
} rag_mcp_kind;

typedef struct {
    rag_mcp_kind kind;
    json_t *id;               /* string or integer; NULL for a notification,
                                 or an invalid message without a usable id */
    const char *method;       /* requests and notifications */
    json_t *params;           /* object or array; NULL when absent */
    int error_code;           /* INVALID: the error to answer with */
    const char *error_msg;    /* INVALID: static text */
} rag_mcp_msg;

typedef struct {
    json_t *root;             /* owned: the parsed text; msgs borrow from it */
    int batch;                /* the text was a JSON array */
    rag_mcp_msg *msgs;        /* owned, n_msgs of them */
    size_t n_msgs;
    int error_code;           /* nonzero: the text as a whole is unusable
                                 (-32700 not JSON, -32600 empty batch) */
    char error_msg[200];
} rag_mcp_input;

/* Parse one transport message: a JSON text of n_bytes (need not be
 * NUL-terminated; invalid UTF-8, duplicate keys and depth beyond jansson's
 * limit are parse errors). Malformed input is not a failure: *in is filled
 * (error_code, or messages of kind INVALID) and 0 returned. RAG_ENOMEM
 * only. Free with rag_mcp_input_fini, also after a failure. */
int rag_mcp_parse(rag_mcp_input *in, const char *text, size_t n_bytes);
void rag_mcp_input_fini(rag_mcp_input *in);

/* 1 when the input is exactly one `initialize` request (what opens an
 * HTTP session). */
int rag_mcp_is_initialize(const rag_mcp_input *in);

/* ---- tool calls (pure) ------------------------------------------------------- */

typedef enum {
    RAG_MCP_TOOL_SEARCH = 1,  /* {query, k?, mode?, doc?, pages?} */
    RAG_MCP_TOOL_ASK,         /* {question, k?, mode?, doc?} */
    RAG_MCP_TOOL_GET_PAGE,    /* {document_id, page} */
} rag_mcp_tool;

typedef struct {
    rag_mcp_tool tool;
    const char *text;         /* query or question, borrowed from params */
    docrag_search_opts so;    /* k, mode, doc (borrowed), pages */
    int64_t document_id;
    int page;
} rag_mcp_call;

/* Check tools/call params ({name, arguments?, _meta?}) against the tool's
 * input schema: 0 and *call filled, or RAG_MCP_INVALID_PARAMS with msg
 * ("Unknown tool: x", "'k' must be an integer from 1 to 50", ...). */
int rag_mcp_check_call(rag_mcp_call *call, const json_t *params, char *msg, size_t n_msg);

/* ---- handling --------------------------------------------------------------- */

/* One client connection (stdio) or session (HTTP). Zero it to start. */
typedef struct {
    char version[16];         /* negotiated; "" until initialize succeeds */
    int initialized;          /* notifications/initialized arrived */
    char client[64];          /* clientInfo.name (logs) */
} rag_mcp_conn;

typedef struct {
    docrag_session *session;  /* NULL: no index (tool calls end in isError) */
    const char *collection;   /* named in the instructions; NULL: none */
    /* polled while an answer waits on a remote back-end; nonzero stops it
     * (the client went away). May be NULL. */
    int (*is_cancelled)(void *ctx);
    void *ctx;
} rag_mcp_env;

typedef struct {
    char *json;               /* the response text (an object, or an array
                                 for a batch); NULL when none is due (only
                                 notifications and responses came) */
    int rejected;             /* the input as a whole was refused: json is
                                 one error response (HTTP: 400) */
    int initialized_now;      /* an initialize succeeded: conn->version set */
} rag_mcp_reply;

/* Answer every message of in, in order, updating conn (initialize,
 * initialized). 0, or RAG_ENOMEM (no reply). Free the reply with
 * rag_mcp_reply_fini. Blocks while a tool runs on env->session. */
int rag_mcp_handle(rag_mcp_reply *out, rag_mcp_conn *conn, const rag_mcp_input *in,
                   const rag_mcp_env *env);
void rag_mcp_reply_fini(rag_mcp_reply *r);

/* A JSON-RPC error response with id null, for transport-level errors
 * (HTTP 4xx bodies). Caller frees with free(); NULL on out of memory. */
char *rag_mcp_error_text(int code, const char *msg);

#endif
