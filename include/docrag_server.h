/* docrag_server.h - `docrag serve`: the engine (docrag.h) as an HTTP
 * service, and `docrag mcp`: the engine as an MCP server on stdio. Routes,
 * the SSE contract, MCP, keys and limits: docs/server.md.
 *
 * Thread safety: docrag_server_run blocks the calling thread until the
 * server stops (SIGTERM or SIGINT, or docrag_server_stop from any thread);
 * docrag_mcp_stdio until its input ends.
 */
#ifndef DOCRAG_SERVER_H
#define DOCRAG_SERVER_H

#include "docrag.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    docrag_engine_opts engine;   /* config file, profile, --set overrides;
                                    engine.db_path unused (see dbs) */
    const char *host;            /* NULL: server.host */
    int port;                    /* -1: server.port; 0: any free port */
    int workers;                 /* 0: server.workers (0 there: one per core) */
    const char *const *dbs;      /* "FILE" or "NAME=FILE", the first is the
                                    default collection; none: server.collections,
                                    else the configured database */
    size_t n_dbs;
} docrag_server_opts;

void docrag_server_opts_init(docrag_server_opts *o);

/* Bind, load every collection's engine (GET /ready answers 503 until
 * then), print "listening on http://HOST:PORT" on stderr, serve until
 * stopped, then finish in-flight requests and streams up to
 * server.shutdown_grace_ms. Fails before serving (DOCRAG_EINVAL) when the
 * address is not a loopback one and no key is configured, unless
 * server.anonymous is read; the message says why. */
int docrag_server_run(const docrag_server_opts *opts, docrag_error *err);

/* Ask a running server to stop (async-signal-safe). */
void docrag_server_stop(void);

/* `docrag mcp`: serve the engine to one Model Context Protocol client
 * over stdio (docs/server.md, section MCP): newline-delimited JSON-RPC
 * messages read from in, one response line written to out for each
 * request (flushed), nothing else on out; logs go to the log sink
 * (stderr). Opens opts->dbs[0] (at most one; none: the configured
 * database) read-only, with opts->engine's config, profile and --set
 * overrides; host, port and workers are unused. Returns 0 at end of input,
 * DOCRAG_EIO when in or out fails, or the engine's error if it cannot be
 * opened. Blocks the calling thread; tools run on it, one at a time.
 * Sets SIGPIPE to be ignored (a client gone is a write error, not a
 * signal), as docrag_server_run does. */
int docrag_mcp_stdio(const docrag_server_opts *opts, FILE *in, FILE *out, docrag_error *err);

#ifdef __cplusplus
}
#endif

#endif
