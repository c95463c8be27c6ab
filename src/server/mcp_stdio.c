/* mcp_stdio.c - MCP over stdio (`docrag mcp`): one JSON-RPC message per
 * line on the input, one response per line on the output.
 *
 * The spec's framing: messages are UTF-8 JSON, delimited by newlines, and
 * hold none themselves (jansson's compact output escapes them); nothing
 * but messages goes to the output, so every log line goes to the log sink
 * (stderr). Messages are handled in order on the calling thread; the
 * engine is refreshed before each one, so documents indexed meanwhile by
 * another process are found (cheap when nothing changed). A line longer
 * than server.max_json_body is drained and answered with -32600; blank
 * lines are skipped; a final line without its newline still counts.
 */
#include "mcp.h"

#include "docrag_server.h"

#include "core/core.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line into b (without "\n" or "\r\n"). 1: a line (*too_long when it
 * was cut at cap bytes: the rest was read and dropped), 0: end of input,
 * -1: read error, RAG_ENOMEM. */
static int read_line(FILE *in, rag_buf *b, size_t cap, int *too_long)
{
    int any = 0;
    rag_buf_clear(b);
    *too_long = 0;
    for (;;) {
        int c = getc_unlocked(in);
        if (c == EOF) {
            if (ferror(in))
                return -1;
            break;
        }
        any = 1;
        if (c == '\n')
            break;
        if (b->len >= cap) {
            *too_long = 1;
            continue;
        }
        if (rag_buf_putc(b, (char)c) < 0)
            return RAG_ENOMEM;
    }
    if (b->len && b->data[b->len - 1] == '\r')
        b->data[--b->len] = '\0';
    return any;
}

static int write_line(FILE *out, const char *text)
{
    if (fputs(text, out) < 0 || fputc('\n', out) < 0 || fflush(out) != 0)
        return -1;
    return 0;
}

static int blank(const rag_buf *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] != ' ' && b->data[i] != '\t')
            return 0;
    return 1;
}

static int fail(docrag_error *err, int code, const char *msg)
{
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return err->code = code;
}

int docrag_mcp_stdio(const docrag_server_opts *opts, FILE *in, FILE *out, docrag_error *err)
{
    docrag_error lerr;
    docrag_engine_opts eo = opts->engine;
    docrag_engine *e = NULL;
    docrag_session *s = NULL;
    docrag_server_config cfg;
    rag_mcp_conn conn;
    rag_mcp_env env;
    rag_buf line = RAG_BUF_INIT;
    size_t cap;
    int rc = 0;

    if (!err)
        err = &lerr;
    memset(err, 0, sizeof *err);
    if (opts->n_dbs > 1)
        return fail(err, DOCRAG_EINVAL, "mcp: one database (--db) at a time over stdio");
    if (opts->n_dbs == 1) {
        /* "NAME=FILE" as for serve: the name does not matter here */
        const char *eq = strchr(opts->dbs[0], '=');
        eo.db_path = eq && strspn(opts->dbs[0], "abcdefghijklmnopqrstuvwxyz"
                                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
                                     (size_t)(eq - opts->dbs[0])
                         ? eq + 1
                         : opts->dbs[0];
    }
    eo.read_only = 1;
    /* a client gone mid-write is an error of fputs, not a signal */
    signal(SIGPIPE, SIG_IGN);
    if ((rc = docrag_engine_open(&e, &eo, err)) != 0)
        return rc;
    if ((rc = docrag_session_open(&s, e, err)) != 0)
        goto done;
    docrag_engine_server_config(e, &cfg);
    cap = cfg.max_json_body > 0 ? (size_t)cfg.max_json_body : 1 << 20;
    memset(&conn, 0, sizeof conn);
    memset(&env, 0, sizeof env);
    env.session = s;
    /* the engine's name for it: a postgres:// db by its endpoint, never a password */
    rag_log(RAG_LOG_INFO, "mcp: serving %s on stdio (MCP %s)", docrag_engine_db_path(e),
            RAG_MCP_VERSION_LATEST);
    for (;;) {
        rag_mcp_input msg;
        rag_mcp_reply rep;
        int too_long, n = read_line(in, &line, cap, &too_long);
        docrag_error rerr;

        if (n == 0)
            break;
        if (n < 0) {
            rc = n == RAG_ENOMEM ? fail(err, DOCRAG_ENOMEM, "mcp: out of memory")
                                 : fail(err, DOCRAG_EIO, "mcp: cannot read the input");
            break;
        }
        if (too_long) {
            char text[160], *t;
            snprintf(text, sizeof text, "Invalid Request: message longer than %zu bytes "
                     "(server.max_json_body)", cap);
            t = rag_mcp_error_text(RAG_MCP_INVALID_REQUEST, text);
            if (!t || write_line(out, t) < 0) {
                free(t);
                rc = fail(err, DOCRAG_EIO, "mcp: cannot write the output");
                break;
            }
            free(t);
            continue;
        }
        if (blank(&line))
            continue;
        if (docrag_engine_refresh(e, &rerr) < 0)
            rag_log(RAG_LOG_WARN, "mcp: refresh: %s", rerr.msg);
        if (rag_mcp_parse(&msg, line.data, line.len) != 0 ||
            rag_mcp_handle(&rep, &conn, &msg, &env) != 0) {
            rag_mcp_input_fini(&msg);
            rc = fail(err, DOCRAG_ENOMEM, "mcp: out of memory");
            break;
        }
        rag_mcp_input_fini(&msg);
        if (rep.initialized_now)
            rag_log(RAG_LOG_INFO, "mcp: initialized by client \"%s\" (MCP %s)", conn.client,
                    conn.version);
        if (rep.json && write_line(out, rep.json) < 0) {
            rag_mcp_reply_fini(&rep);
            rc = fail(err, DOCRAG_EIO, "mcp: cannot write the output (client gone)");
            break;
        }
        rag_mcp_reply_fini(&rep);
    }
done:
    rag_buf_fini(&line);
    docrag_session_close(s);
    docrag_engine_close(e);
    return rc;
}
