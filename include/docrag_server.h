/* docrag_server.h - `docrag serve`: the engine (docrag.h) as an HTTP
 * service. Routes, the SSE contract, keys and limits: docs/server.md.
 *
 * Thread safety: docrag_server_run blocks the calling thread until the
 * server stops (SIGTERM or SIGINT, or docrag_server_stop from any thread).
 */
#ifndef DOCRAG_SERVER_H
#define DOCRAG_SERVER_H

#include "docrag.h"

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

#ifdef __cplusplus
}
#endif

#endif
