/* pg_conn.h - one PostgreSQL connection (libpq) for the PostgreSQL store.
 *
 * The store's URL is libpq's: postgres://USER:PASSWORD@HOST:PORT/DB?OPTS,
 * several HOST:PORT separated by commas for failover, every libpq option
 * (sslmode, sslrootcert, sslcert, sslkey, target_session_attrs, ...) passed
 * through as is. ${VAR}, ${VAR:-default} and $${ are expanded from the
 * environment first (an unset ${VAR} is an error naming VAR), so a password
 * need not be written down: postgres://docrag:${PGPASS}@db:5432/docrag.
 *
 * The password never leaves this file: the endpoint (rag_pg_endpoint) is
 * "postgres://USER@HOST:PORT/DB", and every error message is scrubbed of
 * the password (as written in the URL and as decoded) before it is set.
 *
 * Lost connections: a statement that finds the connection gone (server
 * restarted, failed over, network) reconnects with exponential backoff
 * (50 ms doubling to 1 s) for up to reconnect_ms. A statement that was
 * sent and lost is run again only when the caller marks it RAG_PG_RETRY
 * (reads, idempotent writes); inside a transaction nothing is retried: the
 * transaction is gone and the caller gets RAG_EIO. Session settings
 * (statement_timeout, LISTEN channels) are restored on every reconnect.
 *
 * libpq is seen by src/index/pg_*.c only: this header does not include it.
 * Thread safety: one rag_pg per thread (libpq connections are not shared).
 */
#ifndef RAG_PG_CONN_H
#define RAG_PG_CONN_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rag_pg rag_pg;
typedef struct rag_pg_res rag_pg_res;

typedef enum {
    RAG_PG_READ_WRITE = 0,   /* target_session_attrs=read-write: the primary */
    RAG_PG_ANY = 1,          /* target_session_attrs=any: a standby will do */
} rag_pg_target;

typedef struct {
    int connect_timeout_ms;    /* per connection attempt; 0 = 10000 (libpq: whole seconds, >= 2) */
    int statement_timeout_ms;  /* server-side statement_timeout; 0 = none */
    int reconnect_ms;          /* give up reconnecting after this long; 0 = 10000; < 0 = never try */
    rag_pg_target target;      /* unless the URL names target_session_attrs itself */
    const char *what;          /* where the URL came from, for messages ("db", "--db"); NULL = "db" */
} rag_pg_opts;

rag_pg_opts rag_pg_default_opts(void);
struct rag_config;
/* Defaults with postgres.connect_timeout_ms, .statement_timeout_ms and
 * .reconnect_ms from cfg. */
rag_pg_opts rag_pg_opts_from_config(const struct rag_config *cfg);

/* 1 if s is a postgres:// or postgresql:// URL. */
int rag_pg_is_url(const char *s);

/* Write url's endpoint, "postgres://USER@HOST:PORT/DB" (no password, no
 * options), into out (truncated to n_out). ${VAR} references are not
 * expanded (an unset one is not an error here). RAG_EFORMAT for a URL
 * libpq cannot parse (message without the URL's password). */
int rag_pg_endpoint_of(char *out, size_t n_out, const char *url, rag_err *err);

/* Connect. Caller owns *out; close with rag_pg_close. Errors name the
 * endpoint, never the password: RAG_EFORMAT bad URL or unset ${VAR},
 * RAG_EIO cannot connect (after connect_timeout_ms per attempt; open does
 * not retry), RAG_EBACKEND refused (authentication, no such database). */
int rag_pg_open(rag_pg **out, const char *url, const rag_pg_opts *opts, rag_err *err);
void rag_pg_close(rag_pg *pg);   /* NULL is a no-op */
/* "postgres://USER@HOST:PORT/DB"; borrowed, valid until close. */
const char *rag_pg_endpoint(const rag_pg *pg);
/* Reconnections made since open (tests, metrics). */
int64_t rag_pg_n_reconnects(const rag_pg *pg);
/* 1 if the connected server is a standby (in recovery). <0 on error. */
int rag_pg_in_recovery(rag_pg *pg, rag_err *err);

/* ---- statements -------------------------------------------------------- */

typedef struct {
    const void *value;   /* NULL = SQL NULL */
    int n_bytes;         /* for binary; text values are NUL-terminated (ignored) */
    int binary;          /* 1: raw bytes (BYTEA, int8 in network order) */
} rag_pg_param;

enum {
    RAG_PG_RETRY = 1,    /* safe to run again if the connection was lost while it ran */
    RAG_PG_BINARY = 2,   /* results in binary form (BYTEA as raw bytes) */
};

/* The most parameters one statement takes (the protocol's limit). */
#define RAG_PG_MAX_PARAMS 65535

/* Run one statement with $1..$n parameters (n <= RAG_PG_MAX_PARAMS). *out (out may be NULL: the
 * rows are dropped) gets the result; caller frees with rag_pg_res_destroy.
 * Errors: RAG_EIO connection lost (and not retried) or not regained,
 * RAG_EBACKEND the server refused the statement (message: endpoint and
 * the server's words; rag_pg_last_sqlstate says which error),
 * RAG_ENOMEM. */
int rag_pg_exec(rag_pg *pg, rag_pg_res **out, const char *sql, const rag_pg_param *params,
                int n_params, unsigned flags, rag_err *err);
/* Run a statement with no parameters and no result (several, ';'-separated,
 * allowed). */
int rag_pg_exec_sql(rag_pg *pg, const char *sql, rag_err *err);
/* SQLSTATE of the last statement that failed on the server ("" if none):
 * "23505" unique violation, "40001" serialization failure, ... */
const char *rag_pg_last_sqlstate(const rag_pg *pg);

int rag_pg_res_rows(const rag_pg_res *r);
int rag_pg_res_cols(const rag_pg_res *r);
/* Rows changed by an INSERT/UPDATE/DELETE. */
int64_t rag_pg_res_affected(const rag_pg_res *r);
/* Value (borrowed, valid until destroy; NUL-terminated in text form). */
const char *rag_pg_res_get(const rag_pg_res *r, int row, int col);
size_t rag_pg_res_len(const rag_pg_res *r, int row, int col);
int rag_pg_res_is_null(const rag_pg_res *r, int row, int col);
/* An integer column in either form (text, or binary int2/int4/int8). */
int64_t rag_pg_res_i64(const rag_pg_res *r, int row, int col);
void rag_pg_res_destroy(rag_pg_res *r);   /* NULL is a no-op */

/* ---- transactions -------------------------------------------------------- */

/* BEGIN (READ COMMITTED), COMMIT, ROLLBACK. begin may reconnect first (no
 * transaction is open then); commit failing with RAG_EIO means the outcome
 * is unknown (the connection went away during COMMIT). */
int rag_pg_begin(rag_pg *pg, rag_err *err);
int rag_pg_commit(rag_pg *pg, rag_err *err);
/* A read-only snapshot: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY
 * (every read until commit/rollback sees one committed state). */
int rag_pg_begin_read(rag_pg *pg, rag_err *err);
void rag_pg_rollback(rag_pg *pg);
int rag_pg_in_tx(const rag_pg *pg);

/* ---- notifications --------------------------------------------------------- */

/* LISTEN on channel (a plain identifier: letters, digits, '_'); kept
 * across reconnects. */
int rag_pg_listen(rag_pg *pg, const char *channel, rag_err *err);
/* Wait up to timeout_ms for a notification on a channel listened to.
 * Returns 1 with its payload in payload (truncated to n_payload), 0 on
 * timeout, 2 when the connection was lost and regained (notifications sent
 * meanwhile are lost: read the change log), <0 on error. */
int rag_pg_wait_notify(rag_pg *pg, int timeout_ms, char *channel, size_t n_channel,
                       char *payload, size_t n_payload, rag_err *err);

#endif
