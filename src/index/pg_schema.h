/* pg_schema.h - the PostgreSQL store's schema (versioned, migrated), its
 * change log and its ingestion job queue.
 *
 * Schema: numbered migration steps (pg_schema.c), each applied once in
 * its own transaction under an advisory lock, so several processes
 * starting at once migrate once; schema_migrations records each step, meta
 * schema_version the last. A database whose version is newer than this
 * docrag is refused, never downgraded. Tables mirror the SQLite file's
 * (documents, pages, chunks, bm25_docs/postings/deleted with BYTEA
 * segments in the same varint format, vectors, embed_cache, graph_edges,
 * usage, meta) plus change_log and jobs.
 *
 * Change log: every committed index change writes one change_log row in
 * the same transaction as the change. Its seq (BIGSERIAL) is drawn under
 * a transaction-scoped advisory lock held to COMMIT, so seq order is
 * commit order: a reader that has seen seq N will never later see a
 * committed M < N appear (rolled-back transactions leave gaps, nothing
 * else). At commit the row is announced by NOTIFY docrag_changes with the
 * seq as payload; notifications are not replayed after a disconnect, so
 * followers also poll rag_pg_changes_since.
 *
 * Jobs: a queue of ingestion jobs keyed by the caller (e.g. path and
 * sha256: the same key is one job). A worker claims the oldest ready job
 * with FOR UPDATE SKIP LOCKED for a lease; a job whose lease expired is
 * ready again (a dead worker's job is retried) until max_attempts. A job
 * is completed only by the worker holding its lease, inside the
 * transaction that writes its document: a worker that lost its lease
 * gets RAG_ENOTFOUND and rolls back, so a document is written exactly
 * once. New jobs are announced by NOTIFY docrag_jobs.
 *
 * Thread safety: as rag_pg (one connection per thread).
 */
#ifndef RAG_PG_SCHEMA_H
#define RAG_PG_SCHEMA_H

#include "index/pg_conn.h"

#define RAG_PG_SCHEMA_VERSION 5
/* Larger changesets are logged as NULL (followers then copy the store). */
#define RAG_PG_CHANGESET_MAX (64u << 20)
#define RAG_PG_CHANGES_CHANNEL "docrag_changes"
#define RAG_PG_JOBS_CHANNEL "docrag_jobs"
/* The change-log advisory lock (pg_advisory_xact_lock key), held to COMMIT
 * by a change-log writer; replica.c's write-through takes it at BEGIN. */
#define RAG_PG_CHANGES_LOCK "74521002"

/* Apply every missing step. *from (may be NULL) gets the version found
 * (0: an empty database). RAG_EFORMAT, naming the endpoint, when the
 * database's version is newer than RAG_PG_SCHEMA_VERSION or its tables
 * are not docrag's. */
int rag_pg_schema_migrate(rag_pg *pg, int *from, rag_err *err);
/* Apply steps up to target only (tests of the migration path). */
int rag_pg_schema_migrate_to(rag_pg *pg, int target, int *from, rag_err *err);
/* The database's schema version (0 when it has none). */
int rag_pg_schema_version(rag_pg *pg, int *version, rag_err *err);

/* ---- change log ---------------------------------------------------------- */

typedef struct {
    int64_t seq;
    char kind[16];       /* "put", "remove", "vectors", "meta", "optimize", "graph" */
    int64_t doc_id;      /* 0 when not about one document */
    char path[512];      /* the document's path ("" when none); truncated */
    int64_t n_changeset; /* bytes of its changeset; -1 when it has none */
} rag_pg_change;

/* Record a change inside the open transaction (RAG_EINVAL outside one).
 * Blocks while another transaction holds the change-log lock (until it
 * commits). *seq (may be NULL) gets its sequence number. */
int rag_pg_change_log(rag_pg *pg, const char *kind, int64_t doc_id, const char *path,
                      int64_t *seq, rag_err *err);
/* As rag_pg_change_log, with the change's SQLite changeset (replica.c;
 * NULL, or larger than RAG_PG_CHANGESET_MAX, stores none). */
int rag_pg_change_log_cs(rag_pg *pg, const char *kind, int64_t doc_id, const char *path,
                         const void *changeset, size_t n_changeset, int64_t *seq,
                         rag_err *err);
/* The changeset of change seq: 1 and *out (caller frees with rag_free),
 * 0 when it has none (or there is no such change). */
int rag_pg_change_changeset(rag_pg *pg, int64_t seq, unsigned char **out, size_t *n_out,
                            rag_err *err);
/* Up to max changes with seq > after, in seq order, into out[]; *n_out
 * gets how many. */
int rag_pg_changes_since(rag_pg *pg, int64_t after, rag_pg_change *out, size_t max,
                         size_t *n_out, rag_err *err);
/* The highest committed seq (0 when none). */
int rag_pg_changes_head(rag_pg *pg, int64_t *seq, rag_err *err);

/* ---- jobs -------------------------------------------------------------------- */

typedef struct {
    int64_t id;
    char key[512];
    unsigned char *payload;  /* owned; free with rag_pg_job_fini */
    size_t n_payload;
    int attempts;            /* including this one */
} rag_pg_job;

/* Queue a job under key (payload may be NULL). *id gets its id; *created
 * (may be NULL) 1 if new, 0 if a job with key existed (it is unchanged). */
int rag_pg_job_enqueue(rag_pg *pg, const char *key, const void *payload, size_t n_payload,
                       int max_attempts, int64_t *id, int *created, rag_err *err);
/* Claim the oldest ready job for owner (a name unique to the worker) for
 * lease_ms. Returns 1 with *job filled, 0 when none is ready, <0 error.
 * Jobs whose lease expired with no attempts left become "failed" first. */
int rag_pg_job_claim(rag_pg *pg, const char *owner, int lease_ms, rag_pg_job *job,
                     rag_err *err);
/* Extend owner's lease; RAG_ENOTFOUND when owner no longer holds it. */
int rag_pg_job_renew(rag_pg *pg, int64_t id, const char *owner, int lease_ms, rag_err *err);
/* Mark done (call inside the transaction that writes the job's result);
 * RAG_ENOTFOUND when owner no longer holds the lease: roll back. */
int rag_pg_job_complete(rag_pg *pg, int64_t id, const char *owner, rag_err *err);
/* Give the job back after an error: queued again, or "failed" when it
 * has no attempts left. RAG_ENOTFOUND when owner does not hold it. */
int rag_pg_job_fail(rag_pg *pg, int64_t id, const char *owner, const char *why, rag_err *err);
/* State ("queued", "running", "done", "failed") and attempts of job id;
 * RAG_ENOTFOUND when there is none. */
int rag_pg_job_state(rag_pg *pg, int64_t id, char state[16], int *attempts, rag_err *err);
/* The job queued under key, with its payload, whatever its state (an
 * upload's bytes stay in the store after its job is done: a replica that
 * did not run it gets its own copy of the file from there). RAG_ENOTFOUND
 * when there is none, or it has no payload. */
int rag_pg_job_by_key(rag_pg *pg, const char *key, rag_pg_job *job, rag_err *err);
void rag_pg_job_fini(rag_pg_job *job);

#endif
