/* replica.h - a PostgreSQL store of record with a local SQLite copy
 * (issue 14; design: docs/postgres.md, "Replicas").
 *
 * Every process that uses a postgres:// db keeps a local SQLite copy of
 * it, the *mirror*: an ordinary docrag SQLite index file (its schema, WAL).
 * Every read (BM25, vectors, chunks, pages, FTS5, check) runs on that copy
 * with the SQLite code, unchanged: readers open rag_replica_mirror(r) with
 * rag_index_open(READ_ONLY) as for any SQLite index.
 *
 * Writes go through: a rag_index opened writable on the mirror and
 * attached (rag_replica_attach) takes PostgreSQL's docrag write lock at
 * BEGIN (one index writer at a time across every replica), catches the
 * copy up, records the SQLite changes in a session, and at COMMIT applies
 * them to the PostgreSQL tables and logs them (change_log, with the
 * changeset) in one PostgreSQL transaction before the SQLite COMMIT. A
 * PostgreSQL failure rolls the SQLite transaction back: nothing is
 * written anywhere.
 *
 * Follow: rag_replica_follow applies, in order, the changes other
 * replicas logged since the copy's applied seq; a change without a
 * changeset, a conflict, or a copy of another store (PostgreSQL meta
 * store_id) makes a full copy instead (one REPEATABLE READ snapshot into
 * "<mirror>.new", renamed over the mirror, with a larger change_seq so
 * the engine's refresh reopens it; while running, the new copy is written
 * into the open mirror with SQLite's backup API, so open connections, the
 * attached writer's included, see it without reopening).
 *
 * Write only through the attached writer: a change logged without a
 * changeset (the plain PostgreSQL store, rag_replica_store's vector or
 * graph writes) makes every follower copy the store whole. Usage rows go
 * to rag_replica_store (not replicated to the copies).
 *
 * Errors: < 0 is a rag_status with a message naming the endpoint
 * ("postgres://USER@HOST:PORT/DB", never the password) or the mirror
 * path. PostgreSQL unreachable: RAG_EIO (pg_conn.h's code); the state
 * then says reachable = 0 and reads keep answering from the copy.
 *
 * Threads: open/close on one thread; follow on one follower thread;
 * attach, the attached writer's transactions and the job calls on one
 * writer thread; state_get from any thread. The replica keeps one
 * PostgreSQL connection per role (writer, follower + LISTEN, jobs, store).
 *
 * This header includes neither sqlite3.h nor libpq-fe.h.
 */
#ifndef RAG_REPLICA_H
#define RAG_REPLICA_H

#include "core/core.h"
#include "index/pg_conn.h"

#include <stddef.h>
#include <stdint.h>

struct rag_index;
struct rag_store;

typedef struct rag_replica rag_replica;

typedef struct {
    int64_t applied_seq;   /* the last change applied to the copy */
    int64_t head_seq;      /* the store's head when last seen */
    int reachable;         /* 1 when the last contact with PostgreSQL worked */
    int64_t n_full_copies; /* full copies made since open */
    int64_t n_applied;     /* changes applied since open */
    int64_t n_reconnects;
    char error[256];       /* the last error ("" none), by endpoint, never a password */
} rag_replica_state;

/* Connect to url (postgres://…, pg_conn.h rules), create/migrate the PG
 * schema unless read_only, and bring the local copy at mirror_path (a
 * SQLite file, created when missing; its folder must exist) up to the head
 * (full copy or catch-up). The copy is locked (flock) for this process: a
 * second process (or replica) giving the same mirror_path gets RAG_EIO
 * with a message naming it ("... is in use by another process").
 * opts NULL: rag_pg_default_opts(). Caller owns *out. */
int rag_replica_open(rag_replica **out, const char *url, const char *mirror_path,
                     const rag_pg_opts *opts, int read_only, rag_err *err);
void rag_replica_close(rag_replica *r);           /* NULL: no-op */
/* The mirror's path (borrowed, valid until close). */
const char *rag_replica_mirror(const rag_replica *r);
/* The URL without password: "postgres://USER@HOST:PORT/DB" (borrowed). */
const char *rag_replica_endpoint(const rag_replica *r);

/* Apply changes committed since the copy's applied seq; when there are
 * none, wait up to wait_ms for a notification first (0: do not wait).
 * Returns the number applied (>= 0; a full copy counts as 1) or < 0.
 * Thread: one follower. */
int rag_replica_follow(rag_replica *r, int wait_ms, rag_err *err);
void rag_replica_state_get(rag_replica *r, rag_replica_state *out);   /* any thread */

/* Make ix (a writable rag_index opened on rag_replica_mirror(r)) write
 * through to PostgreSQL: every write transaction of ix (its own, such as
 * rag_index_put_doc's, rag_index_begin/commit, and a store op's implicit
 * one) becomes one PostgreSQL transaction. One attached writer per
 * replica; the caller serializes its use (the engine's write_mu does).
 * Detached by rag_index_close(ix) or rag_replica_close(r), whichever is
 * first; ix must not outlive r while attached. */
int rag_replica_attach(rag_replica *r, struct rag_index *ix, rag_err *err);
/* A write whose BEGIN finds the copy behind a change it cannot replay
 * fails with RAG_EIO ("... needs a full copy ..."), nothing written;
 * one rag_replica_follow (any thread that may follow) makes the copy and
 * the writer goes on: a process without a follower thread (a one-shot
 * command) calls it before it retries. */

/* The store of record for what is not in the copy (usage rows, jobs): a
 * store_pg (store.h) on its own connection, owned by r (writer thread). */
struct rag_store *rag_replica_store(rag_replica *r);

/* ---- jobs: thin wrappers over pg_schema.h's (src/api and src/server need
 * no PostgreSQL header). Writer thread. ----------------------------------- */

/* Enqueue payload under key (idempotent: the same key gives the same job,
 * *created = 0). */
int rag_replica_job_enqueue(rag_replica *r, const char *key, const void *payload, size_t n,
                            int64_t *id, int *created, rag_err *err);
typedef struct {
    int64_t id;
    char key[512];
    unsigned char *payload;   /* owned; rag_replica_job_fini frees it */
    size_t n_payload;
    int attempts;
} rag_replica_job;
/* Claim the oldest runnable job for owner with a lease of lease_ms:
 * 1 claimed (job filled), 0 none, < 0 error. */
int rag_replica_job_claim(rag_replica *r, const char *owner, int lease_ms, rag_replica_job *job,
                          rag_err *err);
/* Extend the lease; RAG_ENOTFOUND when owner no longer holds it. */
int rag_replica_job_renew(rag_replica *r, int64_t id, const char *owner, int lease_ms, rag_err *err);
/* Complete job id inside the next write-through commit of the attached
 * writer (the write and the completion are one PG transaction);
 * RAG_ENOTFOUND at that commit (lease lost) rolls the write back. A
 * transaction that ends without committing, and detaching the writer,
 * drop the registration. */
int rag_replica_job_complete_on_commit(rag_replica *r, int64_t id, const char *owner, rag_err *err);
int rag_replica_job_fail(rag_replica *r, int64_t id, const char *owner, const char *why, rag_err *err);
/* state: "queued", "running", "done", "failed". */
int rag_replica_job_state(rag_replica *r, int64_t id, char state[16], int *attempts, rag_err *err);
/* The job under key with its payload, whatever its state (rag_pg_job_by_key);
 * RAG_ENOTFOUND when there is none. */
int rag_replica_job_by_key(rag_replica *r, const char *key, rag_replica_job *job, rag_err *err);
void rag_replica_job_fini(rag_replica_job *job);   /* frees payload; NULL: no-op */
/* Wait up to wait_ms for a docrag_jobs notification (or the poll
 * interval): 1 woken, 0 timeout, < 0 error. */
int rag_replica_job_wait(rag_replica *r, int wait_ms, rag_err *err);

/* ---- verification (added to the design: tests, kill -9) ----------------- */

typedef struct {
    char table[32];
    int64_t mirror_rows, pg_rows;
    int64_t mirror_max_id, pg_max_id;   /* max of the first primary-key column; 0 for none */
} rag_replica_table_count;

/* Compare the mirror with PostgreSQL, table by table (documents, pages,
 * chunks, vectors, embed_cache, bm25_docs, bm25_postings, bm25_deleted,
 * graph_edges): row counts and max ids, read in one PG snapshot at the
 * copy's applied seq's head. Fills up to max entries of out (may be NULL)
 * and *n (may be NULL). Returns 0 when all agree, 1 when some differ (err
 * names the first), < 0 on error. Call with the copy at the head (after
 * follow) and no writer running, or the counts may differ honestly. */
int rag_replica_verify(rag_replica *r, rag_replica_table_count *out, int max, int *n,
                       rag_err *err);

/* Apply one changeset, as a replica's write-through logs it, to ix (an
 * index on a copy), in a transaction of its own, as rag_replica_follow
 * does, with meta pg_applied_seq = seq: 0 applied; 1 it does not fit (a
 * damaged changeset, or a conflict: nothing applied, a follower copies
 * whole then); < 0 an error of the file. The bytes come from the store:
 * outside input (fuzz/fuzz_changeset.c). */
int rag_replica_apply_changeset(struct rag_index *ix, int64_t seq, const void *cs, size_t n,
                                rag_err *err);

#endif
